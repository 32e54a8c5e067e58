"""Neuron families built population by population (engine/growth.py): the same arrays as
one concatenation, without a copy of everything per population, and never writing into
an array handed out before."""

import numpy as np

from pyNN_neurongpu.engine import Backend, Network
from pyNN_neurongpu.engine.growth import Growing


def test_appending_equals_concatenating_and_reuses_the_buffer():
    grow, current, parts = Growing(), np.zeros(0), []
    copies = 0
    for k in range(60):
        part = np.arange(k * 7, k * 7 + 7, dtype=float)
        parts.append(part)
        before = current
        current = grow.extend(np, "x", current, part)
        copies += not np.shares_memory(before, current) and before.size > 0
        np.testing.assert_array_equal(current, np.concatenate(parts))
        np.testing.assert_array_equal(before, np.concatenate(parts[:-1]) if k else [])
    assert copies <= 12  # a new buffer about every 1.5x in size, not one per append


def test_a_replaced_array_is_not_written_into():
    grow = Growing()
    a = grow.extend(np, "x", np.zeros(0), np.ones(4))
    replaced = a * 2                      # e.g. a state array the step replaced
    b = grow.extend(np, "x", replaced, np.full(2, 5.0))
    np.testing.assert_array_equal(b, [2, 2, 2, 2, 5, 5])
    np.testing.assert_array_equal(a, [1, 1, 1, 1])


def test_many_populations_in_one_family_keep_their_values():
    net = Network(Backend("cpu", "float64"), dt=0.1)
    slices = [net.add_neurons("iaf_psc_exp", 3 + k, {"tau_m": 10.0 + k},
                              {"v": -70.0 + k}) for k in range(40)]
    group = slices[0].group
    assert group.size == sum(3 + k for k in range(40))
    for k, s in enumerate(slices):
        np.testing.assert_array_equal(group.params["tau_m"][s.offset:s.offset + s.size], 10.0 + k)
        np.testing.assert_array_equal(group.state["v"][s.offset:s.offset + s.size], -70.0 + k)
        np.testing.assert_array_equal(group.gids_dev[s.offset:s.offset + s.size],
                                      np.arange(s.gid_start, s.gid_start + s.size))
    local = net.group_of(np.arange(net.n_neurons))[1]
    np.testing.assert_array_equal(local, np.arange(group.size))


def test_the_count_of_static_synapses_follows_connect_extend_and_remove():
    net = Network(Backend("cpu", "float64"), dt=0.1)
    net.add_neurons("iaf_psc_exp", 20)

    def summed():
        return sum(sg.size for sg in net.synapse_groups)
    a = net.connect(np.arange(10), np.arange(10, 20), 0.1, 2, "excitatory")
    b = net.connect(np.arange(5), np.arange(5), 0.2, 3, "inhibitory")
    net.extend_synapses(a, np.arange(7), np.arange(13, 20), 0.3, 1)
    assert net.static_synapses == summed() == 22 and a.size == 17
    assert net.synapse_groups == [a, b]
    net.remove_synapses(b)
    assert net.static_synapses == summed() == 17
