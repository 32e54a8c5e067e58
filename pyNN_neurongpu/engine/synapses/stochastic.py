"""Stochastic synapses: each spike is transmitted with a probability.

``SimpleStochastic`` has NEST ``bernoulli_synapse`` semantics: each of the
spike's `multiplicity` copies is transmitted independently with probability p,
and the synapse delivers weight times the number transmitted. Draws come from
the group's own random stream.
"""

from __future__ import annotations

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
        p = xp.broadcast_to(ctx.param("p"), ctx.idx.shape)
        transmitted = ctx.rng.binomial(ctx.mult, p)
        return ctx.group.weight[ctx.idx] * transmitted
