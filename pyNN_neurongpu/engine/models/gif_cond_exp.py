"""Generalized integrate-and-fire neuron with conductance-based synapses and stochastic
spiking (Mensi et al. 2012, Pozzorini et al. 2015).

Semantics of NEST's ``gif_cond_exp`` (PyNN's GIF_cond_exp). In each step:

1. the spike-triggered current i_eta is the sum of its kernel elements and the threshold
   v_t is v_t_star plus the sum of the threshold-movement elements (the values recorded
   for this step); then every element decays by exp(-dt/tau);
2. (V, g_exc, g_inh) are integrated over the step with adaptive RKF45 sub-steps (NEST's
   absolute tolerance 1e-3 in mV, nS); C dV/dt = -g_L (V - v_rest) - g_exc (V - e_rev_E)
   - g_inh (V - e_rev_I) + I_stim + i_offset - i_eta, with V held at v_reset (dV/dt = 0)
   while refractory;
3. the step's input is added to the conductances;
4. a free neuron spikes with probability 1 - exp(-lambda dt), lambda = lambda0
   exp((V - v_t) / delta_v) (one uniform number per neuron and step, counter-based
   (engine/counter_rng.py): the same numbers on CPU and GPU); on a spike every eta
   element grows by a_eta, every gamma element by a_gamma, and the neuron becomes
   refractory for round-up(tau_refrac/dt) steps, V is *not* reset in the step of the
   spike; a refractory neuron counts down and is clamped to v_reset.

Injected current arriving in a step acts from the next step on. tau_eta/a_eta and
tau_gamma/a_gamma are per-neuron sequences (PyNN ArrayParameters) of equal length, up to
MAX_ELEMENTS each.
"""

from __future__ import annotations

import numpy as np

from .base import (
    NeuronModel,
    StepContext,
    Var,
    register,
    require_non_negative,
    require_positive,
)
from .integrators import ATOL_G, ATOL_V, RKF45

MAX_ELEMENTS = 8   # kernel elements per adaptation kernel (NEST: any number)

_KERNELS = (("tau_eta", "a_eta", "eta"), ("tau_gamma", "a_gamma", "gamma"))


@register
class GifCondExp(NeuronModel):
    name = "gif_cond_exp"
    parameters = {
        "v_rest": Var(-65.0, "mV", "resting membrane potential"),
        "cm": Var(1.0, "nF", "membrane capacitance"),
        "tau_m": Var(20.0, "ms", "membrane time constant"),
        "tau_refrac": Var(4.0, "ms", "refractory period"),
        "tau_syn_E": Var(5.0, "ms", "decay time of the excitatory conductance"),
        "tau_syn_I": Var(5.0, "ms", "decay time of the inhibitory conductance"),
        "e_rev_E": Var(0.0, "mV", "excitatory reversal potential"),
        "e_rev_I": Var(-70.0, "mV", "inhibitory reversal potential"),
        "v_reset": Var(-65.0, "mV", "reset potential"),
        "i_offset": Var(0.0, "nA", "offset current"),
        "delta_v": Var(0.5, "mV", "threshold sharpness"),
        "v_t_star": Var(-48.0, "mV", "threshold baseline"),
        "lambda0": Var(1.0, "Hz", "firing intensity at threshold"),
        "tau_eta": Var(None, "ms", "time constants of the spike-triggered current"),
        "tau_gamma": Var(None, "ms", "time constants of the threshold movement"),
        "a_eta": Var(None, "nA", "increments of the spike-triggered current"),
        "a_gamma": Var(None, "mV", "increments of the threshold"),
    }
    sequence_parameters = ("tau_eta", "tau_gamma", "a_eta", "a_gamma")
    state = {
        "v": Var(-65.0, "mV", "membrane potential"),
        "v_t": Var(-48.0, "mV", "threshold (v_t_star + threshold movement)"),
        "i_eta": Var(0.0, "nA", "spike-triggered current"),
        "gsyn_exc": Var(0.0, "uS", "excitatory synaptic conductance"),
        "gsyn_inh": Var(0.0, "uS", "inhibitory synaptic conductance"),
    }
    internal = {"refrac": "int32", "i_stim": "float", "h_int": "float",
                **{f"{kernel}_{k}": "float" for _, _, kernel in _KERNELS
                   for k in range(MAX_ELEMENTS)}}
    receptors = {"excitatory": "uS", "inhibitory": "uS"}
    recordable = ("spikes", "v", "gsyn_exc", "gsyn_inh", "i_eta", "v_t")
    conductance_based = True
    kernel_kind = None   # array code (the reference step; on a GPU it runs on the device)

    components = ("v", "gsyn_exc", "gsyn_inh")
    integrator = RKF45((ATOL_V, ATOL_G, ATOL_G))
    rhs_parameters = ("v_rest", "cm", "tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I",
                      "v_reset", "i_offset")

    def check(self, p):
        require_positive(p, "cm", "tau_m", "tau_syn_E", "tau_syn_I", "delta_v")
        require_non_negative(p, "tau_refrac", "lambda0")

    def check_sequences(self, sequences):
        for taus, amplitudes, _ in _KERNELS:
            for name in (taus, amplitudes):
                for values in sequences.get(name, ()):
                    values = np.asarray(values, dtype=float).ravel()
                    if not np.isfinite(values).all():
                        raise ValueError(f"{name} must be finite numbers")
                    if values.size > MAX_ELEMENTS:
                        raise ValueError(f"{name} has {values.size} elements; at most "
                                         f"{MAX_ELEMENTS} per kernel")
                    if name == taus and np.any(values <= 0):
                        raise ValueError(f"{name} = {values}: all time constants must be "
                                         "strictly positive")
            if taus in sequences and amplitudes in sequences:
                for t, a in zip(sequences[taus], sequences[amplitudes]):
                    if np.size(t) != np.size(a):
                        raise ValueError(f"{taus} and {amplitudes} need to have the same "
                                         f"dimensions ({np.size(t)} and {np.size(a)})")

    def prepare(self, xp, p, dt):
        return {
            "g_leak": p["cm"] / p["tau_m"],
            "ref_steps": self.refractory_steps(xp, p["tau_refrac"], dt),
        }

    def prepare_run(self, backend, group, first_step):
        """Per element k of each kernel: decay factor exp(-dt/tau_k) and increment, as
        (MAX_ELEMENTS, n) arrays; elements a neuron lacks decay to 0 and never grow."""
        self.check_sequences(group.sequences)
        n = group.size
        extra = {}
        for taus, amplitudes, kernel in _KERNELS:
            decay = np.zeros((MAX_ELEMENTS, n))
            jump = np.zeros((MAX_ELEMENTS, n))
            for i, (t, a) in enumerate(zip(group.sequences[taus], group.sequences[amplitudes])):
                t, a = np.asarray(t, float).ravel(), np.asarray(a, float).ravel()
                decay[:t.size, i] = np.exp(-group.dt / t)
                jump[:a.size, i] = a
            used = int(max([np.size(t) for t in group.sequences[taus]] or [0]))
            extra[kernel] = (used, backend.asarray(decay[:used], dtype=backend.float),
                             backend.asarray(jump[:used], dtype=backend.float))
        return extra

    def rhs(self, xp, y, a):
        v = xp.where(a["refractory"], a["v_reset"], y[0])
        i_exc = y[1] * (v - a["e_rev_E"])
        i_inh = y[2] * (v - a["e_rev_I"])
        i_leak = a["g_leak"] * (v - a["v_rest"])
        dv = (-i_leak + a["i_stim"] + a["i_offset"] - i_exc - i_inh - a["i_eta"]) / a["cm"]
        f = xp.empty_like(y)
        f[0] = xp.where(a["refractory"], 0.0, dv)
        f[1] = -y[1] / a["tau_syn_E"]
        f[2] = -y[2] / a["tau_syn_I"]
        return f

    def update(self, ctx: StepContext):
        xp, p, s, d = ctx.xp, ctx.params, ctx.state, ctx.derived
        extra = ctx.extra
        # 1. kernels: this step's sums, then decay
        for (_, _, kernel), var, base in ((_KERNELS[0], "i_eta", 0.0),
                                          (_KERNELS[1], "v_t", p["v_t_star"])):
            used, decay, _ = extra[kernel]
            total = xp.zeros_like(s["v"]) + base
            for k in range(used):
                name = f"{kernel}_{k}"
                total = total + s[name]
                s[name] = s[name] * decay[k]
            s[var] = total
        # 2. membrane and conductances over the step
        args = {name: p[name] for name in self.rhs_parameters}
        args["g_leak"] = d["g_leak"]
        args["i_stim"] = s["i_stim"]
        args["i_eta"] = s["i_eta"]
        args["refractory"] = s["refrac"] > 0
        self.integrate_components(ctx, args)
        # 3. this step's input
        s["gsyn_exc"] = s["gsyn_exc"] + ctx.inputs[0]
        s["gsyn_inh"] = s["gsyn_inh"] + ctx.inputs[1]
        # 4. escape noise, or the refractory countdown with V clamped
        refractory = s["refrac"] > 0
        with np.errstate(over="ignore", invalid="ignore"):
            rate = p["lambda0"] * 1e-3 * xp.exp((s["v"] - s["v_t"]) / p["delta_v"])  # 1/ms
            probability = -xp.expm1(-rate * ctx.dt)
        u = ctx.counter.uniform(ctx.step, ctx.gids)   # the same numbers on CPU and GPU
        spiked = ~refractory & (rate > 0) & (u < probability)
        for _, _, kernel in _KERNELS:
            used, _, jump = extra[kernel]
            for k in range(used):
                name = f"{kernel}_{k}"
                s[name] = xp.where(spiked, s[name] + jump[k], s[name])
        s["refrac"] = xp.where(refractory, s["refrac"] - 1,
                               xp.where(spiked, d["ref_steps"], s["refrac"]))
        s["v"] = xp.where(refractory, p["v_reset"], s["v"])
        s["i_stim"] = ctx.i_stim
        return spiked
