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

from . import gpu_plastic, kernels, numerics

CHUNK_STEPS = 100
PROPAGATE_BLOCKS_PER_SM = int(os.environ.get("PYNN_NEURONGPU_PROPAGATE_BLOCKS_PER_SM", 4))
# the last propagation block ends the step (else a separate one-thread launch does)
FUSE_END_STEP = kernels.env_flag("PYNN_NEURONGPU_FUSE_END_STEP", True)
# spikes of neurons with at most this many synapses are delivered by the neuron's thread
DIRECT_MAX_DEGREE = 8
# register limit of the fused update kernel (0: the compiler's choice; unset: 64, or 80
# with a pooled family). 64 lets four 256-thread blocks share an SM: AdEx at N = 10^6 ran
# 3.0 s per biological second with it and 3.6 without (H100). Pooled families spill
# less with 80 (three blocks per SM): 2.12-2.15 against 2.17-2.20 s with 64 (H100).
_MAX_REGISTERS = os.environ.get("PYNN_NEURONGPU_FUSED_MAX_REGISTERS")


def fused_max_registers(any_pooled: bool) -> int:
    """The fused update kernel's register limit (see _MAX_REGISTERS)."""
    if _MAX_REGISTERS is not None:
        return int(_MAX_REGISTERS)
    return 80 if any_pooled else 64


# run whole chunks of steps in one persistent kernel where the network allows it (opt-in:
# on an H100 it measured no faster than the graph-replayed launches, docs/performance.md)
PERSISTENT = kernels.env_flag("PYNN_NEURONGPU_PERSISTENT", False)
# fold Poisson sources with a single synapse into their target's update (opt-in: in the
# microcircuit on an H100 it measured slower, docs/performance.md)
FUSE_POISSON = kernels.env_flag("PYNN_NEURONGPU_FUSE_POISSON", False)
PERSISTENT_BLOCKS_PER_SM = int(os.environ.get("PYNN_NEURONGPU_PERSISTENT_BLOCKS_PER_SM", 4))
# Pipelined steps: where every delay is at least two steps and a pooled family is in the
# fused update, the spikes of step t are delivered while the update of step t + 1 runs, by
# a small delivery kernel in a branch of the step's graph beside it (DELIVER_THREADS
# threads per block, DELIVER_BLOCKS_PER_SM blocks per SM, at most DELIVER_REGISTERS
# registers each: 128 x 32 = 4096 registers, what an SM has left beside three pooled blocks
# of 256 threads x 80 registers). The update is compute-bound and delivery bound by memory
# latency, so the two overlap instead of following each other. Spike lists alternate by
# step parity; the update of step t + 1 reads ring slot t + 1, which no delivery of step t
# touches; the branch joins before the step ends. The last step's spikes are delivered when
# the run ends.
PIPELINE = kernels.env_flag("PYNN_NEURONGPU_PIPELINE", True)
DELIVER_THREADS = int(os.environ.get("PYNN_NEURONGPU_DELIVER_THREADS", 128))
DELIVER_BLOCKS_PER_SM = int(os.environ.get("PYNN_NEURONGPU_DELIVER_BLOCKS_PER_SM", 1))
DELIVER_REGISTERS = int(os.environ.get("PYNN_NEURONGPU_DELIVER_REGISTERS", 32))


def _table_arrays(table):
    """A table's arrays in the kernels' order (None where its layout has none)."""
    return (table.offsets, table.meta, table.target, table.weight, table.delay, table.port)


def _pointer(array) -> int:
    return 0 if array is None else array.data.ptr


_BACKGROUND_FIELDS = ("lam", "weight", "port", "delay", "first", "last", "gid")


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
        # absorbed Poisson sources feeding this family (arrays per neuron), and whether
        # this family's own update can be skipped (all its neurons absorbed)
        self.background = None
        self.background_stream = 0
        self.skip = False
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

    def family_args(self, first_block: int, per_block: int):
        """This family's record of the fused kernel's argument table: its blocks start at
        `first_block`, each serving `per_block` neurons."""
        ptr = {"P": self.pointers, "ring": self.ring, "stim": self.stim, "gids": self.gids,
               "recorded": self.recorded, "rec_count": self.rec_count,
               "rec_step": self.rec_step, "rec_local": self.rec_local,
               "rec_mult": self.rec_mult}
        values = {name: arr.data.ptr for name, arr in ptr.items()}
        values.update(n=self.n, n_slots=self.n_slots, rec_capacity=self.rec_capacity,
                      stream=self.stream_id, first_block=first_block, bg_stream=0,
                      per_block=per_block)
        for name in _BACKGROUND_FIELDS:
            values[f"bg_{name}"] = 0
        if self.background is not None:
            for name in _BACKGROUND_FIELDS:
                values[f"bg_{name}"] = self.background[name].data.ptr
            values["bg_stream"] = self.background_stream
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
        args_tail = (runner.spk_gid, runner.spk_mult, runner.spk_count,
                     *runner._odd_list(), self.recorded,
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
        self._spikes_odd = None
        self._side = None     # the side stream of a pipelined run's delivery branch
        self._serial = False
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
        self.plastic = [gpu_plastic.PlasticLaunch(self, pg) for pg in network.plastic_groups]
        self.n_absorbed = 0
        if FUSE_POISSON and not self.plastic:  # plastic groups need every source's spikes
            self._absorb_poisson_sources()
        self.prop_tables, self.n_prop_tables = self._prop_tables()
        self._prepare_fused_update()
        # the persistent kernel covers fragment families, state sampling and propagation;
        # spike-array schedules, injected currents and plastic synapses take the
        # graph-replayed launches
        self.persistent = bool(PERSISTENT and self.fused and not self.scheduled
                               and not network.stimuli and not self.plastic)
        if self.persistent:
            self._prepare_persistent()

    def _prepare_persistent(self):
        xp = self.backend.xp
        cupy = self.cupy
        source = kernels.persistent_source(self._family_sources(),
                                           kernels.c_type(self.backend.float))
        self.persistent_kernel = kernels.compile_module(source).get_function(
            kernels.PERSISTENT_KERNEL)
        self.step_args_pair = self._step_args_pair(two_lists=True)
        samplers = [(s.rec.group.state[s.rec.variable].data.ptr, s.local.data.ptr,
                     s.buffer.data.ptr, s.first_row.data.ptr, s.n_rec, s.rec.interval)
                    for s in self.samplers if s.n_rec]
        self.n_sampler_args = len(samplers)
        self.sampler_args = xp.asarray(np.array(samplers or [(0,) * 6],
                                                dtype=kernels.SAMPLER_DTYPE).view(np.uint8))
        self.barrier = xp.zeros(2, dtype=np.uint32)
        n_sm = cupy.cuda.Device().attributes["MultiProcessorCount"]
        try:
            per_sm = cupy.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(
                self.persistent_kernel.kernel.ptr, kernels.THREADS, 0)
        except Exception:  # noqa: BLE001 - any failure: assume one resident block per SM
            per_sm = 1
        # every block must be resident at once (grid barriers)
        self.persistent_blocks = max(1, min(int(per_sm), PERSISTENT_BLOCKS_PER_SM) * n_sm)

    def _prop_tables(self):
        """The device array of the tables' records (kernels.PROP_TABLE_DTYPE), and their
        number."""
        tables = [tuple(_pointer(a) for a in _table_arrays(table)) + (fam.ring.data.ptr,)
                  + (table.tbits, table.pbits, fam.n_slots, len(fam.group.model.receptors),
                     fam.n)
                  for table, fam in self.tables]
        records = np.array(tables or [(0,) * 12], dtype=kernels.PROP_TABLE_DTYPE)
        return self.backend.xp.asarray(records.view(np.uint8)), len(tables)

    def _step_args_pair(self, two_lists: bool):
        """StepArgs of even and odd steps: separate spike lists with `two_lists`, else the
        same list twice."""
        xp = self.backend.xp
        if two_lists and self._spikes_odd is None:
            capacity = int(self.spk_gid.shape[0])
            self._spikes_odd = (xp.zeros(capacity, dtype=np.int32),
                                xp.zeros(capacity, dtype=np.int32),
                                xp.zeros(1, dtype=np.int32))
        even = self._step_args()
        odd = even
        if two_lists:
            odd = tuple(a.data.ptr for a in self._spikes_odd) + even[3:]
        return xp.asarray(np.array([even, odd], dtype=kernels.STEP_ARGS_DTYPE).view(np.uint8))

    def _odd_list(self):
        """The spike list (gid, multiplicity, count) of odd steps."""
        if self._spikes_odd is not None:
            return self._spikes_odd
        return (self.spk_gid, self.spk_mult, self.spk_count)

    def _run_persistent_chunk(self, k: int):
        self.persistent_kernel(
            (self.persistent_blocks,), (kernels.THREADS,),
            (self.family_table, np.int32(len(self.fused)), np.int64(self.fused_blocks),
             self.clock, np.float64(self.dt), np.uint64(self.seed), self.step_args_pair,
             self.prop_tables, np.int32(self.n_prop_tables), self.sampler_args,
             np.int32(self.n_sampler_args), np.int32(k), self.barrier))

    def _absorb_poisson_sources(self):
        """Fold Poisson sources that drive a single neuron into that neuron's update.

        A source qualifies when it has exactly one synapse, is not recorded, and its target
        has no other absorbed source. The target then draws, in its own update, the count
        the source would have drawn at the emission step (same random sequence: the
        source family's stream, the source's gid, that step), so results are those of the
        unabsorbed step; the source's own update is masked off (rate 0), or dropped when
        all of its family's sources are absorbed. This removes a thread, a random draw
        and an atomic addition per source and step (the microcircuit's background).
        """
        xp = self.backend.xp
        source = next((f for f in self.families
                       if f.group.model.name == "poisson_source" and not f.schedule), None)
        if source is None or not self.tables:
            return
        g = source.group
        gids = xp.asarray(g.gids.astype(np.int64))
        degree = xp.zeros(source.n, dtype=np.int64)
        for table, _ in self.tables:
            degree += table.offsets[gids + 1] - table.offsets[gids]
        free = (degree == 1) & (source.recorded == 0)
        absorbed = xp.zeros(source.n, dtype=bool)
        for table, fam in self.tables:
            start = table.offsets[gids]
            local = xp.nonzero(free & (table.offsets[gids + 1] - start == 1))[0]
            if local.shape[0] == 0:
                continue
            k = start[local]
            target, delay, port = table.decode(xp, k)
            taken = (fam.background["lam"] > 0) if fam.background is not None else \
                xp.zeros(fam.n, dtype=bool)
            # one source per target: the first (by index) of those not yet taken
            order = xp.argsort(target.astype(np.int64) * source.n + local)
            target, local, k = target[order], local[order], k[order]
            delay, port = delay[order], port[order]
            first = xp.ones(target.shape[0], dtype=bool)
            first[1:] = target[1:] != target[:-1]
            keep = first & ~taken[target]
            if not bool(keep.any()):
                continue
            t, src = target[keep], local[keep]
            if fam.background is None:
                backend = self.backend
                fam.background = {
                    "lam": xp.zeros(fam.n, dtype=backend.float),
                    "weight": xp.zeros(fam.n, dtype=backend.float),
                    "port": xp.zeros(fam.n, dtype=np.int8),
                    "delay": xp.zeros(fam.n, dtype=np.int32),
                    "first": xp.zeros(fam.n, dtype=np.int64),
                    "last": xp.full(fam.n, -1, dtype=np.int64),
                    "gid": xp.zeros(fam.n, dtype=np.int32)}
                fam.background_stream = source.stream_id
            bg = fam.background
            bg["lam"][t] = g.derived["lam"][src]
            bg["weight"][t] = table.weight[k[keep]]
            bg["port"][t] = port[keep].astype(np.int8)
            bg["delay"][t] = delay[keep].astype(np.int32)
            bg["first"][t] = g.derived["first"][src]
            bg["last"][t] = g.derived["last"][src]
            bg["gid"][t] = source.gids[src]
            absorbed[src] = True
        n_absorbed = self.n_absorbed = int(absorbed.sum())
        if n_absorbed == 0:
            return
        if n_absorbed == source.n:
            source.skip = True
            return
        # the rest of the family runs with the absorbed sources' rates set to 0
        index = [field[0] for field in source.fields].index("lam")
        lam = xp.where(absorbed, 0, source.arrays[index]).astype(source.arrays[index].dtype)
        source.arrays[index] = lam
        source.fields[index] = source.fields[index][:3] + (False,)  # no longer one value
        source.pointers = kernels.pointer_table(self.backend, source.arrays)

    def _family_sources(self):
        """(model, fields, has absorbed background) of each family in the fused kernel."""
        return [(f.group.model, f.fields, f.background is not None) for f in self.fused]

    def _prepare_fused_update(self):
        """One kernel updates every family with a fragment; its argument tables live in
        device memory. Pooled families come first: their blocks, one wave of them, start
        before the others."""
        xp = self.backend.xp
        fused = [f for f in self.families if not f.schedule and not f.skip]
        self.fused = sorted(fused, key=lambda f: not kernels.pooled(f.group.model))
        self.scheduled = [f for f in self.families if f.schedule]
        self.pipelined = False
        if not self.fused:
            return
        any_pooled = any(kernels.pooled(f.group.model) for f in self.fused)
        self.pipelined = bool(PIPELINE and not PERSISTENT and any_pooled and self.tables
                              and not self.plastic
                              and min(table.min_delay for table, _ in self.tables) >= 2)
        source = kernels.fused_update_source(self._family_sources(),
                                             kernels.c_type(self.backend.float),
                                             two_lists=self.pipelined)
        self.fused_kernel = kernels.compile_module(
            source, fused_max_registers(any_pooled)).get_function(kernels.FUSED_KERNEL)
        per_thread = self._pool_neurons_per_thread()
        records, first = [], 0
        for f in self.fused:
            per_block = kernels.neurons_per_block(f.group.model, per_thread)
            records.append(f.family_args(first, per_block))
            first += kernels.blocks_for(f.n, per_block)
        self.fused_blocks = first
        self.family_table = xp.asarray(np.array(records, dtype=kernels.FAMILY_ARGS_DTYPE)
                                       .view(np.uint8))
        self.step_args = self._step_args_pair(two_lists=self.pipelined)

    def _pool_neurons_per_thread(self) -> int:
        """Neurons per thread of the pooled families (kernels.POOL): as many as make their
        blocks one wave of resident blocks of the fused kernel (a block's pool evens out
        its threads' work; more blocks than fit at once would leave a last, partial wave)."""
        n = sum(f.n for f in self.fused if kernels.pooled(f.group.model))
        if not n:
            return 1
        fixed = int(os.environ.get("PYNN_NEURONGPU_POOL_PER_THREAD", 0))
        if fixed > 0:
            return fixed
        cupy = self.cupy
        try:
            per_sm = cupy.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(
                self.fused_kernel.kernel.ptr, kernels.THREADS, 0)
        except Exception:  # noqa: BLE001 - any failure: assume one resident block per SM
            per_sm = 1
        resident = max(1, int(per_sm)) * cupy.cuda.Device().attributes["MultiProcessorCount"]
        return int(min(64, max(1, -(-n // (kernels.THREADS * resident)))))

    def _step_args(self):
        """The spike list, and the table for direct delivery of low-degree spikes: possible
        when all synapses lead into one family (one table); otherwise disabled."""
        xp = self.backend.xp
        max_degree = DIRECT_MAX_DEGREE if kernels.env_flag("PYNN_NEURONGPU_DIRECT", True) \
            else 0
        if self.net.plastic_groups:
            max_degree = 0  # plastic kernels read every spike from the spike list
        spikes = (self.spk_gid.data.ptr, self.spk_mult.data.ptr, self.spk_count.data.ptr)
        if len(self.tables) == 1 and max_degree:
            table, fam = self.tables[0]
            pointers = tuple(_pointer(a) for a in _table_arrays(table)) + (fam.ring.data.ptr,)
            sizes = (fam.n_slots, len(fam.group.model.receptors), fam.n, max_degree,
                     table.tbits, table.pbits)
        else:
            self._dummy = xp.zeros(2, np.int64)
            pointers = (self._dummy.data.ptr,) + (0,) * 6
            sizes = (1, 1, 1, 0, 0, 0)
        return spikes + pointers + sizes

    @staticmethod
    def supports(network) -> bool:
        """True if every family of the network has a GPU kernel, and its plastic groups
        too (see gpu_plastic; else they run in the array-code step)."""
        if not gpu_plastic.supported(network):
            return False
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

    def static_kernel(self, filename: str, name: str, max_registers: int = 0):
        """Kernel `name` of cuda/`filename`, compiled with a register limit (0: none)."""
        key = (filename, name, max_registers)
        fn = self._static.get(key)
        if fn is None:
            source = kernels.static_source(filename, kernels.c_type(self.backend.float))
            fn = self._static[key] = kernels.compile_module(
                source, max_registers).get_function(name)
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
        # plastic groups read this step's spike list before a propagation ends the step
        out += [(f"plastic:{pl.model}", pl.launch) for pl in self.plastic]
        if self.pipelined:  # this step's spikes are delivered beside the next update
            out.insert(0, ("deliver", GpuStep._fork_delivery))

            def end_pipelined_step(runner):
                runner._join_delivery()
                runner.static_kernel("delivery.cu", "end_pipelined_step")(
                    (1,), (1,), (runner.clock, runner.spk_count, runner._spikes_odd[2]))
            return out + [("end_step", end_pipelined_step)]
        for k, (table, fam) in enumerate(self.tables):
            # the last propagation also ends the step
            last = FUSE_END_STEP and k == len(self.tables) - 1

            def propagate(runner, table=table, fam=fam, last=last):
                runner._propagate(table, fam, (runner.spk_gid, runner.spk_mult,
                                               runner.spk_count), 0, last)
            out.append((f"propagate:{fam.group.model.name}", propagate))
        if not (self.tables and FUSE_END_STEP):
            def end_step(runner):
                runner.static_kernel("delivery.cu", "end_step")(
                    (1,), (1,), (runner.clock, runner.spk_count))
            out.append(("end_step", end_step))
        return out

    def _delivery_kernel(self):
        return self.static_kernel("delivery.cu", "deliver_previous_step", DELIVER_REGISTERS)

    def _fork_delivery(self):
        """Launch the delivery of the previous step's spikes in the side stream, after
        what the current stream has queued (the previous step's end); with `_serial`
        (profiling), in the current stream."""
        cupy = self.cupy
        main = cupy.cuda.get_current_stream()
        if self._side is None:
            self._side = cupy.cuda.Stream(non_blocking=True)
            self._forked = cupy.cuda.Event(disable_timing=True)
            self._delivered = cupy.cuda.Event(disable_timing=True)
            n_sm = cupy.cuda.Device().attributes["MultiProcessorCount"]
            self._deliver_grid = n_sm * DELIVER_BLOCKS_PER_SM
        side = main if self._serial else self._side
        self._forked.record(main)
        side.wait_event(self._forked)
        with side:
            self._delivery_kernel()(
                (self._deliver_grid,), (DELIVER_THREADS,),
                (self.clock, self.spk_gid, self.spk_mult, self.spk_count, *self._spikes_odd,
                 self.prop_tables, np.int32(self.n_prop_tables)))
        self._delivered.record(side)

    def _join_delivery(self):
        self.cupy.cuda.get_current_stream().wait_event(self._delivered)

    def _launch_step(self):
        for _, launch in self._launches():
            launch(self)

    def profile(self, n_steps: int) -> dict:
        """Mean GPU time (ms) of each launch of a step, timed with CUDA events, one launch
        at a time (a diagnostic: no graphs, so the sum exceeds a graph-replayed step)."""
        cupy = self.cupy
        totals = {}
        launches = self._launches()
        self._serial = True   # time the delivery branch on its own
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
        self._deliver_last_step()
        self._serial = False
        return {label: t / n_steps for label, t in totals.items()}

    # -- a run --------------------------------------------------------------------------
    def run(self):
        cupy = self.cupy
        net = self.net
        end = net.step + self.n_steps
        # the step's stream does not wait for the legacy default stream, where connectivity
        # finalisation, parameter and state updates were queued: let them finish first
        cupy.cuda.Device().synchronize()
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
                if self.persistent:
                    self._run_persistent_chunk(k)
                elif self.use_graphs and k == self.chunk:
                    if graph is None:
                        graph = self._capture(stream, k)
                    graph.launch(stream)
                else:
                    for _ in range(k):
                        self._launch_step()
                stream.synchronize()
                net.step = start + k
                self._end_chunk(start, k)
            self._deliver_last_step()
            stream.synchronize()

    def _deliver_last_step(self):
        """A pipelined run ends with the last step's spikes still in their list: deliver
        them (so the ring buffers hold what an unpipelined run leaves) and empty it."""
        if not self.pipelined:
            return
        spikes = (self.spk_gid, self.spk_mult, self.spk_count) \
            if (self.net.step - 1) % 2 == 0 else self._spikes_odd
        for table, fam in self.tables:
            self._propagate(table, fam, spikes, -1, False)
        spikes[2][...] = 0

    def _propagate(self, table, fam, spikes, step_shift: int, finish_step: bool):
        """Launch the propagation of the spike list `spikes` (gid, multiplicity, count) of
        step clock + step_shift into `fam`'s ring buffer through `table`; with
        `finish_step`, its last block also ends the step (cuda/delivery.cu)."""
        gid, mult, count = spikes
        self.static_kernel("delivery.cu", "propagate")(
            (self.propagate_blocks,), (kernels.THREADS,),
            (self.clock, np.int64(step_shift), count, gid, mult)
            + tuple(a if a is not None else np.uint64(0) for a in _table_arrays(table))
            + (np.int32(table.tbits), np.int32(table.pbits), fam.ring,
               np.int32(fam.n_slots), np.int32(len(fam.group.model.receptors)),
               np.int32(fam.n), self.blocks_done, np.int32(finish_step)))

    def _capture(self, stream, k: int):
        """A graph of `k` steps. Kernels compile (and modules load) before the capture, and
        a failure during it ends the capture, so the stream stays usable."""
        if self.pipelined:
            self._delivery_kernel()
        modules = [("delivery.cu", "propagate")]
        if self.scheduled:
            modules.append(("spike_source_array.cu", "spike_source_array_update"))
        if self.plastic:
            modules.append(("plastic_synapses.cu", "stdp_propagate"))
        for filename, name in modules:   # compiles and loads the whole module
            self.static_kernel(filename, name)
        stream.begin_capture()
        try:
            for _ in range(k):
                self._launch_step()
        except BaseException:
            stream.end_capture()
            raise
        return stream.end_capture()

    def _begin_chunk(self, start, k) -> bool:
        """Prepare a chunk; True if buffers were reallocated (re-capture the graph)."""
        self.block_first[...] = start
        blocks = self.net._stimulus_block(start, k)
        realloc = False
        for gi, stim in self.stimuli.items():
            realloc |= stim.set_block(self, blocks.get(gi, []))
        for sampler in self.samplers:
            sampler.begin_chunk(start)
        for pl in self.plastic:
            realloc |= pl.begin_chunk(start, k)
        self.cupy.cuda.get_current_stream().synchronize()
        return realloc

    def _end_chunk(self, start, k):
        for fam in self.families:
            fam.drain(self.backend)
        for sampler in self.samplers:
            sampler.drain(self.backend, start, k)
        numerics.check(self.net, [f.group for f in self.families], start + 1, start + k)
