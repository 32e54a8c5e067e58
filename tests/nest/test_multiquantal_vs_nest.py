"""MultiQuantalSynapse: NEST quantal_stp_synapse semantics. The release is random, so the
deterministic limits are checked exactly and the release statistics against NEST's own."""

import numpy as np
import pytest
from pyNN import errors

N_TARGETS, N_SPIKES, ISI, DELAY = 1000, 20, 20.0, 1.0
SYNAPSE = {"U": 0.3, "n": 5, "tau_rec": 80.0, "tau_facil": 30.0}


def released_sites(sim, synapse, initial=None, n_targets=N_TARGETS, n_spikes=N_SPIKES):
    """(spike, target) sites released, from the jumps of each target's accumulated
    synaptic current (weight 1 nA, tau_syn_E so long that nothing decays)."""
    times = np.arange(1, n_spikes + 1) * ISI
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
    tgt = sim.Population(n_targets, sim.IF_curr_exp(tau_syn_E=1e9, v_thresh=1e9))
    prj = sim.Projection(src, tgt, sim.AllToAllConnector(),
                         sim.MultiQuantalSynapse(weight=1.0, delay=DELAY, **synapse))
    if initial:
        prj.initialize(**initial)
    tgt.record("isyn_exc")
    sim.run(times[-1] + 5.0)
    isyn = tgt.get_data().segments[0].filter(name="isyn_exc")[0].magnitude
    t = np.arange(isyn.shape[0]) * sim.get_time_step()
    arrival = times + DELAY
    after = np.searchsorted(t, arrival + 0.5)
    before = np.searchsorted(t, arrival - 0.5)
    return np.rint(isyn[after] - isyn[before]).astype(int)


def test_deterministic_limit(sim):
    """U = 1 and instant recovery: from the second spike on every site releases at every
    spike; the first spike meets NEST's initial state (u = 0.5, one available site)."""
    sites = released_sites(sim, {"U": 1.0, "n": 3, "tau_rec": 1e-6, "tau_facil": 0.0},
                           n_targets=200, n_spikes=6)
    assert set(np.unique(sites[0])) <= {0, 1} and 40 < sites[0].sum() < 160
    assert np.all(sites[1:] == 3)


def test_initialize_sets_the_state(sim):
    sites = released_sites(sim, {"U": 1.0, "n": 4, "tau_rec": 1e-6, "tau_facil": 0.0},
                           initial={"u": 1.0, "a": 4}, n_targets=50, n_spikes=3)
    assert np.all(sites == 4)


def test_no_recovery_depletes(sim):
    """tau_rec so long that no site recovers: a synapse releases its one available site
    at most once."""
    sites = released_sites(sim, {"U": 1.0, "n": 5, "tau_rec": 1e12, "tau_facil": 0.0},
                           n_targets=200, n_spikes=5)
    assert np.all(sites.sum(axis=0) <= 1) and np.all(sites[1:].sum(axis=0) == 1 - sites[0])


@pytest.mark.parametrize("bad,message", [({"U": 1.5}, "U must be in"), ({"n": -1}, "n must be"),
                                         ({"tau_rec": 0.0}, "tau_rec must be positive"),
                                         ({"tau_facil": -1.0}, "tau_facil must not be")])
def test_bad_parameters_are_refused(sim, bad, message):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    tgt = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError, match=message):
        sim.Projection(src, tgt, sim.AllToAllConnector(),
                       sim.MultiQuantalSynapse(**{**SYNAPSE, **bad}))
    assert sim.Projection(src, tgt, sim.AllToAllConnector(),
                          sim.MultiQuantalSynapse(**SYNAPSE)).size() == 2


def nest_released_sites(nest, seed):
    """The same experiment in NEST directly (pyNN.nest 0.13 cannot record iaf_psc_exp's
    synaptic current from NEST 3.10): iaf_psc_delta targets, whose V jumps by the weight."""
    nest.ResetKernel()
    nest.set(resolution=0.1, rng_seed=seed)
    times = np.arange(1, N_SPIKES + 1) * ISI
    gen = nest.Create("spike_generator", params={"spike_times": times})
    parrot = nest.Create("parrot_neuron")
    tgt = nest.Create("iaf_psc_delta", N_TARGETS,
                      params={"tau_m": 1e9, "V_th": 1e9, "E_L": 0.0, "V_m": 0.0})
    nest.Connect(gen, parrot, syn_spec={"delay": 0.1})
    nest.Connect(parrot, tgt, syn_spec={"synapse_model": "quantal_stp_synapse",
                                        "tau_fac": SYNAPSE["tau_facil"], "U": SYNAPSE["U"],
                                        "n": SYNAPSE["n"], "tau_rec": SYNAPSE["tau_rec"],
                                        "weight": 1.0, "delay": DELAY})
    mm = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.1})
    nest.Connect(mm, tgt)
    nest.Simulate(times[-1] + 5.0)
    ev = mm.events
    order = np.lexsort((ev["senders"], ev["times"]))
    v = ev["V_m"][order].reshape(-1, N_TARGETS)
    t = np.unique(ev["times"])
    arrival = times + 0.1 + DELAY
    after, before = np.searchsorted(t, arrival + 0.5), np.searchsorted(t, arrival - 0.5)
    return np.rint(v[after] - v[before]).astype(int)


@pytest.mark.nest
def test_release_statistics_match_nest(sim, nest_module):
    import nest
    ours = np.concatenate([released_sites(sim, SYNAPSE)], axis=1)
    sim.setup(timestep=0.1, backend=sim.test_backend, rng_seed=11)
    ours = np.concatenate([ours, released_sites(sim, SYNAPSE)], axis=1)
    theirs = np.concatenate([nest_released_sites(nest, s) for s in (1, 2)], axis=1)
    assert theirs.mean() > 0.3   # the synapses do release
    # per spike: the mean release (depression and facilitation over the train)
    se = np.sqrt(ours.var(axis=1) / ours.shape[1] + theirs.var(axis=1) / theirs.shape[1])
    z = (ours.mean(axis=1) - theirs.mean(axis=1)) / np.maximum(se, 1e-12)
    assert np.all(np.abs(z) < 4.5), z.round(1)
    # the distribution of sites released per spike, over the train
    for k in range(SYNAPSE["n"] + 1):
        p, q = np.mean(ours == k), np.mean(theirs == k)
        tol = 4.5 * np.sqrt(p * (1 - p) / ours.size + q * (1 - q) / theirs.size) + 1e-3
        assert abs(p - q) < tol, (k, p, q)
