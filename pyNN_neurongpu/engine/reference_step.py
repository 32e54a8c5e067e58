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
    interval_start = net.step
    while net.step < end:
        block_len = min(max_block, end - net.step)
        for s in net.stimuli:  # targets join a stimulus only at a block's start
            joins = s.next_target_step(net.step)
            if joins is not None:
                block_len = min(block_len, joins - net.step)
        stim = block_currents(net, net.step, block_len)
        for k in range(block_len):
            advance(net, groups, stim, k)
            if net.exchange is None:
                numerics.check(net, groups, net.step, net.step)
            elif net.exchange.due(net.step) or net.step == end:
                _check_on_every_rank(net, groups, interval_start + 1, net.step)
                deliver_interval(net)
                interval_start = net.step


def advance(net, groups, stim, k):
    """One step: row `k` of the block's stimulus currents `stim` acts in it."""
    backend = net.backend
    xp = backend.xp
    step = net.step
    fired = []
    timed = []   # (family, local, offset) of the spikes of precise families
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
        if g.model.precise:   # (counts, local, offset): spikes with their offsets
            counts, ev_local, ev_offset = counts
            timed.append((g, ev_local, ev_offset))
            if g.spike_recorder.active and g.extra.get("steps") is None:
                g._emitted.append((np.full(ev_local.shape[0], step, dtype=np.int64),
                                   np.asarray(ev_local, dtype=np.int64),
                                   (step + 1) * net.dt - np.asarray(ev_offset)))
        g.spike_recorder.record(step, counts)
        fired.append((g, counts))
    net.step = step + 1
    for rec in net.state_recorders:
        if rec.due(net.step):
            rec.sample(net.step)
    if net.exchange is not None:
        _collect(net, step, fired)
        return
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
    else:
        sources = mult = None
    _deliver(net, step, fired, sources, mult, timed)


def _timed_spikes(net, fired, timed):
    """One (global index, offset) per spike of the step: the offsets of precise
    families' spikes, 0 (the step's end) for the others'."""
    xp = net.backend.xp
    gids, offsets = [], []
    precise = {g.index for g, _, _ in timed}
    for g, local, offset in timed:
        gids.append(g.gids_dev[xp.asarray(local, dtype=np.int64)])
        offsets.append(xp.asarray(offset, dtype=np.float64))
    for g, counts in fired:
        if g.index in precise:
            continue
        local = xp.nonzero(counts)[0]
        if local.shape[0]:
            c = counts[local].astype(np.int64)
            gids.append(net.backend.repeat(g.gids_dev[local], c))
            offsets.append(xp.zeros(int(c.sum()), dtype=np.float64))
    return xp.concatenate(gids), xp.concatenate(offsets)


def _deliver(net, step, fired, sources, mult, timed=None):
    """Deliver step `step`'s spikes `sources` (global indices in the one-process order,
    multiplicities `mult`; None: no spike) into the ring buffers; families with timed
    input (precise spike timing) receive every spike with its offset (`timed`: the
    precise families' spikes)."""
    if sources is not None:
        timed_spikes = None
        for gi, table in net._tables.items():
            g = net._group_by_index(gi)
            if isinstance(g.ring, delivery.EventRing):
                if timed_spikes is None:
                    timed_spikes = _timed_spikes(net, fired, timed or [])
                delivery.propagate_timed(net.backend, table, g.ring, step, *timed_spikes)
                continue
            delivery.propagate(net.backend, table, g.ring, step, sources, mult)
        for proc in net.procedural_groups:
            proc.deliver(net, step, sources, mult)
    if net.plastic_groups:
        _deliver_plastic(net, step, fired, sources, mult)


def _collect(net, step, fired):
    """Keep step `step`'s spikes for the interval's exchange (engine/parallel.py)."""
    backend = net.backend
    gids, counts, shared = [], [], []
    for g, c in fired:
        c = backend.to_host(c)
        local = np.nonzero(c)[0]
        gids.append(g.gids[local])
        counts.append(c[local])
        shared.append(np.full(local.size, bool(g.model.receptors)))
    empty = np.zeros(0, dtype=np.int64)
    net.exchange.collect(step, np.concatenate(gids) if gids else empty,
                         np.concatenate(counts) if counts else empty,
                         np.concatenate(shared) if shared else np.zeros(0, dtype=bool),
                         [(g, c.copy()) for g, c in fired])


def _check_on_every_rank(net, groups, first_step: int, last_step: int):
    """numerics.check over an interval, on every rank together."""
    try:
        numerics.check(net, groups, first_step, last_step)
        failure = None
    except numerics.NumericalInstability as err:
        failure = err
    numerics.raise_on_every_rank(net.comm, failure, first_step, last_step)


def deliver_interval(net):
    """Exchange the spikes of the steps since the last exchange and deliver them, step
    by step, as the one-process run delivers them after each step."""
    backend = net.backend
    for step, fired, gids, counts in net.exchange.exchange():
        if gids.size:
            sources, mult = backend.asarray(gids), backend.asarray(counts)
        else:
            sources = mult = None
        _deliver(net, step, fired, sources, mult)


def _deliver_plastic(net, step, fired, sources, mult):
    spike_counts = None
    if any(pg.post_history is not None for pg in net.plastic_groups):
        spike_counts = net.backend.xp.zeros(net.n_neurons, dtype=np.int64)
        for g, counts in fired:
            spike_counts[g.gids_dev] = counts
    for pg in net.plastic_groups:
        pg.deliver(net, step, sources, mult, spike_counts)
