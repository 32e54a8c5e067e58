"""Leaky integrate-and-fire neuron with exponential synaptic conductances, spike-frequency
adaptation and a relative refractory mechanism.

Semantics of NEST's ``iaf_cond_exp_sfa_rr``: in each step the ODE system (V, the
synaptic conductances and the adaptation and relative-refractory conductances
g_s, g_r, which decay with tau_sfa and tau_rr and pull V towards e_rev_sfa and
e_rev_rr) is integrated over the step with adaptive RKF45 sub-steps (absolute
tolerance 1e-3 in mV and nS), with V capped at v_thresh in the right-hand side
and held at v_reset while refractory, as in ``iaf_cond_exp``. Then this
step's input is added to the synaptic conductances; a refractory neuron counts
down and is set to v_reset; a free neuron at or above threshold spikes, is reset,
becomes refractory for round-up(tau_refrac/dt) steps, and g_s and g_r jump by
q_sfa and q_rr. Injected current arriving in a step acts from the next step on.
Weights are conductances in uS on both ports; g_s, g_r, q_sfa, q_rr are in nS as
PyNN declares them.
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
from .integrators import ATOL_G, ATOL_V, RKF45

_ATOL_NS = 1e-3    # NEST's tolerance for conductances kept in nS
_NS_PER_US = 1000.0


@register
class IafCondExpSfaRr(NeuronModel):
    name = "iaf_cond_exp_sfa_rr"
    parameters = {
        **lif.MEMBRANE,
        **lif.synaptic_time_constants(5.0, "decay time of the {} conductance"),
        **lif.REVERSAL_POTENTIALS,
        "tau_sfa": Var(100.0, "ms", "decay time of the spike-frequency adaptation conductance"),
        "e_rev_sfa": Var(-75.0, "mV", "reversal potential of the adaptation conductance"),
        "q_sfa": Var(15.0, "nS", "jump of the adaptation conductance at a spike"),
        "tau_rr": Var(2.0, "ms", "decay time of the relative refractory conductance"),
        "e_rev_rr": Var(-75.0, "mV", "reversal potential of the relative refractory "
                                     "conductance"),
        "q_rr": Var(3000.0, "nS", "jump of the relative refractory conductance at a spike"),
    }
    state = {
        **lif.V, **lif.SYNAPTIC_CONDUCTANCES,
        "g_s": Var(0.0, "nS", "spike-frequency adaptation conductance"),
        "g_r": Var(0.0, "nS", "relative refractory conductance"),
    }
    # h_int: each neuron's adaptive sub-step size (ms; 0 = start with dt)
    internal = {"refrac": "int32", "i_stim": "float", "h_int": "float"}
    receptors = {"excitatory": "uS", "inhibitory": "uS"}
    recordable = ("spikes", "v", "gsyn_exc", "gsyn_inh", "g_s", "g_r")
    conductance_based = True

    # ODE state components, in NEST's order, and their tolerances
    components = ("v", "gsyn_exc", "gsyn_inh", "g_s", "g_r")
    integrator = RKF45((ATOL_V, ATOL_G, ATOL_G, _ATOL_NS, _ATOL_NS))
    # parameters the right-hand side reads
    rhs_parameters = ("v_rest", "cm", "tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I",
                      "v_thresh", "v_reset", "i_offset", "tau_sfa", "e_rev_sfa", "tau_rr",
                      "e_rev_rr")

    def check(self, p):
        require_positive(p, "cm", "tau_m", "tau_syn_E", "tau_syn_I")
        require_non_negative(p, "tau_refrac")
        require_below(p, "v_reset", "v_thresh")  # NEST: reset must be below threshold
        require_positive(p, "tau_sfa", "tau_rr")

    def prepare(self, xp, p, dt):
        return {
            "g_leak": p["cm"] / p["tau_m"],
            "ref_steps": self.refractory_steps(xp, p["tau_refrac"], dt),
        }

    def rhs(self, xp, y, a):
        # V as the right-hand side sees it: v_reset while refractory, else capped at
        # threshold
        v = xp.where(a["refractory"], a["v_reset"], xp.minimum(y[0], a["v_thresh"]))
        i_exc = y[1] * (v - a["e_rev_E"])
        i_inh = y[2] * (v - a["e_rev_I"])
        i_leak = a["g_leak"] * (v - a["v_rest"])
        # g_s, g_r are in nS: their currents in pA, scaled to nA
        i_sfa = y[3] * (v - a["e_rev_sfa"]) / _NS_PER_US
        i_rr = y[4] * (v - a["e_rev_rr"]) / _NS_PER_US
        dv = (-i_leak + a["i_stim"] + a["i_offset"] - i_exc - i_inh - i_sfa - i_rr) / a["cm"]
        f = xp.empty_like(y)
        f[0] = xp.where(a["refractory"], 0.0, dv)
        f[1] = -y[1] / a["tau_syn_E"]
        f[2] = -y[2] / a["tau_syn_I"]
        f[3] = -y[3] / a["tau_sfa"]
        f[4] = -y[4] / a["tau_rr"]
        return f

    def update(self, ctx: StepContext):
        xp, p, s = ctx.xp, ctx.params, ctx.state
        # the ODE state over the step
        args = {name: p[name] for name in self.rhs_parameters}
        args["g_leak"] = ctx.derived["g_leak"]
        args["i_stim"] = s["i_stim"]
        args["refractory"] = s["refrac"] > 0
        self.integrate_components(ctx, args)
        s["gsyn_exc"] = s["gsyn_exc"] + ctx.inputs[0]
        s["gsyn_inh"] = s["gsyn_inh"] + ctx.inputs[1]
        # NEST's refractory countdown (with V clamped) or threshold check and reset
        refractory = s["refrac"] > 0
        spiked = ~refractory & (s["v"] >= p["v_thresh"])
        s["refrac"] = xp.where(refractory, s["refrac"] - 1,
                               xp.where(spiked, ctx.derived["ref_steps"], s["refrac"]))
        s["v"] = xp.where(refractory | spiked, p["v_reset"], s["v"])
        s["g_s"] = xp.where(spiked, s["g_s"] + p["q_sfa"], s["g_s"])
        s["g_r"] = xp.where(spiked, s["g_r"] + p["q_rr"], s["g_r"])
        s["i_stim"] = ctx.i_stim
        return spiked
