// iaf_psc_exp: update of one neuron for one step, in NEST's order (see
// pyNN_neurongpu/engine/models/iaf_psc_exp.py for the reference and the declaration).
// The generated kernel around this fragment provides: the neuron's parameters, derived
// propagators and state as local variables named as in the declaration; `in_excitatory`,
// `in_inhibitory` (this step's synaptic input); `stim_now` (injected current arriving now);
// and `n_spikes`, which the fragment sets to the number of spikes emitted.
if (refrac == 0) {
    v = v_rest + ((v - v_rest) * P22 + isyn_exc * P21ex + isyn_inh * P21in
                  + (i_offset + i_stim) * P20);
} else {
    refrac -= 1;
}
isyn_exc = isyn_exc * P11ex + in_excitatory;
isyn_inh = isyn_inh * P11in + in_inhibitory;
if (v >= v_thresh) {
    refrac = ref_steps;
    v = v_reset;
    n_spikes = 1;
}
i_stim = stim_now;
