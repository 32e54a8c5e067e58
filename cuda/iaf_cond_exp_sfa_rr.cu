// iaf_cond_exp_sfa_rr: one step in NEST's order (reference:
// engine/models/iaf_cond_exp_sfa_rr.py): adaptive RKF45 over the step, input, then
// refractoriness or spike, reset and the jumps of g_s and g_r (nS).
const bool refractory = refrac > 0;
auto rhs = [&](const real* y, real* f) {
    const real vm = refractory ? v_reset : fmin(y[0], v_thresh);
    const real i_exc = y[1] * (vm - e_rev_E);
    const real i_inh = y[2] * (vm - e_rev_I);
    const real i_leak = g_leak * (vm - v_rest);
    const real i_sfa = y[3] * (vm - e_rev_sfa) / (real)1000.0;
    const real i_rr = y[4] * (vm - e_rev_rr) / (real)1000.0;
    const real dv = (-i_leak + i_stim + i_offset - i_exc - i_inh - i_sfa - i_rr) / cm;
    f[0] = refractory ? (real)0 : dv;
    f[1] = -y[1] / tau_syn_E;
    f[2] = -y[2] / tau_syn_I;
    f[3] = -y[3] / tau_sfa;
    f[4] = -y[4] / tau_rr;
};
const real atol[5] = {(real)1e-3, (real)1e-6, (real)1e-6, (real)1e-3, (real)1e-3};
real y[5] = {v, gsyn_exc, gsyn_inh, g_s, g_r};
rkf45_step<5>(rhs, y, h_int, (real)dt, atol);
v = y[0];
gsyn_exc = y[1] + in_excitatory;
gsyn_inh = y[2] + in_inhibitory;
g_s = y[3];
g_r = y[4];
if (refractory) {
    refrac -= 1;
    v = v_reset;
} else if (v >= v_thresh) {
    refrac = ref_steps;
    v = v_reset;
    g_s = g_s + q_sfa;
    g_r = g_r + q_rr;
    n_spikes = 1;
}
i_stim = stim_now;
