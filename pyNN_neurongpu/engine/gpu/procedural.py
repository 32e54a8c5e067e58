"""Procedural projections in the GPU step (cuda/procedural.cu, engine/procedural.py).

A procedural projection stores no synapses: in every step, after the neuron update, one
launch for all of them walks the step's spike list and regenerates each spiking source's
targets, weights and delays from its counter-based stream, adding them to the target
families' ring buffers. Its tables: an entry per (projection, target family), the gid
intervals on which the same entries have sources (a population's gids form one), the
interval of each gid, and each interval's entries; one warp delivers one (spike, entry,
segment of the row). The launch needs no host synchronisation (the spike count and the
step are read on the device), so it is captured into the step's graph; thousands of
projections (the multi-area model has 8,344) cost one launch per step.

A rule's values may carry scalar operations (a translation's unit factor, a sign); the
kernel applies up to MAX_OPS of add, sub, mul, truediv (either operand order), neg and
abs, in float64 like the array code. A rule with other operations is stored instead
(:func:`kernel_can_deliver`).

:func:`entry_tables` builds the tables; the compiled CPU step (engine/cpu/procedural.py)
reads the same ones on the host.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np

from ..procedural import SEGMENT
from .abi import PROCEDURAL_ENTRY_DTYPE, PROCEDURAL_RULE_DTYPE, VALUE_OPS
from .compiler import THREADS

RULE_KINDS = {"all": 0, "bernoulli": 1, "fixed_out": 2}
VALUE_KINDS = {None: 0, "uniform": 1, "uniform_int": 2, "normal": 3, "normal_clipped": 4,
               "normal_clipped_to_boundary": 5, "lognormal": 6, "exponential": 7}
_BINARY = {operator.add: (0, 0), operator.sub: (1, 2), operator.mul: (3, 3),
           operator.truediv: (4, 5)}   # op: (code, code with reversed operands)
_UNARY = {operator.neg: 6, operator.abs: 7, np.negative: 6, np.absolute: 7}


def _op_code(f, arg):
    """The kernel's code of one lazyarray operation, or None if it has none."""
    if arg is None:
        return _UNARY.get(f)
    if isinstance(arg, bool) or not np.isscalar(arg):
        return None
    inner = getattr(f, "__wrapped__", None)   # lazyarray's reverse(op)
    if inner in _BINARY and f is not inner:
        return _BINARY[inner][1]
    return _BINARY[f][0] if f in _BINARY else None


def _value_fields(spec) -> dict | None:
    """The ValueSpec record's fields of `spec` (engine/procedural.py), or None."""
    if len(spec.ops) > VALUE_OPS:
        return None
    codes = [_op_code(f, arg) for f, arg in spec.ops]
    if any(c is None for c in codes):
        return None
    p = spec.params
    if spec.name is None:
        a, b, low, high = float(spec.value), 0.0, 0.0, 0.0
        codes = []   # a constant's operations are applied already
    elif spec.name in ("uniform", "uniform_int"):
        a, b, low, high = float(p["low"]), float(p["high"]), 0.0, 0.0
    elif spec.name in ("normal", "lognormal"):
        a, b, low, high = float(p["mu"]), float(p["sigma"]), 0.0, 0.0
    elif spec.name in ("normal_clipped", "normal_clipped_to_boundary"):
        a, b, low, high = (float(p[k]) for k in ("mu", "sigma", "low", "high"))
    elif spec.name == "exponential":
        a, b, low, high = float(p["beta"]), 0.0, 0.0, 0.0
    else:
        return None
    ops = codes + [0] * (VALUE_OPS - len(codes))
    args = [0.0 if arg is None else float(arg) for _, arg in spec.ops][:len(codes)]
    args += [0.0] * (VALUE_OPS - len(args))
    return {"kind": VALUE_KINDS[spec.name], "a": a, "b": b, "low": low, "high": high,
            "n_ops": len(codes), "op": ops, "arg": args}


def kernel_can_deliver(rule) -> bool:
    """True if cuda/procedural.cu computes `rule`'s synapses (its kind, its value
    distributions and their operations)."""
    return (rule.kind in RULE_KINDS and _value_fields(rule.weight) is not None
            and _value_fields(rule.delay) is not None and rule.n_post < 2**31
            and rule.n_pre < 2**31)


def _constant_value(spec):
    """A constant ValueSpec's value with its operations applied (as ValueSpec.draw)."""
    x = float(spec.value)
    for f, arg in spec.ops:
        x = f(x) if arg is None else f(x, arg)
    return float(x)


def rule_record(rule) -> np.ndarray:
    """The RuleArgs record of `rule` (host, PROCEDURAL_RULE_DTYPE); the rule must pass
    :func:`kernel_can_deliver`."""
    rec = np.zeros(1, dtype=PROCEDURAL_RULE_DTYPE)
    log_q = math.log1p(-rule.p) if 0 < rule.p < 1 else 0.0   # as the array code
    kind = "all" if rule.kind == "bernoulli" and rule.p >= 1 else rule.kind  # as the array code
    fields = {"kind": RULE_KINDS[kind], "n_post": rule.n_post, "n": rule.n,
              "replace": int(bool(rule.replace)), "key0": rule.key[0], "key1": rule.key[1],
              "steps_per_ms": 1.0 / rule.dt, "log_q": log_q}
    for name, value in fields.items():
        rec[name] = value
    for name, spec in (("weight", rule.weight), ("delay", rule.delay)):
        values = _value_fields(spec)
        if spec.name is None:
            values["a"] = _constant_value(spec)
        for key, value in values.items():
            rec[name][key] = value
    return rec


def _is_empty(rule) -> bool:
    """True where no synapse can exist."""
    return ((rule.kind == "bernoulli" and rule.p <= 0) or rule.n_post == 0 or rule.n_pre == 0
            or (rule.kind == "fixed_out" and rule.counts is None and rule.n == 0))


@dataclass
class EntryTables:
    """The tables of one delivery of all procedural projections (host arrays), which the
    GPU step uploads and the compiled CPU step reads in place: `entries`, one
    PROCEDURAL_ENTRY_DTYPE record per (projection, target family), in the network's
    projection order; the gid intervals on which the same entries have sources
    (`interval_of[gid]`), each interval's entries in ascending order
    (``iv_entries[iv_begin[iv]:iv_begin[iv + 1]]``); `max_k`, the most entries of an
    interval; `max_seg`, the most segments of a row."""
    entries: np.ndarray
    interval_of: np.ndarray
    iv_begin: np.ndarray
    iv_entries: np.ndarray
    max_k: int
    max_seg: int


def entry_tables(net, groups, upload, ring_address) -> EntryTables | None:
    """The tables of procedural groups `groups` of network `net` (None: no synapse can
    exist). `upload(array)`: the address, where the delivery runs, of an int32 host array,
    kept alive by the caller; `ring_address(ring)`: that of a RingBuffer's data."""
    rows, spans = [], []
    for group in groups:
        if not _is_empty(group.rule):
            for row, span in _entries(net, group, upload, ring_address):
                rows.append(row)
                spans.append(span)
    if not rows:
        return None
    entries = np.zeros(len(rows), dtype=PROCEDURAL_ENTRY_DTYPE)
    for i, row in enumerate(rows):
        entries[i] = row
    lo, hi = (np.array(v, dtype=np.int64) for v in zip(*spans))
    bounds = np.unique(np.concatenate([[0, max(net.n_neurons, 1)], lo, hi]))
    interval_of = np.searchsorted(bounds, np.arange(max(net.n_neurons, 1)), "right") - 1
    first, stop = np.searchsorted(bounds, lo), np.searchsorted(bounds, hi)
    per = stop - first
    entry = np.repeat(np.arange(len(rows)), per)
    interval = np.repeat(first, per) + (np.arange(per.sum()) - np.repeat(
        np.cumsum(per) - per, per))
    order = np.lexsort((entry, interval))
    n_intervals = bounds.size - 1
    begin = np.zeros(n_intervals + 1, dtype=np.int64)
    np.add.at(begin, interval + 1, 1)
    begin = np.cumsum(begin)
    return EntryTables(entries, interval_of.astype(np.int32), begin.astype(np.int32),
                       entry[order].astype(np.int32), int(np.max(begin[1:] - begin[:-1])),
                       max(_segments(g.rule) for g in groups if not _is_empty(g.rule)))


def _segments(rule) -> int:
    """Segments of the longest row (procedural.SEGMENT draws or bernoulli targets)."""
    if rule.kind in ("all", "bernoulli"):
        longest = rule.n_post
    elif rule.counts is not None:
        longest = int(np.max(rule.counts)) if len(rule.counts) else 0
    else:
        longest = rule.n
    return max(1, -(-longest // SEGMENT))


def _entries(net, group, upload, ring_address):
    """(entry record, (lo, hi) gid span) of `group` per target family."""
    rule = group.rule
    base = rule_record(rule)[0]
    counts = 0 if rule.counts is None else upload(np.asarray(rule.counts, dtype=np.int32))
    exclude = 0 if rule.exclude is None else upload(np.asarray(rule.exclude, dtype=np.int32))
    span = group.pre_range()
    source_of = 0
    if span is None:
        lo, hi = int(group.pre_gids.min()), int(group.pre_gids.max()) + 1
        table = np.full(hi - lo, -1, dtype=np.int32)
        table[group.pre_gids - lo] = np.arange(group.pre_gids.size, dtype=np.int32)
        source_of = upload(table)
        span = (lo, hi)
    bits_half = (max(1, int(rule.n_post - 1).bit_length()) + 1) // 2
    family, local = net.group_of(group.post_gids)
    for gi in np.unique(family):
        target = net._group_by_index(int(gi))
        ring = target.ring
        mine = family == gi
        post_local, post_base = 0, 0
        if mine.all() and local.size and np.array_equal(
                local, np.arange(local[0], local[0] + local.size)):
            post_base = int(local[0])
        else:
            post_local = upload(np.where(mine, local, -1).astype(np.int32))
        row = np.zeros((), dtype=PROCEDURAL_ENTRY_DTYPE)
        row["rule"] = base
        fields = {"counts": counts, "exclude": exclude, "source_of": source_of,
                  "post_local": post_local, "ring": ring_address(ring),
                  "pre_first": span[0], "post_base": post_base, "n_slots": ring.n_slots,
                  "n_ports": ring.n_ports, "n_local": ring.n,
                  "port": target.model.port_index(group.receptor), "bits_half": bits_half}
        for name, value in fields.items():
            row[name] = value
        yield row, span


class ProceduralSet:
    """The device tables and the one launch of a GpuStep's procedural groups."""

    def __init__(self, runner, groups):
        xp = self._xp = runner.backend.xp
        self.groups = list(groups)
        self._keep = []   # device arrays the entries point to
        self.label = f"{len(self.groups)} projections"
        tables = entry_tables(runner.net, self.groups, self._upload,
                              lambda ring: int(ring.data.data.ptr))
        self.n_entries = 0 if tables is None else len(tables.entries)
        if tables is None:
            return
        self.entries = xp.asarray(tables.entries.view(np.uint8))
        self.interval_of = xp.asarray(tables.interval_of)
        self.iv_begin = xp.asarray(tables.iv_begin)
        self.iv_entries = xp.asarray(tables.iv_entries)
        self.max_k, self.max_seg = tables.max_k, tables.max_seg
        self.blocks = max(1, runner.propagate_blocks)

    def __bool__(self):
        return bool(self.groups)

    def _upload(self, array) -> int:
        device = self._xp.asarray(array)
        self._keep.append(device)
        return int(device.data.ptr)

    def launch(self, runner):
        """Deliver this step's spikes of every procedural projection (captured into the
        step's graph)."""
        if not self.n_entries:
            return
        kernel = runner.static_kernel("procedural.cu", "procedural_deliver")
        kernel((self.blocks,), (THREADS,),
               (runner.clock, runner.spk_gid, runner.spk_mult, runner.spk_count,
                self.interval_of, self.iv_begin, self.iv_entries, self.entries,
                np.int32(self.max_k), np.int32(self.max_seg)))
