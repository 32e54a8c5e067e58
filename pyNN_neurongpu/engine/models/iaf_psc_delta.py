"""Leaky integrate-and-fire neuron with delta-shaped synaptic input (voltage jumps).

Semantics of NEST's ``iaf_psc_delta``: exact integration on the time grid. A free
neuron decays, integrates the injected current of the previous step and jumps by
the summed weights (mV) of the spikes arriving in this step; a refractory neuron
keeps V at v_reset and discards arriving input (unless ``refractory_input`` is
set: then that input, discounted by the membrane decay until the end of the
refractory period, is added when the neuron becomes free). Both receptor ports
add to the same membrane jump: PyNN gives inhibitory weights as negative mV.
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


@register
class IafPscDelta(NeuronModel):
    name = "iaf_psc_delta"
    parameters = {
        **lif.MEMBRANE,
        "refractory_input": Var(0.0, "", "1: keep input arriving while refractory "
                                         "(NEST's refractory_input), 0: discard it"),
    }
    state = dict(lif.V)
    # refr_input: input kept during refractoriness (mV), if refractory_input is set
    internal = {"refrac": "int32", "i_stim": "float", "refr_input": "float"}
    receptors = {"excitatory": "mV", "inhibitory": "mV"}
    recordable = ("spikes", "v")

    def check(self, p):
        require_positive(p, "cm", "tau_m")
        require_non_negative(p, "tau_refrac")
        require_below(p, "v_reset", "v_thresh")  # NEST: reset must be below threshold

    def prepare(self, xp, p, dt):
        p33 = xp.exp(-dt / p["tau_m"])
        return {
            "P33": p33,
            "P30": 1.0 / p["cm"] * (1.0 - p33) * p["tau_m"],
            "theta": p["v_thresh"] - p["v_rest"],
            "ref_steps": self.refractory_steps(xp, p["tau_refrac"], dt),
            "keep_refr_input": p["refractory_input"] != 0,
        }

    def update(self, ctx: StepContext):
        xp, p, d, s = ctx.xp, ctx.params, ctx.derived, ctx.state
        free = s["refrac"] == 0
        jump = ctx.inputs[0] + ctx.inputs[1]
        v_old = s["v"]
        y3 = v_old - p["v_rest"]    # NEST integrates V relative to the resting potential
        y3_new = d["P30"] * (s["i_stim"] + p["i_offset"]) + d["P33"] * y3 + jump
        # input kept from the refractory period (zero unless refractory_input)
        y3_new = y3_new + s["refr_input"]
        y3 = xp.where(free, y3_new, y3)
        decay = xp.exp(-s["refrac"] * ctx.dt / p["tau_m"])
        kept = xp.where(d["keep_refr_input"], s["refr_input"] + jump * decay, 0.0)
        s["refr_input"] = xp.where(free, 0.0, kept).astype(y3.dtype)
        s["refrac"] = xp.where(free, s["refrac"], s["refrac"] - 1)
        spiked = y3 >= d["theta"]
        s["refrac"] = xp.where(spiked, d["ref_steps"], s["refrac"])
        s["v"] = xp.where(spiked, p["v_reset"], xp.where(free, y3 + p["v_rest"], v_old))
        s["i_stim"] = ctx.i_stim
        return spiked
