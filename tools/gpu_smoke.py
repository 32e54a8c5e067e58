"""Quick check on the GPU machine: the engine on CuPy (array-code step, and the fused
kernels with and without CUDA graphs) matches NumPy, plus a rough timing."""

import time

import numpy as np

from pyNN_neurongpu.engine import Backend, Network


def build(device, kernels=True, graphs=True, n=400, t_steps=3000):
    rng = np.random.default_rng(7)
    net = Network(Backend(device, "float64", seed=1), dt=0.1)
    net.use_kernels, net.use_graphs = kernels, graphs
    trains = [np.round(np.sort(rng.uniform(0.1, t_steps * 0.1, 40)), 1) for _ in range(50)]
    src = net.add_neurons("spike_source_array", 50, {"spike_times": trains})
    nrn = net.add_neurons("iaf_psc_exp", n, {"i_offset": rng.uniform(0.0, 0.9, n)})
    pre = np.concatenate([rng.integers(0, 50, 4000) + src.gid_start,
                          rng.integers(0, n, 8000) + nrn.gid_start])
    post = rng.integers(0, n, pre.size) + nrn.gid_start
    w = np.where(pre >= nrn.gid_start, rng.uniform(-0.6, 0.3, pre.size), 0.8)
    for port, sel in (("excitatory", w > 0), ("inhibitory", w <= 0)):
        net.connect(pre[sel], post[sel], w[sel], rng.integers(1, 40, sel.sum()), port)
    net.record_spikes(nrn.group, nrn.local)
    rec = net.record_state(nrn.group, "v", nrn.local[:10], 5)
    return net, nrn, rec, t_steps


def run(device, **kw):
    net, nrn, rec, t_steps = build(device, **kw)
    t0 = time.perf_counter()
    net.run(t_steps // 2)
    net.run(t_steps - t_steps // 2)
    if device == "gpu":
        import cupy
        cupy.cuda.runtime.deviceSynchronize()
    wall = time.perf_counter() - t0
    return nrn.group.spike_recorder.events(), rec.data(), wall


if __name__ == "__main__":
    ref = run("cpu")
    print(f"cpu reference: {ref[0][0].size} spikes, {ref[2]:.2f} s")
    for label, kw in (("gpu array code", dict(kernels=False)),
                      ("gpu kernels", dict(kernels=True, graphs=False)),
                      ("gpu kernels+graphs", dict(kernels=True, graphs=True))):
        out = run("gpu", **kw)
        same = all(np.array_equal(a, b) for a, b in zip(ref[0], out[0]))
        dv = np.abs(ref[1][1] - out[1][1]).max() if ref[1][1].shape == out[1][1].shape else None
        print(f"{label}: {out[0][0].size} spikes, identical={same}, "
              f"sample steps equal={np.array_equal(ref[1][0], out[1][0])}, max|dv|={dv}, "
              f"{out[2]:.3f} s")
