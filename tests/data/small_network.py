"""A tiny E/I network following the convention of ``python -m pyNN_neurongpu.compare run``:
the simulator is the first argument, PYNN_SEED seeds it, the Neo file goes to
PYNN_OUTPUT_DIR. Used by tests/validation/test_validation_cli.py; runs in well under a second."""

import os

from pyNN.random import NumpyRNG, RandomDistribution
from pyNN.utility import get_simulator

sim, options = get_simulator(
    ("--time", "simulated time, ms", {"type": float, "default": 500.0}),
    ("--format", "pickle or nix", {"default": "pickle"}))
seed = int(os.environ.get("PYNN_SEED", "1"))
out = os.environ.get("PYNN_OUTPUT_DIR", "output_" + options.simulator)
extra = {"spike_precision": "on_grid", "verbosity": "error"} if options.simulator == "nest" else {}
sim.setup(timestep=0.1, min_delay=0.1, rng_seed=seed, **extra)
rng = NumpyRNG(seed=seed)
exc = sim.Population(80, sim.IF_curr_exp(), label="E")
inh = sim.Population(20, sim.IF_curr_exp(), label="I")
cells = exc + inh
cells.initialize(v=RandomDistribution("uniform", low=-65.0, high=-52.0, rng=rng))
drive = sim.Population(100, sim.SpikeSourcePoisson(rate=2000.0), label="drive")
sim.Projection(drive, cells, sim.OneToOneConnector(),
               sim.StaticSynapse(weight=0.09, delay=1.0), receptor_type="excitatory")
for source, receptor, weight in ((exc, "excitatory", 0.05), (inh, "inhibitory", -0.2)):
    sim.Projection(source, cells, sim.FixedProbabilityConnector(0.1, rng=rng),
                   sim.StaticSynapse(weight=weight, delay=1.5), receptor_type=receptor)
cells.record("spikes")
sim.run(options.time)
os.makedirs(out, exist_ok=True)
block = cells.get_data("spikes")
if options.format == "nix":
    import neo

    io = neo.io.NixIO(os.path.join(out, "spikes.nix"), mode="ow")
    io.write_block(block)
    io.close()
else:
    import neo

    neo.io.PickleIO(os.path.join(out, "spikes.pkl")).write_block(block)
sim.end()
