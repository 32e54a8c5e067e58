"""Networks whose GPU step runs against tests/fake_cupy (no GPU); prints the launch trace
as JSON. Run by tests/engine/test_gpu_host_code.py in a subprocess, with the fake on the path:
``python tests/gpu_host_networks.py NAME``."""

import json
import sys

import numpy as np


def pipelined(Network, Backend):
    """Pooled AdEx neurons driven by Poisson sources, every delay at least two steps."""
    from pyNN_neurongpu.engine import EIF_COND_EXP
    net = Network(Backend("gpu", "float32", seed=1), dt=0.1)
    src = net.add_neurons("poisson_source", 20, {"rate": 500.0})
    nrn = net.add_neurons(EIF_COND_EXP, 50)
    rng = np.random.default_rng(0)
    net.connect(rng.integers(0, 20, 400) + src.gid_start,
                rng.integers(0, 50, 400) + nrn.gid_start, 0.01, rng.integers(2, 6, 400),
                "excitatory")
    net.record_spikes(nrn.group, nrn.local[:10])
    net.record_state(nrn.group, "v", nrn.local[:3])
    net.run(250)
    return net


def lif(Network, Backend):
    """LIF neurons fed by a spike array over one-step delays, with a step current."""
    from pyNN_neurongpu.engine import PiecewiseConstantCurrent
    net = Network(Backend("gpu", "float64", seed=2), dt=0.1)
    src = net.add_neurons("spike_source_array", 2, {"spike_times": [[1.0, 5.0], [2.0]]})
    nrn = net.add_neurons("iaf_psc_exp", 4)
    net.connect(np.repeat(src.gids, 4), np.tile(nrn.gids, 2), 0.5, 1, "excitatory")
    net.add_stimulus(PiecewiseConstantCurrent([1, 50], [0.1, 0.3], targets=nrn.gids))
    net.record_state(nrn.group, "v", nrn.local)
    net.run(150)
    return net


def stdp(Network, Backend):
    """A spike array onto LIF neurons through STDP synapses."""
    net = Network(Backend("gpu", "float64", seed=3), dt=0.1)
    src = net.add_neurons("spike_source_array", 1, {"spike_times": [[1.0, 3.0]]})
    nrn = net.add_neurons("iaf_psc_exp", 3)
    net.connect(np.zeros(3, dtype=np.int64) + src.gid_start, nrn.gids, 0.5, 2,
                "excitatory", model="stdp")
    net.run(120)
    return net


def exchanged(Network, Backend):
    """LIF neurons under a one-rank communicator that still exchanges (min delay 4 steps)."""
    from pyNN_neurongpu.engine import parallel

    class ExchangingOneRank(parallel.Communicator):
        distributed = True

    net = Network(Backend("gpu", "float64", seed=4), dt=0.1, comm=ExchangingOneRank())
    src = net.add_neurons("poisson_source", 10, {"rate": 100.0})
    nrn = net.add_neurons("iaf_psc_exp", 20)
    rng = np.random.default_rng(1)
    net.connect(rng.integers(0, 10, 200) + src.gid_start,
                rng.integers(0, 20, 200) + nrn.gid_start, 0.5, rng.integers(4, 9, 200),
                "excitatory")
    net.record_spikes(nrn.group, nrn.local[:5])
    net.run(30)   # intervals end at steps 4, 8, ..., 28 and at the run's end, 30
    return net


if __name__ == "__main__":
    import cupy

    if not hasattr(cupy, "TRACE"):
        sys.exit("run with tests/fake_cupy first on PYTHONPATH")
    from pyNN_neurongpu.engine import Backend, Network
    net = globals()[sys.argv[1]](Network, Backend)
    exchange = net.exchange
    print(json.dumps({"trace": cupy.TRACE, "pipelined": net.last_gpu_step.pipelined,
                      "intervals": exchange.intervals if exchange is not None else None,
                      "chunk": net.last_gpu_step.chunk,
                      "sources": [code for code, _ in cupy.SOURCES.values()]}))
