"""Declarations shared by the leaky integrate-and-fire families (PyNN's names, units and
defaults, which are the same for every IF_* cell type)."""

from .base import Var

MEMBRANE = {
    "v_rest": Var(-65.0, "mV", "resting membrane potential"),
    "cm": Var(1.0, "nF", "membrane capacitance"),
    "tau_m": Var(20.0, "ms", "membrane time constant"),
    "tau_refrac": Var(0.1, "ms", "refractory period"),
    "i_offset": Var(0.0, "nA", "constant injected current"),
    "v_reset": Var(-65.0, "mV", "reset potential after a spike"),
    "v_thresh": Var(-50.0, "mV", "spike threshold"),
}

V = {"v": Var(-65.0, "mV", "membrane potential")}

SYNAPTIC_CURRENTS = {
    "isyn_exc": Var(0.0, "nA", "excitatory synaptic current"),
    "isyn_inh": Var(0.0, "nA", "inhibitory synaptic current"),
}

REVERSAL_POTENTIALS = {
    "e_rev_E": Var(0.0, "mV", "excitatory reversal potential"),
    "e_rev_I": Var(-70.0, "mV", "inhibitory reversal potential"),
}

SYNAPTIC_CONDUCTANCES = {
    "gsyn_exc": Var(0.0, "uS", "excitatory synaptic conductance"),
    "gsyn_inh": Var(0.0, "uS", "inhibitory synaptic conductance"),
}


def synaptic_time_constants(default: float, meaning: str) -> dict:
    """tau_syn_E and tau_syn_I; `meaning` has a {} for 'excitatory'/'inhibitory'."""
    return {"tau_syn_E": Var(default, "ms", meaning.format("excitatory")),
            "tau_syn_I": Var(default, "ms", meaning.format("inhibitory"))}
