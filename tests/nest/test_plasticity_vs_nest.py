"""Plastic and stochastic synapses against pyNN.nest (tsodyks_synapse,
stdp_synapse, bernoulli_synapse)."""

import numpy as np
import pytest

pytestmark = pytest.mark.nest
ON_GRID = {"spike_precision": "on_grid"}

TRAIN = [2.0, 6.0, 9.0, 11.0, 13.5, 30.0, 32.0, 60.0, 61.0, 62.0, 63.0, 120.0]


def tm_traces(sim, backend_kw, cell_type, weight):
    sim.setup(timestep=0.1, min_delay=0.1, **backend_kw)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=TRAIN))
    cells = sim.Population(3, cell_type(tau_syn_E=[2.0, 5.0, 3.0], tau_syn_I=4.0))
    syn = sim.TsodyksMarkramSynapse(weight=weight, delay=[[1.0, 1.5, 0.7]],
                                    U=[[0.5, 0.1, 0.3]], tau_rec=[[100.0, 50.0, 800.0]],
                                    tau_facil=[[0.0, 200.0, 20.0]])
    sim.Projection(src, cells, sim.AllToAllConnector(), syn)
    inh_weight = weight if cell_type.conductance_based else -weight
    inh = sim.TsodyksMarkramSynapse(weight=inh_weight, delay=1.0, U=0.4, tau_rec=30.0,
                                    tau_facil=10.0)
    sim.Projection(src, cells, sim.AllToAllConnector(), inh, receptor_type="inhibitory")
    cells.record("v")
    sim.run(150.0)
    return cells.get_data().segments[0].filter(name="v")[0].magnitude.copy()


@pytest.mark.parametrize("cell, weight", [("IF_curr_exp", 2.0), ("IF_cond_exp", 0.05)])
def test_tsodyks_markram_traces_match_nest(sim, nest_sim, cell, weight):
    ours = tm_traces(sim, {"backend": sim.test_backend}, getattr(sim, cell), weight)
    theirs = tm_traces(nest_sim, ON_GRID, getattr(nest_sim, cell), weight)
    assert ours.shape == theirs.shape
    assert np.ptp(theirs[:, 1]) > 1.0  # the synapses do move the membrane
    np.testing.assert_allclose(ours, theirs, atol=0.01)


def stdp_weights(sim, backend_kw, weight_dependence, pre_times, post_times, delay,
                 a_plus=0.01, a_minus=0.012, w0=0.5):
    """One presynaptic train onto a neuron made to fire at `post_times` (+ 0.4 ms)
    by a strong static input, through three STDP projections of different delays;
    returns their final weights."""
    sim.setup(timestep=0.1, min_delay=0.1, **backend_kw)
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=pre_times))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=post_times))
    # a brief strong input: one spike per driver spike
    cells = sim.Population(1, sim.IF_curr_exp(tau_refrac=1.0, tau_syn_E=0.2))
    sim.Projection(driver, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=100.0, delay=0.1))
    projections = []
    for d in (delay, delay + 1.0, 0.1):
        stdp = sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=16.0, tau_minus=30.0,
                                                A_plus=a_plus, A_minus=a_minus),
            weight_dependence=weight_dependence(sim), weight=w0, delay=d)
        projections.append(sim.Projection(pre, cells, sim.AllToAllConnector(), stdp))
    sim.run(max(pre_times + post_times) + 5.0)
    return np.concatenate([np.array(p.get("weight", format="array"))[0]
                           for p in projections])


WEIGHT_DEPENDENCES = {
    "additive": lambda s: s.AdditiveWeightDependence(w_min=0.0, w_max=1.0),
    "multiplicative": lambda s: s.MultiplicativeWeightDependence(w_min=0.0, w_max=1.0),
    "add_pot_mult_dep": lambda s: s.AdditivePotentiationMultiplicativeDepression(
        w_min=0.0, w_max=1.0),
    # pyNN.nest 0.13 drops mu_plus and mu_minus (its __init__ does not pass them on),
    # so only PyNN's defaults (0.5) can be compared
    "gutig": lambda s: s.GutigWeightDependence(w_min=0.0, w_max=1.0),
}
PERIOD = np.arange(10.0, 400.0, 50.0)
PROTOCOLS = {
    "pre_before_post": (list(PERIOD), list(PERIOD + 6.0)),
    "post_before_pre": (list(PERIOD + 6.0), list(PERIOD)),
    "mixed": (list(PERIOD) + list(PERIOD + 27.0), list(PERIOD + 4.0)),
}


@pytest.mark.parametrize("dependence", sorted(WEIGHT_DEPENDENCES))
@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_stdp_final_weights_match_nest(sim, nest_sim, dependence, protocol):
    pre_times, post_times = (sorted(t) for t in PROTOCOLS[protocol])
    wd = WEIGHT_DEPENDENCES[dependence]
    ours = stdp_weights(sim, {"backend": sim.test_backend}, wd, pre_times, post_times, 2.0)
    theirs = stdp_weights(nest_sim, ON_GRID, wd, pre_times, post_times, 2.0)
    assert np.any(np.abs(theirs - 0.5) > 5e-3)  # the protocol does change the weights
    np.testing.assert_allclose(ours, theirs, rtol=0.01)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)  # in fact the same arithmetic


def test_stdp_weights_saturate_like_nest(sim, nest_sim):
    pre_times, post_times = list(PERIOD), list(PERIOD + 3.0)
    wd = WEIGHT_DEPENDENCES["additive"]
    ours = stdp_weights(sim, {"backend": sim.test_backend}, wd, pre_times, post_times, 1.0,
                        a_plus=0.2, a_minus=0.0, w0=0.9)
    theirs = stdp_weights(nest_sim, ON_GRID, wd, pre_times, post_times, 1.0, a_plus=0.2,
                          a_minus=0.0, w0=0.9)
    assert np.any(theirs == 1.0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def test_stdp_with_a_plus_zero_only_depresses(sim):
    """PyNN issue 652: A_plus = 0 is valid; only depression acts (pyNN.nest's
    lambda/alpha translation would remove depression too, so no NEST comparison)."""
    pre_times, post_times = list(PERIOD + 6.0), list(PERIOD)
    wd = WEIGHT_DEPENDENCES["additive"]
    w = stdp_weights(sim, {"backend": sim.test_backend}, wd, pre_times, post_times, 1.0,
                     a_plus=0.0, a_minus=0.01)
    assert np.all(w < 0.5)
    w_pot = stdp_weights(sim, {"backend": sim.test_backend}, wd, post_times, pre_times, 1.0,
                         a_plus=0.0, a_minus=0.0)
    np.testing.assert_array_equal(w_pot, 0.5)


def stochastic_fraction(sim, backend_kw, p, n_spikes=400):
    sim.setup(timestep=0.1, min_delay=0.1, **backend_kw)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(1.0, n_spikes * 5.0, 5.0)))
    cells = sim.Population(len(p), sim.IF_cond_exp(tau_syn_E=0.5))
    sim.Projection(src, cells, sim.AllToAllConnector(),
                   sim.SimpleStochasticSynapse(weight=0.5, delay=0.1, p=np.array([p])))
    cells.record("gsyn_exc")
    sim.run(n_spikes * 5.0)
    g = cells.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude
    arrivals = (g[1:] - g[:-1]) > 0.25  # a transmitted spike raises g by 0.5 uS at once
    return arrivals.sum(axis=0) / n_spikes


def test_stochastic_synapse_transmission_fraction(sim, nest_sim):
    p = [0.0, 0.2, 0.5, 0.8, 1.0]
    ours = stochastic_fraction(sim, {"backend": sim.test_backend}, p)
    theirs = stochastic_fraction(nest_sim, ON_GRID, p)
    n = 400
    for q, a, b in zip(p, ours, theirs):
        sigma = max(np.sqrt(q * (1 - q) / n), 1e-12)
        assert abs(a - q) <= 4 * sigma, (q, a)
        assert abs(b - q) <= 4 * sigma, (q, b)
        assert abs(a - b) <= 6 * sigma


def test_stdp_many_post_spikes_between_pre_spikes(sim, nest_sim):
    """Far more post-synaptic spikes between two presynaptic spikes than the
    history starts with (it must grow, not lose them); nonlinear potentiation
    makes their order matter."""
    pre_times = [5.0, 30.0, 150.0, 153.0]
    post_times = list(np.arange(32.0, 140.0, 2.0))
    wd = WEIGHT_DEPENDENCES["gutig"]
    ours = stdp_weights(sim, {"backend": sim.test_backend}, wd, pre_times, post_times, 1.0,
                        a_plus=0.05, a_minus=0.001)
    groups = sim.simulator.state.network.plastic_groups
    assert max(g.post_history.capacity for g in groups) > len(post_times) // 2
    theirs = stdp_weights(nest_sim, ON_GRID, wd, pre_times, post_times, 1.0, a_plus=0.05,
                          a_minus=0.001)
    assert np.all(np.abs(theirs - 0.5) > 1e-3)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)


def readback_during_run(sim, backend_kw):
    """STDP weight read after each presynaptic spike, the run split at those times."""
    sim.setup(timestep=0.1, min_delay=0.1, **backend_kw)
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0, 60.0, 110.0, 118.0]))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=[16.0, 55.0, 66.0, 114.0]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_refrac=1.0, tau_syn_E=0.2))
    sim.Projection(driver, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=100.0, delay=0.1))
    stdp = sim.STDPMechanism(sim.SpikePairRule(tau_plus=16.0, tau_minus=30.0, A_plus=0.05,
                                               A_minus=0.03),
                             sim.MultiplicativeWeightDependence(w_max=1.0), weight=0.5, delay=2.0)
    prj = sim.Projection(pre, cell, sim.AllToAllConnector(), stdp)
    weights = []
    for t in (12.0, 64.0, 112.0, 116.0, 130.0):
        sim.run_until(t)
        weights.append(prj.get("weight", format="list", with_address=False)[0])
    return np.array(weights)


def test_stdp_readback_between_runs_matches_nest(sim, nest_sim):
    ours = readback_during_run(sim, {"backend": sim.test_backend})
    theirs = readback_during_run(nest_sim, ON_GRID)
    assert np.unique(theirs).size >= 3
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def vogels_weight(sim, backend_kw, native):
    sim.setup(timestep=0.1, min_delay=0.1, **backend_kw)
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[10.0, 14.0, 40.0, 60.0, 61.0,
                                                              90.0]))
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=[12.0, 20.0, 58.0, 70.0]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_refrac=1.0, tau_syn_E=0.2))
    sim.Projection(driver, cell, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=100.0, delay=0.1))
    if native:  # NEST units (pA); alpha = 2 rho tau / 1000
        syn = sim.native_synapse_type("vogels_sprekeler_synapse")(
            weight=500.0, delay=1.0, tau=20.0, eta=10.0, alpha=0.12, Wmax=1000.0)
    else:
        syn = sim.STDPMechanism(sim.Vogels2011Rule(tau=20.0, eta=0.01, rho=3.0),
                                sim.AdditiveWeightDependence(w_max=1.0), weight=0.5, delay=1.0)
    prj = sim.Projection(pre, cell, sim.AllToAllConnector(), syn)
    sim.run(100.0)
    return prj.get("weight", format="list", with_address=False)[0]


def test_vogels2011_rule_matches_nest_vogels_sprekeler_synapse(sim, nest_sim):
    """pyNN.nest has no Vogels2011Rule: compare with NEST's model used natively (its
    post-synaptic trace uses the neuron's tau_minus, 20 ms by default, equal to tau)."""
    ours = vogels_weight(sim, {"backend": sim.test_backend}, native=False)
    theirs = vogels_weight(nest_sim, ON_GRID, native=True)
    assert abs(theirs - 0.5) > 0.01
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
