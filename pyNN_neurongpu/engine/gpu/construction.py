"""A family's incoming-synapse table built on the GPU (cuda/construction.cu): a counting
sort in two kernels, in place of the CPU's stable sort (engine/construction.py)."""

from __future__ import annotations

import numpy as np

from ..construction import empty_table
from .compiler import THREADS, blocks_for, c_type, compile_module, static_source


def place_on_device(backend, parts, gid_local, n_sources, n_syn, max_delay, tbits, pbits,
                     packed, port_of):
    """Counting sort on the GPU: count synapses per source, scan, then each synapse takes
    the next free position of its source; no sort keys, no permutation array."""
    xp = backend.xp
    module = compile_module(static_source("construction.cu", c_type(backend.float)))
    count_fn = module.get_function("count_sources")
    place_fn = module.get_function("place_synapses")
    counts = xp.zeros(n_sources + 1, dtype=np.uint64)
    dummy = xp.zeros(1, dtype=np.int64)

    def launches(sg, sel, count):
        n = np.int64(count)
        grid = (int(min(blocks_for(count), 65535 * 32)),)
        return n, grid, (sel if sel is not None else dummy), np.int32(sel is not None)

    for sg, sel, count in parts:
        n, grid, sel_arr, has_sel = launches(sg, sel, count)
        count_fn(grid, (THREADS,), (sg.pre, sel_arr, has_sel, n, counts))
    offsets = xp.zeros(n_sources + 1, dtype=np.int64)
    xp.cumsum(counts[:n_sources].view(np.int64), out=offsets[1:])
    del counts
    cursor = offsets[:-1].copy()
    table = empty_table(backend, offsets, n_syn, max_delay, tbits, pbits, packed)
    weight = table.weight
    out = ((table.meta, dummy, dummy, dummy) if packed
           else (dummy, table.target, table.delay, table.port))
    local = gid_local.astype(np.int32)
    for sg, sel, count in parts:
        n, grid, sel_arr, has_sel = launches(sg, sel, count)
        weight_in = sg.weight.astype(backend.float, copy=False)
        place_fn(grid, (THREADS,),
                 (sg.pre, sg.post, weight_in, sg.delay, sel_arr, has_sel, n, local,
                  np.int32(port_of(sg.receptor)), cursor, np.int32(packed),
                  np.int32(tbits), np.int32(pbits), weight) + out)
    return table
