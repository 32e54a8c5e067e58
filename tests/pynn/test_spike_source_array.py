"""SpikeSourceArray: grid mapping, multiplicity, changes between runs, and the
arrival at a target compared with pyNN.nest."""

import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import Sequence


def spike_times(pop, segment=0):
    return [st.magnitude.copy() for st in pop.get_data().segments[segment].spiketrains]


def test_grid_mapping_and_multiplicity(sim):
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[
        Sequence([0.05, 1.0, 1.03, 2.46, 2.5, 2.5, 3.00001]),
        Sequence([])]))
    src.record("spikes")
    sim.run(5.0)
    times = spike_times(src)
    # a time before the first step's end is emitted in that step; off-grid times go to
    # the next grid point; several times in one step repeat that step's time
    np.testing.assert_allclose(times[0], [0.1, 1.0, 1.1, 2.5, 2.5, 2.5, 3.1], atol=1e-12)
    assert times[1].size == 0


def test_changes_between_runs_take_effect(sim):
    src = sim.Population(3, sim.SpikeSourceArray(spike_times=[1.0, 12.0]))
    src.record("spikes")
    sim.run(5.0)
    # times in the past (<= 5.0) are ignored; the rest are emitted in the next run
    src.set(spike_times=[2.0, 5.0, 6.0, 7.5])
    src[1:3].set(spike_times=[Sequence([3.0, 8.0]), Sequence([9.0, 9.0])])
    src[2].spike_times = Sequence([4.0, 9.5, 9.51])
    sim.run(5.0)
    times = spike_times(src)
    np.testing.assert_allclose(times[0], [1.0, 6.0, 7.5], atol=1e-12)
    np.testing.assert_allclose(times[1], [1.0, 8.0], atol=1e-12)
    np.testing.assert_allclose(times[2], [1.0, 9.5, 9.6], atol=1e-12)
    got = src.get("spike_times")
    np.testing.assert_allclose(got[2].value, [4.0, 9.5, 9.51])


def test_reset_replays_the_times(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0, 2.0, 30.0]))
    src.record("spikes")
    sim.run(10.0)
    sim.reset()
    src.set(spike_times=[0.5, 2.0, 3.0])
    sim.run(10.0)
    np.testing.assert_allclose(spike_times(src, 0)[0], [1.0, 2.0], atol=1e-12)
    np.testing.assert_allclose(spike_times(src, 1)[0], [0.5, 2.0, 3.0], atol=1e-12)


def drive_and_record(sim, backend_kw):
    sim.setup(timestep=0.1, min_delay=0.1, **backend_kw)
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[
        Sequence([1.0, 1.03, 4.55, 4.6, 4.6, 7.0]), Sequence([2.0, 2.0, 2.0, 6.01])]))
    cells = sim.Population(2, sim.IF_curr_exp(tau_syn_E=2.0, tau_m=15.0, v_thresh=-40.0))
    sim.Projection(src, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=[[0.5, 0.3], [0.7, 0.1]], delay=1.0))
    src.record("spikes")
    cells.record("v")
    sim.run(10.0)
    src[0:1].set(spike_times=[12.0, 12.0, 13.37, 18.0])
    src[1].spike_times = Sequence([11.5, 15.05])
    sim.run(10.0)
    seg = cells.get_data().segments[0]
    v = seg.filter(name="v")[0].magnitude.copy()
    return spike_times(src), v


@pytest.mark.nest
def test_arrival_at_target_matches_nest(sim, nest_sim):
    ours = drive_and_record(sim, {"backend": sim.test_backend})
    theirs = drive_and_record(nest_sim, {"spike_precision": "on_grid"})
    for a, b in zip(ours[0], theirs[0]):
        np.testing.assert_allclose(a, b, atol=1e-9)
    assert ours[1].shape == theirs[1].shape
    assert np.ptp(theirs[1]) > 5.0
    np.testing.assert_allclose(ours[1], theirs[1], atol=1e-9)


def test_large_multiplicity_is_recorded_and_delivered(sim):
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0] * 300 + [3.0]))
    cell = sim.Population(1, sim.IF_curr_exp(tau_m=1e9, v_thresh=1e9, v_rest=0.0, cm=1.0,
                                             tau_syn_E=0.2))
    cell.initialize(v=0.0)
    sim.Projection(src, cell, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.001))
    src.record("spikes")
    cell.record("v")
    sim.run(10.0)
    times = spike_times(src)[0]
    assert np.sum(times == 2.0) == 300 and times.size == 301
    v = cell.get_data().segments[0].filter(name="v")[0].magnitude[-1, 0]
    assert v == pytest.approx(301 * 0.001 * 0.2, rel=1e-6)


def test_unsorted_or_nan_times_are_rejected(sim):
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(1, sim.SpikeSourceArray(spike_times=[3.0, 1.0]))
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0, 2.0]))
    with pytest.raises(errors.InvalidParameterValueError):
        src.set(spike_times=Sequence([5.0, np.nan]))
    np.testing.assert_array_equal(src.get("spike_times")[0].value, [1.0, 2.0])


def test_off_grid_precision_records_exact_times(sim):
    sim.setup(timestep=0.05, backend=sim.test_backend, spike_precision="off_grid")
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[0.075, 10.025, 10.04, 12.34]))
    src.record("spikes")
    sim.run(20.0)
    np.testing.assert_array_equal(spike_times(src)[0], [0.075, 10.025, 10.04, 12.34])


@pytest.mark.parametrize("precision", ["on_grid", "off_grid"])
@pytest.mark.parametrize("bad", [[0.0, 1.0], [-0.0], [-1.0, 2.0], [-np.inf, 1.0]])
def test_spike_at_or_before_zero_is_refused_not_dropped(sim, precision, bad):
    """NEST's spike_generator refuses 0 ("spike time cannot be set to 0"); a time at or
    before 0 cannot be emitted, so it raises rather than vanish."""
    backend = "cpu" if precision == "off_grid" else sim.test_backend
    sim.setup(timestep=0.1, backend=backend, spike_precision=precision)
    with pytest.raises(errors.InvalidParameterValueError, match="greater than 0"):
        sim.Population(1, sim.SpikeSourceArray(spike_times=bad))
    src = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))
    with pytest.raises(errors.InvalidParameterValueError, match="greater than 0"):
        src.set(spike_times=Sequence(bad))
    src[1:2].set(spike_times=Sequence([0.05]))   # inside the first step: delivered
    src.record("spikes")
    sim.run(2.0)
    got = spike_times(src)
    np.testing.assert_allclose(got[0], [1.0], atol=1e-12)
    np.testing.assert_allclose(got[1], [0.05 if precision == "off_grid" else 0.1],
                               atol=1e-12)
