// iaf_psc_alpha: one step in NEST's order (reference: engine/models/iaf_psc_alpha.py).
real y3 = v - v_rest;
const bool free_neuron = refrac == 0;
if (free_neuron) {
    y3 = P30 * (i_stim + i_offset) + P31ex * disyn_exc + P32ex * isyn_exc
         + P31in * disyn_inh + P32in * isyn_inh + expm1_tau_m * y3 + y3;
} else {
    refrac -= 1;
}
const real isyn_exc_old = isyn_exc, isyn_inh_old = isyn_inh;
isyn_exc = P21ex * disyn_exc + P11ex * isyn_exc_old;
disyn_exc = disyn_exc * P11ex + psc0ex * in_excitatory;
isyn_inh = P21in * disyn_inh + P11in * isyn_inh_old;
disyn_inh = disyn_inh * P11in + psc0in * in_inhibitory;
if (y3 >= theta) {
    refrac = ref_steps;
    v = v_reset;
    n_spikes = 1;
} else if (free_neuron) {
    v = y3 + v_rest;
}
i_stim = stim_now;
