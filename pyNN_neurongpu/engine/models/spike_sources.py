"""Spike sources: neuron families that emit spikes without integrating input.

A source emits a *count* of spikes per step (the multiplicity), so a Poisson
source at 20 kHz delivers 20 kHz even with 0.1 ms steps. A spike emitted in
step s carries the time stamp (s + 1) * dt, as in NEST.
"""

from __future__ import annotations

import numpy as np

from .base import NeuronModel, StepContext, Var

_EPS = 1e-9


def spike_step(times_ms, dt):
    """Step in which a spike at `times_ms` is emitted (its stamp is the step's end).

    Times on the grid map exactly; times between grid points go to the step
    that ends after them (NEST's ``allow_offgrid_times``).
    """
    return np.ceil(np.asarray(times_ms, dtype=float) / dt - _EPS).astype(np.int64) - 1


class SpikeSourceArrayModel(NeuronModel):
    """Emits spikes at given times (one sequence of times per neuron)."""
    name = "spike_source_array"
    parameters = {"spike_times": Var(None, "ms", "spike times")}
    sequence_parameters = ("spike_times",)
    recordable = ("spikes",)
    spike_source = True
    kernel = "spike_source_array_update"
    kernel_kind = "schedule"  # a dedicated kernel replays the run's spike schedule

    def schedule(self, times_per_neuron, dt, first_step):
        """Host arrays (steps, local index) of future spikes, sorted by step."""
        n = len(times_per_neuron)
        lengths = np.fromiter((len(t) for t in times_per_neuron), dtype=np.int64, count=n)
        if lengths.sum() == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        times = np.concatenate([np.asarray(t, dtype=float).ravel() for t in times_per_neuron])
        local = np.repeat(np.arange(n, dtype=np.int64), lengths)
        steps = spike_step(times, dt)
        keep = steps >= first_step
        steps, local = steps[keep], local[keep]
        order = np.argsort(steps, kind="stable")
        return steps[order], local[order]

    def prepare_run(self, backend, group, first_step):
        steps, local = self.schedule(group.sequences["spike_times"], group.dt, first_step)
        return {"steps": steps, "local": backend.asarray(local), "size": group.size}

    def update(self, ctx: StepContext):
        xp, extra = ctx.xp, ctx.extra
        lo, hi = np.searchsorted(extra["steps"], [ctx.step, ctx.step + 1])
        if hi == lo:
            return xp.zeros(extra["size"], dtype=np.int32)
        return xp.bincount(extra["local"][lo:hi], minlength=extra["size"]).astype(np.int32)


class PoissonSourceModel(NeuronModel):
    """Poisson process: each step emits a Poisson-distributed number of spikes."""
    name = "poisson_source"
    parameters = {
        "rate": Var(1.0, "Hz", "mean firing rate"),
        "start": Var(0.0, "ms", "start of activity"),
        "duration": Var(1e10, "ms", "duration of activity"),
    }
    recordable = ("spikes",)
    spike_source = True
    kernel = "poisson_source_update"

    def check(self, p):
        if np.any(np.asarray(p["rate"]) < 0):
            raise ValueError("rate must not be negative")
        if np.any(np.asarray(p["duration"]) < 0):
            raise ValueError("duration must not be negative")

    def prepare(self, xp, p, dt):
        return {"lam": p["rate"] * (dt / 1000.0)}

    def update(self, ctx: StepContext):
        xp, p = ctx.xp, ctx.params
        t = ctx.step * ctx.dt
        active = (t + _EPS >= p["start"]) & (t + _EPS < p["start"] + p["duration"])
        lam = xp.where(active, ctx.derived["lam"], 0.0)
        return ctx.rng.poisson(lam).astype(np.int32)
