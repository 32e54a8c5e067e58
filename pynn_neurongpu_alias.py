"""Make ``import pyNN.neurongpu`` load the ``pyNN_neurongpu`` package.

pyNN is a regular package, so a backend shipped separately cannot live inside it.
This module installs a meta-path finder that maps ``pyNN.neurongpu[.sub]`` to
``pyNN_neurongpu[.sub]``, lazily: nothing is imported until a script asks for the
backend. ``pynn_neurongpu.pth`` (installed into site-packages) runs :func:`install`
at interpreter start-up; tests from a checkout call it from conftest.py.
"""

import importlib
import importlib.abc
import importlib.util
import sys

ALIAS = "pyNN.neurongpu"
TARGET = "pyNN_neurongpu"


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.real_spec = module.__spec__
        return module

    def exec_module(self, module):
        # the import system stamps the alias spec on the module; keep the real one
        module.__spec__ = self.real_spec


class AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``pyNN.neurongpu`` and its submodules as aliases of ``pyNN_neurongpu``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != ALIAS and not fullname.startswith(ALIAS + "."):
            return None
        real = TARGET + fullname[len(ALIAS):]
        if importlib.util.find_spec(real) is None:
            return None
        return importlib.util.spec_from_loader(fullname, _AliasLoader(real))


def install():
    """Add the finder to ``sys.meta_path`` (once)."""
    if not any(isinstance(f, AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, AliasFinder())


install()
