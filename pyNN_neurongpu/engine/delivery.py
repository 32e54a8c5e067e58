"""Delay ring buffers and spike propagation (reference array code).

Each family with receptor ports owns a ring buffer of shape (D, n_ports, n):
slot ``s % D`` holds the input that arrives in step s. A spike emitted in step s
over a synapse of delay d (steps, 1 <= d < D) adds ``weight * multiplicity`` to
slot ``(s + d) % D`` of its target.
"""

from __future__ import annotations

import numpy as np


class RingBuffer:
    """Input ring buffer of one neuron family."""

    def __init__(self, backend, n_slots: int, n_ports: int, n: int):
        self.backend = backend
        self.n_slots = n_slots
        self.n_ports = n_ports
        self.n = n
        self.data = backend.zeros((n_slots, n_ports, n))

    def take(self, step: int):
        """Return the input arriving in `step` and clear its slot."""
        slot = step % self.n_slots
        values = self.data[slot].copy()
        self.data[slot] = 0.0
        return values

    def clear(self):
        self.data[...] = 0.0

    def resized(self, n_slots: int, n: int, step: int) -> RingBuffer:
        """A buffer of `n_slots` slots for `n` neurons that holds the same pending
        input for steps >= `step` (neurons beyond the old size start empty)."""
        new = RingBuffer(self.backend, n_slots, self.n_ports, n)
        for k in range(min(self.n_slots, n_slots)):
            new.data[(step + k) % n_slots, :, :self.n] = self.data[(step + k) % self.n_slots]
        return new


def expand_ranges(backend, starts, lengths):
    """Concatenate ``arange(starts[i], starts[i] + lengths[i])`` for all i, vectorised."""
    xp = backend.xp
    total = int(lengths.sum())
    if total == 0:
        return xp.zeros(0, dtype=np.int64), 0
    ends = xp.cumsum(lengths)
    base = backend.repeat(starts - (ends - lengths), lengths)
    return base + xp.arange(total, dtype=np.int64), total


def propagate(backend, table, ring: RingBuffer, step: int, sources, counts):
    """Deliver the spikes of `sources` (global indices, with multiplicities `counts`)
    emitted in `step` through `table` into `ring`."""
    starts = table.offsets[sources]
    lengths = table.offsets[sources + 1] - starts
    idx, total = expand_ranges(backend, starts, lengths)
    if total == 0:
        return
    mult = backend.repeat(counts, lengths).astype(backend.float)
    target, delay, port = table.decode(backend.xp, idx)
    slot = (step + delay) % ring.n_slots
    flat = (slot.astype(np.int64) * ring.n_ports + port) * ring.n + target
    backend.scatter_add(ring.data.reshape(-1), flat, table.weight[idx] * mult)


class EventRing:
    """Timed input of a precise-spike-timing family (NEST's ``SliceRingBuffer``).

    Instead of summed weights per slot it keeps every arriving spike with its offset
    inside the arrival step (ms before the step's end, 0 <= offset < dt), keyed by the
    arrival step. ``take(step)`` returns (local target, offset, weight) arrays.
    """

    def __init__(self, backend, n_slots: int, n_ports: int, n: int):
        self.backend = backend
        self.n_slots = n_slots
        self.n_ports = n_ports
        self.n = n
        self.pending = {}    # arrival step -> list of (target, offset, weight) arrays

    def add(self, arrival, target, offset, weight):
        """Add spikes arriving in steps `arrival` (one per spike)."""
        xp = self.backend.xp
        if arrival.shape[0] == 0:
            return
        steps = self.backend.to_host(xp.unique(arrival))
        for s in steps.tolist():     # one pass per distinct delay, not per spike
            sel = xp.nonzero(arrival == s)[0]
            self.pending.setdefault(int(s), []).append((target[sel], offset[sel],
                                                        weight[sel]))

    def take(self, step: int):
        """The spikes arriving in `step` (and forget them)."""
        xp = self.backend.xp
        parts = self.pending.pop(step, None)
        if not parts:
            return (xp.zeros(0, dtype=np.int64), self.backend.zeros(0),
                    self.backend.zeros(0))
        return tuple(xp.concatenate([p[i] for p in parts]) for i in range(3))

    def clear(self):
        self.pending = {}

    def resized(self, n_slots: int, n: int, step: int) -> EventRing:
        self.n_slots, self.n = n_slots, n
        return self


def propagate_timed(backend, table, ring: EventRing, step: int, sources, offsets):
    """Deliver spikes of `sources` (global indices, one entry per spike) emitted in
    `step` with `offsets` (ms before the step's end) through `table` into the timed
    input `ring` of a precise family: a spike arrives `delay` steps later with the
    same offset (NEST: stamp + delay, offset kept)."""
    starts = table.offsets[sources]
    lengths = table.offsets[sources + 1] - starts
    idx, total = expand_ranges(backend, starts, lengths)
    if total == 0:
        return
    target, delay, _ = table.decode(backend.xp, idx)
    offset = backend.repeat(offsets, lengths).astype(backend.float)
    ring.add(step + delay.astype(np.int64), target.astype(np.int64), offset,
             table.weight[idx].astype(backend.float))
