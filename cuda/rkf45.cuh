// Adaptive embedded Runge-Kutta-Fehlberg 4(5) over one time step, for one neuron: the
// device twin of pyNN_neurongpu/engine/models/integrators.py (same tableau, same order of
// operations, same step control), so GPU and CPU take the same sub-steps.
#pragma once
#include "neurongpu_common.cuh"

// y: N state components (updated); h: the neuron's carried sub-step size (<= 0: start at
// dt); rhs(y, f) writes dy/dt; atol: absolute tolerance per component.
template <int N, typename Rhs>
__device__ __forceinline__ void rkf45_step(const Rhs& rhs, real* y, real& h, const real dt,
                                           const real* atol)
{
    const real A0 = (real)(1.0 / 4.0), A1 = (real)(3.0 / 8.0);
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
    const real tiny = sizeof(real) == 8 ? (real)2.2250738585072014e-308 : (real)1.17549435e-38f;
    (void)A1;
    real k1[N], k2[N], k3[N], k4[N], k5[N], k6[N], yt[N], yn[N], ko[N];
    if (!(h > 0)) h = dt;
    real t = 0;
    rhs(y, k1);
    while (t < dt) {
        const real remaining = dt - t;
        const bool final_step = h > remaining;
        const real h0 = final_step ? remaining : h;
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
            yn[i] = y[i] + h0 * (C1 * k1[i] + C3 * k3[i] + C4 * k4[i] + C5 * k5[i]
                                 + C6 * k6[i]);
        rhs(yn, ko);
        real rmax = 0;
        for (int i = 0; i < N; ++i) {
            const real err = h0 * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i]
                                   + E6 * k6[i]);
            const real r = fabs(err) / atol[i];
            rmax = r > rmax ? r : rmax;
        }
        rmax = rmax > tiny ? rmax : tiny;
        const real t_new = final_step ? dt : t + h0;
        const real r_dec = fmax((real)0.9 / pow(rmax, (real)(1.0 / 5.0)), (real)0.2);
        const real r_inc = fmin(fmax((real)0.9 / pow(rmax, (real)(1.0 / 6.0)), (real)1.0),
                                (real)5.0);
        const bool decrease = rmax > (real)1.1;
        const real h_dec = r_dec * h0;
        real h_next = decrease ? h_dec : (rmax < (real)0.5 ? r_inc * h0 : h0);
        const bool retry = decrease && h_dec < h0 && (t_new + h_dec != t_new);
        if (decrease && !retry) h_next = h0;
        if (!retry) {
            for (int i = 0; i < N; ++i) {
                y[i] = yn[i];
                k1[i] = ko[i];
            }
            t = t_new;
        }
        h = h_next;
    }
}
