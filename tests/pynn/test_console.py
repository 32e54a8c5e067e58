"""What a script shows on its terminal: the device line at setup() (logger "PyNN"), and
progress bars on long runs and builds, which leave the results unchanged."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pyNN_neurongpu import console

ROOT = Path(__file__).resolve().parents[2]
CHILD_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("PYNN_")},
             "PYTHONPATH": str(ROOT)}
PLAIN_SCRIPT = """
import pynn_neurongpu_alias
pynn_neurongpu_alias.install()
import pyNN.neurongpu as sim
sim.setup(timestep=0.1, backend="cpu"{options})
cells = sim.Population(10, sim.IF_curr_exp(i_offset=1.0))
sim.run(10.0)
sim.end()
print("done")
"""
DEVICE_LINE = "INFO     [PyNN] pyNN.neurongpu running on CPU (NumPy "


def _run_plain(options="", prelude="", **env):
    code = prelude + PLAIN_SCRIPT.format(options=options)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=300, env={**CHILD_ENV, **env})
    assert result.returncode == 0, result.stderr
    return result


def test_plain_script_shows_the_device():
    result = _run_plain()
    lines = [line for line in result.stderr.splitlines() if "running on" in line]
    assert len(lines) == 1 and lines[0].startswith(DEVICE_LINE)
    assert lines[0].endswith("), float64")
    assert "it/s" not in result.stderr  # no progress bar: stderr is not a terminal


@pytest.mark.parametrize("options, env", [(', verbosity="error"', {}),
                                          ("", {"PYNN_NEURONGPU_VERBOSITY": "warning"})])
def test_device_line_switched_off(options, env):
    assert "running on" not in _run_plain(options, **env).stderr


def test_device_line_goes_through_configured_logging():
    prelude = ("import logging, sys\n"
               "logging.basicConfig(stream=sys.stdout, level=logging.INFO,"
               " format='%(name)s|%(levelname)s|%(message)s')\n")
    result = _run_plain(prelude=prelude)
    assert "PyNN|INFO|pyNN.neurongpu running on CPU" in result.stdout
    assert "running on" not in result.stderr
    # configured above INFO: nothing
    quiet = _run_plain(prelude=prelude.replace("logging.INFO", "logging.WARNING"))
    assert "running on" not in quiet.stdout + quiet.stderr


def test_bad_verbosity(sim):
    with pytest.raises(ValueError, match="verbosity must be one of"):
        sim.setup(timestep=0.1, backend=sim.test_backend, verbosity="loud")


def test_progress_wanted(monkeypatch):
    monkeypatch.delenv(console.ENV_PROGRESS, raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert console.progress_wanted(None) and not console.progress_wanted(False)
    monkeypatch.setenv("CI", "true")
    assert not console.progress_wanted(None)  # a terminal in CI: off unless asked
    assert console.progress_wanted(True)
    monkeypatch.setenv(console.ENV_PROGRESS, "1")
    assert console.progress_wanted(None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    monkeypatch.setenv(console.ENV_PROGRESS, "0")
    assert not console.progress_wanted(None)
    monkeypatch.delenv(console.ENV_PROGRESS)
    monkeypatch.delenv("CI")
    assert not console.progress_wanted(None)  # not a terminal: off


def _network(sim, progress):
    sim.setup(timestep=0.1, min_delay=0.1, backend=sim.test_backend, precision="float64",
              rng_seed=5, progress=progress)
    noise = sim.Population(60, sim.SpikeSourcePoisson(rate=800.0))
    cells = sim.Population(40, sim.IF_cond_exp(tau_m=15.0))
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(3)),
                   sim.StaticSynapse(weight=0.004, delay=0.5), receptor_type="excitatory")
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.2, rng=sim.NumpyRNG(4)),
                   sim.StaticSynapse(weight=0.01, delay=1.3), receptor_type="inhibitory")
    cells.record(["spikes", "v"], sampling_interval=0.3)
    return cells


def _results(cells):
    segment = cells.get_data().segments[0]
    spikes = [np.asarray(st.magnitude) for st in segment.spiketrains]
    return spikes, np.asarray(segment.analogsignals[0].magnitude)


def test_chunked_run_gives_the_same_results(sim, monkeypatch, capsys):
    cells = _network(sim, progress=False)
    sim.run(123.4)
    sim.run(76.6)
    plain_spikes, plain_v = _results(cells)
    assert sum(map(len, plain_spikes)) > 50
    assert capsys.readouterr().err == ""  # progress off: nothing on stderr

    monkeypatch.setattr(console, "LONG_RUN_S", 0.0)  # every run shows a bar...
    monkeypatch.setattr(console, "LONG_BUILD_S", 0.0)
    monkeypatch.setattr(console, "MIN_CHUNK_STEPS", 37)  # ...in chunks of 37 steps
    monkeypatch.setattr(console, "CHUNK_S", 0.0)
    calls = []
    real_run = type(sim.simulator.state.network).run
    monkeypatch.setattr(type(sim.simulator.state.network), "run",
                        lambda self, n: calls.append(n) or real_run(self, n))
    cells = _network(sim, progress=True)
    sim.run(123.4)
    sim.run(76.6)
    spikes, v = _results(cells)
    err = capsys.readouterr().err
    assert "real-time factor" in err and "/123 ms" in err and "/77 ms" in err
    assert "connecting" in err
    assert len(calls) > 40 and set(calls[:-1]) <= {37, 1234 % 37, 766 % 37}
    assert sum(calls) == 2000
    assert len(spikes) == len(plain_spikes)
    for a, b in zip(spikes, plain_spikes):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(v, plain_v)


def test_short_run_shows_no_bar(sim, capsys):
    _network(sim, progress=True)
    sim.run(20.0)  # far below LONG_RUN_S
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("native", [False, True])
def test_a_connector_callback_of_its_own_is_kept(sim, monkeypatch, capsys, native):
    monkeypatch.setattr(console, "LONG_BUILD_S", 0.0)
    sim.setup(timestep=0.1, backend=sim.test_backend, progress=True)
    cells = sim.Population(50, sim.IF_curr_exp())
    fractions = []
    rng = sim.NativeRNG(seed=3) if native else None  # native: the counter-based rule path
    connector = sim.FixedProbabilityConnector(0.5, callback=fractions.append, rng=rng)
    sim.Projection(cells, cells, connector, sim.StaticSynapse())
    assert fractions and fractions[-1] == 1.0
    assert connector.callback == fractions.append
    assert "connecting" not in capsys.readouterr().err
