"""The CPU step in array code: the semantics every other step must equal.

One step (DESIGN.md): each family takes this step's slot of its input ring buffer and
updates all its neurons in one call; spikes and sampled state are recorded; spikes are
propagated into the ring buffers of their targets, and plastic groups deliver theirs.
The same code runs on the GPU's arrays (CuPy) where the fused step cannot run a network.
"""

from __future__ import annotations

import numpy as np

from . import delivery, numerics
from .models import StepContext
from .stimuli import block_currents

RUN_BLOCK = 1024  # steps whose stimulus currents are prepared at once
STIM_BLOCK_VALUES = 1 << 22  # cap on per-target stimulus values prepared at once


def run_reference(net, groups, n_steps: int):
    """Advance network `net` (its families `groups`) by `n_steps` steps."""
    end = net.step + n_steps
    width = sum(s.n_targets for s in net.stimuli if s.per_target)
    max_block = max(1, min(RUN_BLOCK, STIM_BLOCK_VALUES // max(width, 1)))
    while net.step < end:
        block_len = min(max_block, end - net.step)
        for s in net.stimuli:  # targets join a stimulus only at a block's start
            joins = s.next_target_step(net.step)
            if joins is not None:
                block_len = min(block_len, joins - net.step)
        stim = block_currents(net, net.step, block_len)
        for k in range(block_len):
            advance(net, groups, stim, k)
            numerics.check(net, groups, net.step, net.step)


def advance(net, groups, stim, k):
    """One step: row `k` of the block's stimulus currents `stim` acts in it."""
    backend = net.backend
    xp = backend.xp
    step = net.step
    fired = []
    for g in groups:
        inputs = g.ring.take(step) if g.ring is not None else None
        i_stim = xp.zeros(g.size, dtype=backend.float)
        for local, values, which in stim.get(g.index, ()):
            row = values[k]
            backend.scatter_add(i_stim, local, row if which is None else row[which])
        ctx = StepContext(xp=xp, dt=net.dt, step=step, params=g.params,
                          derived=g.derived, state=g.state, inputs=inputs,
                          i_stim=i_stim, rng=backend.rng(f"neurons:{g.model.name}"),
                          extra=g.extra)
        counts = g.model.update(ctx)
        g.spike_recorder.record(step, counts)
        fired.append((g, counts))
    net.step = step + 1
    for rec in net.state_recorders:
        if rec.due(net.step):
            rec.sample(net.step)
    if not net._tables and not net.plastic_groups and not net.procedural_groups:
        return
    sources, mult = [], []
    for g, counts in fired:
        local = xp.nonzero(counts)[0]
        if local.shape[0]:
            sources.append(g.gids_dev[local])
            mult.append(counts[local])
    if sources:
        sources = xp.concatenate(sources)
        mult = xp.concatenate(mult)
        for gi, table in net._tables.items():
            g = net._group_by_index(gi)
            delivery.propagate(backend, table, g.ring, step, sources, mult)
        for proc in net.procedural_groups:
            proc.deliver(net, step, sources, mult)
    else:
        sources = mult = None
    if net.plastic_groups:
        _deliver_plastic(net, step, fired, sources, mult)


def _deliver_plastic(net, step, fired, sources, mult):
    spike_counts = None
    if any(pg.post_history is not None for pg in net.plastic_groups):
        spike_counts = net.backend.xp.zeros(net.n_neurons, dtype=np.int64)
        for g, counts in fired:
            spike_counts[g.gids_dev] = counts
    for pg in net.plastic_groups:
        pg.deliver(net, step, sources, mult, spike_counts)
