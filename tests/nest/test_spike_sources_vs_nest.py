"""Random spike sources against pyNN.nest: the same statistics (rate, CV of the
intervals) and, for the Poisson source, the same activity window."""

import numpy as np
import pytest

pytestmark = pytest.mark.nest

DT = 0.1
MIN_DELAY = 0.1
# pyNN.nest sets its generators' origin to 1 ms and relays them through parrot
# neurons over min_delay: its trains are ours shifted by this much
NEST_SHIFT = 1.0 + MIN_DELAY


def run_sources(sim, celltype, n, t_stop, **setup_kw):
    sim.setup(timestep=DT, min_delay=MIN_DELAY, rng_seed=87, **setup_kw)
    src = sim.Population(n, celltype(sim))
    src.record("spikes")
    sim.run(t_stop)
    return [st.magnitude.copy() for st in src.get_data().segments[0].spiketrains]


def rate_and_cv(ts, t_stop):
    isi = np.concatenate([np.diff(t[t <= t_stop]) for t in ts])
    n = sum(np.sum(t <= t_stop) for t in ts)
    return n, isi.std() / isi.mean()


CASES = {
    "poisson": lambda sim: sim.SpikeSourcePoisson(rate=50.0),
    "gamma": lambda sim: sim.SpikeSourceGamma(alpha=4, beta=400.0),
    "poisson_refractory": lambda sim: sim.SpikeSourcePoissonRefractory(rate=50.0,
                                                                        tau_refrac=5.0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_statistics_match_nest(sim, nest_sim, case):
    n_src, t_stop = 400, 1000.0
    ours = run_sources(sim, CASES[case], n_src, t_stop, backend=sim.test_backend)
    theirs = run_sources(nest_sim, CASES[case], n_src, t_stop, spike_precision="on_grid")
    n_ours, cv_ours = rate_and_cv(ours, t_stop)
    n_theirs, cv_theirs = rate_and_cv(theirs, t_stop)
    assert n_theirs > 10000
    # independent realisations: counts within 4 sigma (Poisson bound), CVs within 0.04
    assert abs(n_ours - n_theirs) < 4 * np.sqrt(n_ours + n_theirs)
    assert abs(cv_ours - cv_theirs) < 0.04


def test_poisson_window_matches_nest(sim, nest_sim):
    def window(sim):
        return sim.SpikeSourcePoisson(rate=1e5, start=[3.0, 10.0], duration=[4.0, 2.5])

    ours = run_sources(sim, window, 2, 20.0, backend=sim.test_backend)
    theirs = run_sources(nest_sim, window, 2, 20.0, spike_precision="on_grid")
    for a, b in zip(ours, theirs):
        steps_ours = np.unique(np.rint(a / DT).astype(int))
        steps_theirs = np.unique(np.rint((b - NEST_SHIFT) / DT).astype(int))
        assert steps_ours.size > 10
        np.testing.assert_array_equal(steps_ours, steps_theirs)
