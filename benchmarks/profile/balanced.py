"""Where the balanced network's step time goes on the GPU (examples/balanced): build time,
then the mean GPU time of each launch of a step, timed one launch at a time.

    python benchmarks/profile/balanced.py --n 1000000 --model adex [--precision float32]
"""

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "balanced"))
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100000)
    parser.add_argument("--model", default="adex", choices=("adex", "izhikevich"))
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--warmup", type=float, default=100.0, help="ms before profiling")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--no-recurrent", action="store_true")
    parser.add_argument("--no-drive", action="store_true")
    args = parser.parse_args()

    import pynn_neurongpu_alias
    pynn_neurongpu_alias.install()
    import cupy
    import pyNN.neurongpu as sim
    from balanced_network import build_network

    from pyNN_neurongpu.engine.gpu import GpuStep

    t0 = time.perf_counter()
    sim.setup(timestep=0.1, min_delay=0.1, backend="gpu", precision=args.precision)
    build_network(sim, args.n, args.model, seed=1, record=False,
                  recurrent=not args.no_recurrent, drive=not args.no_drive)
    sim.run(0.1)
    cupy.cuda.runtime.deviceSynchronize()
    print(f"build and first step: {time.perf_counter() - t0:.2f} s")
    t = time.perf_counter()
    sim.run(args.warmup)
    cupy.cuda.runtime.deviceSynchronize()
    wall = time.perf_counter() - t
    print(f"{args.warmup:g} ms in {wall:.3f} s: {wall / args.warmup * 1000:.3f} s per bio s "
          f"({wall / (args.warmup / 0.1) * 1e6:.1f} us per step, graph-replayed)")
    network = sim.simulator.state.network
    for g in network.groups.values():
        g.prepare()
        g.extra = g.model.prepare_run(network.backend, g, network.step)
    step = GpuStep(network, args.steps)
    times = step.profile(args.steps)
    print(f"per-step GPU time, launches timed one by one ({args.steps} steps):")
    for label, ms in times.items():
        print(f"  {label:<40} {ms * 1000:9.2f} us")
    print(f"  {'sum':<40} {sum(times.values()) * 1000:9.2f} us")
    sim.end()


if __name__ == "__main__":
    main()
