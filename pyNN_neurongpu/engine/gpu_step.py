"""The time step on the GPU: fused CUDA kernels, replayed as CUDA graphs.

Per step, in one stream and with no host synchronisation: injected currents are added,
each neuron family runs its update kernel (which appends spikes to a device spike list
and records spikes of recorded neurons), sampled state is written, every spike is
propagated into the ring buffers, and the device clock advances. A chunk of steps is
captured once into a CUDA graph and replayed; recordings are drained to the host once
per chunk. The reference step (network.py) defines the results; tests compare the two.
"""

from __future__ import annotations

import os

import numpy as np

from . import kernels

CHUNK_STEPS = 100
PROPAGATE_BLOCKS_PER_SM = int(os.environ.get("PYNN_NEURONGPU_PROPAGATE_BLOCKS_PER_SM", 4))
# the last propagation block ends the step (else a separate one-thread launch does)
FUSE_END_STEP = kernels.env_flag("PYNN_NEURONGPU_FUSE_END_STEP", True)
# spikes of neurons with at most this many synapses are delivered by the neuron's thread
DIRECT_MAX_DEGREE = 8


class _Family:
    """Device-side view of one neuron family for the fused step."""

    def __init__(self, runner, group):
        self.group = group
        backend = runner.backend
        xp = backend.xp
        model = group.model
        n = group.size
        self.n = n
        self.schedule = getattr(model, "kernel_kind", "fragment") == "schedule"
        self.gids = xp.asarray(group.gids.astype(np.int32))
        mask = np.zeros(n, dtype=np.uint8)
        mask[group.spike_recorder.local] = 1
        self.recorded = xp.asarray(mask)
        n_rec = int(group.spike_recorder.local.size)
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
        self.fields, arrays = kernels.kernel_fields(backend.xp, group)
        self.arrays = arrays  # keep them alive while their pointers are in use
        self.pointers = kernels.pointer_table(backend, arrays)
        self.stream_id = runner.stream_id(group.model.name)

    def family_args(self, first_block: int):
        """This family's record of the fused kernel's argument table."""
        ptr = {"P": self.pointers, "ring": self.ring, "stim": self.stim, "gids": self.gids,
               "recorded": self.recorded, "rec_count": self.rec_count,
               "rec_step": self.rec_step, "rec_local": self.rec_local,
               "rec_mult": self.rec_mult}
        values = {name: arr.data.ptr for name, arr in ptr.items()}
        values.update(n=self.n, n_slots=self.n_slots, rec_capacity=self.rec_capacity,
                      stream=self.stream_id, first_block=first_block)
        return tuple(values[name] for name in kernels.FAMILY_ARGS_FIELDS)

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
        args_tail = (runner.spk_gid, runner.spk_mult, runner.spk_count, self.recorded,
                     self.rec_count, self.rec_step, self.rec_local, self.rec_mult,
                     np.int32(self.rec_capacity))
        fn = runner.static_kernel("spike_source_array.cu", "spike_source_array_update")
        blocks = kernels.blocks_for(max(self.max_entries_per_step, 1))
        fn((min(blocks, 1024),), (kernels.THREADS,),
           (runner.clock, np.int64(self.first_step), np.int64(self.n_sched_steps),
            self.step_ptr, self.sched_local, self.gids) + args_tail)

    def drain(self, backend):
        """Move this chunk's recorded spikes to the family's SpikeRecorder."""
        count = int(backend.to_host(self.rec_count)[0])
        if count > self.rec_capacity:
            raise RuntimeError("spike recording buffer overflow (this is a bug)")
        if count:
            steps, local, mult = backend.to_host(self.rec_events[:, :count])
            self.group.spike_recorder.add_events(steps, local, mult)
        self.rec_count[...] = 0


class _StimulusSet:
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
            (kernels.blocks_for(n_pairs),), (kernels.THREADS,),
            (runner.clock, runner.block_first, self.values, self.pairs, np.int32(n_pairs),
             self.family.stim))


class _StateSampler:
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
            (kernels.blocks_for(self.n_rec),), (kernels.THREADS,),
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


class GpuStep:
    """Runs a Network's steps with fused kernels and CUDA graphs."""

    def __init__(self, network, n_steps: int, use_graphs: bool = True):
        import cupy
        self.cupy = cupy
        self.net = network
        self.backend = network.backend
        self.dt = network.dt
        # one Philox key per reset epoch (odd multiplier: distinct epochs, distinct keys)
        self.seed = (self.backend.seed + network.epoch * 0x9E3779B97F4A7C15) % (1 << 64)
        self.n_steps = n_steps
        self.chunk = min(CHUNK_STEPS, n_steps)
        self.use_graphs = use_graphs
        xp = self.backend.xp
        self._streams = {}
        self._static = {}
        groups = [g for g in network.groups.values() if g.size]
        self.families = [_Family(self, g) for g in groups]
        self.by_group = {f.group.index: f for f in self.families}
        capacity = sum(f.n for f in self.families) + sum(
            f.max_entries_per_step for f in self.families if f.schedule)
        self.spk_gid = xp.zeros(max(capacity, 1), dtype=np.int32)
        self.spk_mult = xp.zeros(max(capacity, 1), dtype=np.int32)
        self.spk_count = xp.zeros(1, dtype=np.int32)
        self.clock = xp.asarray(np.array([network.step], dtype=np.int64))
        self.block_first = xp.zeros(1, dtype=np.int64)
        self.stimuli = {f.group.index: _StimulusSet(self, f) for f in self.families
                        if not f.schedule and f.group.ring is not None}
        self.samplers = [_StateSampler(self, r) for r in network.state_recorders]
        self.tables = []
        n_sm = self.cupy.cuda.Device().attributes["MultiProcessorCount"]
        self.propagate_blocks = n_sm * PROPAGATE_BLOCKS_PER_SM
        for gi, table in (network._tables or {}).items():
            fam = self.by_group[gi]
            self.tables.append((table, fam))
        self.blocks_done = xp.zeros(1, dtype=np.uint32)
        self._prepare_fused_update()

    def _prepare_fused_update(self):
        """One kernel updates every family with a fragment; its argument tables live in
        device memory."""
        xp = self.backend.xp
        self.fused = [f for f in self.families if not f.schedule]
        self.scheduled = [f for f in self.families if f.schedule]
        if not self.fused:
            return
        source = kernels.fused_update_source([(f.group.model, f.fields) for f in self.fused],
                                             kernels.c_type(self.backend.float))
        self.fused_kernel = kernels.compile_module(source).get_function(kernels.FUSED_KERNEL)
        records, first = [], 0
        for f in self.fused:
            records.append(f.family_args(first))
            first += kernels.blocks_for(f.n)
        self.fused_blocks = first
        self.family_table = xp.asarray(np.array(records, dtype=kernels.FAMILY_ARGS_DTYPE)
                                       .view(np.uint8))
        self.step_args = xp.asarray(np.array([self._step_args()], dtype=kernels.STEP_ARGS_DTYPE)
                                    .view(np.uint8))

    def _step_args(self):
        """The spike list, and the table for direct delivery of low-degree spikes: possible
        when all synapses lead into one family (one table); otherwise disabled."""
        xp = self.backend.xp
        max_degree = DIRECT_MAX_DEGREE if kernels.env_flag("PYNN_NEURONGPU_DIRECT", True) \
            else 0
        spikes = (self.spk_gid.data.ptr, self.spk_mult.data.ptr, self.spk_count.data.ptr)
        if len(self.tables) == 1 and max_degree:
            table, fam = self.tables[0]
            arrays = (table.offsets, table.target, table.weight, table.delay, table.port,
                      fam.ring)
            sizes = (fam.n_slots, len(fam.group.model.receptors), fam.n, max_degree)
        else:
            self._dummy = arrays = (xp.zeros(2, np.int64), xp.zeros(1, np.int32),
                                    xp.zeros(1, self.backend.float), xp.zeros(1, np.int32),
                                    xp.zeros(1, np.int8), xp.zeros(1, self.backend.float))
            sizes = (1, 1, 1, 0)
        return spikes + tuple(a.data.ptr for a in arrays) + sizes

    @staticmethod
    def supports(network) -> bool:
        """True if every family of the network has a GPU kernel."""
        for g in network.groups.values():
            if g.size == 0:
                continue
            kind = getattr(g.model, "kernel_kind", "fragment")
            if kind == "schedule":
                continue
            if not g.model.kernel:
                return False
            try:
                kernels.fragment_source(g.model)
            except FileNotFoundError:
                return False
        return True

    def stream_id(self, name: str) -> int:
        return self._streams.setdefault(name, len(self._streams) + 1)

    def static_kernel(self, filename: str, name: str):
        key = (filename, name)
        fn = self._static.get(key)
        if fn is None:
            source = kernels.static_source(filename, kernels.c_type(self.backend.float))
            fn = self._static[key] = kernels.compile_module(source).get_function(name)
        return fn

    # -- one step -----------------------------------------------------------------------
    def _launches(self):
        """The step's launches in order, as (label, callable)."""
        out = [(f"stimulus:{gi}", stim.launch) for gi, stim in self.stimuli.items()]
        out += [(f"schedule:{fam.group.model.name}", fam.launch_schedule)
                for fam in self.scheduled]
        if self.fused:
            def update(runner):
                runner.fused_kernel(
                    (runner.fused_blocks,), (kernels.THREADS,),
                    (runner.family_table, np.int32(len(runner.fused)), runner.clock,
                     np.float64(runner.dt), np.uint64(runner.seed), runner.step_args))
            out.append(("update:" + ",".join(f.group.model.name for f in self.fused), update))
        out += [(f"sample:{s.rec.variable}", s.launch) for s in self.samplers]
        for k, (table, fam) in enumerate(self.tables):
            # the last propagation also ends the step
            last = FUSE_END_STEP and k == len(self.tables) - 1

            def propagate(runner, table=table, fam=fam, last=last):
                runner.static_kernel("delivery.cu", "propagate")(
                    (runner.propagate_blocks,), (kernels.THREADS,),
                    (runner.clock, runner.spk_count, runner.spk_gid, runner.spk_mult,
                     table.offsets, table.target, table.weight, table.delay, table.port,
                     fam.ring, np.int32(fam.n_slots),
                     np.int32(len(fam.group.model.receptors)), np.int32(fam.n),
                     runner.blocks_done, np.int32(last)))
            out.append((f"propagate:{fam.group.model.name}", propagate))
        if not (self.tables and FUSE_END_STEP):
            def end_step(runner):
                runner.static_kernel("delivery.cu", "end_step")(
                    (1,), (1,), (runner.clock, runner.spk_count))
            out.append(("end_step", end_step))
        return out

    def _launch_step(self):
        for _, launch in self._launches():
            launch(self)

    def profile(self, n_steps: int) -> dict:
        """Mean GPU time (ms) of each launch of a step, timed with CUDA events, one launch
        at a time (a diagnostic: no graphs, so the sum exceeds a graph-replayed step)."""
        cupy = self.cupy
        totals = {}
        launches = self._launches()
        net = self.net
        self._begin_chunk(net.step, n_steps)
        for _ in range(n_steps):
            for label, launch in launches:
                start, stop = cupy.cuda.Event(), cupy.cuda.Event()
                start.record()
                launch(self)
                stop.record()
                stop.synchronize()
                totals[label] = totals.get(label, 0.0) + cupy.cuda.get_elapsed_time(start, stop)
        net.step += n_steps
        self._end_chunk(net.step - n_steps, n_steps)
        return {label: t / n_steps for label, t in totals.items()}

    # -- a run --------------------------------------------------------------------------
    def run(self):
        cupy = self.cupy
        net = self.net
        end = net.step + self.n_steps
        stream = cupy.cuda.Stream(non_blocking=True)
        graph = None
        with stream:
            while net.step < end:
                start = net.step
                k = min(self.chunk, end - start)
                for stim in net.stimuli:  # targets join a stimulus only at a block's start
                    joins = stim.next_target_step(start)
                    if joins is not None:
                        k = min(k, joins - start)
                if self._begin_chunk(start, k):
                    graph = None
                if self.use_graphs and k == self.chunk:
                    if graph is None:
                        stream.begin_capture()
                        for _ in range(k):
                            self._launch_step()
                        graph = stream.end_capture()
                    graph.launch(stream)
                else:
                    for _ in range(k):
                        self._launch_step()
                stream.synchronize()
                net.step = start + k
                self._end_chunk(start, k)

    def _begin_chunk(self, start, k) -> bool:
        """Prepare a chunk; True if buffers were reallocated (re-capture the graph)."""
        self.block_first[...] = start
        blocks = self.net._stimulus_block(start, k)
        realloc = False
        for gi, stim in self.stimuli.items():
            realloc |= stim.set_block(self, blocks.get(gi, []))
        for sampler in self.samplers:
            sampler.begin_chunk(start)
        self.cupy.cuda.get_current_stream().synchronize()
        return realloc

    def _end_chunk(self, start, k):
        for fam in self.families:
            fam.drain(self.backend)
        for sampler in self.samplers:
            sampler.drain(self.backend, start, k)
