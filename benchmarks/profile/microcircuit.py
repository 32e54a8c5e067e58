"""Where the microcircuit's time goes on the GPU: build phases and per-kernel step times.

    python benchmarks/profile/microcircuit.py --scale 1 [--precision float32]
"""

import argparse
import sys
import time
from pathlib import Path

T0 = time.perf_counter()
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "microcircuit"))
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--precision", default="float64")
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()

    import pynn_neurongpu_alias
    pynn_neurongpu_alias.install()
    import cupy
    import pyNN.neurongpu as sim
    from microcircuit import build_network

    from pyNN_neurongpu.engine.gpu import GpuStep
    phases = {"imports": time.perf_counter() - T0}

    sim.setup(timestep=0.1, min_delay=0.1, backend="gpu", precision=args.precision,
              rng_seed=1)
    timed = {"Population": 0.0, "Projection": 0.0, "initialize": 0.0}
    for name in ("Population", "Projection"):
        cls = getattr(sim, name)
        original = cls.__init__

        def wrapped(self, *a, _orig=original, _name=name, **kw):
            t = time.perf_counter()
            _orig(self, *a, **kw)
            cupy.cuda.runtime.deviceSynchronize()
            timed[_name] += time.perf_counter() - t
        cls.__init__ = wrapped
    t = time.perf_counter()
    build_network(sim, scale=args.scale, native_rng=True, record_spikes=True)
    cupy.cuda.runtime.deviceSynchronize()
    phases["build_network"] = time.perf_counter() - t
    phases.update({f"  {k}": v for k, v in timed.items()})
    network = sim.simulator.state.network
    t = time.perf_counter()
    network._finalise()
    cupy.cuda.runtime.deviceSynchronize()
    phases["finalise (tables, ring buffers)"] = time.perf_counter() - t
    t = time.perf_counter()
    sim.run(0.1)
    cupy.cuda.runtime.deviceSynchronize()
    phases["first step (compile, prepare)"] = time.perf_counter() - t
    sim.run(100.0)  # past the initial transient
    free, total_mem = cupy.cuda.runtime.memGetInfo()
    print(f"GPU memory in use: {(total_mem - free) / 2**30:.1f} GiB")
    for k, v in phases.items():
        print(f"{k:<34} {v:8.3f} s")

    for g in network.groups.values():
        g.prepare()
        g.extra = g.model.prepare_run(network.backend, g, network.step)
    step = GpuStep(network, args.steps)
    times = step.profile(args.steps)
    total = sum(times.values())
    print(f"\nper-step GPU time, launches timed one by one ({args.steps} steps):")
    for label, ms in times.items():
        print(f"{label:<34} {ms * 1000:8.2f} us")
    print(f"{'sum':<34} {total * 1000:8.2f} us")


if __name__ == "__main__":
    main()
