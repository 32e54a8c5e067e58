"""Delivery tables: packed 8-byte synapses, the unpacked fallback, device finalisation and
64-bit offsets (more than 2^31 synapses, on a GPU with the memory for it)."""

import numpy as np
import pytest

from pyNN_neurongpu.engine import Backend, Network, construction
from tests.conftest import BACKENDS, HAVE_GPU


def random_network(device, seed=3):
    rng = np.random.default_rng(seed)
    net = Network(Backend(device, "float64", seed=seed), dt=0.1)
    n_src, n_tgt = 40, 300
    times = [np.sort(rng.choice(np.arange(1, 300) * 0.1, 12, replace=False)).round(1)
             for _ in range(n_src)]
    net.add_neurons("spike_source_array", n_src, {"spike_times": times})
    tgt = net.add_neurons("iaf_psc_exp", n_tgt, {"tau_refrac": 0.5})
    n_syn = 6000
    pre = rng.integers(0, n_src, n_syn)
    post = rng.integers(0, n_tgt, n_syn) + n_src
    for receptor, sign in (("excitatory", 1.0), ("inhibitory", -0.3)):
        net.connect(pre, post, weight=sign * rng.uniform(0.5, 1.5, n_syn),
                    delay_steps=rng.integers(1, 40, n_syn), receptor=receptor)
    net.record_spikes(tgt.group, tgt.local)
    rec = net.record_state(tgt.group, "v", tgt.local[:20])
    return net, tgt, rec


def run(net, tgt, rec):
    net.run(400)
    steps, local, _ = tgt.group.spike_recorder.events()
    return steps, local, rec.data()[1]


@pytest.mark.parametrize("device", BACKENDS)
def test_packed_and_unpacked_tables_deliver_the_same(device, monkeypatch):
    net, tgt, rec = random_network(device)
    steps, local, v = run(net, tgt, rec)
    table = net._tables[tgt.group.index]
    assert table.packed and table.nbytes() == 2 * 6000 * (8 + 4) + 8 * (net.n_neurons + 1)
    monkeypatch.setattr(construction, "PACK_BITS", 0)
    net2, tgt2, rec2 = random_network(device)
    steps2, local2, v2 = run(net2, tgt2, rec2)
    assert not net2._tables[tgt2.group.index].packed
    assert steps.size > 100
    np.testing.assert_array_equal(steps, steps2)
    np.testing.assert_array_equal(local, local2)
    np.testing.assert_allclose(v, v2, rtol=0, atol=1e-12)


def test_table_groups_synapses_by_source():
    net, tgt, _ = random_network("cpu")
    net._finalise()
    table = net._tables[tgt.group.index]
    sg = net.synapse_groups
    pre = np.concatenate([g.pre for g in sg])
    assert np.array_equal(np.diff(table.offsets), np.bincount(pre, minlength=net.n_neurons))
    target, delay, port = table.decode(np, np.arange(table.n_synapses))
    # the multiset of (source, target, delay, port, weight) is the one connected
    source = np.repeat(np.arange(net.n_neurons), np.diff(table.offsets))
    got = sorted(zip(source, target, delay, port, table.weight))
    want = sorted(zip(pre, np.concatenate([g.post - 40 for g in sg]),
                      np.concatenate([g.delay for g in sg]),
                      np.repeat([0, 1], [g.size for g in sg]),
                      np.concatenate([g.weight for g in sg])))
    assert got == want


@pytest.mark.gpu
@pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU")
def test_more_than_2_31_synapses():
    """46341^2 > 2^31 all-to-all synapses: the last source's synapses lie beyond offset
    2^31; its spike must reach every target, as must the first source's."""
    import cupy

    n = 46341
    assert n * n > 2**31
    free = cupy.cuda.runtime.memGetInfo()[0] + cupy.get_default_memory_pool().free_bytes()
    if free < 66 * 2**30:
        pytest.skip(f"needs about 66 GiB of GPU memory, {free / 2**30:.0f} GiB free")
    net = Network(Backend("gpu", "float32", seed=1), dt=0.1)
    times = [[]] * n
    times[0], times[n - 1] = [0.5], [2.0]
    src = net.add_neurons("spike_source_array", n, {"spike_times": times})
    tgt = net.add_neurons("iaf_psc_delta", n, {"tau_refrac": 0.1})
    pre = cupy.repeat(cupy.arange(n, dtype=cupy.int32), n)
    post = cupy.tile(cupy.arange(n, dtype=cupy.int32) + n, n)
    net.connect(pre, post, weight=100.0, delay_steps=1, receptor="excitatory")
    del pre, post
    net.record_spikes(tgt.group, tgt.local)
    net.run(40)
    table = net._tables[tgt.group.index]
    assert table.n_synapses == n * n and table.packed
    # the last source's synapses straddle index 2^31
    assert int(table.offsets[n - 1]) < 2**31 < int(table.offsets[n])
    steps, local, _ = tgt.group.spike_recorder.events()
    assert src.size == n
    np.testing.assert_array_equal(np.bincount(local, minlength=n), np.full(n, 2))
    # sources fire in steps 4 and 19 (t = 0.5, 2.0 ms); one step of delay; targets fire then
    assert set(np.unique(steps).tolist()) == {5, 20}
