"""setup(spike_precision=...): the default, and the GPU's refusal of 'off_grid' (exercised
without a GPU through the backend selection: gpu_available reports a device)."""

import importlib

import numpy as np
import pytest

from pyNN_neurongpu.engine import backend as engine_backend


@pytest.fixture
def ngpu():
    sim = importlib.import_module("pyNN.neurongpu")
    yield sim
    sim.end()


@pytest.fixture
def fake_gpu(monkeypatch):
    """The backend selection sees a CUDA device (none is used: setup() must refuse first)."""
    monkeypatch.setattr(engine_backend, "gpu_available", lambda: True)


def test_default_is_on_grid(ngpu):
    ngpu.setup(timestep=0.1, backend="cpu", verbosity="error")
    assert ngpu.simulator.state.spike_precision == "on_grid"
    cells = ngpu.Population(1, ngpu.IF_curr_exp())
    assert cells._slice_info.group.model.name == "iaf_psc_exp"


def test_off_grid_selects_the_precise_families_on_the_cpu(ngpu):
    ngpu.setup(timestep=0.1, backend="cpu", verbosity="error", spike_precision="off_grid")
    names = {ngpu.Population(1, c)._slice_info.group.model.name
             for c in (ngpu.IF_curr_exp(), ngpu.IF_curr_delta(),
                       ngpu.SpikeSourceArray(spike_times=[1.0]), ngpu.SpikeSourcePoisson())}
    assert names == {"iaf_psc_exp_ps", "iaf_psc_delta_ps", "spike_source_array_ps",
                     "poisson_source_ps"}


@pytest.mark.parametrize("backend", ["gpu", "auto"])
def test_off_grid_on_the_gpu_raises_and_keeps_the_previous_network(ngpu, fake_gpu, backend):
    ngpu.setup(timestep=0.25, backend="cpu", verbosity="error")
    cells = ngpu.Population(3, ngpu.IF_curr_exp())
    with pytest.raises(NotImplementedError, match="CPU engine only.*backend='cpu'"):
        ngpu.setup(timestep=0.1, backend=backend, spike_precision="off_grid")
    assert ngpu.get_time_step() == 0.25
    assert ngpu.simulator.state.spike_precision == "on_grid"
    ngpu.run(1.0)   # the old network still runs
    assert cells.size == 3


def test_off_grid_through_the_environment_variable_raises(ngpu, fake_gpu, monkeypatch):
    monkeypatch.setenv("PYNN_NEURONGPU_BACKEND", "gpu")
    with pytest.raises(NotImplementedError, match="spike_precision='off_grid'"):
        ngpu.setup(timestep=0.1, spike_precision="off_grid")


def test_engine_family_never_substitutes_on_grid_on_a_gpu(ngpu):
    from pyNN_neurongpu.standardmodels.base import engine_family
    for celltype in (ngpu.IF_curr_exp(), ngpu.SpikeSourceArray(spike_times=[1.0]),
                     ngpu.SpikeSourcePoisson()):
        assert engine_family(celltype, "on_grid", on_gpu=True) == celltype.engine_model
        with pytest.raises(NotImplementedError):
            engine_family(celltype, "off_grid", on_gpu=True)
    # no precise variant: on-grid in either mode, as in pyNN.nest
    assert engine_family(ngpu.IF_cond_exp(), "off_grid", on_gpu=True) == "iaf_cond_exp"


def test_off_grid_cpu_run_gives_exact_times(ngpu):
    ngpu.setup(timestep=0.1, backend="cpu", verbosity="error", spike_precision="off_grid")
    src = ngpu.Population(1, ngpu.SpikeSourceArray(spike_times=[0.05, 1.23]))
    src.record("spikes")
    ngpu.run(2.0)
    times = src.get_data().segments[0].spiketrains[0].magnitude
    np.testing.assert_allclose(times, [0.05, 1.23], rtol=0, atol=1e-12)
