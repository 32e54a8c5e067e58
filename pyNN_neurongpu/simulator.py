"""Simulator state of the neurongpu backend: clock, delays, segments, and the
engine network it owns.

Only the PyNN layer uses this module; a script talks to it through ``setup``,
``run``, ``reset`` and ``end``.
"""

from __future__ import annotations

import bisect

import numpy as np
from pyNN import common

from . import console
from .engine import DEFAULT_TOLERANCE, Backend, Network, parallel
from .engine import NumericalInstability as EngineInstability
from .errors import NumericalInstability, StaleObjectError, time_steps

name = "neurongpu"
NEST_TICS_PER_MS = 1000


class ID(int, common.IDMixin):
    """A neuron's global identifier; also its index in the engine. (No ``__init__``:
    neither int nor IDMixin has one to call, and millions of IDs are made per build.)"""

    @property
    def parent(self):
        return state.population_of(int(self))

    def __setattr__(self, name, value):
        if name == "parent":  # the parent is derived from the id, never stored
            return
        common.IDMixin.__setattr__(self, name, value)


def exact_step_ratio(dt: float) -> tuple[int, int]:
    """(numerator, denominator) with dt == numerator / denominator, the denominator a
    power of ten where one exists, so that step * numerator / denominator is the
    double nearest to the decimal time (as NEST's integer tics give it)."""
    for k in range(10):
        scaled = dt * 10**k
        if abs(scaled - round(scaled)) <= 1e-9 * scaled:
            return int(round(scaled)), 10**k
    return 0, 0


def make_ids(first: int, n: int) -> np.ndarray:
    ids = np.empty(n, dtype=object)
    ids[:] = list(map(ID, range(first, first + n)))
    return ids


def _use_device_of_local_rank(backend, comm):
    """One rank per GPU: local rank r of a node uses its GPU r modulo their number (several
    ranks share a GPU where there are more ranks than GPUs)."""
    cuda = backend.xp.cuda
    cuda.Device(comm.local_rank % cuda.runtime.getDeviceCount()).use()


class State(common.control.BaseState):
    """Clock, delays and network of the current simulation."""

    def __init__(self):
        super().__init__()
        self.comm = parallel.default_communicator()  # one rank without MPI
        self.mpi_rank = self.comm.rank
        self.num_processes = self.comm.size
        self.dt = 0.1
        self.spike_precision = "on_grid"
        self.connectivity = "stored"
        self.integration_tolerance = DEFAULT_TOLERANCE
        self._dt_ratio = (1, 10)
        self._min_delay = "auto"
        self._max_delay = "auto"
        self.backend_name = None
        self.precision = None
        self.rng_seed = None
        self.backend = None
        self.network = None
        self.verbosity = "info"
        self.progress = False
        self._logged_device = None
        self.generation = 0   # counts setup()s: objects of an earlier one are refused
        self.check_numerics = True
        self.clear()

    # -- configuration --------------------------------------------------------------
    def configure(self, timestep, min_delay, max_delay, backend=None, precision=None,
                  rng_seed=None, verbosity="info", progress=False):
        """Start a fresh network; if the backend cannot be created, nothing changes."""
        seed = rng_seed
        if seed is None and self.comm.size > 1:  # every rank draws the same numbers
            seed = self.comm.allgather(int(np.random.SeedSequence().entropy % 2**31))[0]
        new_backend = Backend(backend, precision, seed)
        if new_backend.is_gpu and self.comm.size > 1:
            _use_device_of_local_rank(new_backend, self.comm)
        self.verbosity = verbosity
        self.progress = progress
        self.dt = float(timestep)
        self.spike_precision = "on_grid"
        self._dt_ratio = exact_step_ratio(self.dt)
        self._min_delay = min_delay
        self._max_delay = max_delay
        self.backend_name = backend
        self.precision = precision
        self.rng_seed = rng_seed
        self.clear(new_backend)
        device = (self.backend.device, self.backend.precision)
        if self.verbosity not in console.QUIET and self._logged_device != device:
            console.show_device(self.backend.describe(), self.verbosity)
            self._logged_device = device

    def _notify(self, message: str):
        console.show_line(f"pyNN.neurongpu: {message}", getattr(self, "verbosity", "info"))

    def require_current(self, obj, what: str = "object"):
        """Raise StaleObjectError if `obj` (a population, view, assembly, projection or
        current source) was made before the latest setup()."""
        if isinstance(obj, common.Assembly):
            for p in obj.populations:
                self.require_current(p, what)
            return
        generation = getattr(obj, "_generation", None)
        if generation is None and hasattr(obj, "grandparent"):
            generation = getattr(obj.grandparent, "_generation", None)
        if generation is not None and generation != self.generation:
            try:
                label = obj.label or type(obj).__name__
            except Exception:  # current sources have no label
                label = type(obj).__name__
            raise StaleObjectError(
                f"{what} {label!r} was created before the latest setup(), which destroyed "
                "its network; create it again")

    @property
    def min_delay(self):
        """The minimum delay; with min_delay='auto', the smallest delay in use (as NEST
        reports it), or dt while there are no connections."""
        if self._min_delay == "auto":
            return self._auto_min_delay()
        return float(self._min_delay)

    @property
    def min_delay_limit(self):
        """Smallest delay a connection may have (dt with min_delay='auto')."""
        return self.dt if self._min_delay == "auto" else float(self._min_delay)

    def _auto_min_delay(self):
        steps = [int(self.backend.to_host(sg.delay.min()))
                 for sg in (self.network.synapse_groups if self.network else ()) if sg.size]
        steps += [g.min_delay for g in (self.network.procedural_groups if self.network else ())]
        return self.time_of(min(steps)) if steps else self.dt

    @property
    def max_delay(self):
        if self._max_delay == "auto":
            return self._auto_max_delay()
        return float(self._max_delay)

    def _auto_max_delay(self):
        # with max_delay='auto' any delay is accepted; report the largest in use
        largest = self.dt
        for sg in self.network.synapse_groups if self.network else ():
            if sg.size:
                largest = max(largest, self.time_of(int(self.backend.to_host(sg.delay.max()))))
        for g in self.network.procedural_groups if self.network else ():
            largest = max(largest, self.time_of(g.max_delay))
        return largest

    @property
    def max_delay_limit(self):
        """Largest delay a connection may have (inf with max_delay='auto')."""
        return np.inf if self._max_delay == "auto" else float(self._max_delay)

    def delay_steps(self, delay_ms):
        return np.rint(np.asarray(delay_ms, dtype=float) / self.dt).astype(np.int32)

    # -- time -----------------------------------------------------------------------
    def time_of(self, steps):
        """Time in ms of step count(s) `steps`: the double nearest to steps * dt."""
        num, den = self._dt_ratio
        if den:
            return np.asarray(steps) * num / den if np.ndim(steps) else steps * num / den
        return np.asarray(steps) * self.dt if np.ndim(steps) else steps * self.dt

    def spike_times_of(self, steps):
        """Spike time stamps (ms) of step counts, computed as NEST computes them (integer
        tics of 1 us times 0.001 ms), so that recorded times equal pyNN.nest's bit for bit."""
        tics = self.dt * NEST_TICS_PER_MS
        if abs(tics - round(tics)) <= 1e-9 * tics:
            return np.asarray(steps) * round(tics) * (1.0 / NEST_TICS_PER_MS)
        return self.time_of(steps)

    @property
    def t(self):
        return float(self.time_of(self.network.step)) if self.network else 0.0

    def steps_until(self, tstop):
        return int(np.rint(tstop / self.dt)) - self.network.step

    def run(self, simtime):
        steps = time_steps(simtime, self.dt, "simtime")
        self.run_until(self.time_of(self.network.step + steps))

    def run_until(self, tstop):
        for source in self.current_sources:
            source._prepare_run()
        n = self.steps_until(tstop)
        if n > 0:
            self.running = True
            try:
                console.run_steps(self.network, n, self.dt, self.progress)
            except EngineInstability as err:
                raise self._instability(err) from None
        else:
            self.network.run(0)   # the samples due now: the initial values at t = 0
            self.running = True

    def _instability(self, err):
        """The engine's NumericalInstability, told in PyNN's terms (population, cell
        index, time)."""
        t0, t1 = self.time_of(err.first_step), self.time_of(err.last_step)
        when = f"at t = {t1:g} ms" if t0 == t1 else f"between t = {t0:g} and {t1:g} ms"
        if err.gid is None:   # found on another MPI rank, which names the cell
            return NumericalInstability(f"numerical instability {when} ({err}); "
                                        "setup(check_numerics=False) turns this check off.",
                                        t_min=t0, t_max=t1)
        try:
            pop = self.population_of(err.gid)
            index = err.gid - int(pop.first_id)
            who = f"cell {index} of population {pop.label!r} ({pop.celltype.__class__.__name__})"
        except Exception:
            pop, index, who = None, None, f"neuron {err.gid}"
        message = (f"numerical instability {when}: {who} has {err.variable} = "
                   f"{err.value:g}, which {err.rule} (NEST raises NumericalInstability here). "
                   "Smaller weights, inputs or time step may help; "
                   "setup(check_numerics=False) turns this check off.")
        return NumericalInstability(message, population=getattr(pop, "label", None),
                                    index=index, variable=err.variable, value=err.value,
                                    t_min=t0, t_max=t1)

    def reset(self):
        """Return to t = 0 with the initial values; the network structure is kept."""
        self.network.reset()
        for pop in self.populations:
            for variable, initial_value in pop.initial_values.items():
                pop._set_initial_value_array(variable, initial_value)
        self.running = False
        self.t_start = 0
        self.segment_counter += 1

    def clear(self, backend=None):
        """Drop the network and start a fresh one (on `backend` if given)."""
        self.generation += 1
        self.recorders = set()
        self.populations = []
        self.current_sources = []
        self.projections = []
        self.write_on_end = []
        self.id_counter = 0
        self.segment_counter = -1
        self._first_ids = []
        self._pops_by_first_id = []
        self.n_counter_rules = 0  # counter-based projections made (key their streams)
        if backend is None:
            seed = self.rng_seed
            if seed is None and self.comm.size > 1:  # every rank draws the same numbers
                seed = self.comm.allgather(int(np.random.SeedSequence().entropy % 2**31))[0]
            backend = Backend(self.backend_name, self.precision, seed)
        self.backend = backend
        self.network = Network(self.backend, self.dt, self.comm)
        self.network.check_numerics = self.check_numerics
        self.network.notify = self._notify
        self.running = False
        self.t_start = 0
        self.segment_counter += 1

    # -- populations ------------------------------------------------------------------
    def register_population(self, population):
        self.populations.append(population)
        self._first_ids.append(int(population.first_id))
        self._pops_by_first_id.append(population)

    def population_of(self, gid: int):
        i = bisect.bisect_right(self._first_ids, gid) - 1
        if i < 0:
            raise Exception(f"no population holds id {gid}")
        return self._pops_by_first_id[i]


state = State()
