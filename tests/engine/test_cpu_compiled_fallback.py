"""Without a C++ compiler the compiled CPU step falls back to the NumPy reference step and
says so once (these tests need no compiler: they take it away), in the engine and through
PyNN; and two processes building the same library at once into an empty cache (two MPI
ranks, two test runs) both load it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyNN_neurongpu.engine import Backend, Network
from pyNN_neurongpu.engine.cpu import compiler

ROOT = Path(__file__).resolve().parents[2]


def test_no_compiler_falls_back(monkeypatch):
    monkeypatch.setattr("pyNN_neurongpu.engine.network._FALLBACKS_SAID", set())
    monkeypatch.setattr(compiler, "compiler", lambda: None)
    notes = []
    for _ in range(2):  # a second network in the same process: no second message
        net = Network(Backend("cpu-compiled", "float64"), dt=0.1)
        net.notify = notes.append
        cells = net.add_neurons("iaf_psc_exp", 2, {"i_offset": 1.0})
        net.record_spikes(cells.group, cells.local)
        net.run(500)
        net.run(10)
        assert cells.group.spike_recorder.events()[0].size > 0
    assert len(notes) == 1 and "no C++ compiler" in notes[0]


SCRIPT = """
import pyNN.neurongpu as sim
for _ in range(2):
    sim.setup(timestep=0.1, backend={backend!r})
    p = sim.Population(3, sim.IF_curr_exp(i_offset=1.0))
    p.record("spikes")
    sim.run(100.0)
    sim.run(50.0)
    assert sum(len(st) for st in p.get_data().segments[0].spiketrains) > 0
    sim.end()
"""


@pytest.mark.parametrize("backend", ["auto", "cpu-compiled"])
def test_pynn_without_a_compiler_says_so_once(backend, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("CXX", "PYNN_NEURONGPU_BACKEND")}
    env.update(PATH=str(tmp_path), PYNN_NEURONGPU_CPU_CACHE=str(tmp_path / "cache"),
               PYNN_NEURONGPU_PROGRESS="0", CUDA_VISIBLE_DEVICES="")  # no g++ on PATH
    proc = subprocess.run([sys.executable, "-c", SCRIPT.format(backend=backend)], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if "reference CPU step" in line]
    assert len(lines) == 1 and "no C++ compiler" in lines[0], proc.stderr


BUILD = """
import sys
from pyNN_neurongpu.engine import Backend, Network
net = Network(Backend("cpu-compiled", "float64"), dt=0.1)
net.add_neurons("iaf_psc_exp", 4, {"i_offset": 0.9 + 0.01 * int(sys.argv[1])})
net.run(20)
assert net.backend.cpu_engine == "compiled"
"""


@pytest.mark.skipif(shutil.which("g++") is None, reason="no host C++ compiler")
def test_concurrent_builds_of_one_library(tmp_path):
    env = dict(os.environ, PYNN_NEURONGPU_CPU_CACHE=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", BUILD, str(i)], env=env, cwd=ROOT,
                              stderr=subprocess.PIPE, text=True) for i in range(3)]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read()[-3000:]
    assert len(list(tmp_path.glob("step_*.so"))) == 1
    assert list(tmp_path.iterdir()) == list(tmp_path.glob("step_*.so"))  # no temporaries
