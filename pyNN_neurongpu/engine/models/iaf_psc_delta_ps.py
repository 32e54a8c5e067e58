"""Leaky integrate-and-fire neuron with delta synapses and precise spike timing.

Semantics of NEST's ``iaf_psc_delta_ps`` (setup(spike_precision="off_grid")): arriving
spikes (summed where they arrive at the same time) make V jump at their exact times;
between them V follows the exact solution under the constant injected current. The
neuron spikes at the exact time of a jump that reaches threshold, or, where the current
drives it across between events, at the crossing computed analytically from the
solution, as NEST does. It is refractory until exactly ref_steps*dt after the spike;
input arriving meanwhile is discarded (``refractory_input`` 1: kept, decayed, and added
when the period ends). A spike that reaches threshold during a mini-step discards the
event that ends the mini-step, as in NEST.
"""

from __future__ import annotations

import numpy as np

from . import lif, precise
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
class IafPscDeltaPs(NeuronModel):
    name = "iaf_psc_delta_ps"
    parameters = {
        **lif.MEMBRANE,
        "refractory_input": Var(0.0, "", "1: keep input arriving while refractory "
                                         "(NEST's refractory_input), 0: discard it"),
    }
    state = dict(lif.V)
    internal = {"i_stim": "float64", "is_refr": "bool", "last_step": "int64",
                "last_offset": "float64", "refr_input": "float64"}
    receptors = {"excitatory": "mV", "inhibitory": "mV"}
    recordable = ("spikes", "v")
    kernel_kind = None   # the CPU reference engine only, for now
    precise = True

    def check(self, p):
        require_positive(p, "cm", "tau_m")
        require_non_negative(p, "tau_refrac")
        require_below(p, "v_reset", "v_thresh")

    def check_step(self, p, dt):
        precise.check_refractory_step(self.name, p, dt, self.refractory_steps)

    def prepare(self, xp, p, dt):
        return {"expm1_t": xp.expm1(-dt / p["tau_m"]), "R": p["tau_m"] / p["cm"],
                "ref_steps": self.refractory_steps(xp, p["tau_refrac"], dt),
                "keep_refr_input": p["refractory_input"] != 0}

    def update(self, ctx: StepContext):
        xp, p, d, s, h, T = ctx.xp, ctx.params, ctx.derived, ctx.state, ctx.dt, ctx.step
        n = s["v"].shape[0]
        e_l = p["v_rest"]
        u = s["v"] - e_l
        u_th = p["v_thresh"] - e_l
        u_reset = p["v_reset"] - e_l
        current = s["i_stim"] + p["i_offset"]   # NEST: I_ + I_e
        refr, buf = s["is_refr"], s["refr_input"]
        tau, R = p["tau_m"], d["R"]
        out = precise.Spikes(n)

        def emit_instant(which, offset):
            out.emit(which, offset)
            s["last_step"][which] = T + 1
            s["last_offset"][which] = offset
            u[which] = u_reset[which]
            refr[which] = True

        def emit_crossing(which, offset_u):
            """Spike at the threshold crossing before offset `offset_u` (NEST's emit_spike_)."""
            v_inf = R[which] * current[which]
            since = -tau[which] * np.log((v_inf - u[which]) / (v_inf - u_th[which]))
            emit_instant(which, offset_u + since)

        def propagate(which, dt):
            expm1_dt = np.expm1(-dt / tau[which])
            v_inf = R[which] * current[which]
            u[which] = -v_inf * expm1_dt + u[which] * expm1_dt + u[which]

        instant = np.nonzero(u >= u_th)[0]
        if instant.shape[0]:
            emit_instant(instant, h * precise.INSTANT_FACTOR)
        local, offset, weight = ctx.inputs
        local, offset, weight = (local.astype(np.int64), offset.astype(np.float64),
                                 weight.astype(np.float64))
        # simultaneous spikes act as one (NEST accumulates equal offsets)
        if local.shape[0]:
            order = np.lexsort((-offset, local))
            local, offset, weight = local[order], offset[order], weight[order]
            new = np.ones(local.shape[0], dtype=bool)
            new[1:] = (local[1:] != local[:-1]) | (offset[1:] != offset[:-1])
            starts = np.nonzero(new)[0]
            weight = np.add.reduceat(weight, starts)
            local, offset = local[starts], offset[starts]
        ends = np.nonzero(refr & (T + 1 - s["last_step"] == d["ref_steps"]))[0]
        kind = np.concatenate([np.zeros(local.shape[0], dtype=bool),
                               np.ones(ends.shape[0], dtype=bool)])
        local = np.concatenate([local, ends])
        offset = np.concatenate([offset, s["last_offset"][ends]])
        weight = np.concatenate([weight, np.zeros(ends.shape[0])])
        local, offset, weight, kind, slot, n_slots = precise.event_slots(
            xp, local, offset, weight, kind)
        has_events = np.zeros(n, dtype=bool)
        has_events[local] = True

        plain = np.nonzero(~has_events & ~refr)[0]
        if plain.shape[0]:
            i_ext = -d["expm1_t"][plain] * R[plain] * current[plain]
            u[plain] = i_ext + d["expm1_t"][plain] * u[plain] + u[plain]
            crossed = plain[u[plain] >= u_th[plain]]
            if crossed.shape[0]:
                emit_crossing(crossed, np.zeros(crossed.shape[0]))

        t = np.full(n, h)   # offset reached in the step (h: its start)
        for k in range(n_slots):
            at = slot == k
            idx, o, w, end = local[at], offset[at], weight[at], kind[at]
            was_refr = refr[idx]
            # refractory: input is discarded or kept; the pseudo-event ends the period
            r = was_refr
            t[idx[r]] = o[r]
            kept = r & ~end & d["keep_refr_input"][idx]
            ki = idx[kept]
            if ki.shape[0]:
                buf[ki] += w[kept] * np.exp(-((s["last_step"][ki] - T - 1) * h
                                              - (s["last_offset"][ki] - o[kept])
                                              + p["tau_refrac"][ki]) / tau[ki])
            back = idx[r & end]
            if back.shape[0]:
                refr[back] = False
                keep = d["keep_refr_input"][back]
                u[back[keep]] += buf[back[keep]]
                buf[back[keep]] = 0.0
                again = back[u[back] >= u_th[back]]
                if again.shape[0]:
                    emit_instant(again, t[again])
            # free: move to the event, then a crossing on the way, else the jump
            f = ~was_refr
            fi, fo, fw = idx[f], o[f], w[f]
            if fi.shape[0]:
                propagate(fi, t[fi] - fo)
                t[fi] = fo
                crossed = u[fi] >= u_th[fi]
                if np.any(crossed):
                    emit_crossing(fi[crossed], t[fi[crossed]])
                jump = ~crossed
                ji = fi[jump]
                u[ji] += fw[jump]
                over = ji[u[ji] >= u_th[ji]]
                if over.shape[0]:
                    emit_instant(over, t[over])
        rest = np.nonzero(has_events & ~refr & (t > 0))[0]
        if rest.shape[0]:
            propagate(rest, t[rest])
            crossed = rest[u[rest] >= u_th[rest]]
            if crossed.shape[0]:
                emit_crossing(crossed, np.zeros(crossed.shape[0]))

        s["v"] = u + e_l
        s["i_stim"] = ctx.i_stim.astype(np.float64)
        return out.result()
