"""Current stimuli injected into neurons (the engine side of PyNN's electrodes).

A stimulus tells, for a block of steps, the current (nA) that *arrives* at its
target neurons in each step; the neuron model decides when that current acts
(NEST's models apply it from the following step). All times here are integer
step numbers of arrival.

A stimulus holds a schedule of parameter sets: ``set_params(from_step, ...)``
makes new values act from arrival step `from_step` on while earlier steps keep
the values they had (currents already on their way to the targets). A target
listed twice receives the current twice (two connections).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np


def block_currents(net, first_step: int, n_steps: int) -> dict:
    """The currents of network `net`'s stimuli for steps first_step .. + n_steps, per
    family index: at most two (local indices, currents (n_steps, n_columns), column
    of each target or None) entries, so each step costs one or two scatter-adds
    however many stimuli there are. Currents common to all targets of a stimulus
    take one column per stimulus; per-target currents one column per target."""
    backend = net.backend
    common, own = {}, {}
    for stim in net.stimuli:
        if not stim.begin_block(first_step):
            continue
        values = stim.values(backend, first_step, n_steps, net.dt)
        if stim.targets.size == 0:
            continue
        gidx, local = net.group_of(stim.targets)
        for gi in np.unique(gidx[local >= 0]):  # local < 0: held by another rank
            sel = (gidx == gi) & (local >= 0)
            if values.ndim == 1:
                common.setdefault(int(gi), []).append((local[sel], values))
            else:
                columns = values[:, backend.asarray(np.nonzero(sel)[0])]
                own.setdefault(int(gi), []).append((local[sel], columns))
    block = {}
    for gi, parts in common.items():
        which = np.repeat(np.arange(len(parts)), [local.size for local, _ in parts])
        block[gi] = [(backend.asarray(np.concatenate([local for local, _ in parts])),
                      backend.xp.stack([v for _, v in parts], axis=1),
                      backend.asarray(which))]
    for gi, parts in own.items():
        block.setdefault(gi, []).append(
            (backend.asarray(np.concatenate([local for local, _ in parts])),
             backend.xp.concatenate([v for _, v in parts], axis=1), None))
    return block


class CurrentStimulus:
    """Base class: a current waveform injected into a set of neurons.

    Subclasses implement ``_segment_values(backend, params, lo, hi, dt)``: the
    currents for steps lo .. hi-1 under one parameter set, shape (hi - lo,) for
    a current common to all targets, (hi - lo, n_targets) when ``per_target``.
    """

    per_target = False

    def __init__(self, targets=None):
        self.targets = np.zeros(0, dtype=np.int64)
        self._pending: list[tuple[int, np.ndarray]] = []  # (first step, gids) not yet reached
        self._schedule: list[tuple[int, dict]] = []
        self.recording = False
        self._trace: list = []
        self._trace_start = 0
        self._next_step = 0  # first step whose values have not been computed
        if targets is not None:
            self.set_targets(targets)

    # -- configuration ----------------------------------------------------------------
    def set_targets(self, gids, from_step: int = 0):
        """Add target neurons (global indices) that receive the current from step
        `from_step` on; repeated targets receive the current again."""
        gids = np.asarray(gids, dtype=np.int64).ravel()
        if from_step > self._next_step:
            self._pending.append((int(from_step), gids))
        else:
            self.targets = np.concatenate([self.targets, gids])

    @property
    def n_targets(self) -> int:
        """Number of targets, counting those that join later."""
        return self.targets.size + sum(g.size for _, g in self._pending)

    def next_target_step(self, step: int) -> int | None:
        """The first step after `step` at which targets join (blocks must not span it)."""
        later = [s for s, _ in self._pending if s > step]
        return min(later) if later else None

    def begin_block(self, first_step: int) -> bool:
        """Let targets due by `first_step` join; True if the stimulus must be evaluated."""
        due = [gids for s, gids in self._pending if s <= first_step]
        if due:
            self.targets = np.concatenate([self.targets, *due])
            self._pending = [(s, g) for s, g in self._pending if s > first_step]
        return self.targets.size > 0 or self.recording

    def set_params(self, from_step: int = 0, **params):
        """Use `params` for steps from `from_step` on; earlier steps keep earlier values."""
        from_step = int(from_step)
        self._schedule = [(s, p) for s, p in self._schedule if s < from_step]
        self._schedule.append((from_step, dict(params)))

    def params_at(self, step: int) -> dict | None:
        """The parameter set in force at `step` (None before the first one)."""
        current = None
        for start, params in self._schedule:
            if start <= step:
                current = params
        return current

    # -- evaluation ---------------------------------------------------------------------
    def values(self, backend, first_step: int, n_steps: int, dt: float):
        """Currents for steps first_step .. first_step + n_steps - 1.

        Returns an array of shape (n_steps,) (same current for every target) or
        (n_steps, n_targets). Steps must be asked for in order (the noise keeps state).
        """
        end = first_step + n_steps
        pieces = []
        for lo, hi, params in self._segments(first_step, end):
            if params is None:
                part = backend.zeros((hi - lo, self.targets.size) if self.per_target
                                     else (hi - lo,))
            else:
                part = self._segment_values(backend, params, lo, hi, dt)
            pieces.append(part)
        out = pieces[0] if len(pieces) == 1 else backend.xp.concatenate(pieces)
        self._next_step = end
        # parameter sets that ended before `end` are no longer needed
        while len(self._schedule) > 1 and self._schedule[1][0] <= end:
            self._schedule.pop(0)
        if self.recording:
            if out.ndim == 2:
                trace = out.mean(axis=1) if out.shape[1] else backend.zeros(n_steps)
            else:
                trace = out
            self._trace.append(trace.copy())
        return out

    def _segments(self, first, end):
        """(lo, hi, params) pieces of [first, end) with one parameter set each."""
        bounds = [s for s, _ in self._schedule if first < s < end]
        edges = [first, *bounds, end]
        return [(lo, hi, self.params_at(lo)) for lo, hi in zip(edges[:-1], edges[1:])]

    def _segment_values(self, backend, params, lo, hi, dt):
        raise NotImplementedError

    # -- recording and reset ----------------------------------------------------------
    def start_recording(self, step: int):
        """Keep the current arriving in each step from `step` (the network's present
        step) on: the mean over targets for per-target currents."""
        if not self.recording:
            self.recording = True
            self._trace = []
            self._trace_start = int(step)

    def recorded(self, backend):
        """(first step, host array of the recorded current per step)."""
        if not self._trace:
            return self._trace_start, np.zeros(0)
        data = backend.xp.concatenate(self._trace)
        return self._trace_start, backend.to_host(data).astype(float)

    def reset(self):
        """Return to step 0: the latest parameters act from the start; recordings restart."""
        if self._schedule:
            self._schedule = [(0, self._schedule[-1][1])]
        self.begin_block(np.iinfo(np.int64).max)  # every target receives from the start
        self._trace = []
        self._trace_start = 0
        self._next_step = 0
        self._reset_state()

    def _reset_state(self):
        """Forget internal state (subclasses with memory override this)."""


def _window(lo, hi, start, stop):
    """The part of [lo, hi) that lies in [start, stop), as offsets from lo."""
    a, b = max(lo, start), min(hi, stop)
    return (a - lo, b - lo) if a < b else (0, 0)


class PiecewiseConstantCurrent(CurrentStimulus):
    """Current that changes to ``amplitudes[i]`` at step ``change_steps[i]``
    and is zero before the first change. A DC pulse is two changes."""

    def __init__(self, change_steps=(), amplitudes=(), targets=None):
        super().__init__(targets)
        self.set_waveform(change_steps, amplitudes)

    def set_waveform(self, change_steps, amplitudes, from_step: int = 0):
        """New change steps and amplitudes, acting from `from_step` on."""
        change_steps = np.asarray(change_steps, dtype=np.int64).ravel()
        amplitudes = np.asarray(amplitudes, dtype=float).ravel()
        if change_steps.shape != amplitudes.shape:
            raise ValueError("change_steps and amplitudes must have the same length")
        order = np.argsort(change_steps, kind="stable")
        self.set_params(from_step, change_steps=change_steps[order],
                        amplitudes=amplitudes[order])

    def amplitude_at(self, step: int) -> float:
        """The current this stimulus delivers at `step` (no side effects)."""
        params = self.params_at(step)
        if params is None:
            return 0.0
        pos = np.searchsorted(params["change_steps"], step, side="right") - 1
        return float(params["amplitudes"][pos]) if pos >= 0 else 0.0

    def _segment_values(self, backend, params, lo, hi, dt):
        steps = np.arange(lo, hi)
        pos = np.searchsorted(params["change_steps"], steps, side="right") - 1
        amps = np.concatenate([[0.0], params["amplitudes"]])[pos + 1]
        return backend.asarray(amps, dtype=backend.float)


class SinusoidalCurrent(CurrentStimulus):
    """``offset + amplitude * sin(2 pi frequency (step - ref_step) dt + phase)`` in steps
    start .. stop - 1, zero elsewhere (frequency in Hz, dt in ms, phase in rad)."""

    def __init__(self, amplitude=1.0, offset=0.0, frequency=10.0, phase=0.0, ref_step=0,
                 start=0, stop=np.iinfo(np.int64).max, targets=None):
        super().__init__(targets)
        self.set_params(0, amplitude=amplitude, offset=offset, frequency=frequency,
                        phase=phase, ref_step=ref_step, start=start, stop=stop)

    def _segment_values(self, backend, p, lo, hi, dt):
        xp = backend.xp
        out = backend.zeros(hi - lo)
        a, b = _window(lo, hi, p["start"], p["stop"])
        if a < b:
            # integer step offsets keep the phase exact over long runs
            k = xp.arange(lo + a - p["ref_step"], lo + b - p["ref_step"], dtype=np.int64)
            omega = 2.0 * np.pi * p["frequency"] / 1000.0
            out[a:b] = p["offset"] + p["amplitude"] * xp.sin(omega * (k * dt) + p["phase"])
        return out


class NoiseCurrent(CurrentStimulus):
    """Gaussian noise as NEST's ``noise_generator``: in steps start .. stop - 1 each
    target gets its own current ``mean + stdev * N(0, 1)``, drawn anew every
    `interval` steps counted from the first active step (and at once when the
    stimulus wakes after an inactive stretch); zero outside [start, stop).
    """

    per_target = True

    def __init__(self, stream, mean=0.0, stdev=1.0, interval=1, start=0,
                 stop=np.iinfo(np.int64).max, targets=None):
        super().__init__(targets)
        self.stream = stream  # name of the backend random stream
        self._amps = None
        self._next_draw = 0
        self._n_drawn = 0  # rows drawn so far (the GPU's counter-based draws)
        self.set_params(0, mean=mean, stdev=stdev, interval=interval, start=start, stop=stop)

    def _reset_state(self):
        self._amps = None
        self._next_draw = 0

    def _segment_values(self, backend, p, lo, hi, dt):
        xp = backend.xp
        n_t = self.targets.size
        if self._amps is None or self._amps.shape[0] != n_t:
            # new or changed set of targets: start afresh, as NEST does
            self._amps = backend.zeros(n_t)
            self._next_draw = 0
        out = backend.zeros((hi - lo, n_t))
        a, b = _window(lo, hi, p["start"], p["stop"])
        if a >= b:
            return out
        interval = int(p["interval"])
        first_draw = max(lo + a, self._next_draw)
        if first_draw < lo + b:
            n_draws = -(-(lo + b - first_draw) // interval)
            if backend.is_gpu:
                noise = self._counter_normal(backend, n_draws, n_t)
            else:
                noise = backend.rng(self.stream).normal((n_draws, n_t), dtype=backend.float)
            self._n_drawn += n_draws
            draws = p["mean"] + p["stdev"] * noise
            self._next_draw = first_draw + n_draws * interval
        else:
            draws = backend.zeros((0, n_t))
        held = xp.concatenate([self._amps[None, :], draws])
        steps = np.arange(lo + a, lo + b)
        which = np.where(steps < first_draw, 0, (steps - first_draw) // interval + 1)
        out[a:b] = held[backend.asarray(which)]
        self._amps = held[-1].copy()
        return out

    def _counter_normal(self, backend, n_draws, n_t):
        """Rows `_n_drawn` .. + n_draws of N(0, 1) values, one per target, from Philox
        keyed by the seed and stream name and counted by (row, target position): the
        same numbers however the run is split into chunks (a GPU step's chunks end at
        every MPI exchange) and on every rank (all hold every target)."""
        from .procedural import philox4x32_10, uniform_from
        xp = backend.xp
        digest = hashlib.blake2b(f"{backend.seed}:{self.stream}".encode(), digest_size=8,
                                 person=b"noise").digest()
        word = int.from_bytes(digest, "little")
        rows = xp.arange(self._n_drawn, self._n_drawn + n_draws, dtype=np.uint64)[:, None]
        cols = xp.arange(n_t, dtype=np.uint64)[None, :]
        w = philox4x32_10(xp, rows & np.uint64(0xFFFFFFFF), rows >> np.uint64(32), cols, 0,
                          word & 0xFFFFFFFF, word >> 32)
        u1, u2 = uniform_from(xp, w[0], w[1]), uniform_from(xp, w[2], w[3])
        return (xp.sqrt(-2.0 * xp.log(u1)) * xp.cos(2.0 * math.pi * u2)).astype(backend.float)
