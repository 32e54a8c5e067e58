"""The persistent step kernel (a chunk of steps per launch, grid barriers between phases)
gives exactly what the graph-replayed launches give."""

import numpy as np
import pytest

from pyNN_neurongpu.engine import Backend, Network, gpu_step
from pyNN_neurongpu.engine.models import composed_family
from tests.conftest import HAVE_GPU

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU")]


def build(seed=5):
    rng = np.random.default_rng(seed)
    net = Network(Backend("gpu", "float64", seed=seed), dt=0.1)
    src = net.add_neurons("poisson_source", 300, {"rate": rng.uniform(500, 3000, 300)})
    exc = net.add_neurons("iaf_psc_exp", 400, {"tau_refrac": 2.0})
    cond = net.add_neurons("iaf_cond_exp", 100)
    # a pooled family (kernels.POOL): its blocks share a pool of neurons per virtual block
    adex = net.add_neurons(composed_family("adexp", [("excitatory", "cond_exp"),
                                                     ("inhibitory", "cond_exp")]), 200,
                           {"i_offset": rng.uniform(0.2, 0.6, 200)})
    n = net.n_neurons
    pre = rng.integers(0, n, 40000)
    post = rng.integers(300, n, 40000)
    is_cond = post >= 700
    w = np.where(is_cond, rng.uniform(0.0, 0.002, pre.size), rng.uniform(0.0, 0.6, pre.size))
    # dyadic weights: sums into a ring slot are exact in any order of the atomic additions
    w = np.round(w * 2**16) / 2**16
    exc_syn = rng.random(pre.size) < 0.8
    delay = rng.integers(1, 30, pre.size)
    net.connect(pre[exc_syn], post[exc_syn], weight=w[exc_syn], delay_steps=delay[exc_syn],
                receptor="excitatory")
    inh = ~exc_syn
    net.connect(pre[inh], post[inh], weight=np.where(is_cond, 2 * w, -2 * w)[inh],
                delay_steps=delay[inh], receptor="inhibitory")
    for part in (src, exc, cond, adex):
        net.record_spikes(part.group, part.local)
    recs = [net.record_state(exc.group, "v", exc.local[:50]),
            net.record_state(cond.group, "gsyn_exc", cond.local[::7], interval_steps=3),
            net.record_state(adex.group, "v", adex.local[::5])]
    return net, (src, exc, cond, adex), recs


def simulate(monkeypatch, persistent):
    monkeypatch.setattr(gpu_step, "PERSISTENT", persistent)
    net, parts, recs = build()
    net.run(730)   # chunks of 100 steps and a partial one
    net.run(270)   # a second run continues the first
    assert net.last_gpu_step.persistent == persistent
    spikes = [p.group.spike_recorder.events() for p in parts]
    return spikes, [r.data() for r in recs]


def test_persistent_equals_graph_replay(monkeypatch):
    spikes_p, traces_p = simulate(monkeypatch, True)
    spikes_g, traces_g = simulate(monkeypatch, False)
    total = 0
    for (s1, l1, m1), (s2, l2, m2) in zip(spikes_p, spikes_g):
        np.testing.assert_array_equal(s1, s2)
        np.testing.assert_array_equal(l1, l2)
        np.testing.assert_array_equal(m1, m2)
        total += s1.size
    assert total > 1000
    for (t1, v1), (t2, v2) in zip(traces_p, traces_g):
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_allclose(v1, v2, rtol=0, atol=1e-9)
