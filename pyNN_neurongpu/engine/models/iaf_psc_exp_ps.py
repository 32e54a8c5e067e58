"""Leaky integrate-and-fire neuron with exponential currents and precise spike timing.

Semantics of NEST's ``iaf_psc_exp_ps`` (setup(spike_precision="off_grid")): arriving
spikes act at their exact times inside the step (they are sorted by offset; the
linear subthreshold dynamics are integrated exactly from event to event); after every
such mini-step a threshold crossing is located by NEST's regula falsi on the exact
solution; the neuron is then reset and refractory until exactly ref_steps*dt after its
spike (a pseudo-event inside the step). A spike's weight goes to the excitatory current
if it is >= 0, else to the inhibitory one, as in NEST. A step without input takes the
fixed propagators. Injected current arriving in step s acts from step s + 1.
"""

from __future__ import annotations

import numpy as np

from . import lif, precise
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
class IafPscExpPs(NeuronModel):
    name = "iaf_psc_exp_ps"
    parameters = {**lif.MEMBRANE, **lif.synaptic_time_constants(
        5.0, "decay time of the {} synaptic current")}
    state = {**lif.V, **lif.SYNAPTIC_CURRENTS}
    # is_refr: refractory; last_step, last_offset: stamp and offset of the last spike
    internal = {"i_stim": "float64", "is_refr": "bool", "last_step": "int64",
                "last_offset": "float64"}
    receptors = {"excitatory": "nA", "inhibitory": "nA"}
    recordable = ("spikes", "v", "isyn_exc", "isyn_inh")
    kernel_kind = None   # the CPU reference engine only, for now
    precise = True

    def check(self, p):
        require_positive(p, "cm", "tau_m", "tau_syn_E", "tau_syn_I")
        require_non_negative(p, "tau_refrac")
        require_below(p, "v_reset", "v_thresh")

    def check_step(self, p, dt):
        precise.check_refractory_step(self.name, p, dt, self.refractory_steps)

    def prepare(self, xp, p, dt):
        return {
            "expm1_tau_m": xp.expm1(-dt / p["tau_m"]),
            "exp_tau_ex": xp.exp(-dt / p["tau_syn_E"]),
            "exp_tau_in": xp.exp(-dt / p["tau_syn_I"]),
            "P20": -p["tau_m"] / p["cm"] * xp.expm1(-dt / p["tau_m"]),
            "P21ex": propagator_32(xp, p["tau_syn_E"], p["tau_m"], p["cm"], dt),
            "P21in": propagator_32(xp, p["tau_syn_I"], p["tau_m"], p["cm"], dt),
            "ref_steps": self.refractory_steps(xp, p["tau_refrac"], dt),
        }

    def update(self, ctx: StepContext):
        xp, p, d, s, h, T = ctx.xp, ctx.params, ctx.derived, ctx.state, ctx.dt, ctx.step
        n = s["v"].shape[0]
        e_l = p["v_rest"]
        y2 = s["v"] - e_l                     # NEST integrates V relative to E_L
        u_th = p["v_thresh"] - e_l
        u_reset = p["v_reset"] - e_l
        y1e, y1i, y0 = s["isyn_exc"], s["isyn_inh"], s["i_stim"]
        refr = s["is_refr"]
        i_e = p["i_offset"]
        out = precise.Spikes(n)

        def emit(which, offset):
            out.emit(which, offset)
            s["last_step"][which] = T + 1
            s["last_offset"][which] = offset
            y2[which] = u_reset[which]
            refr[which] = True

        # a neuron set above threshold spikes at the start of the step
        instant = np.nonzero(y2 >= u_th)[0]
        if instant.shape[0]:
            emit(instant, h * precise.INSTANT_FACTOR)
        # the step's input, with the return from refractoriness as a pseudo-event
        local, offset, weight = ctx.inputs
        ends = np.nonzero(refr & (T + 1 - s["last_step"] == d["ref_steps"]))[0]
        kind = np.concatenate([np.zeros(local.shape[0], dtype=bool),
                               np.ones(ends.shape[0], dtype=bool)])
        local = np.concatenate([local.astype(np.int64), ends])
        offset = np.concatenate([offset.astype(np.float64), s["last_offset"][ends]])
        weight = np.concatenate([weight.astype(np.float64), np.zeros(ends.shape[0])])
        local, offset, weight, kind, slot, n_slots = precise.event_slots(
            xp, local, offset, weight, kind)
        has_events = np.zeros(n, dtype=bool)
        has_events[local] = True

        # state at the start of the current mini-step (for the spike-time search)
        before = {"y1e": y1e.copy(), "y1i": y1i.copy(), "y2": y2.copy()}

        def distance(t, which, idx):
            """Threshold distance of neurons idx[which] t ms after their mini-step's start."""
            j = idx[which]
            tau_m, c_m = p["tau_m"][j], p["cm"][j]
            p20 = -tau_m / c_m * np.expm1(-t / tau_m)
            p21e = propagator_32(np, p["tau_syn_E"][j], tau_m, c_m, t)
            p21i = propagator_32(np, p["tau_syn_I"][j], tau_m, c_m, t)
            y2_root = (p20 * (i_e[j] + y0[j]) + p21e * before["y1e"][j]
                       + p21i * before["y1i"][j] + before["y2"][j] * np.exp(-t / tau_m))
            return y2_root - u_th[j]

        def locate(idx, t0, dt):
            """Emit spikes of neurons idx that crossed threshold in [t0, t0 + dt]."""
            root = precise.regula_falsi(lambda t, w: distance(t, w, idx), dt, self.name, T)
            emit(idx, h - (t0 + root))

        def propagate(idx, dt):
            tau_m, c_m = p["tau_m"][idx], p["cm"][idx]
            free = ~refr[idx]
            f = idx[free]
            if f.shape[0]:
                dtf = dt[free]
                p20 = -tau_m[free] / c_m[free] * np.expm1(-dtf / tau_m[free])
                p21e = propagator_32(np, p["tau_syn_E"][f], tau_m[free], c_m[free], dtf)
                p21i = propagator_32(np, p["tau_syn_I"][f], tau_m[free], c_m[free], dtf)
                y2[f] = (p20 * (i_e[f] + y0[f]) + p21e * y1e[f] + p21i * y1i[f]
                         + y2[f] * np.exp(-dtf / tau_m[free]))
            y1e[idx] = y1e[idx] * np.exp(-dt / p["tau_syn_E"][idx])
            y1i[idx] = y1i[idx] * np.exp(-dt / p["tau_syn_I"][idx])

        # neurons without input: the fixed propagators over the whole step
        plain = np.nonzero(~has_events)[0]
        if plain.shape[0]:
            free = plain[~refr[plain]]
            y2[free] = (d["P20"][free] * (i_e[free] + y0[free]) + d["P21ex"][free] * y1e[free]
                        + d["P21in"][free] * y1i[free] + d["expm1_tau_m"][free] * y2[free]
                        + y2[free])
            y1e[plain] = y1e[plain] * d["exp_tau_ex"][plain]
            y1i[plain] = y1i[plain] * d["exp_tau_in"][plain]
            crossed = plain[y2[plain] >= u_th[plain]]
            if crossed.shape[0]:
                locate(crossed, np.zeros(crossed.shape[0]), np.full(crossed.shape[0], h))

        # neurons with input: event by event, slot k for all of them at once
        last = np.full(n, h)   # offset of the last event handled (h: the step's start)
        for k in range(n_slots):
            at = slot == k
            idx, o, w, end = local[at], offset[at], weight[at], kind[at]
            ministep = last[idx] - o
            moved = ministep > 0    # simultaneous events: no propagation (NEST #368)
            mi = idx[moved]
            if mi.shape[0]:
                propagate(mi, ministep[moved])
                cross = y2[mi] >= u_th[mi]
                if np.any(cross):
                    locate(mi[cross], h - last[mi[cross]], ministep[moved][cross])
            refr[idx[end]] = False
            spike = ~end
            exc = spike & (w >= 0.0)
            inh = spike & (w < 0.0)
            y1e[idx[exc]] += w[exc]
            y1i[idx[inh]] += w[inh]
            before["y1e"][idx], before["y1i"][idx], before["y2"][idx] = y1e[idx], y1i[idx], \
                y2[idx]
            last[idx] = o
        rest = np.nonzero(has_events & (last > 0))[0]
        if rest.shape[0]:
            dt_rest = last[rest]
            propagate(rest, dt_rest)
            cross = y2[rest] >= u_th[rest]
            if np.any(cross):
                locate(rest[cross], h - dt_rest[cross], dt_rest[cross])

        s["v"] = y2 + e_l
        s["isyn_exc"], s["isyn_inh"] = y1e, y1i
        s["i_stim"] = ctx.i_stim.astype(np.float64)
        return out.result()
