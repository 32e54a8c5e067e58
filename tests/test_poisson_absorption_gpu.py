"""Poisson sources with a single synapse are folded into their target's update on the GPU;
spikes and traces equal those of the unfolded step (same random draws)."""

import numpy as np
import pytest

from pyNN_neurongpu.engine import Backend, Network, gpu_step
from tests.conftest import HAVE_GPU

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU")]


def dyadic(x):
    # weights whose sums are exact in any order of addition
    return np.round(np.asarray(x) * 2**14) / 2**14


def build(seed=7):
    rng = np.random.default_rng(seed)
    net = Network(Backend("gpu", "float64", seed=seed), dt=0.1)
    n = 300
    # sources 0..n-1 drive one neuron each (absorbable, varied windows and delays);
    # sources n..n+49 are recorded; n+50..n+99 have two synapses each
    src = net.add_neurons("poisson_source", n + 100, {
        "rate": rng.uniform(2000, 9000, n + 100),
        "start": np.round(rng.uniform(0, 20, n + 100), 1),
        "duration": np.round(rng.uniform(50, 200, n + 100), 1)})
    nrn = net.add_neurons("iaf_psc_exp", n, {"tau_refrac": 2.0})
    net.connect(np.arange(n), nrn.gids, weight=dyadic(rng.uniform(0.05, 0.2, n)),
                delay_steps=rng.integers(1, 20, n), receptor="excitatory")
    rec_src = np.arange(n, n + 50)
    net.connect(rec_src, nrn.gids[:50], weight=dyadic(rng.uniform(0.05, 0.2, 50)),
                delay_steps=3, receptor="excitatory")
    twice = np.repeat(np.arange(n + 50, n + 100), 2)
    net.connect(twice, rng.choice(nrn.gids, 100), weight=-dyadic(rng.uniform(0.05, 0.2, 100)),
                delay_steps=rng.integers(1, 20, 100), receptor="inhibitory")
    pre = rng.choice(nrn.gids, 3000)
    net.connect(pre, rng.choice(nrn.gids, 3000), weight=dyadic(rng.uniform(-0.3, 0.3, 3000)),
                delay_steps=rng.integers(1, 20, 3000), receptor="excitatory")
    net.record_spikes(nrn.group, nrn.local)
    net.record_spikes(src.group, src.local[n:n + 50])
    rec = net.record_state(nrn.group, "v", nrn.local[::10])
    return net, src, nrn, rec


def simulate(monkeypatch, fuse):
    monkeypatch.setattr(gpu_step, "FUSE_POISSON", fuse)
    net, src, nrn, rec = build()
    net.run(1500)
    runner = net.last_gpu_step
    return (nrn.group.spike_recorder.events(), src.group.spike_recorder.events(),
            rec.data()[1], runner.n_absorbed)


def test_absorbed_sources_give_the_same_spikes(monkeypatch):
    (n1, s1, v1, absorbed) = simulate(monkeypatch, True)
    (n2, s2, v2, none) = simulate(monkeypatch, False)
    assert absorbed == 300 and none == 0
    assert n1[0].size > 500 and s1[0].size > 100
    for a, b in zip(n1 + s1, n2 + s2):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(v1, v2, rtol=0, atol=1e-12)


def test_all_sources_absorbed_skips_their_family(monkeypatch):
    monkeypatch.setattr(gpu_step, "FUSE_POISSON", True)
    net = Network(Backend("gpu", "float32", seed=3), dt=0.1)
    src = net.add_neurons("poisson_source", 1000, {"rate": 8000.0})
    nrn = net.add_neurons("iaf_psc_exp", 1000)
    net.connect(src.gids, nrn.gids, weight=0.1, delay_steps=15, receptor="excitatory")
    net.record_spikes(nrn.group, nrn.local)
    net.run(2000)
    runner = net.last_gpu_step
    assert runner.n_absorbed == 1000
    assert [f.group.model.name for f in runner.fused] == ["iaf_psc_exp"]
    steps = nrn.group.spike_recorder.events()[0]
    # 8 kHz x 0.1 nA into IF_curr_exp: the neurons fire, at a steady rate
    assert steps.size > 1000
