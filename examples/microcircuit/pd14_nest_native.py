"""The microcircuit of microcircuit.py written directly for NEST 3.10 (``import nest``, no
PyNN): the NEST reference of the full-scale validation (docs/validation.md).

pyNN.nest cannot build the full-scale model: PyNN's FixedTotalNumberConnector draws the
synapses in Python. This script builds the same model with NEST's own connection rules:

- iaf_psc_exp neurons with the parameters, DC (`i_offset`) and initial potentials of
  microcircuit.py, all numbers from pd14_params.py (the same scaling rules);
- ``fixed_total_number`` connections with the same synapse numbers per pair of
  populations, autapses and multapses allowed;
- normal weights (sign kept) and delays, values outside the bounds redrawn, as PyNN's
  ``normal_clipped`` does; delays are redrawn below half a time step, so that once
  rounded to the grid the shortest is one step (NEST's PD14 example);
- Poisson background: one poisson_generator per population, rate K_ext * 8 Hz, connected
  all-to-all (NEST draws an independent train for each target), same weight and delay as
  the one-to-one SpikeSourcePoisson projection of microcircuit.py; or its mean as a DC;
- optional thalamic pulse: 902 parrot neurons repeating one poisson_generator active from
  700 to 710 ms over NEST's default delay (1 ms), as NEST's PD14 example connects them:
  the parrots spike at times in (701 + dt, 711 + dt] ms, as microcircuit.py's thalamic
  SpikeSourcePoisson does;
- spikes on the time grid, recorded from time 0 over the whole run (``--warmup`` only
  bounds the statistics printed, as in microcircuit.py).

Per population it writes ``spikes_<name>.pkl`` (Neo pickle, one SpikeTrain per cell with
the annotations PyNN gives them) into ``--output-dir``, so that
``python -m pyNN_neurongpu.compare files`` pairs the populations with those of
microcircuit.py. Usage::

    python pd14_nest_native.py --scale 1 --time 10500 --threads 16 --seed 1 \\
        --output-dir results/nest/seed_1

A leading simulator name is accepted, as ``python -m pyNN_neurongpu.compare run`` passes
one: ``nest`` runs this script; any other name (e.g. ``neurongpu``) runs microcircuit.py
with the same arguments, so ``compare run pd14_nest_native.py --simulators neurongpu
nest`` compares our backend with this NEST model.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import runpy
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pd14_params import (
    BG_RATE,
    DELAY_LOW_STEPS,
    DELAY_REL_SD,
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

HERE = Path(__file__).resolve().parent

# PyNN's IF_curr_exp names -> NEST's iaf_psc_exp names and unit factors (nF -> pF, nA -> pA)
NEST_NAMES = {
    "tau_m": ("tau_m", 1.0), "cm": ("C_m", 1000.0), "v_rest": ("E_L", 1.0),
    "v_thresh": ("V_th", 1.0), "v_reset": ("V_reset", 1.0), "tau_refrac": ("t_ref", 1.0),
    "tau_syn_E": ("tau_syn_ex", 1.0), "tau_syn_I": ("tau_syn_in", 1.0),
    "i_offset": ("I_e", 1000.0),
}
NA_TO_PA = 1000.0


@dataclass
class NestMicrocircuit:
    """A built network: NodeCollections by population name, spike recorders, the numbers
    it was built from."""
    model: ScaledModel
    populations: dict = field(default_factory=dict)
    recorders: dict = field(default_factory=dict)
    background: dict = field(default_factory=dict)  # population name -> poisson_generator
    thalamus: object = None  # the parrot neurons
    build_time: float = 0.0


def neuron_parameters(i_offset):
    """iaf_psc_exp parameters (NEST names and units) of microcircuit.py's IF_curr_exp."""
    params = dict(NEURON_PARAMS, i_offset=float(i_offset))
    return {NEST_NAMES[k][0]: v * NEST_NAMES[k][1] for k, v in params.items()}


def _normal_redrawn(nest, mean, rel_sd, low, high):
    """A normal distribution whose values outside [low, high] are drawn again."""
    return nest.math.redraw(nest.random.normal(mean=mean, std=abs(mean) * rel_sd),
                            min=low, max=high)


def _synapse_spec(nest, weight, delay, dt):
    """Normal weights (pA, sign kept) and delays (ms, redrawn below half a step: one step
    at least once rounded), as in microcircuit.py's ``_synapse``."""
    weight = weight * NA_TO_PA
    low, high = (0.0, np.inf) if weight > 0 else (-np.inf, 0.0)
    return {"synapse_model": "static_synapse",
            "weight": _normal_redrawn(nest, weight, W_REL_SD, low, high),
            "delay": _normal_redrawn(nest, delay, DELAY_REL_SD, DELAY_LOW_STEPS * dt,
                                     np.inf)}


def _fixed_total_number(n):
    return {"rule": "fixed_total_number", "N": int(n), "allow_autapses": True,
            "allow_multapses": True}


def build_network(scale=0.1, k_scale=None, background="poisson", thalamus=False,
                  v0="original", seed=12345, dt=0.1, threads=1, record_spikes=True):
    """Reset the NEST kernel and create the microcircuit in it; return a NestMicrocircuit.

    `scale`, `k_scale`, `background`, `thalamus` and `v0` mean what they mean in
    microcircuit.build_network; `seed` is NEST's ``rng_seed`` (connectivity, weights,
    delays, initial potentials and Poisson input all come from NEST's generators).
    """
    import nest

    if v0 not in ("original", "optimized"):
        raise ValueError("v0 must be 'original' or 'optimized'")
    t0 = time.perf_counter()
    model = scaled_model(scale, k_scale, background)
    nest.ResetKernel()
    nest.verbosity = nest.VerbosityLevel.ERROR
    nest.set(resolution=dt, local_num_threads=threads, rng_seed=seed, print_time=False)
    net = NestMicrocircuit(model=model)

    for i, name in enumerate(POPULATIONS):
        mean, sd = (V0_ORIGINAL if v0 == "original"
                    else (V0_OPTIMIZED[0][i], V0_OPTIMIZED[1][i]))
        pop = nest.Create("iaf_psc_exp", int(model.n_neurons[i]),
                          params=neuron_parameters(model.i_offset[i]))
        pop.V_m = nest.random.normal(mean=float(mean), std=float(sd))
        net.populations[name] = pop
        if record_spikes:
            net.recorders[name] = nest.Create("spike_recorder")
            nest.Connect(pop, net.recorders[name])

    if background == "poisson":
        for i, name in enumerate(POPULATIONS):
            generator = nest.Create("poisson_generator",
                                    params={"rate": float(model.k_ext[i]) * BG_RATE})
            nest.Connect(generator, net.populations[name], "all_to_all",
                         {"synapse_model": "static_synapse",
                          "weight": model.w_ext * NA_TO_PA, "delay": POISSON_DELAY})
            net.background[name] = generator

    for i, target in enumerate(POPULATIONS):
        for j, source in enumerate(POPULATIONS):
            n = int(model.n_synapses[i, j])
            if n == 0:
                continue
            nest.Connect(net.populations[source], net.populations[target],
                         _fixed_total_number(n),
                         _synapse_spec(nest, float(model.weights[i, j]),
                                       float(model.delays[i, j]), dt))

    if thalamus:
        net.thalamus = nest.Create("parrot_neuron", N_THALAMUS)
        pulse = nest.Create("poisson_generator", params={
            "rate": TH_RATE, "start": TH_START, "stop": TH_START + TH_DURATION})
        nest.Connect(pulse, net.thalamus, "all_to_all", {"delay": TH_RELAY_DELAY})
        for i, target in enumerate(POPULATIONS):
            n = int(model.n_synapses_th[i])
            if n:
                nest.Connect(net.thalamus, net.populations[target], _fixed_total_number(n),
                             _synapse_spec(nest, model.w_th, TH_DELAY, dt))

    net.build_time = time.perf_counter() - t0
    return net


def spike_blocks(net, t_stop, dt):
    """One Neo Block per population, laid out as PyNN's ``Population.get_data('spikes')``:
    one segment, one SpikeTrain per cell in population order, annotated with
    'source_population', 'source_index' and 'channel_id' (the NEST node id)."""
    import neo

    blocks = {}
    now = datetime.datetime.now()
    for name, pop in net.populations.items():
        events = net.recorders[name].events
        senders = np.asarray(events["senders"], dtype=np.int64)
        times = np.asarray(events["times"], dtype=float)
        first = int(pop.tolist()[0])  # one Create: consecutive node ids
        index = senders - first
        order = np.lexsort((times, index))
        bounds = np.searchsorted(index[order], np.arange(len(pop) + 1))
        trains = np.split(times[order], bounds[1:-1])
        description = f'Population "{name}" of {len(pop)} iaf_psc_exp (NEST, native)'
        block = neo.Block(name=name, description=description, rec_datetime=now,
                          size=len(pop), first_index=0, last_index=len(pop),
                          first_id=first, last_id=first + len(pop) - 1, label=name,
                          simulator="nest", dt=dt, mpi_processes=1)
        segment = neo.Segment(name="segment000", description=description, rec_datetime=now)
        segment.spiketrains = [
            neo.SpikeTrain(t, t_start=0.0, t_stop=t_stop, units="ms",
                           source_population=name, source_index=np.int64(k),
                           channel_id=np.int64(first + k))
            for k, t in enumerate(trains)]
        block.segments.append(segment)
        segment.block = block
        blocks[name] = block
    return blocks


OPTIONS = (
    ("--scale", "factor for the neuron numbers (and, by default, the in-degrees); default 0.1",
     {"type": float, "default": 0.1}),
    ("--k-scale", "factor for the in-degrees (default: --scale)", {"type": float}),
    ("--time", "simulated time, ms", {"type": float, "default": 1000.0}),
    ("--warmup", "initial period left out of the printed statistics, ms",
     {"type": float, "default": 100.0}),
    ("--dt", "time step, ms", {"type": float, "default": 0.1}),
    ("--background", "external drive: Poisson spike trains or their mean current",
     {"choices": ("poisson", "dc"), "default": "poisson"}),
    ("--thalamus", "add the thalamic pulse (902 cells, 120 Hz from 700 to 710 ms, relayed "
     "over 1 ms as in NEST's reference: spikes in (701.1, 711.1] ms)",
     {"action": "store_true"}),
    ("--v0", "initial membrane potentials: 'original' or 'optimized'",
     {"choices": ("original", "optimized"), "default": "original"}),
    ("--seed", "NEST's rng_seed; default: $PYNN_SEED if set, else 12345",
     {"type": int, "default": int(os.environ.get("PYNN_SEED") or 12345)}),
    ("--no-record", "do not record spikes (only times are reported)",
     {"action": "store_true"}),
    ("--output-dir", "where spikes and summary go (default: $PYNN_OUTPUT_DIR if set, else "
     "output_nest_native)", {"default": os.environ.get("PYNN_OUTPUT_DIR")}),
    ("--threads", "NEST threads", {"type": int, "default": 1}),
    # microcircuit.py's options for pyNN.neurongpu: accepted so that both scripts take
    # the same command line, and ignored
    ("--backend", "ignored (pyNN.neurongpu's device)", {"default": None}),
    ("--native-rng", "ignored (NEST draws everything with its own generators)",
     {"action": "store_true"}),
)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    for name, help_text, kwargs in OPTIONS:
        parser.add_argument(name, help=help_text, **kwargs)
    options = parser.parse_args(argv)
    if options.warmup >= options.time and not options.no_record:
        parser.error("--warmup must be shorter than --time")
    return options


def run(options):
    """Build, simulate, write the Neo files and summary; return the summary dict."""
    import nest

    net = build_network(scale=options.scale, k_scale=options.k_scale,
                        background=options.background, thalamus=options.thalamus,
                        v0=options.v0, seed=options.seed, dt=options.dt,
                        threads=options.threads, record_spikes=not options.no_record)
    n_cells = sum(len(p) for p in net.populations.values())
    n_syn = int(net.model.n_synapses.sum())
    print(f"NEST {nest.__version__} (native), {options.threads} thread(s): {n_cells} neurons, "
          f"{n_syn} recurrent synapses (scale {net.model.n_scale}, in-degree scale "
          f"{net.model.k_scale}), {nest.num_connections} connections in all")
    # one step first (NEST prepares the network in its first Simulate), then the rest
    t0 = time.perf_counter()
    first = min(options.dt, options.time)
    nest.Simulate(first)
    first_step = net.build_time + time.perf_counter() - t0
    rest = options.time - first
    t0 = time.perf_counter()
    if rest > 1e-9:
        nest.Simulate(rest)
    sim_time = time.perf_counter() - t0
    rtf = sim_time / (rest / 1000.0) if rest > 1e-9 else float("nan")
    print(f"time to first step {first_step:.2f} s (network construction "
          f"{net.build_time:.2f} s, preparation, one step)")
    print(f"simulation wall time {sim_time:.2f} s for the {max(rest, 0.0):g} ms after the "
          f"first step: RTF {rtf:.3f} (wall-clock seconds per simulated second)")

    summary = {"simulator": "nest-native", "nest_version": nest.__version__,
               "options": vars(options), "neurons": n_cells, "synapses": n_syn,
               "build_time_s": net.build_time, "time_to_first_step_s": first_step,
               "sim_time_s": sim_time, "rtf": rtf}
    if not options.no_record:
        import neo
        from pd14_analysis import plot_activity, population_statistics, print_statistics

        out = options.output_dir or "output_nest_native"
        os.makedirs(out, exist_ok=True)
        blocks = spike_blocks(net, options.time, options.dt)
        for name, block in blocks.items():
            neo.io.PickleIO(os.path.join(out, f"spikes_{name}.pkl")).write_block(block)
        spiketrains = {name: b.segments[0].spiketrains for name, b in blocks.items()}
        stats = population_statistics(spiketrains, options.warmup, options.time)
        print_statistics(stats, options.warmup, options.time)
        figure = plot_activity(spiketrains, stats, options.warmup, options.time,
                               os.path.join(out, "microcircuit.png"),
                               title=f"NEST (native), scale {options.scale:g}")
        summary["statistics"] = {
            name: {k: (None if isinstance(v, float) and np.isnan(v) else v)
                   for k, v in s.items()} for name, s in stats.items()}
        with open(os.path.join(out, "summary.json"), "w") as f:
            json.dump(summary, f, indent=1, default=float)
        print(f"spikes, summary.json and {os.path.basename(figure)} written to {out}")
    return summary


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and not argv[0].startswith("-"):
        simulator = argv.pop(0)
        if simulator != "nest":  # e.g. 'neurongpu': the PyNN script, same arguments
            sys.argv = [str(HERE / "microcircuit.py"), simulator, *argv]
            return runpy.run_path(sys.argv[0], run_name="__main__")
    return run(parse_args(argv))


if __name__ == "__main__":
    main()
