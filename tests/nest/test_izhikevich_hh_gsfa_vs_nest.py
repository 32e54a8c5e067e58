"""Izhikevich, HH_cond_exp and IF_cond_exp_gsfa_grr against pyNN.nest (izhikevich,
hh_cond_exp_traub, iaf_cond_exp_sfa_rr), spike for spike.

Five neurons per model differ in their parameters; two spike-source cells drive both
receptor ports (coincident spikes, several delays), a DCSource and a StepCurrentSource
drive one neuron each. Izhikevich's published integration scheme and its lower bound
on v, which PyNN cannot set, are compared with NEST directly at engine level.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.nest

DT = 0.1
T_STOP = 100.0

CELL_PARAMETERS = {
    "Izhikevich": dict(a=[0.02, 0.1, 0.02, 0.02, 0.03], b=[0.2, 0.2, 0.25, 0.2, 0.2],
                       c=[-65.0, -65.0, -50.0, -55.0, -60.0], d=[8.0, 2.0, 2.0, 4.0, 6.0],
                       i_offset=[0.0, 0.01, 0.005, 0.0, 0.0]),
    "HH_cond_exp": dict(i_offset=[0.0, 0.5, 1.0, 0.0, 0.0],
                        tau_syn_E=[0.2, 1.0, 0.5, 3.0, 0.2], tau_syn_I=[2.0, 2.0, 5.0, 1.0, 2.0],
                        gbar_K=[6.0, 6.0, 5.0, 7.0, 6.0], v_offset=[-63.0, -63.0, -60.0, -63.0,
                                                                    -65.0]),
    "IF_cond_exp_gsfa_grr": dict(i_offset=[0.0, 1.2, 1.5, 0.0, 0.0],
                                 tau_refrac=[2.0, 0.1, 0.25, 5.0, 0.0],
                                 q_rr=[3000.0, 1000.0, 500.0, 3000.0, 3000.0],
                                 q_sfa=[15.0, 30.0, 5.0, 15.0, 15.0],
                                 tau_sfa=[100.0, 50.0, 200.0, 100.0, 100.0]),
}
# (excitatory, inhibitory) weights: mV (Izhikevich's voltage jumps) or uS
WEIGHTS = {"Izhikevich": (12.0, -3.0), "HH_cond_exp": (0.5, 0.1),
           "IF_cond_exp_gsfa_grr": (1.5, 0.5)}
# DCSource amplitude and StepCurrentSource amplitudes (nA)
CURRENTS = {"Izhikevich": (0.004, [0.01, -0.002]), "HH_cond_exp": (0.8, [1.0, -0.2]),
            "IF_cond_exp_gsfa_grr": (0.8, [1.5, 0.3])}
TRACES = {"Izhikevich": ("v", "u"), "HH_cond_exp": ("v", "gsyn_exc", "gsyn_inh"),
          "IF_cond_exp_gsfa_grr": ("v", "gsyn_exc", "gsyn_inh", "g_r", "g_s")}
# Izhikevich: the same arithmetic as NEST. The RKF45 models take the same sub-steps as
# NEST, computing in uS/nF/nA rather than nS/pF/pA (deviations are rounding errors).
TOLERANCES = {
    "Izhikevich": {"v": 1e-9, "u": 1e-9},
    "HH_cond_exp": {"v": 1e-6, "gsyn_exc": 1e-12, "gsyn_inh": 1e-12},
    "IF_cond_exp_gsfa_grr": {"v": 1e-8, "gsyn_exc": 1e-12, "gsyn_inh": 1e-12, "g_r": 1e-6,
                             "g_s": 1e-6},
}

EXC_TIMES = [[5.0, 5.0, 20.0, 20.3, 40.0, 60.0, 61.0, 62.0, 63.0, 64.0],
             [10.0, 22.0, 31.0, 31.05, 75.0]]
INH_TIMES = [[3.0, 7.0, 20.0, 20.04, 50.0, 62.5]]


@pytest.fixture
def nest_gsfa_recordable(nest_sim, monkeypatch):
    """pyNN.nest 0.13 maps IF_cond_exp_gsfa_grr's g_r, g_s to no NEST name (its map says
    g_rr, g_sfa), so it cannot even create the cell type; supply the mapping (nS in both)."""
    celltype = nest_sim.IF_cond_exp_gsfa_grr
    monkeypatch.setattr(celltype, "variable_map",
                        dict(celltype.variable_map, g_r="g_rr", g_s="g_sfa"))
    monkeypatch.setattr(celltype, "scale_factors",
                        dict(celltype.scale_factors, g_r=1.0, g_s=1.0))
    return nest_sim


def build_and_run(sim, cell, backend_kw):
    """Run the scenario; returns (spike times per cell, {variable: samples})."""
    sim.setup(timestep=DT, min_delay=DT, **backend_kw)
    exc = sim.Population(2, sim.SpikeSourceArray(spike_times=EXC_TIMES))
    inh = sim.Population(1, sim.SpikeSourceArray(spike_times=INH_TIMES))
    cells = sim.Population(5, getattr(sim, cell)(**CELL_PARAMETERS[cell]))
    w_exc, w_inh = WEIGHTS[cell]
    all_to_all = sim.AllToAllConnector()
    sim.Projection(exc, cells, all_to_all, sim.StaticSynapse(weight=w_exc, delay=1.0))
    sim.Projection(exc, cells, all_to_all, sim.StaticSynapse(weight=0.5 * w_exc, delay=2.3))
    sim.Projection(inh, cells, all_to_all, sim.StaticSynapse(weight=w_inh, delay=DT),
                   receptor_type="inhibitory")
    dc_amplitude, step_amplitudes = CURRENTS[cell]
    sim.DCSource(amplitude=dc_amplitude, start=30.0, stop=70.0).inject_into(cells[3:4])
    sim.StepCurrentSource(times=[20.0, 50.0], amplitudes=step_amplitudes).inject_into(
        cells[4:5])
    cells.record(["spikes", *TRACES[cell]])
    sim.run(T_STOP)
    segment = cells.get_data().segments[0]
    spikes = [st.times.magnitude.copy() for st in segment.spiketrains]
    traces = {v: segment.filter(name=v)[0].magnitude.copy() for v in TRACES[cell]}
    sim.end()
    return spikes, traces


@pytest.mark.parametrize("cell", list(CELL_PARAMETERS))
def test_cell_matches_nest(sim, nest_gsfa_recordable, cell):
    spikes, traces = build_and_run(sim, cell, {"backend": sim.test_backend})
    nest_spikes, nest_traces = build_and_run(nest_gsfa_recordable, cell,
                                             {"spike_precision": "on_grid"})
    # every neuron fires, and several times in all
    assert all(len(s) > 0 for s in nest_spikes)
    assert sum(len(s) for s in nest_spikes) > 20
    for ours, theirs in zip(spikes, nest_spikes):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-9)
    for variable, tolerance in TOLERANCES[cell].items():
        ours, theirs = traces[variable], nest_traces[variable]
        assert ours.shape == theirs.shape == (round(T_STOP / DT) + 1, 5)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=tolerance, err_msg=variable)


def test_izhikevich_published_scheme_and_v_min_match_nest(backend, nest_sim):
    """consistent_integration = 0 (two half steps for v, u from the new v) and a lower
    bound on v that strong inhibition reaches, against NEST's izhikevich directly."""
    import nest

    from pyNN_neurongpu.engine import Backend, Network

    n_steps = 1000
    spike_times = [5.0, 5.0, 12.0, 30.0, 30.1, 41.0, 60.0, 77.0]
    weights = [10.0, 8.0, -40.0, 12.0, 9.0, -60.0, 15.0, -35.0]
    params = {"a": 0.02, "b": 0.2, "c": -60.0, "d": 6.0, "V_m": -70.0, "U_m": -14.0,
              "I_e": 10.0}
    neurons = nest.Create("izhikevich", 3, params=params)
    neurons[0].consistent_integration = False
    neurons[1].V_min = -80.0
    neurons[2].set(consistent_integration=False, V_min=-75.0)
    for t, w in zip(spike_times, weights):
        generator = nest.Create("spike_generator", params={"spike_times": [t]})
        nest.Connect(generator, neurons, syn_spec={"weight": w, "delay": DT})
    multimeter = nest.Create("multimeter", params={"record_from": ["V_m", "U_m"],
                                                   "interval": DT})
    recorder = nest.Create("spike_recorder")
    nest.Connect(multimeter, neurons)
    nest.Connect(neurons, recorder)
    nest.Simulate(n_steps * DT + DT)   # the sample at n_steps * DT comes one step later
    events = multimeter.get("events")
    order = np.lexsort((events["senders"], events["times"]))
    nest_v = np.asarray(events["V_m"])[order].reshape(-1, 3)[:n_steps]
    nest_u = np.asarray(events["U_m"])[order].reshape(-1, 3)[:n_steps]
    spikes = recorder.get("events")
    in_time = spikes["times"] <= n_steps * DT + 1e-9
    spikes = {k: np.asarray(spikes[k])[in_time] for k in ("times", "senders")}

    net = Network(Backend(backend), dt=DT)
    src = net.add_neurons("spike_source_array", len(spike_times),
                          {"spike_times": [[t] for t in spike_times]})
    cells = net.add_neurons("izhikevich", 3, {
        "a": 0.02, "b": 0.2, "c": -60.0, "d": 6.0, "i_offset": 0.01,
        "consistent_integration": [0.0, 1.0, 0.0], "v_min": [-np.inf, -80.0, -75.0]})
    pre = np.tile(src.gids, 3)
    post = np.repeat(cells.gids, len(spike_times))
    w = np.tile(weights, 3)
    net.connect(pre[w > 0], post[w > 0], w[w > 0], 1, "excitatory")
    net.connect(pre[w < 0], post[w < 0], w[w < 0], 1, "inhibitory")
    v_rec = net.record_state(cells.group, "v", cells.local)
    u_rec = net.record_state(cells.group, "u", cells.local)
    net.record_spikes(cells.group, cells.local)
    net.run(n_steps)
    steps, ids, _ = cells.group.spike_recorder.events()

    assert len(spikes["times"]) > 10
    assert nest_v[:, 1].min() == -80.0 and nest_v[:, 2].min() == -75.0   # the bound acts
    np.testing.assert_allclose(v_rec.data()[1][1:], nest_v, rtol=0, atol=1e-9)
    np.testing.assert_allclose(u_rec.data()[1][1:], nest_u, rtol=0, atol=1e-9)
    nest_order = np.lexsort((spikes["senders"], spikes["times"]))
    np.testing.assert_allclose((steps + 1) * DT, spikes["times"][nest_order], atol=1e-9)
    np.testing.assert_array_equal(ids, spikes["senders"][nest_order] - neurons[0].global_id)
