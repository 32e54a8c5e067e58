"""Spike sources: neuron families that emit spikes without integrating input.

A source emits a *count* of spikes per step (the multiplicity), so a Poisson
source at 20 kHz delivers 20 kHz even with 0.1 ms steps; every target of a
source receives the same count, weighted by it. A spike emitted in step s
carries the time stamp (s + 1) * dt, as in NEST.

Activity window of the random sources (Poisson, gamma, Poisson with dead
time), that of NEST's ``poisson_generator``: step s may emit spikes when
``start < s*dt <= start + duration``, so possible spike times t are
``start + dt < t <= start + duration + dt``. (pyNN.nest records the same
trains shifted by 1 ms + min_delay: it sets the generator's ``origin`` to 1 ms
and relays the spikes through parrot neurons over min_delay.)

The random sources draw from the family's random stream, for all neurons of
the family in one call per step, so neurons are independent of each other and
the same seed repeats the same trains.
"""

from __future__ import annotations

import numpy as np

from .base import NeuronModel, StepContext, Var, register

_EPS = 1e-9          # tolerance, in steps, of times that should lie on the grid
_WINDOW = {
    "start": Var(0.0, "ms", "start of activity"),
    "duration": Var(1e10, "ms", "duration of activity"),
}


def spike_step(times_ms, dt):
    """Step in which a spike at `times_ms` is emitted (its stamp is the step's end).

    Times on the grid map exactly; times between grid points go to the step
    that ends after them (NEST's ``allow_offgrid_times``).
    """
    return np.ceil(np.asarray(times_ms, dtype=float) / dt - _EPS).astype(np.int64) - 1


def _window_steps(xp, p, dt):
    """First and last step (int64 arrays) in which a random source is active."""
    start = p["start"].astype(np.float64) / dt
    stop = start + p["duration"].astype(np.float64) / dt
    first = xp.floor(start + _EPS).astype(np.int64) + 1
    last = xp.floor(stop + _EPS).astype(np.int64)
    return first, last


def _active(ctx: StepContext):
    d = ctx.derived
    return (d["first"] <= ctx.step) & (ctx.step <= d["last"])


def _check_window(p):
    if np.any(_host(p["duration"]) < 0):
        raise ValueError("duration must not be negative")


def _host(a):
    """A backend array as a NumPy array (host copy on the GPU)."""
    return a.get() if hasattr(a, "get") else np.asarray(a)


@register
class SpikeSourceArrayModel(NeuronModel):
    """Emits spikes at given times (one sequence of times per neuron).

    A time t is emitted in the step that ends at or after it, stamped with
    that step's end: on-grid times keep their value, off-grid times move to
    the next grid point. Several times in one step give one spike of that
    multiplicity. A time at or before 0 cannot be emitted (the first step ends at
    dt) and is refused, as NEST's spike_generator refuses 0 ("spike time cannot
    be set to 0"): ValueError, not a silent drop. Times at or before the current
    time when a later run starts are ignored (as NEST's generator skips past
    times); times may be changed between runs.
    """
    name = "spike_source_array"
    parameters = {"spike_times": Var(None, "ms", "spike times")}
    sequence_parameters = ("spike_times",)
    recordable = ("spikes",)
    spike_source = True
    kernel_kind = "schedule"  # a dedicated kernel replays the run's spike schedule

    def check_sequences(self, sequences):
        for times in sequences.get("spike_times", ()):
            times = np.asarray(times, dtype=float).ravel()
            if np.isnan(times).any():
                raise ValueError("spike times must be numbers, not NaN")
            if times.size and times.min() <= 0:
                raise ValueError(
                    f"spike time {times.min()} ms: a SpikeSourceArray's spike times must be "
                    "greater than 0 (the simulation starts at t = 0 and its first step ends "
                    "at dt; NEST refuses a spike at 0 too)")
            if np.any(np.diff(times) < 0):
                raise ValueError(f"spike times must be in increasing order: {times}")

    def schedule(self, times_per_neuron, dt):
        """Host arrays (step, local index, exact time) of all spikes, sorted by step."""
        n = len(times_per_neuron)
        lengths = np.fromiter((len(t) for t in times_per_neuron), dtype=np.int64, count=n)
        if lengths.sum() == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
        times = np.concatenate([np.asarray(t, dtype=float).ravel() for t in times_per_neuron])
        local = np.repeat(np.arange(n, dtype=np.int64), lengths)
        finite = np.isfinite(times)
        steps = spike_step(np.where(finite, times, -1.0), dt)
        keep = finite & (steps >= 0)
        steps, local, times = steps[keep], local[keep], times[keep]
        order = np.argsort(steps, kind="stable")
        return steps[order], local[order], times[order]

    def prepare_run(self, backend, group, first_step):
        full = group.extra.get("schedule")
        if full is None:  # the times changed (or were never scheduled)
            full = self.schedule(group.sequences["spike_times"], group.dt)
        steps, local, times = full
        skip = int(np.searchsorted(steps, first_step))  # times in the past are ignored
        return {"schedule": full, "steps": steps[skip:], "local_host": local[skip:],
                "times": times[skip:], "local": backend.asarray(local[skip:]),
                "size": group.size}

    def update(self, ctx: StepContext):
        xp, extra = ctx.xp, ctx.extra
        lo, hi = np.searchsorted(extra["steps"], [ctx.step, ctx.step + 1])
        if hi == lo:
            return xp.zeros(extra["size"], dtype=np.int32)
        return xp.bincount(extra["local"][lo:hi], minlength=extra["size"]).astype(np.int32)

    def update_block(self, ctx: StepContext, n_steps: int):
        """The counts of `n_steps` updates from step ctx.step, shape (n_steps, n)
        (the compiled CPU step emits them)."""
        xp, extra = ctx.xp, ctx.extra
        size = extra["size"]
        lo, hi = np.searchsorted(extra["steps"], [ctx.step, ctx.step + n_steps])
        flat = (xp.asarray(extra["steps"][lo:hi]) - ctx.step) * size + extra["local"][lo:hi]
        return xp.bincount(flat, minlength=n_steps * size).astype(np.int32).reshape(
            n_steps, size)


@register
class PoissonSourceModel(NeuronModel):
    """Poisson process of rate `rate` (NEST's ``poisson_generator``).

    Each active step emits a Poisson-distributed count with mean rate*dt, not
    capped at one. Active steps s: ``start < s*dt <= start + duration`` (with
    a tolerance of 1e-9 steps), so spike times t = (s+1)*dt lie in
    ``(start + dt, start + duration + dt]``, as NEST's generator stamps them;
    NEST needs start and stop on the grid, off-grid values are accepted here.
    """
    name = "poisson_source"
    parameters = {"rate": Var(1.0, "Hz", "mean firing rate"), **_WINDOW}
    recordable = ("spikes",)
    spike_source = True

    def check(self, p):
        if np.any(_host(p["rate"]) < 0):
            raise ValueError("rate must not be negative")
        _check_window(p)

    def prepare(self, xp, p, dt):
        first, last = _window_steps(xp, p, dt)
        return {"lam": p["rate"].astype(np.float64) * (dt / 1000.0), "first": first,
                "last": last}

    def update(self, ctx: StepContext):
        lam = ctx.xp.where(_active(ctx), ctx.derived["lam"], 0.0)
        return ctx.rng.poisson(lam).astype(np.int32)

    def update_block(self, ctx: StepContext, n_steps: int):
        """The counts of `n_steps` updates from step ctx.step, shape (n_steps, n): the
        same draws from the same stream, in the same order (the compiled CPU step emits
        them)."""
        xp, d = ctx.xp, ctx.derived
        steps = ctx.step + xp.arange(n_steps, dtype=np.int64)[:, None]
        active = (d["first"] <= steps) & (steps <= d["last"])
        return ctx.rng.poisson(xp.where(active, d["lam"], 0.0)).astype(np.int32)


@register
class GammaSourceModel(NeuronModel):
    """Gamma renewal process: inter-spike intervals ~ Gamma(shape alpha, rate beta).

    The mean rate is beta/alpha and the CV of the intervals 1/sqrt(alpha)
    (PyNN's ``SpikeSourceGamma``; NEST's ``gamma_sup_generator`` with one
    component process, rate beta/alpha, gamma_shape alpha). alpha must be a
    whole number: an interval is then the sum of alpha exponential stages of
    rate beta, and the stage transitions in a step are Poisson(beta*dt), so
    each step is simulated exactly, with several spikes per step if due.
    The process starts in its stationary state (a uniformly drawn stage) and
    only advances while the source is active.
    """
    name = "gamma_source"
    parameters = {
        "alpha": Var(2.0, "", "shape (order) of the interval distribution"),
        "beta": Var(1.0, "Hz", "rate parameter of the interval distribution"),
        **_WINDOW,
    }
    internal = {"stage": "int64", "primed": "bool"}
    recordable = ("spikes",)
    spike_source = True

    def check(self, p):
        alpha = np.asarray(_host(p["alpha"]), dtype=float)
        if np.any(alpha < 1) or np.any(alpha != np.round(alpha)):
            raise ValueError("alpha (gamma shape) must be a whole number >= 1")
        if np.any(_host(p["beta"]) < 0):
            raise ValueError("beta must not be negative")
        _check_window(p)

    def prepare(self, xp, p, dt):
        first, last = _window_steps(xp, p, dt)
        return {"lam": p["beta"].astype(np.float64) * (dt / 1000.0),
                "alpha": xp.rint(p["alpha"]).astype(np.int64), "first": first, "last": last}

    def prepare_run(self, backend, group, first_step):
        stage, primed = group.state["stage"], group.state["primed"]
        alpha = group.derived["alpha"]
        # a changed alpha keeps the process inside its stages
        stage[...] = backend.xp.minimum(stage, alpha - 1)
        return {"prime": not bool(primed.all())}

    def update(self, ctx: StepContext):
        xp, d, state = ctx.xp, ctx.derived, ctx.state
        alpha, stage = d["alpha"], state["stage"]
        if ctx.extra.pop("prime", False):
            u = ctx.rng.uniform(stage.shape[0])
            start = xp.minimum(xp.floor(u * alpha).astype(np.int64), alpha - 1)
            stage[...] = xp.where(state["primed"], stage, start)
            state["primed"][...] = True
        lam = xp.where(_active(ctx), d["lam"], 0.0)
        total = stage + ctx.rng.poisson(lam).astype(np.int64)
        stage[...] = total % alpha
        return (total // alpha).astype(np.int32)


@register
class PoissonRefractorySourceModel(NeuronModel):
    """Poisson process with dead time (NEST's ``ppd_sup_generator``, one component).

    After each spike the source is silent for `tau_refrac`, then fires with
    constant hazard 1/(1/rate - tau_refrac), so the mean rate is `rate` and
    the intervals are tau_refrac + Exp. The process runs in continuous time
    inside each step (several spikes per step when tau_refrac < dt); each
    spike is stamped with the end of its step, so recorded intervals are at
    least tau_refrac when tau_refrac is a multiple of dt. It starts in its
    stationary state and only advances while the source is active. A step
    costs ceil(dt / tau_refrac) draws per neuron for the family's smallest
    positive tau_refrac (tau_refrac = 0 is a plain Poisson process).
    """
    name = "poisson_refractory_source"
    parameters = {
        "rate": Var(1.0, "Hz", "mean firing rate"),
        "tau_refrac": Var(0.0, "ms", "dead time after each spike"),
        **_WINDOW,
    }
    # dead time left at the start of the step, in steps; primed: state drawn
    internal = {"dead": "float64", "primed": "bool"}
    recordable = ("spikes",)
    spike_source = True

    def check(self, p):
        rate = np.asarray(_host(p["rate"]), dtype=float)
        tau = np.asarray(_host(p["tau_refrac"]), dtype=float)
        if np.any(rate < 0):
            raise ValueError("rate must not be negative")
        if np.any(tau < 0):
            raise ValueError("tau_refrac must not be negative")
        if np.any(rate * tau >= 1000.0):
            raise ValueError("1/rate must be longer than tau_refrac")
        _check_window(p)

    def prepare(self, xp, p, dt):
        first, last = _window_steps(xp, p, dt)
        rate = p["rate"].astype(np.float64)
        tau = p["tau_refrac"].astype(np.float64) / dt          # dead time in steps
        # mean waiting time after the dead time, in steps (inf when silent)
        wait = xp.where(rate > 0, (1000.0 / xp.where(rate > 0, rate, 1.0)) / dt - tau, np.inf)
        tau_h, rate_h = _host(tau), _host(rate)
        renewal = (tau_h > 0) & (rate_h > 0)
        # a step holds at most ceil(1/tau) spikes of a process with dead time tau
        rounds = int(np.ceil(1.0 / tau_h[renewal].min() - _EPS)) if renewal.any() else 0
        return {"tau": tau, "wait": wait, "lam": rate * (dt / 1000.0), "first": first,
                "last": last, "rounds": rounds, "any_poisson": bool((tau_h == 0).any()),
                "poisson": tau == 0, "p_dead": rate * tau * (dt / 1000.0)}

    def prepare_run(self, backend, group, first_step):
        dead = group.state["dead"]
        dead[...] = backend.xp.minimum(dead, group.derived["tau"])  # tau_refrac may have shrunk
        return {"prime": not bool(group.state["primed"].all())}

    def update(self, ctx: StepContext):
        xp, d, state, rng = ctx.xp, ctx.derived, ctx.state, ctx.rng
        n = state["dead"].shape[0]
        dead = state["dead"]
        if ctx.extra.pop("prime", False):
            # stationary state: dead (uniform remainder) with probability rate*tau
            u, v = rng.uniform(n), rng.uniform(n)
            start = xp.where(u < d["p_dead"], v * d["tau"], 0.0)
            dead[...] = xp.where(state["primed"], dead, start)
            state["primed"][...] = True
        active = _active(ctx)
        count = xp.zeros(n, dtype=np.int32)
        live_from = dead   # where in this step (in steps) the live phase begins
        pending = active   # a miss ends the neuron's step: its next spike is later
        for _ in range(d["rounds"]):
            t = live_from + rng.exponential(n) * d["wait"]
            pending = pending & (t <= 1.0)
            count += pending
            live_from = xp.where(pending, t + d["tau"], live_from)
        if d["any_poisson"]:
            plain = rng.poisson(xp.where(active & d["poisson"], d["lam"], 0.0)).astype(np.int32)
            count = xp.where(d["poisson"], plain, count)
        dead[...] = xp.where(active, xp.maximum(live_from - 1.0, 0.0), dead)
        return count


def _offsets_of(times, steps, dt):
    """Offsets (ms before the end of the step) of spikes at `times` emitted in `steps`,
    as NEST's spike_generator with precise_times computes them: differences below a few
    ulps are zero."""
    stamp = (steps + 1) * dt
    offset = stamp - times
    tiny = (np.abs(offset) < np.finfo(np.float64).eps * np.abs(stamp + times) * 2.0) \
        | (np.abs(offset) < np.finfo(np.float64).tiny)
    return np.clip(np.where(tiny, 0.0, offset), 0.0, None)


@register
class SpikeSourceArrayPsModel(SpikeSourceArrayModel):
    """SpikeSourceArray with precise spike timing (setup(spike_precision="off_grid"),
    pyNN.nest's spike_generator with precise_times relayed by parrot_neuron_ps): each
    time is emitted in the step that ends at or after it, with its offset inside that
    step, so precise targets receive it at its exact time (on-grid targets in that
    step, as before)."""
    name = "spike_source_array_ps"
    kernel_kind = None   # the CPU reference engine only, for now
    precise = True

    def prepare_run(self, backend, group, first_step):
        extra = super().prepare_run(backend, group, first_step)
        extra["offsets"] = _offsets_of(extra["times"], extra["steps"], group.dt)
        return extra

    def update(self, ctx: StepContext):
        extra = ctx.extra
        lo, hi = np.searchsorted(extra["steps"], [ctx.step, ctx.step + 1])
        local = extra["local_host"][lo:hi]
        counts = np.bincount(local, minlength=extra["size"]).astype(np.int32)
        return counts, local, extra["offsets"][lo:hi]


@register
class PoissonSourcePsModel(PoissonSourceModel):
    """Poisson process with precise spike times (NEST's ``poisson_generator_ps``,
    setup(spike_precision="off_grid")). Spikes fall anywhere in the continuous window
    ``start < t <= start + duration`` (NEST's active period, without pyNN.nest's 1 ms
    origin and parrot relay): a step draws a Poisson count with mean rate times the
    part of the step inside the window, and places the spikes uniformly in that part,
    which is the Poisson process restricted to the step."""
    name = "poisson_source_ps"
    kernel_kind = None   # the CPU reference engine only, for now
    precise = True

    def prepare(self, xp, p, dt):
        start = p["start"].astype(np.float64)
        return {"rate": p["rate"].astype(np.float64), "t_start": start,
                "t_stop": start + p["duration"].astype(np.float64)}

    def update(self, ctx: StepContext):
        d, h, rng = ctx.derived, ctx.dt, ctx.rng
        t0, t1 = ctx.step * h, (ctx.step + 1) * h
        lo = np.maximum(d["t_start"], t0)
        hi = np.minimum(d["t_stop"], t1)
        span = np.maximum(hi - lo, 0.0)
        counts = np.asarray(rng.poisson(d["rate"] * span / 1000.0)).astype(np.int32)
        local = np.repeat(np.arange(counts.shape[0]), counts)
        u = np.asarray(rng.uniform(local.shape[0]))
        # a time in (lo, hi]: offset = t1 - t in [t1 - hi, t1 - lo)
        offset = (t1 - hi[local]) + u * span[local]
        return counts, local, offset
