// iaf_cond_exp: one step in NEST's order (reference: engine/models/iaf_cond_exp.py):
// adaptive RKF45 over the step, then input, then refractoriness or spike and reset.
const bool refractory = refrac > 0;
auto rhs = [&](const real* y, real* f) {
    const real vm = refractory ? v_reset : fmin(y[0], v_thresh);
    const real i_exc = y[1] * (vm - e_rev_E);
    const real i_inh = y[2] * (vm - e_rev_I);
    const real i_leak = g_leak * (vm - v_rest);
    const real dv = (-i_leak + i_stim + i_offset - i_exc - i_inh) / cm;
    f[0] = refractory ? (real)0 : dv;
    f[1] = -y[1] / tau_syn_E;
    f[2] = -y[2] / tau_syn_I;
};
const real atol[3] = {(real)1e-3, (real)1e-6, (real)1e-6};
real y[3] = {v, gsyn_exc, gsyn_inh};
rkf45_step<3>(rhs, y, h_int, (real)dt, atol);
v = y[0];
gsyn_exc = y[1] + in_excitatory;
gsyn_inh = y[2] + in_inhibitory;
if (refractory) {
    refrac -= 1;
    v = v_reset;
} else if (v >= v_thresh) {
    refrac = ref_steps;
    v = v_reset;
    n_spikes = 1;
}
i_stim = stim_now;
