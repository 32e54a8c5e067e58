"""Property-based checks (hypothesis) of issue #20: random parameter values, connector
arguments, delays, run lengths and recording settings. Either pyNN.neurongpu raises a
PyNN error and nothing changed, or the result is finite and, where pyNN.nest accepts the
same input, equal to pyNN.nest's. Bounded: few examples, no deadline.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyNN import errors

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pyNN_neurongpu.errors import InvalidTimeError  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

# values around every rule's boundary: negative, zero, tiny, ordinary, huge, NaN
number = st.one_of(st.sampled_from([-1.0, 0.0, 1e-3, np.nan]),
                   st.floats(min_value=-100.0, max_value=100.0, allow_nan=False))
time_constant = st.one_of(st.sampled_from([-1.0, 0.0, 0.05, 1e4]),
                          st.floats(min_value=0.1, max_value=50.0))
PYNN_ERRORS = (errors.InvalidParameterValueError, errors.ConnectionError, ValueError)


def _ours(backend="cpu"):
    import pyNN.neurongpu as sim
    sim.setup(timestep=0.1, backend=backend, precision="float64")
    return sim


def _nest(nest_module):
    nest_module.setup(timestep=0.1, spike_precision="on_grid", verbosity="error")
    return nest_module


def _attempt(fn):
    """(result, None) or (None, exception)."""
    try:
        return fn(), None
    except Exception as err:  # noqa: BLE001 (compared below)
        return None, err


def _spike_times(pop):
    return [np.asarray(s.magnitude) for s in pop.get_data().segments[0].spiketrains]


def _lif_run(sim, params):
    pop = sim.Population(2, sim.IF_curr_exp(**params))
    pop.record(["spikes", "v"])
    sim.run(20.0)
    seg = pop.get_data().segments[0]
    return _spike_times(pop), np.asarray(seg.filter(name="v")[0].magnitude)


@pytest.mark.nest
@SETTINGS
@given(params=st.fixed_dictionaries({
    "tau_m": time_constant, "cm": st.one_of(st.sampled_from([-0.5, 0.0]),
                                            st.floats(0.05, 2.0)),
    "v_reset": st.floats(-80.0, -40.0), "v_thresh": st.floats(-60.0, -40.0),
    "tau_refrac": st.one_of(st.sampled_from([-0.1, 0.0]), st.floats(0.0, 5.0)),
    "tau_syn_E": time_constant, "i_offset": st.one_of(number, st.floats(0.0, 3.0))}))
def test_lif_parameters_refused_or_equal_to_nest(nest_module, params):
    sim = _ours()
    ours, our_err = _attempt(lambda: _lif_run(sim, params))
    if our_err is not None:
        assert isinstance(our_err, errors.InvalidParameterValueError), repr(our_err)
        assert sim.state.network.n_neurons == 0   # nothing created
    nest, nest_err = _attempt(lambda: _lif_run(_nest(nest_module), params))
    nest_module.end()
    if nest_err is not None:   # as strict as NEST
        assert our_err is not None, (params, nest_err)
    elif our_err is not None:  # stricter only where NEST's result is not a number
        assert not np.all(np.isfinite(nest[1])), (params, our_err)
    else:
        spikes, v = ours
        assert np.all(np.isfinite(v))
        for a, b in zip(spikes, nest[0]):
            np.testing.assert_allclose(a, b, atol=1e-9)
        np.testing.assert_allclose(v, nest[1], rtol=1e-9, atol=1e-6)


@pytest.mark.parametrize("backend", ["cpu"])
@SETTINGS
@given(lengths=st.lists(st.one_of(
    st.sampled_from([0.0, 0.1, 0.05, 0.15, 1.0, np.nan, np.inf, -0.1]),
    st.integers(0, 30).map(lambda k: k * 0.1),
    st.floats(0.0, 3.0)), min_size=1, max_size=6))
def test_run_lengths_refused_or_on_the_grid(backend, lengths):
    sim = _ours(backend)
    pop = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
    pop.record("v")
    steps, ran = 0, False
    for t in lengths:
        before = sim.get_current_time()
        _, err = _attempt(lambda t=t: sim.run(t))
        k = t / 0.1
        on_grid = math.isfinite(t) and t >= 0 and abs(k - round(k)) <= 1e-6 * max(1, k)
        if err is not None:
            assert isinstance(err, InvalidTimeError) and not on_grid, (t, err)
            assert sim.get_current_time() == before
        else:
            assert on_grid, t
            steps += round(k)
            ran = True
        assert sim.get_current_time() == pytest.approx(steps * 0.1, abs=1e-9)
    if ran:   # run(0) included: the initial value, then one sample a step
        v = pop.get_data().segments[0].filter(name="v")[0]
        assert v.shape[0] == steps + 1 and np.all(np.isfinite(v.magnitude))


def _delay_run(sim, delay):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 4.0]))
    tgt = sim.Population(1, sim.IF_curr_exp(tau_refrac=0.1))
    sim.Projection(src, tgt, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=20.0, delay=delay))
    tgt.record("spikes")
    sim.run(20.0)
    return _spike_times(tgt)[0]


@pytest.mark.nest
@SETTINGS
@given(delay=st.one_of(st.sampled_from([0.0, 0.04, 0.05, 0.06, 0.1, -1.0, np.nan, np.inf]),
                       st.floats(0.0, 10.0)))
def test_delays_refused_or_equal_to_nest(nest_module, delay):
    sim = _ours()
    ours, our_err = _attempt(lambda: _delay_run(sim, delay))
    if our_err is not None:
        assert isinstance(our_err, PYNN_ERRORS), repr(our_err)
        assert not sim.state.network.synapse_groups or all(
            sg.size == 0 for sg in sim.state.network.synapse_groups)
    nest, nest_err = _attempt(lambda: _delay_run(_nest(nest_module), delay))
    nest_module.end()
    if our_err is None and nest_err is None:
        np.testing.assert_allclose(ours, nest, atol=1e-9)
    if nest_err is None and math.isfinite(delay):
        assert our_err is None, (delay, our_err)


@pytest.mark.nest
@SETTINGS
@given(interval=st.one_of(st.sampled_from([0.05, 0.1, 0.15, 0.3, 1.0, 0.0, -0.1]),
                          st.floats(0.01, 3.0)))
def test_sampling_intervals_refused_or_equal_to_nest(nest_module, interval):
    def run(sim):
        pop = sim.Population(1, sim.IF_curr_exp(i_offset=1.0))
        pop.record("v", sampling_interval=interval)
        sim.run(10.0)
        return np.asarray(pop.get_data().segments[0].filter(name="v")[0].magnitude)

    sim = _ours()
    ours, our_err = _attempt(lambda: run(sim))
    if our_err is not None:
        assert isinstance(our_err, ValueError), repr(our_err)
    nest, nest_err = _attempt(lambda: run(_nest(nest_module)))
    nest_module.end()
    if nest_err is not None:
        assert our_err is not None, (interval, nest_err)
    if our_err is None and nest_err is None:
        assert np.all(np.isfinite(ours))
        np.testing.assert_allclose(ours, nest, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(p=st.one_of(st.sampled_from([-0.1, 0.0, 1.0, 1.5, np.nan]), st.floats(0.0, 1.0)),
       n=st.integers(-2, 12), allow_self=st.booleans())
def test_connector_arguments_refused_or_consistent(p, n, allow_self):
    sim = _ours()
    pop = sim.Population(8, sim.IF_curr_exp())
    for make in (lambda: sim.FixedProbabilityConnector(p, allow_self_connections=allow_self),
                 lambda: sim.FixedNumberPreConnector(n, allow_self_connections=allow_self)):
        connector, err = _attempt(make)
        if err is not None:   # PyNN's own constructor refused (it asserts on p)
            continue
        before = sum(sg.size for sg in sim.state.network.synapse_groups)
        prj, err = _attempt(lambda connector=connector: sim.Projection(pop, pop, connector))
        if err is not None:
            assert isinstance(err, PYNN_ERRORS), repr(err)
            assert sum(sg.size for sg in sim.state.network.synapse_groups) == before
            continue
        count = prj.size()
        # (more presynaptic cells than exist: drawn with replacement, as pyNN.nest does)
        assert 0 <= count <= 8 * max(8, n)
        if not allow_self:
            pairs = prj.get("weight", format="list")
            assert all(int(i) != int(j) for i, j, _ in pairs)
    sim.run(1.0)
    assert sim.get_current_time() == pytest.approx(1.0)
