"""Stochastic synapses: each spike is transmitted with a probability.

``SimpleStochastic`` has NEST ``bernoulli_synapse`` semantics: each of the
spike's `multiplicity` copies is transmitted independently with probability p,
and the synapse delivers weight times the number transmitted.

``StochasticTsodyksMarkram`` has the semantics of PyNN's NEST extension
``stochastic_stp_synapse`` (one release site, Fuhrmann et al. 2002): at a spike at
time t the utilisation becomes u <- u * exp(-(t - t_last) / tau_facil) + U * (1 - u)
(u = U when tau_facil is 0); an unrecovered site recovers with probability
1 - exp(-(t - t_surv) / tau_rec), else its survival time t_surv becomes t; a recovered
site releases with probability u, delivering weight (times multiplicity), and becomes
unrecovered with t_surv = t.

Draws come from the group's own random stream.
"""

from __future__ import annotations

import numpy as np

from ..models.base import Var
from .base import SynapseModel, require


class SimpleStochastic(SynapseModel):
    name = "simple_stochastic"
    parameters = {"p": Var(0.5, "", "probability of transmission")}
    stochastic = True

    def check(self, p):
        require((p["p"] >= 0) & (p["p"] <= 1), "p must be in [0, 1]")

    def transmit(self, ctx):
        xp = ctx.xp
        p = ctx.param("p")
        n = ctx.idx.shape[0]
        transmitted = xp.zeros(n, dtype=np.int64)
        for copy in range(int(ctx.mult.max())):  # as NEST: one draw per copy of the spike
            drawn = ctx.rng.uniform(n) < p
            transmitted += (drawn & (ctx.mult > copy)).astype(np.int64)
        return ctx.group.weight[ctx.idx] * transmitted


class StochasticTsodyksMarkram(SynapseModel):
    name = "stochastic_tsodyks_markram"
    parameters = {
        "U": Var(0.5, "", "utilisation increment per spike"),
        "tau_rec": Var(100.0, "ms", "recovery time constant"),
        "tau_facil": Var(0.0, "ms", "facilitation time constant (0: none)"),
    }
    state = {"u": Var(0.0, "", "release probability")}
    internal = {
        "R": Var(1.0, "", "1 if the release site is recovered, else 0"),
        "t_surv": Var(0.0, "ms", "time since which the site has stayed unrecovered"),
        "t_last": Var(0.0, "ms", "time of the last presynaptic spike"),
    }
    stochastic = True

    def check(self, p):
        require((p["U"] >= 0) & (p["U"] <= 1), "U must be in [0, 1]")
        require(p["tau_rec"] > 0, "tau_rec must be positive")
        require(p["tau_facil"] >= 0, "tau_facil must not be negative")

    def transmit(self, ctx):
        xp = ctx.xp
        n = ctx.idx.shape[0]
        t = ctx.t_spike
        tau_facil, big_u = ctx.param("tau_facil"), ctx.param("U")
        facilitating = tau_facil > 1e-10
        decay = xp.exp(-(t - ctx.state("t_last")) / xp.where(facilitating, tau_facil, 1.0))
        u_old = ctx.state("u")
        u = xp.where(facilitating, u_old * decay + big_u * (1.0 - u_old * decay),
                     xp.broadcast_to(big_u, (n,)))
        recovered = ctx.state("R") > 0
        t_surv = ctx.state("t_surv")
        survives = xp.exp(-(t - t_surv) / ctx.param("tau_rec"))
        recovers = ~recovered & (ctx.rng.uniform(n) > survives)
        t_surv = xp.where(~recovered & ~recovers, t, t_surv)
        ready = recovered | recovers
        released = ready & (ctx.rng.uniform(n) < u)
        ctx.store("u", u)
        ctx.store("R", xp.where(released, 0.0, xp.where(ready, 1.0, 0.0)))
        ctx.store("t_surv", xp.where(released, t, t_surv))
        ctx.store("t_last", xp.full(n, t))
        return ctx.group.weight[ctx.idx] * released * ctx.mult
