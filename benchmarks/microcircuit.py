"""Benchmark: the Potjans & Diesmann (2014) microcircuit on pyNN.neurongpu (GPU and/or
CPU) and, with --nest, on pyNN.nest in the same invocation.

Every configuration runs in a fresh process. Reported per configuration: build time
(process start to the end of the first time step: imports, network construction,
connectivity finalisation and kernel compilation), simulation wall time, real-time factor
(wall time / biological time), recurrent synaptic events per second of wall time, GPU
memory in use, and the device. Prints a table and writes JSON.

    python benchmarks/microcircuit.py --scale 1 --time 10000 --devices gpu
    python benchmarks/microcircuit.py --scale 0.1 --time 1000 --devices gpu cpu --nest 16
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
    setup_simulator,
    write_results,
)

EXAMPLE = ROOT / "examples" / "microcircuit"


def worker(config: dict) -> dict:
    """Build and run one configuration; returns its measurements."""
    t0 = time.perf_counter()
    dt = config["dt"]
    sim = setup_simulator(config, EXAMPLE, dt)
    simulator = config["simulator"]
    from microcircuit import build_network

    net = build_network(sim, scale=config["scale"], k_scale=config.get("k_scale"),
                        background=config["background"], seed=config["seed"],
                        native_rng=config["native_rng"], record_spikes=config["record"])
    sim.run(dt)  # the first step: connectivity finalisation, kernel compilation
    build = time.perf_counter() - t0
    gpu_mem = gpu_memory_used() if config.get("backend") == "gpu" else None

    t1 = time.perf_counter()
    sim.run(config["time"])
    wall = time.perf_counter() - t1

    n_cells = sum(p.size for p in net.populations.values())
    n_syn = sum(len(p) for p in net.projections.values())
    result = dict(config, build_s=build, sim_s=wall, rtf=wall / (config["time"] / 1000.0),
                  neurons=n_cells, synapses=n_syn, gpu_mem_gib=gpu_mem,
                  device=device_name(config.get("backend", "cpu"))
                  if simulator == "neurongpu" else device_name("cpu"))
    if config["record"]:
        # recurrent synaptic events: each spike of a cell of population j reaches
        # (synapses from j) / N_j targets on average
        out_degree = {}
        for (_target, source), prj in net.projections.items():
            out_degree[source] = out_degree.get(source, 0) + len(prj)
        events, spikes = 0.0, 0
        for name, pop in net.populations.items():
            n = sum(len(st) for st in pop.get_data("spikes").segments[0].spiketrains)
            spikes += n
            events += n * out_degree.get(name, 0) / pop.size
        result.update(spikes=spikes, rate_hz=spikes / n_cells / ((config["time"] + dt) / 1e3),
                      events_per_s=events / wall)
    sim.end()
    return result


def table(results) -> str:
    head = (f"{'simulator':<10} {'device':<34} {'prec':<7} {'rec':<4} {'neurons':>8} "
            f"{'synapses':>12} {'build s':>8} {'sim s':>8} {'RTF':>8} {'Hz':>6} "
            f"{'events/s':>10} {'GPU GiB':>8}")
    lines = [head, "-" * len(head)]
    for r in results:
        if "error" in r:
            lines.append(f"{r['simulator']:<10} {r.get('backend', ''):<34} ERROR {r['error']}")
            continue
        label = r["simulator"] if r["simulator"] == "nest" else f"ngpu-{r['backend']}"
        if r["simulator"] == "nest":
            label += f"/{r['threads']}t"
        ev = f"{r['events_per_s']:.3g}" if "events_per_s" in r else "-"
        hz = f"{r['rate_hz']:.2f}" if "rate_hz" in r else "-"
        mem = f"{r['gpu_mem_gib']:.1f}" if r.get("gpu_mem_gib") is not None else "-"
        lines.append(f"{label:<10} {r['device'][:34]:<34} {r.get('precision', 'f64')[:7]:<7} "
                     f"{'yes' if r['record'] else 'no':<4} {r['neurons']:>8} {r['synapses']:>12} "
                     f"{r['build_s']:>8.2f} {r['sim_s']:>8.2f} {r['rtf']:>8.3f} {hz:>6} {ev:>10} "
                     f"{mem:>8}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--k-scale", type=float, default=None)
    parser.add_argument("--time", type=float, default=1000.0, help="biological time, ms")
    parser.add_argument("--dt", type=float, default=0.1)
    parser.add_argument("--devices", nargs="*", default=["gpu"], choices=("gpu", "cpu"))
    parser.add_argument("--precision", nargs="*", default=["float64"],
                        choices=("float32", "float64"))
    parser.add_argument("--record", nargs="*", default=["yes", "no"], choices=("yes", "no"),
                        help="run with and/or without spike recording")
    parser.add_argument("--background", default="poisson", choices=("poisson", "dc"))
    parser.add_argument("--nest", type=int, default=0, metavar="THREADS",
                        help="also run pyNN.nest with this many threads")
    parser.add_argument("--numpy-rng", action="store_true",
                        help="draw connectivity with NumpyRNG (PyNN-identical, slow to build)")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--timeout", type=float, default=3000.0)
    parser.add_argument("--json", default="microcircuit_benchmark.json")
    parser.add_argument("--label", help="add the results as this run to the --json file "
                        "of labelled runs (benchmarks/results/<name>.json)")
    args = parser.parse_args()

    if args.worker:
        print("RESULT " + json.dumps(worker(json.loads(args.worker))), flush=True)
        return

    base = dict(scale=args.scale, k_scale=args.k_scale, time=args.time, dt=args.dt,
                background=args.background, seed=args.seed, native_rng=not args.numpy_rng)
    configs = []
    for backend in args.devices:
        for precision in args.precision:
            for record in args.record:
                configs.append(dict(base, simulator="neurongpu", backend=backend,
                                    precision=precision, record=record == "yes"))
    if args.nest:
        configs.append(dict(base, simulator="nest", threads=args.nest, precision="float64",
                            record=True, native_rng=False))
    results = []
    for config in configs:
        results.append(run_worker(__file__, config, args.timeout))
        print(table(results[-1:]).splitlines()[-1], flush=True)
    print()
    print(f"microcircuit, scale {args.scale:g}, {args.time:g} ms biological time, "
          f"{args.background} background")
    print(table(results))
    write_results(args.json, {"command": " ".join(sys.argv), "results": results}, args.label)
    print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
