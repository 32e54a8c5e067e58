"""The compiled CPU step: many steps per call into a C++ library generated from the
model declarations (engine/cpu/codegen.py) — the reference step's semantics
(engine/reference_step.py), at compiled speed.

Per block of steps (those of the reference's stimulus blocks), array code prepares what
depends on random streams or schedules: the injected currents (stimuli.block_currents),
the spike counts of Poisson and array sources (their model's ``update_block``, the
reference update for a block of steps, drawing the same numbers from the same streams)
and the numbers the other random sources' updates draw (their model's ``draws``, which
the reference update draws through too), which the fragments' ``rng`` hands out; one call
then runs the block's steps: updates, spike and state recording, delivery into the ring
buffers, the procedural projections (engine/cpu/procedural.py), the plastic synapses
(engine/cpu/plastic.py; both the GPU's kernels) and the stochastic synapses, and the
per-step state check. A network the library cannot run goes to the reference step
(:func:`unsupported` says why).
"""

from __future__ import annotations

import ctypes

import numpy as np

from ..gpu.abi import FAMILY_ARGS_DTYPE, PROP_TABLE_DTYPE
from ..models import StepContext
from ..numerics import check as check_numerics
from ..reference_step import RUN_BLOCK, STIM_BLOCK_VALUES, _check_on_every_rank
from ..stimuli import block_currents
from . import codegen, compiler
from . import plastic as host_plastic
from . import procedural as host_procedural

_U64, _I64 = np.uint64, np.int64
HOST_FAMILY_DTYPE = np.dtype([(n, _U64) for n in ("counts", "stim_block", "prime", "real")]
                             + [(n, _I64) for n in ("kind", "n_prime", "n_real")])
SAMPLER_DTYPE = np.dtype([("values", _U64), ("local", _U64), ("out", _U64), ("n_rec", _I64),
                          ("interval", _I64), ("first_row", _I64)])
RUN_ARGS_DTYPE = np.dtype([(n, _U64) for n in ("fams", "host", "tables", "samplers",
                                               "plastic", "procedural", "spk_gid", "spk_mult",
                                               "zero_stim", "ex_step", "ex_gid", "ex_mult",
                                               "ex_count")]
                          + [(n, _I64) for n in ("n_fams", "n_tables", "n_samplers",
                                                 "n_plastic", "first_step", "n_steps",
                                                 "first_row", "check", "deliver")]
                          + [("dt", np.float64)])
REC_ENTRIES = 1 << 22  # recorded spikes one block may hold (a block is shortened to fit)
DRAW_VALUES = 1 << 22  # numbers a random source family may draw for one block (likewise)
EX_ENTRIES = 1 << 22   # under MPI: spikes one call may hold for the exchange (steps per call)


def _ptr(a) -> int:
    return 0 if a is None else a.ctypes.data


def _emits_from_array_code(model) -> bool:
    """A source family whose spikes the model's update_block draws (Poisson, arrays)."""
    return hasattr(model, "update_block")


def _draws_in_array_code(model) -> bool:
    """A family whose fragment's draws array code takes from the reference's stream
    (the model's ``draws``: gamma, Poisson with dead time)."""
    return hasattr(model, "draws")


def family_supported(model) -> bool:
    """Whether the compiled step runs `model`'s family: a generated update fragment (a
    source's with the numbers its ``draws`` takes from the reference's stream), or a
    source whose spikes array code draws. Families with array code only (kernel_kind None:
    gif_cond_exp, the precise-timing ``_ps`` families) run on the reference step."""
    if model.kernel_kind is None or model.precise:
        return False
    if _emits_from_array_code(model):
        return True
    return model.kernel_kind == "fragment" and (not model.spike_source
                                                or _draws_in_array_code(model))


def _context(net, g, step: int) -> StepContext:
    """What the model's block functions see: the reference update's context."""
    return StepContext(xp=np, dt=net.dt, step=step, params=g.params, derived=g.derived,
                       state=g.state, inputs=None, i_stim=None,
                       rng=net.backend.rng(f"neurons:{g.model.name}"), extra=g.extra)


def _as(a, dtype):
    return None if a is None else np.ascontiguousarray(a, dtype=dtype)


def unsupported(net) -> str | None:
    """Why the compiled CPU step cannot run network `net` (None: it can)."""
    if net.backend.is_gpu:
        return "the network is on a GPU"
    if net.exchange is not None and net.plastic_groups:
        return ("it has plastic synapses and runs over several MPI ranks (their post-synaptic "
                "spikes are not all in the exchanged spikes)")
    reason = host_plastic.unsupported(net) or host_procedural.unsupported(net)
    if reason is not None:
        return reason
    missing = sorted({g.model.name for g in net.groups.values()
                      if g.size and not family_supported(g.model)})
    if missing:
        return f"it has {', '.join(missing)} neurons, a family the compiled step does not run"
    for rec in net.state_recorders:
        if rec.group.state[rec.variable].dtype != net.backend.float:
            return f"it records {rec.variable}, not a {net.backend.float} variable"
    if compiler.compiler() is None:
        return "no C++ compiler was found (set PYNN_NEURONGPU_CXX or CXX, or install g++)"
    return None


class CpuStep:
    """One run of a network on the compiled CPU step."""

    def __init__(self, net, groups):
        self.net = net
        self.groups = groups
        self.real = "double" if net.backend.float == np.float64 else "float"
        self.fields, self.arrays = [], []
        for g in groups:
            if _emits_from_array_code(g.model):
                self.fields.append(None)
                self.arrays.append([])
            else:
                fields, arrays = codegen.host_fields(g)
                for (_, _, writable, _), arr in zip(fields, arrays):
                    if writable and not arr.flags.c_contiguous:
                        raise ValueError("state arrays must be contiguous")  # not expected
                self.fields.append(fields)
                self.arrays.append([np.ascontiguousarray(a) for a in arrays])
        source = codegen.library_source(tuple((g.model, f and tuple(f))
                                              for g, f in zip(groups, self.fields)), self.real)
        self.lib = compiler.load(source)

    def _family_records(self, max_block: int):
        fams = np.zeros(len(self.groups), dtype=FAMILY_ARGS_DTYPE)
        self.keep = []
        self.rec = []
        for j, (g, arrays) in enumerate(zip(self.groups, self.arrays)):
            table = np.array([_ptr(a) for a in arrays] or [0], dtype=np.uint64)
            gids = np.ascontiguousarray(g.gids, dtype=np.int32)
            recorded = np.zeros(g.size, dtype=np.uint8)
            recorded[g.spike_recorder.local] = 1
            capacity = max(1, int(g.spike_recorder.local.size) * max_block)
            count = np.zeros(1, dtype=np.int32)
            events = np.empty((3, capacity), dtype=np.int32)
            self.rec.append((g, count, events))
            ring = g.ring.data if g.ring is not None else None
            fams[j] = (_ptr(table), g.size, _ptr(ring), g.ring.n_slots if ring is not None
                       else 1, 0, _ptr(gids), _ptr(recorded), _ptr(count), _ptr(events[0]),
                       _ptr(events[1]), _ptr(events[2]), capacity, 0, 0, 0)
            self.keep += [table, gids, recorded]
        return fams

    def _tables(self):
        net = self.net
        rows = []
        for gi, t in net._tables.items():
            g = net._group_by_index(gi)
            ring = g.ring
            rows.append((_ptr(t.offsets), _ptr(t.meta), _ptr(t.target), _ptr(t.weight),
                         _ptr(t.delay), _ptr(t.port), _ptr(ring.data), t.tbits, t.pbits,
                         ring.n_slots, ring.n_ports, ring.n))
            for a in (t.offsets, t.meta, t.target, t.weight, t.delay, t.port):
                if a is not None and not a.flags.c_contiguous:
                    raise ValueError("synapse tables must be contiguous")  # not expected
        return np.array(rows or [(0,) * len(PROP_TABLE_DTYPE.names)], dtype=PROP_TABLE_DTYPE)

    def run(self, n_steps: int):
        net, groups = self.net, self.groups
        backend = net.backend
        end = net.step + n_steps
        width = sum(s.n_targets for s in net.stimuli if s.per_target)
        max_block = max(1, min(RUN_BLOCK, STIM_BLOCK_VALUES // max(width, 1)))
        n_rec = max([int(g.spike_recorder.local.size) for g in groups] + [1])
        max_block = max(1, min(max_block, REC_ENTRIES // n_rec))
        plastic = host_plastic.PlasticRecords(net)
        max_block = min(max_block, plastic.max_block())
        for g in groups:
            if _draws_in_array_code(g.model):
                width = g.size * g.model.draw_width(g)
                max_block = max(1, min(max_block, DRAW_VALUES // max(width, 1)))
        fams = self._family_records(max_block)
        host = np.zeros(len(groups), dtype=HOST_FAMILY_DTYPE)
        host["kind"] = [1 if f is None else 0 for f in self.fields]
        tables = self._tables()
        spk_gid = np.zeros(max(net.n_neurons, 1), dtype=np.int32)
        spk_mult = np.zeros_like(spk_gid)
        zero_stim = np.zeros(max([g.size for g in groups] + [1]), dtype=backend.float)
        recorders = [rec for rec in net.state_recorders if rec.local.size]
        samplers = np.zeros(max(len(recorders), 1), dtype=SAMPLER_DTYPE)
        locals_ = [np.ascontiguousarray(rec.local, dtype=np.int64) for rec in recorders]
        args = np.zeros(1, dtype=RUN_ARGS_DTYPE)
        args["fams"], args["host"], args["tables"] = _ptr(fams), _ptr(host), _ptr(tables)
        args["samplers"], args["spk_gid"] = _ptr(samplers), _ptr(spk_gid)
        args["plastic"], args["n_plastic"] = _ptr(plastic.records), plastic.n
        procedural = host_procedural.records(net)
        args["procedural"] = _ptr(procedural.record)
        args["spk_mult"], args["zero_stim"] = _ptr(spk_mult), _ptr(zero_stim)
        args["n_fams"], args["n_tables"] = len(groups), len(net._tables)
        args["n_samplers"], args["dt"] = len(recorders), net.dt
        exchanged = None if net.exchange is None else _Exchanged(net, self.lib, groups, args)
        args["check"] = int(net.check_numerics and exchanged is None)
        args["deliver"] = int(exchanged is None)
        interval_start = net.step
        while net.step < end:
            block_len = min(max_block, end - net.step)
            for s in net.stimuli:  # targets join a stimulus only at a block's start
                joins = s.next_target_step(net.step)
                if joins is not None:
                    block_len = min(block_len, joins - net.step)
            start = net.step
            plastic.begin_block(start, block_len)
            stim = block_currents(net, start, block_len)
            blocks = []
            for j, g in enumerate(groups):
                if self.fields[j] is None:
                    counts = _as(g.model.update_block(_context(net, g, start), block_len),
                                 np.int32)
                    host["counts"][j] = _ptr(counts)
                    blocks.append(counts)
                    continue
                if _draws_in_array_code(g.model):
                    prime, real, counts = g.model.draws(_context(net, g, start), block_len)
                    prime, real, counts = (_as(prime, np.float64), _as(real, np.float64),
                                           _as(counts, np.int32))
                    host["counts"][j], host["prime"][j] = _ptr(counts), _ptr(prime)
                    host["real"][j] = _ptr(real)
                    host["n_prime"][j] = 0 if prime is None else prime.shape[0]
                    host["n_real"][j] = 0 if real is None else real.shape[1]
                    blocks += [prime, real, counts]
                entries = stim.get(g.index, ())
                if entries:
                    i_stim = np.zeros((block_len, g.size), dtype=backend.float)
                    for local, values, which in entries:
                        np.add.at(i_stim, (slice(None), local),
                                  values if which is None else values[:, which])
                    host["stim_block"][j] = _ptr(i_stim)
                    blocks.append(i_stim)
                else:
                    host["stim_block"][j] = 0
            outs = []
            for r, (rec, local) in enumerate(zip(recorders, locals_)):
                first = (start + rec.interval) // rec.interval
                last = (start + block_len) // rec.interval
                out = np.empty((max(last - first + 1, 1), local.size), dtype=backend.float)
                samplers[r] = (_ptr(rec.group.state[rec.variable]), _ptr(local), _ptr(out),
                               local.size, rec.interval, first)
                outs.append((rec, out, first))
            if exchanged is not None:
                try:
                    interval_start = exchanged.run(start, block_len, end, interval_start)
                finally:
                    self._drain(outs, start, net.step - start)
                del blocks
                continue
            args["first_step"], args["n_steps"], args["first_row"] = start, block_len, 0
            done = int(self.lib.run_steps(ctypes.c_void_p(_ptr(args))))
            plastic.end_block()
            failed = done < 0
            done = abs(done)
            net.step = start + done
            self._drain(outs, start, done)
            if failed:
                plastic.end_run()
                check_numerics(net, groups, net.step, net.step)
                raise RuntimeError("the compiled CPU step's state check failed where the "
                                   "reference check finds nothing (this is a bug)")
            del blocks
        plastic.end_run()

    def _drain(self, outs, start, done):
        for g, count, events in self.rec:
            k = int(count[0])
            if k:
                g.spike_recorder.add_events(events[0, :k], events[1, :k], events[2, :k])
                count[0] = 0
        for rec, out, first in outs:
            last = (start + done) // rec.interval
            if last >= first:
                rec.add_block(np.arange(first, last + 1) * rec.interval,
                              out[:last - first + 1].astype(float))


class _Exchanged:
    """A block of compiled steps under MPI (engine/parallel.py), as the reference runs it:
    calls that end at interval boundaries (or the run's end) deliver nothing and hand every
    step's spikes to the exchange; at an interval's end the state is checked on every rank
    together, and the spikes the exchange returns are delivered step by step in the
    one-process order (``deliver_spikes``)."""

    def __init__(self, net, lib, groups, args):
        self.net, self.lib, self.groups, self.args = net, lib, groups, args
        n = max(sum(g.size for g in groups), 1)   # at most one entry per neuron and step
        self.steps_per_call = max(1, EX_ENTRIES // n)
        self.events = np.empty((3, n * min(self.steps_per_call, net.exchange.interval)),
                               dtype=np.int32)
        self.count = np.zeros(1, dtype=np.int64)
        self.shared = np.zeros(max(net.n_neurons, 1), dtype=bool)   # distributed families
        for g in groups:
            self.shared[g.gids] = bool(g.model.receptors)
        args["ex_step"], args["ex_gid"], args["ex_mult"] = (_ptr(a) for a in self.events)
        args["ex_count"] = _ptr(self.count)

    def run(self, start: int, block_len: int, end: int, interval_start: int) -> int:
        """Run the block's steps; returns the first step of the interval under way."""
        net, args, ex = self.net, self.args, self.net.exchange
        k = 0
        while k < block_len:
            first = start + k
            n = min(block_len - k, ex.interval - first % ex.interval, self.steps_per_call)
            args["first_step"], args["n_steps"], args["first_row"] = first, n, k
            self.count[0] = 0
            self.lib.run_steps(ctypes.c_void_p(_ptr(args)))
            net.step = first + n
            steps, gids, mult = self.events[:, :int(self.count[0])]
            bounds = np.searchsorted(steps, np.arange(first, first + n + 1))
            for i in range(n):
                g = gids[bounds[i]:bounds[i + 1]].astype(np.int64)
                ex.collect(first + i, g, mult[bounds[i]:bounds[i + 1]].astype(np.int64),
                           self.shared[g], None)
            if ex.due(net.step) or net.step == end:
                _check_on_every_rank(net, self.groups, interval_start + 1, net.step)
                self._deliver(ex.exchange())
                interval_start = net.step
            k += n
        return interval_start

    def _deliver(self, received):
        if not received:
            return
        steps = np.array([s for s, _, _, _ in received], dtype=np.int64)
        offsets = np.zeros(len(received) + 1, dtype=np.int64)
        np.cumsum([g.size for _, _, g, _ in received], out=offsets[1:])
        gids = np.concatenate([g for _, _, g, _ in received]).astype(np.int32)
        mult = np.concatenate([c for _, _, _, c in received]).astype(np.int32)
        self.lib.deliver_spikes(ctypes.c_void_p(_ptr(self.args)), len(received),
                                *(ctypes.c_void_p(_ptr(a)) for a in (steps, offsets, gids,
                                                                     mult)))
