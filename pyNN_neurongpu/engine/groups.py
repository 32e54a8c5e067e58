"""Neuron families and their slices: the structure-of-arrays state and parameters of all
neurons of one model family, and the neurons of one population inside a family."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .backend import Backend
from .growth import Growing
from .recording import SpikeRecorder


class NeuronGroup:
    """All neurons of one model family: structure-of-arrays state and parameters."""

    def __init__(self, backend: Backend, model, index: int, dt: float):
        self.backend = backend
        self.model = model
        self.index = index
        self.dt = dt
        self.size = 0
        xp = backend.xp
        self.params = {name: backend.zeros(0) for name in model.parameters
                       if name not in model.sequence_parameters}
        self.sequences = {name: [] for name in model.sequence_parameters}
        self.state = {name: backend.zeros(0) for name in model.state}
        for name, dtype in model.internal.items():
            self.state[name] = xp.zeros(0, dtype=backend.float if dtype == "float" else dtype)
        self.gids = np.zeros(0, dtype=np.int64)
        self._gids_dev = None
        self._growing = Growing()
        self.derived = None
        self.extra = {}
        self.ring = None
        self.spike_recorder = SpikeRecorder(backend, self)
        self._emitted = []   # (step, local, exact time) of scheduled spikes already emitted

    # -- structure -------------------------------------------------------------------
    def append(self, n: int, gid_start: int, params: dict, initial: dict) -> int:
        """Add `n` neurons; returns the local index of the first one."""
        xp = self.backend.xp
        offset = self.size
        # build and check the new neurons' values before anything changes
        columns = {name: self._column(params.get(name, self.model.parameters[name].default),
                                      n, self.backend.float)
                   for name in self.params}
        sequences = {}
        for name in self.sequences:
            value = params.get(name)
            seqs = [np.zeros(0)] * n if value is None else [np.asarray(v, float) for v in value]
            if len(seqs) != n:
                raise ValueError(f"{name} needs one sequence per neuron")
            sequences[name] = seqs
        self.model.check_sequences(sequences)
        self._check(columns)
        for name, column in columns.items():
            self.params[name] = self._growing.extend(xp, "p:" + name, self.params[name],
                                                     column)
        for name, seqs in sequences.items():
            self.sequences[name].extend(seqs)
        for name, var in self.model.state.items():
            value = initial.get(name, var.default)
            self.state[name] = self._growing.extend(
                xp, "s:" + name, self.state[name], self._column(value, n, self.backend.float))
        for name, dtype in self.model.internal.items():
            dt = self.backend.float if dtype == "float" else np.dtype(dtype)
            self.state[name] = self._growing.extend(xp, "s:" + name, self.state[name],
                                                    xp.zeros(n, dtype=dt))
        self.gids = self._growing.extend(np, "gids", self.gids,
                                         np.arange(gid_start, gid_start + n))
        self._gids_dev = None
        self.size += n
        self.derived = None
        return offset

    @property
    def gids_dev(self):
        """The global indices of the neurons, on the backend's device."""
        if self._gids_dev is None:
            self._gids_dev = self.backend.asarray(self.gids)
        return self._gids_dev

    def _column(self, value, n, dtype):
        xp = self.backend.xp
        if np.isscalar(value) or (hasattr(value, "ndim") and value.ndim == 0):
            return xp.full(n, float(value), dtype=dtype)
        arr = xp.asarray(value, dtype=dtype)
        if arr.shape != (n,):
            raise ValueError(f"expected {n} values, got shape {arr.shape}")
        return arr

    # -- parameters and state --------------------------------------------------------
    def set_param(self, name: str, local, values):
        if name in self.sequences:
            seqs = self.sequences[name]
            local = np.atleast_1d(np.asarray(local))
            if len(values) == 1 and local.size != 1:
                values = list(values) * local.size
            self.model.check_sequences({name: values})
            for i, v in zip(local.tolist(), values):
                seqs[i] = np.asarray(v, dtype=float)
            self.extra = {}
        elif name in self.params:
            new = self.params[name].copy()
            new[self.backend.asarray(local)] = self.backend.asarray(values,
                                                                    dtype=self.backend.float)
            trial = dict(self.params)
            trial[name] = new
            self._check(trial)
            self.params[name] = new
        else:
            raise KeyError(f"{self.model.name} has no parameter {name!r}")
        self.derived = None

    def set_params(self, local, updates: dict):
        """Set several parameters of the neurons `local` at once: all values are
        checked first, and nothing changes if any is invalid."""
        unknown = [name for name in updates
                   if name not in self.params and name not in self.sequences]
        if unknown:
            raise KeyError(f"{self.model.name} has no parameter {unknown[0]!r}")
        trial = dict(self.params)
        index = self.backend.asarray(local)
        for name, values in updates.items():
            if name in self.params:
                new = self.params[name].copy()
                new[index] = self.backend.asarray(values, dtype=self.backend.float)
                trial[name] = new
        self._check(trial)
        for name, values in updates.items():
            if name in self.sequences:
                self.set_param(name, local, values)
        self.params = trial
        self.derived = None

    def get_param(self, name: str, local):
        if name in self.sequences:
            return [self.sequences[name][i] for i in np.atleast_1d(local).tolist()]
        return self.backend.to_host(self.params[name][self.backend.asarray(local)])

    def set_state(self, name: str, local, values):
        if name not in self.state:
            raise KeyError(f"{self.model.name} has no state variable {name!r}")
        self.state[name][self.backend.asarray(local)] = self.backend.asarray(
            values, dtype=self.state[name].dtype)

    def get_state(self, name: str, local):
        return self.backend.to_host(self.state[name][self.backend.asarray(local)])

    def log_emitted(self, first_step: int, end_step: int):
        """Remember the exact times of the scheduled spikes emitted in
        [first_step, end_step) (families that replay a schedule)."""
        steps = self.extra.get("steps")
        if steps is None or not len(steps):
            return
        hi = int(np.searchsorted(steps, end_step))
        lo = int(np.searchsorted(steps, first_step))
        if hi > lo:
            self._emitted.append((steps[lo:hi], self.extra["local_host"][lo:hi],
                                  self.extra["times"][lo:hi]))

    def exact_spike_times(self, steps, local):
        """Exact times of recorded spikes (step, local index; one entry per spike, sorted
        by step then local), for families that replay a schedule; None otherwise."""
        if not self._emitted:
            return None if steps.size else np.zeros(0)
        log_steps, log_local, log_times = (np.concatenate(a) for a in zip(*self._emitted))
        self._emitted = [(log_steps, log_local, log_times)]
        n = max(self.size, 1)
        log_keys = log_steps * n + log_local
        order = np.lexsort((log_times, log_keys))
        log_keys, log_times = log_keys[order], log_times[order]
        keys = steps * n + local
        first_of_key = np.searchsorted(keys, keys, side="left")
        position = np.searchsorted(log_keys, keys, side="left") + (np.arange(keys.size)
                                                                    - first_of_key)
        if position.size and (position.max() >= log_keys.size
                              or np.any(log_keys[position] != keys)):
            return None
        return log_times[position]

    def _check(self, params):
        """Run the model's parameter checks on host copies (models use NumPy there)."""
        host = {k: self.backend.to_host(v) for k, v in params.items()}
        self.model.check(host)
        self.model.check_step(host, self.dt)

    def prepare(self):
        """Compute the model's derived quantities (in float64, stored in the backend's
        precision) if parameters changed since the last call."""
        if self.derived is None:
            self._check(self.params)
            xp = self.backend.xp
            wide = {k: v.astype(np.float64) for k, v in self.params.items()}
            derived = self.model.prepare(xp, wide, self.dt)
            self.derived = {k: (v.astype(self.backend.float)
                                if getattr(v, "dtype", None) == np.float64 else v)
                            for k, v in derived.items()}


@dataclass
class Slice:
    """The neurons of one population inside a family.

    `size` counts the whole population; this rank stores `stored` of them from
    population index `first` on (all of them on one rank), from local index `offset`,
    and owns population indices `owned` = [lo, hi) (engine/parallel.py).
    """
    group: NeuronGroup
    offset: int
    size: int
    gid_start: int
    first: int = 0
    stored: int | None = None
    owned: tuple | None = None

    def __post_init__(self):
        if self.stored is None:
            self.stored = self.size
        if self.owned is None:
            self.owned = (0, self.size)

    @property
    def local(self):
        """Local indices of the stored neurons."""
        return np.arange(self.offset, self.offset + self.stored)

    @property
    def gids(self):
        """Global indices of the stored neurons."""
        return np.arange(self.gid_start + self.first, self.gid_start + self.first + self.stored)

    def local_of(self, index):
        """Local indices of population indices `index` (which this rank must store)."""
        return self.offset + np.asarray(index, dtype=np.int64) - self.first
