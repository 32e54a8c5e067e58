"""Networks with array-code-only families (precise spike timing, GIF_cond_exp) for the
CPU-GPU comparisons: tests/pynn/test_spike_precision.py runs them on the CPU and on
tests/fake_cupy's GPU (NumPy underneath: equal bit for bit), tests/gpu/test_precise_gpu.py
on a real GPU. ``python tests/precise_networks.py BACKEND`` prints every network's result
as JSON."""

import json
import sys

import numpy as np

INPUT_TIMES = [1.03, 2.5, 2.5, 4.77, 8.111, 12.25, 15.0, 21.97, 30.4, 30.45]


def _result(sim, cells, record_v=True):
    block = cells.get_data().segments[0]
    out = {"spikes": [np.asarray(st.magnitude, dtype=float).tolist()
                      for st in block.spiketrains],
           "step": "reference" if sim.simulator.state.network.last_gpu_step is None
           else "fused",
           "family": cells._slice_info.group.model.name}
    if record_v:
        out["v"] = np.asarray(block.filter(name="v")[0].magnitude, dtype=float).tolist()
    return out


def lif_off_grid(sim, backend, celltype, weight):
    """Three neurons of `celltype` off-grid: one under a spike array, one under a step
    current (and the array), one under DC i_offset (and the array)."""
    sim.setup(timestep=0.1, backend=backend, spike_precision="off_grid", verbosity="error")
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=INPUT_TIMES))
    cells = sim.Population(3, celltype(tau_refrac=2.0, i_offset=[0.0, 0.0, 1.2]))
    sim.Projection(src, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=weight, delay=0.3))
    step = sim.StepCurrentSource(times=[5.05, 18.33, 26.0], amplitudes=[1.5, 0.0, 2.5])
    step.inject_into(cells[1:2])
    cells.record(["spikes", "v"])
    sim.run(40.0)
    out = _result(sim, cells)
    sim.end()
    return out


def poisson_off_grid(sim, backend):
    """Precise Poisson sources onto IF_curr_exp neurons (counter-based draws)."""
    sim.setup(timestep=0.1, backend=backend, spike_precision="off_grid", verbosity="error",
              rng_seed=7)
    src = sim.Population(20, sim.SpikeSourcePoisson(rate=200.0))
    cells = sim.Population(10, sim.IF_curr_exp())
    sim.Projection(src, cells, sim.FixedNumberPreConnector(5, rng=sim.NumpyRNG(3)),
                   sim.StaticSynapse(weight=0.4, delay=0.5))
    src.record("spikes")
    cells.record(["spikes", "v"])
    sim.run(100.0)
    out = _result(sim, cells)
    out["source_spikes"] = _result(sim, src, record_v=False)["spikes"]
    sim.end()
    return out


def gif(sim, backend):
    """GIF_cond_exp neurons under DC (escape noise, counter-based draws)."""
    sim.setup(timestep=0.1, backend=backend, verbosity="error", rng_seed=11)
    cells = sim.Population(20, sim.GIF_cond_exp(i_offset=0.9, delta_v=2.0, lambda0=10.0))
    cells.record(["spikes", "v"])
    sim.run(500.0)
    out = _result(sim, cells)
    sim.end()
    return out


def all_networks(sim, backend):
    return {
        "exp": lif_off_grid(sim, backend, sim.IF_curr_exp, 2.0),
        "delta": lif_off_grid(sim, backend, sim.IF_curr_delta, 6.0),
        "poisson": poisson_off_grid(sim, backend),
        "gif": gif(sim, backend),
        "inh_gamma": inh_gamma(sim, backend, n=10, time=300.0),
    }


if __name__ == "__main__":
    import pyNN.neurongpu as sim
    print("RESULT " + json.dumps(all_networks(sim, sys.argv[1])))


def inh_gamma(sim, backend, n=50, time=2000.0):
    """SpikeSourceInhGamma with two time bins (counter-based draws)."""
    from pyNN.parameters import Sequence
    sim.setup(timestep=0.1, backend=backend, verbosity="error", rng_seed=13)
    cells = sim.Population(n, sim.SpikeSourceInhGamma(
        a=Sequence([2.0, 4.0]), b=Sequence([0.02, 0.005]), tbins=Sequence([0.0, 1000.0])))
    cells.record("spikes")
    sim.run(time)
    out = _result(sim, cells, record_v=False)
    sim.end()
    return out
