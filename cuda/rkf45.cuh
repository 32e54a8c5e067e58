// Adaptive embedded Runge-Kutta-Fehlberg 4(5) over one time step, for one neuron: the
// device twin of pyNN_neurongpu/engine/models/integrators.py (same tableau, same order of
// operations, same step control), so GPU and CPU take the same sub-steps.
#pragma once
#include "neurongpu_common.cuh"

// One attempted RKF45 sub-step of size h0 from y with dy/dt k1 at y: writes the 5th-order
// solution yn, dy/dt ko at yn, and the local error estimate err.
template <int N, typename Rhs>
__device__ __forceinline__ void rkf45_attempt(const Rhs& rhs, const real* y, const real* k1,
                                              const real h0, real* yn, real* ko, real* err)
{
    const real A0 = (real)(1.0 / 4.0);
    const real B30 = (real)(3.0 / 32.0), B31 = (real)(9.0 / 32.0);
    const real B40 = (real)(1932.0 / 2197.0), B41 = (real)(-7200.0 / 2197.0),
               B42 = (real)(7296.0 / 2197.0);
    const real B50 = (real)(8341.0 / 4104.0), B51 = (real)(-32832.0 / 4104.0),
               B52 = (real)(29440.0 / 4104.0), B53 = (real)(-845.0 / 4104.0);
    const real B60 = (real)(-6080.0 / 20520.0), B61 = (real)(41040.0 / 20520.0),
               B62 = (real)(-28352.0 / 20520.0), B63 = (real)(9295.0 / 20520.0),
               B64 = (real)(-5643.0 / 20520.0);
    const real C1 = (real)(902880.0 / 7618050.0), C3 = (real)(3953664.0 / 7618050.0),
               C4 = (real)(3855735.0 / 7618050.0), C5 = (real)(-1371249.0 / 7618050.0),
               C6 = (real)(277020.0 / 7618050.0);
    const real E1 = (real)(1.0 / 360.0), E3 = (real)(-128.0 / 4275.0),
               E4 = (real)(-2197.0 / 75240.0), E5 = (real)(1.0 / 50.0), E6 = (real)(2.0 / 55.0);
    real k2[N], k3[N], k4[N], k5[N], k6[N], yt[N];
    for (int i = 0; i < N; ++i) yt[i] = y[i] + A0 * h0 * k1[i];
    rhs(yt, k2);
    for (int i = 0; i < N; ++i) yt[i] = y[i] + h0 * (B30 * k1[i] + B31 * k2[i]);
    rhs(yt, k3);
    for (int i = 0; i < N; ++i)
        yt[i] = y[i] + h0 * (B40 * k1[i] + B41 * k2[i] + B42 * k3[i]);
    rhs(yt, k4);
    for (int i = 0; i < N; ++i)
        yt[i] = y[i] + h0 * (B50 * k1[i] + B51 * k2[i] + B52 * k3[i] + B53 * k4[i]);
    rhs(yt, k5);
    for (int i = 0; i < N; ++i)
        yt[i] = y[i] + h0 * (B60 * k1[i] + B61 * k2[i] + B62 * k3[i] + B63 * k4[i]
                             + B64 * k5[i]);
    rhs(yt, k6);
    for (int i = 0; i < N; ++i)
        yn[i] = y[i] + h0 * (C1 * k1[i] + C3 * k3[i] + C4 * k4[i] + C5 * k5[i] + C6 * k6[i]);
    rhs(yn, ko);
    for (int i = 0; i < N; ++i)
        err[i] = h0 * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i]);
}

// GSL's step control after an attempt of size h0 ending at t_new, given the largest
// error ratio rmax: returns true if the attempt is retried; sets the next size h.
__device__ __forceinline__ bool rkf45_control(real rmax, const real h0, const real t_new,
                                              real& h)
{
    const real tiny = sizeof(real) == 8 ? (real)2.2250738585072014e-308 : (real)1.17549435e-38f;
    rmax = (rmax > tiny || rmax != rmax) ? rmax : tiny;  // NaN stays NaN, as in NumPy
    const bool decrease = !(rmax <= (real)1.1);
    // each power only where its factor is used (powers are costly; same values)
    real h_dec = h0, h_next = h0;
    if (decrease) {
        h_dec = fmax((real)0.9 / pow(rmax, (real)(1.0 / 5.0)), (real)0.2) * h0;
        h_next = h_dec;
    } else if (rmax < (real)0.5) {
        h_next = fmin(fmax((real)0.9 / pow(rmax, (real)(1.0 / 6.0)), (real)1.0), (real)5.0)
            * h0;
    }
    const bool retry = decrease && h_dec < h0 && (t_new + h_dec != t_new);
    if (decrease && !retry) h_next = h0;
    h = h_next;
    return retry;
}

// y: N state components (updated); h: the neuron's carried sub-step size (<= 0: start at
// dt); rhs(y, f) writes dy/dt; atol: absolute tolerance per component (control_y).
template <int N, typename Rhs>
__device__ __forceinline__ void rkf45_step(const Rhs& rhs, real* y, real& h, const real dt,
                                           const real* atol)
{
    real k1[N], yn[N], ko[N], err[N];
    if (!(h > 0)) h = dt;
    real t = 0;
    rhs(y, k1);
    while (t < dt) {
        const real remaining = dt - t;
        const bool final_step = h > remaining;
        const real h0 = final_step ? remaining : h;
        rkf45_attempt<N>(rhs, y, k1, h0, yn, ko, err);
        real rmax = 0;
        for (int i = 0; i < N; ++i) {
            const real r = fabs(err[i]) / atol[i];
            rmax = r > rmax ? r : rmax;
        }
        const real t_new = final_step ? dt : t + h0;
        if (!rkf45_control(rmax, h0, t_new, h)) {
            for (int i = 0; i < N; ++i) {
                y[i] = yn[i];
                k1[i] = ko[i];
            }
            t = t_new;
        }
    }
}

// As rkf45_step, with GSL's control_yp error bound tol * |h0 dy/dt| + tol * scale[i]
// (eps_abs = eps_rel = tol; scale: the component's unit relative to NEST's), a first
// sub-step of min(h_init, dt), and event(y) called after every accepted sub-step; it may
// change y and returns true if it changed the right-hand side (then dy/dt is recomputed).
template <int N, typename Rhs, typename Event>
__device__ __forceinline__ void rkf45_step_events(const Rhs& rhs, const Event& event, real* y,
                                                  real& h, const real dt, const real* scale,
                                                  const real tol, const real h_init)
{
    real k1[N], yn[N], ko[N], err[N];
    if (!(h > 0)) h = h_init < dt ? h_init : dt;
    real t = 0;
    rhs(y, k1);
    while (t < dt) {
        const real remaining = dt - t;
        const bool final_step = h > remaining;
        const real h0 = final_step ? remaining : h;
        rkf45_attempt<N>(rhs, y, k1, h0, yn, ko, err);
        real rmax = 0;
        for (int i = 0; i < N; ++i) {
            const real bound = tol * fabs(h0 * ko[i]) + tol * scale[i];
            const real r = fabs(err[i]) / bound;
            rmax = (r > rmax || r != r) ? r : rmax;
        }
        const real t_new = final_step ? dt : t + h0;
        if (!rkf45_control(rmax, h0, t_new, h)) {
            for (int i = 0; i < N; ++i) {
                y[i] = yn[i];
                k1[i] = ko[i];
            }
            t = t_new;
            if (event(y)) rhs(y, k1);
        }
    }
}
