// gamma_source: gamma renewal process of integer order alpha as alpha exponential stages;
// the stage transitions in a step are Poisson(lam) (reference: spike_sources.py).
if (!primed) {
    // start in the stationary state: a uniformly drawn stage
    long long s0 = (long long)floor(rng.uniform() * (double)alpha);
    stage = s0 < alpha - 1 ? s0 : alpha - 1;
    primed = true;
}
if (stage > alpha - 1) stage = alpha - 1;   // alpha may have been lowered between runs
if (step >= first && step <= last) {
    const long long total = stage + poisson_count(rng, lam);
    stage = total % alpha;
    n_spikes = (int)(total / alpha);
}
