"""Bulk connectors against pyNN.nest: the same seed gives the same network.

Each case builds the same populations and projections in pyNN.neurongpu and in
pyNN.nest (which runs PyNN's generic connector code) with freshly made, equally
seeded NumpyRNGs, and compares connection lists and weight/delay matrices.
"""

import numpy as np
import pytest
from pyNN.core import IndexBasedExpression
from pyNN.random import NumpyRNG
from pyNN.random import RandomDistribution as RD
from pyNN.space import Grid2D, Line

pytestmark = pytest.mark.nest


def pops(sim, n_pre=12, n_post=10, **kw):
    return (sim.Population(n_pre, sim.IF_curr_exp(), **kw),
            sim.Population(n_post, sim.IF_curr_exp(), **kw))


def one_pop(sim, n=12):
    p = sim.Population(n, sim.IF_curr_exp())
    return p, p


def rand_syn(sim, w=(0.1, 0.4), seed=21):
    return sim.StaticSynapse(weight=RD("uniform", w, rng=NumpyRNG(seed)),
                             delay=RD("uniform", (0.1, 2.0), rng=NumpyRNG(seed + 1)))


def const_syn(sim):
    return sim.StaticSynapse(weight=0.2, delay=0.5)


def clipped_syn(sim):
    return sim.StaticSynapse(weight=RD("normal_clipped", (0.2, 0.1, 0.05, 0.3), rng=NumpyRNG(5)),
                             delay=RD("normal_clipped", (1.0, 0.5, 0.2, 1.5), rng=NumpyRNG(6)))


class Ring(IndexBasedExpression):
    def __call__(self, i, j):
        return 0.9 * ((i - j) % 4 == 0) + 0.05


def case_shared_rng(sim):
    rng = NumpyRNG(77)
    pre, post = pops(sim)
    syn = sim.StaticSynapse(weight=RD("uniform", (0.1, 0.2), rng=rng),
                            delay=RD("uniform", (0.2, 0.9), rng=rng))
    return [sim.Projection(pre, post, sim.FixedProbabilityConnector(0.3, rng=rng), syn)]


def case_shared_n_rng(sim):
    """FixedNumberPost whose n is drawn, per source, from the connector's own rng."""
    rng = NumpyRNG(41)
    pre, post = pops(sim)
    conn = sim.FixedNumberPostConnector(RD("uniform_int", (1, 6), rng=rng),
                                        with_replacement=True, rng=rng)
    return [sim.Projection(pre, post, conn, rand_syn(sim))]


def case_sequence(sim):
    """Several projections drawing from one rng: its state carries over as in PyNN."""
    rng = NumpyRNG(31)
    pre, post = pops(sim)
    first = sim.Projection(pre, post, sim.FixedNumberPreConnector(4, rng=rng),
                           sim.StaticSynapse(weight=RD("normal", (0.3, 0.05), rng=rng), delay=1.0))
    second = sim.Projection(pre, post, sim.FixedNumberPostConnector(3, rng=rng,
                                                                    with_replacement=True),
                            sim.StaticSynapse(weight=RD("uniform", (0.1, 0.2), rng=rng),
                                              delay=0.4))
    third = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.2, rng=rng),
                           sim.StaticSynapse(weight=RD("uniform", (0.1, 0.2), rng=rng),
                                             delay=0.4))
    fourth = sim.Projection(pre, post, sim.FixedTotalNumberConnector(15, rng=rng),
                            sim.StaticSynapse(weight=RD("uniform", (0.1, 0.2), rng=rng),
                                              delay=0.4))
    return [first, second, third, fourth]


def case_views(sim):
    a = sim.Population(20, sim.IF_curr_exp())
    b = sim.Population(15, sim.IF_curr_exp())
    conn = sim.FixedProbabilityConnector(0.4, allow_self_connections=False, rng=NumpyRNG(3))
    return [sim.Projection(a[::2], a[[1, 2, 3, 4, 6, 9]], conn, rand_syn(sim)),
            sim.Projection(a[3:9], b[[0, 5, 7]], sim.AllToAllConnector(), rand_syn(sim)),
            sim.Projection(b[[9, 2, 7, 4]], a[[3, 1]], sim.FixedNumberPreConnector(
                3, rng=NumpyRNG(3)), rand_syn(sim))]


def case_assembly(sim):
    a, b = pops(sim, 6, 5)
    c = sim.Population(7, sim.IF_curr_exp())
    conn = sim.FixedNumberPreConnector(4, rng=NumpyRNG(9))
    return [sim.Projection(a + c, b, conn, rand_syn(sim)),
            sim.Projection(a, b + c, sim.FixedProbabilityConnector(0.5, rng=NumpyRNG(8)),
                           rand_syn(sim, (-0.4, -0.1)), receptor_type="inhibitory")]


def case_distance(sim):
    grid = Grid2D(aspect_ratio=1.0, dx=10.0, dy=10.0)
    pre, post = pops(sim, 16, 9, structure=grid)
    conn = sim.DistanceDependentProbabilityConnector("exp(-d/15.0)", rng=NumpyRNG(4))
    syn = sim.StaticSynapse(weight="0.1 + d/200.0", delay="0.2 + d/20.0")
    return [sim.Projection(pre, post, conn, syn)]


def case_displacement(sim):
    pre, post = pops(sim, 12, 10, structure=Line(dx=3.0))
    conn = sim.DisplacementDependentProbabilityConnector(
        lambda d: np.exp(-np.abs(d[0]) / 8.0), rng=NumpyRNG(12))
    return [sim.Projection(pre, post, conn, rand_syn(sim))]


def case_value_maps(sim):
    """Weights from a matrix and delays from a function of distance."""
    pre, post = pops(sim, 12, 10, structure=Line(dx=2.0))
    matrix = np.arange(120, dtype=float).reshape(12, 10) / 300.0 + 0.01
    return [sim.Projection(pre, post, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=matrix, delay="0.1 + d/7.0")),
            sim.Projection(pre, post, sim.FixedProbabilityConnector(0.4, rng=NumpyRNG(2)),
                           sim.StaticSynapse(weight=lambda d: 0.3 * np.exp(-d / 10.0),
                                             delay=matrix * 5 + 0.1))]


def case_clone(sim):
    pre, post = pops(sim)
    ref = sim.Projection(pre, post, sim.FixedNumberPreConnector(5, with_replacement=True,
                                                                rng=NumpyRNG(2)),
                         const_syn(sim))
    return [ref, sim.Projection(pre, post, sim.CloneConnector(ref), rand_syn(sim))]


LIST = [(i % 12, (7 * i) % 10, 0.1 + 0.01 * i, 0.1 * (1 + i % 7)) for i in range(40)]
ARRAY = np.random.RandomState(1).rand(12, 10) < 0.3


def simple(pre_post, conn, syn=rand_syn, receptor="excitatory"):
    def case(sim):
        pre, post = pre_post(sim)
        return [sim.Projection(pre, post, conn(sim), syn(sim), receptor_type=receptor)]
    return case


CASES = {
    "all_to_all": simple(pops, lambda s: s.AllToAllConnector(), const_syn),
    "all_to_all_random": simple(pops, lambda s: s.AllToAllConnector()),
    "all_to_all_no_self": simple(one_pop, lambda s: s.AllToAllConnector(
        allow_self_connections=False)),
    "one_to_one": simple(pops, lambda s: s.OneToOneConnector(), clipped_syn),
    "fixed_probability": simple(pops, lambda s: s.FixedProbabilityConnector(
        0.3, rng=NumpyRNG(3))),
    "fixed_probability_default_rng": simple(pops, lambda s: s.FixedProbabilityConnector(0.3)),
    "fixed_probability_clipped": simple(pops, lambda s: s.FixedProbabilityConnector(
        0.5, rng=NumpyRNG(3)), clipped_syn),
    "fixed_probability_no_self": simple(one_pop, lambda s: s.FixedProbabilityConnector(
        0.4, allow_self_connections=False, rng=NumpyRNG(3))),
    "fixed_probability_no_mutual": simple(one_pop, lambda s: s.FixedProbabilityConnector(
        0.6, allow_self_connections="NoMutual", rng=NumpyRNG(3))),
    "fixed_probability_inhibitory": simple(pops, lambda s: s.FixedProbabilityConnector(
        0.3, rng=NumpyRNG(3)), lambda s: rand_syn(s, (-0.5, -0.1)), "inhibitory"),
    "fixed_probability_shared_rng": case_shared_rng,
    "fixed_number_pre": simple(pops, lambda s: s.FixedNumberPreConnector(4, rng=NumpyRNG(5))),
    "fixed_number_pre_replace": simple(pops, lambda s: s.FixedNumberPreConnector(
        9, with_replacement=True, rng=NumpyRNG(5))),
    "fixed_number_pre_over_size": simple(pops, lambda s: s.FixedNumberPreConnector(
        15, rng=NumpyRNG(5))),
    "fixed_number_pre_random_n": simple(pops, lambda s: s.FixedNumberPreConnector(
        RD("poisson", (3.0,), rng=NumpyRNG(17)), rng=NumpyRNG(5)), clipped_syn),
    "fixed_number_pre_no_self": simple(one_pop, lambda s: s.FixedNumberPreConnector(
        5, allow_self_connections=False, rng=NumpyRNG(5))),
    "fixed_number_pre_no_self_replace": simple(one_pop, lambda s: s.FixedNumberPreConnector(
        5, allow_self_connections=False, with_replacement=True, rng=NumpyRNG(1))),
    "fixed_number_post": simple(pops, lambda s: s.FixedNumberPostConnector(4, rng=NumpyRNG(5))),
    "fixed_number_post_replace": simple(pops, lambda s: s.FixedNumberPostConnector(
        6, with_replacement=True, rng=NumpyRNG(5))),
    "fixed_number_post_no_self": simple(one_pop, lambda s: s.FixedNumberPostConnector(
        5, allow_self_connections=False, rng=NumpyRNG(5))),
    "fixed_number_post_shared_n_rng": case_shared_n_rng,
    "fixed_total_number": simple(pops, lambda s: s.FixedTotalNumberConnector(
        50, rng=NumpyRNG(6))),
    "fixed_total_number_no_replace": simple(pops, lambda s: s.FixedTotalNumberConnector(
        50, with_replacement=False, rng=NumpyRNG(6))),
    "distance_dependent": case_distance,
    "displacement_dependent": case_displacement,
    "index_based": simple(pops, lambda s: s.IndexBasedProbabilityConnector(
        Ring(), rng=NumpyRNG(13))),
    "from_list": simple(pops, lambda s: s.FromListConnector(LIST)),
    "from_list_random_weights": simple(pops, lambda s: s.FromListConnector(
        [c[:2] for c in LIST])),
    "array": simple(pops, lambda s: s.ArrayConnector(ARRAY)),
    "clone": case_clone,
    "value_maps": case_value_maps,
    "views": case_views,
    "assembly": case_assembly,
    "sequence": case_sequence,
}


def summary(prj):
    conns = np.array(sorted(prj.get(["weight", "delay"], format="list")))
    weights, delays = prj.get(["weight", "delay"], format="array")
    return conns, weights, delays


@pytest.mark.parametrize("name", list(CASES))
def test_same_network_as_nest(sim, nest_sim, name):
    if name.endswith("default_rng") and sim.test_backend == "gpu":
        pytest.skip("on a GPU a connector without an rng draws on the device "
                    "(test_native_connectors.py::test_connector_without_rng)")
    ours = [summary(p) for p in CASES[name](sim)]
    theirs = [summary(p) for p in CASES[name](nest_sim)]
    for (a, wa, da), (b, wb, db) in zip(ours, theirs):
        assert a.shape == b.shape and a.shape[0] > 0
        np.testing.assert_array_equal(a[:, :2], b[:, :2])
        np.testing.assert_allclose(a[:, 2:], b[:, 2:], rtol=1e-12)
        np.testing.assert_allclose(wa, wb, rtol=1e-12)  # NaN where unconnected, in both
        np.testing.assert_allclose(da, db, rtol=1e-12)
