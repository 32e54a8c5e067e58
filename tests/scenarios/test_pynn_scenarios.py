"""PyNN 0.13's system scenarios, each run once with ``sim = pyNN.neurongpu``.

Test names are "<PyNN scenario module>.<scenario function>[neurongpu]"; see
pynn_scenarios.py for where the scenarios come from and which are expected to fail.
"""

import pytest
from pynn_scenarios import SourceUnavailable, collect

try:
    _SCENARIOS = collect()
except SourceUnavailable as err:
    pytest.skip(f"PyNN's system scenarios are not available: {err}", allow_module_level=True)

globals().update(_SCENARIOS)
