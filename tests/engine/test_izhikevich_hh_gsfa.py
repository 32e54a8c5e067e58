"""Izhikevich, HH_cond_exp and IF_cond_exp_gsfa_grr through PyNN: parameter checks,
recorded variables and their units, initial values, float32 against float64."""

import numpy as np
import pytest
from pyNN import errors

BAD_VALUES = [
    ("HH_cond_exp", "cm", 0.0),
    ("HH_cond_exp", "tau_syn_E", -1.0),
    ("IF_cond_exp_gsfa_grr", "tau_sfa", 0.0),
    ("IF_cond_exp_gsfa_grr", "tau_rr", -2.0),
    ("IF_cond_exp_gsfa_grr", "tau_m", 0.0),
]
RECORDED = {
    "Izhikevich": {"v": "mV", "u": "mV/ms"},
    "HH_cond_exp": {"v": "mV", "gsyn_exc": "uS", "gsyn_inh": "uS", "m": "dimensionless",
                    "h": "dimensionless", "n": "dimensionless"},
    "IF_cond_exp_gsfa_grr": {"v": "mV", "gsyn_exc": "uS", "gsyn_inh": "uS", "g_r": "nS",
                             "g_s": "nS"},
}
# i_offset (nA) that makes the second and third neuron fire; excitatory weight (mV or uS)
DRIVE = {"Izhikevich": ([0.0, 0.01, 0.02], 6.0), "HH_cond_exp": ([0.0, 1.0, 1.5], 0.3),
         "IF_cond_exp_gsfa_grr": ([0.0, 1.5, 2.5], 0.05)}


@pytest.mark.parametrize("cell, name, value", BAD_VALUES)
def test_invalid_parameter_builds_and_changes_nothing(sim, cell, name, value):
    celltype = getattr(sim, cell)
    pop = sim.Population(3, celltype())
    net = sim.simulator.state.network
    n_before = net.n_neurons
    with pytest.raises(errors.InvalidParameterValueError, match=name):
        sim.Population(3, celltype(**{name: [1.0, value, 2.0]}))
    assert net.n_neurons == n_before == 3
    with pytest.raises(errors.InvalidParameterValueError, match=name):
        pop.set(**{name: value})
    assert pop.get(name) == pytest.approx(celltype.default_parameters[name])


def _drive(sim, cell, precision, variables):
    sim.setup(timestep=0.1, backend=sim.test_backend, precision=precision)
    i_offset, weight = DRIVE[cell]
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(5.0, 95.0, 7.0)))
    pop = sim.Population(3, getattr(sim, cell)(i_offset=i_offset))
    sim.Projection(src, pop, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=weight, delay=1.0))
    sim.Projection(src, pop, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=-weight if cell == "Izhikevich" else weight,
                                     delay=3.0), receptor_type="inhibitory")
    pop.record(["spikes", *variables])
    sim.run(100.0)
    segment = pop.get_data().segments[0]
    dtype = pop._slice_info.group.state["v"].dtype
    return ([st.times.magnitude for st in segment.spiketrains],
            {a.name: a for a in segment.analogsignals}, dtype)


@pytest.mark.parametrize("cell", list(RECORDED))
def test_recorded_variables_and_units(sim, cell):
    spikes, signals, _ = _drive(sim, cell, "float64", list(RECORDED[cell]))
    assert len(spikes[1]) > 0 and len(spikes[2]) > len(spikes[0])
    for name, unit in RECORDED[cell].items():
        signal = signals[name]
        assert signal.shape == (1001, 3)
        assert signal.units.dimensionality.string == unit
        assert np.isfinite(signal.magnitude).all()
    # initial values as PyNN declares them
    initial = getattr(sim, cell).default_initial_values
    for name in RECORDED[cell]:
        np.testing.assert_allclose(signals[name].magnitude[0], initial[name])
    # synaptic input arrived on both ports
    for name in ("gsyn_exc", "gsyn_inh"):
        if name in signals:
            assert signals[name].magnitude.max() > 0


def test_izhikevich_initial_values_and_jump(sim):
    """initialize() sets v and u; an input spike moves v by its weight in mV on top of
    the forward Euler step."""
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0]))
    pop = sim.Population(2, sim.Izhikevich())
    pop.initialize(v=-60.0, u=[-12.0, -10.0])
    sim.Projection(src, pop[0:1], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=4.0, delay=1.0))
    pop.record(["v", "u"])
    sim.run(5.0)
    segment = pop.get_data().segments[0]
    v = segment.filter(name="v")[0].magnitude[:, 0]
    u = segment.filter(name="u")[0].magnitude
    np.testing.assert_array_equal(v[0], -60.0)
    np.testing.assert_array_equal(u[0], [-12.0, -10.0])
    h = 0.1
    euler = v[:-1] + h * (0.04 * v[:-1] * v[:-1] + 5.0 * v[:-1] + 140.0 - u[:-1, 0])
    jumps = v[1:] - euler
    # the spike at 2 ms arrives over 1 ms at 3 ms: in the sample at 3.0 ms and no other
    np.testing.assert_allclose(jumps[29], 4.0, atol=1e-12)
    np.testing.assert_allclose(np.delete(jumps, 29), 0.0, atol=1e-12)


@pytest.mark.parametrize("cell", list(RECORDED))
def test_float32_gives_the_float64_spike_times(sim, cell):
    spikes64, signals64, dtype64 = _drive(sim, cell, "float64", ["v"])
    spikes32, signals32, dtype32 = _drive(sim, cell, "float32", ["v"])
    assert (dtype64, dtype32) == (np.float64, np.float32)
    assert sum(len(s) for s in spikes64) >= 3
    for a, b in zip(spikes32, spikes64):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # rounding errors: largest just before spikes (steep upstrokes), tiny elsewhere
    deviation = np.abs(signals32["v"].magnitude - signals64["v"].magnitude)
    assert deviation.max() < 0.05
    assert np.median(deviation) < 1e-4


@pytest.mark.parametrize("offset", [15.0, 13.0, 40.0])
def test_hh_rate_singularities_give_the_limit(backend, offset):
    """V exactly at a removable singularity of the Traub rate functions (NEST: NaN) gives
    the limit: the same trajectory as a start a hair's breadth away."""
    from pyNN_neurongpu.engine import Backend, Network

    net = Network(Backend(backend), dt=0.1)
    v0 = -63.0 + offset
    cells = net.add_neurons("hh_cond_exp_traub", 2, {}, {"v": [v0, v0 + 1e-9]})
    recorders = [net.record_state(cells.group, name, cells.local) for name in ("v", "m", "n")]
    net.run(50)
    for rec in recorders:
        values = rec.data()[1]
        assert np.isfinite(values).all()
        np.testing.assert_allclose(values[:, 0], values[:, 1], rtol=0, atol=1e-6)
