"""The random spike sources on the compiled CPU step against the reference step, in float64:
SpikeSourceGamma (gamma_source) and SpikeSourcePoissonRefractory
(poisson_refractory_source), whose GPU fragments run with the numbers their model's
``draws`` takes from the reference's NumPy stream (the reference update draws through it
too). With activity windows, dead times shorter than a step (several spikes per step),
sources without dead time beside others, parameter changes between runs, a reset, and
blocks of a few steps: the trains, the targets' spikes, the sources' state and the
stream's state must be the same."""

import shutil

import numpy as np
import pytest

from pyNN_neurongpu.engine import Backend, Network, cpu
from pyNN_neurongpu.engine.cpu import step as cpu_step
from pyNN_neurongpu.engine.models import MODELS

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="no host C++ compiler")

N = 40


def _window(rng):
    return {"start": rng.uniform(0.0, 60.0, N), "duration": rng.uniform(80.0, 400.0, N)}


def _gamma(rng):
    return {"alpha": rng.integers(1, 6, N).astype(float), "beta": rng.uniform(50.0, 600.0, N),
            **_window(rng)}


def _renewal(rng):
    return {"rate": rng.uniform(20.0, 200.0, N), "tau_refrac": rng.uniform(0.5, 3.0, N)}


def _short_dead_time(rng):   # up to ceil(0.1 / 0.02) = 5 spikes per step
    return {"rate": rng.uniform(500.0, 4000.0, N), "tau_refrac": rng.uniform(0.02, 0.2, N),
            **_window(rng)}


def _mixed(rng):   # every third source without dead time: a Poisson process
    tau = np.where(np.arange(N) % 3 == 0, 0.0, rng.uniform(0.05, 2.0, N))
    return {"rate": rng.uniform(20.0, 300.0, N), "tau_refrac": tau, **_window(rng)}


def _poisson_only(rng):
    return {"rate": rng.uniform(100.0, 3000.0, N), "tau_refrac": 0.0}


# name: (family, parameters, a change between runs)
CASES = {
    "gamma": ("gamma_source", _gamma, ("alpha", 2.0)),   # lowers some: the stages clamp
    "refractory": ("poisson_refractory_source", _renewal, ("tau_refrac", 0.3)),
    "refractory_short_dead_time": ("poisson_refractory_source", _short_dead_time,
                                   ("rate", 1500.0)),
    "refractory_mixed": ("poisson_refractory_source", _mixed, ("tau_refrac", 0.1)),
    "refractory_poisson_only": ("poisson_refractory_source", _poisson_only, ("rate", 800.0)),
}
STATE = {"gamma_source": ("stage", "primed"), "poisson_refractory_source": ("dead", "primed")}


def _network(engine, case, seed=4):
    """N sources driving 20 iaf_psc_exp cells; runs of 1500 and 1000 steps with a parameter
    change between them, then a reset and a run of 500 steps."""
    family, params, (name, value) = CASES[case]
    net = Network(Backend(engine, "float64", seed=seed), dt=0.1)
    rng = np.random.default_rng(seed)
    src = net.add_neurons(family, N, params(rng))
    cells = net.add_neurons("iaf_psc_exp", 20, {"i_offset": 0.3})
    net.connect(rng.integers(0, N, 400), rng.integers(int(cells.gids[0]), net.n_neurons, 400),
                weight=rng.uniform(0.1, 0.4, 400), delay_steps=rng.integers(1, 20, 400),
                receptor="excitatory")
    for s in (src, cells):
        net.record_spikes(s.group, s.local)
    trains = []
    net.run(1500)
    src.group.set_param(name, src.local[::2], np.full(N // 2, value))
    net.run(1000)
    trains.append([s.group.spike_recorder.events() for s in (src, cells)])
    state = {k: src.group.state[k].copy() for k in STATE[family]}
    net.reset()
    net.run(500)
    trains.append([s.group.spike_recorder.events() for s in (src, cells)])
    return net, src, trains, state


@pytest.mark.parametrize("blocks", ["whole", "short"])
@pytest.mark.parametrize("case", list(CASES))
def test_source_equals_reference(case, blocks, compiled_only, monkeypatch):
    if blocks == "short":   # blocks of about 7 steps: each draws the next part of the stream
        monkeypatch.setattr(cpu_step, "DRAW_VALUES", N * 6 * 7)
    ref, ref_src, ref_trains, ref_state = _network("cpu", case)
    com, com_src, com_trains, com_state = _network("cpu-compiled", case)
    assert compiled_only == [1500, 1000, 500]
    for ref_run, com_run in zip(ref_trains, com_trains):
        for a, b in zip(ref_run, com_run):
            for x, y in zip(a, b):
                np.testing.assert_array_equal(y, x)
    for k in ref_state:
        np.testing.assert_array_equal(com_state[k], ref_state[k])
        np.testing.assert_array_equal(com_src.group.state[k], ref_src.group.state[k])
    family = CASES[case][0]
    stream = f"neurons:{family}"
    np.testing.assert_array_equal(com.backend.rng(stream).pcg64_words(),
                                  ref.backend.rng(stream).pcg64_words())
    steps, _, mult = ref_trains[0][0]
    assert steps.size > 500   # the sources do fire, and their targets
    assert ref_trains[0][1][0].size > 20
    if case == "refractory_short_dead_time":
        assert mult.max() >= 3


@pytest.mark.parametrize("family", ["gamma_source", "poisson_refractory_source"])
def test_random_sources_are_compiled(family):
    net = Network(Backend("cpu-compiled", "float64"), dt=0.1)
    net.add_neurons(family, 3)
    assert cpu.step.family_supported(MODELS[family])
    assert cpu.unsupported(net) is None
