"""The Potjans & Diesmann (2014) cortical microcircuit as a plain PyNN script.

Eight populations (excitatory and inhibitory cells of layers 2/3, 4, 5 and 6) of
current-based LIF neurons (IF_curr_exp), about 77,000 cells and 3e8 synapses at
full scale, connected with the layer- and type-specific connection probabilities
of the model, driven by Poisson background input (or its mean as a DC) and,
optionally, a thalamic pulse.

Reference: Potjans TC, Diesmann M (2014) The cell-type specific cortical
microcircuit: relating structure and activity in a full-scale spiking network
model. Cerebral Cortex 24(3):785-806, doi:10.1093/cercor/bhs358. The scaling
rules follow NEST's documentation of the model; see pd14_params.py.

Usage (the simulator is the first argument, PyNN's convention)::

    python microcircuit.py neurongpu --scale 0.05 --time 1000
    python microcircuit.py nest --scale 0.05 --time 1000

Run ``python microcircuit.py neurongpu --help`` for the options.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from pd14_params import (
    BG_RATE,
    DELAY_LOW_STEPS,
    DELAY_REL_SD,
    EXCITATORY,
    N_THALAMUS,
    NEURON_PARAMS,
    POISSON_DELAY,
    POPULATIONS,
    TH_DELAY,
    TH_DURATION,
    TH_RATE,
    TH_RELAY_DELAY,
    TH_START,
    V0_OPTIMIZED,
    V0_ORIGINAL,
    W_REL_SD,
    ScaledModel,
    scaled_model,
)
from pyNN.random import NumpyRNG, RandomDistribution


@dataclass
class Microcircuit:
    """A built network: populations by name, projections by (target, source) name."""
    model: ScaledModel
    populations: dict = field(default_factory=dict)
    projections: dict = field(default_factory=dict)
    background: dict = field(default_factory=dict)  # population name -> (sources, projection)
    thalamus: object = None
    thalamic_projections: dict = field(default_factory=dict)
    build_time: float = 0.0


def make_rng(sim, seed, native=False):
    """NumpyRNG(seed), or the backend's NativeRNG(seed) where asked for and provided."""
    if native:
        native_rng = getattr(sim, "NativeRNG", None)
        if sim.__name__ == "pyNN.nest":
            # PyNN 0.13's FixedTotalNumberConnector cannot draw from pyNN.nest's NativeRNG
            native_rng = None
        if native_rng is not None:
            return native_rng(seed)
        warnings.warn(f"{sim.__name__}: no NativeRNG usable here; using NumpyRNG")
    return NumpyRNG(seed=seed)


def _normal_clipped(mean, rel_sd, low, high, rng):
    return RandomDistribution("normal_clipped", mu=mean, sigma=abs(mean) * rel_sd,
                              low=low, high=high, rng=rng)


def _synapse(sim, weight, delay, rng):
    """Static synapse with normal weights (sign kept) and normal delays redrawn below half
    a time step (rounded to the grid, the shortest is one step)."""
    low, high = (0.0, np.inf) if weight > 0 else (-np.inf, 0.0)
    return sim.StaticSynapse(
        weight=_normal_clipped(weight, W_REL_SD, low, high, rng),
        delay=_normal_clipped(delay, DELAY_REL_SD, DELAY_LOW_STEPS * sim.get_time_step(),
                              np.inf, rng))


def build_network(sim, scale=0.1, k_scale=None, background="poisson", thalamus=False,
                  v0="original", seed=12345, native_rng=False, record_spikes=True):
    """Create the microcircuit in the current simulation (call ``sim.setup`` first).

    `scale` multiplies the neuron numbers, `k_scale` (default: `scale`) the in-degrees;
    weights and DC are adjusted so that mean and variance of the input are kept.
    Returns a :class:`Microcircuit`.
    """
    t0 = time.perf_counter()
    model = scaled_model(scale, k_scale, background)
    rng = make_rng(sim, seed, native_rng)  # connectivity, weights and delays
    v_rng = NumpyRNG(seed=seed + 1)  # initial potentials: one draw per cell, cheap anywhere
    net = Microcircuit(model=model)

    for i, name in enumerate(POPULATIONS):
        params = dict(NEURON_PARAMS, i_offset=float(model.i_offset[i]))
        pop = sim.Population(int(model.n_neurons[i]), sim.IF_curr_exp(**params), label=name)
        if v0 == "original":
            mean, sd = V0_ORIGINAL
        elif v0 == "optimized":
            mean, sd = V0_OPTIMIZED[0][i], V0_OPTIMIZED[1][i]
        else:
            raise ValueError("v0 must be 'original' or 'optimized'")
        pop.initialize(v=RandomDistribution("normal", mu=float(mean), sigma=float(sd),
                                           rng=v_rng))
        if record_spikes:
            pop.record("spikes")
        net.populations[name] = pop

    if background == "poisson":
        for i, name in enumerate(POPULATIONS):
            target = net.populations[name]
            sources = sim.Population(target.size, sim.SpikeSourcePoisson(
                rate=float(model.k_ext[i]) * BG_RATE), label=f"{name}_background")
            proj = sim.Projection(sources, target, sim.OneToOneConnector(),
                                  sim.StaticSynapse(weight=model.w_ext, delay=POISSON_DELAY),
                                  receptor_type="excitatory", label=f"background->{name}")
            net.background[name] = (sources, proj)

    for i, target in enumerate(POPULATIONS):
        for j, source in enumerate(POPULATIONS):
            n = int(model.n_synapses[i, j])
            if n == 0:
                continue
            w = float(model.weights[i, j])
            net.projections[(target, source)] = sim.Projection(
                net.populations[source], net.populations[target],
                sim.FixedTotalNumberConnector(n, allow_self_connections=True,
                                              with_replacement=True, rng=rng),
                _synapse(sim, w, float(model.delays[i, j]), rng),
                receptor_type="excitatory" if EXCITATORY[j] else "inhibitory",
                label=f"{source}->{target}")

    if thalamus:
        # spikes in (start + dt, start + duration + dt]: when the reference's thalamic
        # parrots repeat its generator, one relay delay after the generator's window
        net.thalamus = sim.Population(N_THALAMUS, sim.SpikeSourcePoisson(
            rate=TH_RATE, start=TH_START + TH_RELAY_DELAY, duration=TH_DURATION),
            label="thalamus")
        for i, target in enumerate(POPULATIONS):
            n = int(model.n_synapses_th[i])
            if n == 0:
                continue
            net.thalamic_projections[target] = sim.Projection(
                net.thalamus, net.populations[target],
                sim.FixedTotalNumberConnector(n, allow_self_connections=True,
                                              with_replacement=True, rng=rng),
                _synapse(sim, model.w_th, TH_DELAY, rng),
                receptor_type="excitatory", label=f"thalamus->{target}")

    net.build_time = time.perf_counter() - t0
    return net


OPTIONS = (
    ("--scale", "factor for the neuron numbers (and, by default, the in-degrees); "
     "default: 1 (full scale) on a GPU, 0.1 on a CPU", {"type": float, "default": None}),
    ("--k-scale", "factor for the in-degrees (default: --scale)", {"type": float}),
    ("--time", "simulated time, ms", {"type": float, "default": 1000.0}),
    ("--warmup", "initial period left out of the statistics, ms",
     {"type": float, "default": 100.0}),
    ("--dt", "time step, ms", {"type": float, "default": 0.1}),
    ("--background", "external drive: Poisson spike trains or their mean current",
     {"choices": ("poisson", "dc"), "default": "poisson"}),
    ("--thalamus", "add the thalamic pulse (902 cells, 120 Hz from 700 to 710 ms, relayed "
     "over 1 ms as in NEST's reference: spikes in (701.1, 711.1] ms)",
     {"action": "store_true"}),
    ("--v0", "initial membrane potentials: N(-58, 10) mV for all ('original') or "
     "per-population ('optimized')", {"choices": ("original", "optimized"),
                                      "default": "original"}),
    ("--seed", "seed of the random numbers (connectivity, weights, delays, V0); default: "
     "$PYNN_SEED if set (python -m pyNN_neurongpu.compare sets it), else 12345",
     {"type": int, "default": int(os.environ.get("PYNN_SEED") or 12345)}),
    ("--native-rng", "draw with the backend's NativeRNG where it has one (the default on a "
     "GPU at scales above 0.1, where host-side NumpyRNG draws would dominate the build)",
     {"action": "store_true"}),
    ("--no-record", "do not record spikes (only times are reported)",
     {"action": "store_true"}),
    ("--output-dir", "where spikes, summary and figure go (default: $PYNN_OUTPUT_DIR if "
     "set, else output_<simulator>)", {"default": os.environ.get("PYNN_OUTPUT_DIR")}),
    ("--backend", "pyNN.neurongpu device: auto, gpu or cpu (ignored by other simulators)",
     {"default": None}),
    ("--threads", "threads (pyNN.nest)", {"type": int, "default": 1}),
)


def run_timed(sim, t_stop, dt):
    """Run to `t_stop` ms as one step, then the rest: the first step finalises the
    connectivity and compiles the kernels, so the rest's wall time is the simulation's
    alone. Returns (perf_counter at the end of the first step, ms after it, their wall
    time in s)."""
    sim.run(min(dt, t_stop))
    first = time.perf_counter()
    rest = t_stop - sim.get_current_time()
    if rest > 1e-9:
        sim.run_until(t_stop)
    return first, max(rest, 0.0), time.perf_counter() - first


def main():
    from pd14_analysis import plot_activity, population_statistics, print_statistics
    from pyNN.utility import get_simulator

    t_start = time.perf_counter()
    sim, options = get_simulator(*OPTIONS)
    if options.warmup >= options.time and not options.no_record:
        raise SystemExit("--warmup must be shorter than --time")
    extra = {"threads": options.threads, "rng_seed": options.seed,
             # the model is defined with spikes on the time grid (NEST's iaf_psc_exp)
             "spike_precision": "on_grid", "verbosity": "error"}
    if options.backend:
        extra["backend"] = options.backend
    sim.setup(timestep=options.dt, min_delay=options.dt, **extra)
    simulator = options.simulator
    on_gpu = simulator == "neurongpu" and sim.simulator.state.backend.is_gpu
    if options.scale is None:
        options.scale = 1.0 if on_gpu else 0.1
    if on_gpu and options.scale > 0.1 and not options.native_rng:
        options.native_rng = True
    print(f"{simulator} on {'the GPU' if on_gpu else 'the CPU'}: scale {options.scale:g}"
          f"{', NativeRNG' if options.native_rng else ', NumpyRNG'}")

    net = build_network(sim, scale=options.scale, k_scale=options.k_scale,
                        background=options.background, thalamus=options.thalamus,
                        v0=options.v0, seed=options.seed, native_rng=options.native_rng,
                        record_spikes=not options.no_record)
    n_cells = sum(p.size for p in net.populations.values())
    n_syn = sum(len(p) for p in net.projections.values())
    print(f"{simulator}: {n_cells} neurons, {n_syn} recurrent synapses "
          f"(scale {net.model.n_scale}, in-degree scale {net.model.k_scale})")
    first_step, rest, sim_time = run_timed(sim, options.time, options.dt)
    first_step -= t_start
    print(f"time to first step {first_step:.2f} s (simulator import and setup, network "
          f"construction {net.build_time:.2f} s, connectivity finalisation, kernel "
          "compilation, one step)")
    rtf = sim_time / (rest / 1000.0) if rest > 0 else float("nan")
    print(f"simulation wall time {sim_time:.2f} s for the {rest:g} ms after the first step: "
          f"RTF {rtf:.3f} (wall-clock seconds per simulated second)")

    summary = {"simulator": simulator, "options": vars(options), "neurons": n_cells,
               "synapses": n_syn, "build_time_s": net.build_time,
               "time_to_first_step_s": first_step, "sim_time_s": sim_time, "rtf": rtf}
    if not options.no_record:
        out = options.output_dir or f"output_{simulator}"
        os.makedirs(out, exist_ok=True)
        import neo

        spiketrains = {}
        for name, pop in net.populations.items():
            block = pop.get_data("spikes")
            neo.io.PickleIO(os.path.join(out, f"spikes_{name}.pkl")).write_block(block)
            spiketrains[name] = block.segments[0].spiketrains
        stats = population_statistics(spiketrains, options.warmup, options.time)
        print_statistics(stats, options.warmup, options.time)
        summary["statistics"] = {  # strict JSON: NaN (no cell with a CV) -> null
            name: {k: (None if isinstance(v, float) and np.isnan(v) else v)
                   for k, v in s.items()} for name, s in stats.items()}
        with open(os.path.join(out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1, default=float)
        written = "spikes and summary.json"
        if importlib.util.find_spec("matplotlib") is None:
            print('matplotlib is not installed: figure skipped '
                  '(pip install "pyNN-neurongpu[examples]")')
        else:
            figure = plot_activity(spiketrains, stats, options.warmup, options.time,
                                   os.path.join(out, "microcircuit.png"),
                                   title=f"{simulator}, scale {options.scale:g}")
            written = f"spikes, summary.json and {os.path.basename(figure)}"
        print(f"{written} written to {out}")
    sim.end()
    return summary


if __name__ == "__main__":
    main()
