// poisson_source: a Poisson-distributed number of spikes in each active step
// (reference and declaration: pyNN_neurongpu/engine/models/spike_sources.py).
if (step >= first && step <= last) {
    n_spikes = poisson_count(rng, lam);
}
