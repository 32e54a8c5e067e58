"""Quick check that the engine runs on CuPy and matches NumPy (used on the GPU machine)."""

import numpy as np

from pyNN_neurongpu.engine import Backend, Network


def run(device):
    net = Network(Backend(device, "float64", seed=1), dt=0.1)
    src = net.add_neurons("spike_source_array", 2, {"spike_times": [[1.0, 5.0, 5.0], [2.0, 3.0]]})
    poi = net.add_neurons("poisson_source", 3, {"rate": [10.0, 100.0, 20000.0]})
    nrn = net.add_neurons("iaf_psc_exp", 4, {"i_offset": [0.0, 0.5, 1.0, 2.0]})
    net.connect(np.repeat(src.gids, 4), np.tile(nrn.gids, 2), weight=2.0, delay_steps=10,
                receptor="excitatory")
    net.record_spikes(nrn.group, nrn.local)
    net.record_spikes(poi.group, poi.local)
    rec = net.record_state(nrn.group, "v", nrn.local)
    net.run(2000)
    spikes = nrn.group.spike_recorder.events()
    psp = poi.group.spike_recorder.events()
    return spikes, rec.data()[1], psp


if __name__ == "__main__":
    cpu = run("cpu")
    gpu = run("gpu")
    assert all(np.array_equal(a, b) for a, b in zip(cpu[0], gpu[0])), (cpu[0], gpu[0])
    print("max |v_cpu - v_gpu| =", np.abs(cpu[1] - gpu[1]).max())
    steps, ids, counts = gpu[2]
    print("poisson counts per source (GPU):", np.bincount(ids, weights=counts))
    print("GPU smoke OK")
