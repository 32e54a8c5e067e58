// poisson_source: a Poisson-distributed number of spikes per step while active
// (reference: pyNN_neurongpu/engine/models/spike_sources.py).
const double t = step * dt;
if (t + 1e-9 >= start && t + 1e-9 < start + duration) {
    n_spikes = poisson_count(rng, lam);
}
