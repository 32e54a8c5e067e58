"""Wall time per biological second of a balanced network with STDP on the
excitatory-excitatory synapses, against the same network with static synapses,
on pyNN.neurongpu (the CPU reference and compiled steps, and the GPU where CuPy sees one)
and pyNN.nest, in one invocation.

    python benchmarks/stdp.py                       # N = 2000, 100 synapses per neuron
    python benchmarks/stdp.py --n 10000 --k 1000 --t 1000 --no-nest --json out.json

The network (Brunel-like, IF_curr_exp): N = 4/5 excitatory + 1/5 inhibitory cells,
each receiving k synapses (k/5 inhibitory, g = 5) from FixedNumberPre connections,
plus one Poisson background source per neuron (NOISE_RATE). E->E
synapses are STDP (SpikePairRule, additive) in the 'stdp' variant. Prints a table
and writes JSON (--json) with the device names. On a GPU it runs twice: plastic groups in
the array-code step on the device, and in the fused step's CUDA kernels
(the default; PYNN_NEURONGPU_PLASTIC_KERNELS=0 selects the array-code step). The timed run
follows a 10 ms run that compiles the kernels (counted in the build time).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cpu_name, write_results  # noqa: E402

import pynn_neurongpu_alias  # noqa: E402

pynn_neurongpu_alias.install()

J_EXC = 0.1   # nA
G_INH = 5.0
DELAY = 1.5   # ms
NOISE_RATE = 4500.0  # Hz, one Poisson source per neuron (weight J_EXC)
WARMUP = 10.0  # ms run before the timed run


def build(sim, n, k, plastic, seed=1):
    """The network on `sim` (already set up); returns (excitatory cells, E->E projection)."""
    rng = sim.NumpyRNG(seed)
    n_exc = n * 4 // 5
    k_exc, k_inh = k * 4 // 5, k // 5
    cell = sim.IF_curr_exp(tau_m=20.0, tau_refrac=2.0, v_thresh=-50.0, v_reset=-65.0,
                           v_rest=-65.0, tau_syn_E=2.0, tau_syn_I=2.0)
    exc = sim.Population(n_exc, cell, label="exc")
    inh = sim.Population(n - n_exc, cell, label="inh")
    for pop in (exc, inh):
        pop.initialize(v=sim.RandomDistribution("uniform", (-65.0, -50.0), rng=rng))
    for pop in (exc, inh):
        noise = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=NOISE_RATE))
        sim.Projection(noise, pop, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=J_EXC, delay=DELAY))
    if plastic:
        ee_syn = sim.STDPMechanism(
            sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.01, A_minus=0.012),
            sim.AdditiveWeightDependence(w_min=0.0, w_max=2 * J_EXC), weight=J_EXC,
            delay=DELAY)
    else:
        ee_syn = sim.StaticSynapse(weight=J_EXC, delay=DELAY)
    ee = sim.Projection(exc, exc, sim.FixedNumberPreConnector(k_exc, rng=rng), ee_syn)
    sim.Projection(exc, inh, sim.FixedNumberPreConnector(k_exc, rng=rng),
                   sim.StaticSynapse(weight=J_EXC, delay=DELAY))
    for target in (exc, inh):
        sim.Projection(inh, target, sim.FixedNumberPreConnector(k_inh, rng=rng),
                       sim.StaticSynapse(weight=-G_INH * J_EXC, delay=DELAY),
                       receptor_type="inhibitory")
    exc.record("spikes")
    return exc, ee


def time_one(sim, setup_kw, n, k, t_ms, plastic):
    setup_kw = dict(setup_kw)
    kernels = setup_kw.pop("plastic_kernels", None)
    if kernels is not None:
        from pyNN_neurongpu.engine import OPTIONS
        OPTIONS.plastic_kernels = bool(kernels)
    sim.setup(timestep=0.1, min_delay=0.1, max_delay=10.0, **setup_kw)
    t0 = time.perf_counter()
    exc, ee = build(sim, n, k, plastic)
    sim.run(WARMUP)  # kernels compile in the first run: counted as build time
    t1 = time.perf_counter()
    sim.run(t_ms)
    t2 = time.perf_counter()
    n_spikes = sum(st.size for st in exc.get_data().segments[0].spiketrains)
    weights = ee.get("weight", format="array")
    result = {"build_s": t1 - t0, "run_s": t2 - t1, "s_per_bio_s": (t2 - t1) / (t_ms / 1000.0),
              "exc_rate_hz": n_spikes / exc.size / ((t_ms + WARMUP) / 1000.0),
              "mean_ee_weight": float(sum(weights[~(weights != weights)]) /
                                      max(1, (~(weights != weights)).sum()))}
    sim.end()
    return result


def backends(args):
    from pyNN_neurongpu.engine.backend import Backend, gpu_available
    out = []
    if not args.no_cpu:
        out.append(("neurongpu-cpu", "pyNN.neurongpu", {"backend": "cpu"},
                    Backend("cpu").describe() + f", {cpu_name()}"))
        out.append(("neurongpu-cpu-compiled", "pyNN.neurongpu", {"backend": "cpu-compiled"},
                    Backend("cpu-compiled").describe() + f", {cpu_name()}"))
    if gpu_available() and not args.no_gpu:
        for kernels in (True,) if args.kernels_only else (False, True):
            out.append((f"neurongpu-gpu{'-kernels' if kernels else ''}", "pyNN.neurongpu",
                        {"backend": "gpu", "plastic_kernels": kernels},
                        Backend("gpu").describe()))
    if not args.no_nest:
        out.append(("nest", "pyNN.nest", {"spike_precision": "on_grid", "verbosity": "error",
                                          "threads": args.threads},
                    f"NEST, {args.threads} thread(s), {cpu_name()}"))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="number of neurons")
    parser.add_argument("--k", type=int, default=100, help="synapses per neuron")
    parser.add_argument("--t", type=float, default=1000.0, help="biological time (ms)")
    parser.add_argument("--threads", type=int, default=1, help="NEST threads")
    parser.add_argument("--no-nest", action="store_true")
    parser.add_argument("--no-gpu", action="store_true")
    parser.add_argument("--no-cpu", action="store_true", help="leave out the CPU engines")
    parser.add_argument("--kernels-only", action="store_true",
                        help="on the GPU, only the plastic kernels (not the array-code step)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--label", help="add the results as this run to the --json file "
                        "of labelled runs (benchmarks/results/<name>.json)")
    args = parser.parse_args(argv)
    import importlib
    rows = []
    for name, module, setup_kw, device in backends(args):
        try:
            sim = importlib.import_module(module)
        except Exception as err:  # e.g. NEST not installed
            print(f"skipping {name}: {err}", file=sys.stderr)
            continue
        for plastic in (False, True):
            result = time_one(sim, setup_kw, args.n, args.k, args.t, plastic)
            result.update(simulator=name, device=device, synapses="stdp" if plastic else "static")
            rows.append(result)
            print(f"{name:21s} {result['synapses']:7s} build {result['build_s']:8.2f} s  "
                  f"run {result['s_per_bio_s']:8.2f} s per bio s  "
                  f"rate {result['exc_rate_hz']:6.2f} Hz  "
                  f"mean E->E weight {result['mean_ee_weight']:.4f}", flush=True)
            report = {"n": args.n, "k": args.k, "t_ms": args.t,
                      "python": sys.version.split()[0], "results": rows}
            if args.json:  # after every row, so a run cut short keeps what it measured
                write_results(args.json, report, args.label)
    return report


if __name__ == "__main__":
    main()
