"""Benchmark: the Potjans & Diesmann (2014) microcircuit and the balanced AdEx network on
1, 2, 4, ... MPI ranks (several ranks may share one GPU).

For each network and each rank count k of --ranks, ``mpiexec -n k`` runs this file with
--worker: every rank builds its part of the network, runs the first step, a --warmup and
then --time ms. Reported per run (times: the slowest rank): build time (worker start to
the end of the first step), simulation wall time and real-time factor, the exchange
interval (the minimum delay, steps), the number of exchanges, wall time in the exchanges
per interval and bytes sent per interval (each rank's figure, mean and max over ranks),
GPU memory in use on the card (all ranks together) and, with --record, the number of
spikes, which must not depend on the number of ranks in float64. Prints a table and
writes JSON.

    python benchmarks/mpi.py --backend gpu --precision float32 --scale 1 \\
        --adex-size 100000 --time 1000 --json benchmarks/results/mpi.json --label h100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # pyNN_neurongpu from this checkout
from common import (  # noqa: E402
    ROOT,
    device_name,
    gpu_memory_used,
    run_worker,
    setup_simulator,
    spike_count,
    write_results,
)

EXAMPLES = {"pd14": ROOT / "examples" / "microcircuit",
            "adex": ROOT / "examples" / "balanced"}


def build(sim, config: dict):
    """The configuration's network: (populations to count spikes of, local synapses)."""
    if config["network"] == "pd14":
        from microcircuit import build_network
        net = build_network(sim, scale=config["scale"], background="poisson",
                            seed=config["seed"], native_rng=True,
                            record_spikes=config["record"])
        return list(net.populations.values()), sum(len(p) for p in net.projections.values())
    from balanced_network import K_E, K_I, build_network
    populations = build_network(sim, config["n"], "adex", config["seed"],
                                record=config["record"])
    n_local = sum(p.local_size for p in populations)
    return list(populations), n_local * (K_E + K_I)   # recurrent synapses onto them


def exchange_figures(sim) -> tuple:
    """(intervals, bytes sent, seconds, bytes per interval so far) of this rank."""
    ex = sim.simulator.state.network.exchange
    if ex is None:
        return 0, 0, 0.0, []
    return ex.intervals, ex.bytes_sent, ex.seconds, list(ex.interval_bytes)


def worker(config: dict) -> dict | None:
    """Build and run one configuration on this rank; rank 0 returns the measurements of
    all ranks, the others None."""
    t0 = time.perf_counter()
    sim = setup_simulator(config, EXAMPLES[config["network"]], config["dt"])
    comm = sim.simulator.state.comm
    populations, synapses = build(sim, config)
    sim.run(config["dt"])  # the first step: finalisation, kernel compilation
    build_s = time.perf_counter() - t0
    sim.run(config["warmup"])
    comm.barrier()
    gpu_mem = gpu_memory_used() if config["backend"] == "gpu" else None
    n0, b0, s0, per0 = exchange_figures(sim)
    t1 = time.perf_counter()
    sim.run(config["time"])
    wall = time.perf_counter() - t1
    n1, b1, s1, per1 = exchange_figures(sim)
    intervals = n1 - n0
    mine = dict(build_s=build_s, sim_s=wall, intervals=intervals, exchange_s=s1 - s0,
                bytes=b1 - b0, max_interval_bytes=max(per1[len(per0):], default=0),
                synapses=synapses,
                spikes=spike_count(populations, gather=False) if config["record"] else None)
    ranks = comm.allgather(mine)
    ex = sim.simulator.state.network.exchange
    neurons = sum(p.size for p in populations)
    sim.end()
    if comm.rank != 0:
        return None
    per_interval = [r["exchange_s"] / r["intervals"] if r["intervals"] else 0.0
                    for r in ranks]
    bytes_per = [r["bytes"] / r["intervals"] if r["intervals"] else 0.0 for r in ranks]
    sim_s = max(r["sim_s"] for r in ranks)
    return dict(
        config, build_s=max(r["build_s"] for r in ranks), sim_s=sim_s,
        rtf=sim_s / (config["time"] / 1000.0), neurons=neurons,
        synapses=sum(r["synapses"] for r in ranks),
        interval_steps=ex.interval if ex is not None else None,
        intervals=ranks[0]["intervals"],
        exchange_s_per_interval_mean=sum(per_interval) / len(ranks),
        exchange_s_per_interval_max=max(per_interval),
        bytes_per_interval_mean=sum(bytes_per) / len(ranks),
        bytes_per_interval_max=max(bytes_per),
        max_interval_bytes=max(r["max_interval_bytes"] for r in ranks),
        spikes=sum(r["spikes"] for r in ranks) if config["record"] else None,
        gpu_mem_gib=gpu_mem, device=device_name(config["backend"]),
        mpi_library=mpi_library(), per_rank=ranks)


def mpi_library() -> str | None:
    """MPI's library and version, where mpi4py is installed."""
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    return MPI.Get_library_version().strip("\x00 \n").splitlines()[0].split(",")[0]


def table(results) -> str:
    head = (f"{'network':<8} {'ranks':>5} {'neurons':>8} {'synapses':>12} {'build s':>8} "
            f"{'sim s':>8} {'RTF':>8} {'int':>4} {'exch':>6} {'ms/int':>13} "
            f"{'bytes/int':>17} {'spikes':>10} {'GPU GiB':>8}")
    lines = [head, "-" * len(head)]
    for r in results:
        if "error" in r:
            lines.append(f"{r['network']:<8} {r['ranks']:>5} ERROR {r['error']}")
            continue
        ms = (f"{1e3 * r['exchange_s_per_interval_mean']:.3f}/"
              f"{1e3 * r['exchange_s_per_interval_max']:.3f}")
        nbytes = f"{r['bytes_per_interval_mean']:.0f}/{r['bytes_per_interval_max']:.0f}"
        spikes = "-" if r["spikes"] is None else str(r["spikes"])
        mem = f"{r['gpu_mem_gib']:.1f}" if r.get("gpu_mem_gib") is not None else "-"
        interval = "-" if r["interval_steps"] is None else str(r["interval_steps"])
        lines.append(f"{r['network']:<8} {r['ranks']:>5} {r['neurons']:>8} "
                     f"{r['synapses']:>12} {r['build_s']:>8.2f} {r['sim_s']:>8.2f} "
                     f"{r['rtf']:>8.3f} {interval:>4} {r['intervals']:>6} {ms:>13} "
                     f"{nbytes:>17} {spikes:>10} {mem:>8}")
    return "\n".join(lines)


def spikes_equal(results) -> dict:
    """Per network: whether every rank count gave the same number of spikes (None
    where fewer than two runs recorded them)."""
    out = {}
    for network in dict.fromkeys(r["network"] for r in results):
        counts = [r.get("spikes") for r in results if r["network"] == network]
        counts = [c for c in counts if c is not None]
        out[network] = len(set(counts)) == 1 if len(counts) > 1 else None
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--ranks", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--networks", nargs="*", default=["pd14", "adex"],
                        choices=tuple(EXAMPLES))
    parser.add_argument("--backend", default="gpu", choices=("gpu", "cpu", "cpu-compiled"))
    parser.add_argument("--precision", default="float32", choices=("float32", "float64"))
    parser.add_argument("--scale", type=float, default=1.0, help="microcircuit scale")
    parser.add_argument("--adex-size", type=int, default=100000,
                        help="neurons of the balanced AdEx network")
    parser.add_argument("--time", type=float, default=1000.0, help="biological time, ms")
    parser.add_argument("--warmup", type=float, default=100.0,
                        help="simulated before the timed run, ms")
    parser.add_argument("--dt", type=float, default=0.1)
    parser.add_argument("--record", action="store_true",
                        help="record spikes and report their number")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--timeout", type=float, default=1200.0, help="per run, s")
    parser.add_argument("--json", default="mpi_benchmark.json")
    parser.add_argument("--label", help="add the results as this run to the --json file "
                        "of labelled runs (benchmarks/results/<name>.json)")
    args = parser.parse_args()

    if args.worker:
        result = worker(json.loads(args.worker))
        if result is not None:
            print("RESULT " + json.dumps(result), flush=True)
        return

    from pyNN_neurongpu.engine.parallel import launcher
    mpiexec = launcher(pass_env=("PYTHONPATH",))
    if mpiexec is None:
        raise SystemExit("needs mpi4py and mpiexec (pip install '.[mpi]')")
    base = dict(simulator="neurongpu", backend=args.backend, precision=args.precision,
                time=args.time, warmup=args.warmup, dt=args.dt, seed=args.seed,
                record=args.record)
    sizes = {"pd14": dict(scale=args.scale), "adex": dict(n=args.adex_size)}
    results = []
    for network in args.networks:
        for k in args.ranks:
            config = dict(base, network=network, ranks=k, **sizes[network])
            results.append(run_worker(__file__, config, args.timeout,
                                      launcher=[*mpiexec, "-n", str(k)]))
            print(table(results[-1:]).splitlines()[-1], flush=True)
    ok = [r for r in results if "error" not in r]
    equal = spikes_equal(ok)
    print()
    print(f"microcircuit scale {args.scale:g}, balanced AdEx N = {args.adex_size}, "
          f"{args.backend} {args.precision}, {args.time:g} ms after {args.warmup:g} ms; "
          f"{ok[0]['device'] if ok else '?'}; {ok[0]['mpi_library'] if ok else '?'}")
    print("ms/int: wall time in the exchange per interval, bytes/int: bytes sent per "
          "interval (each rank's; mean/max over ranks)")
    print(table(results))
    for network, same in equal.items():
        if same is not None:
            print(f"{network}: the same number of spikes on every rank count: "
                  f"{'yes' if same else 'NO'}")
    payload = {"command": " ".join(sys.argv), "launcher": " ".join(mpiexec),
               "device": ok[0]["device"] if ok else None,
               "mpi_library": ok[0]["mpi_library"] if ok else None,
               "host_cpus": os.cpu_count(), "spikes_equal": equal, "results": results}
    write_results(args.json, payload, args.label)
    print(f"results written to {args.json}")


if __name__ == "__main__":
    main()
