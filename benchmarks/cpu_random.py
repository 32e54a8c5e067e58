"""The random spike sources and stochastic synapses on the reference and the compiled CPU step.

One small network per model, on the engine API, float64, dt 0.1 ms, 10,000 steps: 1,000
sources (SpikeSourceGamma, alpha 3, 30 Hz; SpikeSourcePoissonRefractory, 30 Hz, 2 ms dead
time) onto 1,000 IF_curr_exp cells through 100,000 static synapses; or 200 Poisson
sources at 20 Hz onto 1,000 cells through 100,000 stochastic synapses (SimpleStochastic,
StochasticTsodyksMarkram, MultiQuantal with 4 sites). Each engine runs each network in
this process: a first run of 10 steps builds it (the compiled step's library is then
cached), the timed run is the next 10,000 steps; both give the same spikes, which are
checked. Prints a table; with ``--label``, adds the run to benchmarks/results/cpu_random.json::

    python benchmarks/cpu_random.py [--steps N] [--only gamma ...] [--label 2core]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import ROOT, device_name, write_results  # noqa: E402

sys.path.insert(0, str(ROOT))
from pyNN_neurongpu.engine import Backend, Network, cpu  # noqa: E402

N_SOURCES, N_CELLS, N_SYNAPSES = 1000, 1000, 100_000
SOURCES = {"gamma": ("gamma_source", {"alpha": 3.0, "beta": 90.0}),
           "poisson_refractory": ("poisson_refractory_source",
                                  {"rate": 30.0, "tau_refrac": 2.0})}
SYNAPSES = {"simple_stochastic": {"p": 0.5},
            "stochastic_tsodyks_markram": {"U": 0.5, "tau_rec": 100.0},
            "multi_quantal": {"U": 0.4, "n": 4.0, "tau_rec": 100.0}}


def network(engine: str, name: str):
    """The network `name` on `engine`, and its cells."""
    net = Network(Backend(engine, "float64", seed=1), dt=0.1)
    rng = np.random.default_rng(1)
    if name in SOURCES:
        family, params = SOURCES[name]
        src = net.add_neurons(family, N_SOURCES, params)
        model, params, weight = None, {}, 0.05
    else:
        src = net.add_neurons("poisson_source", 200, {"rate": 20.0})
        model, params, weight = name, SYNAPSES[name], 0.5
    cells = net.add_neurons("iaf_psc_exp", N_CELLS, {"i_offset": 0.2})
    net.connect(rng.integers(int(src.gids[0]), int(src.gids[-1]) + 1, N_SYNAPSES),
                rng.integers(int(cells.gids[0]), int(cells.gids[-1]) + 1, N_SYNAPSES),
                weight=np.full(N_SYNAPSES, weight), delay_steps=rng.integers(1, 20, N_SYNAPSES),
                receptor="excitatory", **({"model": model, "params": params} if model else {}))
    for s in (src, cells):
        net.record_spikes(s.group, s.local)
    return net, cells


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--only", nargs="*", help="names of the networks to run")
    parser.add_argument("--label", help="add the results as this run to the results file")
    opts = parser.parse_args()
    names = opts.only or [*SOURCES, *SYNAPSES]
    rows = []
    print("| network | reference sim (s) | compiled sim (s) | cell spikes |")
    print("|---|---|---|---|")
    for name in names:
        times, spikes = {}, {}
        for engine in ("cpu", "cpu-compiled"):
            net, cells = network(engine, name)
            net.run(10)
            if engine == "cpu-compiled":
                assert cpu.unsupported(net) is None, cpu.unsupported(net)
            t = time.perf_counter()
            net.run(opts.steps)
            times[engine] = time.perf_counter() - t
            spikes[engine] = cells.group.spike_recorder.events()
        for a, b in zip(spikes["cpu"], spikes["cpu-compiled"]):
            np.testing.assert_array_equal(a, b)
        rows.append({"network": name, "reference_s": times["cpu"],
                     "compiled_s": times["cpu-compiled"],
                     "cell_spikes": int(spikes["cpu"][0].size)})
        print(f"| {name} | {times['cpu']:.2f} | {times['cpu-compiled']:.2f} | "
              f"{spikes['cpu'][0].size} |", flush=True)
    if opts.label:
        write_results(HERE / "results" / "cpu_random.json",
                      {"device": device_name("cpu"), "steps": opts.steps, "rows": rows},
                      opts.label)


if __name__ == "__main__":
    main()
