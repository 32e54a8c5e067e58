"""setup(spike_precision=...): the default, and 'off_grid' where the network runs on the GPU
(the precise families, on the reference step on the device), exercised without a GPU
through tests/fake_cupy."""

import importlib
import json
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
    import json, logging, sys
    logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="LOG %(message)s")
    import pynn_neurongpu_alias
    pynn_neurongpu_alias.install()
    # tests/fake_cupy runs no kernels: the synapse tables are built as on the CPU
    from pyNN_neurongpu.engine import construction
    from pyNN_neurongpu.engine.gpu import construction as gpu_construction
    gpu_construction.place_on_device = construction._sort_on_host
    import pyNN.neurongpu as sim
    import precise_networks
    sim.setup(timestep=0.1, backend=sys.argv[1], verbosity="error")
    print("DEVICE", sim.simulator.state.backend.device)
    sim.end()
    print("RESULT " + json.dumps(precise_networks.all_networks(sim, sys.argv[1])))
    # the on-grid fast path is unchanged: an on-grid network takes the fused step
    sim.setup(timestep=0.1, backend=sys.argv[1], verbosity="error")
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    sim.run(5.0)
    print("ON_GRID", cells._slice_info.group.model.name,
          sim.simulator.state.network.last_gpu_step is not None)
""")


def _run_with_fake_gpu(tmp_path, backend):
    """The script in a fresh interpreter whose CuPy is tests/fake_cupy (NumPy underneath,
    one reported device): the backend selection picks the GPU path without a GPU."""
    (tmp_path / "script.py").write_text(GPU_SCRIPT)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS / "fake_cupy"), str(TESTS.parent),
                                         str(TESTS), env.get("PYTHONPATH", "")])
    env.pop("PYNN_NEURONGPU_BACKEND", None)
    proc = subprocess.run([sys.executable, "script.py", backend], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def cpu_networks():
    sim = importlib.import_module("pyNN.neurongpu")
    from tests import precise_networks
    return precise_networks.all_networks(sim, "cpu")


def test_off_grid_on_the_gpu_runs_the_reference_step_with_the_cpus_results(
        tmp_path, cpu_networks):
    """On a (fake) GPU, off_grid takes the precise families with no warning, and every
    network with an array-code-only family (the _ps families, GIF_cond_exp) runs the
    reference step on the device: the CPU's spike times and V, bit for bit here (the fake
    is NumPy; the counter-based draws of the Poisson sources and of GIF's escape noise do
    not depend on the device). tests/gpu/test_precise_gpu.py compares on a real GPU."""
    out = _run_with_fake_gpu(tmp_path, "gpu")
    assert "DEVICE gpu" in out
    assert not [line for line in out.splitlines() if line.startswith("LOG ")], out
    gpu = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    families = {"exp": "iaf_psc_exp_ps", "delta": "iaf_psc_delta_ps",
                "poisson": "iaf_psc_exp_ps", "gif": "gif_cond_exp"}
    families["inh_gamma"] = "inh_gamma_source"
    for name, family in families.items():
        got, want = gpu[name], cpu_networks[name]
        assert got["family"] == want["family"] == family
        assert got["step"] == "reference"
        assert sum(len(s) for s in want["spikes"]) > 0, name
        assert got["spikes"] == want["spikes"], name
        if "v" in want:
            np.testing.assert_array_equal(got["v"], want["v"])
    assert gpu["poisson"]["source_spikes"] == cpu_networks["poisson"]["source_spikes"]
    # spike-array and Poisson times fall between grid points
    times = np.concatenate([np.asarray(s) for s in gpu["exp"]["spikes"]])
    assert np.any(np.abs(times / 0.1 - np.round(times / 0.1)) > 1e-6)
    assert "ON_GRID iaf_psc_exp True" in out


def test_off_grid_on_the_cpu_logs_no_warning(caplog, ngpu):
    with caplog.at_level("WARNING", logger="PyNN"):
        ngpu.setup(timestep=0.1, backend="cpu", verbosity="error", spike_precision="off_grid")
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_engine_family():
    """off_grid: the precise family where the cell type has one (on either device)."""
    sim = importlib.import_module("pyNN.neurongpu")
    from pyNN_neurongpu.standardmodels.base import engine_family
    for celltype in (sim.IF_curr_exp(), sim.IF_curr_delta(),
                     sim.SpikeSourceArray(spike_times=[1.0]), sim.SpikeSourcePoisson()):
        assert engine_family(celltype, "on_grid") == celltype.engine_model
        assert engine_family(celltype, "off_grid") == celltype.precise_engine_model
    # no precise variant: on-grid in either mode, as in pyNN.nest
    assert engine_family(sim.IF_cond_exp(), "off_grid") == "iaf_cond_exp"


def test_off_grid_cpu_run_gives_exact_times(ngpu):
    ngpu.setup(timestep=0.1, backend="cpu", verbosity="error", spike_precision="off_grid")
    src = ngpu.Population(1, ngpu.SpikeSourceArray(spike_times=[0.05, 1.23]))
    src.record("spikes")
    ngpu.run(2.0)
    times = src.get_data().segments[0].spiketrains[0].magnitude
    np.testing.assert_allclose(times, [0.05, 1.23], rtol=0, atol=1e-12)
