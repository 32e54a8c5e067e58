"""Capacity: peak memory per synapse while each connector builds a projection and the
network finalises its delivery tables, float32 and float64, and the largest build the
device's free memory allows.

On the CPU the probe is tracemalloc (NumPy reports its allocations to it); on a GPU it is
CuPy's memory pool (bytes in use, sampled before and after, its high-water mark through a
hook on the pool's allocator). Figures are bytes per synapse: stored (what the network keeps
after finalisation), peak (the highest total while building and finalising) and transient
(peak minus stored).

Each configuration is built at n and 4n synapses: the growth of the peak between them is the
peak per synapse of a large build, the rest a fixed working buffer.

    python benchmarks/capacity.py [--backend cpu|gpu] [--synapses 1000000] [--json PATH]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import device_name, write_results  # noqa: E402

CONNECTORS = ("all_to_all", "fixed_probability", "fixed_probability_native",
              "fixed_number_pre", "fixed_number_pre_native", "fixed_number_post",
              "fixed_number_post_native", "fixed_total_number", "fixed_total_number_native",
              "from_list", "distance_dependent", "procedural_fixed_probability")


def _connector(sim, name, n_pre, n_post, n_syn):
    p = n_syn / (n_pre * n_post)
    native = sim.NativeRNG(7)
    numpy_rng = sim.NumpyRNG(7)
    if name == "all_to_all":
        return sim.AllToAllConnector()
    if name.startswith("fixed_probability") or name.startswith("procedural"):
        return sim.FixedProbabilityConnector(p, rng=native if "native" in name
                                             or "procedural" in name else numpy_rng)
    if name.startswith("fixed_number_pre"):
        return sim.FixedNumberPreConnector(n_syn // n_post, with_replacement=True,
                                           rng=native if "native" in name else numpy_rng)
    if name.startswith("fixed_number_post"):
        return sim.FixedNumberPostConnector(n_syn // n_pre, with_replacement=True,
                                            rng=native if "native" in name else numpy_rng)
    if name.startswith("fixed_total_number"):
        return sim.FixedTotalNumberConnector(n_syn, rng=native if "native" in name
                                             else numpy_rng)
    if name == "from_list":
        rs = np.random.default_rng(7)
        conns = np.column_stack([rs.integers(0, n_pre, n_syn), rs.integers(0, n_post, n_syn)])
        return sim.FromListConnector(conns.astype(float))
    if name == "distance_dependent":
        # d in 0..n, so about (1 - d/n) of pairs connect at d: scaled to the wanted count
        return sim.DistanceDependentProbabilityConnector(f"{2 * p} * (d < {n_pre})",
                                                         rng=numpy_rng)
    raise ValueError(name)


class _Probe:
    """Bytes in use and their high-water mark: tracemalloc (CPU) or CuPy's pool (GPU)."""

    def __init__(self, gpu):
        self.gpu = gpu

    def start(self):
        gc.collect()
        if self.gpu:
            import cupy
            self.pool = cupy.get_default_memory_pool()
            self.base = self.pool.used_bytes()
            self.high = self.base
            probe = self

            def malloc(size, _inner=self.pool.malloc):
                mem = _inner(size)
                probe.high = max(probe.high, probe.pool.used_bytes())
                return mem
            self._malloc = malloc
            cupy.cuda.set_allocator(malloc)
        else:
            tracemalloc.start()
            tracemalloc.reset_peak()
            self.base = tracemalloc.get_traced_memory()[0]

    def peek(self):
        """(bytes in use, high-water mark) so far, then the mark restarts from now."""
        if self.gpu:
            now = self.pool.used_bytes()
            high, self.high = self.high, now
            return now - self.base, high - self.base
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        return current - self.base, peak - self.base

    def stop(self):
        gc.collect()
        if self.gpu:
            import cupy
            cupy.cuda.set_allocator(self.pool.malloc)
            return self.pool.used_bytes() - self.base, self.high - self.base
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return current - self.base, peak - self.base


def measure(backend, precision, name, n_syn):
    """Stored and peak bytes per synapse of building (and finalising) one projection."""
    import pyNN.neurongpu as sim

    n_pre = n_post = int(round(np.sqrt(n_syn)))
    n_syn = n_pre * n_post if name == "all_to_all" else n_syn
    extra = {"connectivity": "procedural"} if name.startswith("procedural") else {}
    try:
        sim.setup(timestep=0.1, backend=backend, precision=precision, rng_seed=3, **extra)
    except TypeError:
        return None
    if name == "distance_dependent":
        from pyNN.space import Line
        grid = Line(dx=1.0)
        pre = sim.Population(n_pre, sim.SpikeSourceArray(), structure=grid)
        post = sim.Population(n_post, sim.IF_curr_exp(), structure=grid)
    else:
        pre = sim.Population(n_pre, sim.SpikeSourceArray())
        post = sim.Population(n_post, sim.IF_curr_exp())
    connector = _connector(sim, name, n_pre, n_post, n_syn)
    synapse = sim.StaticSynapse(weight=0.1, delay=1.0)
    probe = _Probe(backend == "gpu")
    probe.start()
    t0 = time.perf_counter()
    try:
        prj = sim.Projection(pre, post, connector, synapse)
        built, peak_build = probe.peek()
        sim.simulator.state.network._finalise()
    except Exception as err:  # noqa: BLE001  (a connector a version cannot do is reported)
        probe.stop()
        return {"connector": name, "error": f"{type(err).__name__}: {err}"}
    elapsed = time.perf_counter() - t0
    stored, peak = probe.stop()
    n = len(prj)
    n = max(int(n), 1)
    del prj
    sim.end()
    return {"connector": name, "precision": precision, "synapses": n,
            "stored_bytes": int(stored), "peak_bytes": int(max(peak, peak_build)),
            "stored_B_per_synapse": round(stored / n, 2),
            "peak_B_per_synapse": round(max(peak, peak_build) / n, 2),
            "transient_B_per_synapse": round((max(peak, peak_build) - stored) / n, 2),
            "peak_build_B_per_synapse": round(peak_build / n, 2),
            "peak_finalise_B_per_synapse": round(peak / n, 2),
            "built_B_per_synapse": round(built / n, 2),
            "build_s": round(elapsed, 3)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", default="cpu", choices=("cpu", "gpu"))
    parser.add_argument("--synapses", type=int, default=1_000_000)
    parser.add_argument("--precision", nargs="*", default=["float32", "float64"])
    parser.add_argument("--connectors", nargs="*", default=list(CONNECTORS))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--label", help="add the results as this run to the --json file "
                        "of labelled runs (benchmarks/results/<name>.json)")
    args = parser.parse_args(argv)
    import pynn_neurongpu_alias
    pynn_neurongpu_alias.install()
    from pyNN_neurongpu.engine import Backend, memory

    rows = []
    for precision in args.precision:
        for name in args.connectors:
            row = measure(args.backend, precision, name, args.synapses)
            if row is None:
                continue
            big = measure(args.backend, precision, name, 4 * args.synapses)
            if "error" not in row and big and "error" not in big:
                # growth between n and 4n: bytes per synapse, and what does not grow
                dn = big["synapses"] - row["synapses"]
                marginal = (big["peak_bytes"] - row["peak_bytes"]) / dn
                row["marginal_peak_B_per_synapse"] = round(marginal, 2)
                row["marginal_stored_B_per_synapse"] = round(
                    (big["stored_bytes"] - row["stored_bytes"]) / dn, 2)
                row["fixed_buffer_MiB"] = round(
                    (row["peak_bytes"] - marginal * row["synapses"]) / 2**20, 1)
            rows.append(row)
    device = device_name(args.backend)
    print(f"device: {device}; {args.synapses:,} synapses per projection")
    print("bytes per synapse at n synapses (stored, peak, peak - stored, peak while building,"
          " peak while finalising); growth of the peak and of the stored bytes per added synapse"
          " from n to 4n (m.peak, m.stor), and the fixed buffer (MiB) that does not grow")
    print(f"{'connector':30s} {'precision':9s} {'stored':>8s} {'peak':>8s} {'transient':>9s}"
          f" {'p.build':>8s} {'p.final':>8s} {'m.peak':>7s} {'m.stor':>7s} {'fixed':>6s}"
          f" {'build s':>8s}")
    for row in rows:
        if "error" in row:
            print(f"{row['connector']:30s} {row['error']}")
            continue
        print(f"{row['connector']:30s} {row['precision']:9s} {row['stored_B_per_synapse']:8.2f}"
              f" {row['peak_B_per_synapse']:8.2f} {row['transient_B_per_synapse']:9.2f}"
              f" {row['peak_build_B_per_synapse']:8.2f} {row['peak_finalise_B_per_synapse']:8.2f}"
              f" {row.get('marginal_peak_B_per_synapse', float('nan')):7.2f}"
              f" {row.get('marginal_stored_B_per_synapse', float('nan')):7.2f}"
              f" {row.get('fixed_buffer_MiB', float('nan')):6.1f}"
              f" {row['build_s']:8.3f}")
    estimates = {}
    for precision in args.precision:
        backend = Backend(args.backend, precision)
        from pyNN_neurongpu.connectors import BUILD_BYTES
        rule = memory.synapse_bytes(backend) + memory.FINALISE_TRANSIENT
        other = rule + BUILD_BYTES
        free = memory.available_bytes(backend)
        estimates[precision] = {"free_bytes": int(free),
                                "bytes_per_synapse_estimate_counter_rules": rule,
                                "bytes_per_synapse_estimate_other_connectors": other,
                                "max_synapses_counter_rules": int(free // rule),
                                "max_synapses_other_connectors": int(free // other)}
        print(f"{precision}: {free / 2**30:.1f} GiB free; the estimate counts {rule} B per "
              f"synapse for counter-based rules (about {free // rule:,} synapses per build), "
              f"{other} B for other connectors (about {free // other:,})")
    if args.json:
        write_results(args.json, {"device": device, "backend": args.backend,
                                  "synapses": args.synapses, "rows": rows,
                                  "estimates": estimates}, args.label)


if __name__ == "__main__":
    main()
