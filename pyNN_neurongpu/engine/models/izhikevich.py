"""Izhikevich's quadratic integrate-and-fire neuron with a recovery variable.

Semantics of NEST's ``izhikevich`` (and PyNN's unit convention for it): in each
step, by default (``consistent_integration``) one forward Euler step of

    dv/dt = 0.04 v^2 + 5 v + 140 - u + I,    du/dt = a (b v - u)

from the values at the start of the step, plus the summed weights (mV) of the
spikes arriving in this step added to v; with ``consistent_integration`` = 0,
Izhikevich's published scheme as NEST has it (two half steps for v, in which the
arriving weights count as a current, so they move v by weight x dt; then u from
the new v). Then v is bounded below by ``v_min``, and at v >= ``v_thresh`` the
neuron spikes: v = c, u += d. It is never refractory. Injected current arriving
in a step acts from the next step on.

I is in NEST's pA taken as mV/ms, as pyNN.nest passes it: ``i_offset`` and
injected currents (nA) count 1000-fold. Weights are voltage jumps in mV on both
ports (inhibitory ones negative).
"""

from __future__ import annotations

import math

from .base import NeuronModel, StepContext, Var, register

# pyNN.nest hands i_offset and injected currents (nA) to NEST in pA, where they enter
# dv/dt (mV/ms) as numbers
_PA_PER_NA = 1000.0


@register
class Izhikevich(NeuronModel):
    name = "izhikevich"
    parameters = {
        "a": Var(0.02, "/ms", "time scale of the recovery variable"),
        "b": Var(0.2, "/ms", "sensitivity of the recovery variable to v"),
        "c": Var(-65.0, "mV", "reset value of v after a spike"),
        "d": Var(2.0, "mV/ms", "increment of u at a spike"),
        "i_offset": Var(0.0, "nA", "constant injected current"),
        "v_thresh": Var(30.0, "mV", "spike cut-off (NEST's V_th)"),
        "v_min": Var(-math.inf, "mV", "lower bound of v (NEST's V_min)"),
        "consistent_integration": Var(1.0, "", "1: forward Euler (NEST's default), "
                                               "0: Izhikevich's published scheme"),
    }
    state = {
        "v": Var(-70.0, "mV", "membrane potential"),
        "u": Var(-14.0, "mV/ms", "recovery variable"),
    }
    internal = {"i_stim": "float"}
    receptors = {"excitatory": "mV", "inhibitory": "mV"}
    recordable = ("spikes", "v", "u")

    def prepare(self, xp, p, dt):
        return {"I_e": p["i_offset"] * _PA_PER_NA,
                "euler": p["consistent_integration"] != 0}

    def update(self, ctx: StepContext):
        xp, p, d, s = ctx.xp, ctx.params, ctx.derived, ctx.state
        h = ctx.dt
        v, u = s["v"], s["u"]
        current = s["i_stim"] * _PA_PER_NA
        jump = ctx.inputs[0] + ctx.inputs[1]
        # forward Euler from the values at the start of the step (NEST's order of operations)
        v_euler = v + (h * (0.04 * v * v + 5.0 * v + 140.0 - u + current + d["I_e"]) + jump)
        u_euler = u + h * p["a"] * (p["b"] * v - u)
        # the published scheme: two half steps of v with the input inside, u from the new v
        v_pub = v
        for _ in range(2):
            v_pub = v_pub + h * 0.5 * (0.04 * v_pub * v_pub + 5.0 * v_pub + 140.0 - u
                                       + current + d["I_e"] + jump)
        u_pub = u + h * p["a"] * (p["b"] * v_pub - u)
        v = xp.where(d["euler"], v_euler, v_pub)
        u = xp.where(d["euler"], u_euler, u_pub)
        v = xp.where(v < p["v_min"], p["v_min"], v)
        spiked = v >= p["v_thresh"]
        s["v"] = xp.where(spiked, p["c"], v)
        s["u"] = xp.where(spiked, u + p["d"], u)
        s["i_stim"] = ctx.i_stim
        return spiked
