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

import math

import numpy as np

from .base import NeuronModel, StepContext, Var, register

_EPS = 1e-9          # tolerance, in steps, of times that should lie on the grid
_BELOW_ONE = 1.0 - np.finfo(np.float64).eps   # keeps an offset below dt
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

    def draws(self, ctx: StepContext, n_steps: int):
        """The numbers `n_steps` updates from step ctx.step draw, in the order they draw
        them (the compiled CPU step hands them to the GPU's fragment): the uniforms that
        prime the stages (a run's first update; shape (1, n), else None), no real numbers
        per step (None) and the stage transitions, (n_steps, n), 0 where inactive."""
        xp, d = ctx.xp, ctx.derived
        n = ctx.state["stage"].shape[0]
        prime = ctx.rng.uniform(n)[None] if ctx.extra.pop("prime", False) else None
        steps = ctx.step + xp.arange(n_steps, dtype=np.int64)[:, None]
        active = (d["first"] <= steps) & (steps <= d["last"])
        return prime, None, ctx.rng.poisson(xp.where(active, d["lam"], 0.0)).astype(np.int32)

    def draw_width(self, group) -> int:
        """Numbers an update draws per neuron."""
        return 1

    def update(self, ctx: StepContext):
        xp, d, state = ctx.xp, ctx.derived, ctx.state
        alpha, stage = d["alpha"], state["stage"]
        prime, _, transitions = self.draws(ctx, 1)
        if prime is not None:
            start = xp.minimum(xp.floor(prime[0] * alpha).astype(np.int64), alpha - 1)
            stage[...] = xp.where(state["primed"], stage, start)
            state["primed"][...] = True
        total = stage + transitions[0].astype(np.int64)
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

    def draws(self, ctx: StepContext, n_steps: int):
        """The numbers `n_steps` updates from step ctx.step draw, in the order they draw
        them (the compiled CPU step hands them to the GPU's fragment): the uniforms that
        prime the dead times (a run's first update; shape (2, n), else None), an
        exponential per step, round and neuron, (n_steps, rounds, n), and the Poisson
        counts of the sources without dead time, (n_steps, n), 0 for the others and where
        inactive (None if there are none)."""
        xp, d, rng = ctx.xp, ctx.derived, ctx.rng
        n = ctx.state["dead"].shape[0]
        prime = None
        if ctx.extra.pop("prime", False):
            # stationary state: dead (uniform remainder) with probability rate*tau
            prime = xp.stack([rng.uniform(n), rng.uniform(n)])
        rounds = d["rounds"]
        if not d["any_poisson"]:
            return prime, rng.exponential(n_steps * rounds * n).reshape(n_steps, rounds, n), None
        steps = ctx.step + xp.arange(n_steps, dtype=np.int64)[:, None]
        active = (d["first"] <= steps) & (steps <= d["last"])
        lam = xp.where(active & d["poisson"], d["lam"], 0.0)
        if rounds == 0:
            return prime, xp.zeros((n_steps, 0, n)), rng.poisson(lam).astype(np.int32)
        exps = xp.empty((n_steps, rounds, n))
        counts = xp.empty((n_steps, n), dtype=np.int32)
        for k in range(n_steps):   # a step's exponentials come before its Poisson counts
            exps[k] = rng.exponential(rounds * n).reshape(rounds, n)
            counts[k] = rng.poisson(lam[k])
        return prime, exps, counts

    def draw_width(self, group) -> int:
        """Numbers an update draws per neuron (at most)."""
        return group.derived["rounds"] + 1

    def update(self, ctx: StepContext):
        xp, d, state = ctx.xp, ctx.derived, ctx.state
        n = state["dead"].shape[0]
        dead = state["dead"]
        prime, exps, plain = self.draws(ctx, 1)
        if prime is not None:
            start = xp.where(prime[0] < d["p_dead"], prime[1] * d["tau"], 0.0)
            dead[...] = xp.where(state["primed"], dead, start)
            state["primed"][...] = True
        active = _active(ctx)
        count = xp.zeros(n, dtype=np.int32)
        live_from = dead   # where in this step (in steps) the live phase begins
        pending = active   # a miss ends the neuron's step: its next spike is later
        for r in range(d["rounds"]):
            t = live_from + exps[0, r] * d["wait"]
            pending = pending & (t <= 1.0)
            count += pending
            live_from = xp.where(pending, t + d["tau"], live_from)
        if plain is not None:
            count = xp.where(d["poisson"], plain[0], count)
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
    kernel_kind = None   # array code (the reference step; on a GPU, on the device)
    precise = True

    def prepare_run(self, backend, group, first_step):
        extra = super().prepare_run(backend, group, first_step)
        extra["offsets"] = backend.asarray(_offsets_of(extra["times"], extra["steps"],
                                                       group.dt))
        return extra

    def update(self, ctx: StepContext):
        xp, extra = ctx.xp, ctx.extra
        lo, hi = np.searchsorted(extra["steps"], [ctx.step, ctx.step + 1])
        local = extra["local"][lo:hi]
        if hi == lo:
            counts = xp.zeros(extra["size"], dtype=np.int32)
        else:
            counts = xp.bincount(local, minlength=extra["size"]).astype(np.int32)
        return counts, local, extra["offsets"][lo:hi]


@register
class PoissonSourcePsModel(PoissonSourceModel):
    """Poisson process with precise spike times (NEST's ``poisson_generator_ps``,
    setup(spike_precision="off_grid")). Spikes fall anywhere in the continuous window
    ``start < t <= start + duration`` (NEST's active period, without pyNN.nest's 1 ms
    origin and parrot relay): in each step the spikes are the arrivals of exponential
    intervals (mean 1/rate) from the start of the step's part inside the window, which is
    the Poisson process restricted to that part. The intervals come from counter-based
    numbers (engine/counter_rng.py), so a CPU and a GPU run of one seed emit the same
    times."""
    name = "poisson_source_ps"
    kernel_kind = None   # array code (the reference step; on a GPU, on the device)
    precise = True

    def prepare(self, xp, p, dt):
        start = p["start"].astype(np.float64)
        return {"rate": p["rate"].astype(np.float64), "t_start": start,
                "t_stop": start + p["duration"].astype(np.float64)}

    def update(self, ctx: StepContext):
        xp, d, h = ctx.xp, ctx.derived, ctx.dt
        t0, t1 = ctx.step * h, (ctx.step + 1) * h
        lo = xp.maximum(d["t_start"], t0)
        hi = xp.minimum(d["t_stop"], t1)
        span = xp.maximum(hi - lo, 0.0)
        rate = d["rate"] / 1000.0   # 1/ms
        counts = xp.zeros(span.shape[0], dtype=np.int32)
        live = xp.nonzero((span > 0) & (rate > 0))[0]
        elapsed = xp.zeros(live.shape[0])
        local, offset = [live[:0]], [elapsed[:0]]
        draw = 0
        # exponential intervals from the part's start, counter-based (CPU = GPU): the
        # arrivals inside (lo, hi] are the Poisson process there
        while live.shape[0]:
            u = ctx.counter.uniform(ctx.step, ctx.gids[live], draw)
            elapsed = elapsed - xp.log(u) / rate[live]
            inside = elapsed <= span[live]
            live, elapsed = live[inside], elapsed[inside]
            counts[live] += 1
            local.append(live)
            # a time in (lo, hi]: offset = t1 - t in [t1 - hi, t1 - lo)
            offset.append(xp.minimum(t1 - (lo[live] + elapsed), h * _BELOW_ONE))
            draw += 1
        return counts, xp.concatenate(local), xp.concatenate(offset)


_GAMMA_ITER = 500          # cap on the terms of the incomplete-gamma series/fraction
_GAMMA_EPS = 1e-15


def gamma_hazard(xp, x, a, lgamma_a):
    """Hazard (per unit of x) of the gamma distribution of shape `a` and scale 1 at `x`
    (> 0), f(x) / Q(a, x): the regularised upper incomplete gamma Q by its series where
    x < a + 1 and by its continued fraction (modified Lentz) elsewhere, where Gamma(a)
    cancels and the hazard is 1 / (x * fraction). Array code on either device."""
    x = xp.maximum(x, 1e-300)
    log_x = xp.log(x)
    out = xp.empty_like(x)
    series = x < a + 1.0
    s = xp.nonzero(series)[0]
    if s.shape[0]:
        xs, as_ = x[s], a[s]
        term = 1.0 / as_
        total = term.copy()
        ap = as_.copy()
        for _ in range(_GAMMA_ITER):
            ap = ap + 1.0
            term = term * xs / ap
            total = total + term
            if not bool(xp.any(xp.abs(term) > xp.abs(total) * _GAMMA_EPS)):
                break
        log_prefix = as_ * log_x[s] - xs - lgamma_a[s]
        lower = total * xp.exp(log_prefix)                      # P(a, x)
        density = xp.exp((as_ - 1.0) * log_x[s] - xs - lgamma_a[s])
        out[s] = density / xp.maximum(1.0 - lower, 1e-300)
    f = xp.nonzero(~series)[0]
    if f.shape[0]:
        xf, af = x[f], a[f]
        tiny = 1e-300
        bb = xf + 1.0 - af
        c = xp.full(xf.shape[0], 1.0 / tiny)
        d = 1.0 / bb
        h = d.copy()
        for i in range(1, _GAMMA_ITER):
            an = -i * (i - af)
            bb = bb + 2.0
            d = an * d + bb
            d = xp.where(xp.abs(d) < tiny, tiny, d)
            c = bb + an / c
            c = xp.where(xp.abs(c) < tiny, tiny, c)
            d = 1.0 / d
            delta = d * c
            h = h * delta
            if not bool(xp.any(xp.abs(delta - 1.0) > _GAMMA_EPS)):
                break
        out[f] = 1.0 / (xf * h)
    return out


@register
class InhGammaSourceModel(NeuronModel):
    """Inhomogeneous gamma renewal process (PyNN's ``SpikeSourceInhGamma``; NEST 2.x's
    ``inh_gamma_generator``, which NEST 3 no longer has).

    Per neuron, sequences `a` (shape), `b` (scale, s) and `tbins` (ms, strictly
    increasing): from tbins[i] on, the intervals follow the gamma distribution of shape
    a[i] and scale b[i] (rate 1/(a b), CV 1/sqrt(a)); before tbins[0] (and without
    bins) the source is silent. The method is NEST's (Devroye's thinning for a general
    hazard; Muller et al. 2007): candidates of a Poisson process of rate max(1/b) are
    kept with probability hazard(t - t_last) / max(1/b), the hazard being the gamma
    distribution's for the bin holding the candidate and t_last the source's last spike
    (0 at the start, as in NEST). Thinning needs the hazard bounded by 1/b, so a >= 1.
    The candidates of a step are exponential arrivals inside the step's part of the
    window ``start < t <= start + duration``, from counter-based numbers (CPU = GPU); the
    kept ones are emitted in the step (on the grid: several make a spike of that
    multiplicity). Array code: on a GPU the network runs the reference step on the
    device.
    """
    name = "inh_gamma_source"
    parameters = {
        "a": Var(None, "", "shape of the interval distribution, per time bin"),
        "b": Var(None, "s", "scale of the interval distribution, per time bin"),
        "tbins": Var(None, "ms", "start of each time bin"),
        **_WINDOW,
    }
    sequence_parameters = ("a", "b", "tbins")
    internal = {"t_last": "float64"}
    recordable = ("spikes",)
    spike_source = True
    kernel_kind = None   # array code (the reference step; on a GPU, on the device)

    def check(self, p):
        _check_window(p)

    def check_sequences(self, sequences):
        for name in self.sequence_parameters:
            for values in sequences.get(name, ()):
                values = np.asarray(values, dtype=float).ravel()
                if not np.isfinite(values).all():
                    raise ValueError(f"{name} must be finite numbers: {values}")
                if name == "a" and np.any(values < 1.0):
                    raise ValueError(f"a = {values}: the gamma shape must be at least 1 "
                                     "(thinning needs a hazard bounded by 1/b)")
                if name == "b" and np.any(values <= 0.0):
                    raise ValueError(f"b = {values}: the gamma scale must be positive")
                if name == "tbins" and np.any(np.diff(values) <= 0):
                    raise ValueError(f"tbins = {values}: time bins must be strictly "
                                     "increasing")
        if all(name in sequences for name in self.sequence_parameters):
            for a, b, t in zip(*(sequences[name] for name in self.sequence_parameters)):
                if not np.size(a) == np.size(b) == np.size(t):
                    raise ValueError(f"a, b and tbins need the same length (one value per "
                                     f"time bin), not {np.size(a)}, {np.size(b)} and "
                                     f"{np.size(t)}")

    def prepare(self, xp, p, dt):
        start = p["start"].astype(np.float64)
        return {"t_start": start, "t_stop": start + p["duration"].astype(np.float64)}

    def prepare_run(self, backend, group, first_step):
        """(n, bins) device arrays of the bins' starts (padded with +inf), shapes,
        scales (ms) and log Gamma(shape); the candidates' rate max(1/b) per ms."""
        seqs = group.sequences
        self.check_sequences(seqs)
        n = group.size
        lengths = np.array([np.size(t) for t in seqs["tbins"]], dtype=np.int64)
        width = max(int(lengths.max()) if n else 0, 1)   # no bins: a silent source
        row = np.repeat(np.arange(n), lengths)
        col = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)

        def padded(name, fill):
            out = np.full((n, width), fill)
            out[row, col] = np.concatenate([np.asarray(v, float).ravel() for v in seqs[name]])
            return out
        tbins, a, b = padded("tbins", np.inf), padded("a", 1.0), padded("b", 1.0) * 1000.0
        shapes = np.unique(a)
        lgamma = np.array([math.lgamma(v) for v in shapes])[np.searchsorted(shapes, a)]
        rmax = np.where(np.isfinite(tbins), 1.0 / b, 0.0).max(axis=1)
        return {name: backend.asarray(value, dtype=np.float64) for name, value in
                (("tbins", tbins), ("a", a), ("b", b), ("lgamma", lgamma), ("rmax", rmax))}

    def update(self, ctx: StepContext):
        xp, d, e, h = ctx.xp, ctx.derived, ctx.extra, ctx.dt
        t0, t1 = ctx.step * h, (ctx.step + 1) * h
        lo = xp.maximum(d["t_start"], t0)
        hi = xp.minimum(d["t_stop"], t1)
        span = xp.maximum(hi - lo, 0.0)
        rmax = e["rmax"]
        t_last = ctx.state["t_last"]
        counts = xp.zeros(span.shape[0], dtype=np.int32)
        live = xp.nonzero((span > 0) & (rmax > 0))[0]
        elapsed = xp.zeros(live.shape[0])
        draw = 0
        while live.shape[0]:
            u = ctx.counter.uniform(ctx.step, ctx.gids[live], draw)
            elapsed = elapsed - xp.log(u) / rmax[live]
            inside = elapsed <= span[live]
            live, elapsed = live[inside], elapsed[inside]
            if live.shape[0] == 0:
                break
            t = lo[live] + elapsed
            j = (e["tbins"][live] <= t[:, None]).sum(axis=1) - 1
            binned = j >= 0
            jc = xp.maximum(j, 0)
            a, b = e["a"][live, jc], e["b"][live, jc]
            hazard = gamma_hazard(xp, (t - t_last[live]) / b, a, e["lgamma"][live, jc]) / b
            keep = binned & (ctx.counter.uniform(ctx.step, ctx.gids[live], draw + 1)
                             * rmax[live] < hazard)
            kept = live[keep]
            counts[kept] += 1
            t_last[kept] = t[keep]
            draw += 2
        return counts
