"""Connectors and synapse values drawn with the engine's NativeRNG: counts, degree
distributions, value statistics and reproducibility (not NumPy's numbers)."""

import numpy as np
import pytest
from pyNN.random import RandomDistribution as RD
from pyNN.space import Grid2D


def indices(prj):
    conns = np.array(prj.get(["weight"], format="list")).reshape(-1, 3)
    return conns[:, 0].astype(np.int64), conns[:, 1].astype(np.int64)


def z_score(observed, expected, variance):
    return abs(observed - expected) / np.sqrt(variance)


def test_fixed_probability_statistics(sim):
    pre, post = sim.Population(300, sim.IF_curr_exp()), sim.Population(400, sim.IF_curr_exp())
    p = 0.1
    prj = sim.Projection(pre, post, sim.FixedProbabilityConnector(p, rng=sim.NativeRNG(1)),
                         sim.StaticSynapse(weight=0.1, delay=0.5))
    i, j = indices(prj)
    n = 300 * 400
    assert z_score(len(prj), n * p, n * p * (1 - p)) < 5
    assert np.unique(i * 400 + j).size == i.size  # no pair twice
    in_degree = np.bincount(j, minlength=400)
    assert z_score(in_degree.mean(), 300 * p, 300 * p * (1 - p) / 400) < 5
    assert in_degree.var() == pytest.approx(300 * p * (1 - p), rel=0.2)
    out_degree = np.bincount(i, minlength=300)
    assert out_degree.var() == pytest.approx(400 * p * (1 - p), rel=0.2)


def test_fixed_probability_self_and_mutual(sim):
    p = sim.Population(200, sim.IF_curr_exp())
    no_self = sim.Projection(p, p, sim.FixedProbabilityConnector(
        0.5, allow_self_connections=False, rng=sim.NativeRNG(2)), sim.StaticSynapse())
    i, j = indices(no_self)
    assert not np.any(i == j)
    assert z_score(len(no_self), 0.5 * 200 * 199, 0.25 * 200 * 199) < 5
    upper = sim.Projection(p, p, sim.FixedProbabilityConnector(
        0.5, allow_self_connections="NoMutual", rng=sim.NativeRNG(2)), sim.StaticSynapse())
    i, j = indices(upper)
    assert np.all(i > j)
    assert z_score(len(upper), 0.5 * 200 * 199 / 2, 0.25 * 200 * 199 / 2) < 5
    everything = sim.Projection(p, p, sim.FixedProbabilityConnector(1.0, rng=sim.NativeRNG(2)),
                                sim.StaticSynapse())
    assert len(everything) == 200 * 200


@pytest.mark.parametrize("replace", [False, True])
def test_fixed_number_pre(sim, replace):
    pre, post = sim.Population(50, sim.IF_curr_exp()), sim.Population(300, sim.IF_curr_exp())
    prj = sim.Projection(pre, post, sim.FixedNumberPreConnector(
        20, with_replacement=replace, rng=sim.NativeRNG(3)), sim.StaticSynapse())
    i, j = indices(prj)
    assert np.all(np.bincount(j, minlength=300) == 20)
    pairs = np.unique(j * 50 + i).size
    if replace:
        # expected number of distinct sources of 20 draws out of 50
        expected = 50 * (1 - (49 / 50) ** 20)
        assert pairs / 300 == pytest.approx(expected, rel=0.03)
    else:
        assert pairs == i.size
    # sources are uniform: each is chosen about 300 * 20 / 50 = 120 times
    chi2 = np.sum((np.bincount(i, minlength=50) - 120.0) ** 2 / 120.0)
    assert 49 - 5 * np.sqrt(98) < chi2 < 49 + 5 * np.sqrt(98)


def test_fixed_number_pre_random_n_without_self_over_size(sim):
    p = sim.Population(10, sim.IF_curr_exp())
    prj = sim.Projection(p, p, sim.FixedNumberPreConnector(
        23, allow_self_connections=False, rng=sim.NativeRNG(4)), sim.StaticSynapse())
    i, j = indices(prj)
    assert not np.any(i == j)
    # 23 out of 9 allowed sources: two full sets and 5 more, all distinct
    per_pair = np.bincount(j * 10 + i, minlength=100).reshape(10, 10)
    off_diagonal = per_pair[~np.eye(10, dtype=bool)]
    assert set(off_diagonal.tolist()) <= {2, 3}
    assert np.all(per_pair.sum(axis=1) == 23)
    q = sim.Population(400, sim.IF_curr_exp())
    rnd = sim.Projection(p, q, sim.FixedNumberPreConnector(
        RD("poisson", (4.0,), rng=sim.NativeRNG(5)), rng=sim.NativeRNG(6)), sim.StaticSynapse())
    degree = np.bincount(indices(rnd)[1], minlength=400)
    assert degree.mean() == pytest.approx(4.0, rel=0.1)
    assert degree.var() == pytest.approx(4.0, rel=0.3)


@pytest.mark.parametrize("replace", [False, True])
def test_fixed_number_post(sim, replace):
    pre, post = sim.Population(200, sim.IF_curr_exp()), sim.Population(30, sim.IF_curr_exp())
    prj = sim.Projection(pre, post, sim.FixedNumberPostConnector(
        12, with_replacement=replace, rng=sim.NativeRNG(7)), sim.StaticSynapse())
    i, j = indices(prj)
    assert np.all(np.bincount(i, minlength=200) == 12)
    if not replace:
        assert np.unique(i * 30 + j).size == i.size
    assert np.bincount(j, minlength=30).std() < 20


@pytest.mark.parametrize("replace", [False, True])
def test_fixed_total_number(sim, replace):
    p = sim.Population(40, sim.IF_curr_exp())
    prj = sim.Projection(p, p, sim.FixedTotalNumberConnector(
        1000, with_replacement=replace, allow_self_connections=False, rng=sim.NativeRNG(8)),
        sim.StaticSynapse())
    i, j = indices(prj)
    assert i.size == 1000 and not np.any(i == j)
    distinct = np.unique(i * 40 + j).size
    if replace:
        expected = 1560 * (1 - (1 - 1 / 1560) ** 1000)
        assert distinct == pytest.approx(expected, rel=0.05)
    else:
        assert distinct == 1000
    assert np.bincount(i, minlength=40).std() < 12


DISTRIBUTIONS = [
    ("uniform", (0.2, 0.6), 0.4, (0.4 ** 2) / 12),
    ("normal", (0.5, 0.1), 0.5, 0.01),
    ("lognormal", (-1.0, 0.3), np.exp(-1.0 + 0.045), (np.exp(0.09) - 1) * np.exp(-2 + 0.09)),
    ("exponential", (0.3,), 0.3, 0.09),
    ("gamma", (3.0, 0.1), 0.3, 0.03),
    ("normal_clipped", (0.3, 0.2, 0.1, 0.5), None, None),
    ("normal_clipped_to_boundary", (0.3, 0.2, 0.1, 0.5), None, None),
]


@pytest.mark.parametrize("name, params, mean, var", DISTRIBUTIONS,
                         ids=[d[0] for d in DISTRIBUTIONS])
def test_native_weight_distributions(sim, name, params, mean, var):
    pre, post = sim.Population(100, sim.IF_curr_exp()), sim.Population(100, sim.IF_curr_exp())
    syn = sim.StaticSynapse(weight=RD(name, params, rng=sim.NativeRNG(9)),
                            delay=RD("uniform", (0.1, 2.0), rng=sim.NativeRNG(10)))
    prj = sim.Projection(pre, post, sim.AllToAllConnector(), syn)
    w = np.asarray(prj.get("weight", format="list", with_address=False))
    d = np.asarray(prj.get("delay", format="list", with_address=False))
    assert w.size == 10_000
    if mean is not None:
        assert z_score(w.mean(), mean, var / w.size) < 5
        assert w.var() == pytest.approx(var, rel=0.1)
    else:
        assert w.min() >= 0.1 and w.max() <= 0.5
        if name == "normal_clipped":
            assert np.all(w > 0.1) and np.all(w < 0.5) and w.std() > 0.05
        else:
            assert np.mean(w == 0.1) == pytest.approx(0.1587, abs=0.02)
    steps = np.round(d / 0.1)
    np.testing.assert_allclose(d, steps * 0.1)
    assert steps.min() == 1 and steps.max() == 20
    assert d.mean() == pytest.approx(1.05, abs=0.03)


def test_native_values_on_fixed_probability_and_one_to_one(sim):
    pre, post = sim.Population(200, sim.IF_curr_exp()), sim.Population(200, sim.IF_curr_exp())
    syn = sim.StaticSynapse(weight=RD("normal", (1.0, 0.2), rng=sim.NativeRNG(11)), delay=1.0)
    prj = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.2, rng=sim.NativeRNG(12)), syn)
    w = np.asarray(prj.get("weight", format="list", with_address=False))
    assert w.mean() == pytest.approx(1.0, abs=0.01) and w.std() == pytest.approx(0.2, rel=0.05)
    one = sim.Projection(pre, post, sim.OneToOneConnector(), syn)
    w1 = np.asarray(one.get("weight", format="list", with_address=False))
    assert w1.size == 200 and len(np.unique(w1)) == 200


def test_native_distance_dependent(sim):
    grid = Grid2D(aspect_ratio=1.0, dx=1.0, dy=1.0)
    pre = sim.Population(400, sim.IF_curr_exp(), structure=grid)
    post = sim.Population(100, sim.IF_curr_exp(), structure=grid)
    prj = sim.Projection(pre, post, sim.DistanceDependentProbabilityConnector(
        "0.5 * (d < 3.0)", rng=sim.NativeRNG(13)), sim.StaticSynapse(weight="d / 10.0"))
    conns = np.array(prj.get(["weight"], format="list"))
    distances = np.linalg.norm(pre.positions.T[conns[:, 0].astype(int)]
                               - post.positions.T[conns[:, 1].astype(int)], axis=1)
    assert np.all(distances < 3.0)
    np.testing.assert_allclose(conns[:, 2], distances / 10.0, rtol=1e-12)
    d_all = np.linalg.norm(pre.positions.T[:, None, :] - post.positions.T[None, :, :], axis=2)
    candidates = int((d_all < 3.0).sum())
    assert z_score(len(prj), 0.5 * candidates, 0.25 * candidates) < 5


def test_native_rng_reproducible(sim):
    def build(seed):
        sim.setup(timestep=0.1, backend=sim.test_backend)
        pre, post = sim.Population(80, sim.IF_curr_exp()), sim.Population(60, sim.IF_curr_exp())
        rng = sim.NativeRNG(seed)
        syn = sim.StaticSynapse(weight=RD("uniform", (0.1, 0.3), rng=rng), delay=0.5)
        prj = sim.Projection(pre, post, sim.FixedProbabilityConnector(0.2, rng=rng), syn)
        again = sim.Projection(pre, post, sim.FixedNumberPreConnector(5, rng=rng), syn)
        return (np.array(prj.get(["weight"], format="list")),
                np.array(again.get(["weight"], format="list")))

    a, b, c = build(5), build(5), build(6)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert a[0].shape != c[0].shape or not np.array_equal(a[0], c[0])
    assert a[0].shape != a[1].shape  # the stream moves on between projections


def test_native_rng_draws_for_populations(sim):
    p = sim.Population(5000, sim.IF_curr_exp(tau_m=RD("uniform", (10.0, 20.0),
                                                      rng=sim.NativeRNG(3))))
    tau = p.get("tau_m")
    assert tau.min() >= 10.0 and tau.max() <= 20.0
    assert tau.mean() == pytest.approx(15.0, abs=0.2)


def test_unseeded_distributions_draw_in_bulk_from_the_engine(sim):
    """A RandomDistribution made without an rng cannot be reproduced anyway: the engine
    draws it (one bulk call), with the distribution's statistics and bounds."""
    from pyNN.random import NumpyRNG

    from pyNN_neurongpu.random import native_for

    assert native_for(NumpyRNG()) is not None
    assert native_for(NumpyRNG(seed=1)) is None
    pre, post = sim.Population(400, sim.IF_curr_exp()), sim.Population(300, sim.IF_curr_exp())
    weights = RD("normal_clipped", [0.1, 0.05, 0.0, np.inf])
    delays = RD("normal_clipped", [1.5, 0.75, 0.1, np.inf])
    prj = sim.Projection(pre, post, sim.FixedTotalNumberConnector(50000, rng=sim.NativeRNG(4)),
                         sim.StaticSynapse(weight=weights, delay=delays))
    w, d = (np.array(prj.get(name, format="list"))[:, 2] for name in ("weight", "delay"))
    assert w.min() >= 0 and d.min() >= 0.1
    # mean of a normal(0.1, 0.05) truncated below at 0: 0.1 + 0.05 * phi(2) / Phi(2)
    assert w.mean() == pytest.approx(0.1 + 0.05 * 0.05399 / 0.97725, rel=0.01)
    assert np.unique(w).size > 0.99 * w.size


def test_connector_without_rng(sim):
    """No rng: PyNN's default NumpyRNG(seed=151985012) on the CPU (the network pyNN.nest
    builds); the engine's NativeRNG on a GPU, where the connectivity is drawn on the device."""
    from pyNN.random import NumpyRNG

    pre, post = sim.Population(60, sim.IF_curr_exp()), sim.Population(70, sim.IF_curr_exp())
    connector = sim.FixedProbabilityConnector(0.2)
    prj = sim.Projection(pre, post, connector, sim.StaticSynapse())
    default = sim.Projection(pre, post, sim.FixedProbabilityConnector(
        0.2, rng=NumpyRNG(seed=151985012)), sim.StaticSynapse())
    same = np.array_equal(np.sort(indices(prj)[0] * 70 + indices(prj)[1]),
                          np.sort(indices(default)[0] * 70 + indices(default)[1]))
    if sim.test_backend == "gpu":
        assert isinstance(connector.rng, sim.NativeRNG)
        assert not same
    else:
        assert isinstance(connector.rng, NumpyRNG) and connector.rng.seed == 151985012
        assert same
