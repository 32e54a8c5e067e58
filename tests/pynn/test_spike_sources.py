"""Random spike sources (Poisson, gamma, Poisson with dead time): statistics,
activity window, multiplicity, parameter changes, random streams, reset."""

import numpy as np
import pytest
from pyNN import errors


@pytest.fixture(autouse=True)
def seeded(sim):
    """A fixed seed: the statistical checks (4 sigma) give the same verdict every run."""
    sim.setup(timestep=0.1, backend=sim.test_backend, precision="float64", rng_seed=2024)


def trains(pop, segment=0):
    """Spike times per neuron (a time repeats once per multiplicity)."""
    return [st.magnitude.copy() for st in pop.get_data().segments[segment].spiketrains]


def counts(pop, segment=0):
    return np.array([t.size for t in trains(pop, segment)])


def pooled_isis(ts):
    return np.concatenate([np.diff(t) for t in ts])


def assert_poisson_count(n, expected, sigmas=4.0):
    assert abs(n - expected) < sigmas * np.sqrt(expected), (n, expected)


# -- Poisson ------------------------------------------------------------------------------

def test_poisson_rates(sim):
    rates = np.repeat([5.0, 100.0, 2000.0, 20000.0], [2000, 200, 20, 20])
    src = sim.Population(rates.size, sim.SpikeSourcePoisson(rate=rates))
    src.record("spikes")
    sim.run(200.0)
    n = counts(src)
    for rate in np.unique(rates):
        sel = rates == rate
        # 200 ms of activity: steps 1..2000 may fire (window start < s*dt <= 200)
        assert_poisson_count(n[sel].sum(), rate * 0.2 * sel.sum())


def test_poisson_20khz_delivered_to_targets(sim):
    """A 20 kHz source delivers 20 kHz: the charge its targets receive counts every spike,
    and all targets of one source see the same train as recorded."""
    src = sim.Population(2, sim.SpikeSourcePoisson(rate=20000.0, start=0.0, duration=50.0))
    # no leak, no threshold: v integrates the synaptic charge w * tau_syn / cm per spike
    cells = sim.Population(4, sim.IF_curr_exp(tau_m=1e9, v_thresh=1e9, tau_syn_E=0.2,
                                              cm=1.0, v_rest=0.0, tau_refrac=0.1))
    cells.initialize(v=0.0)
    sim.Projection(src, cells, sim.FromListConnector([(0, 0), (0, 1), (1, 2), (1, 3)]),
                   sim.StaticSynapse(weight=0.01, delay=0.5))
    src.record("spikes")
    cells.record("v")
    sim.run(60.0)
    n = counts(src)
    assert_poisson_count(n.sum(), 2 * 20000 * 0.05)
    assert min(np.unique(t, return_counts=True)[1].max() for t in trains(src)) > 1
    v = cells.get_data().segments[0].filter(name="v")[0].magnitude
    delivered = v[-1] / (0.01 * 0.2 / 1.0)
    np.testing.assert_allclose(delivered, np.repeat(n, 2), rtol=1e-5)
    np.testing.assert_array_equal(v[:, 0], v[:, 1])
    np.testing.assert_array_equal(v[:, 2], v[:, 3])


def test_poisson_isi_cv_and_independence(sim):
    src = sim.Population(300, sim.SpikeSourcePoisson(rate=50.0))
    src.record("spikes")
    sim.run(1000.0)
    ts = trains(src)
    isi = pooled_isis(ts)
    assert abs(isi.std() / isi.mean() - 1.0) < 0.05
    # counts in 10 ms bins: pairwise correlations of independent trains average ~0
    binned = np.array([np.histogram(t, bins=100, range=(0, 1000))[0] for t in ts])
    c = np.corrcoef(binned)
    off = c[~np.eye(len(ts), dtype=bool)]
    assert abs(off.mean()) < 0.005
    assert np.abs(off).max() < 0.6


def test_poisson_window_is_exact(sim):
    # rate*dt = 10: every active step fires (P(no spike) = 4.5e-5 per step and neuron)
    src = sim.Population(3, sim.SpikeSourcePoisson(rate=1e5, start=[10.0, 10.05, 5.0],
                                                   duration=[20.0, 5.0, 0.0]))
    src.record("spikes")
    sim.run(40.0)
    steps = [np.unique(np.rint(t / 0.1).astype(int)) for t in trains(src)]
    # active in steps s with start < s*dt <= start + duration, stamped (s + 1) * dt
    np.testing.assert_array_equal(steps[0], np.arange(102, 302))
    np.testing.assert_array_equal(steps[1], np.arange(102, 152))
    assert steps[2].size == 0


def test_poisson_rate_change_between_runs(sim):
    src = sim.Population(200, sim.SpikeSourcePoisson(rate=100.0))
    src.record("spikes")
    sim.run(100.0)
    src.set(rate=1000.0)
    src[0:100].set(rate=0.0)
    sim.run(100.0)
    ts = trains(src)
    first = np.array([np.sum(t <= 100.0) for t in ts])
    second = np.array([np.sum(t > 100.0) for t in ts])
    assert_poisson_count(first.sum(), 200 * 100 * 0.1)
    assert second[:100].sum() == 0
    assert_poisson_count(second[100:].sum(), 100 * 1000 * 0.1)


def test_bad_parameters_raise_and_change_nothing(sim):
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(2, sim.SpikeSourcePoisson(rate=-1.0))
    src = sim.Population(2, sim.SpikeSourcePoisson(rate=10.0))
    with pytest.raises(errors.InvalidParameterValueError):
        src.set(rate=-5.0)
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(2, sim.SpikeSourcePoisson(duration=-1.0))
    np.testing.assert_array_equal(src.get("rate"), 10.0)
    assert src.size == 2 and src._group.size == 2


# -- gamma --------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha, beta, n", [(1, 40.0, 500), (3, 150.0, 500), (6, 600.0, 200)])
def test_gamma_rate_and_cv(sim, alpha, beta, n):
    src = sim.Population(n, sim.SpikeSourceGamma(alpha=alpha, beta=beta))
    src.record("spikes")
    sim.run(1000.0)
    ts = trains(src)
    rate = beta / alpha
    total = sum(t.size for t in ts)
    # a stationary renewal process: count variance ~ mean * CV^2 (use the Poisson bound)
    assert_poisson_count(total, rate * n)
    isi = pooled_isis(ts)
    assert abs(isi.std() / isi.mean() - 1 / np.sqrt(alpha)) < 0.05


def test_gamma_high_rate_multiplicity_and_window(sim):
    src = sim.Population(50, sim.SpikeSourceGamma(alpha=2, beta=40000.0, start=5.0,
                                                  duration=20.0))
    src.record("spikes")
    sim.run(40.0)
    ts = trains(src)
    allt = np.concatenate(ts)
    assert_poisson_count(allt.size, 50 * 20000 * 0.02)
    assert allt.min() > 5.1 - 1e-9 and allt.max() < 25.1 + 1e-9
    assert max(np.unique(t, return_counts=True)[1].max() for t in ts) > 1


def test_gamma_alpha_is_whole(sim):
    # PyNN declares alpha an integer (2.5 becomes 2, as with pyNN.nest); the engine
    # rejects a shape below 1 or a fractional one
    assert sim.Population(2, sim.SpikeSourceGamma(alpha=2.5, beta=10.0)).get("alpha") == 2
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(2, sim.SpikeSourceGamma(alpha=0, beta=10.0))
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(2, sim.SpikeSourceGamma(alpha=2, beta=-10.0))
    with pytest.raises(ValueError, match="whole number"):
        sim.simulator.state.network.add_neurons("gamma_source", 1, {"alpha": 1.5})


# -- Poisson with dead time ---------------------------------------------------------------

def test_refractory_poisson_dead_time_rate_cv(sim):
    src = sim.Population(500, sim.SpikeSourcePoissonRefractory(rate=50.0, tau_refrac=5.0))
    src.record("spikes")
    sim.run(1000.0)
    ts = trains(src)
    isi = pooled_isis(ts)
    assert isi.min() >= 5.0 - 1e-9
    assert_poisson_count(sum(t.size for t in ts), 50.0 * 500)
    # intervals are tau + Exp: CV = 1 - rate * tau
    assert abs(isi.std() / isi.mean() - 0.75) < 0.04


def test_refractory_poisson_short_dead_time_high_rate(sim):
    """Dead time below dt: several spikes per step, and the rate still matches."""
    src = sim.Population(40, sim.SpikeSourcePoissonRefractory(rate=5000.0, tau_refrac=0.05))
    src.record("spikes")
    sim.run(100.0)
    ts = trains(src)
    assert_poisson_count(sum(t.size for t in ts), 5000.0 * 0.1 * 40)
    assert max(np.unique(t, return_counts=True)[1].max() for t in ts) > 1
    # at most ceil(dt / tau) = 2 spikes fit in one step
    assert max(np.unique(t, return_counts=True)[1].max() for t in ts) <= 2


def test_refractory_poisson_parameters(sim):
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(1, sim.SpikeSourcePoissonRefractory(rate=200.0, tau_refrac=5.0))
    src = sim.Population(10, sim.SpikeSourcePoissonRefractory(rate=100.0, tau_refrac=5.0,
                                                              start=20.0, duration=50.0))
    with pytest.raises(errors.InvalidParameterValueError):
        src.set(rate=300.0)     # 1/rate would be shorter than the dead time
    np.testing.assert_array_equal(src.get("rate"), 100.0)
    src.set(rate=300.0, tau_refrac=1.0)   # valid together
    src.record("spikes")
    sim.run(100.0)
    allt = np.concatenate(trains(src))
    assert allt.min() > 20.1 - 1e-9 and allt.max() < 70.1 + 1e-9
    assert_poisson_count(allt.size, 300.0 * 0.05 * 10)


# -- random streams, reset ------------------------------------------------------------------

def build_sources(sim, seed):
    sim.setup(timestep=0.1, backend=sim.test_backend, rng_seed=seed)
    pops = [sim.Population(20, sim.SpikeSourcePoisson(rate=200.0)),
            sim.Population(20, sim.SpikeSourcePoisson(rate=200.0)),
            sim.Population(20, sim.SpikeSourcePoissonRefractory(rate=200.0, tau_refrac=0.0)),
            sim.Population(20, sim.SpikeSourceGamma(alpha=1, beta=200.0))]
    for p in pops:
        p.record("spikes")
    sim.run(200.0)
    return [trains(p) for p in pops]


def same(a, b):
    return all(x.size == y.size and np.array_equal(x, y) for x, y in zip(a, b))


def test_seed_reproduces_and_streams_are_independent(sim):
    first = build_sources(sim, 1234)
    again = build_sources(sim, 1234)
    other = build_sources(sim, 4321)
    for a, b, c in zip(first, again, other):
        assert same(a, b)
        assert not same(a, c)
    # the same process in different populations or families is never the same train
    for i in range(4):
        for j in range(i + 1, 4):
            assert not any(np.array_equal(x, y) for x in first[i] for y in first[j])
    assert not any(np.array_equal(x, y) for k, x in enumerate(first[0])
                   for y in first[0][k + 1:])


def test_reset_restarts_sources(sim):
    src = sim.Population(10, sim.SpikeSourcePoisson(rate=1e5, start=2.0, duration=3.0))
    gam = sim.Population(200, sim.SpikeSourceGamma(alpha=4, beta=4000.0))
    ppd = sim.Population(200, sim.SpikeSourcePoissonRefractory(rate=1000.0, tau_refrac=0.5))
    for p in (src, gam, ppd):
        p.record("spikes")
    sim.run(10.0)
    sim.reset()
    sim.run(10.0)
    for seg in (0, 1):
        allt = np.concatenate(trains(src, seg))
        assert allt.min() == pytest.approx(2.2) and allt.max() == pytest.approx(5.1)
        for p in (gam, ppd):
            ts = trains(p, seg)
            assert_poisson_count(sum(t.size for t in ts), 1000.0 * 0.01 * 200)
            assert np.concatenate(ts).max() <= 10.0 + 1e-9
    # a new realisation after the reset, not a replay
    assert not same(trains(gam, 0), trains(gam, 1))


def test_populations_sharing_a_family_keep_their_statistics(sim):
    """Populations of one family are simulated together; each keeps its own process."""
    slow = sim.Population(300, sim.SpikeSourcePoissonRefractory(rate=50.0, tau_refrac=5.0))
    fast = sim.Population(20, sim.SpikeSourcePoissonRefractory(rate=5000.0, tau_refrac=0.05))
    plain = sim.Population(100, sim.SpikeSourcePoissonRefractory(rate=100.0, tau_refrac=0.0))
    g1 = sim.Population(100, sim.SpikeSourceGamma(alpha=1, beta=100.0))
    g2 = sim.Population(100, sim.SpikeSourceGamma(alpha=5, beta=500.0))
    for p in (slow, fast, plain, g1, g2):
        p.record("spikes")
    sim.run(500.0)
    for p, rate in ((slow, 50.0), (fast, 5000.0), (plain, 100.0), (g1, 100.0), (g2, 100.0)):
        assert_poisson_count(counts(p).sum(), rate * 0.5 * p.size)
    assert pooled_isis(trains(slow)).min() >= 5.0 - 1e-9
    cv = [np.std(i) / np.mean(i) for i in (pooled_isis(trains(g1)), pooled_isis(trains(g2)))]
    assert abs(cv[0] - 1.0) < 0.06 and abs(cv[1] - 1 / np.sqrt(5)) < 0.06


def test_renewal_sources_follow_changes_between_runs(sim):
    gam = sim.Population(200, sim.SpikeSourceGamma(alpha=2, beta=100.0))
    ppd = sim.Population(200, sim.SpikeSourcePoissonRefractory(rate=50.0, tau_refrac=10.0))
    for p in (gam, ppd):
        p.record("spikes")
    sim.run(200.0)
    gam.set(alpha=4, beta=1600.0)   # 50 Hz -> 400 Hz
    ppd.set(rate=400.0, tau_refrac=1.0)
    sim.run(200.0)
    for p, before, after in ((gam, 50.0, 400.0), (ppd, 50.0, 400.0)):
        ts = trains(p)
        assert_poisson_count(sum(np.sum(t <= 200.0) for t in ts), before * 0.2 * p.size)
        assert_poisson_count(sum(np.sum(t > 200.0) for t in ts), after * 0.2 * p.size)
    late = [t[t > 200.3] for t in trains(ppd)]
    assert pooled_isis(late).min() >= 1.0 - 1e-9
