"""Multi-quantal release with short-term plasticity: NEST ``quantal_stp_synapse``
semantics (Fuhrmann et al. 2002, Loebel et al. 2009).

A synapse has `n` release sites, `a` of them available, and a release probability u. At
a presynaptic spike at time t, with h = t - t_last (nothing is updated at the first spike
through the synapse):

    u <- U + u * (1 - U) * exp(-h / tau_facil)    (the exponential is 0 when tau_facil = 0)
    each of the n - a depleted sites recovers with probability 1 - exp(-h / tau_rec)

then each of the a available sites releases with probability u; the synapse delivers
weight times the number released (times the spike's multiplicity, which NEST's receiver
applies) and those sites are depleted. As in NEST, a synapse starts with u = 0.5 and
a = 1 whatever U and n are (NEST's defaults, which a connection's U and n do not change);
``Projection.initialize(u=..., a=...)`` sets them, as on pyNN.nest.
"""

from __future__ import annotations

import numpy as np

from ..models.base import Var
from .base import SynapseModel, require

NEST_INITIAL_U = 0.5   # quantal_stp_synapse's u before any spike
NEST_INITIAL_A = 1.0   # and its available sites


def bernoulli_count(xp, rng, trials, p):
    """Per synapse, how many of its `trials` independent draws fall below `p` (a binomial
    count, drawn site by site as NEST does)."""
    count = xp.zeros(trials.shape[0], dtype=np.int64)
    for k in range(int(trials.max()) if trials.shape[0] else 0):
        count += ((rng.uniform(trials.shape[0]) < p) & (trials > k)).astype(np.int64)
    return count


class MultiQuantal(SynapseModel):
    name = "multi_quantal"
    parameters = {
        "U": Var(0.5, "", "release probability increment per spike"),
        "n": Var(1.0, "", "number of release sites"),
        "tau_rec": Var(800.0, "ms", "recovery time constant of a depleted site"),
        "tau_facil": Var(0.0, "ms", "facilitation time constant (0: none)"),
    }
    # NEST's state of a connection, which a script may set (Projection.initialize)
    state = {
        "u": Var(NEST_INITIAL_U, "", "release probability of a site"),
        "a": Var(NEST_INITIAL_A, "", "available release sites"),
    }
    internal = {"t_last": Var(-1.0, "ms", "time of the last presynaptic spike (-1: none yet)")}
    stochastic = True

    def check(self, p):
        require((p["U"] >= 0) & (p["U"] <= 1), "U must be in [0, 1]")
        require((p["n"] >= 0) & (np.asarray(p["n"]) == np.round(p["n"])),
                "n must be a whole number of release sites (>= 0)")
        require(p["tau_rec"] > 0, "tau_rec must be positive")
        require(p["tau_facil"] >= 0, "tau_facil must not be negative")

    def check_state(self, s):
        if "u" in s:
            require((np.asarray(s["u"]) >= 0) & (np.asarray(s["u"]) <= 1), "u must be in [0, 1]")
        if "a" in s:
            a = np.asarray(s["a"])
            require((a >= 0) & (a == np.round(a)), "a must be a whole number of sites (>= 0)")

    def transmit(self, ctx):
        xp = ctx.xp
        t = ctx.t_spike
        t_last = ctx.state("t_last")
        seen = t_last >= 0.0
        h = t - t_last
        tau_facil, big_u = ctx.param("tau_facil"), ctx.param("U")
        facilitating = tau_facil >= 1e-10
        u_decay = xp.where(facilitating, xp.exp(-h / xp.where(facilitating, tau_facil, 1.0)),
                           0.0)
        u = ctx.state("u")
        u = xp.where(seen, big_u + u * (1.0 - big_u) * u_decay, u)
        a = ctx.state("a").astype(np.int64)
        depleted = xp.where(seen, xp.maximum(ctx.param("n") - a, 0), 0).astype(np.int64)
        a = a + bernoulli_count(xp, ctx.rng, depleted, 1.0 - xp.exp(-h / ctx.param("tau_rec")))
        released = bernoulli_count(xp, ctx.rng, a, u)
        ctx.store("u", u)
        ctx.store("a", (a - released).astype(ctx.group.state["a"].dtype))
        ctx.store("t_last", xp.full(ctx.idx.shape[0], t))
        return ctx.group.weight[ctx.idx] * released * ctx.mult
