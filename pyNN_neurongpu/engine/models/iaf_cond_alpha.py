"""Leaky integrate-and-fire neuron with alpha-shaped synaptic conductances.

Semantics of NEST's ``iaf_cond_alpha``: as ``iaf_cond_exp`` (adaptive RKF45
integration over each step, V capped at threshold in the right-hand side, V
fixed while refractory), with each conductance an alpha function driven through
its derivative state. After integration the refractory countdown or threshold
check comes first, then this step's input is added to the derivative states,
scaled by e/tau_syn so that a weight w (uS) gives a conductance peaking at w.
"""

from __future__ import annotations

import math

from .base import StepContext, Var, register
from .iaf_cond_exp import _ATOL_G, _ATOL_V, IafCondExp
from .integrators import RKF45


@register
class IafCondAlpha(IafCondExp):
    name = "iaf_cond_alpha"
    parameters = dict(IafCondExp.parameters,
                      tau_syn_E=Var(0.3, "ms", "rise time of the excitatory alpha conductance"),
                      tau_syn_I=Var(0.5, "ms", "rise time of the inhibitory alpha conductance"))
    # dgsyn_*: derivative states of the alpha conductances (uS/ms)
    internal = dict(IafCondExp.internal, dgsyn_exc="float", dgsyn_inh="float")

    components = ("v", "dgsyn_exc", "gsyn_exc", "dgsyn_inh", "gsyn_inh")
    integrator = RKF45((_ATOL_V, _ATOL_G, _ATOL_G, _ATOL_G, _ATOL_G))

    def prepare(self, xp, p, dt):
        derived = super().prepare(xp, p, dt)
        derived["psc0_exc"] = math.e / p["tau_syn_E"]
        derived["psc0_inh"] = math.e / p["tau_syn_I"]
        return derived

    def rhs(self, xp, y, a):
        v = self.membrane_voltage(xp, y, a)
        i_exc = y[2] * (v - a["e_rev_E"])
        i_inh = y[4] * (v - a["e_rev_I"])
        i_leak = a["g_leak"] * (v - a["v_rest"])
        dv = (-i_leak - i_exc - i_inh + a["i_stim"] + a["i_offset"]) / a["cm"]
        f = xp.empty_like(y)
        f[0] = xp.where(a["refractory"], 0.0, dv)
        f[1] = -y[1] / a["tau_syn_E"]
        f[2] = y[1] - y[2] / a["tau_syn_E"]
        f[3] = -y[3] / a["tau_syn_I"]
        f[4] = y[3] - y[4] / a["tau_syn_I"]
        return f

    def update(self, ctx: StepContext):
        s, d = ctx.state, ctx.derived
        self.integrate(ctx)
        spiked = self.spike_and_reset(ctx)
        s["dgsyn_exc"] = s["dgsyn_exc"] + ctx.inputs[0] * d["psc0_exc"]
        s["dgsyn_inh"] = s["dgsyn_inh"] + ctx.inputs[1] * d["psc0_inh"]
        s["i_stim"] = ctx.i_stim
        return spiked
