// iaf_cond_alpha: one step in NEST's order (reference: engine/models/iaf_cond_alpha.py):
// adaptive RKF45 over the step, refractoriness or spike and reset, then input.
const bool refractory = refrac > 0;
auto rhs = [&](const real* y, real* f) {
    const real vm = refractory ? v_reset : fmin(y[0], v_thresh);
    const real i_exc = y[2] * (vm - e_rev_E);
    const real i_inh = y[4] * (vm - e_rev_I);
    const real i_leak = g_leak * (vm - v_rest);
    const real dv = (-i_leak - i_exc - i_inh + i_stim + i_offset) / cm;
    f[0] = refractory ? (real)0 : dv;
    f[1] = -y[1] / tau_syn_E;
    f[2] = y[1] - y[2] / tau_syn_E;
    f[3] = -y[3] / tau_syn_I;
    f[4] = y[3] - y[4] / tau_syn_I;
};
const real atol[5] = {(real)1e-3, (real)1e-6, (real)1e-6, (real)1e-6, (real)1e-6};
real y[5] = {v, dgsyn_exc, gsyn_exc, dgsyn_inh, gsyn_inh};
rkf45_step<5>(rhs, y, h_int, (real)dt, atol);
v = y[0];
dgsyn_exc = y[1];
gsyn_exc = y[2];
dgsyn_inh = y[3];
gsyn_inh = y[4];
if (refractory) {
    refrac -= 1;
    v = v_reset;
} else if (v >= v_thresh) {
    refrac = ref_steps;
    v = v_reset;
    n_spikes = 1;
}
dgsyn_exc = dgsyn_exc + in_excitatory * psc0_exc;
dgsyn_inh = dgsyn_inh + in_inhibitory * psc0_inh;
i_stim = stim_now;
