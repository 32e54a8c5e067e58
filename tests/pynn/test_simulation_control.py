"""setup / run / run_until / callbacks / reset / end and the state queries."""

import numpy as np
import pytest
from pyNN import errors


def test_run_until_and_current_time(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    sim.Population(1, sim.IF_curr_exp())
    assert sim.get_current_time() == 0.0
    for target in (12.7, 12.7, 99.9):
        assert sim.run_until(target) == target
        assert sim.get_current_time() == target
    with pytest.raises(ValueError):
        sim.run_until(88.8)
    t = 99.9
    for _ in range(7):   # no drift over many small runs
        t = round(t + 0.3, 10)
        assert sim.run(0.3) == t


def test_callbacks_are_called_at_their_times(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(1, sim.IF_curr_exp(i_offset=0.3))
    seen, v_seen = [], []

    def every_2_5(t):
        seen.append(t)
        return t + 2.5

    def read_v(t):
        if t > 0:   # (before the first run there is no segment, as in every PyNN backend)
            v_seen.append(float(p.get_data().segments[0].analogsignals[0][-1, 0]))
        return t + 5.0

    p.record("v")
    sim.run(10.0, callbacks=[every_2_5, read_v])
    assert seen == [0.0, 2.5, 5.0, 7.5, 10.0]
    assert len(v_seen) == 2 and -65.0 < v_seen[0] < v_seen[1]
    assert sim.get_current_time() == 10.0


def test_state_queries_and_delays(sim):
    sim.setup(timestep=0.05, min_delay=0.2, max_delay=5.0, backend=sim.test_backend)
    assert (sim.get_time_step(), sim.get_min_delay(), sim.get_max_delay()) == (0.05, 0.2, 5.0)
    assert (sim.rank(), sim.num_processes()) == (0, 1)
    a = sim.Population(2, sim.IF_curr_exp())
    with pytest.raises(errors.ConnectionError):
        sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(delay=0.1))
    with pytest.raises(errors.ConnectionError):
        sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(delay=5.5))
    prj = sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse())
    assert prj.get("delay", format="list", with_address=False) == [0.2] * 4


def test_auto_min_delay_reports_smallest_delay_in_use(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)   # min_delay = max_delay = 'auto'
    assert sim.get_min_delay() == 0.1
    a = sim.Population(3, sim.IF_curr_exp())
    sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(delay=0.5))
    assert sim.get_min_delay() == 0.5 and sim.get_max_delay() == 0.5
    prj = sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse())
    assert set(prj.get("delay", format="list", with_address=False)) == {0.5}  # like NEST
    sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(delay=0.2))
    sim.Projection(a, a, sim.AllToAllConnector(), sim.StaticSynapse(delay=3.0))
    sim.run(1.0)
    assert sim.get_min_delay() == 0.2 and sim.get_max_delay() == 3.0


def test_setup_rejects_bad_delays(sim):
    with pytest.raises(Exception, match="min_delay"):
        sim.setup(timestep=0.1, min_delay=0.05, backend=sim.test_backend)
    with pytest.raises(Exception, match="min_delay"):
        sim.setup(timestep=0.1, min_delay=2.0, max_delay=1.0, backend=sim.test_backend)


def test_reset_restores_initial_state_and_keeps_structure(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    rng = sim.NumpyRNG(seed=5)
    p = sim.Population(4, sim.IF_curr_exp(i_offset=0.6))
    p.initialize(v=sim.RandomDistribution("uniform", low=-70.0, high=-55.0, rng=rng))
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[3.0, 4.0]))
    sim.Projection(src, p, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.5, delay=2.0))
    p.record(["v", "spikes"])
    sim.run(30.0)
    sim.reset()
    assert sim.get_current_time() == 0.0
    sim.run(30.0)
    first, second = p.get_data().segments
    np.testing.assert_array_equal(first.analogsignals[0].magnitude,
                                  second.analogsignals[0].magnitude)
    v0 = first.analogsignals[0].magnitude[0]
    assert len(set(v0.tolist())) == 4   # random draws kept over the reset
    assert [len(st) for st in first.spiketrains] == [len(st) for st in second.spiketrains]


def test_setup_again_starts_a_fresh_network(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend)
    p = sim.Population(3, sim.IF_curr_exp())
    sim.run(5.0)
    sim.end()
    sim.setup(timestep=0.1, backend=sim.test_backend)
    q = sim.Population(2, sim.IF_curr_exp())
    assert sim.get_current_time() == 0.0
    assert int(q.first_id) == int(p.first_id)   # ids start again
    q.record("v")
    sim.run(1.0)
    assert q.get_data().segments[0].analogsignals[0].shape == (11, 2)
