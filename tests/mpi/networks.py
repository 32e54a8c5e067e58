"""Networks run under ``mpiexec -n P`` and in one process by tests/mpi/test_mpi.py: each
writes its spikes, membrane traces and weights (gathered on rank 0) to an .npz file.

    mpiexec -n 2 python tests/mpi/networks.py numpy out.npz
"""

import os
import sys

import numpy as np

import pynn_neurongpu_alias

pynn_neurongpu_alias.install()  # where the package's .pth is not installed (a GPU machine)
import pyNN.neurongpu as sim  # noqa: E402
from pyNN.random import NumpyRNG, RandomDistribution  # noqa: E402


def build(kind: str):
    # MPI_NETWORKS_BACKEND=gpu: the same networks on the GPU (tests/mpi/test_mpi_gpu.py)
    sim.setup(timestep=0.1, min_delay="auto", rng_seed=11, precision="float64",
              backend=os.environ.get("MPI_NETWORKS_BACKEND", "cpu"))
    if kind == "local":
        return build_local()
    rng = sim.NativeRNG(5) if kind == "native" else NumpyRNG(seed=5, parallel_safe=True)
    cell = dict(tau_m=20.0, v_thresh=-52.0, i_offset=0.3)
    exc = sim.Population(40, sim.IF_curr_exp(**cell), label="exc")
    inh = sim.Population(11, sim.IF_cond_exp(tau_m=15.0, v_thresh=-53.0), label="inh")
    noise = sim.Population(17, sim.SpikeSourcePoisson(rate=60.0), label="noise")
    times = sim.Population(5, sim.SpikeSourceArray(spike_times=[[3.0, 9.5, 40.0]] * 5))
    exc.initialize(v=RandomDistribution("uniform", (-65.0, -55.0), rng=rng))
    exc.set(tau_m=RandomDistribution("uniform", (15.0, 25.0), rng=rng))
    weight = RandomDistribution("uniform", (0.2, 0.9), rng=rng)
    delay = RandomDistribution("uniform", (0.5, 3.0), rng=rng)
    projections = [
        sim.Projection(noise, exc, sim.FixedProbabilityConnector(0.3, rng=rng),
                       sim.StaticSynapse(weight=weight, delay=delay)),
        sim.Projection(times, inh, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=0.02, delay=1.0), receptor_type="excitatory"),
        sim.Projection(exc, inh, sim.FixedNumberPreConnector(6, rng=rng),
                       sim.StaticSynapse(weight=0.01, delay=delay), receptor_type="excitatory"),
        sim.Projection(inh, exc, sim.FixedProbabilityConnector(0.4, rng=rng),
                       sim.StaticSynapse(weight=-0.5, delay=1.2), receptor_type="inhibitory"),
    ]
    if kind == "stdp":
        stdp = sim.STDPMechanism(
            timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                                A_plus=0.05, A_minus=0.06),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=2.0),
            weight=weight, delay=delay)
        projections.append(sim.Projection(exc, exc, sim.FixedProbabilityConnector(
            0.15, rng=rng), stdp))
    else:
        projections.append(sim.Projection(exc, exc, sim.FixedProbabilityConnector(
            0.15, rng=rng), sim.StaticSynapse(weight=weight, delay=delay)))
    sim.DCSource(amplitude=0.4, start=20.0, stop=80.0).inject_into(exc[::3])
    sim.NoisyCurrentSource(mean=0.1, stdev=0.3, start=5.0, dt=1.0).inject_into(exc[1::4])
    return [exc, inh, noise, times], projections


def build_local():
    """Two populations driven by spike sources and connected one to one: the targets of
    each cell's spikes are on its own rank, so nothing is exchanged."""
    drive = sim.Population(30, sim.SpikeSourcePoisson(rate=300.0))
    a = sim.Population(30, sim.IF_curr_exp(tau_m=10.0))
    b = sim.Population(30, sim.IF_cond_exp())
    syn = sim.StaticSynapse(weight=1.5, delay=0.7)
    projections = [sim.Projection(drive, a, sim.AllToAllConnector(), syn),
                   sim.Projection(a, b, sim.OneToOneConnector(),
                                  sim.StaticSynapse(weight=0.05, delay=1.0)),
                   sim.Projection(b, a, sim.OneToOneConnector(),
                                  sim.StaticSynapse(weight=-0.5, delay=2.0),
                                  receptor_type="inhibitory")]
    return [a, b, drive], projections


def exchange_figures():
    """(interval in steps, intervals, bytes sent, largest bytes in one interval) of this
    rank's spike exchange (zeros in one process)."""
    ex = sim.simulator.state.network.exchange
    if ex is None:
        return (0, 0, 0, 0)
    return (ex.interval, ex.intervals, ex.bytes_sent, max(ex.interval_bytes, default=0))


def main(kind: str, path: str):
    from pyNN_neurongpu.engine import cpu
    compiled = []   # runs of the compiled CPU step (MPI_NETWORKS_BACKEND=cpu-compiled)
    run = cpu.CpuStep.run
    cpu.CpuStep.run = lambda self, n: compiled.append(n) or run(self, n)
    pops, projections = build(kind)
    for p in pops:
        p.record("spikes")
    pops[0][::7].record("v")  # cells on every rank
    sim.run(120.0)
    out = {}
    segments = [p.get_data(gather=True) for p in pops]
    sim.reset()
    sim.run(60.0)
    blocks = [p.get_data(gather=True) for p in pops]
    weights = [prj.get("weight", format="list", gather=True) for prj in projections]
    sizes = [prj.size() for prj in projections]
    exchange = sim.simulator.state.comm.allgather(exchange_figures())
    compiled = sim.simulator.state.comm.allgather(len(compiled))
    gpu_step = sim.simulator.state.network.last_gpu_step is not None
    assert sum(p.local_size for p in pops) <= sum(p.size for p in pops)
    if sim.rank() == 0:
        for i, (first, block) in enumerate(zip(segments, blocks)):
            for k, seg in enumerate(block.segments):
                trains = seg.spiketrains
                out[f"spikes_{i}_{k}"] = np.concatenate(
                    [[[int(st.annotations["source_index"]), t] for t in st.magnitude]
                     for st in trains if len(st)] or [np.zeros((0, 2))])
            if i == 0:
                out["v_0"] = block.segments[0].filter(name="v")[0].magnitude
                out["v_1"] = block.segments[1].filter(name="v")[0].magnitude
            assert len(first.segments[0].spiketrains) == pops[i].size
        for i, w in enumerate(weights):
            out[f"weights_{i}"] = np.array(sorted(map(tuple, w)))
        out["sizes"] = np.array(sizes)
        out["ranks"] = np.array([sim.num_processes()])
        out["gpu_step"] = np.array([gpu_step])
        out["compiled"] = np.array(compiled)   # per rank
    out["exchange"] = np.array(exchange)
    if sim.rank() == 0:
        np.savez(path, **out)
    sim.end()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
