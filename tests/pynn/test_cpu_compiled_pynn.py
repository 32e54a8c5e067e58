"""A PyNN script on backend='cpu-compiled' gives backend='cpu''s Neo output (float64):
IF_cond_exp and IF_curr_alpha networks with Poisson and array sources, a DCSource, static
synapses with delays, spikes and V_m recorded, in several runs."""

import shutil

import numpy as np
import pyNN.neurongpu as sim
import pytest

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="no host C++ compiler")


def _script(backend, celltype):
    sim.setup(timestep=0.1, min_delay=0.5, backend=backend, precision="float64", rng_seed=11)
    rng = sim.NumpyRNG(seed=5)
    cells = sim.Population(60, celltype(), label="cells")
    noise = sim.Population(20, sim.SpikeSourcePoisson(rate=800.0))
    times = sim.Population(2, sim.SpikeSourceArray(spike_times=[5.0, 5.0, 30.0, 31.2]))
    w = 0.004 if celltype is sim.IF_cond_exp else 0.4
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.3, rng=rng),
                   sim.StaticSynapse(weight=w, delay=sim.RandomDistribution(
                       "uniform", (0.5, 3.0), rng=rng)), receptor_type="excitatory")
    sim.Projection(times, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=w, delay=1.0))
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=w * (1 if celltype is sim.IF_cond_exp else -1),
                                     delay=2.0),
                   receptor_type="inhibitory")
    sim.DCSource(amplitude=0.4, start=20.0, stop=150.0).inject_into(cells[:10])
    cells.record(["spikes", "v"])
    noise.record("spikes")
    sim.run(100.0)
    cells[5:8].set(tau_m=15.0)
    sim.run(150.0)
    seg = cells.get_data().segments[0]
    spikes = [np.asarray(st) for st in seg.spiketrains]
    v = np.asarray(seg.filter(name="v")[0])
    n_noise = sum(len(st) for st in noise.get_data().segments[0].spiketrains)
    sim.end()
    return spikes, v, n_noise


@pytest.mark.parametrize("celltype", [sim.IF_cond_exp, sim.IF_curr_alpha, sim.IF_curr_exp],
                         ids=lambda c: c.__name__)
def test_compiled_backend_equals_reference(celltype):
    ref = _script("cpu", celltype)
    com = _script("cpu-compiled", celltype)
    assert sum(len(s) for s in ref[0]) > 20
    for a, b in zip(ref[0], com[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(com[1], ref[1], rtol=1e-12, atol=1e-12)
    assert ref[2] == com[2] > 0


WEIGHT_DEPENDENCES = {
    "additive": lambda: sim.AdditiveWeightDependence(w_min=0.0, w_max=0.01),
    "multiplicative": lambda: sim.MultiplicativeWeightDependence(w_min=0.0, w_max=0.01),
    "additive_potentiation_multiplicative_depression":
        lambda: sim.AdditivePotentiationMultiplicativeDepression(w_min=0.0, w_max=0.01),
    "gutig": lambda: sim.GutigWeightDependence(w_min=0.0, w_max=0.01, mu_plus=0.5,
                                               mu_minus=0.5),
}


def _stdp_script(backend, synapse):
    """PyNN's simple_STDP.py in small: array sources with time lags around a driven
    post-synaptic cell, plus a Poisson-driven population, weights read back every 1 ms
    (the script's callback) through plastic projections with delays of several steps."""
    sim.setup(timestep=0.1, min_delay=0.5, backend=backend, precision="float64", rng_seed=3)
    n = 20
    pre = sim.Population(n, sim.SpikeSourceArray(spike_times=[
        np.arange(20.0 + 1.0 * (i - n // 2), 400.0, 20.0) for i in range(n)]))
    post = sim.Population(4, sim.IF_cond_exp(tau_refrac=10.0), initial_values={"v": -60.0})
    driver = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(18.5, 400.0, 20.0)))
    noise = sim.Population(10, sim.SpikeSourcePoisson(rate=40.0))
    sim.Projection(driver, post, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.05, delay=1.5))
    plastic = [sim.Projection(pre, post, sim.AllToAllConnector(), synapse(0.005, 1.5)),
               sim.Projection(noise, post, sim.AllToAllConnector(), synapse(0.003, 0.7))]
    weights = []

    def read(t):
        weights.append(np.concatenate([p.get("weight", format="array").ravel()
                                       for p in plastic]))
        return t + 1.0
    post.record("spikes")
    sim.run(400.0, callbacks=[read])
    spikes = [np.asarray(st) for st in post.get_data().segments[0].spiketrains]
    net = sim.state.network
    sim.end()
    return spikes, np.array(weights), net


def _stdp(dependence):
    def synapse(weight, delay):
        return sim.STDPMechanism(timing_dependence=sim.SpikePairRule(
            tau_plus=20.0, tau_minus=20.0, A_plus=0.05, A_minus=0.06),
            weight_dependence=WEIGHT_DEPENDENCES[dependence](), weight=weight, delay=delay)
    return synapse


SYNAPSES = {**{name: _stdp(name) for name in WEIGHT_DEPENDENCES},
            "vogels2011": lambda w, d: sim.STDPMechanism(
                timing_dependence=sim.Vogels2011Rule(tau=20.0, eta=0.005, rho=5.0),
                weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.01),
                weight=w, delay=d),
            "tsodyks_markram": lambda w, d: sim.TsodyksMarkramSynapse(
                U=0.3, tau_rec=100.0, tau_facil=50.0, weight=10 * w, delay=d)}


@pytest.mark.parametrize("synapse", list(SYNAPSES))
def test_compiled_backend_runs_plastic_projections(synapse, monkeypatch):
    from pyNN_neurongpu.engine import network as engine_network

    reference = engine_network.run_reference

    def guarded(net, groups, n_steps):
        assert net.backend.cpu_engine == "reference", "the compiled network fell back"
        return reference(net, groups, n_steps)
    monkeypatch.setattr(engine_network, "run_reference", guarded)
    ref_spikes, ref_w, _ = _stdp_script("cpu", SYNAPSES[synapse])
    spikes, w, net = _stdp_script("cpu-compiled", SYNAPSES[synapse])
    assert net.backend.cpu_engine == "compiled"
    assert sum(len(s) for s in ref_spikes) > 40
    for a, b in zip(ref_spikes, spikes):
        np.testing.assert_array_equal(a, b)
    assert w.shape == ref_w.shape == (401, 120)   # t = 0, 1, ..., 400 ms
    np.testing.assert_allclose(w, ref_w, rtol=1e-12, atol=1e-14)   # w_max 0.01
    if synapse != "tsodyks_markram":
        assert np.mean(ref_w[-1] != ref_w[0]) > 0.5   # the weights learnt
