"""A PyNN script on backend='cpu-compiled' gives backend='cpu''s Neo output (float64):
IF_cond_exp and IF_curr_alpha networks with Poisson and array sources, a DCSource, static
synapses with delays, spikes and V_m recorded, in several runs."""

import shutil

import numpy as np
import pyNN.neurongpu as sim
import pytest

pytestmark = pytest.mark.skipif(shutil.which("g++") is None, reason="no host C++ compiler")


def _script(backend, celltype):
    sim.setup(timestep=0.1, min_delay=0.5, backend=backend, precision="float64", rng_seed=11)
    rng = sim.NumpyRNG(seed=5)
    cells = sim.Population(60, celltype(), label="cells")
    noise = sim.Population(20, sim.SpikeSourcePoisson(rate=800.0))
    times = sim.Population(2, sim.SpikeSourceArray(spike_times=[5.0, 5.0, 30.0, 31.2]))
    w = 0.004 if celltype is sim.IF_cond_exp else 0.4
    sim.Projection(noise, cells, sim.FixedProbabilityConnector(0.3, rng=rng),
                   sim.StaticSynapse(weight=w, delay=sim.RandomDistribution(
                       "uniform", (0.5, 3.0), rng=rng)), receptor_type="excitatory")
    sim.Projection(times, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=w, delay=1.0))
    sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=w * (1 if celltype is sim.IF_cond_exp else -1),
                                     delay=2.0),
                   receptor_type="inhibitory")
    sim.DCSource(amplitude=0.4, start=20.0, stop=150.0).inject_into(cells[:10])
    cells.record(["spikes", "v"])
    noise.record("spikes")
    sim.run(100.0)
    cells[5:8].set(tau_m=15.0)
    sim.run(150.0)
    seg = cells.get_data().segments[0]
    spikes = [np.asarray(st) for st in seg.spiketrains]
    v = np.asarray(seg.filter(name="v")[0])
    n_noise = sum(len(st) for st in noise.get_data().segments[0].spiketrains)
    sim.end()
    return spikes, v, n_noise


@pytest.mark.parametrize("celltype", [sim.IF_cond_exp, sim.IF_curr_alpha, sim.IF_curr_exp],
                         ids=lambda c: c.__name__)
def test_compiled_backend_equals_reference(celltype):
    ref = _script("cpu", celltype)
    com = _script("cpu-compiled", celltype)
    assert sum(len(s) for s in ref[0]) > 20
    for a, b in zip(ref[0], com[0]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(com[1], ref[1], rtol=1e-12, atol=1e-12)
    assert ref[2] == com[2] > 0
