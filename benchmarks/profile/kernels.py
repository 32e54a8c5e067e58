"""Time the GPU step's launches back to back (CUDA events around 500 launches of one kind),
for networks made of single families, to see what each costs.

    python benchmarks/profile/kernels.py [--n 77169] [--precision float32]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pyNN_neurongpu.engine import Backend, Network  # noqa: E402
from pyNN_neurongpu.engine.gpu import GpuStep  # noqa: E402


def build(kind, n, precision):
    net = Network(Backend("gpu", precision, seed=1), dt=0.1)
    rng = np.random.default_rng(1)
    nrn = None
    if "iaf" in kind:  # asynchronous firing at ~15 Hz
        nrn = net.add_neurons("iaf_psc_exp", n, {"i_offset": rng.uniform(0.7, 0.9, n)},
                              {"v": rng.uniform(-65.0, -50.0, n)})
    if "poisson" in kind:
        src = net.add_neurons("poisson_source", n, {"rate": 16000.0})
        if nrn is not None:
            net.connect(src.gids, nrn.gids, 0.01, 15, "excitatory")
    if "recurrent" in kind:
        k = 400
        pre = rng.integers(0, n, n * k) + nrn.gid_start
        post = np.repeat(nrn.gids, k)
        net.connect(pre, post, 0.001, rng.integers(1, 30, n * k), "excitatory")
    return net


def time_steps(step, graphs, repeats=500):
    """Mean time (us) of a whole step, launched back to back or replayed as graphs."""
    import cupy
    stream = cupy.cuda.Stream(non_blocking=True)
    with stream:
        if graphs:
            stream.begin_capture()
            for _ in range(100):
                step._launch_step()
            graph = stream.end_capture()
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record(stream)
        for _ in range(repeats // 100 if graphs else repeats):
            if graphs:
                graph.launch(stream)
            else:
                step._launch_step()
        stop.record(stream)
        stop.synchronize()
    return cupy.cuda.get_elapsed_time(start, stop) / repeats * 1000.0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=77169)
    parser.add_argument("--precision", default="float32")
    args = parser.parse_args()
    for kind in ("iaf", "poisson", "iaf+poisson", "iaf+recurrent", "iaf+poisson+recurrent"):
        net = build(kind, args.n, args.precision)
        net.run(10)
        for g in net.groups.values():
            g.prepare()
            g.extra = g.model.prepare_run(net.backend, g, net.step)
        step = GpuStep(net, 1000)
        step._begin_chunk(net.step, 100)
        labels = ", ".join(label for label, _ in step._launches())
        plain, graph = time_steps(step, False), time_steps(step, True, 1000)
        print(f"{kind:<24} step {plain:7.2f} us, graph-replayed {graph:7.2f} us   [{labels}]")


if __name__ == "__main__":
    main()
