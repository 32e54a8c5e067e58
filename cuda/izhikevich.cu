// izhikevich: one step in NEST's order (reference: engine/models/izhikevich.py).
// I (pA in NEST, used as mV/ms) is 1000 x the injected current in nA.
const real h = (real)dt;
const real current = i_stim * (real)1000.0;
const real jump = in_excitatory + in_inhibitory;
real v_new, u_new;
if (euler) {
    v_new = v + (h * ((real)0.04 * v * v + (real)5.0 * v + (real)140.0 - u + current + I_e)
                + jump);
    u_new = u + h * a * (b * v - u);
} else {
    v_new = v;
    for (int half = 0; half < 2; ++half)
        v_new = v_new + h * (real)0.5 * ((real)0.04 * v_new * v_new + (real)5.0 * v_new
                                                + (real)140.0 - u + current + I_e + jump);
    u_new = u + h * a * (b * v_new - u);
}
if (v_new < v_min) v_new = v_min;
if (v_new >= v_thresh) {
    v_new = c;
    u_new = u_new + d;
    n_spikes = 1;
}
v = v_new;
u = u_new;
i_stim = stim_now;
