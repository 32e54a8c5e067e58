"""Device-side spike and state recording.

Recorders write into preallocated device buffers of a fixed number of steps
(a chunk) and move full chunks to the host; nothing is transferred per step.
"""

from __future__ import annotations

import numpy as np

CHUNK_STEPS = 1024
BUFFER_BYTES = 64 << 20  # a spike buffer holds fewer steps when it would exceed this


class SpikeRecorder:
    """Spike counts of the recorded neurons of one family."""

    def __init__(self, backend, group):
        self.backend = backend
        self.group = group
        self.local = np.zeros(0, dtype=np.int64)     # recorded local indices (host, sorted)
        self._local_dev = backend.asarray(self.local)
        self._buf = None
        self._buf_steps = np.zeros(0, dtype=np.int64)
        self._k = 0
        # host event lists: step, local index, multiplicity
        self._steps, self._ids, self._counts = [], [], []

    @property
    def active(self) -> bool:
        return self.local.size > 0

    def add(self, local_idx):
        self.flush()
        merged = np.union1d(self.local, np.asarray(local_idx, dtype=np.int64))
        if merged.size != self.local.size:
            self.local = merged
            self._local_dev = self.backend.asarray(merged)
            self._buf = None

    def remove_all(self):
        self.flush()
        self.local = np.zeros(0, dtype=np.int64)
        self._local_dev = self.backend.asarray(self.local)
        self._buf = None

    def record(self, step: int, counts):
        """Store the spike counts (length n of the family) emitted in `step`."""
        if not self.active:
            return
        if self._buf is None or (self._buf.dtype == np.uint8 and counts.dtype != np.bool_):
            # one byte holds a 0/1 spike flag; integer counts (sources, AdEx's several
            # spikes a step) are stored in 64 bits, so no multiplicity can wrap
            self.flush()
            dtype = np.dtype(np.uint8 if counts.dtype == np.bool_ else np.int64)
            rows = int(min(CHUNK_STEPS, max(16, BUFFER_BYTES // (self.local.size
                                                               * dtype.itemsize))))
            self._buf = self.backend.zeros((rows, self.local.size), dtype=dtype)
            self._buf_steps = np.zeros(rows, dtype=np.int64)
            self._k = 0
        self._buf[self._k] = counts[self._local_dev]
        self._buf_steps[self._k] = step
        self._k += 1
        if self._k == self._buf.shape[0]:
            self.flush()

    def add_events(self, steps, local, counts):
        """Append spikes recorded elsewhere (the GPU step), in any order; they are
        sorted by step, then local index, when read."""
        self.flush()
        self._steps.append(np.asarray(steps, dtype=np.int64))
        self._ids.append(np.asarray(local, dtype=np.int64))
        self._counts.append(np.asarray(counts, dtype=np.int64))
        self._unsorted = True

    def flush(self):
        if self._buf is None or self._k == 0:
            return
        dense = self.backend.to_host(self._buf[:self._k])
        rows, cols = np.nonzero(dense)
        if rows.size:
            self._steps.append(self._buf_steps[rows])
            self._ids.append(self.local[cols])
            self._counts.append(dense[rows, cols].astype(np.int64))
        self._k = 0

    def events(self):
        """All recorded (step, local index, count) as host arrays, in step order."""
        self.flush()
        if not self._steps:
            z = np.zeros(0, dtype=np.int64)
            return z, z.copy(), np.zeros(0, dtype=np.int64)
        steps, ids, counts = (np.concatenate(a) for a in (self._steps, self._ids, self._counts))
        if getattr(self, "_unsorted", False):
            order = np.lexsort((ids, steps))
            steps, ids, counts = steps[order], ids[order], counts[order]
            self._unsorted = False
        self._steps, self._ids, self._counts = [steps], [ids], [counts]
        return steps, ids, counts

    def clear(self, local_idx=None):
        """Forget recorded spikes (of `local_idx` only, if given)."""
        steps, ids, counts = self.events()
        if local_idx is None:
            keep = np.zeros(steps.size, dtype=bool)
        else:
            keep = ~np.isin(ids, np.asarray(local_idx))
        self._steps, self._ids, self._counts = [steps[keep]], [ids[keep]], [counts[keep]]


class StateRecorder:
    """Samples of one state variable for a set of neurons of one family."""

    def __init__(self, backend, group, variable: str, local_idx, interval_steps: int):
        self.backend = backend
        self.group = group
        self.variable = variable
        self.local = np.unique(np.asarray(local_idx, dtype=np.int64))  # sorted: columns
        self._local_dev = backend.asarray(self.local)
        self.interval = max(1, int(interval_steps))
        self.last_step = -1
        self._refresh = False
        self._buf = None
        self._k = 0
        self._samples = []     # host blocks (n_samples, n_local)
        self._sample_steps = []

    def add(self, local_idx):
        """Record more neurons (their earlier samples are NaN; the latest sample is
        taken again, with them, when the network next runs)."""
        self.flush()
        merged = np.union1d(self.local, np.asarray(local_idx, dtype=np.int64))
        if merged.size == self.local.size:
            return
        self._refresh = True
        pos = np.searchsorted(merged, self.local)
        new_blocks = []
        for block in self._samples:
            wide = np.full((block.shape[0], merged.size), np.nan)
            wide[:, pos] = block
            new_blocks.append(wide)
        self._samples = new_blocks
        self.local = merged
        self._local_dev = self.backend.asarray(merged)
        self._buf = None

    def due(self, step: int) -> bool:
        return step % self.interval == 0 and (step > self.last_step or self._refresh)

    def sample(self, step: int):
        """Store the variable's current values as the sample at time step*dt."""
        if step <= self.last_step:   # retake the latest sample (neurons were added)
            self._drop_last()
        self._refresh = False
        if self._buf is None:
            self._buf = self.backend.zeros((CHUNK_STEPS, self.local.size))
            self._buf_steps = np.zeros(CHUNK_STEPS, dtype=np.int64)
            self._k = 0
        self._buf[self._k] = self.group.state[self.variable][self._local_dev]
        self._buf_steps[self._k] = step
        self._k += 1
        self.last_step = step
        if self._k == CHUNK_STEPS:
            self.flush()

    def add_block(self, steps, values):
        """Append samples taken elsewhere (the GPU step): steps (n,), values (n, n_local)."""
        self.flush()
        steps = np.asarray(steps, dtype=np.int64)
        if steps.size:
            self._samples.append(np.asarray(values, dtype=float))
            self._sample_steps.append(steps)
            self.last_step = int(steps[-1])

    def flush(self):
        if self._buf is None or self._k == 0:
            return
        self._samples.append(self.backend.to_host(self._buf[:self._k]).astype(float))
        self._sample_steps.append(self._buf_steps[:self._k].copy())
        self._k = 0

    def _drop_last(self):
        self.flush()
        if self._samples:
            self._samples[-1] = self._samples[-1][:-1]
            self._sample_steps[-1] = self._sample_steps[-1][:-1]

    def data(self):
        """(sample steps, values of shape (n_samples, n_local)) as host arrays."""
        self.flush()
        if not self._samples:
            return np.zeros(0, dtype=np.int64), np.zeros((0, self.local.size))
        steps = np.concatenate(self._sample_steps)
        values = np.concatenate(self._samples, axis=0)
        self._samples, self._sample_steps = [values], [steps]
        return steps, values

    def clear(self, keep_last: bool = False):
        """Drop the samples (keeping the most recent one if `keep_last`)."""
        steps, values = self.data()
        if keep_last and steps.size:
            self._samples, self._sample_steps = [values[-1:]], [steps[-1:]]
        else:
            self._samples, self._sample_steps = [], []

    def restart(self):
        """Forget everything, ready to sample again from step 0 (after a reset)."""
        self._samples, self._sample_steps = [], []
        self._buf = None
        self._k = 0
        self.last_step = -1
        self._refresh = False
