"""setup, run, reset, end and state queries of the neurongpu backend."""

from __future__ import annotations

import math

import numpy as np
from pyNN import common
from pyNN.common.control import DEFAULT_MAX_DELAY, DEFAULT_MIN_DELAY, DEFAULT_TIMESTEP
from pyNN.recording import get_io

from . import console, simulator
from .engine import DEFAULT_TOLERANCE
from .errors import InvalidTimeError, time_steps

BACKEND_OPTIONS = ("backend", "precision", "rng_seed", "integration_tolerance", "verbosity",
                   "progress", "check_numerics", "connectivity")
CONNECTIVITY = ("stored", "procedural", "auto")


def setup(timestep=DEFAULT_TIMESTEP, min_delay=DEFAULT_MIN_DELAY, **extra_params):
    """Initialise (or re-initialise) the simulator; any existing network is destroyed.

    PyNN arguments: `timestep`, `min_delay` (ms or 'auto'), `max_delay` (ms or
    'auto'), `rng_seed`; `threads` and other NEST-specific options are accepted
    and ignored. Backend options:

    `backend`: 'auto' (GPU when CuPy sees one, else CPU as 'cpu-compiled'), 'gpu', 'cpu'
        (the NumPy reference step) or 'cpu-compiled' (the compiled CPU step where it
        runs the network, else the reference step, saying why once);
        default from the environment variable PYNN_NEURONGPU_BACKEND.
    `precision`: 'float64' (default) or 'float32'; default from
        PYNN_NEURONGPU_PRECISION.
    `integration_tolerance`: error tolerance of the adaptive RKF45 integration of the
        AdExp neurons (EIF_cond_*_isfa_ista and PointNeuron(AdExp, ...)), NEST's
        `gsl_error_tol`: default 1e-6, NEST's default. It applies to populations created
        afterwards. (LIF neurons with conductance synapses use NEST's fixed absolute
        tolerance of iaf_cond_*, 1e-3 mV / nS.)
    `connectivity`: 'stored' (default), 'procedural' or 'auto'. Procedural projections
        store no synapses: each spiking source regenerates its targets, weights and delays
        from a counter-based stream keyed by (seed, projection, source), the synapses a stored
        build of the same script makes. Possible for static synapses of
        FixedProbabilityConnector, FixedNumberPostConnector (int n) and
        FixedTotalNumberConnector drawing with a NativeRNG, and AllToAllConnector, whose
        weights and delays are constants or NativeRNG draws of uniform, uniform_int,
        normal, normal_clipped, normal_clipped_to_boundary, lognormal or exponential
        (delays bounded). With 'procedural' any other projection raises ConnectionError;
        with 'auto' it is stored. On a GPU the fused step regenerates them, all
        projections in one launch per step (docs/capacity.md).
    `spike_precision`: 'on_grid' (default) or 'off_grid'. With 'off_grid' the cell types
        that NEST has in a precise variant run it, as pyNN.nest picks them: IF_curr_exp
        follows iaf_psc_exp_ps, IF_curr_delta iaf_psc_delta_ps, SpikeSourcePoisson
        poisson_generator_ps, and SpikeSourceArray emits its exact times; spikes carry
        their offset inside the step, act on precise targets at their exact times, and are
        recorded at them (docs/nest-semantics.md). Other cell types spike on the grid, as
        in pyNN.nest. The precise families are array code: on a GPU a network with one
        runs the reference step on the device (the same spike times as on the CPU, and
        slower than the fused on-grid step). The default stays 'on_grid', unlike
        pyNN.nest's 'off_grid': on-grid is the GPU's fast path; to reproduce pyNN.nest's
        default run, pass spike_precision='off_grid'.
    `verbosity`: pyNN.nest's levels; at 'info' (default; PYNN_NEURONGPU_VERBOSITY) the
        first setup() on a device logs "pyNN.neurongpu running on <device>, <precision>"
        to logger "PyNN" (to stderr where logging is not configured); at 'warning',
        'error' or 'fatal', not.
    `progress`: True shows a bar with the real-time factor on runs expected to take more
        than a few seconds, and on long connectivity builds; False never. Default
        (None): PYNN_NEURONGPU_PROGRESS (1 or 0) where set, else whether stderr is a
        terminal and the CI variable unset.
    `check_numerics`: True (default) stops run() with
        pyNN_neurongpu.errors.NumericalInstability when a neuron's state becomes NaN or
        infinite or leaves its NEST model's bounds; False turns the check off.
    """
    max_delay = extra_params.get("max_delay", DEFAULT_MAX_DELAY)
    # every argument is checked before anything changes: a failed setup() keeps the
    # previous network and time step
    timestep = _positive_time(timestep, "timestep")
    if min_delay != "auto":
        min_delay = _positive_time(min_delay, "min_delay")
    if max_delay != "auto":
        max_delay = _positive_time(max_delay, "max_delay")
    verbosity = console.resolve_verbosity(extra_params.get("verbosity"))
    progress = console.progress_wanted(extra_params.get("progress"))
    common.setup(timestep, min_delay, **extra_params)
    check_numerics = extra_params.get("check_numerics", True)
    if not isinstance(check_numerics, (bool, np.bool_)):
        raise ValueError(f"check_numerics = {check_numerics!r}: must be True or False")
    if max_delay != "auto" and float(max_delay) < timestep:
        raise ValueError(f"max_delay ({max_delay}) must not be less than timestep ({timestep})")
    spike_precision = extra_params.get("spike_precision", "on_grid")
    if spike_precision not in ("on_grid", "off_grid"):
        raise ValueError("spike_precision must be 'on_grid' or 'off_grid'")
    connectivity = extra_params.get("connectivity", "stored")
    if connectivity not in CONNECTIVITY:
        raise ValueError(f"connectivity must be one of {CONNECTIVITY}, not {connectivity!r}")
    if connectivity == "procedural" and simulator.state.comm.distributed:
        raise NotImplementedError("setup(connectivity='procedural') is not available under MPI "
                                  "yet; 'auto' stores every projection there")
    seed = extra_params.get("rng_seed", extra_params.get("grng_seed"))
    tolerance = float(extra_params.get("integration_tolerance", DEFAULT_TOLERANCE))
    if not tolerance > 0:
        raise ValueError("integration_tolerance must be positive")
    simulator.state.configure(
        timestep, min_delay, max_delay,
        backend=extra_params.get("backend"),    # None: PYNN_NEURONGPU_BACKEND, else 'auto'
        precision=extra_params.get("precision"),  # None: PYNN_NEURONGPU_PRECISION
        rng_seed=seed,
        verbosity=verbosity, progress=progress)
    simulator.state.spike_precision = spike_precision
    simulator.state.connectivity = connectivity
    simulator.state.integration_tolerance = tolerance
    simulator.state.check_numerics = simulator.state.network.check_numerics = \
        bool(check_numerics)
    return rank()


def _positive_time(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidTimeError(f"{name} = {value!r}: {name} must be a number (ms)")
    if not (math.isfinite(value) and value > 0):
        raise InvalidTimeError(f"{name} = {value}: {name} must be a finite positive time (ms)")
    return float(value)


def end(compatible_output=True):
    """Write any data requested with record(..., to_file=...) and release the network."""
    for (population, variables, filename) in simulator.state.write_on_end:
        io = get_io(filename)
        population.write_data(io, variables)
    simulator.state.write_on_end = []


_run, _run_until = common.build_run(simulator)


def run_until(time_point, callbacks=None):
    """Advance the simulation until `time_point` (ms), which must be a multiple of the
    time step (as in NEST); `callbacks` as in PyNN."""
    state = simulator.state
    steps = time_steps(time_point, state.dt, "time_point")
    return _run_until(state.time_of(steps), callbacks)


def run(simtime, callbacks=None):
    """Advance the simulation by `simtime` ms, which must be a multiple of the time step
    (as in NEST: run(0.15) with dt = 0.1 raises InvalidTimeError instead of drifting);
    `callbacks` as in PyNN."""
    state = simulator.state
    steps = time_steps(simtime, state.dt, "simtime")
    return _run_until(state.time_of(state.network.step + steps), callbacks)


run_for = run

reset = common.build_reset(simulator)

initialize = common.initialize

get_current_time, get_time_step, get_min_delay, get_max_delay, \
    num_processes, rank = common.build_state_queries(simulator)
