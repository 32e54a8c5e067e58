"""Tsodyks-Markram short-term plasticity with NEST ``tsodyks_synapse`` semantics.

Each synapse carries resources in three states: recovered (x), active (y) and
inactive (1 - x - y), and a utilisation u. At a presynaptic spike at time t,
with h = t - t_last (t_last starts at 0):

    u <- u * exp(-h / tau_facil)          (u <- 0 when tau_facil == 0)
    x <- x + Pxy * y + (1 - exp(-h / tau_rec)) * (1 - x - y)
    y <- y * exp(-h / tau_psc)
    u <- u + U * (1 - u)
    x <- x - u * x;  y <- y + u * x       (the released amount u * x)

and the synapse delivers weight * u * x. ``Pxy`` couples the decay of y
(tau_psc, the post-synaptic current's time constant) into the recovery of x.
As in pyNN.nest, tau_psc is the target neuron's tau_syn_E or tau_syn_I
(3 ms for neurons without one), taken when the connection is made.
"""

from __future__ import annotations

import numpy as np

from ..models.base import Var
from .base import SpikeContext, SynapseModel, require

DEFAULT_TAU_PSC = 3.0  # ms, NEST's default, for targets without a synaptic time constant
_TAU_OF_RECEPTOR = {"excitatory": "tau_syn_E", "inhibitory": "tau_syn_I"}


def release(xp, ctx: SpikeContext):
    """Advance (u, x, y) of the active synapses to the spike and release; returns
    u * x, the fraction of resources released (the state is stored)."""
    h = ctx.t_spike - ctx.state("t_last")
    tau_facil = ctx.param("tau_facil")
    tau_rec = ctx.param("tau_rec")
    tau_psc = ctx.param("tau_psc")
    facilitating = tau_facil != 0.0
    p_uu = xp.where(facilitating, xp.exp(-h / xp.where(facilitating, tau_facil, 1.0)), 0.0)
    p_yy = xp.exp(-h / tau_psc)
    p_zz = xp.exp(-h / tau_rec)
    p_xy = ((p_zz - 1.0) * tau_rec - (p_yy - 1.0) * tau_psc) / (tau_psc - tau_rec)
    p_xz = 1.0 - p_zz
    u, x, y = ctx.state("u"), ctx.state("x"), ctx.state("y")
    z = 1.0 - x - y
    u = u * p_uu
    x = x + p_xy * y + p_xz * z
    y = y * p_yy
    u = u + ctx.param("U") * (1.0 - u)
    released = u * x
    ctx.store("u", u)
    ctx.store("x", x - released)
    ctx.store("y", y + released)
    ctx.store("t_last", xp.broadcast_to(xp.asarray(ctx.t_spike, dtype=h.dtype), h.shape))
    return released


def tau_psc_of_targets(network, post, receptor: str) -> dict:
    """tau_psc of each synapse: its target's synaptic time constant for `receptor`."""
    name = _TAU_OF_RECEPTOR.get(receptor)
    values = network.neuron_parameter(post, name, DEFAULT_TAU_PSC) if name else None
    return {"tau_psc": DEFAULT_TAU_PSC if values is None else values}


class TsodyksMarkram(SynapseModel):
    name = "tsodyks_markram"
    parameters = {
        "U": Var(0.5, "", "utilisation increment per spike"),
        "tau_rec": Var(100.0, "ms", "recovery time constant"),
        "tau_facil": Var(0.0, "ms", "facilitation time constant (0: none)"),
        "tau_psc": Var(DEFAULT_TAU_PSC, "ms", "post-synaptic current time constant"),
    }
    state = {
        "u": Var(0.0, "", "utilisation"),
        "x": Var(1.0, "", "fraction of resources recovered"),
        "y": Var(0.0, "", "fraction of resources active"),
    }
    internal = {"t_last": Var(0.0, "ms", "time of the last presynaptic spike")}

    def check(self, p):
        require((p["U"] >= 0) & (p["U"] <= 1), "U must be in [0, 1]")
        require(p["tau_rec"] > 0, "tau_rec must be positive")
        require(p["tau_psc"] > 0, "tau_psc must be positive")
        require(p["tau_facil"] >= 0, "tau_facil must not be negative")

    def check_state(self, s):
        require(np.asarray(s["x"]) + np.asarray(s["y"]) <= 1.0, "x + y must be <= 1")

    def implicit_parameters(self, network, post, receptor):
        return tau_psc_of_targets(network, post, receptor)

    def transmit(self, ctx):
        released = release(ctx.xp, ctx)
        return ctx.group.weight[ctx.idx] * released * ctx.mult
