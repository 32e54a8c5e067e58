"""Spike-timing-dependent plasticity with NEST ``stdp_synapse`` semantics.

All-to-all pair interaction through a presynaptic trace K+ per synapse (time
constant tau_plus) and a post-synaptic trace K- per neuron (tau_minus). The
whole delay d counts as dendritic: the synapse sees a presynaptic spike when it
is emitted (time t) and a post-synaptic spike d after it. The weight changes
only when a presynaptic spike arrives, as in NEST (so weights read back are
those after the last presynaptic spike):

1. facilitation, in order, for every post-synaptic spike t_post with
   t_last < t_post + d <= t:  w <- potentiate(w, K+ * exp((t_last - t_post - d) / tau_plus));
2. depression with K- just before t - d:  w <- depress(w, K-(t - d));
3. the spike delivers w; K+ <- K+ * exp((t_last - t) / tau_plus) + 1; t_last <- t.

Weight dependence, in NEST's form with w_max as the scale:
    potentiate(w, k) = w + A_plus  * w_max * (1 - w / w_max)**mu_plus  * k,  at most w_max
    depress(w, k)    = w - A_minus * w_max * (w / w_max)**mu_minus * k,     at least w_min
Additive: mu_plus = mu_minus = 0; multiplicative: 1, 1; additive potentiation with
multiplicative depression: 0, 1; Gutig: free. (NEST's w_min is always 0; here any
w_min is a floor.) A_plus = 0 leaves depression by A_minus intact (NEST's
lambda/alpha parameterisation through pyNN.nest removes it: PyNN issue 652).

``VogelsSprekeler`` (PyNN's Vogels2011Rule, NEST ``vogels_sprekeler_synapse``)
uses one time constant tau for both traces; every post-synaptic spike
potentiates by eta * K+, every presynaptic spike by eta * K-(t - d) and then
depresses by alpha * eta with alpha = 2 * rho * tau / 1000; bounded by
[w_min, w_max].
"""

from __future__ import annotations

import numpy as np

from ..models.base import Var
from .base import SpikeContext, SynapseModel, require
from .post_history import EPS


def _pair_updates(ctx: SpikeContext, tau_plus, tau_minus, potentiate, depress_at_spike):
    """The lazy pair-based update shared by the STDP models; returns the new weights."""
    xp = ctx.xp
    group = ctx.group
    history = group.post_history
    d = group.delay[ctx.idx].astype(np.float64) * ctx.dt
    t_last = ctx.state("t_last")
    kplus = ctx.state("Kplus")
    w = group.weight[ctx.idx].astype(np.float64)
    t1 = t_last - d
    t2 = ctx.t_spike - d
    slots = group.post_slot[ctx.idx]
    times, kminus = history.window(slots)
    history.note_lost(slots, times, t1, t2, kplus)
    facilitating = (times >= (t1 + EPS)[:, None]) & (times < (t2 + EPS)[:, None])
    columns = np.nonzero(ctx.backend.to_host(xp.any(facilitating, axis=0)))[0]
    for k in columns.tolist():  # history entries in time order (a few at most)
        seen = xp.where(facilitating[:, k], times[:, k] + d, t_last)  # (no inf where unused)
        w = xp.where(facilitating[:, k],
                     potentiate(w, kplus * xp.exp((t_last - seen) / tau_plus)), w)
    before = times < (t2 - EPS)[:, None]
    has_before = xp.any(before, axis=1)
    last = history.capacity - 1 - xp.argmax(before[:, ::-1], axis=1)
    rows = xp.arange(last.shape[0])
    k_minus = xp.where(has_before, kminus[rows, last]
                       * xp.exp((times[rows, last] - t2) / tau_minus), 0.0)
    w = depress_at_spike(w, k_minus)
    ctx.store("Kplus", kplus * xp.exp((t_last - ctx.t_spike) / tau_plus) + 1.0)
    ctx.store("t_last", xp.broadcast_to(xp.asarray(ctx.t_spike, dtype=t_last.dtype),
                                        t_last.shape))
    group.weight[ctx.idx] = w
    history.lower_need(slots, t2)  # the next update of these synapses reads from t2 on
    return w


def _non_negative(weight):
    if weight.shape[0] and float(weight.min()) < 0:
        raise ValueError("STDP weights must not be negative (as in NEST, where weight and "
                         "w_max must have the same sign)")


_TRACES = {
    "Kplus": Var(0.0, "", "presynaptic trace"),
    "t_last": Var(0.0, "ms", "time of the last presynaptic spike"),
}


class STDP(SynapseModel):
    """Pair-based STDP (PyNN's SpikePairRule with any of its weight dependences)."""

    name = "stdp"
    parameters = {
        "tau_plus": Var(20.0, "ms", "time constant of the presynaptic trace"),
        "tau_minus": Var(20.0, "ms", "time constant of the post-synaptic trace"),
        "A_plus": Var(0.01, "", "amplitude of potentiation"),
        "A_minus": Var(0.01, "", "amplitude of depression"),
        "w_min": Var(0.0, "", "lower weight bound (unit of the weight)"),
        "w_max": Var(1.0, "", "upper weight bound (unit of the weight)"),
        "mu_plus": Var(0.0, "", "exponent of the weight dependence of potentiation"),
        "mu_minus": Var(0.0, "", "exponent of the weight dependence of depression"),
    }
    internal = _TRACES
    homogeneous = ("tau_minus",)
    learns_weight = True
    needs_post_history = True
    trace_time_constant = "tau_minus"

    def check_weights(self, weight):
        _non_negative(weight)

    def check(self, p):
        require(p["tau_plus"] > 0, "tau_plus must be positive")
        require(p["tau_minus"] > 0, "tau_minus must be positive")
        require(p["w_max"] > 0, "w_max must be positive")
        require(p["w_min"] <= p["w_max"], "w_min must not exceed w_max")

    def transmit(self, ctx):
        w_max, w_min = ctx.param("w_max"), ctx.param("w_min")
        a_plus, a_minus = ctx.param("A_plus"), ctx.param("A_minus")
        mu_plus, mu_minus = ctx.param("mu_plus"), ctx.param("mu_minus")
        xp = ctx.xp

        def potentiate(w, k):
            norm = w / w_max + a_plus * (1.0 - w / w_max) ** mu_plus * k
            return xp.where(norm < 1.0, norm * w_max, w_max)

        def depress(w, k):
            new = (w / w_max - a_minus * (w / w_max) ** mu_minus * k) * w_max
            return xp.where(new > w_min, new, w_min)

        w = _pair_updates(ctx, ctx.param("tau_plus"), ctx.param("tau_minus"),
                          potentiate, depress)
        return w * ctx.mult


class VogelsSprekeler(SynapseModel):
    """Vogels et al. (2011) inhibitory STDP (PyNN's Vogels2011Rule)."""

    name = "vogels_sprekeler"
    parameters = {
        "tau": Var(20.0, "ms", "time constant of both traces"),
        "eta": Var(1e-10, "", "learning rate"),
        "rho": Var(3.0, "Hz", "target post-synaptic rate"),
        "w_min": Var(0.0, "", "lower weight bound"),
        "w_max": Var(1.0, "", "upper weight bound"),
    }
    internal = _TRACES
    homogeneous = ("tau",)
    learns_weight = True
    needs_post_history = True
    trace_time_constant = "tau"

    def check_weights(self, weight):
        _non_negative(weight)

    def check(self, p):
        require(p["tau"] > 0, "tau must be positive")
        require(p["w_min"] <= p["w_max"], "w_min must not exceed w_max")

    def transmit(self, ctx):
        xp = ctx.xp
        tau, eta = ctx.param("tau"), ctx.param("eta")
        w_min, w_max = ctx.param("w_min"), ctx.param("w_max")
        alpha = 2.0 * ctx.param("rho") * tau / 1000.0

        def potentiate(w, k):
            return xp.minimum(w + eta * k, w_max)

        def at_spike(w, k_minus):
            return xp.maximum(potentiate(w, k_minus) - alpha * eta, w_min)

        w = _pair_updates(ctx, tau, tau, potentiate, at_spike)
        return w * ctx.mult
