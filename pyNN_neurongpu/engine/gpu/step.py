"""The time step on the GPU: the fused CUDA kernels, replayed as CUDA graphs.

Per step, in one stream and with no host synchronisation: injected currents are added,
one kernel updates every neuron family (appending spikes to a device spike list and
recording spikes of recorded neurons), sampled state is written, every spike is propagated
into the ring buffers, and the device clock advances. A chunk of steps is captured once
into a CUDA graph and replayed; recordings are drained to the host once per chunk. The
reference step (engine/reference_step.py) defines the results; tests compare the two.

Pipelined steps: where every delay is at least two steps and a pooled family is in the
fused update, the spikes of step t are delivered while the update of step t + 1 runs, by
a small delivery kernel in a branch of the step's graph beside it (OPTIONS.deliver_*: its
threads per block, blocks per SM and register limit; 128 x 32 registers is what an SM has
left beside three pooled blocks of 256 threads x 80 registers). The update is
compute-bound and delivery bound by memory latency, so the two overlap instead of
following each other. Spike lists alternate by step parity; the update of step t + 1
reads ring slot t + 1, which no delivery of step t touches; the branch joins before the
step ends. The last step's spikes are delivered when the run ends.
"""

from __future__ import annotations

import numpy as np

from ..options import OPTIONS
from ..stimuli import block_currents
from . import codegen, plastic
from .abi import FAMILY_ARGS_DTYPE, PROP_TABLE_DTYPE, STEP_ARGS_DTYPE, records
from .compiler import (
    THREADS,
    blocks_for,
    c_type,
    compile_module,
    prefetch,
    static_modules,
    static_source,
)
from .families import Family, StateSampler, StimulusSet, table_arrays, table_pointers
from .procedural import ProceduralSet
from .state_check import StateCheck

CHUNK_STEPS = 100
# spikes of neurons with at most this many synapses are delivered by the neuron's thread
DIRECT_MAX_DEGREE = 8


def fused_max_registers(any_pooled: bool) -> int:
    """The fused update kernel's register limit: 64 lets four 256-thread blocks share an
    SM; pooled families spill less with 80 (three blocks); OPTIONS.fused_max_registers
    overrides (docs/performance.md has the measurements)."""
    if OPTIONS.fused_max_registers >= 0:
        return OPTIONS.fused_max_registers
    return 80 if any_pooled else 64


def prefetch_modules(network) -> None:
    """Start compiling, in worker threads, the static modules the network's next run
    needs: the connectivity's finalisation (on the GPU) and the GPU step's."""
    names = []
    if network._tables is None and network.synapse_groups:
        names.append("construction.cu")
    groups = [g for g in network.groups.values() if g.size]
    any_pooled = False
    if network._gpu_step_possible():
        names += ["delivery.cu", "numerics.cu"]
        if any(g.model.kernel_kind == "schedule" for g in groups):
            names.append("spike_source_array.cu")
        if network.plastic_groups:
            names.append("plastic_synapses.cu")
        any_pooled = any(g.model.kernel_kind != "schedule" and codegen.pooled(g.model)
                         for g in groups)
    modules = static_modules(c_type(network.backend.float), names)
    # the register-limited delivery module serves pipelined runs only (pooled families)
    prefetch([(source, registers) for source, registers in modules
              if registers in (0, OPTIONS.deliver_registers) and (registers == 0 or any_pooled)])


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
        # under MPI (engine/parallel.py) a chunk ends at every exchange
        self.exchange = network.exchange
        self.chunk = min(CHUNK_STEPS, n_steps)
        if self.exchange is not None:
            self.chunk = min(self.chunk, self.exchange.interval)
        self._outgoing = []   # this interval's spikes for the exchange
        self.use_graphs = use_graphs
        xp = self.backend.xp
        self._streams = {}
        self._static = {}
        groups = [g for g in network.groups.values() if g.size]
        self.families = [Family(self, g) for g in groups]
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
        self.stimuli = {f.group.index: StimulusSet(self, f) for f in self.families
                        if not f.schedule and f.group.ring is not None}
        self.samplers = [StateSampler(self, r) for r in network.state_recorders]
        self.tables = []
        n_sm = self.cupy.cuda.Device().attributes["MultiProcessorCount"]
        self.propagate_blocks = n_sm * OPTIONS.propagate_blocks_per_sm
        for gi, table in (network._tables or {}).items():
            fam = self.by_group[gi]
            self.tables.append((table, fam))
        self.blocks_done = xp.zeros(1, dtype=np.uint32)
        self.plastic = [plastic.PlasticLaunch(self, pg) for pg in network.plastic_groups]
        self.procedural = ProceduralSet(self, network.procedural_groups)
        self.prop_tables, self.n_prop_tables = self._prop_tables()
        self._prepare_fused_update()
        self.state_check = StateCheck(self)

    def _prop_tables(self):
        """The device array of the tables' records (abi.PROP_TABLE_DTYPE), and their
        number."""
        tables = [table_pointers(table) + (fam.ring.data.ptr,)
                  + (table.tbits, table.pbits, fam.n_slots, len(fam.group.model.receptors),
                     fam.n)
                  for table, fam in self.tables]
        return records(self.backend.xp, PROP_TABLE_DTYPE, tables), len(tables)

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
        return records(xp, STEP_ARGS_DTYPE, [even, odd])

    def odd_list(self):
        """The spike list (gid, multiplicity, count) of odd steps."""
        if self._spikes_odd is not None:
            return self._spikes_odd
        return (self.spk_gid, self.spk_mult, self.spk_count)

    def _family_sources(self):
        """(model, fields) of each family in the fused kernel."""
        return [(f.group.model, f.fields) for f in self.fused]

    def _prepare_fused_update(self):
        """One kernel updates every family with a fragment; its argument tables live in
        device memory. Pooled families come first: their blocks, one wave of them, start
        before the others."""
        xp = self.backend.xp
        fused = [f for f in self.families if not f.schedule]
        self.fused = sorted(fused, key=lambda f: not codegen.pooled(f.group.model))
        self.scheduled = [f for f in self.families if f.schedule]
        self.pipelined = False
        if not self.fused:
            return
        any_pooled = any(codegen.pooled(f.group.model) for f in self.fused)
        self.pipelined = bool(OPTIONS.pipeline and any_pooled and self.tables
                              and not self.plastic and not self.procedural
                              and min(table.min_delay for table, _ in self.tables) >= 2)
        source = codegen.fused_update_source(self._family_sources(),
                                             c_type(self.backend.float),
                                             two_lists=self.pipelined)
        self.fused_kernel = compile_module(
            source, fused_max_registers(any_pooled)).get_function(codegen.FUSED_KERNEL)
        per_thread = self._pool_neurons_per_thread()
        rows, first = [], 0
        for f in self.fused:
            per_block = codegen.neurons_per_block(f.group.model, per_thread)
            rows.append(f.family_args(first, per_block))
            first += blocks_for(f.n, per_block)
        self.fused_blocks = first
        self.family_table = records(xp, FAMILY_ARGS_DTYPE, rows)
        self.step_args = self._step_args_pair(two_lists=self.pipelined)

    def _pool_neurons_per_thread(self) -> int:
        """Neurons per thread of the pooled families (OPTIONS.pool): as many as make their
        blocks one wave of resident blocks of the fused kernel (a block's pool evens out
        its threads' work; more blocks than fit at once would leave a last, partial wave)."""
        n = sum(f.n for f in self.fused if codegen.pooled(f.group.model))
        if not n:
            return 1
        if OPTIONS.pool_per_thread > 0:
            return OPTIONS.pool_per_thread
        cupy = self.cupy
        try:
            per_sm = cupy.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(
                self.fused_kernel.kernel.ptr, THREADS, 0)
        except Exception:  # noqa: BLE001 - any failure: assume one resident block per SM
            per_sm = 1
        resident = max(1, int(per_sm)) * cupy.cuda.Device().attributes["MultiProcessorCount"]
        return int(min(64, max(1, -(-n // (THREADS * resident)))))

    def _step_args(self):
        """The spike list, and the table for direct delivery of low-degree spikes: possible
        when all synapses lead into one family (one table); otherwise disabled."""
        xp = self.backend.xp
        max_degree = DIRECT_MAX_DEGREE if OPTIONS.direct else 0
        if self.net.plastic_groups or self.net.procedural_groups:
            max_degree = 0  # their kernels read every spike from the spike list
        spikes = (self.spk_gid.data.ptr, self.spk_mult.data.ptr, self.spk_count.data.ptr)
        if len(self.tables) == 1 and max_degree:
            table, fam = self.tables[0]
            pointers = table_pointers(table) + (fam.ring.data.ptr,)
            sizes = (fam.n_slots, len(fam.group.model.receptors), fam.n, max_degree,
                     table.tbits, table.pbits)
        else:
            self._dummy = xp.zeros(2, np.int64)
            pointers = (self._dummy.data.ptr,) + (0,) * 6
            sizes = (1, 1, 1, 0, 0, 0)
        return spikes + pointers + sizes

    @staticmethod
    def supports(network) -> bool:
        """True if every family of the network has a GPU kernel, and its plastic and
        procedural groups too (engine/gpu/plastic.py, procedural.py; else they run in the
        array-code step)."""
        if not plastic.supported(network):
            return False
        if not all(pg.deliverable_on_gpu() for pg in network.procedural_groups):
            return False
        for g in network.groups.values():
            if g.size == 0:
                continue
            if g.model.kernel_kind == "schedule":
                continue
            if g.model.kernel_kind is None:
                return False
            try:
                codegen.fragment_source(g.model)
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
            source = static_source(filename, c_type(self.backend.float))
            fn = self._static[key] = compile_module(
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
                    (runner.fused_blocks,), (THREADS,),
                    (runner.family_table, np.int32(len(runner.fused)), runner.clock,
                     np.float64(runner.dt), np.uint64(runner.seed), runner.step_args))
            out.append(("update:" + ",".join(f.group.model.name for f in self.fused), update))
        out += [(f"sample:{s.rec.variable}", s.launch) for s in self.samplers]
        # plastic groups read this step's spike list before a propagation ends the step
        out += [(f"plastic:{pl.model}", pl.launch) for pl in self.plastic]
        if self.procedural:
            out.append((f"procedural:{self.procedural.label}", self.procedural.launch))
        if self.pipelined:  # this step's spikes are delivered beside the next update
            out.insert(0, ("deliver", GpuStep._fork_delivery))

            def end_pipelined_step(runner):
                runner._join_delivery()
                runner.static_kernel("delivery.cu", "end_pipelined_step")(
                    (1,), (1,), (runner.clock, runner.spk_count, runner._spikes_odd[2]))
            return out + [("end_step", end_pipelined_step)]
        for k, (table, fam) in enumerate(self.tables):
            # the last propagation also ends the step
            last = OPTIONS.fuse_end_step and k == len(self.tables) - 1

            def propagate(runner, table=table, fam=fam, last=last):
                runner._propagate(table, fam, (runner.spk_gid, runner.spk_mult,
                                               runner.spk_count), 0, last)
            out.append((f"propagate:{fam.group.model.name}", propagate))
        if not (self.tables and OPTIONS.fuse_end_step):
            def end_step(runner):
                runner.static_kernel("delivery.cu", "end_step")(
                    (1,), (1,), (runner.clock, runner.spk_count))
            out.append(("end_step", end_step))
        return out

    def _delivery_kernel(self):
        return self.static_kernel("delivery.cu", "deliver_previous_step",
                                  OPTIONS.deliver_registers)

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
            self._deliver_grid = n_sm * OPTIONS.deliver_blocks_per_sm
        side = main if self._serial else self._side
        self._forked.record(main)
        side.wait_event(self._forked)
        with side:
            self._delivery_kernel()(
                (self._deliver_grid,), (OPTIONS.deliver_threads,),
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
        self.state_check.launch()
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
                if self.exchange is not None:  # stop at the interval's end
                    interval = self.exchange.interval
                    k = min(k, (start // interval + 1) * interval - start)
                if self._begin_chunk(start, k):
                    graph = None
                if self.use_graphs and k == self.chunk:
                    if graph is None:
                        graph = self._capture(stream, k)
                    graph.launch(stream)
                else:
                    for _ in range(k):
                        self._launch_step()
                self.state_check.launch()
                stream.synchronize()
                net.step = start + k
                self._end_chunk(start, k)
                if self.exchange is not None and (self.exchange.due(net.step)
                                                  or net.step == end):
                    self._exchange()
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
            (self.propagate_blocks,), (THREADS,),
            (self.clock, np.int64(step_shift), count, gid, mult)
            + tuple(a if a is not None else np.uint64(0) for a in table_arrays(table))
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
        if self.procedural:
            modules.append(("procedural.cu", "procedural_deliver"))
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
        blocks = block_currents(self.net, start, k)
        realloc = False
        for gi, stim in self.stimuli.items():
            realloc |= stim.set_block(self, blocks.get(gi, []))
        for sampler in self.samplers:
            sampler.begin_chunk(start)
        for pl in self.plastic:
            realloc |= pl.begin_chunk(start, k)
        self.cupy.cuda.get_current_stream().synchronize()
        return realloc

    def _exchange(self):
        """Send this interval's spikes of distributed families to the ranks that need
        them and deliver those the other ranks sent: each step's spikes into every table,
        as if propagated in their own step (every delay spans at least the interval, so
        no slot they reach has been read)."""
        outgoing, self._outgoing = self._outgoing, []
        if outgoing:
            steps, gids, counts = (np.concatenate(a) for a in zip(*outgoing))
        else:
            steps = gids = counts = np.zeros(0, dtype=np.int64)
        r_steps, r_gids, r_counts = self.exchange.exchange_events(steps, gids, counts)
        if not r_steps.size or not self.tables:
            return
        xp = self.backend.xp
        bounds = np.flatnonzero(np.r_[True, r_steps[1:] != r_steps[:-1], True])
        gid_dev = xp.asarray(r_gids.astype(np.int32))
        mult_dev = xp.asarray(r_counts.astype(np.int32))
        count_dev = xp.asarray(np.diff(bounds).astype(np.int32))
        now = self.net.step
        for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            spikes = (gid_dev[lo:hi], mult_dev[lo:hi], count_dev[i:i + 1])
            for table, fam in self.tables:
                self._propagate(table, fam, spikes, int(r_steps[lo]) - now, False)
        self.cupy.cuda.get_current_stream().synchronize()

    def _end_chunk(self, start, k):
        for fam in self.families:
            fam.drain(self.backend, self._outgoing)
        for sampler in self.samplers:
            sampler.drain(self.backend, start, k)
        self.state_check.check(start + 1, start + k)
