"""Precise spike timing (setup(spike_precision="off_grid")) against pyNN.nest's default
run: NEST's iaf_psc_exp_ps, iaf_psc_delta_ps, spike_generator with precise times and
poisson_generator_ps. Spike times agree within 1e-6 ms and membrane traces within
1e-6 mV (float64, CPU engine)."""

import numpy as np
import pytest

pytestmark = pytest.mark.nest

SPIKE_ATOL = 1e-6   # ms
V_ATOL = 1e-6       # mV

EXC_TIMES = [1.03, 5.0, 5.37, 5.38, 10.0, 12.05, 12.051, 30.77, 31.0, 31.01, 44.444]
INH_TIMES = [3.33, 7.0, 20.05, 21.5, 31.005]


@pytest.fixture
def nest_off_grid(nest_module, monkeypatch):
    """pyNN.nest as a script gets it by default (spike_precision='off_grid'). Its
    IF_curr_delta lacks the map of v to NEST's V_m, which recording v needs."""
    monkeypatch.setattr(nest_module.IF_curr_delta, "variable_map", {"v": "V_m"},
                        raising=False)
    monkeypatch.setattr(nest_module.IF_curr_delta, "scale_factors", {"v": 1},
                        raising=False)
    # pyNN.nest's setup() keeps the previous spike_precision where none is given, and
    # other tests leave it 'on_grid': set its default back
    nest_module.simulator.state.spike_precision = "off_grid"
    yield nest_module
    nest_module.end()


def _setup(sim, timestep, backend):
    kw = {"verbosity": "error"}
    if backend is not None:   # ours: the CPU engine, float64, off-grid
        kw.update(backend=backend, precision="float64", spike_precision="off_grid")
    sim.setup(timestep=timestep, min_delay=timestep, **kw)


def _results(cells, variables=("v",)):
    seg = cells.get_data().segments[0]
    spikes = [st.magnitude.copy() for st in seg.spiketrains]
    traces = {v: seg.filter(name=v)[0].magnitude.copy() for v in variables}
    return spikes, traces


def single_neurons(sim, celltype, backend=None, exc_w=2.0, inh_w=-1.0, stim=None,
                   **params):
    _setup(sim, 0.1, backend)
    exc = sim.Population(1, sim.SpikeSourceArray(spike_times=EXC_TIMES))
    inh = sim.Population(1, sim.SpikeSourceArray(spike_times=INH_TIMES))
    cells = sim.Population(3, getattr(sim, celltype)(**params))
    sim.Projection(exc, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=exc_w, delay=1.0))
    sim.Projection(inh, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=inh_w, delay=0.7), receptor_type="inhibitory")
    if stim == "step":
        sim.StepCurrentSource(times=[4.0, 15.3, 33.0], amplitudes=[0.9, 0.2, 1.4]
                              ).inject_into(cells)
    elif stim == "dc":
        sim.DCSource(amplitude=0.6, start=2.0, stop=40.0).inject_into(cells)
    cells.record(["spikes", "v"])
    sim.run(60.0)
    return _results(cells)


def _compare(ours, theirs, min_spikes=1):
    (s_ours, v_ours), (s_nest, v_nest) = ours, theirs
    assert sum(len(s) for s in s_nest) >= min_spikes
    for a, b in zip(s_ours, s_nest):
        assert a.shape == b.shape, (a, b)
        np.testing.assert_allclose(a, b, rtol=0, atol=SPIKE_ATOL)
    for name in v_nest:
        assert v_ours[name].shape == v_nest[name].shape
        np.testing.assert_allclose(v_ours[name], v_nest[name], rtol=0, atol=V_ATOL)


CASES = {
    "exp_inputs": ("IF_curr_exp", dict(i_offset=[0.0, 0.8, 0.3], tau_refrac=2.0,
                                       tau_syn_E=3.0, tau_syn_I=10.0,
                                       tau_m=[10.0, 20.0, 3.0]), {"exc_w": 3.0}),
    "exp_step_current": ("IF_curr_exp", dict(tau_refrac=1.0, tau_m=[10.0, 15.0, 5.0]),
                         {"stim": "step"}),
    "exp_dc": ("IF_curr_exp", dict(tau_refrac=0.25, tau_m=[10.0, 15.0, 5.0],
                                   tau_syn_E=[2.0, 15.0, 1.0]), {"stim": "dc"}),
    "delta_inputs": ("IF_curr_delta", dict(i_offset=[0.0, 0.9, 0.3], tau_refrac=2.0,
                                           tau_m=[10.0, 20.0, 3.0]),
                     {"exc_w": 8.0, "inh_w": -3.0}),
    "delta_step_current": ("IF_curr_delta", dict(tau_refrac=1.0, tau_m=[10.0, 15.0, 5.0]),
                           {"stim": "step", "exc_w": 6.0}),
    "delta_dc": ("IF_curr_delta", dict(tau_refrac=0.25, tau_m=[10.0, 15.0, 5.0]),
                 {"stim": "dc", "exc_w": 4.0}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_single_neurons_match_nest(nest_off_grid, case):
    import pyNN.neurongpu as ours
    celltype, params, kw = CASES[case]
    theirs = single_neurons(nest_off_grid, celltype, **kw, **params)
    mine = single_neurons(ours, celltype, backend="cpu", **kw, **params)
    _compare(mine, theirs, min_spikes=2)
    # and the spikes are off the grid
    times = np.concatenate(mine[0])
    assert np.any(np.abs(times / 0.1 - np.round(times / 0.1)) > 1e-6)


def refractory_burst(sim, celltype, backend=None):
    """Strong input arriving during refractoriness and at its end; t_ref not a multiple
    of dt (0.25 ms: 3 steps)."""
    _setup(sim, 0.1, backend)
    times = [2.0, 2.03, 2.11, 2.14, 2.27, 2.33, 2.36, 6.0, 6.07, 6.3, 6.31]
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=times))
    w = 20.0 if celltype == "IF_curr_delta" else 6.0
    cells = sim.Population(2, getattr(sim, celltype)(tau_refrac=[0.25, 0.1], i_offset=0.4))
    sim.Projection(src, cells, sim.AllToAllConnector(), sim.StaticSynapse(weight=w, delay=1.0))
    cells.record(["spikes", "v"])
    sim.run(15.0)
    return _results(cells)


@pytest.mark.parametrize("celltype", ["IF_curr_exp", "IF_curr_delta"])
def test_refractory_case_matches_nest(nest_off_grid, celltype):
    import pyNN.neurongpu as ours
    theirs = refractory_burst(nest_off_grid, celltype)
    _compare(refractory_burst(ours, celltype, backend="cpu"), theirs, min_spikes=4)


def many_inputs_in_one_step(sim, celltype, backend=None):
    """Several sources whose spikes fall inside the same steps, some simultaneous."""
    _setup(sim, 0.1, backend)
    trains = [[5.01, 9.04, 9.041], [5.02, 9.04], [5.05, 9.099], [5.05, 9.001],
              [5.099, 9.05], [5.0, 9.1]]
    src = sim.Population(len(trains), sim.SpikeSourceArray(spike_times=trains))
    w = 4.0 if celltype == "IF_curr_delta" else 1.5
    cells = sim.Population(2, getattr(sim, celltype)(i_offset=[0.0, 0.5], tau_refrac=0.5))
    weights = np.array([[w, w], [w, w], [w / 2, w / 2], [w, w], [w, w], [w, w]])
    sim.Projection(src, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=weights, delay=1.0))
    cells.record(["spikes", "v"])
    sim.run(20.0)
    return _results(cells)


@pytest.mark.parametrize("celltype", ["IF_curr_exp", "IF_curr_delta"])
def test_several_inputs_in_one_step_match_nest(nest_off_grid, celltype):
    import pyNN.neurongpu as ours
    theirs = many_inputs_in_one_step(nest_off_grid, celltype)
    _compare(many_inputs_in_one_step(ours, celltype, backend="cpu"), theirs, min_spikes=2)


def synfire_chain(sim, backend=None, n=8, w=12.0):
    """A chain of IF_curr_exp neurons at dt = 1 ms: each link is one synapse of 1 ms."""
    _setup(sim, 1.0, backend)
    src = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0]))
    chain = sim.Population(n, sim.IF_curr_exp(tau_refrac=5.0))
    sim.Projection(src, chain[0:1], sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=w, delay=1.0))
    pre = np.arange(n - 1)
    sim.Projection(chain, chain, sim.FromListConnector(
        [(int(i), int(i) + 1, w, 1.0) for i in pre]))
    chain.record("spikes")
    sim.run(60.0)
    return [st.magnitude.copy() for st in chain.get_data().segments[0].spiketrains]


def test_synfire_link_at_1ms_matches_nest(nest_off_grid):
    import pyNN.neurongpu as ours
    theirs = synfire_chain(nest_off_grid)
    mine = synfire_chain(ours, backend="cpu")
    assert all(len(s) == 1 for s in theirs)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=0, atol=SPIKE_ATOL)
    link = np.diff(np.concatenate(mine))
    np.testing.assert_allclose(link, link[0], atol=1e-9)
    assert 2.0 < link[0] < 3.0   # off the grid: on-grid spiking gives 3 ms per link


def test_poisson_source_off_grid_statistics(nest_off_grid):
    import pyNN.neurongpu as ours
    rate, n, t_stop = 40.0, 300, 1000.0
    counts = {}
    for name, sim, kw in [("nest", nest_off_grid, {}),
                          ("ours", ours, {"backend": "cpu", "spike_precision": "off_grid"})]:
        sim.setup(timestep=0.1, min_delay=0.1, rng_seed=5, verbosity="error", **kw)
        src = sim.Population(n, sim.SpikeSourcePoisson(rate=rate, start=50.0,
                                                       duration=t_stop))
        src.record("spikes")
        sim.run(t_stop + 100.0)
        trains = [st.magnitude for st in src.get_data().segments[0].spiketrains]
        times = np.concatenate(trains)
        counts[name] = times.size
        expected = rate * n * t_stop / 1000.0
        assert abs(times.size - expected) < 5 * np.sqrt(expected)
        steps = times / 0.1
        assert np.mean(np.abs(steps - np.round(steps)) > 1e-6) > 0.99   # off the grid
        if name == "ours":
            assert times.min() > 50.0 and times.max() <= 50.0 + t_stop
            isi = np.concatenate([np.diff(t) for t in trains])
            assert abs(isi.std() / isi.mean() - 1.0) < 0.05           # Poisson: CV 1
            assert np.mean(isi < 0.1) > 0.5 * (1 - np.exp(-rate * 1e-4))  # several a step
    assert abs(counts["ours"] - counts["nest"]) < 5 * np.sqrt(counts["nest"])


def test_on_grid_default_unchanged():
    """Without spike_precision the engine keeps its on-grid families."""
    import pyNN.neurongpu as ours
    ours.setup(timestep=0.1, backend="cpu", verbosity="error")
    p = ours.Population(1, ours.IF_curr_exp())
    s = ours.Population(1, ours.SpikeSourcePoisson())
    assert p._slice_info.group.model.name == "iaf_psc_exp"
    assert s._slice_info.group.model.name == "poisson_source"
    ours.setup(timestep=0.1, backend="cpu", verbosity="error", spike_precision="off_grid")
    p = ours.Population(1, ours.IF_curr_exp())
    assert p._slice_info.group.model.name == "iaf_psc_exp_ps"
    ours.end()


def test_refractory_period_below_one_step_is_refused():
    import pyNN.neurongpu as ours
    from pyNN.errors import InvalidParameterValueError
    ours.setup(timestep=0.1, backend="cpu", verbosity="error", spike_precision="off_grid")
    with pytest.raises(InvalidParameterValueError, match="at least one time step"):
        ours.Population(1, ours.IF_curr_exp(tau_refrac=0.0))
    ours.end()
