"""Hodgkin-Huxley neuron after Traub and Miles, with exponentially decaying conductances.

Semantics of NEST's ``hh_cond_exp_traub``: in each step the ODE system (V, the
synaptic conductances and the gating variables m, h, n) is integrated over the
step with adaptive RKF45 sub-steps (absolute tolerance 1e-3 in NEST's units: mV,
nS, dimensionless); then this step's input is added to the conductances. A
refractory neuron only counts down; a free one spikes when V >= v_offset + 30 mV
and V has fallen during the step (the step after the peak), and is then
refractory for round-up(tau_refrac/dt) steps. The membrane is never clamped or
reset. Injected current arriving in a step acts from the next step on. Weights
are conductances in uS on both ports. Where a rate function's denominator
vanishes (V exactly at a removable singularity, where NEST's formula gives NaN),
its limit is used.
"""

from __future__ import annotations

from .base import NeuronModel, StepContext, Var, register, require_non_negative, require_positive
from .integrators import ATOL_G, ATOL_V, RKF45

_ATOL_GATE = 1e-3


def _rate(xp, c, x, s):
    """c x / (exp(x / s) - 1), with its limit c s where the denominator vanishes (where
    NEST's formula gives NaN or infinity)."""
    den = xp.exp(x / s) - 1.0
    singular = den == 0
    return xp.where(singular, c * s, c * x / xp.where(singular, 1.0, den))


@register
class HhCondExpTraub(NeuronModel):
    name = "hh_cond_exp_traub"
    parameters = {
        "gbar_Na": Var(20.0, "uS", "maximal sodium conductance"),
        "gbar_K": Var(6.0, "uS", "maximal potassium conductance"),
        "g_leak": Var(0.01, "uS", "leak conductance"),
        "cm": Var(0.2, "nF", "membrane capacitance"),
        "v_offset": Var(-63.0, "mV", "offset of the gating kinetics (NEST's V_T)"),
        "e_rev_Na": Var(50.0, "mV", "sodium reversal potential"),
        "e_rev_K": Var(-90.0, "mV", "potassium reversal potential"),
        "e_rev_leak": Var(-65.0, "mV", "leak reversal potential"),
        "e_rev_E": Var(0.0, "mV", "excitatory reversal potential"),
        "e_rev_I": Var(-80.0, "mV", "inhibitory reversal potential"),
        "tau_syn_E": Var(0.2, "ms", "decay time of the excitatory conductance"),
        "tau_syn_I": Var(2.0, "ms", "decay time of the inhibitory conductance"),
        "i_offset": Var(0.0, "nA", "constant injected current"),
        "tau_refrac": Var(2.0, "ms", "time after a spike without spike detection "
                                     "(NEST's t_ref)"),
    }
    state = {
        "v": Var(-65.0, "mV", "membrane potential"),
        "gsyn_exc": Var(0.0, "uS", "excitatory synaptic conductance"),
        "gsyn_inh": Var(0.0, "uS", "inhibitory synaptic conductance"),
        "m": Var(0.0, "", "sodium activation"),
        "h": Var(1.0, "", "sodium inactivation"),
        "n": Var(0.0, "", "potassium activation"),
    }
    # h_int: each neuron's adaptive sub-step size (ms; 0 = start with dt)
    internal = {"refrac": "int32", "i_stim": "float", "h_int": "float"}
    receptors = {"excitatory": "uS", "inhibitory": "uS"}
    recordable = ("spikes", "v", "gsyn_exc", "gsyn_inh", "m", "h", "n")
    conductance_based = True

    # ODE state components, in NEST's order, and their tolerances
    components = ("v", "m", "h", "n", "gsyn_exc", "gsyn_inh")
    integrator = RKF45((ATOL_V, _ATOL_GATE, _ATOL_GATE, _ATOL_GATE, ATOL_G, ATOL_G))
    rhs_parameters = ("gbar_Na", "gbar_K", "g_leak", "cm", "v_offset", "e_rev_Na", "e_rev_K",
                      "e_rev_leak", "e_rev_E", "e_rev_I", "tau_syn_E", "tau_syn_I",
                      "i_offset")

    def check_state(self, s):
        # NEST: "All (in)activation variables must be non-negative."
        require_non_negative(s, *[name for name in ("m", "h", "n") if name in s])

    def check(self, p):
        require_positive(p, "cm", "tau_syn_E", "tau_syn_I")
        require_non_negative(p, "tau_refrac")

    def prepare(self, xp, p, dt):
        return {"ref_steps": self.refractory_steps(xp, p["tau_refrac"], dt)}

    @staticmethod
    def rhs(xp, y, a):
        v, m, h, n = y[0], y[1], y[2], y[3]
        i_na = a["gbar_Na"] * m * m * m * h * (v - a["e_rev_Na"])
        i_k = a["gbar_K"] * n * n * n * n * (v - a["e_rev_K"])
        i_leak = a["g_leak"] * (v - a["e_rev_leak"])
        i_exc = y[4] * (v - a["e_rev_E"])
        i_inh = y[5] * (v - a["e_rev_I"])
        f = xp.empty_like(y)
        f[0] = (-i_na - i_k - i_leak - i_exc - i_inh + a["i_stim"] + a["i_offset"]) / a["cm"]
        # rate functions of V relative to the offset (1/ms)
        u = v - a["v_offset"]
        alpha_n = _rate(xp, 0.032, 15.0 - u, 5.0)
        beta_n = 0.5 * xp.exp((10.0 - u) / 40.0)
        alpha_m = _rate(xp, 0.32, 13.0 - u, 4.0)
        beta_m = _rate(xp, 0.28, u - 40.0, 5.0)
        alpha_h = 0.128 * xp.exp((17.0 - u) / 18.0)
        beta_h = 4.0 / (1.0 + xp.exp((40.0 - u) / 5.0))
        f[1] = alpha_m - (alpha_m + beta_m) * m
        f[2] = alpha_h - (alpha_h + beta_h) * h
        f[3] = alpha_n - (alpha_n + beta_n) * n
        f[4] = -y[4] / a["tau_syn_E"]
        f[5] = -y[5] / a["tau_syn_I"]
        return f

    def update(self, ctx: StepContext):
        xp, s = ctx.xp, ctx.state
        args = {name: ctx.params[name] for name in self.rhs_parameters}
        args["i_stim"] = s["i_stim"]
        v_start = s["v"]
        self.integrate_components(ctx, args)
        s["gsyn_exc"] = s["gsyn_exc"] + ctx.inputs[0]
        s["gsyn_inh"] = s["gsyn_inh"] + ctx.inputs[1]
        refractory = s["refrac"] > 0
        spiked = (~refractory & (s["v"] >= ctx.params["v_offset"] + 30.0)
                  & (v_start > s["v"]))
        s["refrac"] = xp.where(refractory, s["refrac"] - 1,
                               xp.where(spiked, ctx.derived["ref_steps"], s["refrac"]))
        s["i_stim"] = ctx.i_stim
        return spiked
