"""Composed families (AdEx and LIF with any receptor kinds) on the GPU: the generated CUDA
update equals the reference update (float64: identical spikes for LIF; for AdEx up to the
last-bit differences of the device's exp, see assert_close_runs; the logic itself is
checked bit for bit on the host in test_composed_fragment_host.py), and float32 AdEx never
goes NaN on the GPU either."""

import numpy as np
import pytest

from pyNN_neurongpu.engine import OPTIONS, Backend, Network, gpu_available
from pyNN_neurongpu.engine.models import MODELS, composed_family
from tests.engine.test_composed_models import run_blow_up
from tests.gpu.test_engine_gpu_equivalence import run_family

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not gpu_available(), reason="no CUDA GPU")]

COMPOSITIONS = {
    "eif-cond-exp": ("adexp", [("excitatory", "cond_exp"), ("inhibitory", "cond_exp")]),
    "eif-cond-alpha": ("adexp", [("excitatory", "cond_alpha"), ("inhibitory", "cond_alpha")]),
    "adexp-exp-alpha-beta": ("adexp", [("AMPA", "cond_exp"), ("GABA", "cond_alpha"),
                                       ("NMDA", "cond_beta")]),
    "adexp-beta": ("adexp", [("AMPA", "cond_beta"), ("GABA", "cond_beta")]),
    "lif-cond": ("lif", [("AMPA", "cond_exp"), ("GABA", "cond_alpha"), ("NMDA", "cond_beta")]),
    "lif-curr": ("lif", [("AMPA", "curr_exp"), ("GABA", "curr_exp"), ("NMDA", "curr_exp")]),
}


def assert_close_runs(cpu, gpu, strict):
    """strict: identical spikes, traces to 1e-9 mV. Otherwise (AdEx: the device's exp may
    differ from NumPy's in the last bit, and a spike that reaches v_spike at the very end
    of a step can move by a step; a flipped step-size decision changes V by about the
    integration tolerance): the same spike counts within one per neuron, at least 95% of
    spikes in the same step, 99% of the samples within 1e-3 mV. (With NumPy's exp
    perturbed by one ulp in 5% of the calls, the CPU runs of these families keep every
    spike in its step and V within 0.03 mV, 99% within 4e-4 mV.)"""
    (c_steps, c_ids, c_counts), c_v = cpu
    (g_steps, g_ids, g_counts), g_v = gpu
    assert c_steps.size > 0
    if strict:
        np.testing.assert_array_equal(c_steps, g_steps)
        np.testing.assert_array_equal(c_ids, g_ids)
        np.testing.assert_array_equal(c_counts, g_counts)
        np.testing.assert_allclose(c_v, g_v, rtol=0, atol=1e-9)
        return
    n = int(max(c_ids.max(), g_ids.max())) + 1
    per_neuron = (np.bincount(c_ids, c_counts, minlength=n)
                  - np.bincount(g_ids, g_counts, minlength=n))
    assert np.abs(per_neuron).max() <= 1
    same = np.intersect1d(c_steps * n + c_ids, g_steps * n + g_ids).size
    assert same >= 0.95 * c_steps.size
    assert np.quantile(np.abs(c_v - g_v), 0.99) < 1e-3


@pytest.mark.parametrize("case", sorted(COMPOSITIONS))
def test_composed_family_gpu_equals_cpu(case):
    family = composed_family(*COMPOSITIONS[case])
    assert_close_runs(run_family("cpu", family), run_family("gpu", family),
                      strict=not MODELS[family].libm_sensitive)


def test_adex_several_spikes_per_step_gpu_equals_cpu():
    def run(device):
        net = Network(Backend(device, "float64"), dt=0.1)
        family = composed_family("adexp", [("excitatory", "cond_exp"),
                                           ("inhibitory", "cond_exp")])
        n = net.add_neurons(family, 4, {"i_offset": [200.0, 150.0, 1.0, 0.5],
                                        "tau_refrac": 0.0, "b": 0.0, "v_spike": -45.0})
        net.record_spikes(n.group, n.local)
        net.run(200)
        return n.group.spike_recorder.events()
    cpu, gpu = run("cpu"), run("gpu")
    assert cpu[2].max() > 1 and gpu[2].max() > 1
    total_cpu, total_gpu = cpu[2].sum(), gpu[2].sum()
    assert abs(int(total_cpu) - int(total_gpu)) <= 0.01 * total_cpu


@pytest.mark.parametrize("family", [composed_family("adexp", [("excitatory", "cond_exp"),
                                                              ("inhibitory", "cond_exp")])])
def test_adex_float32_blow_up_never_nan_on_gpu(family):
    recs, events = run_blow_up("gpu", family)
    for name, rec in recs.items():
        assert np.all(np.isfinite(rec.data()[1])), name
    assert set(events[1].tolist()) == {0, 1}


def _run_pooled(precision, pool, per_thread, monkeypatch):
    """700 AdEx neurons (more than a block's threads, so threads take further neurons from
    their block's pool), spike-array input on both receptors, varied drive."""
    monkeypatch.setattr(OPTIONS, "pool", pool)
    monkeypatch.setattr(OPTIONS, "pool_per_thread", per_thread)
    rng = np.random.default_rng(11)
    net = Network(Backend("gpu", precision, seed=5), dt=0.1)
    n = 700
    trains = [np.sort(rng.uniform(1.0, 300.0, 40)).round(1) for _ in range(30)]
    src = net.add_neurons("spike_source_array", len(trains), {"spike_times": trains})
    family = composed_family("adexp", [("AMPA", "cond_beta"), ("GABA", "cond_beta")])
    # cm and one time constant per neuron, the others one value for the family: both
    # kinds of reciprocal (engine/gpu/codegen.py, pooled families)
    nrn = net.add_neurons(family, n, {"i_offset": rng.uniform(0.0, 0.9, n),
                                      "cm": rng.uniform(0.2, 0.3, n),
                                      "AMPA.tau_decay": rng.uniform(1.5, 3.0, n)})
    for port, w in (("AMPA", 0.02), ("GABA", 0.01)):
        pre = rng.integers(0, len(trains), 6000) + src.gid_start
        post = rng.integers(0, n, 6000) + nrn.gid_start
        net.connect(pre, post, np.full(6000, w), rng.integers(1, 20, 6000), port)
    rec = net.record_state(nrn.group, "v", nrn.local)
    net.record_spikes(nrn.group, nrn.local)
    net.run(300)
    state = {k: net.backend.to_host(v) for k, v in nrn.group.state.items()}
    return nrn.group.spike_recorder.events(), rec.data()[1], state


@pytest.mark.parametrize("precision", ["float64", "float32"])
@pytest.mark.parametrize("per_thread", [2, 5])
def test_pooled_update_equals_one_neuron_per_thread(precision, per_thread, monkeypatch):
    """Stepping neurons from a block's pool (OPTIONS.pool) changes which thread updates a
    neuron, never the result: the same spikes, traces and state, bit for bit."""
    pooled = _run_pooled(precision, True, per_thread, monkeypatch)
    plain = _run_pooled(precision, False, per_thread, monkeypatch)
    (p_steps, p_ids, p_counts), p_v, p_state = pooled
    (q_steps, q_ids, q_counts), q_v, q_state = plain
    assert p_steps.size > 100 and np.unique(p_ids).size > 50
    np.testing.assert_array_equal(p_steps, q_steps)
    np.testing.assert_array_equal(p_ids, q_ids)
    np.testing.assert_array_equal(p_counts, q_counts)
    np.testing.assert_array_equal(p_v, q_v)
    for name in p_state:
        np.testing.assert_array_equal(p_state[name], q_state[name], err_msg=name)
