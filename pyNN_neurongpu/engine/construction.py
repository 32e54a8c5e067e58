"""Connectivity finalisation: merge synapse groups into per-target-family tables.

Each target family gets one table of its incoming synapses grouped by global source
index, with 64-bit offsets per source, so a spike's outgoing synapses are one contiguous
range. A synapse takes 8 bytes in float32 (12 in float64): its weight, and one 32-bit
word holding target index, receptor port and delay in steps, packed with as many bits
as the table needs; where they do not fit in 32 bits, they are kept in three arrays.

The CPU engine groups synapses with a chunked, stable counting sort (creation order within
a source); the GPU places them with a counting sort in two kernels (order within a source
unspecified, which only changes the order of floating-point additions into a ring-buffer
slot, as the GPU's atomic additions do anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# bytes per synapse: in a synapse group (pre, post int32; weight; delay int32) and in
# a finalised table (packed word + weight, or target, delay int32 + port int8 + weight)
GROUP_BYTES_INDEX = 12
TABLE_BYTES_PACKED = 4
TABLE_BYTES_UNPACKED = 9
# synapses handled at once while a table is finalised on the host (bounds the transient)
FINALISE_CHUNK = 1 << 16
# width of the packed word (target | port | delay); tests set 0 to force the unpacked layout
PACK_BITS = 32


@dataclass(eq=False)  # compared by identity (lists of groups remove one by identity)
class SynapseGroup:
    """The synapses of one projection, in creation order.

    ``pre``/``post`` are global neuron indices (int32), ``delay`` is in steps (>= 1),
    ``weight`` in the unit of the target receptor port.
    """
    pre: object
    post: object
    weight: object
    delay: object
    receptor: str
    label: str = ""

    @property
    def size(self) -> int:
        return int(self.pre.shape[0])

    @property
    def capacity(self) -> int:
        buffers = getattr(self, "_buffers", None)
        return self.size if buffers is None else int(buffers[0].shape[0])

    def reserve(self, xp, capacity: int):
        """Room for `capacity` synapses, so that appends copy nothing already stored."""
        if capacity <= self.capacity:
            return
        n = self.size
        buffers = []
        for name in ("pre", "post", "weight", "delay"):
            old = getattr(self, name)
            buf = xp.empty(capacity, dtype=old.dtype)
            buf[:n] = old
            setattr(self, name, buf[:n])
            buffers.append(buf)
        self._buffers = buffers

    def append(self, xp, pre, post, weight, delay):
        """Add synapses at the end (growing the buffers only if not reserved)."""
        n, m = self.size, int(pre.shape[0])
        if n + m > self.capacity:
            self.reserve(xp, n + m)
        for name, buf, values in zip(("pre", "post", "weight", "delay"), self._buffers,
                                     (pre, post, weight, delay)):
            buf[n:n + m] = values
            setattr(self, name, buf[:n + m])


def bits_for(max_value: int) -> int:
    """Bits needed to hold integers 0..max_value."""
    return max(1, int(max_value).bit_length())


@dataclass
class IncomingTable:
    """Synapses into one family, grouped by source.

    With ``meta`` (uint32): target = meta & (2^tbits - 1), port = next pbits bits, delay =
    the bits above. Without: ``target``, ``delay`` and ``port`` arrays.
    """
    offsets: object          # int64, n_sources + 1
    weight: object           # float
    n_synapses: int
    max_delay: int
    min_delay: int = 1       # steps; the smallest delay of any synapse in the table
    tbits: int = 0
    pbits: int = 0
    meta: object = None      # uint32, or None
    target: object = None    # int32 local index in the target family (unpacked layout)
    delay: object = None     # int32 steps (unpacked layout)
    port: object = None      # int8 receptor port (unpacked layout)

    @property
    def packed(self) -> bool:
        return self.meta is not None

    def decode(self, xp, idx):
        """(target, delay, port) of the synapses at positions `idx`."""
        if self.meta is None:
            return self.target[idx], self.delay[idx], self.port[idx]
        m = self.meta[idx].astype(np.int64)
        target = m & ((1 << self.tbits) - 1)
        port = (m >> self.tbits) & ((1 << self.pbits) - 1)
        return target, m >> (self.tbits + self.pbits), port

    def nbytes(self) -> int:
        arrays = (self.offsets, self.weight, self.meta, self.target, self.delay, self.port)
        return sum(int(a.nbytes) for a in arrays if a is not None)


def empty_table(backend, offsets, n_syn: int, max_delay: int, tbits: int, pbits: int,
                packed: bool) -> IncomingTable:
    """A table with source `offsets` and room for `n_syn` synapses, to be filled in place."""
    xp = backend.xp
    table = IncomingTable(offsets=offsets, weight=xp.empty(n_syn, dtype=backend.float),
                          n_synapses=n_syn, max_delay=max_delay, tbits=tbits, pbits=pbits)
    if packed:
        table.meta = xp.empty(n_syn, dtype=np.uint32)
    else:
        table.target = xp.empty(n_syn, dtype=np.int32)
        table.delay = xp.empty(n_syn, dtype=np.int32)
        table.port = xp.empty(n_syn, dtype=np.int8)
    return table


def table_bytes_per_synapse(float_bytes: int, packed: bool = True) -> int:
    return float_bytes + (TABLE_BYTES_PACKED if packed else TABLE_BYTES_UNPACKED)


def build_incoming(backend, gid_group, gid_local, n_sources, synapse_groups,
                   target_group_id, n_targets, n_ports, port_of):
    """Build the :class:`IncomingTable` of family `target_group_id` (`n_targets` neurons,
    `n_ports` receptor ports); `port_of(receptor)` gives a receptor name's port index."""
    xp = backend.xp
    parts = []   # (synapse group, selection or None, count)
    max_delay, min_delay = 1, None
    for sg in synapse_groups:
        if sg.size == 0:
            continue
        # counted in chunks on the host; on a GPU in one pass (one synchronisation)
        step = sg.size if backend.is_gpu else max(FINALISE_CHUNK, n_sources)
        count = sum(int((gid_group[sg.post[c0:c0 + step]] == target_group_id).sum())
                    for c0 in range(0, sg.size, step))
        if count == 0:
            continue
        sel = None if count == sg.size else xp.nonzero(gid_group[sg.post] == target_group_id)[0]
        delays = sg.delay if sel is None else sg.delay[sel]
        max_delay = max(max_delay, int(delays.max()))
        low = int(delays.min())
        min_delay = low if min_delay is None else min(min_delay, low)
        parts.append((sg, sel, count))
    if not parts:
        return None
    n_syn = sum(count for _, _, count in parts)
    tbits = bits_for(max(n_targets - 1, 0))
    pbits = bits_for(max(n_ports - 1, 0))
    packed = tbits + pbits + bits_for(max_delay) <= PACK_BITS
    if backend.is_gpu:
        from .gpu.construction import place_on_device as build
    else:
        build = _sort_on_host
    table = build(backend, parts, gid_local, n_sources, n_syn, max_delay, tbits, pbits,
                  packed, port_of)
    table.min_delay = min_delay
    return table


def _chunks(sg, sel, count, size):
    """Index ranges (slices, or slices of `sel`) of at most `size` synapses of `sg`."""
    for c0 in range(0, count, size):
        c1 = min(count, c0 + size)
        yield slice(c0, c1) if sel is None else sel[c0:c1]


def _sort_on_host(backend, parts, gid_local, n_sources, n_syn, max_delay, tbits, pbits,
                  packed, port_of):
    """Counting sort by source in chunks: count per source, scan into int64 offsets, then
    each chunk's synapses take the next free positions of their sources (stably, so creation
    order within a source is kept). The transient is a chunk's worth plus 16 B per source
    (a chunk holds max(FINALISE_CHUNK, n_sources) synapses)."""
    xp = backend.xp
    # chunks no smaller than the source count, so per-chunk bincounts cost O(synapses)
    size = max(FINALISE_CHUNK, n_sources)
    offsets = xp.zeros(n_sources + 1, dtype=np.int64)
    for sg, sel, count in parts:
        for idx in _chunks(sg, sel, count, size):
            offsets[1:] += xp.bincount(sg.pre[idx], minlength=n_sources)
    xp.cumsum(offsets, out=offsets)
    cursor = offsets[:-1].copy()
    table = empty_table(backend, offsets, n_syn, max_delay, tbits, pbits, packed)
    weight = table.weight
    for sg, sel, count in parts:
        port = int(port_of(sg.receptor))
        for idx in _chunks(sg, sel, count, size):
            pre = sg.pre[idx]
            order = xp.argsort(pre, kind="stable")
            pre = pre[order]
            m = pre.shape[0]
            run = xp.flatnonzero(xp.r_[True, pre[1:] != pre[:-1]])
            lengths = xp.diff(xp.r_[run, m])
            first = xp.repeat(run, lengths)
            pos = cursor[pre] + (xp.arange(m) - first)
            cursor[pre[run]] += lengths
            del first, pre
            weight[pos] = sg.weight[idx][order]
            target = gid_local[sg.post[idx][order]]
            delay = sg.delay[idx][order]
            if packed:
                table.meta[pos] = (target.astype(np.uint32) | np.uint32(port << tbits)
                                   | (delay.astype(np.uint32) << np.uint32(tbits + pbits)))
            else:
                table.target[pos] = target
                table.delay[pos] = delay
                table.port[pos] = port
    return table
