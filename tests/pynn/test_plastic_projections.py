"""Plastic synapse types through PyNN's Projection API: parameters and state per
connection, learning visible in get('weight'), errors, reset."""

import numpy as np
import pytest
from pyNN import errors
from pyNN.random import NumpyRNG, RandomDistribution


def test_tsodyks_markram_parameters_and_state(sim):
    p1 = sim.Population(3, sim.IF_curr_exp(tau_syn_E=4.0))
    p2 = sim.Population(2, sim.IF_curr_exp(tau_syn_E=[2.0, 6.0]))
    prj = sim.Projection(p1, p2, sim.AllToAllConnector(),
                         sim.TsodyksMarkramSynapse(weight=0.2, U=0.3, tau_facil=10.0))
    prj.set(tau_rec=np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    np.testing.assert_array_equal(prj.get("tau_rec", format="array"),
                                  [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert prj.get("U", format="list", with_address=False) == [0.3] * 6
    # tau_psc follows the target's tau_syn_E, as in pyNN.nest
    np.testing.assert_array_equal(prj.get("tau_psc", format="array"), [[2.0, 6.0]] * 3)
    prj.initialize(u=0.25)
    np.testing.assert_array_equal(prj.get("u", format="array"), np.full((3, 2), 0.25))
    prj.initialize(x=RandomDistribution("uniform", (0.5, 0.9), rng=NumpyRNG(3)))
    x = prj.get("x", format="array")
    assert np.all((x >= 0.5) & (x <= 0.9)) and np.unique(x).size == 6


def test_tsodyks_markram_bad_values_raise_and_change_nothing(sim):
    p = sim.Population(2, sim.IF_cond_exp())
    prj = sim.Projection(p, p, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse(U=0.4))
    with pytest.raises(errors.InvalidParameterValueError):
        prj.set(U=np.array([[0.1, 0.2], [1.5, 0.3]]))
    assert prj.get("U", format="list", with_address=False) == [0.4] * 4
    with pytest.raises(errors.InvalidParameterValueError):
        prj.initialize(y=0.5, x=0.8)  # x + y > 1
    with pytest.raises(errors.ConnectionError):
        sim.Projection(p, p, sim.AllToAllConnector(), sim.TsodyksMarkramSynapse(tau_rec=-1.0))
    with pytest.raises(errors.NonExistentParameterError):
        prj.get("tau_plus", format="list")


def tm_run(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0, 4.0, 6.0, 8.0]))
    cell = sim.Population(1, sim.IF_cond_exp(tau_syn_E=5.0))
    prj = sim.Projection(src, cell, sim.AllToAllConnector(),
                         sim.TsodyksMarkramSynapse(weight=0.01, U=0.5, tau_rec=50.0,
                                                   delay=1.0))
    cell.record("gsyn_exc")
    return prj, cell


def test_tsodyks_markram_depresses_and_reset_restarts(sim):
    prj, cell = tm_run(sim)
    prj.initialize(u=0.1)
    sim.run(20.0)
    sim.reset()
    assert prj.get("u", format="list", with_address=False) == [0.1]
    sim.run(20.0)
    first, second = (seg.filter(name="gsyn_exc")[0].magnitude[:, 0]
                     for seg in cell.get_data().segments)
    np.testing.assert_array_equal(first, second)
    jumps = first[1:] - first[:-1] * np.exp(-0.1 / 5.0)
    arrivals = np.nonzero(jumps > 1e-12)[0]
    np.testing.assert_array_equal(arrivals, [29, 49, 69, 89])  # at 3, 5, 7, 9 ms
    assert np.all(np.diff(jumps[arrivals]) < 0)  # each PSC smaller than the last


def stdp_projection(sim, **timing):
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0, 40.0]))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=[20.0]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_refrac=1.0, tau_syn_E=0.2))
    sim.Projection(driver, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=100.0, delay=0.1))
    return pre, cell


def test_stdp_learning_is_visible_in_get_and_set_overrides_it(sim):
    pre, cell = stdp_projection(sim)
    stdp = sim.STDPMechanism(sim.SpikePairRule(tau_plus=20.0, A_plus=0.1, A_minus=0.05),
                             sim.MultiplicativeWeightDependence(w_max=2.0), weight=1.0,
                             delay=1.0)
    prj = sim.Projection(pre, cell, sim.AllToAllConnector(), stdp)
    assert prj.get("weight", format="list", with_address=False) == [1.0]
    sim.run(50.0)
    # potentiation by the post spike at 20.4 ms (seen at 21.4), read at the pre spike at 40
    expected = 1.0 + 0.1 * (2.0 - 1.0) * np.exp((10.0 - 21.4) / 20.0)
    w = prj.get("weight", format="list", with_address=False)[0]
    assert w < expected and w > 1.0  # then depression by K-(39 ms)
    np.testing.assert_allclose(
        w, expected - 0.05 * expected * np.exp(-(39.0 - 20.4) / 20.0), rtol=1e-12)
    assert prj.get("mu_plus", format="list", with_address=False) == [1.0]
    prj.set(weight=0.3)
    assert prj.get("weight", format="list", with_address=False) == [0.3]


def test_vogels_sprekeler_rule(sim):
    pre, cell = stdp_projection(sim)
    stdp = sim.STDPMechanism(sim.Vogels2011Rule(tau=20.0, eta=0.01, rho=3.0),
                             sim.AdditiveWeightDependence(w_max=1.0), weight=0.5, delay=1.0)
    prj = sim.Projection(pre, cell, sim.AllToAllConnector(), stdp)
    sim.run(50.0)
    alpha = 2 * 3.0 * 20.0 / 1000.0
    w = 0.5 - alpha * 0.01                                 # pre spike at 10: depression only
    w += 0.01 * np.exp((10.0 - 21.4) / 20.0)               # post spike at 20.4 (+1 ms)
    w += 0.01 * np.exp(-(39.0 - 20.4) / 20.0) - alpha * 0.01  # pre spike at 40
    np.testing.assert_allclose(prj.get("weight", format="list", with_address=False)[0], w,
                               rtol=1e-12)


def test_stdp_errors(sim):
    p = sim.Population(3, sim.IF_curr_exp())
    with pytest.raises(NotImplementedError):
        sim.STDPMechanism(sim.SpikePairRule(), sim.AdditiveWeightDependence(),
                          dendritic_delay_fraction=0.5)
    rule = sim.SpikePairRule(tau_minus=RandomDistribution("uniform", (10.0, 30.0),
                                                          rng=NumpyRNG(1)))
    with pytest.raises(errors.ConnectionError):
        sim.Projection(p, p, sim.AllToAllConnector(),
                       sim.STDPMechanism(rule, sim.AdditiveWeightDependence()))
    prj = sim.Projection(p, p, sim.AllToAllConnector(),
                         sim.STDPMechanism(sim.SpikePairRule(),
                                           sim.AdditiveWeightDependence(w_max=0.5)))
    with pytest.raises(errors.InvalidParameterValueError):
        prj.set(tau_minus=np.arange(9.0).reshape(3, 3) + 1.0)
    with pytest.raises(errors.InvalidParameterValueError):
        prj.set(w_min=1.0)  # above w_max
    assert prj.get("w_min", format="list", with_address=False) == [0.0] * 9


def test_plastic_projection_save(sim, tmp_path):
    p = sim.Population(2, sim.IF_cond_exp())
    prj = sim.Projection(p, p, sim.OneToOneConnector(),
                         sim.TsodyksMarkramSynapse(weight=0.1, U=[[0.2, 0.0], [0.0, 0.7]]))
    path = tmp_path / "tm.txt"
    prj.save(["weight", "U"], str(path), format="list")
    rows = np.loadtxt(path)
    np.testing.assert_allclose(rows, [[0, 0, 0.1, 0.2], [1, 1, 0.1, 0.7]])


def test_simple_stochastic_synapse_seeded_draws_repeat(sim):
    def run(seed):
        sim.setup(timestep=0.1, backend=sim.test_backend, rng_seed=seed)
        src = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(1.0, 200.0, 2.0)))
        cells = sim.Population(3, sim.IF_cond_exp())
        sim.Projection(src, cells, sim.AllToAllConnector(),
                       sim.SimpleStochasticSynapse(weight=0.01, p=0.5))
        cells.record("gsyn_exc")
        sim.run(200.0)
        return cells.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude
    a, b, c = run(5), run(5), run(6)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a[:, 0], a[:, 1])  # each synapse draws its own


def test_empty_plastic_projection(sim):
    p = sim.Population(3, sim.IF_curr_exp())
    prj = sim.Projection(p, p, sim.FixedProbabilityConnector(0.0),
                         sim.TsodyksMarkramSynapse(U=0.2))
    assert len(prj) == 0
    assert prj.get(["weight", "U", "u"], format="list") == []
    sim.run(1.0)


def test_stochastic_tsodyks_markram_release_statistics(sim):
    """Regular spikes (interval 10 ms), no facilitation: per spike a depleted site
    recovers with q = 1 - exp(-10/tau_rec) and a ready site releases with U, so the
    stationary release probability is U (pi + (1 - pi) q), pi = (1 - U) q / (1 - (1 - U)(1 - q))."""
    U, tau_rec, n_syn, n_spikes = 0.6, 20.0, 300, 100
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(1.0, 10.0 * n_spikes,
                                                                        10.0)))
    cells = sim.Population(n_syn, sim.IF_curr_exp(tau_syn_E=0.5))
    prj = sim.Projection(src, cells, sim.AllToAllConnector(),
                         sim.StochasticTsodyksMarkramSynapse(weight=0.5, U=U, tau_rec=tau_rec,
                                                             delay=0.1))
    cells.record("isyn_exc")
    sim.run(10.0 * n_spikes)
    g = cells.get_data().segments[0].filter(name="isyn_exc")[0].magnitude
    released = (g[1:] - g[:-1]) > 0.25
    q = 1 - np.exp(-10.0 / tau_rec)
    pi = (1 - U) * q / (1 - (1 - U) * (1 - q))
    expected = U * (pi + (1 - pi) * q)
    fraction = released[:, :].sum() / (n_syn * n_spikes)
    assert abs(fraction - expected) < 0.02, (fraction, expected)
    assert abs(fraction - U) > 0.1  # depletion shows
    first = released[np.nonzero(released.any(axis=1))[0][0]]
    assert abs(first.mean() - U) < 0.1  # the first spike finds every site recovered
    np.testing.assert_array_equal(prj.get("u", format="list", with_address=False),
                                  [U] * n_syn)


def test_stdp_weights_must_not_be_negative(sim):
    """Current-based inhibitory STDP (negative weights) is refused, as NEST refuses it."""
    p = sim.Population(2, sim.IF_curr_exp())
    stdp = sim.STDPMechanism(sim.SpikePairRule(), sim.AdditiveWeightDependence(), weight=-0.1)
    with pytest.raises(errors.ConnectionError, match="must not be negative"):
        sim.Projection(p, p, sim.AllToAllConnector(), stdp, receptor_type="inhibitory")
    assert sim.simulator.state.network.plastic_groups == []
