"""Connectivity finalisation: merge synapse groups into per-target-family tables.

Each target family gets one table of its incoming synapses sorted by global
source index, then delay, with 64-bit offsets per source, so a spike's outgoing
synapses are one contiguous range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SynapseGroup:
    """The synapses of one projection, in creation order.

    ``pre``/``post`` are global neuron indices, ``delay`` is in steps (>= 1),
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


@dataclass
class IncomingTable:
    """Synapses into one family, sorted by (source, delay)."""
    offsets: object      # int64, n_sources + 1
    target: object       # int32 local index in the target family
    weight: object       # float
    delay: object        # int32 steps
    port: object         # int8 receptor port index
    n_synapses: int

    @property
    def max_delay(self) -> int:
        return int(self._max_delay)


def build_incoming(backend, groups_by_id, gid_group, gid_local, n_sources, synapse_groups,
                   target_group_id, port_of):
    """Build the :class:`IncomingTable` of family `target_group_id`.

    `port_of(receptor)` gives the port index of a receptor name in that family.
    """
    xp = backend.xp
    pres, tgts, ws, ds, ps = [], [], [], [], []
    for sg in synapse_groups:
        if sg.size == 0:
            continue
        post = sg.post
        mask = gid_group[post] == target_group_id
        if not bool(mask.all()):
            if not bool(mask.any()):
                continue
            sel = xp.nonzero(mask)[0]

            def take(a, sel=sel):
                return a[sel]
        else:
            def take(a):
                return a
        pres.append(take(sg.pre))
        tgts.append(gid_local[take(post)].astype(np.int32))
        ws.append(take(sg.weight).astype(backend.float))
        ds.append(take(sg.delay).astype(np.int32))
        ps.append(xp.full(pres[-1].shape[0], port_of(sg.receptor), dtype=np.int8))
    if not pres:
        return None
    pre = xp.concatenate(pres)
    delay = xp.concatenate(ds)
    order = xp.lexsort(xp.stack([delay, pre]))
    pre = pre[order]
    counts = xp.bincount(pre, minlength=n_sources)
    offsets = xp.zeros(n_sources + 1, dtype=np.int64)
    xp.cumsum(counts, out=offsets[1:])
    table = IncomingTable(offsets=offsets,
                          target=xp.concatenate(tgts)[order],
                          weight=xp.concatenate(ws)[order],
                          delay=delay[order],
                          port=xp.concatenate(ps)[order],
                          n_synapses=int(pre.shape[0]))
    table._max_delay = int(table.delay.max()) if table.n_synapses else 1
    return table
