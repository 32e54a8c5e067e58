"""The multi-area model of macaque visual cortex (Schmidt et al. 2018) as a plain PyNN script.

32 areas of vision-related cortex, each a layered network of the Potjans & Diesmann (2014)
kind (excitatory and inhibitory cells of layers 2/3, 4, 5 and 6; area TH has no layer 4),
about 4.13e6 current-based LIF neurons (IF_curr_exp) and 2.41e10 synapses at full scale,
connected within and between areas with the model's stabilised in-degrees, with delays
from the inter-area distances (3.5 m/s), driven by Poisson background input (or its mean
as a DC). The cortico-cortical weights set the state: 'ground' (chi = 1) or 'metastable'
(chi = 1.9, and 2 * chi onto inhibitory populations).

Reference: Schmidt M, Bakker R, Shen K, Bezgin G, Diesmann M, van Albada SJ (2018) A
multi-scale layer-resolved spiking network model of resting-state dynamics in macaque
visual cortical areas. PLoS Comput Biol 14(10):e1006359. Numbers and their provenance:
mam_params.py, data/PROVENANCE.md.

Usage (the simulator is the first argument, PyNN's convention)::

    python multi_area.py neurongpu --areas V1 V2 --scale 0.01 --time 500
    python multi_area.py nest --areas V1 V2 --scale 0.01 --time 500

Run ``python multi_area.py neurongpu --help`` for the options.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from mam_params import (
    DELAY_REL_SD,
    NEURON_PARAMS,
    POISSON_DELAY,
    V0,
    W_REL_SD,
    ScaledModel,
    delay_bound,
    scaled_model,
)
from pyNN.random import NumpyRNG, RandomDistribution


@dataclass
class MultiAreaNetwork:
    """A built network: populations by label ('V1_23E'), projections by (target, source)
    label; background and missing-area sources by target label."""
    model: ScaledModel
    populations: dict = field(default_factory=dict)
    projections: dict = field(default_factory=dict)
    background: dict = field(default_factory=dict)  # label -> (sources, projection)
    missing_input: dict = field(default_factory=dict)  # label -> (sources, projection)
    build_time: float = 0.0


def label(area, pop):
    return f"{area}_{pop}"


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


def _synapse(sim, weight, delay, rng):
    """Static synapse with normal weights redrawn where they change sign and normal
    delays redrawn below one time step (the model's rule) and above mean + 6 sd."""
    low, high = (0.0, np.inf) if weight > 0 else (-np.inf, 0.0)
    return sim.StaticSynapse(
        weight=RandomDistribution("normal_clipped", mu=weight, sigma=abs(weight) * W_REL_SD,
                                  low=low, high=high, rng=rng),
        delay=RandomDistribution("normal_clipped", mu=delay, sigma=delay * DELAY_REL_SD,
                                 low=sim.get_time_step(), high=delay_bound(delay), rng=rng))


def build_network(sim, areas=None, scale=0.01, k_scale=None, state="ground",
                  background="poisson", missing_areas="poisson", seed=12345,
                  native_rng=False, record_spikes=True):
    """Create the multi-area model (or some of its areas) in the current simulation (call
    ``sim.setup`` first, with a max_delay of at least the model's ``max_delay``, see
    :func:`setup_options`). Returns a :class:`MultiAreaNetwork`."""
    t0 = time.perf_counter()
    model = scaled_model(areas, scale, k_scale, state, background, missing_areas)
    rng = make_rng(sim, seed, native_rng)  # connectivity, weights and delays
    v_rng = NumpyRNG(seed=seed + 1)  # initial potentials
    net = MultiAreaNetwork(model=model)

    for i, (area, pop) in enumerate(model.labels):
        params = dict(NEURON_PARAMS, i_offset=float(model.i_offset[i]))
        cells = sim.Population(int(model.n_neurons[i]), sim.IF_curr_exp(**params),
                               label=label(area, pop))
        cells.initialize(v=RandomDistribution("normal", mu=V0[0], sigma=V0[1], rng=v_rng))
        if record_spikes:
            cells.record("spikes")
        net.populations[cells.label] = cells

    def drive(store, name, rates, weight):
        weights = np.broadcast_to(weight, rates.shape)
        for i, lab in enumerate(model.labels):
            if rates[i] <= 0:
                continue
            target = net.populations[label(*lab)]
            sources = sim.Population(target.size, sim.SpikeSourcePoisson(rate=float(rates[i])),
                                     label=f"{target.label}_{name}")
            proj = sim.Projection(sources, target, sim.OneToOneConnector(),
                                  sim.StaticSynapse(weight=float(weights[i]),
                                                    delay=POISSON_DELAY),
                                  receptor_type="excitatory", label=f"{name}->{target.label}")
            store[target.label] = (sources, proj)

    if background == "poisson":
        drive(net.background, "background", model.k_ext * 10.0, model.w_ext)
    drive(net.missing_input, "missing_areas", model.missing_rate, model.missing_weight)

    excitatory = model.excitatory
    for i, target in enumerate(model.labels):
        for j, source in enumerate(model.labels):
            n = int(model.n_synapses[i, j])
            if n == 0:
                continue
            w = float(model.weights[i, j])
            t_label, s_label = label(*target), label(*source)
            net.projections[(t_label, s_label)] = sim.Projection(
                net.populations[s_label], net.populations[t_label],
                sim.FixedTotalNumberConnector(n, allow_self_connections=True,
                                              with_replacement=True, rng=rng),
                _synapse(sim, w, float(model.delays[i, j]), rng),
                receptor_type="excitatory" if excitatory[j] else "inhibitory",
                label=f"{s_label}->{t_label}")

    net.build_time = time.perf_counter() - t0
    return net


OPTIONS = (
    ("--areas", "areas to simulate (default: all 32)", {"nargs": "+", "default": None}),
    ("--scale", "factor for the neuron numbers (and, by default, the in-degrees); "
     "default: 1 (full scale) on a GPU, 0.01 on a CPU", {"type": float, "default": None}),
    ("--k-scale", "factor for the in-degrees (default: --scale)", {"type": float}),
    ("--state", "cortico-cortical weights: 'ground' (chi 1) or 'metastable' (chi 1.9, "
     "chi_I 2)", {"choices": ("ground", "metastable"), "default": "ground"}),
    ("--time", "simulated time, ms", {"type": float, "default": 1000.0}),
    ("--warmup", "initial period left out of the statistics, ms",
     {"type": float, "default": 200.0}),
    ("--dt", "time step, ms", {"type": float, "default": 0.1}),
    ("--background", "external drive: Poisson spike trains or their mean current",
     {"choices": ("poisson", "dc"), "default": "poisson"}),
    ("--missing-areas", "input from areas not simulated: Poisson at their full-scale rates "
     "or none", {"choices": ("poisson", "none"), "default": "poisson"}),
    ("--seed", "seed of the random numbers (connectivity, weights, delays, V0); default: "
     "$PYNN_SEED if set (python -m pyNN_neurongpu.compare sets it), else 12345",
     {"type": int, "default": int(os.environ.get("PYNN_SEED") or 12345)}),
    ("--native-rng", "draw with the backend's NativeRNG where it has one (the default on a "
     "GPU at scales above 0.1)", {"action": "store_true"}),
    ("--connectivity", "pyNN.neurongpu's setup(connectivity=...): stored, procedural or "
     "auto (ignored by other simulators)", {"default": None}),
    ("--no-record", "do not record spikes (only times are reported)",
     {"action": "store_true"}),
    ("--output-dir", "where spikes, summary and figure go (default: $PYNN_OUTPUT_DIR if "
     "set, else output_<simulator>)", {"default": os.environ.get("PYNN_OUTPUT_DIR")}),
    ("--backend", "pyNN.neurongpu device: auto, gpu or cpu (ignored by other simulators)",
     {"default": None}),
    ("--threads", "threads (pyNN.nest)", {"type": int, "default": 1}),
)


def setup_options(options, model):
    """sim.setup's keyword arguments for the command-line options and the model (its
    largest delay)."""
    extra = {"timestep": options.dt, "min_delay": options.dt,
             "max_delay": max(model.max_delay, options.dt),
             "threads": options.threads, "rng_seed": options.seed,
             # the model is defined with spikes on the time grid (NEST's iaf_psc_exp)
             "spike_precision": "on_grid", "verbosity": "error"}
    if options.simulator == "neurongpu":
        if options.backend:
            extra["backend"] = options.backend
        if options.connectivity:
            extra["connectivity"] = options.connectivity
    return extra


def main():
    from mam_analysis import plot_rates, population_statistics, print_statistics
    from pyNN.utility import get_simulator

    sim, options = get_simulator(*OPTIONS)
    if options.warmup >= options.time and not options.no_record:
        raise SystemExit("--warmup must be shorter than --time")
    # the largest delay of the areas at full scale, for setup's max_delay (a scaled-down
    # network has no delay beyond it)
    planned = scaled_model(options.areas, 1.0, 1.0, options.state)
    sim.setup(**setup_options(options, planned))
    simulator = options.simulator
    on_gpu = simulator == "neurongpu" and sim.simulator.state.backend.is_gpu
    if options.scale is None:
        options.scale = 1.0 if on_gpu else 0.01
    if on_gpu and options.scale > 0.1 and not options.native_rng:
        options.native_rng = True
    print(f"{simulator} on {'the GPU' if on_gpu else 'the CPU'}: scale {options.scale:g}, "
          f"{options.state} state{', NativeRNG' if options.native_rng else ', NumpyRNG'}")

    net = build_network(sim, areas=options.areas, scale=options.scale,
                        k_scale=options.k_scale, state=options.state,
                        background=options.background, missing_areas=options.missing_areas,
                        seed=options.seed, native_rng=options.native_rng,
                        record_spikes=not options.no_record)
    model = net.model
    n_cells = sum(p.size for p in net.populations.values())
    n_syn = int(sum(len(p) for p in net.projections.values()))
    print(f"{simulator}: {len(model.areas)} areas, {n_cells} neurons, {n_syn} synapses in "
          f"{len(net.projections)} projections (scale {model.n_scale:g}, in-degree scale "
          f"{model.k_scale:g})")
    print(f"build time {net.build_time:.2f} s")

    t0 = time.perf_counter()
    sim.run(options.time)
    sim_time = time.perf_counter() - t0
    print(f"simulation wall time {sim_time:.2f} s for {options.time:g} ms "
          f"({sim_time / (options.time / 1000.0):.2f} s per simulated second)")

    summary = {"simulator": simulator, "options": vars(options), "areas": list(model.areas),
               "neurons": n_cells, "synapses": n_syn, "projections": len(net.projections),
               "build_time_s": net.build_time, "sim_time_s": sim_time}
    out = options.output_dir or f"output_{simulator}"
    os.makedirs(out, exist_ok=True)
    if not options.no_record:
        import neo

        spiketrains = {}
        for name, pop in net.populations.items():
            block = pop.get_data("spikes")
            neo.io.PickleIO(os.path.join(out, f"spikes_{name}.pkl")).write_block(block)
            spiketrains[name] = block.segments[0].spiketrains
        stats = population_statistics(spiketrains, options.warmup, options.time)
        print_statistics(stats, model.areas, options.warmup, options.time)
        summary["statistics"] = {  # strict JSON: NaN (no cell with a CV) -> null
            name: {k: (None if isinstance(v, float) and np.isnan(v) else v)
                   for k, v in s.items()} for name, s in stats.items()}
        summary["area_rates"] = {
            area: float(sum(stats[label(a, p)]["rate"] * stats[label(a, p)]["cells"]
                            for a, p in model.labels if a == area)
                        / sum(stats[label(a, p)]["cells"] for a, p in model.labels if a == area))
            for area in model.areas}
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=float)
    written = "summary.json"
    if not options.no_record:
        written = "spikes and summary.json"
        if importlib.util.find_spec("matplotlib") is None:
            print('matplotlib is not installed: figure skipped '
                  '(pip install "pyNN-neurongpu[examples]")')
        else:
            figure = plot_rates(stats, model.areas, os.path.join(out, "multi_area.png"),
                                title=f"{simulator}, {options.state}, scale {options.scale:g}")
            written = f"spikes, summary.json and {os.path.basename(figure)}"
    print(f"{written} written to {out}")
    sim.end()
    return summary


if __name__ == "__main__":
    main()
