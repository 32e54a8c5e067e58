"""Projection get/set/save/Connection access and construction errors."""

import numpy as np
import pytest
from pyNN import errors
from pyNN.random import NumpyRNG
from pyNN.random import RandomDistribution as RD
from pyNN.space import Line

DUPLICATES = [(0, 1, 0.1, 0.5), (0, 1, 0.3, 1.5), (2, 0, 0.2, 0.7), (0, 1, 0.2, 1.0),
              (1, 2, 0.4, 0.2)]


def test_get_list_and_array_formats(sim):
    pre = sim.Population(3, sim.IF_curr_exp())
    post = sim.Population(4, sim.IF_curr_exp())
    prj = sim.Projection(pre, post, sim.FromListConnector(DUPLICATES), sim.StaticSynapse())
    assert len(prj) == prj.size() == 5
    listed = prj.get(["weight", "delay"], format="list")
    # sorted by source; connections of one pair in creation order
    assert listed == [(0.0, 1.0, 0.1, 0.5), (0.0, 1.0, 0.3, 1.5), (0.0, 1.0, 0.2, 1.0),
                      (1.0, 2.0, 0.4, 0.2), (2.0, 0.0, 0.2, 0.7000000000000001)]
    assert prj.get("weight", format="list", with_address=False) == [0.1, 0.3, 0.2, 0.4, 0.2]
    expected = {"sum": 0.6, "min": 0.1, "max": 0.3, "first": 0.1, "last": 0.2}
    for how, value in expected.items():
        w = prj.get("weight", format="array", multiple_synapses=how)
        assert w.shape == (3, 4)
        assert w[0, 1] == pytest.approx(value)
        assert w[2, 0] == pytest.approx(0.2) and w[1, 2] == pytest.approx(0.4)
        assert np.isnan(w).sum() == 12 - 3
    with pytest.raises(ValueError):
        prj.get("weight", format="array", multiple_synapses="mean")


def test_connection_objects(sim):
    pre, post = sim.Population(3, sim.IF_curr_exp()), sim.Population(4, sim.IF_curr_exp())
    prj = sim.Projection(pre, post, sim.FromListConnector(DUPLICATES), sim.StaticSynapse())
    conns = list(prj.connections)
    assert [(c.presynaptic_index, c.postsynaptic_index) for c in conns] == [
        (0, 1), (0, 1), (0, 1), (1, 2), (2, 0)]
    c = prj[3]
    assert (c.weight, c.delay) == (pytest.approx(0.4), pytest.approx(0.2))
    c.weight = 0.9
    c.delay = 2.34  # rounded to the time step grid
    assert prj.get("weight", format="list", with_address=False)[3] == pytest.approx(0.9)
    assert prj.get("delay", format="list", with_address=False)[3] == pytest.approx(2.3)
    assert len(prj[1:4]) == 3
    with pytest.raises(IndexError):
        prj[5]


def test_heterogeneous_delays_rounded_like_nest(sim):
    p = sim.Population(6, sim.IF_curr_exp())
    delays = [0.25, 0.35, 0.15, 0.45, 1.05, 0.149999]
    conn = [(i, i, 0.1, d) for i, d in enumerate(delays)]
    prj = sim.Projection(p, p, sim.FromListConnector(conn), sim.StaticSynapse())
    got = prj.get("delay", format="list", with_address=False)
    # NEST rounds delay * steps-per-ms half up: 2.5 -> 3 steps, 3.5 -> 4, ...
    np.testing.assert_allclose(got, [0.3, 0.4, 0.2, 0.5, 1.1, 0.1], rtol=1e-12)


SUB_STEP_DELAYS = [0.05, 0.06, 0.0999, 0.149999, 0.15]


def _sub_step_delays(s):
    """Delays (ms) of a projection whose delays lie between half a step and 1.5 steps."""
    p = s.Population(5, s.IF_curr_exp())
    conn = [(i, i, 0.1, d) for i, d in enumerate(SUB_STEP_DELAYS)]
    prj = s.Projection(p, p, s.FromListConnector(conn), s.StaticSynapse())
    return prj.get("delay", format="list", with_address=False)


def test_delays_from_half_a_step_round_to_one_step(sim):
    # NEST checks delays after rounding: from 0.5 dt up they are one step; the PD14
    # reference draws its delays with that lower bound (0.5 dt)
    np.testing.assert_allclose(_sub_step_delays(sim), [0.1, 0.1, 0.1, 0.1, 0.2], rtol=1e-12)
    p = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError, match="below the minimum delay"):
        sim.Projection(p, p, sim.AllToAllConnector(), sim.StaticSynapse(delay=0.0499))
    prj = sim.Projection(p, p, sim.AllToAllConnector(), sim.StaticSynapse(delay=1.0))
    prj.set(delay=RD("normal_clipped", (0.1, 0.05, 0.05, 0.2), rng=NumpyRNG(4)))
    assert set(np.round(prj.get("delay", format="list", with_address=False), 12)) <= {0.1, 0.2}
    with pytest.raises(errors.ConnectionError):
        prj.set(delay=0.04)


@pytest.mark.nest
def test_sub_step_delays_like_nest(sim, nest_sim):
    np.testing.assert_allclose(_sub_step_delays(sim), _sub_step_delays(nest_sim), rtol=1e-12)


@pytest.mark.nest
def test_set_like_nest(sim, nest_sim):
    def build(s):
        pre = s.Population(8, s.IF_curr_exp(), structure=Line(dx=2.0))
        post = s.Population(6, s.IF_curr_exp(), structure=Line(dx=3.0))
        prj = s.Projection(pre, post, s.FixedProbabilityConnector(0.5, rng=NumpyRNG(3)),
                           s.StaticSynapse(weight=0.1, delay=0.5))
        out = []
        prj.set(weight=RD("uniform", (0.2, 0.6), rng=NumpyRNG(9)))
        out.append(prj.get(["weight", "delay"], format="array"))
        prj.set(delay=RD("normal_clipped", (1.0, 0.5, 0.3, 2.0), rng=NumpyRNG(10)))
        out.append(prj.get(["weight", "delay"], format="array"))
        prj.set(weight="0.05 + d/100.0", delay=0.7)
        out.append(prj.get(["weight", "delay"], format="array"))
        matrix = np.arange(48, dtype=float).reshape(8, 6) / 100.0 + 0.01
        prj.set(weight=matrix)
        out.append(prj.get(["weight", "delay"], format="array"))
        prj.set(weight=0.25)
        out.append(prj.get(["weight", "delay"], format="array"))
        return out

    ours, theirs = build(sim), build(nest_sim)
    for (wa, da), (wb, db) in zip(ours, theirs):
        assert np.isfinite(wa).sum() > 10
        np.testing.assert_allclose(wa, wb, rtol=1e-12)
        np.testing.assert_allclose(da, db, rtol=1e-12)


def test_set_errors(sim):
    pre, post = sim.Population(3, sim.IF_curr_exp()), sim.Population(4, sim.IF_curr_exp())
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.1))
    with pytest.raises(errors.ConnectionError):
        prj.set(weight=-0.5)  # excitatory synapses need weights >= 0
    with pytest.raises(errors.ConnectionError):
        prj.set(delay=0.01)
    assert prj.get("weight", format="list", with_address=False) == [0.1] * 12


def test_save_and_from_file_round_trip(sim, tmp_path):
    pre, post = sim.Population(10, sim.IF_curr_exp()), sim.Population(7, sim.IF_curr_exp())
    syn = sim.StaticSynapse(weight=RD("uniform", (0.1, 0.5), rng=NumpyRNG(2)),
                            delay=RD("uniform", (0.1, 3.0), rng=NumpyRNG(3)))
    prj = sim.Projection(pre, post, sim.FixedNumberPreConnector(3, rng=NumpyRNG(1)), syn)
    path = str(tmp_path / "conns.txt")
    prj.save("all", path)
    copy = sim.Projection(pre, post, sim.FromFileConnector(path), sim.StaticSynapse())
    original = np.array(prj.get(["weight", "delay"], format="list"))
    assert original.shape == (21, 4)
    np.testing.assert_allclose(np.array(copy.get(["weight", "delay"], format="list")),
                               original, rtol=1e-15)


def _groups(sim):
    return list(sim.simulator.state.network.synapse_groups)


@pytest.mark.parametrize("build", [
    lambda s, a, b: s.Projection(a, b, s.AllToAllConnector(), s.StaticSynapse(delay=0.01)),
    lambda s, a, b: s.Projection(a, b, s.FixedProbabilityConnector(0.5, rng=NumpyRNG(1)),
                                 s.StaticSynapse(delay=RD("uniform", (0.01, 1.0),
                                                          rng=NumpyRNG(2)))),
    lambda s, a, b: s.Projection(a, b, s.FixedNumberPreConnector(2, rng=NumpyRNG(1)),
                                 s.StaticSynapse(weight=RD("uniform", (-0.1, 0.1),
                                                           rng=NumpyRNG(2)))),
    lambda s, a, b: s.Projection(a, b, s.AllToAllConnector(), s.StaticSynapse(weight=0.2),
                                 receptor_type="inhibitory"),
    lambda s, a, b: s.Projection(a, b, s.FromListConnector([(0, 1, 0.1, 0.5), (5, 0, 0.1, 0.5)]),
                                 s.StaticSynapse()),
    lambda s, a, b: s.Projection(a, b, s.FromListConnector([(0, 9, 0.1, 0.5)]),
                                 s.StaticSynapse()),
    lambda s, a, b: s.Projection(a, b, s.FromListConnector([(-1, 0, 0.1, 0.5)]),
                                 s.StaticSynapse()),
    lambda s, a, b: s.Projection(a, b, s.OneToOneConnector(), s.StaticSynapse(delay=50.0)),
    lambda s, a, b: s.Projection(a, b, s.FixedTotalNumberConnector(5, rng=s.NativeRNG(1)),
                                 s.StaticSynapse(weight=RD("normal", (0.0, 1.0),
                                                           rng=s.NativeRNG(2)))),
], ids=["delay<dt", "random delay<dt", "mixed weight signs", "positive inhibitory",
        "source out of range", "target out of range", "negative index", "delay>max_delay",
        "native mixed signs"])
def test_bad_input_raises_and_builds_nothing(sim, build):
    sim.setup(timestep=0.1, max_delay=10.0, backend=sim.test_backend)
    a, b = sim.Population(5, sim.IF_curr_exp()), sim.Population(4, sim.IF_curr_exp())
    sim.Projection(a, b, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1))
    before = _groups(sim)
    with pytest.raises(errors.ConnectionError):
        build(sim, a, b)
    assert _groups(sim) == before
    assert len(sim.simulator.state.projections) == 1


def test_unsupported_connectors(sim):
    p = sim.Population(5, sim.IF_curr_exp())
    q = sim.Population(5, sim.IF_curr_exp())
    with pytest.raises(NotImplementedError):
        sim.Projection(p, q, sim.FixedProbabilityConnector(
            0.5, allow_self_connections="NoMutual"), sim.StaticSynapse())
    with pytest.raises(NotImplementedError):
        sim.Projection(p, p, sim.SmallWorldConnector(degree=2, rewiring=0.1),
                       sim.StaticSynapse())
    try:
        import csa  # noqa: F401
    except ImportError:
        with pytest.raises(RuntimeError):
            sim.CSAConnector(None)
    assert _groups(sim) == []


def test_callback_reports_progress(sim):
    p, q = sim.Population(50, sim.IF_curr_exp()), sim.Population(40, sim.IF_curr_exp())
    seen = []
    sim.Projection(p, q, sim.FixedProbabilityConnector(0.2, rng=NumpyRNG(1), callback=seen.append),
                   sim.StaticSynapse())
    assert seen and seen[-1] == 1.0 and all(0 < f <= 1 for f in seen)


def test_large_fixed_probability_is_sparse(sim):
    """2000 x 2000 at p = 0.1 builds 4e5 synapses without a dense pre x post array."""
    p = sim.Population(2000, sim.IF_curr_exp())
    prj = sim.Projection(p, p, sim.FixedProbabilityConnector(0.1, rng=NumpyRNG(5)),
                         sim.StaticSynapse(weight=0.1, delay=0.5))
    n = len(prj)
    assert abs(n - 400_000) < 5 * np.sqrt(400_000 * 0.9)
