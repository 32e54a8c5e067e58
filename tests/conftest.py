"""Shared fixtures: the backend under test (CPU always, GPU where present) and
pyNN.nest for side-by-side comparisons."""

from __future__ import annotations

import importlib

import pytest

import pynn_neurongpu_alias
from pyNN_neurongpu.engine.backend import gpu_available

pynn_neurongpu_alias.install()

HAVE_GPU = gpu_available()

BACKENDS = [
    "cpu",
    pytest.param("gpu", marks=[pytest.mark.gpu,
                               pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU")]),
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """'cpu' or 'gpu': the engine device a test runs on."""
    return request.param


@pytest.fixture
def sim(backend):
    """pyNN.neurongpu, set up on the backend under test (float64, dt = 0.1 ms).

    Call ``sim.setup(...)`` again in a test to change the time step or delays;
    pass ``backend=sim.test_backend`` to keep the device.
    """
    module = importlib.import_module("pyNN.neurongpu")
    module.test_backend = backend
    module.setup(timestep=0.1, backend=backend, precision="float64")
    yield module
    module.end()


def _import_nest():
    try:
        return importlib.import_module("pyNN.nest")
    except Exception:  # NEST missing or broken
        return None


@pytest.fixture(scope="session")
def nest_module():
    module = _import_nest()
    if module is None:
        pytest.skip("pyNN.nest (nest-simulator) is not installed")
    return module


@pytest.fixture
def nest_sim(nest_module):
    """pyNN.nest with on-grid spiking (the semantics pyNN.neurongpu reproduces)."""
    nest_module.setup(timestep=0.1, spike_precision="on_grid", verbosity="error")
    yield nest_module
    nest_module.end()
