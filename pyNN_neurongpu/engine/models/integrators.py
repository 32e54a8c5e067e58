"""Adaptive embedded Runge-Kutta integration of per-neuron ODE systems.

NEST integrates its conductance-based and nonlinear models with GSL's
``gsl_odeiv_evolve_apply`` using the Runge-Kutta-Fehlberg 4(5) stepper and the
standard step-size control on absolute errors. :class:`RKF45` reproduces that
scheme for a whole population at once: every neuron keeps its own sub-step size
(carried from one time step to the next, like NEST's ``IntegrationStep_``), and
sub-steps are taken until every neuron has reached the end of the time step;
neurons that are done drop out of the working set.

The arithmetic follows GSL's (same coefficients, same order of operations, same
acceptance rules), so in float64 and in the same units it gives the same
sub-steps and the same numbers as NEST; in other units (the engine works in
PyNN's) results agree to rounding.

Models that handle events inside the step (NEST's ``aeif_*``: a spike is detected
and the neuron reset after every accepted sub-step) pass an ``event`` callback,
which sees the working set after each sub-step and may change its state.
"""

from __future__ import annotations

import numpy as np

# Runge-Kutta-Fehlberg 4(5) tableau; the solution advanced is the 5th-order one.
_A = (1.0 / 4.0, 3.0 / 8.0, 12.0 / 13.0, 1.0, 1.0 / 2.0)
_B3 = (3.0 / 32.0, 9.0 / 32.0)
_B4 = (1932.0 / 2197.0, -7200.0 / 2197.0, 7296.0 / 2197.0)
_B5 = (8341.0 / 4104.0, -32832.0 / 4104.0, 29440.0 / 4104.0, -845.0 / 4104.0)
_B6 = (-6080.0 / 20520.0, 41040.0 / 20520.0, -28352.0 / 20520.0, 9295.0 / 20520.0,
       -5643.0 / 20520.0)
_C1 = 902880.0 / 7618050.0
_C3 = 3953664.0 / 7618050.0
_C4 = 3855735.0 / 7618050.0
_C5 = -1371249.0 / 7618050.0
_C6 = 277020.0 / 7618050.0
# 5th- minus 4th-order weights: the local error estimate
_E1 = 1.0 / 360.0
_E3 = -128.0 / 4275.0
_E4 = -2197.0 / 75240.0
_E5 = 1.0 / 50.0
_E6 = 2.0 / 55.0

# NEST's absolute tolerance of its iaf_cond_* (and other conductance) models, 1e-3 in
# mV and nS, in the engine's units
ATOL_V = 1e-3      # mV
ATOL_G = 1e-6      # uS (= 1e-3 nS), also uS/ms for conductance derivatives

_ORDER = 5
_SAFETY = 0.9
_TOLERANCE = "__tolerance"  # key of the per-neuron tolerance in the working set


class RKF45:
    """Embedded RKF45 with GSL's standard step control.

    ``atol`` holds one absolute tolerance per state component (in the units the
    model integrates in): GSL's ``control_y`` with eps_rel = 0. Passing a
    per-neuron ``tolerance`` to :meth:`integrate` selects GSL's ``control_yp``
    with eps_abs = eps_rel = tolerance (NEST's ``aeif_*``): a component's error
    bound is then ``tolerance * |h dy/dt| + tolerance * atol`` (``atol`` now the
    unit scale of the component relative to NEST's units, dy/dt taken at the end
    of the sub-step). A sub-step is redone with a smaller size when its error
    estimate exceeds 1.1 bounds; the size grows (at most 5x) after sub-steps with
    errors below half a bound.
    """

    def __init__(self, atol):
        self.atol = tuple(float(a) for a in atol)

    def integrate(self, xp, rhs, y, h, dt, args, h_init=None, event=None, carry=(),
                  tolerance=None):
        """Advance ``y`` over one time step ``dt`` (ms).

        ``y``: array (n_components, n); ``h``: array (n,) of each neuron's current
        sub-step size (values <= 0 mean "not yet set" and start at ``h_init``,
        default ``dt``); ``rhs(y, args)`` returns dy/dt of the same shape as ``y``
        for the neurons given, with ``args`` a dict of per-neuron arrays (length n)
        or scalars, gathered to the working set.

        ``event(Y, A, accepted)``, if given, runs after every sub-step on the working
        set: it may change ``Y`` (in place) and the per-neuron entries of ``A`` of
        the neurons whose sub-step was ``accepted``, and returns the mask of neurons
        whose right-hand side it changed. The entries of ``args`` named in ``carry``
        are per-neuron results of the events; they are written back to ``args``.
        ``tolerance`` (array (n,)) selects the ``control_yp`` error bound (see the
        class). Returns the new ``(y, h)``.
        """
        n = y.shape[1]
        dtype = y.dtype
        dt = dtype.type(dt)
        atol = xp.asarray(self.atol, dtype=dtype)[:, None]
        tiny = np.finfo(dtype).tiny
        start = dt if h_init is None else dtype.type(min(h_init, dt))
        h = xp.where(h > 0, h, start).astype(dtype)
        # the working set (neurons not yet at the end of the step): their indices
        # in the population (None: all of them) and their gathered data
        idx = None
        Y, H, A = y, h, dict(args)
        if tolerance is not None:
            A[_TOLERANCE] = xp.broadcast_to(xp.asarray(tolerance, dtype=dtype), (n,))
        T = xp.zeros(n, dtype=dtype)
        K1 = rhs(Y, A)
        while True:
            Y, H, T, K1, live, accepted = self._sub_step(xp, rhs, Y, H, T, K1, A, dt, atol,
                                                         tiny)
            if event is not None:
                changed = event(Y, A, accepted)
                if bool(changed.any()):
                    K1 = xp.where(changed, rhs(Y, A), K1)
            n_live = int(live.sum())
            size = live.shape[0]
            if n_live == size:
                continue
            # write the finished neurons back and shrink the working set
            if idx is None:
                y, h = Y, H
                for name in carry:
                    args[name] = A[name]
            else:
                y[:, idx] = Y
                h[idx] = H
                for name in carry:
                    args[name][idx] = A[name]
            if n_live == 0:
                return y, h
            keep = xp.nonzero(live)[0]
            idx = keep if idx is None else idx[keep]
            Y, H, T, K1 = Y[:, keep], H[keep], T[keep], K1[:, keep]
            A = {k: (v[keep] if _per_neuron(v, size) else v) for k, v in A.items()}

    def _sub_step(self, xp, rhs, Y, H, T, K1, A, dt, atol, tiny):
        """One attempted sub-step for every neuron of the working set (all unfinished)."""
        remaining = dt - T
        final = H > remaining
        h0 = xp.where(final, remaining, H)
        y_new, y_err, k_out = self._rkf45(xp, rhs, Y, h0, K1, A)
        t_new = xp.where(final, dt, T + h0)
        tol = atol
        if _TOLERANCE in A:
            eps = A[_TOLERANCE]
            tol = eps * xp.abs(h0 * k_out) + eps * atol
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            rmax = xp.maximum(xp.max(xp.abs(y_err) / tol, axis=0), tiny)
            # fmax: an error estimate that is not a number (a blown-up neuron in
            # float32) shrinks the step as far as allowed
            r_dec = xp.fmax(_SAFETY / xp.power(rmax, 1.0 / _ORDER), 0.2)
            r_inc = xp.minimum(
                xp.maximum(_SAFETY / xp.power(rmax, 1.0 / (_ORDER + 1.0)), 1.0), 5.0)
        decrease = ~(rmax <= 1.1)
        h_dec = r_dec * h0
        h_next = xp.where(decrease, h_dec, xp.where(rmax < 0.5, r_inc * h0, h0))
        # a decrease is a retry, unless it would not change the step or the time
        retry = decrease & (h_dec < h0) & (t_new + h_dec != t_new)
        h_next = xp.where(decrease & ~retry, h0, h_next)
        Y = xp.where(retry, Y, y_new)
        K1 = xp.where(retry, K1, k_out)
        T = xp.where(retry, T, t_new)
        return Y, h_next, T, K1, T < dt, ~retry

    @staticmethod
    def _rkf45(xp, rhs, y, h, k1, args):
        """One RKF45 step of sizes ``h`` from ``y`` with dy/dt ``k1`` at ``y``.

        Returns (5th-order solution, error estimate, dy/dt at the solution).
        """
        k2 = rhs(y + _A[0] * h * k1, args)
        k3 = rhs(y + h * (_B3[0] * k1 + _B3[1] * k2), args)
        k4 = rhs(y + h * (_B4[0] * k1 + _B4[1] * k2 + _B4[2] * k3), args)
        k5 = rhs(y + h * (_B5[0] * k1 + _B5[1] * k2 + _B5[2] * k3 + _B5[3] * k4), args)
        k6 = rhs(y + h * (_B6[0] * k1 + _B6[1] * k2 + _B6[2] * k3 + _B6[3] * k4
                          + _B6[4] * k5), args)
        y_new = y + h * (_C1 * k1 + _C3 * k3 + _C4 * k4 + _C5 * k5 + _C6 * k6)
        k_out = rhs(y_new, args)
        y_err = h * (_E1 * k1 + _E3 * k3 + _E4 * k4 + _E5 * k5 + _E6 * k6)
        return y_new, y_err, k_out


def _per_neuron(value, size) -> bool:
    return getattr(value, "ndim", 0) == 1 and value.shape[0] == size
