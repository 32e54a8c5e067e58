"""Leaky integrate-and-fire neuron with alpha-shaped post-synaptic currents.

Semantics of NEST's ``iaf_psc_alpha``: exact integration on the time grid. In each
step the membrane is first advanced with the synaptic currents (and the injected
current) of the previous step, unless the neuron is refractory, in which case V
stays at v_reset and the refractory counter runs down; then each alpha current
advances and this step's input is added to its derivative state (scaled by e/tau_syn
so that a weight w gives a current peaking at w nA); then the threshold is checked.
Injected current arriving in a step acts from the next step on.
"""

from __future__ import annotations

import math

from . import lif
from .base import (
    NeuronModel,
    StepContext,
    register,
    require_below,
    require_non_negative,
    require_positive,
)
from .propagators import propagator_31, propagator_32


@register
class IafPscAlpha(NeuronModel):
    name = "iaf_psc_alpha"
    parameters = {**lif.MEMBRANE, **lif.synaptic_time_constants(
        0.5, "rise time of the {} alpha current")}
    state = {**lif.V, **lif.SYNAPTIC_CURRENTS}
    # disyn_*: derivative states of the alpha currents (nA/ms)
    internal = {"refrac": "int32", "i_stim": "float", "disyn_exc": "float",
                "disyn_inh": "float"}
    receptors = {"excitatory": "nA", "inhibitory": "nA"}
    recordable = ("spikes", "v", "isyn_exc", "isyn_inh")

    def check(self, p):
        require_positive(p, "cm", "tau_m", "tau_syn_E", "tau_syn_I")
        require_non_negative(p, "tau_refrac")
        require_below(p, "v_reset", "v_thresh")  # NEST: reset must be below threshold

    def prepare(self, xp, p, dt):
        tau_m, cm = p["tau_m"], p["cm"]
        derived = {
            "expm1_tau_m": xp.expm1(-dt / tau_m),
            "P30": -tau_m / cm * xp.expm1(-dt / tau_m),
            "theta": p["v_thresh"] - p["v_rest"],
            "ref_steps": self.refractory_steps(xp, p["tau_refrac"], dt),
        }
        for port, tau in (("ex", p["tau_syn_E"]), ("in", p["tau_syn_I"])):
            p11 = xp.exp(-dt / tau)
            derived[f"P11{port}"] = p11
            derived[f"P21{port}"] = dt * p11
            derived[f"P31{port}"] = propagator_31(xp, tau, tau_m, cm, dt)
            derived[f"P32{port}"] = propagator_32(xp, tau, tau_m, cm, dt)
            derived[f"psc0{port}"] = math.e / tau
        return derived

    def update(self, ctx: StepContext):
        xp, p, d, s = ctx.xp, ctx.params, ctx.derived, ctx.state
        free = s["refrac"] == 0
        v_old = s["v"]
        y3 = v_old - p["v_rest"]    # NEST integrates V relative to the resting potential
        y3_new = (d["P30"] * (s["i_stim"] + p["i_offset"])
                  + d["P31ex"] * s["disyn_exc"] + d["P32ex"] * s["isyn_exc"]
                  + d["P31in"] * s["disyn_inh"] + d["P32in"] * s["isyn_inh"]
                  + d["expm1_tau_m"] * y3 + y3)
        y3 = xp.where(free, y3_new, y3)
        s["refrac"] = xp.where(free, s["refrac"], s["refrac"] - 1)
        for port, syn in (("ex", "exc"), ("in", "inh")):
            i_syn, di_syn = s[f"isyn_{syn}"], s[f"disyn_{syn}"]
            s[f"isyn_{syn}"] = d[f"P21{port}"] * di_syn + d[f"P11{port}"] * i_syn
            s[f"disyn_{syn}"] = (di_syn * d[f"P11{port}"]
                                 + d[f"psc0{port}"] * ctx.inputs[0 if port == "ex" else 1])
        spiked = y3 >= d["theta"]
        s["refrac"] = xp.where(spiked, d["ref_steps"], s["refrac"])
        s["v"] = xp.where(spiked, p["v_reset"], xp.where(free, y3 + p["v_rest"], v_old))
        s["i_stim"] = ctx.i_stim
        return spiked
