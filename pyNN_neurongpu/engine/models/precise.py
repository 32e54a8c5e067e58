"""What the precise-spike-timing families (NEST's ``_ps`` models) share.

A spike carries an *offset*: how long before the end of its step it happened (ms,
0 <= offset < dt), NEST's convention, so a spike of step s with offset o happened at
(s + 1)*dt - o. A precise family sees the spikes arriving in a step with their offsets
and processes them in time order for all neurons at once: the events of a step are
sorted by target and time, and slot k (the k-th event of every neuron that has one)
is handled for all those neurons together, k = 0, 1, ... up to the most events any
neuron has in the step. Neurons without input in the step take the fixed-step path,
as NEST's models do.
"""

from __future__ import annotations

import numpy as np

from ..numerics import NumericalInstability

# NEST's regula falsi (libnestutil/regula_falsi.h)
MAX_ITER = 500
TERMINATION_CRITERION = 1e-14
# offset of a spike at the very start of a step (NEST's emit_instant_spike_ at a slice's
# start for a neuron set above threshold): h * (1 - epsilon)
INSTANT_FACTOR = 1.0 - np.finfo(np.float64).eps


def check_refractory_step(model_name, params, dt, refractory_steps):
    """NEST's "Refractory time must be at least one time step." of the _ps models."""
    steps = np.atleast_1d(refractory_steps(np, params["tau_refrac"], dt))
    if np.any(steps < 1):
        bad = np.atleast_1d(np.asarray(params["tau_refrac"], dtype=float))[np.argmax(steps < 1)
                                                                             if steps.size > 1
                                                                             else 0]
        raise ValueError(f"tau_refrac = {bad:g}: {model_name} needs a refractory period of "
                         f"at least one time step ({dt:g} ms), as NEST's model does")


def event_slots(xp, local, offset, weight, first_kind=None):
    """Sort a step's events by target, then time (larger offset first; events of
    `first_kind` True, the return from refractoriness, before spikes of equal offset).
    Returns (local, offset, weight, kind, slot) sorted, slot = rank within its target,
    and the number of slots."""
    if first_kind is None:
        first_kind = xp.zeros(local.shape[0], dtype=bool)
    order = np.lexsort((~first_kind, -offset, local))
    local, offset, weight, first_kind = (local[order], offset[order], weight[order],
                                         first_kind[order])
    first = xp.searchsorted(local, local, side="left")
    slot = xp.arange(local.shape[0]) - first
    n_slots = int(slot.max()) + 1 if slot.shape[0] else 0
    return local, offset, weight, first_kind, slot, n_slots


def regula_falsi(distance, dt, model_name="", step=None):
    """Vectorised NEST regula falsi: for each element, the root in [0, dt] of
    `distance(t, which)` (threshold distance of the elements `which` at time t after
    their interval's start), with NEST's Illinois-type halving and stopping rule."""
    n = dt.shape[0]
    every = np.arange(n)
    a = np.zeros(n)
    b = np.array(dt, dtype=np.float64)
    fa = distance(a, every)
    fb = distance(b, every)
    if np.any(fa * fb > 0):
        raise NumericalInstability(f"{model_name}: regula_falsi: time step too short to "
                                   "reach threshold", model=model_name, first_step=step,
                                   last_step=step)
    root = np.full(n, np.nan)
    last = np.zeros(n, dtype=np.int8)
    active = every
    for _ in range(MAX_ITER):
        if active.shape[0] == 0:
            return root
        aa, bb, fa_a, fb_a = a[active], b[active], fa[active], fb[active]
        r = (aa * fb_a - bb * fa_a) / (fb_a - fa_a)
        fr = distance(r, active)
        conv = np.abs(fr) < TERMINATION_CRITERION
        root[active[conv]] = r[conv]
        same_a = ~conv & (fa_a * fr > 0.0)
        same_b = ~conv & ~same_a & (fb_a * fr > 0.0)
        if np.any(~conv & ~same_a & ~same_b):
            raise NumericalInstability(f"{model_name}: regula_falsi: Regula falsi method "
                                       "did not converge", model=model_name,
                                       first_step=step, last_step=step)
        la = last[active]
        ia, ib = active[same_a], active[same_b]
        a[ia], fa[ia] = r[same_a], fr[same_a]
        fb[ia] = np.where(la[same_a] == 1, fb_a[same_a] / 2, fb_a[same_a])
        last[ia] = 1
        b[ib], fb[ib] = r[same_b], fr[same_b]
        fa[ib] = np.where(la[same_b] == -1, fa_a[same_b] / 2, fa_a[same_b])
        last[ib] = -1
        active = active[~conv]
    raise NumericalInstability(f"{model_name}: regula_falsi: Regula falsi method did not "
                               "converge during set number of iterations", model=model_name,
                               first_step=step, last_step=step)


class Spikes:
    """The spikes of one step of a precise family: per neuron whether it spiked (at
    most once a step) and its offset."""

    def __init__(self, n):
        self.fired = np.zeros(n, dtype=bool)
        self.offset = np.zeros(n)

    def emit(self, which, offset):
        self.fired[which] = True
        self.offset[which] = offset

    def result(self):
        local = np.nonzero(self.fired)[0]
        return self.fired, local, self.offset[local]
