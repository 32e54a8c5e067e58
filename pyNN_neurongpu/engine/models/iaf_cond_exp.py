"""Leaky integrate-and-fire neuron with exponentially decaying synaptic conductances.

Semantics of NEST's ``iaf_cond_exp``: in each step the ODE system (V, g_exc,
g_inh) is integrated over the step with adaptive RKF45 sub-steps (absolute
tolerance 1e-3 in NEST's units: mV, nS); in the right-hand side V is capped at
v_thresh, and a refractory neuron has V fixed at v_reset and dV/dt = 0. Then
this step's input is added to the conductances; a refractory neuron counts down
and is clamped to v_reset, a free neuron at or above threshold spikes, is reset
and becomes refractory for round-up(tau_refrac/dt) steps. Injected current
arriving in a step acts from the next step on. Weights are conductances in uS on
both ports (positive on the inhibitory port too).
"""

from __future__ import annotations

from . import lif
from .base import (
    NeuronModel,
    StepContext,
    Var,
    register,
    require_below,
    require_non_negative,
    require_positive,
)
from .integrators import RKF45

# NEST's absolute tolerance (1e-3 in mV, nS, nS/ms) in the engine's units
_ATOL_V = 1e-3      # mV
_ATOL_G = 1e-6      # uS (= 1e-3 nS), also uS/ms for conductance derivatives


@register
class IafCondExp(NeuronModel):
    name = "iaf_cond_exp"
    parameters = {
        **lif.MEMBRANE,
        **lif.synaptic_time_constants(5.0, "decay time of the {} conductance"),
        "e_rev_E": Var(0.0, "mV", "excitatory reversal potential"),
        "e_rev_I": Var(-70.0, "mV", "inhibitory reversal potential"),
    }
    state = {**lif.V, **lif.SYNAPTIC_CONDUCTANCES}
    # h_int: each neuron's adaptive sub-step size (ms; 0 = start with dt)
    internal = {"refrac": "int32", "i_stim": "float", "h_int": "float"}
    receptors = {"excitatory": "uS", "inhibitory": "uS"}
    recordable = ("spikes", "v", "gsyn_exc", "gsyn_inh")
    conductance_based = True

    # ODE state components, in NEST's order, and their tolerances
    components = ("v", "gsyn_exc", "gsyn_inh")
    integrator = RKF45((_ATOL_V, _ATOL_G, _ATOL_G))
    # parameters the right-hand side reads
    rhs_parameters = ("v_rest", "cm", "tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I",
                      "v_thresh", "v_reset", "i_offset")

    def check(self, p):
        require_positive(p, "cm", "tau_m", "tau_syn_E", "tau_syn_I")
        require_non_negative(p, "tau_refrac")
        require_below(p, "v_reset", "v_thresh")  # NEST: reset must be below threshold

    def prepare(self, xp, p, dt):
        return {
            "g_leak": p["cm"] / p["tau_m"],
            "ref_steps": self.refractory_steps(xp, p["tau_refrac"], dt),
        }

    @staticmethod
    def membrane_voltage(xp, y, a):
        """V as the right-hand side sees it: v_reset while refractory, else capped
        at threshold."""
        return xp.where(a["refractory"], a["v_reset"], xp.minimum(y[0], a["v_thresh"]))

    def rhs(self, xp, y, a):
        v = self.membrane_voltage(xp, y, a)
        i_exc = y[1] * (v - a["e_rev_E"])
        i_inh = y[2] * (v - a["e_rev_I"])
        i_leak = a["g_leak"] * (v - a["v_rest"])
        dv = (-i_leak + a["i_stim"] + a["i_offset"] - i_exc - i_inh) / a["cm"]
        f = xp.empty_like(y)
        f[0] = xp.where(a["refractory"], 0.0, dv)
        f[1] = -y[1] / a["tau_syn_E"]
        f[2] = -y[2] / a["tau_syn_I"]
        return f

    def integrate(self, ctx: StepContext):
        """Advance the ODE state of all neurons over the step (state updated in place)."""
        xp, s = ctx.xp, ctx.state
        args = {name: ctx.params[name] for name in self.rhs_parameters}
        args["g_leak"] = ctx.derived["g_leak"]
        args["i_stim"] = s["i_stim"]
        args["refractory"] = s["refrac"] > 0
        y = xp.stack([s[name] for name in self.components])
        y, s["h_int"] = self.integrator.integrate(
            xp, lambda yy, a: self.rhs(xp, yy, a), y, s["h_int"], ctx.dt, args)
        for k, name in enumerate(self.components):
            s[name] = y[k]

    def spike_and_reset(self, ctx: StepContext):
        """NEST's refractory countdown (with V clamped) or threshold check and reset."""
        xp, p, s = ctx.xp, ctx.params, ctx.state
        refractory = s["refrac"] > 0
        spiked = ~refractory & (s["v"] >= p["v_thresh"])
        s["refrac"] = xp.where(refractory, s["refrac"] - 1,
                               xp.where(spiked, ctx.derived["ref_steps"], s["refrac"]))
        s["v"] = xp.where(refractory | spiked, p["v_reset"], s["v"])
        return spiked

    def update(self, ctx: StepContext):
        s = ctx.state
        self.integrate(ctx)
        s["gsyn_exc"] = s["gsyn_exc"] + ctx.inputs[0]
        s["gsyn_inh"] = s["gsyn_inh"] + ctx.inputs[1]
        spiked = self.spike_and_reset(ctx)
        s["i_stim"] = ctx.i_stim
        return spiked
