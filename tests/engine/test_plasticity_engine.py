"""The engine's plastic synapse groups without PyNN: structure, history, reset."""

import numpy as np
import pytest

from pyNN_neurongpu.engine import Backend, Network
from pyNN_neurongpu.engine.synapses.post_history import PostHistory


def stdp_net(post_times, pre_times=(5.0, 300.0), capacity=4):
    net = Network(Backend("cpu", seed=1), dt=0.1)
    net.stdp_history_capacity = capacity
    src = net.add_neurons("spike_source_array", 2,
                          {"spike_times": [list(pre_times), list(post_times)]})
    nrn = net.add_neurons("iaf_psc_exp", 1, {"tau_syn_E": 0.2, "tau_refrac": 1.0})
    net.connect([src.gid_start + 1], nrn.gids, 100.0, 1, "excitatory")
    pg = net.connect([src.gid_start], nrn.gids, 0.5, 10, "excitatory", model="stdp",
                     params={"A_plus": 0.05, "tau_plus": 200.0})
    return net, pg


def test_history_grows_and_keeps_entries():
    net, pg = stdp_net(list(np.arange(10.0, 200.0, 5.0)))
    net.run(3100)
    h = pg.post_history
    assert h.capacity >= 32  # 38 post spikes after the first pre spike, all needed
    assert int(h.count[0]) == 38
    times = h.window(np.arange(1))[0][0]
    np.testing.assert_allclose(times[-38:], np.arange(10.0, 200.0, 5.0) + 0.4)
    assert pg.weight[0] > 0.5
    pg.check_history()


def test_history_does_not_grow_when_nothing_is_needed():
    # the only presynaptic spike comes after all post spikes: while K+ is zero no
    # synapse needs an entry, so the ring overwrites its oldest
    net, pg = stdp_net(list(np.arange(10.0, 200.0, 5.0)), pre_times=(250.0,))
    net.run(2400)
    assert pg.post_history.capacity == 4


def test_grow_preserves_the_window():
    h = PostHistory(Backend("cpu"), np.arange(3), tau_minus=20.0, capacity=4)
    counts = np.zeros(3, dtype=np.int64)
    for k in range(7):
        counts[:] = [1, k % 2, 0]
        h.record(counts, 1.0 + k, floor=-np.inf, exact_need=lambda s: np.full(s.size, -np.inf))
    before = h.window(np.arange(3))
    assert h.capacity > 4  # every entry is "needed": the ring had to grow
    h.grow()
    after = h.window(np.arange(3))
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b[:, -a.shape[1]:])


def test_reserve_history_for_a_chunk():
    net, pg = stdp_net(list(np.arange(10.0, 40.0, 5.0)), pre_times=(5.0,))
    net.run(500)
    capacity = pg.post_history.capacity
    assert pg.reserve_history(net.step, 100)
    assert pg.post_history.capacity >= 100 + 6 + 1 > capacity


def test_reset_restarts_synapse_state_and_keeps_weights():
    net, pg = stdp_net(list(np.arange(10.0, 200.0, 5.0)))
    net.run(3100)
    learned = pg.weight.copy()
    assert pg.state["Kplus"][0] > 0
    net.reset()
    assert pg.state["Kplus"][0] == 0 and pg.state["t_last"][0] == 0
    assert int(pg.post_history.count[0]) == 0
    np.testing.assert_array_equal(pg.weight, learned)


def test_connect_checks_model_parameters():
    net = Network(Backend("cpu"), dt=0.1)
    nrn = net.add_neurons("iaf_psc_exp", 2)
    with pytest.raises(KeyError):
        net.connect(nrn.gids, nrn.gids, 0.1, 1, "excitatory", model="stdp",
                    params={"tau": 3.0})
    with pytest.raises(ValueError):
        net.connect(nrn.gids, nrn.gids, 0.1, 1, "excitatory", model="stdp",
                    params={"tau_minus": [10.0, 20.0]})
    with pytest.raises(KeyError):
        net.connect(nrn.gids, nrn.gids, 0.1, 1, "excitatory", model="no_such_model")
    assert net.plastic_groups == []
