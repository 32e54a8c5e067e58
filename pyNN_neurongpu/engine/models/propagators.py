"""Exact-integration propagators of the leaky membrane driven by synaptic currents.

These are the matrix elements NEST's ``iaf_psc_*`` models use, including its
guard against the removable singularity at tau_syn == tau_m: close to the
singularity the general formula loses precision, and the limit value is used.
All arguments are arrays (or scalars) in ms, nF; results in mV/nA per step.
"""

from __future__ import annotations

import numpy as np


def _select_singular(xp, general, singular, linear, tau_syn, tau_m):
    near = (tau_m == tau_syn) | ((xp.abs(tau_m - tau_syn) < 0.1)
                                 & (xp.abs(general - singular) > 2.0 * xp.abs(linear)))
    return xp.where(near, singular, general)


def propagator_32(xp, tau_syn, tau_m, c_m, h):
    """Membrane response over one step to an exponential current of unit amplitude."""
    with np.errstate(divide="ignore", invalid="ignore"):
        general = (-tau_m / (c_m * (1.0 - tau_m / tau_syn)) * xp.exp(-h / tau_syn)
                   * xp.expm1(h * (1.0 / tau_syn - 1.0 / tau_m)))
    singular = h / c_m * xp.exp(-h / tau_m)
    linear = h * h * (tau_syn - tau_m) * xp.exp(-h / tau_m) / (2.0 * c_m * tau_m * tau_m)
    return _select_singular(xp, general, singular, linear, tau_syn, tau_m)


def propagator_31(xp, tau_syn, tau_m, c_m, h):
    """Membrane response over one step to the derivative state of an alpha current."""
    with np.errstate(divide="ignore", invalid="ignore"):
        e_syn = xp.exp(-h / tau_syn)
        general = (1.0 / c_m * (e_syn * xp.expm1(-h / tau_m + h / tau_syn)
                                / (tau_m / tau_syn - 1.0) * tau_m - h * e_syn)
                   / (tau_m / tau_syn - 1.0) * tau_m)
    singular = h * h / (2.0 * c_m) * xp.exp(-h / tau_m)
    linear = h ** 3 * (tau_syn - tau_m) * xp.exp(-h / tau_m) / (3.0 * c_m * tau_m * tau_m)
    return _select_singular(xp, general, singular, linear, tau_syn, tau_m)
