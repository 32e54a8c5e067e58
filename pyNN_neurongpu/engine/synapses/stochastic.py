"""Stochastic synapses: each spike is transmitted with a probability.

``SimpleStochastic`` has NEST ``bernoulli_synapse`` semantics: each of the
spike's `multiplicity` copies is transmitted independently with probability p,
and the synapse delivers weight times the number transmitted. Draws come from
the group's own random stream.
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
