// iaf_psc_delta: one step in NEST's order (reference: engine/models/iaf_psc_delta.py).
const real jump = in_excitatory + in_inhibitory;
real y3 = v - v_rest;
const bool free_neuron = refrac == 0;
if (free_neuron) {
    y3 = P30 * (i_stim + i_offset) + P33 * y3 + jump;
    y3 = y3 + refr_input;
    refr_input = 0;
} else {
    refr_input = keep_refr_input ? refr_input + jump * exp(-refrac * dt / tau_m) : (real)0;
    refrac -= 1;
}
if (y3 >= theta) {
    refrac = ref_steps;
    v = v_reset;
    n_spikes = 1;
} else if (free_neuron) {
    v = y3 + v_rest;
}
i_stim = stim_now;
