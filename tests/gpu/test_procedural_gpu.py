"""Procedural connectivity in the GPU step (cuda/procedural.cu): a procedural build on the
GPU gives the stored build's connections, spikes and traces, and the CPU's procedural
spikes (float64; the drive is a fixed spike array, since Poisson sources draw from other
streams on the two devices)."""

import numpy as np
import pyNN.neurongpu as sim
import pytest

from pyNN_neurongpu.engine import gpu_available
from tests.pynn.test_capacity import CONNECTORS, _native, many_projections

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not gpu_available(), reason="no CUDA GPU")]


def _run(backend, mode, connector, recurrent):
    sim.setup(timestep=0.1, backend=backend, connectivity=mode, rng_seed=5,
              precision="float64")
    drive = np.random.default_rng(11)
    times = [np.unique(np.round(drive.uniform(0.1, 100.0, 6), 1)) for _ in range(120)]
    src = sim.Population(120, sim.SpikeSourceArray(spike_times=times))
    cells = sim.Population(90, sim.IF_curr_exp())
    syn = sim.StaticSynapse(weight=_native("normal_clipped", (0.4, 0.2, 0.0, 2.0), 3),
                            delay=_native("uniform", (0.5, 3.0), 4))
    prj = sim.Projection(cells if recurrent else src, cells, connector, syn)
    if recurrent:
        sim.Projection(src, cells, sim.FixedProbabilityConnector(0.2, rng=sim.NativeRNG(9)),
                       sim.StaticSynapse(weight=0.5, delay=1.0))
    cells.record(["spikes", "v"])
    sim.run(100.0)
    net = sim.simulator.state.network
    stepped_on_gpu = net._gpu_step_possible()
    listed = np.array(prj.get(["weight", "delay"], format="list"))
    block = cells.get_data()
    spikes = [np.asarray(st) for st in block.segments[0].spiketrains]
    v = np.asarray(block.segments[0].filter(name="v")[0])
    return prj.procedural, stepped_on_gpu, listed, spikes, v


@pytest.mark.parametrize("name", sorted(CONNECTORS))
@pytest.mark.parametrize("recurrent", [False, True])
def test_gpu_procedural_equals_stored_and_cpu(name, recurrent):
    proc, on_gpu, listed_p, spikes_p, v_p = _run("gpu", "procedural", CONNECTORS[name](),
                                                 recurrent)
    assert proc and on_gpu, "the procedural projection must run in the fused GPU step"
    stored, _, listed_s, spikes_s, v_s = _run("gpu", "stored", CONNECTORS[name](), recurrent)
    assert not stored
    np.testing.assert_array_equal(listed_p, listed_s)
    assert sum(s.size for s in spikes_p) > 20
    for a, b in zip(spikes_p, spikes_s):
        np.testing.assert_array_equal(a, b)
    # atomic additions in another order: sums differ in the last bits at most
    np.testing.assert_allclose(v_p, v_s, rtol=0, atol=1e-9)
    _, _, listed_c, spikes_c, v_c = _run("cpu", "procedural", CONNECTORS[name](), recurrent)
    np.testing.assert_allclose(listed_p, listed_c, rtol=1e-12, atol=0)
    for a, b in zip(spikes_p, spikes_c):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(v_p, v_c, rtol=0, atol=1e-9)


def test_gpu_procedural_float32_rate_matches_stored():
    rates = {}
    for mode in ("procedural", "stored"):
        sim.setup(timestep=0.1, backend="gpu", connectivity=mode, rng_seed=5,
                  precision="float32")
        src = sim.Population(400, sim.SpikeSourcePoisson(rate=30.0))
        cells = sim.Population(300, sim.IF_curr_exp())
        sim.Projection(src, cells, sim.FixedProbabilityConnector(0.2, rng=sim.NativeRNG(1)),
                       sim.StaticSynapse(weight=_native("uniform", (0.1, 0.5), 2), delay=1.0))
        cells.record("spikes")
        sim.run(200.0)
        rates[mode] = sum(len(st) for st in cells.get_data().segments[0].spiketrains)
    assert rates["stored"] > 100
    assert abs(rates["procedural"] - rates["stored"]) <= 0.02 * rates["stored"]


def test_gpu_many_procedural_projections_in_one_launch():
    """Projections from one population, a view with gaps and overlapping cell sets, onto an
    Assembly of two families: the one launch's tables give the stored build's spikes and
    the CPU's."""
    flags, spikes_p, lists_p = many_projections("procedural", "gpu")
    assert all(flags) and sim.simulator.state.network._gpu_step_possible()
    _, spikes_s, lists_s = many_projections("stored", "gpu")
    _, spikes_c, _ = many_projections("procedural", "cpu")
    for a, b in zip(lists_p, lists_s):
        np.testing.assert_array_equal(a, b)
    assert sum(s.size for s in spikes_p) > 50
    for a, b, c in zip(spikes_p, spikes_s, spikes_c):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
