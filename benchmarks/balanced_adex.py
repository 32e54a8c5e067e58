"""Benchmark: the balanced AdEx (or Izhikevich) network of examples/balanced for N from
10^4 to 10^6 on pyNN.neurongpu, and on pyNN.nest in the same invocation at the sizes
given to --nest-sizes.

Every configuration runs in a fresh process. Reported per configuration: build time
(process start to the end of the first step), wall time per second of biological time
(the real-time factor), mean firing rate, GPU memory in use, the device. Prints a table,
writes JSON and, with --plot, a PNG of time per biological second against N.

    python benchmarks/balanced_adex.py --sizes 10000 100000 1000000 --nest 16 \\
        --nest-sizes 10000 --plot docs/images/balanced_adex.png
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

EXAMPLE = ROOT / "examples" / "balanced"


def worker(config: dict) -> dict:
    """Build and run one configuration; returns its measurements."""
    t0 = time.perf_counter()
    sim = setup_simulator(config, EXAMPLE)
    from balanced_network import build_network, mean_rate

    populations = build_network(sim, config["n"], config["model"], config["seed"])
    _progress(f"network built after {time.perf_counter() - t0:.1f} s")
    sim.run(0.1)
    build = time.perf_counter() - t0
    _progress(f"first step done after {build:.1f} s")
    gpu_mem = gpu_memory_used() if config.get("backend") == "gpu" else None
    t1 = time.perf_counter()
    sim.run(config["time"])
    wall = time.perf_counter() - t1
    _progress(f"simulated {config['time']} ms in {wall:.1f} s")
    result = dict(config, build_s=build, sim_s=wall, rtf=wall / (config["time"] / 1000.0),
                  rate_hz=mean_rate(populations, config["time"] + 0.1), gpu_mem_gib=gpu_mem,
                  synapses=config["n"] * 1001,
                  device=device_name(config.get("backend", "cpu")))
    sim.end()
    return result


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table(results) -> str:
    head = (f"{'simulator':<12} {'device':<30} {'model':<10} {'prec':<7} {'N':>9} "
            f"{'synapses':>13} {'build s':>8} {'s per bio s':>12} {'rate Hz':>8} {'GPU GiB':>8}")
    lines = [head, "-" * len(head)]
    for r in results:
        label = (f"nest/{r['threads']}t" if r["simulator"] == "nest"
                 else f"ngpu-{r['backend']}")
        if "error" in r:
            lines.append(f"{label:<12} N={r['n']} ERROR {r['error']}")
            continue
        mem = f"{r['gpu_mem_gib']:.1f}" if r.get("gpu_mem_gib") is not None else "-"
        lines.append(f"{label:<12} {r['device'][:30]:<30} {r['model']:<10} "
                     f"{r.get('precision', 'f64')[:7]:<7} {r['n']:>9} {r['synapses']:>13,} "
                     f"{r['build_s']:>8.2f} {r['rtf']:>12.3f} {r['rate_hz']:>8.2f} {mem:>8}")
    return "\n".join(lines)


def plot(results, path: str, model: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    series = {}
    for r in results:
        if "error" in r:
            continue
        label = (f"pyNN.nest, {r['threads']} threads" if r["simulator"] == "nest"
                 else f"pyNN.neurongpu {r['backend'].upper()} {r['precision']}")
        series.setdefault(label, []).append((r["n"], r["rtf"]))
    for label, points in series.items():
        n, rtf = zip(*sorted(points))
        ax.loglog(n, rtf, "o-", label=label)
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xlabel("neurons N (1000 synapses each)")
    ax.set_ylabel("wall time per biological second (s)")
    ax.set_title(f"balanced {model} network")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="adex", choices=("adex", "izhikevich"))
    parser.add_argument("--sizes", type=int, nargs="*", default=[10000, 100000, 1000000])
    parser.add_argument("--time", type=float, default=1000.0, help="biological time, ms")
    parser.add_argument("--devices", nargs="*", default=["gpu"], choices=("gpu", "cpu"))
    parser.add_argument("--precision", nargs="*", default=["float32"],
                        choices=("float32", "float64"))
    parser.add_argument("--nest", type=int, default=0, metavar="THREADS",
                        help="also run pyNN.nest with this many threads")
    parser.add_argument("--nest-sizes", type=int, nargs="*", default=[10000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3000.0)
    parser.add_argument("--json", default="balanced_benchmark.json")
    parser.add_argument("--label", help="add the results as this run to the --json file "
                        "of labelled runs (benchmarks/results/<name>.json)")
    parser.add_argument("--plot", default=None, help="write a PNG of time vs N here")
    args = parser.parse_args()

    if args.worker:
        print("RESULT " + json.dumps(worker(json.loads(args.worker))), flush=True)
        return

    base = dict(model=args.model, time=args.time, seed=args.seed)
    configs = [dict(base, simulator="neurongpu", backend=device, precision=precision, n=n)
               for device in args.devices for precision in args.precision
               for n in args.sizes]
    if args.nest:
        configs += [dict(base, simulator="nest", threads=args.nest, precision="float64", n=n)
                    for n in args.nest_sizes]
    results = []
    for config in configs:
        results.append(run_worker(__file__, config, args.timeout))
        print(table(results[-1:]).splitlines()[-1], flush=True)
    print()
    print(f"balanced {args.model} network, {args.time:g} ms biological time")
    print(table(results))
    write_results(args.json, {"command": " ".join(sys.argv), "results": results}, args.label)
    print(f"results written to {args.json}")
    if args.plot:
        plot(results, args.plot, args.model)
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
