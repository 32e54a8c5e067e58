"""IF_curr_alpha, IF_curr_delta, IF_cond_exp, IF_cond_alpha: parameter checks,
recorded synaptic variables and their units, float32 against float64."""

import numpy as np
import pytest
from pyNN import errors

CELLS = ["IF_curr_alpha", "IF_curr_delta", "IF_cond_exp", "IF_cond_alpha"]

BAD_VALUES = [
    ("IF_curr_alpha", "tau_syn_E", 0.0),
    ("IF_curr_alpha", "cm", -1.0),
    ("IF_curr_delta", "tau_m", 0.0),
    ("IF_curr_delta", "cm", 0.0),
    ("IF_cond_exp", "tau_syn_I", -2.0),
    ("IF_cond_exp", "tau_m", -20.0),
    ("IF_cond_alpha", "cm", 0.0),
    ("IF_cond_alpha", "tau_syn_E", 0.0),
    ("IF_cond_alpha", "tau_refrac", -1.0),
]


def _network(sim):
    return sim.simulator.state.network


@pytest.mark.parametrize("cell, name, value", BAD_VALUES)
def test_invalid_parameter_at_creation_builds_nothing(sim, cell, name, value):
    celltype = getattr(sim, cell)
    first = sim.Population(3, celltype())
    net = _network(sim)
    group = first._slice_info.group
    before = (net.n_neurons, group.size, len(sim.simulator.state.populations),
              {k: v.shape for k, v in group.params.items()},
              {k: v.shape for k, v in group.state.items()})
    values = [1.0, value, 2.0]   # one bad value among good ones
    with pytest.raises(errors.InvalidParameterValueError, match=name):
        sim.Population(3, celltype(**{name: values}))
    after = (net.n_neurons, group.size, len(sim.simulator.state.populations),
             {k: v.shape for k, v in group.params.items()},
             {k: v.shape for k, v in group.state.items()})
    assert after == before
    # the network is still consistent: a valid population gets the next ids and runs
    second = sim.Population(2, celltype(i_offset=2.0))
    assert int(second.first_id) == int(first.first_id) + 3
    second.record("spikes")
    sim.run(20.0)
    assert all(len(st) > 0 for st in second.get_data().segments[0].spiketrains)


@pytest.mark.parametrize("cell", CELLS)
def test_invalid_parameter_in_a_new_family_builds_nothing(sim, cell):
    with pytest.raises(errors.InvalidParameterValueError, match="cm"):
        sim.Population(2, getattr(sim, cell)(cm=-0.5))
    net = _network(sim)
    assert net.n_neurons == 0
    assert all(g.size == 0 for g in net.groups.values())


@pytest.mark.parametrize("cell, name, value", BAD_VALUES)
def test_invalid_parameter_at_set_changes_nothing(sim, cell, name, value):
    pop = sim.Population(3, getattr(sim, cell)(tau_m=15.0, v_thresh=-52.0))
    with pytest.raises(errors.InvalidParameterValueError, match=name):
        pop.set(**{name: value})
    # several parameters at once: the valid one is not applied either
    with pytest.raises(errors.InvalidParameterValueError, match=name):
        pop.set(v_thresh=-40.0, **{name: np.array([1.0, value, 1.0])})
    np.testing.assert_array_equal(pop.get("v_thresh"), -52.0)
    np.testing.assert_array_equal(pop.get("tau_m"), 15.0)
    pop.set(v_thresh=-45.0)
    np.testing.assert_array_equal(pop.get("v_thresh"), -45.0)


# -- recorded synaptic variables ---------------------------------------------------

def _single_input(sim, cell, weights, **params):
    """One excitatory and one inhibitory spike (acting from 2 ms and 10 ms on)."""
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0], [9.0]]))
    pop = sim.Population(1, getattr(sim, cell)(**params))
    sim.Projection(src[0:1], pop, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=weights[0], delay=1.0))
    sim.Projection(src[1:2], pop, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=weights[1], delay=1.0), receptor_type="inhibitory")
    return pop


@pytest.mark.parametrize("cell, variables, unit", [
    ("IF_curr_alpha", ("isyn_exc", "isyn_inh"), "nA"),
    ("IF_curr_exp", ("isyn_exc", "isyn_inh"), "nA"),
    ("IF_cond_exp", ("gsyn_exc", "gsyn_inh"), "uS"),
    ("IF_cond_alpha", ("gsyn_exc", "gsyn_inh"), "uS"),
])
def test_synaptic_variables_recorded_in_pynn_units(sim, cell, variables, unit):
    """A weight w gives a current/conductance that jumps (exp) or peaks (alpha) at w."""
    conductance = unit == "uS"
    w_exc, w_inh = (0.02, 0.03) if conductance else (0.5, -0.4)
    pop = _single_input(sim, cell, (w_exc, w_inh), tau_syn_E=1.0, tau_syn_I=2.0)
    pop.record(["v", *variables])
    sim.run(25.0)
    segment = pop.get_data().segments[0]
    v = segment.filter(name="v")[0].magnitude[:, 0]
    exc, inh = (segment.filter(name=name)[0] for name in variables)
    for signal in (exc, inh):
        assert signal.units.dimensionality.string == unit
        assert signal.shape == (251, 1)
        assert float(signal.sampling_period.rescale("ms").magnitude) == pytest.approx(0.1)
    exc, inh = exc.magnitude[:, 0], inh.magnitude[:, 0]
    alpha = "alpha" in cell
    # the spike sent at 1 ms over 1 ms shows from the sample at 2 ms on; an alpha
    # function peaks tau_syn later
    peak_exc, peak_inh = (30, 120) if alpha else (20, 100)
    assert np.argmax(np.abs(exc)) == peak_exc
    assert np.argmax(np.abs(inh)) == peak_inh
    rtol = 1e-6 if conductance else 1e-12    # conductances come from the ODE solver
    assert exc[peak_exc] == pytest.approx(w_exc, rel=rtol)
    assert inh[peak_inh] == pytest.approx(w_inh, rel=rtol)
    assert np.all(exc[:20] == 0) and np.all(inh[:100] == 0)
    # excitation depolarises, inhibition (positive uS, or negative nA) hyperpolarises
    assert v[40] > -65.0 + 1e-3
    assert v[140] < v[100] - 1e-3


def test_psc_delta_weight_is_the_voltage_jump(sim):
    pop = _single_input(sim, "IF_curr_delta", (2.5, -1.5), tau_m=20.0)
    pop.record("v")
    sim.run(15.0)
    signal = pop.get_data().segments[0].filter(name="v")[0]
    v = signal.magnitude[:, 0]
    assert signal.units.dimensionality.string == "mV"
    assert v[19] == -65.0
    assert v[20] == pytest.approx(-62.5, abs=1e-12)
    decay = np.exp(-0.1 / 20.0)
    assert v[100] + 65.0 == pytest.approx((v[99] + 65.0) * decay - 1.5, abs=1e-12)


# -- precision --------------------------------------------------------------------

def _drive(sim, cell, precision):
    sim.setup(timestep=0.1, min_delay=0.1, backend=sim.test_backend, precision=precision)
    w = {"IF_cond_exp": 0.01, "IF_cond_alpha": 0.01, "IF_curr_delta": 1.0}.get(cell, 0.5)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=np.arange(5.0, 95.0, 7.0)))
    pop = sim.Population(3, getattr(sim, cell)(i_offset=[1.0, 1.5, 2.2], tau_refrac=2.0))
    sim.Projection(src, pop, sim.AllToAllConnector(), sim.StaticSynapse(weight=w, delay=1.0))
    pop.record(["spikes", "v"])
    sim.run(100.0)
    dtype = pop._slice_info.group.state["v"].dtype
    segment = pop.get_data().segments[0]
    return ([st.times.magnitude for st in segment.spiketrains],
            segment.filter(name="v")[0].magnitude, dtype)


@pytest.mark.parametrize("cell", CELLS)
def test_float32_gives_the_float64_spike_times(sim, cell):
    spikes64, v64, dtype64 = _drive(sim, cell, "float64")
    spikes32, v32, dtype32 = _drive(sim, cell, "float32")
    assert (dtype64, dtype32) == (np.float64, np.float32)
    assert min(len(s) for s in spikes64) >= 3
    for a, b in zip(spikes32, spikes64):
        np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(v32, v64, atol=1e-3)
