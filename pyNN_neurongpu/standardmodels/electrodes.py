"""Current sources (electrodes) of the neurongpu backend, timed as in pyNN.nest.

pyNN.nest connects each NEST current generator to its targets with a delay of
`min_delay`, shifts start, stop and step times back by `min_delay` (clipping
at 0) and runs the NEST kernel `min_delay` ahead of PyNN's clock after the
first run. Here that is reproduced in arrival steps of the engine stimulus
(the step whose ``i_stim`` carries the current; the neuron feels it one step
later). With D = min_delay / dt and a generator step n (NEST's clock):

* a generator active in step n delivers in step n + D; NEST activates a
  current generator with grid start/stop times t_min, t_max (in steps) in
  steps t_min - 1 .. t_max - 2, from step 0 at the earliest;
* a parameter set before the first run acts from generator step 0; one set
  after a run that ended at PyNN step s acts from generator step s + D,
  i.e. from arrival step s + 2D; what is already on its way keeps the old value;
* ``reset()`` starts afresh: the sources behave as in a new simulation with
  their current parameters (pyNN.nest keeps currents in flight across a reset
  and moves start/stop; that is not reproduced).

Parameter values read back are the values given (rounded to the grid and
without duplicates for step times), not the shifted values pyNN.nest shows.
"""

from __future__ import annotations

import numpy as np
from pyNN import errors
from pyNN.common import Assembly as BaseAssembly
from pyNN.common import Population as BasePopulation
from pyNN.common import PopulationView as BasePopulationView
from pyNN.parameters import LazyArray, ParameterSpace, Sequence
from pyNN.standardmodels import build_translations, electrodes
from pyNN.standardmodels.base import StandardCurrentSource

from .. import simulator
from ..engine import NoiseCurrent, PiecewiseConstantCurrent, SinusoidalCurrent
from ..errors import magnitude_in

__all__ = ["ACSource", "DCSource", "NoisyCurrentSource", "StepCurrentSource"]

_NEVER = np.iinfo(np.int64).max // 4  # a step no simulation reaches


def _plain(value):
    """A parameter value from a ParameterSpace -> float or float array."""
    if isinstance(value, LazyArray):
        value = value.evaluate(simplify=True)
    if isinstance(value, Sequence):
        return np.asarray(value.value, dtype=float)
    if isinstance(value, np.ndarray) and value.dtype == object:
        if value.size != 1:
            raise errors.InvalidParameterValueError("a current source takes one value per "
                                                    "parameter")
        return _plain(value.item())
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim):
        return np.asarray(value, dtype=float)
    return float(value)


def _target_gids(cells):
    """Global indices of the cells and the populations they belong to."""
    if isinstance(cells, BaseAssembly):
        parts = [_target_gids(p) for p in cells.populations]
        return (np.concatenate([g for g, _ in parts]) if parts else np.zeros(0, np.int64),
                [pop for _, pops in parts for pop in pops])
    if isinstance(cells, (BasePopulation, BasePopulationView)):
        return np.asarray(cells._gids(), dtype=np.int64), [cells]
    gids = np.fromiter((int(c) for c in cells), dtype=np.int64)
    state = simulator.state
    first_ids = np.asarray(state._first_ids, dtype=np.int64)
    which = np.searchsorted(first_ids, gids, side="right") - 1
    if gids.size and (which.min() < 0 or gids.max() >= state.id_counter):
        raise errors.ConnectionError("cannot inject current into cells that do not exist")
    return gids, [state._pops_by_first_id[i] for i in np.unique(which)]


# PyNN's units of the current sources' parameters (quantities are converted to them)
_UNITS = {"amplitude": "nA", "amplitudes": "nA", "offset": "nA", "mean": "nA",
          "stdev": "nA", "start": "ms", "stop": "ms", "times": "ms", "dt": "ms",
          "frequency": "Hz", "phase": "deg"}


class _EngineCurrentSource(StandardCurrentSource):
    """What the four standard sources share: validation, timing, injection, recording."""

    _params = None  # class defaults keep StandardCurrentSource.__getattr__ from recursing
    _stim = None

    def __init__(self, **parameters):
        super().__init__(**{name: magnitude_in(value, _UNITS.get(name, ""), name)
                            for name, value in parameters.items()})
        state = simulator.state
        self._generation = state.generation
        self._dt = state.dt
        self._min_delay = state.min_delay
        self._delay = int(round(self._min_delay / self._dt))
        ps = self.parameter_space
        ps.shape = (1,)
        ps.evaluate(simplify=True)
        values = self._validated({name: _plain(ps[name]) for name in ps.keys()})
        self._stim = self._make_stimulus()
        self._params = values
        self._segment = None
        state.network.add_stimulus(self._stim)
        state.current_sources.append(self)
        self._push()

    # -- parameters -------------------------------------------------------------------
    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        given = {name: _plain(value) for name, value in parameters.items()}
        self._params = self._validated({**self._params, **given}, given)
        self._push()

    def get_native_parameters(self):
        return ParameterSpace({name: (value.copy() if isinstance(value, np.ndarray) else value)
                               for name, value in self._params.items()})

    def _validated(self, values, given=None):
        """Checked copy of all parameter values; raises InvalidParameterValueError."""
        for name, value in values.items():
            if not isinstance(value, float):
                raise errors.InvalidParameterValueError(
                    f"{type(self).__name__}: {name} takes a single number, not {value!r}")
        return dict(values)

    def _grid_steps(self, t, name):
        """Whole number of time steps in `t` ms (NEST's check that device times lie on the grid)."""
        if np.isinf(t):
            return _NEVER
        x = t / self._dt
        k = np.rint(x)
        if abs(x - k) > max(1e-6, 8 * np.spacing(abs(x))):  # float error grows with t
            raise errors.InvalidParameterValueError(
                f"{type(self).__name__}: {name} must be a multiple of the time step "
                f"({self._dt} ms) once min_delay ({self._min_delay} ms) is subtracted, "
                f"as in pyNN.nest; got {t + self._min_delay} ms")
        return int(k)

    def _nest_time(self, t):
        """A start/stop time as pyNN.nest hands it to NEST: min_delay earlier, at least 0."""
        return max(t - self._min_delay, 0.0)

    def _check_window(self, values):
        start, stop = self._nest_time(values["start"]), self._nest_time(values["stop"])
        self._grid_steps(start, "start")
        self._grid_steps(stop, "stop")
        if stop < start:
            raise errors.InvalidParameterValueError(
                f"{type(self).__name__}: stop ({values['stop']} ms) must not be before "
                f"start ({values['start']} ms)")

    def _active_steps(self):
        """Arrival steps [first, end) in which the current flows."""
        t_min = self._grid_steps(self._nest_time(self._params["start"]), "start")
        t_max = self._grid_steps(self._nest_time(self._params["stop"]), "stop")
        first = max(t_min - 1, 0) + self._delay
        end = t_max - 1 + self._delay if t_max < _NEVER else _NEVER
        return first, max(first, end)

    # -- timing -------------------------------------------------------------------------
    def _kernel_step(self):
        """NEST's clock in steps: min_delay ahead of PyNN's once a run has happened."""
        step = simulator.state.network.step
        return step + self._delay if step > 0 else 0

    def _change_step(self):
        """First arrival step of what the generator sends after a change made now."""
        return self._kernel_step() + self._delay if simulator.state.network.step > 0 else 0

    def _push(self):
        """Hand the current parameters to the engine stimulus, timed as in pyNN.nest."""
        self._configure(self._change_step())
        self._segment = simulator.state.segment_counter

    def _prepare_run(self):
        if self._segment != simulator.state.segment_counter:  # reset() since the last push
            self._push()

    def _make_stimulus(self):
        raise NotImplementedError

    def _configure(self, from_step):
        raise NotImplementedError

    # -- injection and recording -----------------------------------------------------
    def inject_into(self, cells):
        """Inject this current into a Population, PopulationView, Assembly or list of IDs."""
        simulator.state.require_current(self, type(self).__name__)
        if isinstance(cells, (BaseAssembly, BasePopulation, BasePopulationView)):
            simulator.state.require_current(cells, "the target")
        gids, populations = _target_gids(cells)
        for pop in populations:
            if not pop.celltype.injectable:
                raise TypeError("Can't inject current into a spike source.")
        # NEST connects the generator now: new targets get what it sends from now on
        self._stim.set_targets(gids, self._change_step())

    def record(self):
        """Record the injected current (the mean over targets for a noise source)."""
        self._stim.start_recording(simulator.state.network.step)

    def _get_data(self):
        """Sample times (ms) and currents (nA) as pyNN.nest returns them: the value at
        t = k dt is the current that acts on the targets from t to t + dt."""
        state = simulator.state
        if not self._stim.recording:
            raise RuntimeError(f"{type(self).__name__}: call record() before running to "
                               "record the injected current")
        first, trace = self._stim.recorded(state.backend)
        now = state.network.step
        trace = trace[:max(now - first, 0)]
        if first == 0:  # nothing arrives before step 0, so the sample at t = 0 is 0
            steps = np.arange(0, first + trace.size + 1)
            currents = np.concatenate([[0.0], trace])
        else:
            steps = np.arange(first + 1, first + trace.size + 1)
            currents = trace
        return np.round(steps * self._dt, 12), currents


class DCSource(_EngineCurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"))

    def _validated(self, values, given=None):
        values = super()._validated(values)
        self._check_window(values)
        return values

    def _make_stimulus(self):
        return PiecewiseConstantCurrent()

    def _configure(self, from_step):
        first, end = self._active_steps()
        self._stim.set_waveform([first, end], [self._params["amplitude"], 0.0], from_step)


class ACSource(_EngineCurrentSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"),
                                      ("stop", "stop"), ("frequency", "frequency"),
                                      ("offset", "offset"), ("phase", "phase"))

    def _validated(self, values, given=None):
        values = super()._validated(values)
        self._check_window(values)
        return values

    def _make_stimulus(self):
        return SinusoidalCurrent()

    def _configure(self, from_step):
        p = self._params
        first, end = self._active_steps()
        # pyNN.nest sets NEST's phase so that the given phase holds at (NEST's) start;
        # NEST's oscillator at generator step n shows its value at (n + 1) dt
        start_steps = self._grid_steps(self._nest_time(p["start"]), "start")
        self._stim.set_params(from_step, amplitude=p["amplitude"], offset=p["offset"],
                              frequency=p["frequency"], phase=np.deg2rad(p["phase"]),
                              ref_step=self._delay - 1 + start_steps, start=first, stop=end)


class StepCurrentSource(_EngineCurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitudes"), ("times", "times"))
    _given_times = None
    _given_amplitudes = None

    def _validated(self, values, given=None):
        times = np.atleast_1d(np.asarray(values["times"], dtype=float))
        amps = np.atleast_1d(np.asarray(values["amplitudes"], dtype=float))
        if times.size != amps.size:
            raise errors.InvalidParameterValueError(
                f"StepCurrentSource: {times.size} times but {amps.size} amplitudes")
        if times.size and (np.min(times) < 0 or not np.all(np.isfinite(times))):
            raise errors.InvalidParameterValueError(
                "StepCurrentSource: times must be finite and not negative")
        if times.size > 1 and np.min(np.diff(times)) <= 0:
            raise errors.InvalidParameterValueError(
                "StepCurrentSource: times must be strictly increasing")
        object.__setattr__(self, "_given_times", times)
        object.__setattr__(self, "_given_amplitudes", amps)
        # shown to the user: times on the grid, the last amplitude of any duplicates
        keep = self._last_of_duplicates(np.rint(times / self._dt).astype(np.int64))
        return {"times": np.rint(times[keep] / self._dt) * self._dt,
                "amplitudes": amps[keep]}

    @staticmethod
    def _last_of_duplicates(steps):
        """Indices that keep, for each distinct value of sorted `steps`, its last entry."""
        if steps.size == 0:
            return np.zeros(0, dtype=np.int64)
        return np.nonzero(np.append(steps[1:] != steps[:-1], True))[0]

    def _make_stimulus(self):
        return PiecewiseConstantCurrent()

    def _configure(self, from_step):
        dt, delay = self._dt, self._delay
        # what pyNN.nest sends to NEST: times min_delay earlier (at least 0), the last
        # time that is already due moved to the first step NEST can still act on,
        # everything rounded to the grid, duplicates resolved by the last amplitude
        times = np.maximum(self._given_times - self._min_delay, 0.0)
        amps = self._given_amplitudes.copy()
        earliest = self._kernel_step() * dt + dt
        due = np.searchsorted(times, earliest, side="right") - 1
        if due >= 0:
            times[due] = earliest
            times, amps = times[due:], amps[due:]
        stamps = np.rint(times / dt).astype(np.int64)
        keep = self._last_of_duplicates(stamps)
        # NEST switches the amplitude one step before its time stamp
        changes, values = stamps[keep] - 1 + delay, amps[keep]
        if from_step > 0:  # NEST's generator keeps its present amplitude until the first change
            changes = np.concatenate([[from_step], changes])
            values = np.concatenate([[self._stim.amplitude_at(from_step - 1)], values])
        self._stim.set_waveform(changes, values, from_step)

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        given = {name: _plain(value) for name, value in parameters.items()}
        if len(given) == 1:  # pair the changed one with the other as the user sees it
            given = {**self._params, **given}
        self._params = self._validated(given, given)
        self._push()


class NoisyCurrentSource(_EngineCurrentSource, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__
    translations = build_translations(("mean", "mean"), ("start", "start"), ("stop", "stop"),
                                      ("stdev", "stdev"), ("dt", "dt"))

    def _validated(self, values, given=None):
        values = super()._validated(values)
        self._check_window(values)
        if values["stdev"] < 0:
            raise errors.InvalidParameterValueError("NoisyCurrentSource: stdev must not be "
                                                    "negative")
        interval = values["dt"] / self._dt
        if not (values["dt"] > 0 and abs(interval - np.rint(interval)) <= 1e-6):
            raise errors.InvalidParameterValueError(
                f"NoisyCurrentSource: dt ({values['dt']} ms) must be a positive multiple of "
                f"the time step ({self._dt} ms)")
        return values

    def _make_stimulus(self):
        network = simulator.state.network
        index = sum(isinstance(s, NoiseCurrent) for s in network.stimuli)
        return NoiseCurrent(stream=f"noise{index}")

    def _configure(self, from_step):
        p = self._params
        first, end = self._active_steps()
        self._stim.set_params(from_step, mean=p["mean"], stdev=p["stdev"],
                              interval=int(np.rint(p["dt"] / self._dt)), start=first, stop=end)
