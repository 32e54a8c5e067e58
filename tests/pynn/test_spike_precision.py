"""setup(spike_precision=...): the default, and 'off_grid' where the network runs on the GPU
(a warning, and on-grid families), exercised without a GPU through tests/fake_cupy."""

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture
def ngpu():
    sim = importlib.import_module("pyNN.neurongpu")
    yield sim
    sim.end()


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


GPU_SCRIPT = textwrap.dedent("""
    import logging, sys
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="LOG %(message)s")
    import pyNN.neurongpu as sim
    sim.setup(timestep=0.05, backend=sys.argv[1], spike_precision="off_grid")
    print("DEVICE", sim.simulator.state.backend.device)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[0.075, 10.025]))
    print("FAMILY", src._slice_info.group.model.name)
    cells = sim.Population(1, sim.IF_curr_exp())
    print("FAMILY", cells._slice_info.group.model.name)
    src.record("spikes")
    sim.run(20.0)
""")


def _run_with_fake_gpu(tmp_path, backend):
    """The script in a fresh interpreter whose CuPy is tests/fake_cupy (NumPy underneath,
    one reported device): the backend selection picks the GPU path without a GPU."""
    (tmp_path / "script.py").write_text(GPU_SCRIPT)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS / "fake_cupy"), str(TESTS.parent),
                                         env.get("PYTHONPATH", "")])
    env.pop("PYNN_NEURONGPU_BACKEND", None)
    proc = subprocess.run([sys.executable, "script.py", backend], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("backend", ["gpu", "auto"])
def test_off_grid_on_the_gpu_warns_and_runs_on_grid(tmp_path, backend):
    out = _run_with_fake_gpu(tmp_path, backend)
    assert "DEVICE gpu" in out
    warning = [line for line in out.splitlines() if line.startswith("LOG ")]
    assert len(warning) == 1 and "CPU engine only" in warning[0], out
    assert "every cell type runs on-grid" in warning[0]
    assert "backend='cpu'" in warning[0]
    assert "FAMILY spike_source_array\n" in out        # the on-grid families, as warned
    assert "FAMILY iaf_psc_exp\n" in out
    # (fake_cupy runs no kernels: the exact recording on a GPU is checked by
    # tests/pynn/test_spike_source_array.py::test_off_grid_precision_records_exact_times[gpu])


def test_off_grid_on_the_cpu_logs_no_warning(caplog, ngpu):
    with caplog.at_level("WARNING", logger="PyNN"):
        ngpu.setup(timestep=0.1, backend="cpu", verbosity="error", spike_precision="off_grid")
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_engine_family_on_a_gpu(ngpu):
    """On a GPU every cell type takes its on-grid family (the case setup() warns of)."""
    from pyNN_neurongpu.standardmodels.base import engine_family
    for celltype in (ngpu.IF_curr_exp(), ngpu.IF_curr_delta(),
                     ngpu.SpikeSourceArray(spike_times=[1.0]), ngpu.SpikeSourcePoisson()):
        assert engine_family(celltype, "off_grid", on_gpu=True) == celltype.engine_model
        assert engine_family(celltype, "off_grid") == celltype.precise_engine_model
    # no precise variant: on-grid in either mode, as in pyNN.nest
    assert engine_family(ngpu.IF_cond_exp(), "off_grid", on_gpu=True) == "iaf_cond_exp"


def test_off_grid_cpu_run_gives_exact_times(ngpu):
    ngpu.setup(timestep=0.1, backend="cpu", verbosity="error", spike_precision="off_grid")
    src = ngpu.Population(1, ngpu.SpikeSourceArray(spike_times=[0.05, 1.23]))
    src.record("spikes")
    ngpu.run(2.0)
    times = src.get_data().segments[0].spiketrains[0].magnitude
    np.testing.assert_allclose(times, [0.05, 1.23], rtol=0, atol=1e-12)
