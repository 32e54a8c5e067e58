"""Make ``pyNN.neurongpu`` importable when the tests run from a checkout."""

import pynn_neurongpu_alias

pynn_neurongpu_alias.install()
