"""Plastic and stochastic synapses on the compiled CPU step (engine/cpu/plastic.py: the
GPU's kernels of cuda/plastic_synapses.cu as host C++; the reference's stochastic updates
in cuda/host_stochastic.h, drawing from the group's NumPy stream) against the reference
step, in float64: every weight dependence of pair STDP, Vogels-Sprekeler, Tsodyks-Markram
and the stochastic synapses (SimpleStochastic, StochasticTsodyksMarkram, MultiQuantal),
with delays of 1 to 29 steps, several plastic projections (one onto two families), spikes
of multiplicity 2, post-synaptic histories that must grow, and parameter changes between
runs. Spikes must be the same, and a stochastic group's stream must end where the
reference's does; weights and synaptic state equal to the bit where NumPy's exp and pow
are the C library's (the subprocess test forces that: NumPy's AVX-512 loops differ from
the C library in the last bit), else within ``RTOL``."""

import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pyNN_neurongpu.engine import Backend, Network, cpu
from tests.equal_runs import run_without_numpy_simd

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="no host C++ compiler")

ROOT = Path(__file__).resolve().parents[2]
RTOL = 1e-12   # last-bit differences of exp/pow, carried through a few hundred updates


def _numpy_is_libm() -> bool:
    x = np.random.default_rng(0).uniform(-20.0, 1.0, 4096)
    b = np.random.default_rng(1).uniform(0.0, 1.0, 4096)
    return (all(np.exp(x) == [math.exp(v) for v in x])
            and all(b ** np.full(b.size, 0.37) == [math.pow(v, 0.37) for v in b]))


EXACT = _numpy_is_libm()

# (model, parameters, per-synapse parameters drawn in [lo, hi)); the STDP weight
# dependences are PyNN's, as standardmodels/synapses.py sets mu_plus and mu_minus
RULES = {
    "additive": ("stdp", {"A_plus": 0.2, "A_minus": 0.05, "mu_plus": 0.0, "mu_minus": 0.0},
                 {}),
    "multiplicative": ("stdp", {"A_plus": 0.05, "A_minus": 0.06, "mu_plus": 1.0,
                                "mu_minus": 1.0}, {}),
    "additive_potentiation_multiplicative_depression": (
        "stdp", {"A_plus": 0.03, "A_minus": 0.05, "mu_plus": 0.0, "mu_minus": 1.0}, {}),
    "gutig": ("stdp", {"A_plus": 0.5, "A_minus": 0.5, "mu_plus": 0.5, "mu_minus": 0.5}, {}),
    "gutig_per_synapse": ("stdp", {"A_plus": 0.04, "A_minus": 0.045, "w_min": 0.05},
                          {"mu_plus": (0.2, 0.8), "mu_minus": (0.2, 0.8),
                           "tau_plus": (10.0, 30.0)}),
    "vogels_sprekeler": ("vogels_sprekeler", {"tau": 20.0, "eta": 0.05, "rho": 60.0}, {}),
    "tsodyks_markram": ("tsodyks_markram", {"U": 0.4, "tau_rec": 150.0, "tau_psc": 5.0}, {}),
    "tsodyks_markram_facilitating": ("tsodyks_markram", {"U": 0.1, "tau_facil": 300.0},
                                     {"tau_rec": (50.0, 400.0)}),
    "simple_stochastic": ("simple_stochastic", {"p": 0.5}, {}),
    "simple_stochastic_per_synapse": ("simple_stochastic", {}, {"p": (0.1, 0.9)}),
    "stochastic_tsodyks_markram": ("stochastic_tsodyks_markram",
                                   {"U": 0.5, "tau_rec": 80.0}, {}),
    "stochastic_tsodyks_markram_facilitating": (
        "stochastic_tsodyks_markram", {"U": 0.2, "tau_facil": 150.0},
        {"tau_rec": (20.0, 200.0)}),
    "multi_quantal": ("multi_quantal", {"U": 0.4, "n": 3.0, "tau_rec": 60.0}, {}),
    "multi_quantal_facilitating": ("multi_quantal", {"U": 0.2, "n": 5.0, "tau_facil": 100.0},
                                   {"tau_rec": (20.0, 300.0)}),
}
STOCHASTIC = {"simple_stochastic", "stochastic_tsodyks_markram", "multi_quantal"}
STEPS = 2500


def _params(rule, rng, n):
    model, fixed, drawn = RULES[rule]
    params = dict(fixed)
    for name, (lo, hi) in drawn.items():
        params[name] = rng.uniform(lo, hi, n)
    if model in ("stdp", "vogels_sprekeler"):
        params.setdefault("w_min", 0.0)
        params.setdefault("w_max", 0.65)
    return model, params


def _network(engine, rules, seed=5, runs=2):
    """Poisson and array sources, 30 iaf_psc_exp and 10 iaf_cond_exp cells, static input,
    and one plastic projection per rule; the first also reaches the iaf_cond_exp cells."""
    net = Network(Backend(engine, "float64", seed=seed), dt=0.1)
    rng = np.random.default_rng(seed)
    poisson = net.add_neurons("poisson_source", 40, {"rate": rng.uniform(5.0, 40.0, 40)})
    # spikes of multiplicity 2 and 3 (times in one step) from the first, sparse trains
    burst = np.arange(3.01, STEPS * 0.1 * runs - 1.0, 9.7)
    times = [np.sort(np.concatenate([burst, burst + 0.01, burst[::3] + 0.02]))] + [
        np.sort(rng.uniform(0, STEPS * 0.1 * runs, 8)) for _ in range(4)]
    array = net.add_neurons("spike_source_array", 5, {"spike_times": times})
    cells = net.add_neurons("iaf_psc_exp", 30, {"i_offset": rng.uniform(0.6, 0.8, 30)})
    cond = net.add_neurons("iaf_cond_exp", 10, {"i_offset": rng.uniform(0.5, 0.7, 10)})
    first_cell, n = int(cells.gids[0]), net.n_neurons
    pre = rng.integers(0, 45, 400)
    post = rng.integers(first_cell, n, 400)
    w = np.where(post >= int(cond.gids[0]), 0.004, 0.3) * rng.uniform(0.5, 1.0, 400)
    net.connect(pre, post, weight=w, delay_steps=rng.integers(1, 30, 400),
                receptor="excitatory")
    groups = []
    for k, rule in enumerate(rules):
        n_syn = 300
        pre = rng.integers(0, n, n_syn)
        pre[:5] = int(array.gids[0])
        last = n if k == 0 else int(cond.gids[0])   # the first onto both families
        post = rng.integers(first_cell, last, n_syn)
        model, params = _params(rule, rng, n_syn)
        scale = np.where(post >= int(cond.gids[0]), 0.01, 1.0)
        weight = rng.uniform(0.2, 0.64, n_syn) * scale
        if model in ("stdp", "vogels_sprekeler"):
            params["w_min"], params["w_max"] = params["w_min"] * scale, params["w_max"] * scale
        receptor = "inhibitory" if model == "vogels_sprekeler" else "excitatory"
        if receptor == "inhibitory":
            weight = weight * np.where(post >= int(cond.gids[0]), 1.0, -1.0)
            weight = np.abs(weight)   # STDP weights are magnitudes onto an inhibitory port
        pg = net.connect(pre, post, weight=weight, delay_steps=rng.integers(1, 30, n_syn),
                         receptor=receptor, model=model, params=params)
        pg.initial_weight = pg.weight.copy()
        groups.append(pg)
    for s in (poisson, array, cells, cond):
        net.record_spikes(s.group, s.local)
    for r in range(runs):
        if r == 1:   # a parameter change between runs
            for pg in groups:
                if pg.model.name == "stdp":
                    pg.set_params(None, {"A_minus": 0.04})
                elif pg.model.name in ("tsodyks_markram", "stochastic_tsodyks_markram",
                                       "multi_quantal"):
                    pg.set_params(None, {"U": 0.6})
                elif pg.model.name == "simple_stochastic":
                    pg.set_params(None, {"p": 0.7})
        net.run(STEPS)
    return net, (poisson, array, cells, cond), groups


def _compare(rules, exact=EXACT, **kw):
    ref, ref_pops, ref_groups = _network("cpu", rules, **kw)
    com, com_pops, com_groups = _network("cpu-compiled", rules, **kw)
    assert cpu.unsupported(com) is None
    for a, b in zip(ref_pops, com_pops):
        for x, y in zip(a.group.spike_recorder.events(), b.group.spike_recorder.events()):
            np.testing.assert_array_equal(x, y)
    assert ref_pops[2].group.spike_recorder.events()[0].size > 300
    assert ref_pops[3].group.spike_recorder.events()[0].size > 30
    for g1, g2 in zip(ref_groups, com_groups):
        if g1.model.name in STOCHASTIC:   # the same numbers drawn
            np.testing.assert_array_equal(com.backend.rng(g2.stream).pcg64_words(),
                                          ref.backend.rng(g1.stream).pcg64_words())
        pairs = [(g1.weight, g2.weight)] + [(g1.state[k], g2.state[k]) for k in g1.state]
        for x, y in pairs:
            if exact:
                np.testing.assert_array_equal(y, x)
            else:
                np.testing.assert_allclose(y, x, rtol=RTOL, atol=RTOL * np.abs(x).max())
    return ref_groups, com_groups


@pytest.mark.parametrize("rule", list(RULES))
def test_plastic_rule_equals_reference(rule, compiled_only):
    ref_groups, _ = _compare([rule])
    assert compiled_only == [STEPS, STEPS]
    pg = ref_groups[0]
    if pg.model.learns_weight:   # the weights learn: a kernel without one update differs
        moved = pg.weight != pg.initial_weight
        assert moved.mean() > 0.5
    elif pg.model.name == "tsodyks_markram":
        assert np.count_nonzero(pg.state["x"] < 1.0) > 100
    elif pg.model.name == "stochastic_tsodyks_markram":   # released or failed to recover
        assert np.count_nonzero(pg.state["R"] == 0.0) > 100
        assert len(np.unique(pg.state["t_surv"])) > 40
    elif pg.model.name == "multi_quantal":
        assert len(np.unique(pg.state["a"])) > 2


def test_several_plastic_projections_and_history_growth(compiled_only, monkeypatch):
    """Every rule in one network, in blocks of 8 steps: the STDP histories, reserved for
    8 spikes more than synapses can read, grow during the run (the kernels then read the
    reallocated arrays)."""
    from pyNN_neurongpu.engine.cpu import plastic
    monkeypatch.setattr(plastic.PlasticRecords, "max_block", lambda self: 8)
    _, com_groups = _compare(list(RULES))
    capacities = [pg.post_history.capacity for pg in com_groups if pg.post_history is not None]
    assert min(capacities) >= 64   # grown from 16 at least twice
    assert compiled_only == [STEPS, STEPS]
    for pg in com_groups:
        pg.check_history()


def test_bit_for_bit_where_numpy_uses_the_c_library():
    """With NumPy's dispatched SIMD loops off, its exp and pow are the C library's: the
    compiled step's weights and states then equal the reference's to the last bit."""
    code = ("import sys; sys.path.insert(0, 'tests/engine'); import test_cpu_compiled_plastic "
            "as t\nif not t.EXACT: sys.exit(3)\n"
            "t._compare(['additive', 'gutig', 'gutig_per_synapse', 'vogels_sprekeler', "
            "'tsodyks_markram_facilitating', 'stochastic_tsodyks_markram_facilitating', "
            "'multi_quantal_facilitating'], exact=True)")
    run_without_numpy_simd(code, ROOT, "NumPy's exp or pow is not the C library's even "
                           "without its SIMD loops")


POW_PROBE = """
#define NEURONGPU_REAL double
#include "host_prelude.h"
#include "plastic_synapses.cu"
extern "C" void probe(const double* x, long long n, double y, int shared, double* out)
{
    for (long long i = 0; i < n; ++i) out[i] = reference_pow(x[i], y, shared != 0);
}
"""


def test_kernel_power_is_numpys(tmp_path):
    """The STDP kernel's x ** mu is NumPy's: for an exponent shared by the group its exact
    special cases (sqrt, x * x, 1 / x, which the C library's pow misses in the last bit),
    else pow."""
    import ctypes

    from pyNN_neurongpu.engine.cpu import compiler
    from pyNN_neurongpu.engine.gpu.compiler import cuda_dir
    (tmp_path / "probe.cpp").write_text(POW_PROBE)
    lib = tmp_path / "probe.so"
    subprocess.run([compiler.compiler(), *compiler.FLAGS, f"-I{cuda_dir()}", "-o", str(lib),
                    str(tmp_path / "probe.cpp")], check=True)
    probe = ctypes.CDLL(str(lib)).probe
    probe.argtypes = [ctypes.c_void_p, ctypes.c_longlong, ctypes.c_double, ctypes.c_int,
                      ctypes.c_void_p]
    x = np.random.default_rng(2).uniform(0.0, 1.0, 20000)
    out = np.empty_like(x)
    for y in (0.5, 2.0, -1.0, 0.37):
        libm = np.array([math.pow(v, y) for v in x])
        special = x ** np.asarray(y)   # NumPy, one exponent for all elements
        assert y == 0.37 or np.any(special != libm)   # the two can be told apart
        for shared in (True, False):
            probe(x.ctypes.data, x.size, y, int(shared), out.ctypes.data)
            np.testing.assert_array_equal(out, special if shared and y != 0.37 else libm)
            if EXACT:   # and NumPy's pow is the C library's
                np.testing.assert_array_equal(
                    out, x ** (np.asarray(y) if shared else np.full(x.size, y)))


@pytest.mark.parametrize("model", sorted(STOCHASTIC))
def test_stochastic_synapses_run_compiled(model):
    """No synapse model sends a network to the reference step any more."""
    net = Network(Backend("cpu-compiled", "float64", seed=1), dt=0.1)
    src = net.add_neurons("spike_source_array", 1, {"spike_times": [[1.0, 5.0]]})
    cell = net.add_neurons("iaf_psc_exp", 1)
    net.connect(src.gids, cell.gids, weight=[0.5], delay_steps=[10], receptor="excitatory",
                model=model)
    assert cpu.unsupported(net) is None
