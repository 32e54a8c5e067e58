"""Construction time of bulk connectors: pyNN.neurongpu (CPU engine, GPU where CuPy
sees one) against pyNN.nest, with NumpyRNG (identical connectivity in both) and
with each backend's NativeRNG.

    python benchmarks/connectors.py                  # N = 3000 (with NEST) and 10^4
    python benchmarks/connectors.py --sizes 1000 --all-to-all 1000 --nest-max 1000

Prints a table and writes JSON (--json) with the device names.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import cpu_name, write_results  # noqa: E402

import pynn_neurongpu_alias  # noqa: E402

pynn_neurongpu_alias.install()


def cases(n: int, all_to_all: int):
    """(name, pre size, post size, connector factory, synapse factory, native-rng kind)."""
    def fixed_probability(sim, rng):
        return sim.FixedProbabilityConnector(0.1, rng=rng)

    def fixed_number_pre(sim, rng):
        return sim.FixedNumberPreConnector(n // 10, rng=rng)

    def fixed_number_pre_replace(sim, rng):
        return sim.FixedNumberPreConnector(n // 10, with_replacement=True, rng=rng)

    def all_to_all_conn(sim, rng):
        return sim.AllToAllConnector()

    def random_weights(sim, rng):
        return sim.StaticSynapse(weight=sim.RandomDistribution("normal", (0.1, 0.01), rng=rng),
                                 delay=1.0)

    def const_weights(sim, rng):
        return sim.StaticSynapse(weight=0.1, delay=1.0)

    return [
        ("FixedProbability(0.1)", n, n, fixed_probability, const_weights),
        ("FixedProbability(0.1), normal weights", n, n, fixed_probability, random_weights),
        (f"FixedNumberPre({n // 10})", n, n, fixed_number_pre, const_weights),
        (f"FixedNumberPre({n // 10}, replace)", n, n, fixed_number_pre_replace, const_weights),
        ("AllToAll, normal weights", all_to_all, all_to_all, all_to_all_conn, random_weights),
    ]


def time_one(sim, setup_kw, n_pre, n_post, make_conn, make_syn, rng_kind, sync=None, seed=1):
    sim.setup(timestep=0.1, **setup_kw)
    pre = sim.Population(n_pre, sim.IF_curr_exp())
    post = sim.Population(n_post, sim.IF_curr_exp())
    if rng_kind == "numpy":
        rng = sim.NumpyRNG(seed)
    else:
        rng = sim.NativeRNG(seed)
    conn, syn = make_conn(sim, rng), make_syn(sim, rng)
    gc.collect()
    t0 = time.perf_counter()
    prj = sim.Projection(pre, post, conn, syn)
    if sync is not None:
        sync()  # device work finished
    elapsed = time.perf_counter() - t0
    size = prj.size()
    sim.end()
    return elapsed, size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 10_000],
                        help="population sizes N (N x N) for the probabilistic connectors")
    parser.add_argument("--all-to-all", type=int, default=2000, help="AllToAll size")
    parser.add_argument("--nest-max", type=int, default=3000,
                        help="largest N (and AllToAll size) run with pyNN.nest")
    parser.add_argument("--no-nest", action="store_true")
    parser.add_argument("--skip", nargs="*", default=[],
                        help="substrings of case names to leave out")
    parser.add_argument("--rngs", nargs="+", default=["numpy", "native"],
                        choices=["numpy", "native"])
    parser.add_argument("--json", default="connectors_benchmark.json")
    parser.add_argument("--label", help="add the results as this run to the --json file "
                        "of labelled runs (benchmarks/results/<name>.json)")
    args = parser.parse_args()

    import pyNN.neurongpu as ngpu

    from pyNN_neurongpu.engine.backend import Backend, gpu_available

    devices = ["cpu"] + (["gpu"] if gpu_available() else [])
    nest = None
    if not args.no_nest:
        try:
            import pyNN.nest as nest
        except Exception as err:  # NEST missing
            print(f"pyNN.nest unavailable: {err}")
    sync = None
    if "gpu" in devices:
        import cupy
        sync = cupy.cuda.Device().synchronize
    device_names = {d: Backend(d).describe() for d in devices}
    device_names["nest"] = f"NEST on CPU ({cpu_name()}), 1 thread"
    results = []
    header = f"{'connector':42s} {'N':>6s} {'rng':>6s} {'backend':>8s} {'synapses':>11s} " \
             f"{'time (s)':>9s} {'vs nest':>8s}"
    print(f"CPU: {cpu_name()}; devices: {device_names}")
    print(header)
    print("-" * len(header))
    def write():  # after every case, so that a run cut short keeps what it measured
        write_results(args.json, {"devices": device_names, "results": results}, args.label)

    # warm-up: compile device kernels and load code paths once, outside the timings
    for _name, n_pre, n_post, make_conn, make_syn in cases(200, 200):
        for rng_kind in args.rngs:
            for d in devices:
                time_one(ngpu, {"backend": d, "precision": "float64"}, n_pre, n_post,
                         make_conn, make_syn, rng_kind, sync if d == "gpu" else None)

    done = set()
    for n in args.sizes:
        for name, n_pre, n_post, make_conn, make_syn in cases(n, args.all_to_all):
            if any(s in name for s in args.skip) or (name, n_pre, n_post) in done:
                continue
            done.add((name, n_pre, n_post))
            for rng_kind in args.rngs:
                nest_time = None
                runs = [(d, ngpu, {"backend": d, "precision": "float64"}) for d in devices]
                if nest is not None and max(n_pre, n_post) <= args.nest_max:
                    kw = {"spike_precision": "on_grid", "verbosity": "error"}
                    runs.append(("nest", nest, kw))
                rows = []
                for label, module, kw in runs:
                    try:
                        elapsed, size = time_one(module, kw, n_pre, n_post, make_conn,
                                                 make_syn, rng_kind,
                                                 sync if label == "gpu" else None)
                    except Exception as err:  # e.g. pyNN.nest's NativeRNG with this connector
                        print(f"{name:42s} {n_pre:6d} {rng_kind:>6s} {label:>8s} "
                              f"failed: {type(err).__name__}: {str(err)[:60]}")
                        continue
                    rows.append((label, elapsed, size))
                    if label == "nest":
                        nest_time = elapsed
                for label, elapsed, size in rows:
                    ratio = "" if nest_time is None or label == "nest" else \
                        f"{nest_time / elapsed:7.1f}x"
                    print(f"{name:42s} {n_pre:6d} {rng_kind:>6s} {label:>8s} {size:11d} "
                          f"{elapsed:9.3f} {ratio:>8s}", flush=True)
                    results.append({"connector": name, "n_pre": n_pre, "n_post": n_post,
                                    "rng": rng_kind, "backend": label,
                                    "device": device_names[label], "synapses": size,
                                    "seconds": elapsed,
                                    "speedup_vs_nest": (nest_time / elapsed
                                                        if nest_time and label != "nest"
                                                        else None)})
                write()
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
