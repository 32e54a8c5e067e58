"""A balanced random network of N neurons, 80% excitatory and 20% inhibitory, each
receiving 1000 recurrent connections (800 excitatory, 200 inhibitory; FixedNumberPre with
replacement, NEST's fixed_indegree)
and its own Poisson drive: the seed paper's AdEx and Izhikevich benchmark networks
(Golosio et al. 2021), in plain PyNN.

Models:
  adex        PointNeuron(AdExp, AMPA=CondBeta, GABA=CondBeta), the multisynapse AdEx
              neuron (NEST's aeif_cond_beta_multisynapse)
  izhikevich  Izhikevich neurons, regular spiking (excitatory) and fast spiking
              (inhibitory), with voltage-jump synapses

Run with any PyNN backend (the simulator name comes first)::

    python balanced_network.py neurongpu --n 100000 --model adex --time 1000
    python balanced_network.py nest --n 10000 --model izhikevich
"""

from __future__ import annotations

import argparse
import importlib
import time

from pyNN.random import NumpyRNG

K_E, K_I = 800, 200           # recurrent in-degrees
DELAY = 1.5                    # ms

ADEX = dict(cm=0.281, tau_m=9.3667, v_rest=-70.6, v_reset=-60.0, v_thresh=-50.4,
            v_spike=-40.0, delta_T=2.0, a=4.0, b=0.0805, tau_w=144.0, tau_refrac=2.0)
AMPA = dict(e_syn=0.0, tau_rise=0.2, tau_decay=2.0)
GABA = dict(e_syn=-85.0, tau_rise=0.5, tau_decay=8.0)
# conductance weights (uS) and the Poisson drive (Hz per neuron)
ADEX_W = dict(exc=0.0005, inh=0.003, ext=0.0015, ext_rate=7000.0)

IZH_EXC = dict(a=0.02, b=0.2, c=-65.0, d=8.0)
IZH_INH = dict(a=0.1, b=0.2, c=-65.0, d=2.0)
# voltage jumps (mV) and the Poisson drive (Hz per neuron)
IZH_W = dict(exc=0.12, inh=-0.6, ext=0.9, ext_rate=3000.0)


def build_network(sim, n: int, model: str = "adex", seed: int = 1, record: bool = True,
                  recurrent: bool = True, drive: bool = True):
    """Create the network on `sim` (a PyNN backend module, after setup()); returns
    (excitatory, inhibitory) populations. `recurrent` and `drive` leave out the recurrent
    connections or the Poisson drive (for profiling)."""
    n_exc = int(round(0.8 * n))
    n_inh = n - n_exc
    if model == "adex":
        def cell(_params):
            return sim.PointNeuron(sim.AdExp(**ADEX),
                                   AMPA=sim.CondBetaPostSynapticResponse(**AMPA),
                                   GABA=sim.CondBetaPostSynapticResponse(**GABA))
        exc = sim.Population(n_exc, cell(None), label="E")
        inh = sim.Population(n_inh, cell(None), label="I")
        weights, receptors = ADEX_W, ("AMPA", "GABA")
        for pop in (exc, inh):
            pop.initialize(v=sim.RandomDistribution("uniform", (-70.0, -52.0),
                                                    rng=NumpyRNG(seed + 7)))
    elif model == "izhikevich":
        exc = sim.Population(n_exc, sim.Izhikevich(**IZH_EXC), label="E")
        inh = sim.Population(n_inh, sim.Izhikevich(**IZH_INH), label="I")
        weights, receptors = IZH_W, ("excitatory", "inhibitory")
        for pop in (exc, inh):
            pop.initialize(v=sim.RandomDistribution("uniform", (-70.0, -60.0),
                                                    rng=NumpyRNG(seed + 7)))
    else:
        raise ValueError(f"unknown model {model!r}")
    rng = connection_rng(sim, seed)
    for target in (exc, inh) if recurrent else ():
        sim.Projection(exc, target, sim.FixedNumberPreConnector(K_E, with_replacement=True,
                                                                rng=rng),
                       sim.StaticSynapse(weight=weights["exc"], delay=DELAY),
                       receptor_type=receptors[0])
        sim.Projection(inh, target, sim.FixedNumberPreConnector(K_I, with_replacement=True,
                                                                rng=rng),
                       sim.StaticSynapse(weight=weights["inh"], delay=DELAY),
                       receptor_type=receptors[1])
    for target in (exc, inh) if drive else ():
        source = sim.Population(target.size, sim.SpikeSourcePoisson(rate=weights["ext_rate"]))
        sim.Projection(source, target, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=weights["ext"], delay=DELAY),
                       receptor_type=receptors[0])
    if record:
        exc.record("spikes")
        inh.record("spikes")
    return exc, inh


def connection_rng(sim, seed: int):
    """pyNN.neurongpu's NativeRNG (connectivity drawn on the device); a NumpyRNG elsewhere
    (pyNN.nest 0.13's FixedNumberPreConnector cannot take its NativeRNG)."""
    if sim.__name__.endswith("neurongpu"):
        return sim.NativeRNG(seed)
    return NumpyRNG(seed)


def mean_rate(populations, duration_ms: float) -> float:
    """Mean firing rate (Hz) over all neurons of `populations`."""
    spikes = 0
    for p in populations:
        trains = p.get_data("spikes").segments[0].spiketrains
        if getattr(trains, "_spike_time_array", None) is not None:
            spikes += len(trains.multiplexed[1])   # no SpikeTrain object per neuron
        else:
            spikes += sum(len(st) for st in trains)
    return spikes / sum(p.size for p in populations) / (duration_ms / 1000.0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("simulator", help="PyNN backend, e.g. neurongpu or nest")
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--model", default="adex", choices=("adex", "izhikevich"))
    parser.add_argument("--time", type=float, default=1000.0, help="ms")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sim = importlib.import_module(f"pyNN.{args.simulator}")
    t0 = time.perf_counter()
    sim.setup(timestep=0.1, min_delay=0.1)
    exc, inh = build_network(sim, args.n, args.model, args.seed)
    sim.run(0.1)
    t1 = time.perf_counter()
    sim.run(args.time)
    t2 = time.perf_counter()
    print(f"{args.model} network, {args.n} neurons: time to first step {t1 - t0:.2f} s "
          f"(setup, construction, finalisation, compilation), then {args.time:g} ms in "
          f"{t2 - t1:.2f} s, RTF {(t2 - t1) / (args.time / 1000.0):.3f}; "
          f"rates E {mean_rate([exc], args.time):.2f} Hz, I {mean_rate([inh], args.time):.2f} Hz")
    sim.end()


if __name__ == "__main__":
    main()
