"""Pipelined steps (OPTIONS.pipeline): with every delay at least two steps and a pooled
family in the network, the spikes of step t are delivered beside the update of step t + 1.
Results must be exactly those of the unpipelined step (deliver, then update), across
chunks and runs, with spike-array sources and Poisson sources in the network."""

import numpy as np
import pytest

from pyNN_neurongpu.engine import OPTIONS, Backend, Network
from pyNN_neurongpu.engine.gpu import GpuStep
from pyNN_neurongpu.engine.models import composed_family
from tests.conftest import HAVE_GPU
from tests.equal_runs import assert_same_runs, connect_random

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not HAVE_GPU, reason="no CUDA GPU")]

FIRST_RUN = 731   # steps: seven chunks of 100 and a partial one


def build(min_delay, seed=7):
    rng = np.random.default_rng(seed)
    net = Network(Backend("gpu", "float64", seed=seed), dt=0.1)
    src = net.add_neurons("poisson_source", 300, {"rate": rng.uniform(500, 3000, 300)})
    # a spike at every step around the end of the first run, and at its very last step
    times = [np.round(np.arange(1.0, 100.0, 0.7), 1),
             np.round((FIRST_RUN - 1 - np.arange(4)) * 0.1, 1)[::-1]]
    arr = net.add_neurons("spike_source_array", 2, {"spike_times": times})
    lif = net.add_neurons("iaf_psc_exp", 300, {"tau_refrac": 2.0})
    adex = net.add_neurons(composed_family("adexp", [("excitatory", "cond_beta"),
                                                     ("inhibitory", "cond_exp")]), 400,
                           {"i_offset": rng.uniform(0.2, 0.6, 400)})
    connect_random(net, rng, 50000, first_post=302, first_cond=adex.gid_start,
                   min_delay=min_delay)
    # the array sources drive many AdEx neurons hard, with the shortest delay
    targets = adex.gid_start + np.arange(0, 400, 4)
    for s in (0, 1):
        net.connect(np.full(targets.size, arr.gid_start + s), targets,
                    weight=np.full(targets.size, 0.05), delay_steps=np.full(targets.size,
                                                                            min_delay),
                    receptor="excitatory")
    for part in (src, arr, lif, adex):
        net.record_spikes(part.group, part.local)
    recs = [net.record_state(adex.group, "v", adex.local[::3]),
            net.record_state(adex.group, "excitatory.gsyn", adex.local[::5], interval_steps=3),
            net.record_state(lif.group, "v", lif.local[:40])]
    return net, (src, arr, lif, adex), recs


def simulate(monkeypatch, pipeline, min_delay=2):
    monkeypatch.setattr(OPTIONS, "pipeline", pipeline)
    net, parts, recs = build(min_delay)
    net.run(FIRST_RUN)
    assert net.last_gpu_step.pipelined == (pipeline and min_delay >= 2)
    net.run(269)   # continues with the spikes of the first run's last step delivered
    spikes = [p.group.spike_recorder.events() for p in parts]
    return spikes, [r.data() for r in recs]


def test_pipelined_equals_unpipelined(monkeypatch):
    pipelined = simulate(monkeypatch, True)
    assert_same_runs(pipelined, simulate(monkeypatch, False))
    # spikes of the first run's last step, which its end had to deliver
    last = sum(int(np.sum(steps == FIRST_RUN - 1)) for steps, _, _ in pipelined[0])
    assert last > 0


@pytest.mark.parametrize("threads,per_sm,registers", [(32, 1, 32), (256, 3, 0)])
def test_delivery_kernel_shapes(monkeypatch, threads, per_sm, registers):
    reference = simulate(monkeypatch, False)
    for name, value in (("deliver_threads", threads), ("deliver_blocks_per_sm", per_sm),
                        ("deliver_registers", registers)):
        monkeypatch.setattr(OPTIONS, name, value)
    assert_same_runs(simulate(monkeypatch, True), reference)


def test_profile_of_a_pipelined_step(monkeypatch):
    net, parts, _ = build(2)
    net.run(50)
    for g in net.groups.values():   # as benchmarks/profile/balanced.py prepares a profile
        g.prepare()
        g.extra = g.model.prepare_run(net.backend, g, net.step)
    times = GpuStep(net, 20).profile(20)
    assert times["deliver"] > 0 and times["end_step"] > 0
    reference, ref_parts, _ = build(2)
    monkeypatch.setattr(OPTIONS, "pipeline", False)
    reference.run(70)
    for part, ref in zip(parts, ref_parts):
        assert np.array_equal(part.group.spike_recorder.events()[0],
                              ref.group.spike_recorder.events()[0])


def test_one_step_delay_is_not_pipelined(monkeypatch):
    simulate(monkeypatch, True, min_delay=1)   # asserts pipelined is False
