"""The persistent step kernel (a chunk of steps per launch, grid barriers between phases)
gives exactly what the graph-replayed launches give."""

import numpy as np
import pytest

from pyNN_neurongpu.engine import Backend, Network, gpu_step
from pyNN_neurongpu.engine.models import composed_family
from tests.conftest import HAVE_GPU
from tests.equal_runs import assert_same_runs, connect_random

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
    connect_random(net, rng, 40000, first_post=300, first_cond=700)
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
    assert_same_runs(simulate(monkeypatch, True), simulate(monkeypatch, False), atol=1e-9)
