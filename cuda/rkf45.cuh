// Adaptive embedded Runge-Kutta-Fehlberg 4(5) over one time step, for one neuron: the
// device twin of pyNN_neurongpu/engine/models/integrators.py (same tableau, same order of
// operations, same step control), so GPU and CPU take the same sub-steps.
#pragma once
#include "neurongpu_common.cuh"

// Whether the families that tolerate last-bit differences from the reference engine (AdEx:
// its exp already differs from NumPy's) take the fast forms of their RKF45 arithmetic:
// fused multiply-adds in the weighted sums, and the error ratios and step-size factors
// to within an ulp or a few (ratio, root). The generated kernels define it (codegen.py);
// elsewhere, as in the host test, it is off and the arithmetic is the reference engine's.
#ifndef NEURONGPU_FAST_RK
#define NEURONGPU_FAST_RK false
#endif

// a * b + c: rounded once (fused) where Fast, else twice, as the reference engine does
template <bool Fast>
__device__ __forceinline__ real mad(const real a, const real b, const real c)
{
    if (Fast) return fma(a, b, c);
    return a * b + c;
}

// One attempted RKF45 sub-step of size h0 from y with dy/dt k1 at y: writes the 5th-order
// solution yn, dy/dt ko at yn, and the local error estimate err. Without Fast, the
// operations and their order are the reference engine's (bit-identical results); with
// Fast, each weighted sum is a chain of fused multiply-adds in the same order.
template <int N, bool Fast = false, typename Rhs>
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
    for (int i = 0; i < N; ++i) yt[i] = mad<Fast>(A0 * h0, k1[i], y[i]);
    rhs(yt, k2);
    for (int i = 0; i < N; ++i) yt[i] = mad<Fast>(h0, mad<Fast>(B31, k2[i], B30 * k1[i]), y[i]);
    rhs(yt, k3);
    for (int i = 0; i < N; ++i)
        yt[i] = mad<Fast>(h0, mad<Fast>(B42, k3[i], mad<Fast>(B41, k2[i], B40 * k1[i])),
                           y[i]);
    rhs(yt, k4);
    for (int i = 0; i < N; ++i)
        yt[i] = mad<Fast>(h0, mad<Fast>(B53, k4[i], mad<Fast>(B52, k3[i],
                           mad<Fast>(B51, k2[i], B50 * k1[i]))), y[i]);
    rhs(yt, k5);
    for (int i = 0; i < N; ++i)
        yt[i] = mad<Fast>(h0, mad<Fast>(B64, k5[i], mad<Fast>(B63, k4[i],
                           mad<Fast>(B62, k3[i], mad<Fast>(B61, k2[i], B60 * k1[i])))),
                           y[i]);
    rhs(yt, k6);
    for (int i = 0; i < N; ++i)
        yn[i] = mad<Fast>(h0, mad<Fast>(C6, k6[i], mad<Fast>(C5, k5[i],
                           mad<Fast>(C4, k4[i], mad<Fast>(C3, k3[i], C1 * k1[i])))), y[i]);
    rhs(yn, ko);
    for (int i = 0; i < N; ++i)
        err[i] = h0 * mad<Fast>(E6, k6[i], mad<Fast>(E5, k5[i], mad<Fast>(E4, k4[i],
                                 mad<Fast>(E3, k3[i], E1 * k1[i]))));
}

// x^(1/e): the C library's pow, or (Fast) exp2(log2(x) / e), a few ulp from it and far
// cheaper on the GPU; the step control needs the factor only roughly.
template <bool Fast>
__device__ __forceinline__ real root(const real x, const real inv_e)
{
    if (Fast) return exp2(log2(x) * inv_e);
    return pow(x, inv_e);
}

// a / b: correctly rounded, or (Fast) within an ulp or two of it, with a cheaper division
template <bool Fast>
__device__ __forceinline__ real ratio(const real a, const real b)
{
#ifdef __CUDA_ARCH__
    if (Fast && sizeof(real) == 4) return __fdividef(a, b);
#endif
    return a / b;
}

// GSL's step control after an attempt of size h0 ending at t_new, given the largest
// error ratio rmax: returns true if the attempt is retried; sets the next size h.
template <bool Fast = false>
__device__ __forceinline__ bool rkf45_control(real rmax, const real h0, const real t_new,
                                              real& h)
{
    const real tiny = sizeof(real) == 8 ? (real)2.2250738585072014e-308 : (real)1.17549435e-38f;
    rmax = (rmax > tiny || rmax != rmax) ? rmax : tiny;  // NaN stays NaN, as in NumPy
    const bool decrease = !(rmax <= (real)1.1);
    // each power only where its factor is used (powers are costly; same values)
    real h_dec = h0, h_next = h0;
    if (decrease) {
        h_dec = fmax((real)0.9 / root<Fast>(rmax, (real)(1.0 / 5.0)), (real)0.2) * h0;
        h_next = h_dec;
    } else if (rmax < (real)0.5) {
        h_next = fmin(fmax((real)0.9 / root<Fast>(rmax, (real)(1.0 / 6.0)), (real)1.0),
                      (real)5.0)
            * h0;
    }
    const bool retry = decrease && h_dec < h0 && (t_new + h_dec != t_new);
    if (decrease && !retry) h_next = h0;
    h = h_next;
    return retry;
}

// A neuron's progress through one time step: dy/dt at the current state and the time
// reached. The step is either run to its end at once (rkf45_step, rkf45_step_events) or
// one attempted sub-step at a time (begin, then attempts until done), so that a thread
// can move on to another neuron as soon as one is done (engine/gpu/codegen.py, pooled families).
template <int N>
struct Rkf45Run {
    real k1[N];
    real t;
    __device__ __forceinline__ bool done(const real dt) const { return !(t < dt); }
};

// Starts a step from y: h <= 0 (not yet set) becomes h_start.
template <int N, typename Rhs>
__device__ __forceinline__ void rkf45_begin(const Rhs& rhs, const real* y, real& h,
                                            const real h_start, Rkf45Run<N>& run)
{
    if (!(h > 0)) h = h_start;
    run.t = 0;
    rhs(y, run.k1);
}

// One attempted sub-step with the absolute error bound atol[i] per component (control_y).
template <int N, bool Fast = false, typename Rhs>
__device__ __forceinline__ void rkf45_attempt_atol(const Rhs& rhs, real* y, real& h,
                                                   const real dt, const real* atol,
                                                   Rkf45Run<N>& run)
{
    real yn[N], ko[N], err[N];
    const real remaining = dt - run.t;
    const bool final_step = h > remaining;
    const real h0 = final_step ? remaining : h;
    rkf45_attempt<N, Fast>(rhs, y, run.k1, h0, yn, ko, err);
    real rmax = 0;
    for (int i = 0; i < N; ++i) {
        const real r = fabs(err[i]) / atol[i];
        rmax = r > rmax ? r : rmax;
    }
    const real t_new = final_step ? dt : run.t + h0;
    if (!rkf45_control(rmax, h0, t_new, h)) {
        for (int i = 0; i < N; ++i) {
            y[i] = yn[i];
            run.k1[i] = ko[i];
        }
        run.t = t_new;
    }
}

// One attempted sub-step with GSL's control_yp error bound tol * |h0 dy/dt| + tol *
// scale[i] (eps_abs = eps_rel = tol; scale: the component's unit relative to NEST's);
// event(y) is called after an accepted sub-step; it may change y and returns true if it
// changed the right-hand side (then dy/dt is recomputed).
template <int N, bool Fast = false, typename Rhs, typename Event>
__device__ __forceinline__ void rkf45_attempt_events(const Rhs& rhs, const Event& event,
                                                     real* y, real& h, const real dt,
                                                     const real* scale, const real tol,
                                                     Rkf45Run<N>& run)
{
    real yn[N], ko[N], err[N];
    const real remaining = dt - run.t;
    const bool final_step = h > remaining;
    const real h0 = final_step ? remaining : h;
    rkf45_attempt<N, Fast>(rhs, y, run.k1, h0, yn, ko, err);
    real rmax = 0;
    for (int i = 0; i < N; ++i) {
        const real bound = tol * fabs(h0 * ko[i]) + tol * scale[i];
        const real r = ratio<Fast>(fabs(err[i]), bound);
        rmax = (r > rmax || r != r) ? r : rmax;
    }
    const real t_new = final_step ? dt : run.t + h0;
    if (!rkf45_control<Fast>(rmax, h0, t_new, h)) {
        for (int i = 0; i < N; ++i) {
            y[i] = yn[i];
            run.k1[i] = ko[i];
        }
        run.t = t_new;
        if (event(y)) rhs(y, run.k1);
    }
}

// y: N state components (updated); h: the neuron's carried sub-step size (<= 0: start at
// dt); rhs(y, f) writes dy/dt; atol: absolute tolerance per component (control_y).
template <int N, typename Rhs>
__device__ __forceinline__ void rkf45_step(const Rhs& rhs, real* y, real& h, const real dt,
                                           const real* atol)
{
    Rkf45Run<N> run;
    rkf45_begin<N>(rhs, y, h, dt, run);
    while (!run.done(dt)) rkf45_attempt_atol<N>(rhs, y, h, dt, atol, run);
}

// As rkf45_step, with the control_yp error bound (rkf45_attempt_events), a first sub-step
// of min(h_init, dt), and event(y) after every accepted sub-step.
template <int N, typename Rhs, typename Event>
__device__ __forceinline__ void rkf45_step_events(const Rhs& rhs, const Event& event, real* y,
                                                  real& h, const real dt, const real* scale,
                                                  const real tol, const real h_init)
{
    Rkf45Run<N> run;
    rkf45_begin<N>(rhs, y, h, h_init < dt ? h_init : dt, run);
    while (!run.done(dt)) rkf45_attempt_events<N>(rhs, event, y, h, dt, scale, tol, run);
}
