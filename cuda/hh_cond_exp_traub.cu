// hh_cond_exp_traub: one step in NEST's order (reference: engine/models/hh_cond_exp_traub.py):
// adaptive RKF45 over the step, input, then refractory countdown or spike detection
// (V at or above v_offset + 30 mV and falling).
// c x / (exp(x / s) - 1), with its limit c s where the denominator vanishes
auto rate = [](const real c, const real x, const real s) {
    const real den = exp(x / s) - (real)1.0;
    return den == (real)0 ? c * s : c * x / den;
};
auto rhs = [&](const real* y, real* f) {
    const real vm = y[0], gm = y[1], gh = y[2], gn = y[3];
    const real i_na = gbar_Na * gm * gm * gm * gh * (vm - e_rev_Na);
    const real i_k = gbar_K * gn * gn * gn * gn * (vm - e_rev_K);
    const real i_leak = g_leak * (vm - e_rev_leak);
    const real i_exc = y[4] * (vm - e_rev_E);
    const real i_inh = y[5] * (vm - e_rev_I);
    f[0] = (-i_na - i_k - i_leak - i_exc - i_inh + i_stim + i_offset) / cm;
    const real u = vm - v_offset;
    const real alpha_n = rate((real)0.032, (real)15.0 - u, (real)5.0);
    const real beta_n = (real)0.5 * exp(((real)10.0 - u) / (real)40.0);
    const real alpha_m = rate((real)0.32, (real)13.0 - u, (real)4.0);
    const real beta_m = rate((real)0.28, u - (real)40.0, (real)5.0);
    const real alpha_h = (real)0.128 * exp(((real)17.0 - u) / (real)18.0);
    const real beta_h = (real)4.0 / ((real)1.0 + exp(((real)40.0 - u) / (real)5.0));
    f[1] = alpha_m - (alpha_m + beta_m) * gm;
    f[2] = alpha_h - (alpha_h + beta_h) * gh;
    f[3] = alpha_n - (alpha_n + beta_n) * gn;
    f[4] = -y[4] / tau_syn_E;
    f[5] = -y[5] / tau_syn_I;
};
const real atol[6] = {(real)1e-3, (real)1e-3, (real)1e-3, (real)1e-3, (real)1e-6, (real)1e-6};
const real v_start = v;
real y[6] = {v, m, h, n, gsyn_exc, gsyn_inh};
rkf45_step<6>(rhs, y, h_int, (real)dt, atol);
v = y[0];
m = y[1];
h = y[2];
n = y[3];
gsyn_exc = y[4] + in_excitatory;
gsyn_inh = y[5] + in_inhibitory;
if (refrac > 0) {
    refrac -= 1;
} else if (v >= v_offset + (real)30.0 && v_start > v) {
    refrac = ref_steps;
    n_spikes = 1;
}
i_stim = stim_now;
