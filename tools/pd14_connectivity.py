"""Measure the microcircuit as built: synapse numbers, in- and out-degrees, delays (in
steps), weights per pair of populations, and the background input, for microcircuit.py on
pyNN.neurongpu and for pd14_nest_native.py on NEST, without simulating.

    python tools/pd14_connectivity.py ours --scale 0.1 --seed 1 --out ours.npz
    python tools/pd14_connectivity.py ours --scale 1 --backend gpu --native-rng --out g.npz
    python tools/pd14_connectivity.py nest --scale 0.1 --seed 1 --out nest.npz
    python tools/pd14_connectivity.py compare ours.npz nest.npz

For each (target, source) pair it keeps the synapse count, mean / variance / range of the
in-degree over the target cells and of the out-degree over the source cells (with their
expected values for sources and targets drawn uniformly with replacement: binomial), the
histogram of delays in steps and the weight moments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

EXAMPLE_DIR = Path(__file__).resolve().parents[1] / "examples" / "microcircuit"
sys.path.insert(0, str(EXAMPLE_DIR))

from pd14_params import POPULATIONS  # noqa: E402

MAX_STEPS = 64


def _pair_stats(xp, pre, post, weight, steps, n_pre, n_post):
    """Statistics of one projection from local pre/post indices, weights and delay steps."""
    indeg = xp.bincount(post, minlength=n_post)
    outdeg = xp.bincount(pre, minlength=n_pre)
    hist = xp.bincount(xp.minimum(steps, MAX_STEPS), minlength=MAX_STEPS + 1)

    def host(a):
        return a.get() if hasattr(a, "get") else np.asarray(a)

    n = int(pre.shape[0])
    wsum = xp.bincount(post, weights=weight, minlength=n_post)
    return {
        "indeg_vec": host(indeg).astype(np.int32),
        "outdeg_vec": host(outdeg).astype(np.int32),
        "wsum_vec": host(wsum).astype(np.float32),
        "n": n,
        "indeg": np.array([float(indeg.mean()), float(indeg.var()), int(indeg.min()),
                           int(indeg.max())]),
        "outdeg": np.array([float(outdeg.mean()), float(outdeg.var()), int(outdeg.min()),
                            int(outdeg.max())]),
        "indeg_expected_var": n / n_post * (1 - 1 / n_post),
        "outdeg_expected_var": n / n_pre * (1 - 1 / n_pre),
        "steps": host(hist).astype(np.int64),
        "weight": np.array([float(weight.mean()), float(weight.std()), float(weight.min()),
                            float(weight.max())]),
    }


def measure_ours(scale, seed, native=False, backend="cpu", precision="float64", k_scale=None):
    """Build microcircuit.py on pyNN.neurongpu; return the statistics dict."""
    try:
        import pynn_neurongpu_alias  # a checkout without an install
    except ImportError:
        pass
    else:
        pynn_neurongpu_alias.install()
    import microcircuit
    import pyNN.neurongpu as sim

    sim.setup(timestep=0.1, min_delay=0.1, backend=backend, precision=precision,
              rng_seed=seed)
    net = microcircuit.build_network(sim, scale=scale, k_scale=k_scale, seed=seed,
                                     native_rng=native, record_spikes=False)
    be = sim.simulator.state.backend
    xp = be.xp
    dt = sim.get_time_step()
    out = {"dt": dt}
    for (target, source), proj in net.projections.items():
        sg = proj._sg
        pre = sg.pre.astype(np.int64) - int(proj._pre_gids[0])
        post = sg.post.astype(np.int64) - int(proj._post_gids[0])
        w = sg.weight.astype(np.float64)
        out[(target, source)] = _pair_stats(xp, pre, post, w, sg.delay.astype(np.int64),
                                            proj.pre.size, proj.post.size)
    for name, (sources, proj) in net.background.items():
        sg = proj._sg
        out[("bg", name)] = {"rate": float(np.unique(sources.get("rate"))[0]),
                             "n": proj._sg.size,
                             "weight": float(np.unique(be.to_host(sg.weight))[0]),
                             "steps": np.unique(be.to_host(sg.delay)).astype(np.int64)}
    for name, pop in net.populations.items():
        v = be.to_host(pop._group.state["v"])[be.to_host(pop._local())]
        i_offset = np.unique(np.asarray(pop.get("i_offset"), float))
        out[("pop", name)] = {"size": pop.size, "i_offset": float(i_offset[0]),
                              "v0": np.array([v.mean(), v.std()])}
    sim.end()
    return out


def measure_nest(scale, seed, threads=1, k_scale=None):
    """Build pd14_nest_native.py's network; return the statistics dict."""
    import nest
    import pd14_nest_native

    net = pd14_nest_native.build_network(scale=scale, k_scale=k_scale, seed=seed,
                                         threads=threads, record_spikes=False)
    dt = nest.resolution
    out = {"dt": dt}
    for target in POPULATIONS:
        tp = net.populations[target]
        for source in POPULATIONS:
            sp = net.populations[source]
            conns = nest.GetConnections(source=sp, target=tp)
            if len(conns) == 0:
                continue
            d = conns.get(["source", "target", "weight", "delay"])
            pre = np.asarray(d["source"], np.int64) - sp[0].global_id
            post = np.asarray(d["target"], np.int64) - tp[0].global_id
            steps = np.rint(np.asarray(d["delay"]) / dt).astype(np.int64)
            out[(target, source)] = _pair_stats(np, pre, post,
                                                np.asarray(d["weight"]) / 1000.0, steps,
                                                len(sp), len(tp))
    for name, gen in net.background.items():
        conns = nest.GetConnections(source=gen)
        out[("bg", name)] = {"rate": float(gen.get("rate")), "n": len(conns),
                             "weight": float(np.unique(conns.get("weight"))[0]) / 1000.0,
                             "steps": np.unique(np.rint(np.asarray(conns.get("delay")) / dt))
                             .astype(np.int64)}
    for name, pop in net.populations.items():
        v = np.asarray(pop.get("V_m"))
        out[("pop", name)] = {"size": len(pop), "i_offset": float(pop[0].get("I_e")) / 1000.0,
                              "v0": np.array([v.mean(), v.std()])}
    return out


def degree_z_scores(stats, min_cells=100):
    """Per pair of populations with at least `min_cells` targets (sources): the deviation
    of the in-degree (out-degree) variance from the binomial one, in standard errors of
    a sample variance, sqrt(2 / cells)."""
    z_in, z_out = [], []
    for key, value in stats.items():
        if not (isinstance(key, tuple) and key[0] in POPULATIONS):
            continue
        for kind, z in (("in", z_in), ("out", z_out)):
            cells = value[f"{kind}deg_vec"].size
            if cells >= min_cells:
                ratio = value[f"{kind}deg"][1] / value[f"{kind}deg_expected_var"]
                z.append((ratio - 1.0) / np.sqrt(2.0 / cells))
    return np.array(z_in), np.array(z_out)


def save(stats, filename):
    flat = {}
    for key, value in stats.items():
        prefix = key if isinstance(key, str) else "|".join(key)
        if isinstance(value, dict):
            for k, v in value.items():
                if v is not None:
                    flat[f"{prefix}|{k}"] = np.asarray(v)
        else:
            flat[prefix] = np.asarray(value)
    np.savez(filename, **flat)


def load(filename):
    with np.load(filename) as f:
        return {k: f[k] for k in f.files}


def compare(files):
    """Print the statistics of several saved measurements side by side."""
    runs = [load(f) for f in files]
    print("files:", *files)
    for target in POPULATIONS:
        for source in POPULATIONS:
            key = f"{target}|{source}"
            if f"{key}|n" not in runs[0]:
                continue
            print(f"\n{source}->{target}")
            for r, f in zip(runs, files):
                ind, outd, st = r[f"{key}|indeg"], r[f"{key}|outdeg"], r[f"{key}|steps"]
                mean_steps = (st * np.arange(st.size)).sum() / st.sum()
                w = r[f"{key}|weight"]
                print(f"  {Path(f).stem:>14}: n {int(r[key + '|n']):9d}  in mean {ind[0]:8.2f} "
                      f"var {ind[1]:8.2f} (binom {float(r[key + '|indeg_expected_var']):8.2f}) "
                      f"[{ind[2]:.0f},{ind[3]:.0f}]  out var {outd[1]:8.2f} "
                      f"(binom {float(r[key + '|outdeg_expected_var']):8.2f})  steps mean "
                      f"{mean_steps:.4f} p1..4 {np.round(st[1:5] / st.sum(), 4)}  "
                      f"w {w[0]:.6f} sd {w[1]:.6f} [{w[2]:.5f},{w[3]:.5f}]")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("side", choices=("ours", "nest", "compare"))
    parser.add_argument("files", nargs="*")
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--k-scale", type=float)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--native-rng", action="store_true")
    parser.add_argument("--backend", default="cpu")
    parser.add_argument("--precision", default="float64")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out")
    options = parser.parse_args(argv)
    if options.side == "compare":
        return compare(options.files)
    if options.side == "ours":
        stats = measure_ours(options.scale, options.seed, options.native_rng, options.backend,
                             options.precision, options.k_scale)
    else:
        stats = measure_nest(options.scale, options.seed, options.threads, options.k_scale)
    if options.out:
        save(stats, options.out)
    for name in POPULATIONS:
        bg, pop = stats[("bg", name)], stats[("pop", name)]
        print(f"{name}: size {pop['size']} i_offset {pop['i_offset']:.6g} v0 {pop['v0']} "
              f"bg rate {bg['rate']:g} n {bg['n']} w {bg['weight']:.6g} steps {bg['steps']}")


if __name__ == "__main__":
    main()
