"""Connectivity finalisation: merge synapse groups into per-target-family tables.

Each target family gets one table of its incoming synapses grouped by global source
index, with 64-bit offsets per source, so a spike's outgoing synapses are one contiguous
range. A synapse takes 8 bytes in float32 (12 in float64): its weight, and one 32-bit
word holding target index, receptor port and delay in steps, packed with as many bits
as the table needs; where they do not fit in 32 bits, they are kept in three arrays.

The CPU engine groups synapses with a stable sort (creation order within a source); the
GPU places them with a counting sort in two kernels (order within a source unspecified,
which only changes the order of floating-point additions into a ring-buffer slot, as
the GPU's atomic additions do anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# bytes per synapse: in a synapse group (pre, post int32; weight; delay int32) and in
# a finalised table (packed word + weight, or target, delay int32 + port int8 + weight)
GROUP_BYTES_INDEX = 12
TABLE_BYTES_PACKED = 4
TABLE_BYTES_UNPACKED = 9
# width of the packed word (target | port | delay); tests set 0 to force the unpacked layout
PACK_BITS = 32


@dataclass
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
        mask = gid_group[sg.post] == target_group_id
        count = int(mask.sum())
        if count == 0:
            continue
        sel = None if count == sg.size else xp.nonzero(mask)[0]
        del mask
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


def _sort_on_host(backend, parts, gid_local, n_sources, n_syn, max_delay, tbits, pbits,
                  packed, port_of):
    xp = backend.xp

    def take(a, sel):
        return a if sel is None else a[sel]

    pre = xp.concatenate([take(sg.pre, sel) for sg, sel, _ in parts])
    order = xp.argsort(pre, kind="stable")
    counts = xp.bincount(pre, minlength=n_sources)
    del pre
    offsets = xp.zeros(n_sources + 1, dtype=np.int64)
    xp.cumsum(counts, out=offsets[1:])
    target = xp.concatenate([gid_local[take(sg.post, sel)] for sg, sel, _ in parts])[order]
    delay = xp.concatenate([take(sg.delay, sel) for sg, sel, _ in parts])[order]
    port = xp.concatenate([xp.full(count, port_of(sg.receptor), dtype=np.int64)
                           for sg, _, count in parts])[order]
    weight = xp.concatenate([take(sg.weight, sel) for sg, sel, _ in parts])[order].astype(
        backend.float)
    table = IncomingTable(offsets=offsets, weight=weight, n_synapses=n_syn,
                          max_delay=max_delay, tbits=tbits, pbits=pbits)
    if packed:
        table.meta = (target.astype(np.int64) | (port << tbits)
                      | (delay.astype(np.int64) << (tbits + pbits))).astype(np.uint32)
    else:
        table.target = target.astype(np.int32)
        table.delay = delay.astype(np.int32)
        table.port = port.astype(np.int8)
    return table
