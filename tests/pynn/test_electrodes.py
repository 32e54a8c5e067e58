"""Current sources (DC, step, AC, noise) against pyNN.nest: membrane traces of
IF_curr_exp and recorded currents, changes between runs, reset, injection
targets, noise statistics and parameter errors."""

import numpy as np
import pytest
from pyNN import errors

from pyNN_neurongpu.engine import Backend
from pyNN_neurongpu.engine.stimuli import NoiseCurrent, PiecewiseConstantCurrent

nest = pytest.mark.nest


def _setup(sim, md, **extra):
    if sim.__name__ == "pyNN.nest":
        sim.setup(timestep=0.1, min_delay=md, spike_precision="on_grid", verbosity="error")
    else:
        sim.setup(timestep=0.1, min_delay=md, backend=sim.test_backend, **extra)


def _v(population, segment=0):
    return population.get_data().segments[segment].filter(name="v")[0].magnitude


# -- scenarios, run identically on both simulators ------------------------------------------

def dc_scenario(sim, md):
    _setup(sim, md)
    cells = sim.Population(6, sim.IF_curr_exp(tau_refrac=1.0, tau_m=[10, 20, 5, 8, 12, 15]))
    other = sim.Population(2, sim.IF_curr_exp())
    cells.record("v")
    other.record("v")
    dc0 = sim.DCSource(amplitude=0.5, start=0.0)
    dc1 = sim.DCSource(amplitude=1.0, start=0.1, stop=3.0)
    dc2 = sim.DCSource(amplitude=1.5, start=1.0, stop=2.0)
    dc3 = sim.DCSource(amplitude=3.0, start=2.5, stop=2.5)
    dc4 = sim.DCSource(amplitude=-0.3, start=0.5, stop=4.0)
    dc5 = sim.DCSource(amplitude=0.8, start=md, stop=md + 0.3)
    cells[0].inject(dc0)
    dc1.inject_into(cells[1:2])
    dc2.inject_into([cells[2], cells[3]])
    cells[3].inject(dc3)
    cells[3].inject(dc4)
    dc5.inject_into(cells[4:6])
    dc2.inject_into(sim.Assembly(other, cells[5:6]))
    recorded = (dc0, dc2, dc4)
    for source in recorded:
        source.record()
    sim.run(5.0)
    dc2.amplitude = 2.0
    dc0.amplitude = 0.9  # active: acts once the current already on its way has arrived
    dc0.stop = 8.0
    dc1.stop = 9.0
    dc1.start = 6.0
    dc4.start = 0.0
    sim.run(5.0)
    dc2.stop = 12.0
    dc2.start = 11.0
    dc5.amplitude = 0.3
    dc5.stop = 10.0 + md
    dc5.start = 10.0
    sim.run(5.0)
    return np.hstack([_v(cells), _v(other)]), [s.get_data() for s in recorded]


def step_scenario(sim, md):
    _setup(sim, md)
    cells = sim.Population(3, sim.IF_curr_exp(tau_refrac=1.0))
    cells.record("v")
    s0 = sim.StepCurrentSource(times=[0.0, 0.41, 0.42, 0.86, 1.55, 2.0, 3.04],
                               amplitudes=[0.3, 1.0, -0.5, 0.8, 2.0, 0.1, 1.5])
    s1 = sim.StepCurrentSource(times=[0.1], amplitudes=[1.2])
    s2 = sim.StepCurrentSource(times=[0.2, 4.0], amplitudes=[0.5, 0.0])
    cells[0].inject(s0)
    cells[1].inject(s1)
    cells[2].inject(s2)
    cells[2].inject(s0)
    for source in (s0, s1, s2):
        source.record()
    sim.run(5.0)
    # times already past, at the present time and later; s1 keeps its amplitude until 7 ms
    s0.set_parameters(times=[1.0, 5.0, 5.3, 6.0, 7.25], amplitudes=[0.2, 0.4, 0.6, -0.2, 1.0])
    s1.set_parameters(times=[7.0], amplitudes=[0.0])
    s2.set_parameters(times=[5.05, 5.15], amplitudes=[1.0, 2.0])
    sim.run(5.0)
    return _v(cells), [s.get_data() for s in (s0, s1, s2)]


def ac_scenario(sim, md):
    _setup(sim, md)
    cells = sim.Population(3, sim.IF_curr_exp(tau_refrac=1.0))
    cells.record("v")
    a0 = sim.ACSource(amplitude=1.0, offset=0.2, frequency=150.0, phase=30.0, start=0.0)
    a1 = sim.ACSource(amplitude=2.0, offset=-0.1, frequency=90.0, phase=0.0, start=2.0,
                      stop=8.0)
    a2 = sim.ACSource(amplitude=1.0, frequency=100.0, phase=90.0, start=1.0, stop=6.0)
    a2.start = 1.5
    a2.frequency = 70.0
    cells[0].inject(a0)
    cells[1].inject(a1)
    cells[2].inject(a2)
    for source in (a0, a1, a2):
        source.record()
    sim.run(5.0)
    a0.amplitude = 0.5
    a0.frequency = 50.0
    a1.phase = 45.0
    a1.offset = 0.3
    a2.stop = 9.0
    a2.start = 7.0
    sim.run(5.0)
    return _v(cells), [s.get_data() for s in (a0, a1, a2)]


def noise_scenario(sim, md):
    """Noise sources; those with stdev = 0 are deterministic and show when NEST draws."""
    _setup(sim, md)
    cells = sim.Population(4, sim.IF_curr_exp(v_thresh=1000.0))
    cells.record("v")
    n0 = sim.NoisyCurrentSource(mean=0.5, stdev=0.2, dt=0.1, start=0.0, stop=3.0)
    n1 = sim.NoisyCurrentSource(mean=-0.5, stdev=0.2, dt=0.7, start=1.0, stop=6.0)
    n2 = sim.NoisyCurrentSource(mean=1.0, stdev=0.0, dt=0.3, start=0.5, stop=2.0)
    n3 = sim.NoisyCurrentSource(mean=0.7, stdev=0.0, dt=0.5, start=0.0, stop=9.0)
    for i, source in enumerate((n0, n1, n2, n3)):
        cells[i].inject(source)
        source.record()
    sim.run(5.0)
    n1.mean = 2.0
    n1.dt = 0.4
    n2.stop = 9.0
    n2.start = 7.0
    n3.mean = -0.4  # takes effect at n3's next draw
    n3.dt = 0.2
    sim.run(5.0)
    return _v(cells), [s.get_data() for s in (n0, n1, n2, n3)]


def _assert_same_signal(a, b):
    np.testing.assert_allclose(a.times.magnitude, b.times.magnitude, atol=1e-9)
    assert str(a.units) == str(b.units)
    np.testing.assert_allclose(a.magnitude, b.magnitude, atol=1e-9)


@nest
@pytest.mark.parametrize("md", [0.1, 0.5])
@pytest.mark.parametrize("scenario", [dc_scenario, step_scenario, ac_scenario],
                         ids=["dc", "step", "ac"])
def test_traces_and_currents_match_nest(sim, nest_sim, scenario, md):
    v, currents = scenario(sim, md)
    v_nest, currents_nest = scenario(nest_sim, md)
    assert v.shape == v_nest.shape
    np.testing.assert_allclose(v, v_nest, atol=1e-6)
    for ours, theirs in zip(currents, currents_nest):
        assert type(ours) is type(theirs)
        _assert_same_signal(ours, theirs)
    # the scenario is not trivial: the currents move every membrane
    assert np.all(np.ptp(v, axis=0) > 0.1)


@nest
@pytest.mark.parametrize("md", [0.1, 0.5])
def test_noise_timing_matches_nest(sim, nest_sim, md):
    v, currents = noise_scenario(sim, md)
    v_nest, currents_nest = noise_scenario(nest_sim, md)
    # the deterministic (stdev = 0) cells match exactly
    np.testing.assert_allclose(v[:, 2:], v_nest[:, 2:], atol=1e-6)
    for ours, theirs in zip(currents[2:], currents_nest[2:]):
        _assert_same_signal(ours, theirs)
    # noisy ones: same samples, non-zero in the same steps, new values in the same steps
    for ours, theirs in zip(currents[:2], currents_nest[:2]):
        np.testing.assert_allclose(ours.times.magnitude, theirs.times.magnitude)
        a, b = ours.magnitude[:, 0], theirs.magnitude[:, 0]
        np.testing.assert_array_equal(a != 0, b != 0)
        np.testing.assert_array_equal(np.diff(a) != 0, np.diff(b) != 0)
    np.testing.assert_array_equal(np.diff(v[:, :2], axis=0) != 0,
                                  np.diff(v_nest[:, :2], axis=0) != 0)


# -- reset ----------------------------------------------------------------------------------

def reset_scenario(sim, amplitude_after_reset=None):
    _setup(sim, 0.5)
    cells = sim.Population(4, sim.IF_curr_exp(tau_refrac=1.0))
    cells.record("v")
    dc = sim.DCSource(amplitude=1.5, start=0.0, stop=3.0)
    step = sim.StepCurrentSource(times=[0.3, 1.27, 2.5], amplitudes=[0.5, 2.0, -1.0])
    ac = sim.ACSource(amplitude=1.0, frequency=200.0, phase=45.0, start=1.0)
    noise = sim.NoisyCurrentSource(mean=1.0, stdev=0.0, dt=0.3, start=0.5, stop=3.5)
    sources = (dc, step, ac, noise)
    for i, source in enumerate(sources):
        cells[i].inject(source)
        source.record()
    sim.run(4.0)
    return cells, sources


def test_reset_repeats_the_first_run(sim):
    cells, sources = reset_scenario(sim)
    first = [s.get_data() for s in sources]
    sim.reset()
    sim.run(2.0)
    sim.run(2.0)
    block = cells.get_data()
    np.testing.assert_array_equal(_v(cells, 0), _v(cells, 1))
    assert len(block.segments) == 2
    for a, b in zip(first, [s.get_data() for s in sources]):
        _assert_same_signal(a, b)


@nest
def test_change_after_reset_acts_as_in_a_fresh_nest_run(sim, nest_sim):
    cells, (dc, step, ac, noise) = reset_scenario(sim)
    sim.reset()
    dc.amplitude = 0.7
    step.set_parameters(times=[0.1, 2.0], amplitudes=[1.0, 0.2])
    ac.start = 0.0
    sim.run(4.0)
    v_after_reset = _v(cells, 1)
    _setup(nest_sim, 0.5)  # a fresh NEST network with the new values from the start
    cells_n = nest_sim.Population(4, nest_sim.IF_curr_exp(tau_refrac=1.0))
    cells_n.record("v")
    for i, source in enumerate((
            nest_sim.DCSource(amplitude=0.7, start=0.0, stop=3.0),
            nest_sim.StepCurrentSource(times=[0.1, 2.0], amplitudes=[1.0, 0.2]),
            nest_sim.ACSource(amplitude=1.0, frequency=200.0, phase=45.0, start=0.0),
            nest_sim.NoisyCurrentSource(mean=1.0, stdev=0.0, dt=0.3, start=0.5, stop=3.5))):
        cells_n[i].inject(source)
    nest_sim.run(4.0)
    np.testing.assert_allclose(v_after_reset, _v(cells_n), atol=1e-6)


# -- injection targets ----------------------------------------------------------------------

def test_injection_targets_and_sums(sim):
    _setup(sim, 0.1)
    pop = sim.Population(6, sim.IF_curr_exp(v_thresh=1000.0))
    pop2 = sim.Population(2, sim.IF_curr_exp(v_thresh=1000.0))
    pop.record("v")
    pop2.record("v")
    a = sim.DCSource(amplitude=0.4, start=1.0)
    b = sim.DCSource(amplitude=0.6, start=1.0)
    both = sim.DCSource(amplitude=1.0, start=1.0)
    a.inject_into(pop[0:2])          # PopulationView
    b.inject_into(pop[0:2])          # two sources into one cell add up
    pop[2].inject(both)              # single ID
    both.inject_into([pop[3]])       # list of IDs
    both.inject_into(sim.Assembly(pop2))
    pop[4].inject(a)                 # the same source twice into one cell: twice the current
    pop[4].inject(a)
    sim.run(5.0)
    v, v2 = _v(pop), _v(pop2)
    for col in (1, 2, 3):
        np.testing.assert_allclose(v[:, col], v[:, 0], atol=1e-12)
    np.testing.assert_allclose(v2, v[:, :2], atol=1e-12)
    assert np.all(v[:, 5] == -65.0)                 # not injected
    assert v[-1, 0] > -64.0
    np.testing.assert_allclose(v[:, 4] + 65.0, (v[:, 0] + 65.0) * 0.8, atol=1e-12)


def late_injection_scenario(sim, md):
    _setup(sim, md)
    cells = sim.Population(4, sim.IF_curr_exp(v_thresh=1000.0))
    cells.record("v")
    dc = sim.DCSource(amplitude=1.0, start=0.0)
    step = sim.StepCurrentSource(times=[0.5, 1.5], amplitudes=[0.5, 1.5])
    ac = sim.ACSource(amplitude=1.0, frequency=300.0, start=1.0)
    cells[0].inject(dc)
    sim.run(2.0)
    cells[1].inject(dc)  # NEST's new connections carry what the generator sends from now on
    cells[2].inject(step)
    ac.inject_into(cells[3:4])
    sim.run(2.0)
    return _v(cells)


@nest
@pytest.mark.parametrize("md", [0.1, 0.5])
def test_injection_after_a_run_matches_nest(sim, nest_sim, md):
    v = late_injection_scenario(sim, md)
    v_nest = late_injection_scenario(nest_sim, md)
    np.testing.assert_allclose(v, v_nest, atol=1e-6)
    first_change = np.argmax(np.diff(v[:, 1]) != 0)
    assert first_change == 20 + 2 * round(md / 0.1) + 1


def test_noise_targets_joining_later_redraw():
    backend = Backend("cpu", seed=3)
    stim = NoiseCurrent("noise0", mean=1.0, stdev=0.5, interval=100, targets=[0])
    early = stim.values(backend, 0, 10, 0.1)
    stim.set_targets([1, 2], from_step=15)
    assert stim.next_target_step(10) == 15 and stim.n_targets == 3
    assert stim.begin_block(10)
    middle = stim.values(backend, 10, 5, 0.1)
    assert middle.shape == (5, 1) and np.all(middle == early[0])  # held, old targets only
    assert stim.begin_block(15)
    late = stim.values(backend, 15, 5, 0.1)
    assert late.shape == (5, 3)
    assert np.all(late == late[0]) and late[0, 0] != early[0, 0]  # all drawn afresh
    assert len(set(late[0])) == 3


def test_population_inject_and_spike_sources(sim):
    _setup(sim, 0.1)
    pop = sim.Population(3, sim.IF_curr_exp(v_thresh=1000.0))
    pop.record("v")
    pop.inject(sim.DCSource(amplitude=0.5))  # an anonymous source is kept
    sim.run(2.0)
    v = _v(pop)
    assert np.all(v[-1] > -65.0) and np.ptp(v[-1]) == 0
    spikes = sim.Population(2, sim.SpikeSourceArray(spike_times=[1.0]))
    source = sim.DCSource(amplitude=1.0)
    with pytest.raises(TypeError, match="spike source"):
        source.inject_into(spikes)
    with pytest.raises(TypeError, match="spike source"):
        spikes[0].inject(source)
    with pytest.raises(TypeError, match="spike source"):
        source.inject_into(sim.Assembly(pop, spikes))


# -- noise statistics -----------------------------------------------------------------------

def test_noise_statistics_engine():
    backend = Backend("cpu", seed=7)
    targets = np.arange(50)
    stim = NoiseCurrent("noise0", mean=0.5, stdev=0.2, interval=3, start=10, stop=3010,
                        targets=targets)
    values = np.concatenate([stim.values(backend, s, 500, 0.1) for s in range(0, 3500, 500)])
    assert values.shape == (3500, 50)
    assert np.all(values[:10] == 0) and np.all(values[3010:] == 0)
    active = values[10:3010]
    np.testing.assert_array_equal(active[0::3], active[1::3])  # held for `interval` steps
    np.testing.assert_array_equal(active[0::3], active[2::3])
    draws = active[0::3]                                       # 1000 draws x 50 targets
    assert abs(draws.mean() - 0.5) < 0.005
    assert abs(draws.std() - 0.2) < 0.005
    corr = np.corrcoef(draws.T)
    off_diagonal = corr[~np.eye(50, dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.15                   # independent per target
    assert np.all(np.diff(draws, axis=0) != 0)


def test_noise_reproducible_with_seed(sim):
    def run(seed):
        _setup(sim, 0.1, rng_seed=seed)
        cells = sim.Population(3, sim.IF_curr_exp(v_thresh=1000.0))
        cells.record("v")
        noise = sim.NoisyCurrentSource(mean=0.0, stdev=1.0, dt=0.2)
        noise.inject_into(cells)
        noise.record()
        sim.run(20.0)
        return _v(cells), noise.get_data().magnitude[:, 0]

    v1, i1 = run(11)
    v2, i2 = run(11)
    v3, _ = run(12)
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(i1, i2)
    assert not np.array_equal(v1, v3)
    assert not np.allclose(v1[:, 0], v1[:, 1])  # independent currents per target
    # the recorded current is the mean over the three targets
    assert np.std(i1[1:]) < 0.8 and np.std(i1[1:]) > 0.3


# -- parameters -----------------------------------------------------------------------------

def test_parameters_read_back(sim):
    step = sim.StepCurrentSource(times=[0.41, 0.42, 0.86], amplitudes=[0.5, -0.5, 0.5])
    np.testing.assert_allclose(step.times.evaluate(), [0.4, 0.9])  # on the grid, no duplicates
    np.testing.assert_allclose(step.amplitudes.evaluate(), [-0.5, 0.5])
    dc = sim.DCSource(amplitude=0.3, start=2.0, stop=4.0)
    assert (dc.amplitude, dc.start, dc.stop) == (0.3, 2.0, 4.0)
    dc.amplitude += 0.1
    assert abs(dc.amplitude - 0.4) < 1e-12
    ac = sim.ACSource(frequency=50.0)
    ac.set_parameters(phase=90.0, offset=0.1)
    params = ac.get_parameters()
    assert params["phase"] == 90.0 and params["offset"] == 0.1 and params["frequency"] == 50.0
    noise = sim.NoisyCurrentSource(mean=1.0, dt=0.5)
    assert noise.dt == 0.5 and noise.stdev == 1.0


@pytest.mark.parametrize("make, error", [
    (lambda sim: sim.StepCurrentSource(times=[1.0, 2.0], amplitudes=[1.0]),
     errors.InvalidParameterValueError),
    (lambda sim: sim.StepCurrentSource(times=[2.0, 1.0], amplitudes=[1.0, 2.0]), ValueError),
    (lambda sim: sim.StepCurrentSource(times=[1.0, 1.0], amplitudes=[1.0, 2.0]), ValueError),
    (lambda sim: sim.StepCurrentSource(times=[-1.0, 1.0], amplitudes=[1.0, 2.0]), ValueError),
    (lambda sim: sim.DCSource(start=1.05), errors.InvalidParameterValueError),
    (lambda sim: sim.DCSource(start=5.0, stop=2.0), errors.InvalidParameterValueError),
    (lambda sim: sim.ACSource(stop=2.03), errors.InvalidParameterValueError),
    (lambda sim: sim.NoisyCurrentSource(dt=0.15), errors.InvalidParameterValueError),
    (lambda sim: sim.NoisyCurrentSource(dt=0.0), errors.InvalidParameterValueError),
    (lambda sim: sim.NoisyCurrentSource(stdev=-1.0), errors.InvalidParameterValueError),
    (lambda sim: sim.DCSource(foo=1.0), errors.NonExistentParameterError),
], ids=["step-lengths", "step-unsorted", "step-repeated", "step-negative", "dc-offgrid",
        "dc-stop-before-start", "ac-offgrid", "noise-dt", "noise-dt-zero", "noise-stdev",
        "unknown"])
def test_bad_parameters(sim, make, error):
    n_before = len(sim.simulator.state.network.stimuli)
    with pytest.raises(error):
        make(sim)
    assert len(sim.simulator.state.network.stimuli) == n_before  # nothing half-built


def test_failed_change_keeps_old_values(sim):
    dc = sim.DCSource(amplitude=1.0, start=2.0, stop=4.0)
    with pytest.raises(errors.InvalidParameterValueError):
        dc.start = 5.0
    assert dc.start == 2.0
    step = sim.StepCurrentSource(times=[1.0, 2.0], amplitudes=[1.0, 2.0])
    with pytest.raises(errors.InvalidParameterValueError):
        step.set_parameters(times=[1.0, 2.0, 3.0], amplitudes=[1.0])
    with pytest.raises(errors.InvalidParameterValueError):
        step.amplitudes = [1.0, 2.0, 3.0]
    np.testing.assert_allclose(step.times.evaluate(), [1.0, 2.0])
    step.amplitudes = [3.0, 4.0]  # one of the pair alone is fine when lengths agree
    np.testing.assert_allclose(step.amplitudes.evaluate(), [3.0, 4.0])


def test_recording_from_a_later_start(sim):
    pop = sim.Population(1, sim.IF_curr_exp())
    dc = sim.DCSource(amplitude=0.5, start=0.5)
    dc.inject_into(pop)
    with pytest.raises(RuntimeError, match="record"):
        dc.get_data()
    sim.run(1.0)
    dc.record()
    sim.run(1.0)
    signal = dc.get_data()
    np.testing.assert_allclose(signal.times.magnitude, np.arange(11, 21) * 0.1)
    np.testing.assert_array_equal(signal.magnitude[:, 0], 0.5)


def test_piecewise_schedule_keeps_values_in_flight():
    backend = Backend("cpu", seed=1)
    stim = PiecewiseConstantCurrent([5, 20], [1.0, 0.0], targets=[0])
    first = stim.values(backend, 0, 10, 0.1)
    stim.set_waveform([0], [2.0], from_step=14)  # steps 10..13 keep the old waveform
    second = stim.values(backend, 10, 10, 0.1)
    np.testing.assert_array_equal(first, [0] * 5 + [1.0] * 5)
    np.testing.assert_array_equal(second, [1.0] * 4 + [2.0] * 6)
    assert stim.amplitude_at(30) == 2.0


def test_gpu_noise_draws_do_not_depend_on_how_the_run_is_split():
    """The GPU's counter-based noise (engine/stimuli.py): rows drawn in one call or in
    pieces are the same numbers, distinct per target and row, N(0, 1)."""
    from pyNN_neurongpu.engine import Backend
    from pyNN_neurongpu.engine.stimuli import NoiseCurrent

    backend = Backend("cpu", "float64", seed=3)   # the array code runs on NumPy here
    whole = NoiseCurrent("noise0")._counter_normal(backend, 10, 400)
    pieces = NoiseCurrent("noise0")
    parts = []
    for n in (3, 1, 6):
        parts.append(pieces._counter_normal(backend, n, 400))
        pieces._n_drawn += n
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    other = NoiseCurrent("noise1")._counter_normal(backend, 10, 400)
    assert not np.allclose(other, whole)
    big = NoiseCurrent("noise0")._counter_normal(backend, 200, 500)
    assert abs(big.mean()) < 0.01 and abs(big.std() - 1.0) < 0.01
    assert np.unique(big).size == big.size
