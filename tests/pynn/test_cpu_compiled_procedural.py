"""Procedural projections on the compiled CPU step (engine/cpu/procedural.py:
cuda/procedural.cu as host C++) against the reference step: every procedural connector,
feed-forward and recurrent, beside stored projections onto the same cells, from Poisson
sources whose spikes come in twos at times; several projections in every layout of the
tables (tests/pynn/test_capacity.py ``many_projections``), float64 and float32. Spikes
must be the same, and membrane traces the same to the bit where the values drawn need no
log, exp or cos (uniform weights and delays). Values drawn through them (normal_clipped,
lognormal, exponential) are the C library's, from which NumPy's SIMD loops may differ in
the last bit: traces to rounding then, and to the bit in a process with those loops off."""

import operator
import shutil
from pathlib import Path

import numpy as np
import pyNN.neurongpu as sim
import pytest

from pyNN_neurongpu.engine import Backend, Network, cpu
from pyNN_neurongpu.engine import procedural as rules
from tests.equal_runs import run_without_numpy_simd
from tests.pynn.test_capacity import CONNECTORS, _native, many_projections

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="no host C++ compiler")

ROOT = Path(__file__).resolve().parents[2]
UNIFORM = {"weight": ("uniform", (0.1, 0.6), 3), "delay": ("uniform", (0.5, 3.0), 4)}
DRAWN = {"weight": ("normal_clipped", (0.4, 0.2, 0.0, 2.0), 3),
         "delay": ("normal_clipped_to_boundary", (1.5, 1.0, 0.3, 4.0), 4),
         "lognormal": ("lognormal", (-1.2, 0.4), 5), "exponential": ("exponential", (0.3,), 6)}


@pytest.fixture
def compiled_runs(monkeypatch):
    ran = []
    original = cpu.CpuStep.run
    monkeypatch.setattr(cpu.CpuStep, "run",
                        lambda self, n: ran.append(n) or original(self, n))
    return ran


def _run(backend, name, recurrent, values=UNIFORM, precision="float64"):
    """A procedural projection of connector `name` (recurrent: with a procedural drive)
    and two stored ones (FromList, a NumpyRNG FixedProbability) onto the same cells, and
    procedural ones with lognormal and exponential weights where `values` has them.
    Returns the cells' spikes and V_m, and how many source spikes shared a step."""
    sim.setup(timestep=0.1, backend=backend, connectivity="auto", rng_seed=5,
              precision=precision)
    src = sim.Population(120, sim.SpikeSourcePoisson(rate=300.0))
    cells = sim.Population(90, sim.IF_curr_exp(tau_refrac=1.0))
    syn = sim.StaticSynapse(weight=_native(*values["weight"]),
                            delay=_native(*values["delay"]))
    sim.Projection(cells if recurrent else src, cells, CONNECTORS[name](), syn)
    if recurrent:
        sim.Projection(src, cells, sim.FixedProbabilityConnector(0.2, rng=sim.NativeRNG(9)),
                       sim.StaticSynapse(weight=0.5, delay=1.0))
    sim.Projection(src, cells, sim.FromListConnector([(i, i % 90, 0.3, 1.0)
                                                      for i in range(0, 120, 2)]),
                   sim.StaticSynapse())
    sim.Projection(src, cells, sim.FixedProbabilityConnector(0.05, rng=sim.NumpyRNG(3)),
                   sim.StaticSynapse(weight=-0.2, delay=0.7), receptor_type="inhibitory")
    for k in ("lognormal", "exponential"):
        if k in values:
            sim.Projection(src[::2], cells, sim.FixedProbabilityConnector(
                0.1, rng=sim.NativeRNG(8)), sim.StaticSynapse(
                    weight=_native(*values[k]), delay=_native(*UNIFORM["delay"])))
    cells.record(["spikes", "v"])
    src.record("spikes")
    sim.run(60.0)
    sim.run(40.0)   # a second run: the tables are rebuilt on the same rings
    net = sim.simulator.state.network
    assert net.procedural_groups and net.synapse_groups
    seg = cells.get_data().segments[0]
    spikes = [np.asarray(st) for st in seg.spiketrains]
    v = np.asarray(seg.filter(name="v")[0])
    sources = src.get_data().segments[0].spiketrains
    doubled = sum(len(st) - np.unique(np.asarray(st)).size for st in sources)
    return spikes, v, doubled


def _compare(name, recurrent, values=UNIFORM, exact=True, precision="float64"):
    ref_spikes, ref_v, doubled = _run("cpu", name, recurrent, values, precision)
    com_spikes, com_v, _ = _run("cpu-compiled", name, recurrent, values, precision)
    assert doubled > 0   # spikes of multiplicity 2
    assert sum(s.size for s in ref_spikes) > 20
    for a, b in zip(ref_spikes, com_spikes):
        np.testing.assert_array_equal(a, b)
    if exact:
        np.testing.assert_array_equal(ref_v, com_v)
    else:
        np.testing.assert_allclose(com_v, ref_v, rtol=0, atol=1e-9)


@pytest.mark.parametrize("recurrent", [False, True], ids=["feedforward", "recurrent"])
@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_compiled_procedural_equals_reference(name, recurrent, compiled_runs):
    _compare(name, recurrent)
    assert compiled_runs == [600, 400]


def test_compiled_procedural_float32(compiled_runs):
    _compare("fixed_probability", True, precision="float32")
    assert compiled_runs == [600, 400]


def _numpy_is_libm() -> bool:
    import math
    x = np.random.default_rng(0).uniform(1e-9, 1.0, 4096)
    y = np.random.default_rng(1).uniform(-20.0, 1.0, 4096)
    return (all(np.log(x) == [math.log(v) for v in x])
            and all(np.exp(y) == [math.exp(v) for v in y])
            and all(np.cos(y) == [math.cos(v) for v in y]))


def test_values_through_log_exp_and_cos(compiled_runs):
    """The same spikes; traces to the bit where NumPy's log, exp and cos are the C
    library's."""
    _compare("fixed_number_post", False, DRAWN, exact=_numpy_is_libm())
    assert compiled_runs == [600, 400]


def test_bit_for_bit_where_numpy_uses_the_c_library():
    code = ("import sys, pynn_neurongpu_alias; pynn_neurongpu_alias.install()\n"
            "import tests.pynn.test_cpu_compiled_procedural as t\n"
            "if not t._numpy_is_libm(): sys.exit(3)\n"
            "t._compare('fixed_probability_no_self', True, t.DRAWN, exact=True)")
    run_without_numpy_simd(code, ROOT, "NumPy's log, exp or cos is not the C library's "
                           "even without its SIMD loops")


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_many_procedural_projections(precision, compiled_runs):
    """Several projections from one population, a view with gaps, overlapping cell sets,
    onto an Assembly of two families: the reference's spikes."""
    flags, ref, _ = many_projections("procedural", "cpu", precision)
    _, com, _ = many_projections("procedural", "cpu-compiled", precision)
    assert all(flags) and compiled_runs == [800]
    assert sum(s.size for s in ref) > 50
    for a, b in zip(ref, com):
        np.testing.assert_array_equal(a, b)


def test_an_operation_the_kernel_lacks_falls_back():
    net = Network(Backend("cpu-compiled", "float64"), dt=0.1)
    pre = net.add_neurons("poisson_source", 5, {"rate": np.full(5, 50.0)})
    post = net.add_neurons("iaf_psc_exp", 4, {})
    rule = rules.ConnectivityRule(
        kind="all", n_pre=5, n_post=4, key=(1, 2), dt=0.1, delay=rules.ValueSpec(value=1.0),
        weight=rules.ValueSpec(name="uniform", params={"low": 0.0, "high": 1.0},
                               ops=[(operator.pow, 2.0)]))
    net.add_procedural(rules.ProceduralGroup(net.backend, rule, pre.gids, post.gids,
                                             "excitatory", "odd"))
    assert "'odd'" in cpu.unsupported(net)
    rule.weight.ops = [(operator.mul, 2.0)]
    assert cpu.unsupported(net) is None
