"""Procedural projections in the compiled CPU step: cuda/procedural.cu's ``deliver_segment``
as host C++, whose warps have one lane, on the GPU step's tables
(engine/gpu/procedural.py ``entry_tables``), after each step's static delivery and before
the plastic groups, as the reference's ``_deliver`` runs ``ProceduralGroup.deliver``.

The order of additions is the reference's: projection after projection (the entries are
in the network's projection order), each on the step's spikes in the list's order, each
spike's row in draw order (cuda/host_step.h ``deliver_procedural``). The integers
(targets, ordinals, delays) are the array code's; weights and delays drawn through log,
exp, cos or sqrt are the C library's, which NumPy's SIMD loops may differ from in the
last bit (constants, uniform and uniform_int values are the array code's to the bit).
"""

from __future__ import annotations

import weakref

import numpy as np

from ..gpu.procedural import entry_tables, kernel_can_deliver

_U64, _I64 = np.uint64, np.int64
HOST_PROCEDURAL_DTYPE = np.dtype([(n, _U64) for n in ("interval_of", "iv_begin",
                                                      "iv_entries", "entries")]
                                 + [(n, _I64) for n in ("n_entries", "max_seg")])


def unsupported(net) -> str | None:
    """Why the compiled step cannot run the network's procedural projections (None: it
    can)."""
    odd = [g.label or f"#{i}" for i, g in enumerate(net.procedural_groups)
           if not kernel_can_deliver(g.rule)]
    if odd:
        return (f"its procedural projections {', '.join(map(repr, odd))} apply an operation "
                "to their weights or delays that cuda/procedural.cu does not")
    return None


_BUILT = weakref.WeakKeyDictionary()   # network -> (key, ProceduralRecords)


def records(net) -> ProceduralRecords:
    """The network's records, built again only where its procedural groups or its ring
    buffers changed (thousands of projections cost a second per build)."""
    key = (tuple(net.procedural_groups), tuple(g.ring for g in net.groups.values()))
    built = _BUILT.get(net)
    if built is None or built[0] != key:
        built = _BUILT[net] = (key, ProceduralRecords(net))
    return built[1]


class ProceduralRecords:
    """The HostProcedural record of a network's procedural groups, and its arrays."""

    def __init__(self, net):
        self.keep = []
        self.record = np.zeros(1, dtype=HOST_PROCEDURAL_DTYPE)
        tables = entry_tables(net, net.procedural_groups, self._keep,
                              lambda ring: ring.data.ctypes.data)
        if tables is None:
            return
        arrays = (tables.interval_of, tables.iv_begin, tables.iv_entries, tables.entries)
        self.keep += arrays
        self.record[0] = (*(a.ctypes.data for a in arrays), len(tables.entries),
                          tables.max_seg)

    def _keep(self, array) -> int:
        array = np.ascontiguousarray(array)
        self.keep.append(array)
        return array.ctypes.data
