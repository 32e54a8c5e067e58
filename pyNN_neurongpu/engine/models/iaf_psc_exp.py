"""Leaky integrate-and-fire neuron with exponential post-synaptic currents.

Semantics of NEST's ``iaf_psc_exp``: exact integration on the time grid; the
membrane is updated with the synaptic currents of the previous step, then the
currents decay and this step's spikes are added; injected current acts one step
after it arrives; the refractory period clamps V at v_reset for round(t_ref/dt)
steps.
"""

from __future__ import annotations

from . import lif
from .base import (
    NeuronModel,
    StepContext,
    register,
    require_below,
    require_non_negative,
    require_positive,
)
from .propagators import propagator_32


@register
class IafPscExp(NeuronModel):
    name = "iaf_psc_exp"
    parameters = {**lif.MEMBRANE, **lif.synaptic_time_constants(
        5.0, "decay time of the {} synaptic current")}
    state = {**lif.V, **lif.SYNAPTIC_CURRENTS}
    internal = {"refrac": "int32", "i_stim": "float"}
    receptors = {"excitatory": "nA", "inhibitory": "nA"}
    recordable = ("spikes", "v", "isyn_exc", "isyn_inh")

    def check(self, p):
        require_positive(p, "cm", "tau_m", "tau_syn_E", "tau_syn_I")
        require_non_negative(p, "tau_refrac")
        require_below(p, "v_reset", "v_thresh")  # NEST: reset must be below threshold

    def prepare(self, xp, p, dt):
        p22 = xp.exp(-dt / p["tau_m"])
        return {
            "P11ex": xp.exp(-dt / p["tau_syn_E"]),
            "P11in": xp.exp(-dt / p["tau_syn_I"]),
            "P22": p22,
            "P21ex": propagator_32(xp, p["tau_syn_E"], p["tau_m"], p["cm"], dt),
            "P21in": propagator_32(xp, p["tau_syn_I"], p["tau_m"], p["cm"], dt),
            "P20": p["tau_m"] / p["cm"] * (1.0 - p22),
            "ref_steps": self.refractory_steps(xp, p["tau_refrac"], dt),
        }

    def update(self, ctx: StepContext):
        xp, p, d, s = ctx.xp, ctx.params, ctx.derived, ctx.state
        free = s["refrac"] == 0
        v_rel = s["v"] - p["v_rest"]
        v_new = (v_rel * d["P22"] + s["isyn_exc"] * d["P21ex"] + s["isyn_inh"] * d["P21in"]
                 + (p["i_offset"] + s["i_stim"]) * d["P20"]) + p["v_rest"]
        s["v"] = xp.where(free, v_new, s["v"])
        s["refrac"] = xp.where(free, s["refrac"], s["refrac"] - 1)
        s["isyn_exc"] = s["isyn_exc"] * d["P11ex"] + ctx.inputs[0]
        s["isyn_inh"] = s["isyn_inh"] * d["P11in"] + ctx.inputs[1]
        spiked = s["v"] >= p["v_thresh"]
        s["refrac"] = xp.where(spiked, d["ref_steps"], s["refrac"])
        s["v"] = xp.where(spiked, p["v_reset"], s["v"])
        s["i_stim"] = ctx.i_stim
        return spiked
