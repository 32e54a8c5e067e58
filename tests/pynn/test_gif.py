"""GIF_cond_exp in the PyNN layer: kernels as ArrayParameters, NEST's parameter rules,
refractoriness and reset, without NEST."""

import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import ArrayParameter


@pytest.fixture
def sim():
    import pyNN.neurongpu as sim
    sim.setup(timestep=0.1, backend="cpu", verbosity="error")
    yield sim
    sim.end()


def test_kernels_round_trip_as_array_parameters(sim):
    cells = sim.Population(2, sim.GIF_cond_exp(a_eta=[(0.1, 0.2), (0.0, 0.0)],
                                               tau_eta=(5.0, 50.0)))
    a_eta = cells.get("a_eta")
    assert all(isinstance(v, ArrayParameter) for v in a_eta)
    np.testing.assert_array_equal(a_eta[0].value, [0.1, 0.2])
    np.testing.assert_array_equal(cells.get("tau_gamma")[0].value, [1.0, 10.0, 100.0])
    cells.set(a_gamma=ArrayParameter([3.0, 1.0, 0.5]))
    np.testing.assert_array_equal(cells.get("a_gamma")[1].value, [3.0, 1.0, 0.5])


@pytest.mark.parametrize("bad", [dict(delta_v=0.0), dict(cm=-1.0), dict(tau_refrac=-1.0),
                                 dict(lambda0=-1.0), dict(tau_eta=(1.0, 0.0, 10.0)),
                                 dict(tau_syn_E=0.0)])
def test_nest_parameter_rules(sim, bad):
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(1, sim.GIF_cond_exp(**bad))


def test_kernel_lengths_must_agree(sim):
    with pytest.raises((errors.InvalidParameterValueError, ValueError),
                       match="same dimensions"):
        sim.Population(1, sim.GIF_cond_exp(tau_eta=(1.0, 10.0), a_eta=(1.0, 1.0, 1.0)))
        sim.run(1.0)


def test_spike_jumps_kernels_and_refractory_clamp(sim):
    """A certain spike (delta_v tiny, V above v_t): i_eta and v_t jump by the sums of the
    increments one step later, V is clamped to v_reset for the refractory period."""
    cells = sim.Population(1, sim.GIF_cond_exp(
        delta_v=1e-6, v_t_star=-64.0, tau_refrac=2.0, a_eta=(0.1, 0.2, 0.3),
        a_gamma=(1.0, 2.0, 3.0)), initial_values={"v": -60.0})
    cells.record(["spikes", "v", "v_t", "i_eta"])
    sim.run(5.0)
    seg = cells.get_data().segments[0]
    spikes = seg.spiketrains[0].magnitude
    assert spikes[0] == pytest.approx(0.1)
    v = seg.filter(name="v")[0].magnitude[:, 0]
    v_t = seg.filter(name="v_t")[0].magnitude[:, 0]
    i_eta = seg.filter(name="i_eta")[0].magnitude[:, 0]
    assert v_t[1] == pytest.approx(-64.0)   # the step of the spike
    assert v_t[2] == pytest.approx(-58.0)   # the next: the increments, not yet decayed
    assert i_eta[2] == pytest.approx(0.6)
    np.testing.assert_allclose(v[2:22], -65.0)   # refractory for 20 steps after the spike


def test_reset_clears_the_kernels(sim):
    cells = sim.Population(20, sim.GIF_cond_exp(i_offset=0.5, delta_v=2.0, lambda0=50.0))
    cells.record("i_eta")
    sim.run(50.0)
    sim.reset()
    sim.run(1.0)
    i_eta = cells.get_data().segments[1].filter(name="i_eta")[0].magnitude
    np.testing.assert_array_equal(i_eta, 0.0)
