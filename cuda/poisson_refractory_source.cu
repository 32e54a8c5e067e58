// poisson_refractory_source: Poisson process with dead time tau (in steps), simulated in
// continuous time within the step; `dead` is the dead time left at the step's start
// (reference: spike_sources.py).
if (!primed) {
    const double u = rng.uniform(), w = rng.uniform();
    dead = u < p_dead ? w * tau : 0.0;
    primed = true;
}
if (dead > tau) dead = tau;   // tau_refrac may have shrunk between runs
if (step >= first && step <= last) {
    if (poisson) {
        n_spikes = poisson_count(rng, lam);
    } else if (isfinite(wait)) {
        double live_from = dead;
        for (;;) {
            const double t = live_from + rng.exponential() * wait;
            if (t > 1.0) break;
            n_spikes += 1;
            live_from = t + tau;
        }
        dead = live_from - 1.0 > 0.0 ? live_from - 1.0 : 0.0;
    } else {
        dead = dead - 1.0 > 0.0 ? dead - 1.0 : 0.0;
    }
}
