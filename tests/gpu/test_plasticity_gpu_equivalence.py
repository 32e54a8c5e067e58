"""Plastic synapses on CuPy give the same results as on NumPy (float64).

A small random recurrent network with Tsodyks-Markram and STDP synapses (every
weight dependence, heterogeneous parameters and delays) driven by spike arrays:
the GPU run must reproduce the CPU run's spikes exactly and its weights and
synapse state to rounding error, both in the array-code step on the device and
in the fused step with the plastic CUDA kernels (the default; PYNN_NEURONGPU_PLASTIC_KERNELS=0
selects the array-code step).
"""

import numpy as np
import pytest

from pyNN_neurongpu.engine import OPTIONS, Backend, Network, gpu_available
from pyNN_neurongpu.engine.gpu import GpuStep

HAVE_GPU = gpu_available()

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU")]

STDP_VARIANTS = [(0.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.4, 0.7)]


def run(device, seed=5, kernels=False, stochastic=False):
    rng = np.random.default_rng(seed)
    net = Network(Backend(device, "float64", seed=seed), dt=0.1)
    trains = [np.round(np.sort(rng.uniform(0.1, 300.0, rng.poisson(30))), 1) for _ in range(20)]
    src = net.add_neurons("spike_source_array", 20, {"spike_times": trains})
    nrn = net.add_neurons("iaf_psc_exp", 30, {"i_offset": rng.uniform(0.1, 0.8, 30)})
    groups = []

    def pairs(n):
        return (rng.integers(0, 20, n) + src.gid_start, rng.integers(0, 30, n) + nrn.gid_start)

    pre, post = pairs(200)
    groups.append(net.connect(pre, post, rng.uniform(0.1, 0.4, 200), rng.integers(1, 30, 200),
                              "excitatory", model="tsodyks_markram",
                              params={"U": rng.uniform(0.1, 0.9, 200),
                                      "tau_rec": rng.uniform(20, 500, 200),
                                      "tau_facil": rng.choice([0.0, 50.0, 500.0], 200)}))
    for mu_plus, mu_minus in STDP_VARIANTS:
        pre, post = pairs(150)
        groups.append(net.connect(pre, post, rng.uniform(0.02, 0.15, 150),
                                  rng.integers(1, 20, 150), "excitatory", model="stdp",
                                  params={"tau_plus": rng.uniform(10, 30, 150),
                                          "tau_minus": 25.0, "A_plus": 0.01, "A_minus": 0.005,
                                          "w_max": 0.3, "mu_plus": mu_plus,
                                          "mu_minus": mu_minus}))
    # recurrent STDP between the neurons themselves
    pre = rng.integers(0, 30, 300) + nrn.gid_start
    post = rng.integers(0, 30, 300) + nrn.gid_start
    groups.append(net.connect(pre, post, rng.uniform(0.01, 0.04, 300), rng.integers(1, 15, 300),
                              "excitatory", model="vogels_sprekeler",
                              params={"eta": 0.0005, "w_max": 0.05}))
    if stochastic:
        pre, post = pairs(100)
        groups.append(net.connect(pre, post, 0.2, rng.integers(1, 10, 100), "excitatory",
                                  model="simple_stochastic", params={"p": 0.5}))
    net.record_spikes(nrn.group, nrn.local)
    net.run(1)
    if device == "gpu":
        assert GpuStep.supports(net) == kernels
    net.run(2999)
    host = net.backend.to_host
    return (nrn.group.spike_recorder.events(),
            [host(g.weight) for g in groups],
            [{k: host(v) for k, v in g.state.items()} for g in groups])


@pytest.mark.parametrize("kernels", [False, True],
                         ids=["array_code", "cuda_kernels"])
def test_plastic_network_gpu_equals_cpu(kernels, monkeypatch):
    monkeypatch.setattr(OPTIONS, "plastic_kernels", kernels)
    (c_events, c_w, c_state) = run("cpu")
    (g_events, g_w, g_state) = run("gpu", kernels=kernels)
    assert c_events[0].size > 50, "the test network should make the neurons fire"
    for a, b in zip(c_events, g_events):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(c_w, g_w):
        assert not np.all(a == a[0])
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for a, b in zip(c_state, g_state):
        for name in a:
            np.testing.assert_allclose(a[name], b[name], rtol=1e-12, atol=1e-14)


def test_stochastic_synapses_on_gpu_kernels(monkeypatch):
    """Bernoulli synapses in the kernels: their draws differ from the CPU's, so the
    transmitted fraction of each synapse is compared with its p."""
    monkeypatch.setattr(OPTIONS, "plastic_kernels", True)
    net = Network(Backend("gpu", "float64", seed=3), dt=0.1)
    src = net.add_neurons("spike_source_array", 1,
                          {"spike_times": [np.arange(1.0, 2001.0, 2.0)]})
    nrn = net.add_neurons("iaf_psc_exp", 200, {"tau_syn_E": 0.5})
    pg = net.connect(np.zeros(200, dtype=np.int64) + src.gid_start, nrn.gids, 1e-3, 1,
                     "excitatory", model="simple_stochastic",
                     params={"p": np.linspace(0.0, 1.0, 200)})
    rec = net.record_state(nrn.group, "isyn_exc", nrn.local)
    net.run(20010)
    assert GpuStep.supports(net)
    i = rec.data()[1]
    arrivals = ((i[1:] - i[:-1] * np.exp(-0.1 / 0.5)) > 0.5e-3).sum(axis=0) / 1000.0
    p = net.backend.to_host(pg.params["p"])
    assert np.all(np.abs(arrivals - p) <= 5 * np.sqrt(p * (1 - p) / 1000.0) + 1e-12)
