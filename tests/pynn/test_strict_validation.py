"""Issue #20: nothing silently wrong. Each numbered case of the issue has a test here
(parameter rules as strict as NEST's, time arguments on the grid, quantities, numerical
instability, wide spike counters, memory limits, failed setup, messages, stale objects).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import quantities as pq
from pyNN import errors

from pyNN_neurongpu.engine import memory
from pyNN_neurongpu.engine.backend import Backend
from pyNN_neurongpu.engine.recording import SpikeRecorder
from pyNN_neurongpu.errors import InvalidTimeError, NumericalInstability, StaleObjectError

LIF_CELLS = ["IF_curr_exp", "IF_cond_exp", "IF_curr_alpha", "IF_cond_alpha", "IF_curr_delta",
             "IF_cond_exp_gsfa_grr"]


# -- 1: v_reset must be below v_thresh (NEST: "Reset potential must be smaller than
#       threshold") -------------------------------------------------------------------------
@pytest.mark.parametrize("cell", LIF_CELLS)
@pytest.mark.parametrize("v_reset", [-50.0, -45.0])
def test_reset_not_below_threshold_is_refused_at_creation(sim, cell, v_reset):
    with pytest.raises(errors.InvalidParameterValueError, match="v_reset.*v_thresh"):
        sim.Population(1, getattr(sim, cell)(v_thresh=-50.0, v_reset=v_reset))
    assert sim.state.network.n_neurons == 0


@pytest.mark.parametrize("cell", ["IF_curr_exp", "IF_cond_exp", "IF_curr_alpha"])
def test_reset_not_below_threshold_is_refused_by_set_after_a_run(sim, cell):
    pop = sim.Population(3, getattr(sim, cell)())
    pop.record("spikes")
    sim.run(10.0)
    with pytest.raises(errors.InvalidParameterValueError, match="smaller than v_thresh"):
        pop.set(v_thresh=-70.0)
    assert np.all(pop.get("v_thresh") == -50.0)
    sim.run(40.0)
    assert sum(len(st) for st in pop.get_data().segments[0].spiketrains) == 0


def test_messages_name_parameter_value_and_rule(sim):
    with pytest.raises(errors.InvalidParameterValueError) as info:
        sim.Population(2, sim.IF_curr_exp(tau_m=-3.0))
    assert "tau_m = -3" in str(info.value) and "strictly positive" in str(info.value)


def test_nan_parameter_is_refused(sim):
    with pytest.raises(errors.InvalidParameterValueError, match="v_rest = nan"):
        sim.Population(1, sim.IF_curr_exp(v_rest=np.nan))
    pop = sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(errors.InvalidParameterValueError, match="nan"):
        pop.initialize(v=np.nan)


# -- 2: run lengths must be multiples of dt (NEST: "The simulation time must be a
#       multiple of the simulation resolution") ---------------------------------------------
@pytest.mark.parametrize("simtime", [0.05, 0.15, 1.01])
def test_off_grid_run_is_refused_and_the_clock_does_not_move(sim, simtime):
    sim.run(0.3)
    with pytest.raises(InvalidTimeError, match="multiple of the time step"):
        sim.run(simtime)
    assert sim.get_current_time() == pytest.approx(0.3)


def test_off_grid_run_until_is_refused(sim):
    with pytest.raises(InvalidTimeError):
        sim.run_until(0.15)
    assert sim.get_current_time() == 0.0


def test_repeated_on_grid_runs_do_not_drift(sim):
    for _ in range(10):
        sim.run(0.2)
    assert sim.get_current_time() == pytest.approx(2.0, abs=1e-12)
    sim.run(0.1 + 0.2)  # 0.30000000000000004: on the grid within the tolerance
    assert sim.get_current_time() == pytest.approx(2.3, abs=1e-12)


# -- 3: quantities are converted to PyNN's units, or refused --------------------------------
def test_quantities_are_converted(sim):
    pop = sim.Population(1, sim.IF_curr_exp(tau_m=0.01 * pq.s, cm=250 * pq.pF,
                                            i_offset=100 * pq.pA))
    assert pop.get("tau_m") == pytest.approx(10.0)
    assert pop.get("cm") == pytest.approx(0.25)
    assert pop.get("i_offset") == pytest.approx(0.1)
    pop.set(v_thresh=-0.045 * pq.V)
    assert pop.get("v_thresh") == pytest.approx(-45.0)
    pop.initialize(v=-0.06 * pq.V)
    assert pop.get_data  # noqa: B018 (still usable)
    assert sim.state.network.groups["iaf_psc_exp"].get_state("v", [0])[0] == \
        pytest.approx(-60.0)
    source = sim.DCSource(amplitude=500 * pq.pA, start=1 * pq.ms, stop=0.002 * pq.s)
    assert source.amplitude.base_value == pytest.approx(0.5)
    assert source.stop.base_value == pytest.approx(2.0)


def test_quantity_of_the_wrong_dimension_is_refused(sim):
    with pytest.raises(errors.InvalidParameterValueError, match="tau_m.*cannot be converted"):
        sim.IF_curr_exp(tau_m=3 * pq.mV)
    pop = sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(errors.InvalidParameterValueError, match="v_thresh"):
        pop.set(v_thresh=1 * pq.nA)
    assert pop.get("v_thresh") == -50.0


# -- 4: non-finite or out-of-bounds state stops the run (NEST: NumericalInstability) --------
ADEX_BLOWUP = dict(b=1000.0, i_offset=10.0, tau_w=500.0)


def test_adex_blow_up_raises_numerical_instability(sim):
    sim.Population(2, sim.EIF_cond_exp_isfa_ista(**ADEX_BLOWUP), label="adex")
    with pytest.raises(NumericalInstability) as info:
        sim.run(50.0)
    err = info.value
    assert err.population == "adex" and err.index == 0 and err.variable == "v"
    assert err.t_max < 50.0 and "adex" in str(err) and "t = " in str(err)
    if sim.test_backend == "cpu":  # the reference step knows the exact step
        assert err.t_min == err.t_max == pytest.approx(sim.get_current_time())


def test_numerical_check_can_be_turned_off(sim):
    sim.setup(timestep=0.1, backend=sim.test_backend, check_numerics=False)
    sim.Population(1, sim.EIF_cond_exp_isfa_ista(**ADEX_BLOWUP))
    sim.run(5.0)
    assert sim.get_current_time() == pytest.approx(5.0)


def test_nan_state_is_detected(sim):
    pop = sim.Population(3, sim.IF_curr_exp(), label="lif")
    sim.run(1.0)
    sim.state.network.groups["iaf_psc_exp"].set_state("v", [2], [np.nan])
    with pytest.raises(NumericalInstability, match="cell 2 of population 'lif'"):
        sim.run(1.0)
    assert pop.size == 3


# -- 5: spike counts cannot wrap -------------------------------------------------------------
def test_spike_recorder_keeps_large_multiplicities():
    backend = Backend("cpu")

    class Group:
        class model:
            spike_source = False
        size = 2

    rec = SpikeRecorder(backend, Group)
    rec.add([0, 1])
    rec.record(0, np.array([300, 1], dtype=np.int64))      # > 255 (uint8)
    rec.record(1, np.array([70000, 0], dtype=np.int64))    # > 65535 (uint16)
    rec.record(2, np.array([True, False]))
    steps, local, counts = rec.events()
    assert counts.tolist() == [300, 1, 70000, 1]


def test_very_fast_poisson_source_records_every_spike(sim):
    source = sim.Population(1, sim.SpikeSourcePoisson(rate=1e9))
    source.record("spikes")
    sim.run(1.0)
    n = len(source.get_data().segments[0].spiketrains[0])
    expected = 1e9 * 0.9e-3   # 10^5 spikes a step, in the steps ending at 0.1 ... 0.9 ms
    assert abs(n - expected) < 5 * np.sqrt(expected)


# -- 6: the memory check honours RLIMIT_AS and cgroup limits --------------------------------
def test_memory_check_reads_cgroup_limits(tmp_path):
    (tmp_path / "cgroup").write_text("0::/job/step\n")
    d = tmp_path / "fs" / "job"
    d.mkdir(parents=True)
    (d / "memory.max").write_text(str(3 << 30))
    (d / "memory.current").write_text(str(1 << 30))
    (d / "step").mkdir()
    (d / "step" / "memory.max").write_text("max\n")
    left = memory._cgroup_left(root=str(tmp_path / "fs"), proc_cgroup=str(tmp_path / "cgroup"))
    assert left == 2 << 30
    (tmp_path / "cgroup1").write_text("4:memory:/a\n")
    v1 = tmp_path / "fs1" / "memory" / "a"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text(str(5 << 30))
    (v1 / "memory.usage_in_bytes").write_text(str(1 << 30))
    assert memory._cgroup_left(root=str(tmp_path / "fs1"),
                               proc_cgroup=str(tmp_path / "cgroup1")) == 4 << 30


def test_memory_check_honours_rlimit_as():
    """An 11k x 11k AllToAll under ulimit -v: our MemoryError before allocating, and the
    simulator still runs afterwards."""
    script = textwrap.dedent("""
        import resource
        import pyNN.neurongpu as sim
        sim.setup(timestep=0.1, backend="cpu")
        vm = [int(line.split()[1]) * 1024 for line in open("/proc/self/status")
              if line.startswith("VmSize:")][0]
        resource.setrlimit(resource.RLIMIT_AS, (vm + (600 << 20), resource.RLIM_INFINITY))
        pre = sim.Population(11000, sim.SpikeSourcePoisson(rate=1.0))
        post = sim.Population(11000, sim.IF_curr_exp())
        try:
            sim.Projection(pre, post, sim.AllToAllConnector(),
                           sim.StaticSynapse(weight=0.1, delay=1.0))
        except MemoryError as err:
            assert "will not fit" in str(err), str(err)
            print("REFUSED")
        sim.run(1.0)
        sim.run(1.0)
        print("RAN", sim.get_current_time())
    """)
    env = dict(os.environ, PYNN_NEURONGPU_BACKEND="cpu")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=300, env=env)
    assert "REFUSED" in out.stdout and "RAN 2.0" in out.stdout, out.stdout + out.stderr


# -- 7: a failed setup() leaves the previous state intact -----------------------------------
@pytest.mark.parametrize("timestep", [np.nan, np.inf, -0.1, 0.0])
def test_failed_setup_keeps_the_previous_network(sim, timestep):
    pop = sim.Population(2, sim.IF_curr_exp(i_offset=1.0))
    pop.record("spikes")
    sim.run(1.0)
    with pytest.raises(ValueError, match="timestep"):
        sim.setup(timestep=timestep, backend=sim.test_backend)
    assert sim.get_time_step() == 0.1
    assert sim.state.populations == [pop]
    sim.run(50.0)
    assert sim.get_current_time() == pytest.approx(51.0)
    assert len(pop.get_data().segments[0].spiketrains[0]) > 0


def test_failed_setup_with_a_bad_backend_keeps_the_previous_network(sim):
    pop = sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(Exception):  # noqa: B017
        sim.setup(timestep=0.1, backend="no-such-device")
    assert sim.state.populations == [pop]
    sim.run(1.0)


# -- 8: clear messages -----------------------------------------------------------------------
def test_run_nan_and_inf_have_clear_messages(sim):
    for value in (np.nan, np.inf, -np.inf):
        with pytest.raises(InvalidTimeError, match="simtime = .*must be a finite time"):
            sim.run(value)
    assert sim.get_current_time() == 0.0
    sim.run(1.0)


def test_recording_memory_error_does_not_suggest_float32(sim, monkeypatch):
    pop = sim.Population(10, sim.IF_curr_exp())
    pop.record("v")
    monkeypatch.setattr(memory, "available_bytes", lambda backend: 1000)
    with pytest.raises(MemoryError) as info:
        sim.run(100.0)
    assert "float32" not in str(info.value)


def test_sampling_interval_below_dt_message(sim):
    pop = sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(ValueError, match="at least the time step"):
        pop.record("v", sampling_interval=0.05)
    with pytest.raises(ValueError, match="multiple of the time step"):
        pop.record("v", sampling_interval=0.15)


# -- objects of an earlier setup() -----------------------------------------------------------
def test_objects_of_an_earlier_setup_are_refused(sim):
    old = sim.Population(2, sim.IF_curr_exp(), label="old")
    old_source = sim.DCSource(amplitude=1.0)
    sim.setup(timestep=0.1, backend=sim.test_backend)
    new = sim.Population(2, sim.IF_curr_exp(), label="new")
    with pytest.raises(StaleObjectError, match="'old'"):
        sim.Projection(old, new, sim.AllToAllConnector())
    with pytest.raises(StaleObjectError):
        sim.Projection(new, old[0:1], sim.AllToAllConnector())
    with pytest.raises(StaleObjectError):
        sim.DCSource(amplitude=1.0).inject_into(old)
    with pytest.raises(StaleObjectError):
        old_source.inject_into(new)
    with pytest.raises(StaleObjectError):
        old.set(i_offset=1.0)
    with pytest.raises(StaleObjectError):
        old.record("spikes")
    with pytest.raises(StaleObjectError):
        sim.Assembly(old, new).record("spikes")
    sim.Projection(new, new, sim.AllToAllConnector())
    sim.run(1.0)


@pytest.mark.parametrize("cell,initial,message", [
    ("HH_cond_exp", {"m": -0.1}, "m = -0.1 .*must not be negative"),
    ("HH_cond_exp", {"h": -0.5}, "h = -0.5 .*must not be negative"),
    ("EIF_cond_exp_isfa_ista", {"gsyn_inh": -0.01}, "gsyn_inh = -0.01 .*must not be negative"),
    ("EIF_cond_alpha_isfa_ista", {"gsyn_exc": -0.01}, "gsyn_exc = -0.01"),
])
def test_initial_states_nest_refuses_are_refused(sim, cell, initial, message):
    """NEST's hh_cond_exp_traub: 'All (in)activation variables must be non-negative';
    aeif_cond_*: 'Conductances must not be negative'; the values already set stay."""
    cells = sim.Population(2, getattr(sim, cell)())
    name = next(iter(initial))
    before = cells.initial_values[name]
    with pytest.raises(errors.InvalidParameterValueError, match=message):
        cells.initialize(**initial)
    assert cells.initial_values[name] is before


def test_initial_conductances_nest_accepts_are_accepted(sim):
    cells = sim.Population(1, sim.IF_cond_exp())   # NEST's iaf_cond_exp accepts g_ex < 0
    cells.initialize(gsyn_exc=-0.01)
    assert cells.initial_values["gsyn_exc"][0] == -0.01
