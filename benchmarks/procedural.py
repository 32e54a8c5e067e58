"""Benchmark: the balanced LIF network of GeNN's procedural-connectivity paper (Knight &
Nowotny 2021, the Vogels–Abbott benchmark scaled) for N neurons with 0.1·N synapses per
neuron — 10^11 synapses at N = 10^6 — procedural and stored, next to GeNN's published
figures on a Titan RTX.

The model (BrainsOnBoard/procedural_paper, models/va_benchmark: parameters.h, model.cc):
80% excitatory, 20% inhibitory IF_curr_exp cells (C 1 nF, tau_m 20 ms, v_rest -49 mV,
v_reset -60 mV, threshold -50 mV, refractory 5 ms, tau_syn 5 ms excitatory / 10 ms
inhibitory), V0 uniform in [-60, -50] mV, no external input (v_rest is above threshold),
FixedProbabilityConnector(0.1) between all four pairs of populations (no autapses within a
population), weights 4e-3·s and -51e-3·s nA with s = (4000 / N)·(0.02 / 0.1), one-step
delays, dt 1 ms (the paper's) or 0.1 ms. Connectivity and V0 are drawn with the backend's
NativeRNG.

Every configuration runs in a fresh process. Reported: build time (to the end of the first
step), wall time per biological second, mean rate, GPU memory in use, the device. A stored
run at the same N as a procedural one has the same synapses (the counter-based rule), so
their rates must agree (float32: to the rounding of the atomic sums).

    python benchmarks/procedural.py --sizes 10000 100000 1000000 --stored-sizes 10000 50000 \\
        --dt 1.0 --time 1000 --json benchmarks/results/procedural.json --label h100
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    ROOT,
    device_name,
    gpu_memory_used,
    run_worker,
    spike_count,
    write_results,
)

# GeNN 4, Titan RTX, dt 1 ms, seconds per biological second: the mean of the five runs
# of scripts/scaling_data.csv (BrainsOnBoard/procedural_paper)
GENN_TITAN_RTX = {
    "procedural": {10_000: 0.01686, 50_000: 0.06834, 100_000: 0.13747, 500_000: 2.2895,
                   1_000_000: 8.5229},
    "stored": {10_000: 0.02187, 50_000: 0.10870, 100_000: 0.31478},
}
P_CONNECT = 0.1


def build(sim, n: int, seed: int):
    """The network in the current simulation; returns (excitatory, inhibitory)."""
    from pyNN.random import RandomDistribution
    n_exc = round(n * 4.0 / 5.0)
    params = dict(cm=1.0, tau_m=20.0, v_rest=-49.0, v_reset=-60.0, v_thresh=-50.0,
                  tau_refrac=5.0, i_offset=0.0, tau_syn_E=5.0, tau_syn_I=10.0)
    rng = sim.NativeRNG(seed)
    exc = sim.Population(n_exc, sim.IF_curr_exp(**params), label="E")
    inh = sim.Population(n - n_exc, sim.IF_curr_exp(**params), label="I")
    for pop in (exc, inh):
        pop.initialize(v=RandomDistribution("uniform", (-60.0, -50.0), rng=rng))
        pop.record("spikes")
    scale = (4000.0 / n) * (0.02 / P_CONNECT)
    delay = sim.get_time_step()
    for pre, weight, receptor in ((exc, 4.0e-3 * scale, "excitatory"),
                                  (inh, -51.0e-3 * scale, "inhibitory")):
        for post in (exc, inh):
            connector = sim.FixedProbabilityConnector(
                P_CONNECT, allow_self_connections=pre is not post, rng=rng)
            sim.Projection(pre, post, connector,
                           sim.StaticSynapse(weight=weight, delay=delay),
                           receptor_type=receptor)
    return exc, inh


def worker(config: dict) -> dict:
    """Build and run one configuration; returns its measurements."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    import pyNN.neurongpu as sim
    dt = config["dt"]
    sim.setup(timestep=dt, min_delay=dt, backend=config["backend"],
              precision=config["precision"], connectivity=config["connectivity"],
              rng_seed=config["seed"], spike_precision="on_grid")
    exc, inh = build(sim, config["n"], config["seed"])
    sim.run(dt)
    built = time.perf_counter() - t0
    gpu_mem = gpu_memory_used() if config["backend"] == "gpu" else None
    t1 = time.perf_counter()
    sim.run(config["time"])
    wall = time.perf_counter() - t1
    spikes = spike_count((exc, inh))
    result = dict(config, build_s=built, sim_s=wall, s_per_bio_s=wall / (config["time"] / 1e3),
                  rate_hz=spikes / config["n"] / ((config["time"] + dt) / 1e3),
                  synapses=int(round(P_CONNECT * config["n"] ** 2)), gpu_mem_gib=gpu_mem,
                  device=device_name(config["backend"]))
    sim.end()
    return result


def table(results) -> str:
    lines = [f"{'connectivity':<12} {'N':>9} {'synapses':>10} {'dt':>4} {'build s':>8} "
             f"{'s/bio s':>9} {'GeNN TRTX':>9} {'rate Hz':>8} {'GPU GiB':>8}",
             "-" * 86]
    for r in results:
        genn = GENN_TITAN_RTX.get(r["connectivity"], {}).get(r["n"]) if r["dt"] == 1.0 else None
        genn = f"{genn:.4f}" if genn else "-"
        if "error" in r:
            lines.append(f"{r['connectivity']:<12} {r['n']:>9} ERROR {r['error']}")
            continue
        mem = f"{r['gpu_mem_gib']:.2f}" if r.get("gpu_mem_gib") is not None else "-"
        lines.append(f"{r['connectivity']:<12} {r['n']:>9} {r['synapses']:>10.2e} "
                     f"{r['dt']:>4g} {r['build_s']:>8.2f} {r['s_per_bio_s']:>9.4f} "
                     f"{genn:>9} {r['rate_hz']:>8.2f} {mem:>8}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--stored-sizes", type=int, nargs="*", default=[10_000, 50_000])
    parser.add_argument("--dt", type=float, nargs="*", default=[1.0])
    parser.add_argument("--time", type=float, default=1000.0, help="ms after the first step")
    parser.add_argument("--backend", default="gpu", choices=("cpu", "gpu"))
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--timeout", type=float, default=600.0, help="s per configuration")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--label")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(worker(json.loads(args.worker))), flush=True)
        return
    results = []
    base = dict(backend=args.backend, precision=args.precision, seed=args.seed, time=args.time)
    for dt in args.dt:
        runs = [("stored", n) for n in args.stored_sizes] + [("procedural", n)
                                                              for n in args.sizes]
        for connectivity, n in runs:
            config = dict(base, n=n, dt=dt, connectivity=connectivity)
            results.append(run_worker(__file__, config, args.timeout))
            print(table(results[-1:]).splitlines()[-1], flush=True)
    print()
    print(table(results))
    print("GeNN TRTX: GeNN 4 on a Titan RTX, dt 1 ms, s per biological second "
          "(Knight & Nowotny 2021, procedural_paper scripts/scaling_data.csv)")
    ok = [r for r in results if "error" not in r]
    for r in ok:
        twin = [s for s in ok if s["connectivity"] == "stored" and r["connectivity"] ==
                "procedural" and s["n"] == r["n"] and s["dt"] == r["dt"]]
        if twin:
            print(f"N = {r['n']}, dt {r['dt']:g}: rate procedural {r['rate_hz']:.3f} Hz, "
                  f"stored {twin[0]['rate_hz']:.3f} Hz")
    if args.json:
        write_results(args.json, {"command": " ".join(sys.argv),
                                  "device": ok[0]["device"] if ok else None,
                                  "genn_titan_rtx": {k: {str(n): v for n, v in d.items()}
                                                     for k, d in GENN_TITAN_RTX.items()},
                                  "results": results}, args.label)


if __name__ == "__main__":
    main()
