"""The microcircuit example (examples/microcircuit) against NEST's PyNEST reference of the
model (pynest/examples/Potjans_2014 as of NEST 3.4-3.9): the PSC of a 0.15 mV PSP, the
synapse numbers, the DC that compensates scaled in-degrees, and the delays, which the
reference redraws below half a time step so that, rounded to the grid, one step is the
shortest."""

from __future__ import annotations

import importlib
import math
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "microcircuit"

# numbers computed with the reference's own helpers (helpers.py, network_params.py)
REFERENCE_FULL_SYNAPSES = 298880968  # total recurrent synapses at full scale
REFERENCE_DC_SCALE_01 = {  # pA, N_scaling = K_scaling = 0.1
    "poisson": [29.03500917, 112.37119818, 112.96972162, 114.99034928, 125.41827676,
                151.68446639, 43.84688964, 153.70971965],
    "dc": [206.74690515, 278.97610066, 346.21658509, 326.02322575, 347.55814673,
           362.71734286, 365.94970109, 386.95658312],
}


@pytest.fixture(scope="module")
def example():
    """import_module with examples/microcircuit on the path: example("microcircuit")."""
    sys.path.insert(0, str(EXAMPLE_DIR))
    try:
        yield importlib.import_module
    finally:
        sys.path.remove(str(EXAMPLE_DIR))


@pytest.fixture(scope="module")
def params(example):
    return example("pd14_params")


def one_step_fraction(mean, rel_sd, dt, low_steps):
    """Probability that a normal delay redrawn below `low_steps` steps rounds to 1 step."""
    def cdf(x):
        return 0.5 * (1.0 + math.erf((x - mean) / (rel_sd * mean * math.sqrt(2.0))))
    low = low_steps * dt
    return (cdf(1.5 * dt) - cdf(low)) / (1.0 - cdf(low))


def check_one_step_fractions(steps_exc, steps_inh, params, dt=0.1):
    """The fractions of one-step delays are the reference's (redrawn below 0.5 dt), not
    those of delays redrawn below one step."""
    for steps, mean in ((steps_exc, params.DELAY_EXC), (steps_inh, params.DELAY_INH)):
        assert steps.min() == 1
        p = np.mean(steps == 1)
        expected = one_step_fraction(mean, params.DELAY_REL_SD, dt, 0.5)
        error = math.sqrt(expected * (1 - expected) / steps.size)
        assert abs(p - expected) < 5 * error, (mean, p, expected)
        redrawn_below_one_step = one_step_fraction(mean, params.DELAY_REL_SD, dt, 1.0)
        assert abs(p - redrawn_below_one_step) > 10 * error


def test_mean_weight_gives_a_psp_of_015_mV(sim, params):
    """One spike through a synapse of weight W_MEAN raises V_m by 0.15 mV at its peak."""
    sim.setup(timestep=0.01, min_delay=0.01, backend=sim.test_backend, precision="float64")
    cell_params = dict(params.NEURON_PARAMS, v_thresh=0.0)
    cell = sim.Population(1, sim.IF_curr_exp(**cell_params), initial_values={"v": -65.0})
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    sim.Projection(source, cell, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=params.W_MEAN, delay=0.01))
    cell.record("v")
    sim.run(20.0)
    v = np.asarray(cell.get_data("v").segments[0].analogsignals[0]).ravel()
    # the grid's maximum is 1e-6 below the peak; a weight of 0.0878 nA peaks 1e-4 lower
    assert v.max() - params.NEURON_PARAMS["v_rest"] == pytest.approx(0.15, rel=1e-5)


def test_synapse_numbers_and_dc_are_the_references(params):
    assert params.scaled_model(1.0).n_synapses.sum() == REFERENCE_FULL_SYNAPSES
    for background, dc in REFERENCE_DC_SCALE_01.items():
        model = params.scaled_model(0.1, background=background)
        np.testing.assert_allclose(model.i_offset * 1000.0, dc, rtol=1e-8)


def test_delays_redrawn_below_half_a_step(sim, params, example):
    microcircuit = example("microcircuit")
    sim.setup(timestep=0.1, min_delay=0.1, backend=sim.test_backend, precision="float64")
    net = microcircuit.build_network(sim, scale=0.02, k_scale=0.05, seed=3,
                                     record_spikes=False)
    steps = {True: [], False: []}
    for (_, source), proj in net.projections.items():
        delays = np.array(proj.get("delay", format="list", with_address=False))
        steps[source.endswith("E")].append(np.rint(delays / 0.1).astype(int))
    check_one_step_fractions(np.concatenate(steps[True]), np.concatenate(steps[False]),
                             params)


@pytest.mark.nest
def test_nest_native_delays_redrawn_below_half_a_step(params, example, nest_module):
    import nest

    pd14_nest_native = example("pd14_nest_native")
    net = pd14_nest_native.build_network(scale=0.02, k_scale=0.05, seed=3,
                                         record_spikes=False)
    steps = {}
    for excitatory in (True, False):
        sources = [p for name, p in net.populations.items() if name.endswith("E") == excitatory]
        delays = [np.asarray(nest.GetConnections(source=s).get("delay")) for s in sources]
        steps[excitatory] = np.rint(np.concatenate(delays) / 0.1).astype(int)
    check_one_step_fractions(steps[True], steps[False], params)


# the reference's thalamic parrots repeat a generator active in (700, 710] ms over NEST's
# default delay (1 ms): they spike at 701.2 ... 711.1 ms
THALAMIC_WINDOW = (701.1, 711.1)


def check_thalamic_window(times):
    low, high = THALAMIC_WINDOW
    assert times.size > 500  # 902 cells at 120 Hz for 10 ms: about 1080 spikes
    assert times.min() > low + 1e-9 and times.max() <= high + 1e-9
    assert times.min() < low + 0.5 and times.max() > high - 0.5


def test_thalamic_pulse_timed_as_in_reference(sim, params, example):
    microcircuit = example("microcircuit")
    sim.setup(timestep=0.1, min_delay=0.1, backend=sim.test_backend, precision="float64")
    net = microcircuit.build_network(sim, scale=0.005, k_scale=0.05, seed=3, thalamus=True,
                                     record_spikes=False)
    net.thalamus.record("spikes")
    sim.run(715.0)
    trains = net.thalamus.get_data("spikes").segments[0].spiketrains
    check_thalamic_window(np.concatenate([np.asarray(t.magnitude) for t in trains]))


@pytest.mark.nest
def test_nest_native_thalamic_pulse_timed_as_in_reference(params, example,
                                                           nest_module):
    import nest

    pd14_nest_native = example("pd14_nest_native")
    net = pd14_nest_native.build_network(scale=0.005, k_scale=0.05, seed=3, thalamus=True,
                                         record_spikes=False)
    recorder = nest.Create("spike_recorder")
    nest.Connect(net.thalamus, recorder)
    nest.Simulate(715.0)
    check_thalamic_window(np.asarray(recorder.events["times"]))
