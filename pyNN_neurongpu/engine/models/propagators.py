"""Exact-integration propagators of the leaky membrane driven by synaptic currents.

These are the matrix elements NEST 3.10's ``iaf_psc_*`` models use (its
``IAFPropagator``), including the guard against the removable singularity at
tau_syn == tau_m:

- P32 (membrane response to a unit exponential current) takes its limit value
  h/c_m * exp(-h/tau_m) where the general formula is not a positive normal number
  (tau_syn == tau_m gives inf * 0);
- P31 (response to the derivative state of an alpha current) takes its limit
  h^2/(2 c_m) * exp(-h/tau_m) unless h > 1e-7 * tau_m^2 / |tau_m - tau_syn|,
  below which the general formula cancels catastrophically.

All arguments are arrays (or scalars) in ms and nF; results are in mV per nA.
"""

from __future__ import annotations

import numpy as np

# NEST's scale factor of the P31 singularity test
_STABILITY_FACTOR = 1e-7


def _common(xp, tau_syn, tau_m, c_m, h):
    """P32 and the quantities P31 shares with it."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        beta = tau_syn * tau_m / (tau_m - tau_syn)          # inf where tau_m == tau_syn
        gamma = beta / c_m
        inv_beta = (tau_m - tau_syn) / (tau_syn * tau_m)     # 0 where tau_m == tau_syn
        exp_h_tau_syn = xp.exp(-h * (1.0 / tau_syn))
        expm1_h_tau = xp.expm1(h * inv_beta)
        general = gamma * exp_h_tau_syn * expm1_h_tau
    exp_h_tau_m = xp.exp(-h * (1.0 / tau_m))
    tiny = np.finfo(getattr(general, "dtype", np.float64)).tiny
    normal = xp.isfinite(general) & (general >= tiny)
    p32 = xp.where(normal, general, h * (1.0 / c_m) * exp_h_tau_m)
    return p32, beta, gamma, exp_h_tau_syn, expm1_h_tau, exp_h_tau_m


def propagator_32(xp, tau_syn, tau_m, c_m, h):
    """Membrane response over one step to an exponential current of unit amplitude."""
    return _common(xp, tau_syn, tau_m, c_m, h)[0]


def propagator_31(xp, tau_syn, tau_m, c_m, h):
    """Membrane response over one step to the derivative state of an alpha current."""
    _, beta, gamma, exp_h_tau_syn, expm1_h_tau, exp_h_tau_m = _common(xp, tau_syn, tau_m,
                                                                      c_m, h)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        h_min_regular = _STABILITY_FACTOR * tau_m * tau_m / xp.abs(tau_m - tau_syn)
        general = gamma * exp_h_tau_syn * (beta * expm1_h_tau - h)
    singular = 0.5 * h * h * (1.0 / c_m) * exp_h_tau_m
    return xp.where(h > h_min_regular, general, singular)
