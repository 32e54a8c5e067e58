"""Device-side views of a network for the fused GPU step: one per neuron family (its
kernel fields, spike-recording buffer and the records of the fused kernel's argument
table), per family's injected currents, and per recorded state variable."""

from __future__ import annotations

import numpy as np

from . import codegen
from .abi import FAMILY_ARGS_FIELDS
from .compiler import THREADS, blocks_for, pointer, pointer_table


def table_arrays(table):
    """A table's arrays in the kernels' order (None where its layout has none)."""
    return (table.offsets, table.meta, table.target, table.weight, table.delay, table.port)


def table_pointers(table) -> tuple:
    """The device addresses of a table's arrays in the kernels' order (0 where none)."""
    return tuple(pointer(a) for a in table_arrays(table))


class Family:
    """Device-side view of one neuron family for the fused step."""

    def __init__(self, runner, group):
        self.group = group
        backend = runner.backend
        xp = backend.xp
        model = group.model
        n = group.size
        self.n = n
        self.schedule = model.kernel_kind == "schedule"
        self.gids = xp.asarray(group.gids.astype(np.int32))
        mask = np.zeros(n, dtype=np.uint8)
        mask[group.spike_recorder.local] = 1
        n_rec = int(group.spike_recorder.local.size)
        # under MPI the recording buffer also carries every spike of a distributed family
        # (one with receptor ports) to the interval's exchange; the user's mask filters them
        self.exchanged = runner.exchange is not None and bool(model.receptors) \
            and not self.schedule
        self.user_recorded = None
        if self.exchanged:
            self.user_recorded = mask.astype(bool)
            self.host_gids = np.asarray(group.gids, dtype=np.int64)
            mask = np.ones(n, dtype=np.uint8)
            n_rec = n
        self.recorded = xp.asarray(mask)
        if self.schedule:
            self._prepare_schedule(runner)
            capacity = max(1, self.max_entries_per_chunk)
        else:
            capacity = max(1, n_rec * runner.chunk)
        self.rec_capacity = capacity
        self.rec_count = xp.zeros(1, dtype=np.int32)
        # recorded spikes: rows step, local index, multiplicity (one transfer per chunk)
        self.rec_events = xp.zeros((3, capacity), dtype=np.int32)
        self.rec_step, self.rec_local, self.rec_mult = self.rec_events
        self.ring = group.ring.data if group.ring is not None else xp.zeros(1, backend.float)
        self.n_slots = group.ring.n_slots if group.ring is not None else 1
        self.stim = xp.zeros(max(n, 1), dtype=backend.float)
        if not self.schedule:
            self._prepare_kernel(runner)

    def _prepare_kernel(self, runner):
        backend, group = runner.backend, self.group
        self.fields, arrays = codegen.kernel_fields(backend.xp, group)
        self.arrays = arrays  # keep them alive while their pointers are in use
        self.pointers = pointer_table(backend, arrays)
        self.stream_id = runner.stream_id(group.model.name)

    def family_args(self, first_block: int, per_block: int):
        """This family's record of the fused kernel's argument table: its blocks start at
        `first_block`, each serving `per_block` neurons."""
        ptr = {"P": self.pointers, "ring": self.ring, "stim": self.stim, "gids": self.gids,
               "recorded": self.recorded, "rec_count": self.rec_count,
               "rec_step": self.rec_step, "rec_local": self.rec_local,
               "rec_mult": self.rec_mult}
        values = {name: arr.data.ptr for name, arr in ptr.items()}
        values.update(n=self.n, n_slots=self.n_slots, rec_capacity=self.rec_capacity,
                      stream=self.stream_id, first_block=first_block, per_block=per_block)
        return tuple(values[name] for name in FAMILY_ARGS_FIELDS)

    def _prepare_schedule(self, runner):
        backend, group = runner.backend, self.group
        xp = backend.xp
        extra = group.extra or group.model.prepare_run(backend, group, runner.net.step)
        steps = np.asarray(extra["steps"], dtype=np.int64)
        local = backend.to_host(extra["local"]).astype(np.int32)
        first = runner.net.step
        last = first + runner.n_steps
        keep = steps < last
        steps, local = steps[keep], local[keep]
        ptr = np.searchsorted(steps, np.arange(first, last + 1)).astype(np.int64)
        per_step = np.diff(ptr)
        self.first_step = first
        self.n_sched_steps = last - first
        self.step_ptr = xp.asarray(ptr)
        self.sched_local = xp.asarray(local if local.size else np.zeros(1, np.int32))
        self.max_entries_per_step = int(per_step.max()) if per_step.size else 0
        csum = np.concatenate([[0], np.cumsum(per_step)])
        spans = csum[runner.chunk:] - csum[:-runner.chunk] if per_step.size > runner.chunk \
            else csum[-1:]
        self.max_entries_per_chunk = int(spans.max()) if spans.size else 0

    def launch_schedule(self, runner):
        """Emit this step's scheduled spikes (spike-array families)."""
        args_tail = (runner.spk_gid, runner.spk_mult, runner.spk_count,
                     *runner.odd_list(), self.recorded,
                     self.rec_count, self.rec_step, self.rec_local, self.rec_mult,
                     np.int32(self.rec_capacity))
        fn = runner.static_kernel("spike_source_array.cu", "spike_source_array_update")
        blocks = blocks_for(max(self.max_entries_per_step, 1))
        fn((min(blocks, 1024),), (THREADS,),
           (runner.clock, np.int64(self.first_step), np.int64(self.n_sched_steps),
            self.step_ptr, self.sched_local, self.gids) + args_tail)

    def drain(self, backend, outgoing=None):
        """Move this chunk's recorded spikes to the family's SpikeRecorder; under MPI,
        append (steps, global indices, multiplicities) of all its spikes to `outgoing`."""
        count = int(backend.to_host(self.rec_count)[0])
        if count > self.rec_capacity:
            raise RuntimeError("spike recording buffer overflow (this is a bug)")
        if count:
            steps, local, mult = backend.to_host(self.rec_events[:, :count])
            if self.exchanged:
                if outgoing is not None:
                    outgoing.append((steps, self.host_gids[local], mult))
                keep = self.user_recorded[local]
                steps, local, mult = steps[keep], local[keep], mult[keep]
            if steps.size:
                self.group.spike_recorder.add_events(steps, local, mult)
        self.rec_count[...] = 0


class StimulusSet:
    """Injected currents of one family, uploaded block by block."""

    def __init__(self, runner, family):
        self.family = family
        self.pairs = None

    def set_block(self, runner, entries) -> bool:
        """Upload a block's currents; True if the device buffers had to be reallocated
        (a captured graph then refers to stale buffers)."""
        backend = runner.backend
        xp = backend.xp
        if not entries:
            changed = self.pairs is not None
            self.pairs = None
            return changed
        targets, columns = [], []
        for local, values, which in entries:
            targets.append(xp.asarray(local).astype(np.int32))
            columns.append(values if which is None else values[:, which])
        targets = xp.concatenate(targets)
        values = xp.concatenate(columns, axis=1).astype(backend.float)
        if self.pairs is None or self.pairs.shape[0] != targets.shape[0]:
            self.pairs = targets
            self.values = xp.zeros((runner.chunk, targets.shape[0]), dtype=backend.float)
            self.values[:values.shape[0]] = values
            return True
        self.pairs[...] = targets
        self.values[:values.shape[0]] = values
        return False

    def launch(self, runner):
        if self.pairs is None:
            return
        n_pairs = int(self.pairs.shape[0])
        runner.static_kernel("delivery.cu", "add_stimulus")(
            (blocks_for(n_pairs),), (THREADS,),
            (runner.clock, runner.block_first, self.values, self.pairs, np.int32(n_pairs),
             self.family.stim))


class StateSampler:
    """Samples of one StateRecorder, written on the device."""

    def __init__(self, runner, rec):
        xp = runner.backend.xp
        self.rec = rec
        self.local = xp.asarray(rec.local.astype(np.int32))
        self.n_rec = int(rec.local.size)
        rows = runner.chunk // rec.interval + 2
        self.buffer = xp.zeros((rows, max(self.n_rec, 1)), dtype=runner.backend.float)
        self.first_row = xp.zeros(1, dtype=np.int64)

    def launch(self, runner):
        if self.n_rec == 0:
            return
        variable = self.rec.group.state[self.rec.variable]
        runner.static_kernel("delivery.cu", "sample_state")(
            (blocks_for(self.n_rec),), (THREADS,),
            (runner.clock, self.first_row, np.int32(self.rec.interval), variable, self.local,
             np.int32(self.n_rec), self.buffer))

    def begin_chunk(self, start):
        interval = self.rec.interval
        self.first_row[...] = (start + 1 + interval - 1) // interval

    def drain(self, backend, start, n_steps):
        interval = self.rec.interval
        first = (start + 1 + interval - 1) // interval
        last = (start + n_steps) // interval
        if last < first or self.n_rec == 0:
            return
        values = backend.to_host(self.buffer[:last - first + 1, :self.n_rec]).astype(float)
        self.rec.add_block(np.arange(first, last + 1) * interval, values)
