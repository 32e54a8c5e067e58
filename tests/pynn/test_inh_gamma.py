"""SpikeSourceInhGamma (NEST 2.x's inh_gamma_generator, absent from NEST 3.10, so the
reference is the process's theory): for constant a, b the rate is 1/(a b) and the ISI CV
1/sqrt(a); piecewise a, b give each bin's rate; the source is silent before tbins[0] and
outside its window; a seed repeats; bad input raises PyNN's errors."""

import importlib

import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import Sequence


@pytest.fixture
def sim():
    module = importlib.import_module("pyNN.neurongpu")
    yield module
    module.end()


def trains(sim, n, a, b, tbins, time, seed=5, dt=1.0, **extra):
    sim.setup(timestep=dt, backend="cpu", rng_seed=seed, verbosity="error")
    src = sim.Population(n, sim.SpikeSourceInhGamma(a=Sequence(a), b=Sequence(b),
                                                   tbins=Sequence(tbins), **extra))
    src.record("spikes")
    sim.run(time)
    return [np.asarray(st.magnitude) for st in src.get_data().segments[0].spiketrains]


@pytest.mark.parametrize("a, b", [(3.0, 1 / 60.0), (1.0, 0.05), (2.5, 0.01)])
def test_constant_rate_and_cv(sim, a, b):
    """Rate 1/(a b), CV 1/sqrt(a), over 100 sources x 5 s (about 10^4 spikes: the rate's
    standard error is below 1%, the CV's about 1%; bounds 5%)."""
    got = trains(sim, 100, [a], [b], [0.0], 5000.0)
    rate = sum(t.size for t in got) / (100 * 5.0)
    assert rate == pytest.approx(1.0 / (a * b), rel=0.05)
    # the first interval runs from t = 0 (NEST's t_last = 0), the others are renewals
    isi = np.concatenate([np.diff(t) for t in got])
    assert isi.std() / isi.mean() == pytest.approx(1.0 / np.sqrt(a), rel=0.05)


def test_piecewise_rate_per_bin(sim):
    tbins, a, b = [0.0, 1000.0, 2000.0], [2.0, 4.0, 1.0], [0.05, 0.0125, 0.02]
    got = np.concatenate(trains(sim, 200, a, b, tbins, 3000.0))
    for lo, ai, bi in zip(tbins, a, b):
        # a bin's first 200 ms hold the renewal transient of the switch
        n = np.count_nonzero((got > lo + 200.0) & (got <= lo + 1000.0))
        assert n / (200 * 0.8) == pytest.approx(1.0 / (ai * bi), rel=0.08), lo


def test_silent_before_the_first_bin_and_outside_the_window(sim):
    got = trains(sim, 50, [1.0], [0.01], [300.0], 1000.0)
    times = np.concatenate(got)
    assert times.size > 1000 and times.min() > 300.0
    got = trains(sim, 50, [1.0], [0.01], [0.0], 1000.0, start=200.0, duration=300.0)
    times = np.concatenate(got)
    assert times.size > 500 and times.min() > 200.0 and times.max() <= 500.0 + 1.0


def test_fixed_seed_repeats(sim):
    first = trains(sim, 20, [2.0, 3.0], [0.02, 0.01], [0.0, 200.0], 500.0, seed=9, dt=0.1)
    again = trains(sim, 20, [2.0, 3.0], [0.02, 0.01], [0.0, 200.0], 500.0, seed=9, dt=0.1)
    other = trains(sim, 20, [2.0, 3.0], [0.02, 0.01], [0.0, 200.0], 500.0, seed=10, dt=0.1)
    assert sum(t.size for t in first) > 100
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    assert any(x.size != y.size or np.any(x != y) for x, y in zip(first, other))


@pytest.mark.parametrize("params, message", [
    ({"a": [-1.0]}, "at least 1"),
    ({"a": [0.5]}, "at least 1"),
    ({"b": [-0.1]}, "positive"),
    ({"b": [0.0]}, "positive"),
    ({"tbins": [0.0, 500.0, 200.0], "a": [1.0] * 3, "b": [0.1] * 3}, "strictly increasing"),
    ({"tbins": [0.0, 500.0], "a": [1.0, 2.0], "b": [0.1]}, "same length"),
    ({"tbins": [0.0], "a": [1.0, 2.0], "b": [0.1, 0.2]}, "same length"),
])
def test_bad_input_raises(sim, params, message):
    sim.setup(timestep=0.1, backend="cpu", verbosity="error")
    values = {"a": [1.0], "b": [0.1], "tbins": [0.0], **params}
    with pytest.raises(errors.InvalidParameterValueError, match=message):
        sim.Population(2, sim.SpikeSourceInhGamma(**{k: Sequence(v) for k, v in
                                                    values.items()}))


def test_bad_values_set_later_raise(sim):
    sim.setup(timestep=0.1, backend="cpu", verbosity="error")
    src = sim.Population(2, sim.SpikeSourceInhGamma())
    with pytest.raises(errors.InvalidParameterValueError, match="strictly increasing"):
        src.set(tbins=Sequence([5.0, 1.0]))
    with pytest.raises(errors.InvalidParameterValueError, match="positive"):
        src.set(b=Sequence([-2.0]))
