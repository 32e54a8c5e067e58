"""A PyNN script run as ``python script.py neurongpu --plot-figure`` through
``pyNN.utility.get_simulator``, in a fresh interpreter.

The interpreter finds the backend through the repository's ``pynn_neurongpu.pth``
(the file an installed wheel puts into site-packages), processed with
``site.addsitedir``: nothing is imported by hand before the script runs.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import numpy as np
    from pyNN.utility import get_simulator

    sim, args = get_simulator(("--plot-figure", "Plot the results to a file.",
                               {"action": "store_true"}))
    sim.setup(timestep=0.1, min_delay=0.1, backend=args.backend)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0, 4.0, 6.0]))
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=[0.0, 1.5]), label="cells")
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=1.0, delay=1.0))
    cells.record(["spikes", "v"])
    sim.run(30.0)
    data = cells.get_data().segments[0]
    print("SIMULATOR", sim.simulator.name, sim.get_current_time())
    print("SPIKES", [len(st) for st in data.spiketrains])
    if args.plot_figure:
        from pyNN.utility.plotting import Figure, Panel
        vm = data.filter(name="v")[0]
        Figure(Panel(vm, ylabel="Membrane potential (mV)"),
               Panel(data.spiketrains, xlabel="Time (ms)", xticks=True)
               ).save("figure.png")
    sim.end()
""")


def _run_script(tmp_path, *argv, backend="cpu"):
    (tmp_path / "script.py").write_text(SCRIPT.replace("args.backend", repr(backend)))
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "sitecustomize.py").write_text(
        f"import site\nsite.addsitedir({str(REPO_ROOT)!r})\n")
    pythonpath = os.pathsep.join(filter(None, [str(site_dir), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=pythonpath, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "script.py", *argv], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_script_runs_with_get_simulator(tmp_path):
    proc = _run_script(tmp_path, "neurongpu", "--plot-figure")
    assert proc.returncode == 0, proc.stderr
    assert "SIMULATOR neurongpu 30.0" in proc.stdout
    spikes = next(line for line in proc.stdout.splitlines() if line.startswith("SPIKES"))
    counts = eval(spikes.split(" ", 1)[1])
    assert counts[0] == 0 and counts[1] > 0  # only the driven cell fires
    figure = tmp_path / "figure.png"
    assert figure.stat().st_size > 1000
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_script_without_option_writes_no_figure(tmp_path):
    proc = _run_script(tmp_path, "neurongpu")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "figure.png").exists()


def test_unknown_simulator_name_fails_cleanly(tmp_path):
    proc = _run_script(tmp_path, "neurongpu_typo")
    assert proc.returncode != 0
    assert "pyNN.neurongpu_typo" in proc.stderr


@pytest.mark.gpu
def test_script_on_gpu(tmp_path):
    from pyNN_neurongpu.engine.backend import gpu_available
    if not gpu_available():
        pytest.skip("no CUDA GPU")
    proc = _run_script(tmp_path, "neurongpu", backend="gpu")
    assert proc.returncode == 0, proc.stderr
    assert "SIMULATOR neurongpu 30.0" in proc.stdout
