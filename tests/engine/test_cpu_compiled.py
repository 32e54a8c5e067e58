"""The compiled CPU step (engine/cpu) against the reference step (engine/reference_step.py),
in float64: the same spikes (steps, neurons, multiplicities) and state traces to rounding
error, for every family it runs, with Poisson and array sources, static synapses with
delays on every receptor port, injected currents (constant, piecewise, noise) and
recording; and the networks it does not run fall back to the reference step."""

import shutil

import numpy as np
import pytest

from pyNN_neurongpu.engine import (
    EIF_COND_ALPHA,
    EIF_COND_EXP,
    Backend,
    Network,
    NoiseCurrent,
    NumericalInstability,
    PiecewiseConstantCurrent,
    composed_family,
    cpu,
)
from pyNN_neurongpu.engine.cpu import compiler
from pyNN_neurongpu.engine.models import MODELS

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="no host C++ compiler")

LIF_COND = composed_family("lif", [("AMPA", "cond_exp"), ("GABA", "cond_alpha")])
FAMILIES = ["iaf_psc_exp", "iaf_psc_alpha", "iaf_psc_delta", "iaf_cond_exp", "iaf_cond_alpha",
            "iaf_cond_exp_sfa_rr", "izhikevich", "hh_cond_exp_traub", EIF_COND_EXP,
            EIF_COND_ALPHA, LIF_COND]
WEIGHT = {"nA": 0.8, "uS": 0.006, "mV": 1.5}
# Families whose update calls exp (HH's rate functions, AdEx's spike current): NumPy's
# exp and the C library's differ in the last bit, and the adaptive step control carries
# that on; spikes stay the same, traces agree to this relative tolerance. The others agree
# to rounding error (in practice bit for bit).
LIBM_FAMILIES = {"hh_cond_exp_traub", EIF_COND_EXP, EIF_COND_ALPHA}
LIBM_RTOL = 1e-5
N, STEPS = 40, 3000


def _network(engine, family, seed=7, dt=0.1, n_steps=STEPS, runs=1):
    net = Network(Backend(engine, "float64", seed=seed), dt=dt)
    model = MODELS[family]
    rng = np.random.default_rng(seed)
    poisson = net.add_neurons("poisson_source", 30, {"rate": rng.uniform(500, 3000, 30)})
    times = [np.sort(rng.uniform(0, n_steps * dt * runs, 20)) for _ in range(5)]
    times[0] = np.array([1.0, 1.0, 2.0, 7.3])  # two spikes in one step: multiplicity 2
    array = net.add_neurons("spike_source_array", 5, {"spike_times": times})
    params = {}
    if "i_offset" in model.parameters:
        scale = 0.3 if family == "izhikevich" else 1.0
        params["i_offset"] = rng.uniform(0.0, 0.6, N) * scale
    cells = net.add_neurons(family, N, params)
    ports = list(model.receptors)
    n_syn = 3000
    pre = rng.integers(0, int(cells.gids[-1]) + 1, n_syn)
    post = rng.integers(int(cells.gids[0]), int(cells.gids[-1]) + 1, n_syn)
    delay = rng.integers(1, 25, n_syn)
    for k, port in enumerate(ports):
        sel = np.arange(n_syn) % len(ports) == k
        w = WEIGHT[model.receptors[port]] * rng.uniform(0.2, 1.0, sel.sum())
        if model.receptors[port] != "uS" and k % 2 == 1:
            w = -0.5 * w
        net.connect(pre[sel], post[sel], weight=w, delay_steps=delay[sel], receptor=port)
    step_current = PiecewiseConstantCurrent(change_steps=[100, 900, 1500],
                                            amplitudes=[0.3, 0.0, 0.5],
                                            targets=cells.gids[:10])
    net.add_stimulus(step_current)
    noise = NoiseCurrent("noise:test", mean=0.1, stdev=0.2, interval=5, targets=cells.gids[5:20])
    net.add_stimulus(noise)
    for sl in (poisson, array, cells):
        net.record_spikes(sl.group, sl.local)
    recorders = [net.record_state(cells.group, name, cells.local[::3], 1 + 2 * (i % 2))
                 for i, name in enumerate(model.recordable) if name != "spikes"]
    for _ in range(runs):
        net.run(n_steps)
    return net, cells, recorders


def _compare(family, **kw):
    ref, ref_cells, ref_rec = _network("cpu", family, **kw)
    com, com_cells, com_rec = _network("cpu-compiled", family, **kw)
    for g in ref.groups.values():
        expected = g.spike_recorder.events()
        got = com.groups[g.model.name].spike_recorder.events()
        for a, b in zip(expected, got):
            np.testing.assert_array_equal(a, b)
    assert ref_cells.group.spike_recorder.events()[0].size > 3  # the cells do spike
    rtol = LIBM_RTOL if family in LIBM_FAMILIES else 1e-12
    for r, c in zip(ref_rec, com_rec):
        (s1, v1), (s2, v2) = r.data(), c.data()
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_allclose(v2, v1, rtol=rtol, atol=rtol * np.abs(v1).max())
    return ref, com


@pytest.mark.parametrize("family", FAMILIES)
def test_compiled_step_equals_reference(family, monkeypatch):
    ran = []
    original = cpu.CpuStep.run
    monkeypatch.setattr(cpu.CpuStep, "run", lambda self, n: ran.append(n) or original(self, n))
    _compare(family)
    assert ran == [STEPS]  # the compiled run: no fallback


def test_several_runs_and_parameter_changes():
    """Runs in pieces, with a parameter changed between them (parameter_changes.py)."""
    nets = []
    for engine in ("cpu", "cpu-compiled"):
        net = Network(Backend(engine, "float64", seed=3), dt=0.01)
        cell = net.add_neurons(EIF_COND_EXP, 2, {"v_thresh": -55.0, "tau_refrac": 5.0})
        net.add_stimulus(PiecewiseConstantCurrent(change_steps=[5000, 20000, 25000],
                                                  amplitudes=[1.0, 0.0, 1.0],
                                                  targets=cell.gids))
        rec = net.record_state(cell.group, "v", cell.local)
        net.record_spikes(cell.group, cell.local)
        for a in (0.0, 4.0, 20.0):
            cell.group.set_param("a", cell.local, np.full(2, a))
            net.run(10000)
        nets.append((net, cell, rec))
    (n1, c1, r1), (n2, c2, r2) = nets
    for x, y in zip(c1.group.spike_recorder.events(), c2.group.spike_recorder.events()):
        np.testing.assert_array_equal(x, y)
    assert c1.group.spike_recorder.events()[0].size > 5
    np.testing.assert_array_equal(r1.data()[0], r2.data()[0])
    np.testing.assert_allclose(r2.data()[1], r1.data()[1], rtol=LIBM_RTOL)


def test_stimulus_joined_between_runs():
    for _ in range(1):
        _compare("iaf_psc_exp", n_steps=700, runs=3)


def test_numerical_instability_at_the_same_step():
    errors = []
    for engine in ("cpu", "cpu-compiled"):
        net = Network(Backend(engine, "float64", seed=1), dt=0.1)
        cells = net.add_neurons("iaf_psc_exp", 3, {"i_offset": [0.1, 0.2, 0.3]})
        net.add_stimulus(PiecewiseConstantCurrent(change_steps=[50], amplitudes=[np.nan],
                                                  targets=cells.gids[1:2]))
        with pytest.raises(NumericalInstability) as info:
            net.run(200)
        errors.append((info.value.first_step, info.value.last_step, info.value.local,
                       net.step))
    assert errors[0] == errors[1]


def _fallback_notes(net):
    notes = []
    net.notify = notes.append
    return notes


ARRAY_CODE_ONLY = ["gif_cond_exp", "iaf_psc_exp_ps", "iaf_psc_delta_ps",
                   "spike_source_array_ps", "poisson_source_ps"]  # kernel_kind None


@pytest.mark.parametrize("family", ARRAY_CODE_ONLY)
def test_unsupported_family_falls_back(family):
    net = Network(Backend("cpu-compiled", "float64"), dt=0.1)
    net.add_neurons(family, 3)
    assert family in cpu.unsupported(net)
    assert not cpu.step.family_supported(MODELS[family])


def _mixed_network(engine, family):
    """A compiled family beside an array-code-only one, driven by Poisson sources."""
    net = Network(Backend(engine, "float64", seed=3), dt=0.1)
    src = net.add_neurons("poisson_source", 20, {"rate": 2000.0})
    plain = net.add_neurons("iaf_psc_exp", 10, {"i_offset": 0.5})
    other = net.add_neurons(family, 10, {"i_offset": 0.6})
    rng = np.random.default_rng(3)
    for post, name in ((plain, "iaf_psc_exp"), (other, family)):
        weight = WEIGHT[MODELS[name].receptors["excitatory"]]
        net.connect(rng.integers(0, 20, 100),
                    rng.integers(int(post.gids[0]), int(post.gids[-1]) + 1, 100), weight,
                    rng.integers(1, 20, 100), "excitatory")
    for s in (src, plain, other):
        net.record_spikes(s.group, s.local)
    return net, (src, plain, other)


@pytest.mark.parametrize("family", ["gif_cond_exp", "iaf_psc_exp_ps", "iaf_psc_delta_ps"])
def test_array_code_family_runs_the_whole_network_on_the_reference(family, monkeypatch,
                                                                    caplog):
    """One array-code-only family sends the whole network to the reference step, said once
    in the log (two networks, two runs each), with the reference's spikes."""
    monkeypatch.setattr("pyNN_neurongpu.engine.network._FALLBACKS_SAID", set())
    monkeypatch.setattr(cpu.CpuStep, "__init__", lambda *a: pytest.fail("compiled step"))
    caplog.set_level("INFO", logger="pyNN_neurongpu")
    runs = {}
    for engine in ("cpu-compiled", "cpu-compiled", "cpu"):
        net, slices = _mixed_network(engine, family)
        net.run(1000)
        net.run(500)
        runs[engine] = [s.group.spike_recorder.events() for s in slices]
    lines = [r.getMessage() for r in caplog.records if "reference CPU step" in r.getMessage()]
    assert len(lines) == 1 and family in lines[0], lines
    assert "iaf_psc_exp," not in lines[0]  # only the families it does not run are named
    for got, want in zip(runs["cpu-compiled"], runs["cpu"]):
        for a, b in zip(got, want):
            np.testing.assert_array_equal(a, b)
    assert all(e[0].size > 0 for e in runs["cpu"])  # every population spiked


def test_backend_cpu_is_the_reference(monkeypatch):
    monkeypatch.setattr(cpu.CpuStep, "__init__", lambda *a: pytest.fail("compiled step"))
    net = Network(Backend("cpu", "float64"), dt=0.1)
    net.add_neurons("iaf_psc_exp", 2, {"i_offset": 1.0})
    net.run(100)
    assert Backend("cpu").cpu_engine == "reference"
    assert Backend("cpu-compiled").cpu_engine == "compiled"
    assert Backend("compiled").device == "cpu"


def test_library_is_cached_by_source(tmp_path, monkeypatch):
    monkeypatch.setenv(compiler.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(compiler, "_LOADED", {})
    monkeypatch.setattr(compiler, "_BY_SOURCE", {})
    for _ in range(2):
        net = Network(Backend("cpu-compiled", "float64"), dt=0.1)
        net.add_neurons("iaf_psc_exp", 3, {"i_offset": np.linspace(0, 1, 3)})
        net.run(10)
    assert len(list(tmp_path.glob("step_*.so"))) == 1
