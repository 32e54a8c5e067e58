"""Composed families (AdEx and LIF with any receptor kinds): the generated CUDA update
equals the reference update (float64: identical spikes), and float32 AdEx never goes NaN
on the GPU either."""

import numpy as np
import pytest
from test_engine_gpu_equivalence import run_family

from pyNN_neurongpu.engine import Backend, Network, gpu_available
from pyNN_neurongpu.engine.models import MODELS, composed_family

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not gpu_available(), reason="no CUDA GPU")]

COMPOSITIONS = {
    "adexp-exp-alpha-beta": ("adexp", [("AMPA", "cond_exp"), ("GABA", "cond_alpha"),
                                       ("NMDA", "cond_beta")]),
    "adexp-beta": ("adexp", [("AMPA", "cond_beta"), ("GABA", "cond_beta")]),
    "lif-cond": ("lif", [("AMPA", "cond_exp"), ("GABA", "cond_alpha"), ("NMDA", "cond_beta")]),
    "lif-curr": ("lif", [("AMPA", "curr_exp"), ("GABA", "curr_exp"), ("NMDA", "curr_exp")]),
}


@pytest.mark.parametrize("case", sorted(COMPOSITIONS))
def test_composed_family_gpu_equals_cpu(case):
    family = composed_family(*COMPOSITIONS[case])
    (c_steps, c_ids, c_counts), c_v = run_family("cpu", family)
    (g_steps, g_ids, g_counts), g_v = run_family("gpu", family)
    assert c_steps.size > 0
    np.testing.assert_array_equal(c_steps, g_steps)
    np.testing.assert_array_equal(c_ids, g_ids)
    np.testing.assert_array_equal(c_counts, g_counts)
    np.testing.assert_allclose(c_v, g_v, rtol=0, atol=1e-9)


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
    assert cpu[2].max() > 1
    for a, b in zip(cpu, gpu):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("family", [composed_family("adexp", [("excitatory", "cond_exp"),
                                                              ("inhibitory", "cond_exp")])])
def test_adex_float32_blow_up_never_nan_on_gpu(family):
    net = Network(Backend("gpu", "float32"), dt=0.1)
    model = MODELS[family]
    n = net.add_neurons(family, 2, {"delta_T": 0.5, "v_spike": 0.0, "i_offset": [2.0, 0.0]})
    src = net.add_neurons("spike_source_array", 1, {"spike_times": [np.arange(1.0, 10.0, 1.0)]})
    net.connect(src.gids, n.gids[1:], 1.0, 1, list(model.receptors)[0])
    recs = {name: net.record_state(n.group, name, n.local) for name in ("v", "w")}
    net.record_spikes(n.group, n.local)
    net.run(100)
    for name, rec in recs.items():
        assert np.all(np.isfinite(rec.data()[1])), name
    assert set(n.group.spike_recorder.events()[1].tolist()) == {0, 1}
