"""AdEx and composed point neurons against pyNN.nest (float64, dt = 0.1 ms).

Single neurons driven by spike arrays on every receptor, a step current and a constant
offset. The integration follows NEST's (RKF45 with GSL's step control, spikes detected
after every sub-step), so spike times are identical and traces agree to rounding:
well inside the 0.5 mV the issue asks for.
"""

import numpy as np
import pytest
from pyNN.parameters import Sequence

pytestmark = pytest.mark.nest

T_STOP = 200.0
TRAINS = [[10.0, 30.0, 31.0, 32.0, 33.0, 34.0, 120.0], [60.0, 61.0, 62.0, 140.0],
          [90.0, 91.0, 92.0, 93.0, 94.0, 150.0]]
# tolerances on traces (spike times must be identical): V everywhere (right after a
# spike the reset inside the step magnifies rounding differences), and for 99% of samples
V_TOL = 0.1       # mV
V_TOL_TYPICAL = 1e-4
W_TOL = 1e-6      # nA
G_TOL = 1e-12     # uS


def setup(sim):
    """min_delay = dt on both sides (pyNN.nest shifts spike-array times by min_delay)."""
    kw = ({"backend": sim.test_backend, "precision": "float64"}
          if hasattr(sim, "test_backend") else {"spike_precision": "on_grid"})
    sim.setup(timestep=0.1, min_delay=0.1, **kw)


def drive(sim, cells, receptors, weights):
    """Spike trains into each receptor (one source per receptor), a step current."""
    sources = sim.Population(len(receptors), sim.SpikeSourceArray(
        spike_times=[Sequence(TRAINS[k % len(TRAINS)]) for k in range(len(receptors))]))
    for k, (receptor, weight) in enumerate(zip(receptors, weights)):
        sim.Projection(sources[k:k + 1], cells, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=weight, delay=1.5), receptor_type=receptor)
    step = sim.StepCurrentSource(times=[50.0, 110.0, 170.0], amplitudes=[0.25, -0.1, 0.4])
    step.inject_into(cells)


def results(sim, cells, variables, t_stop=T_STOP):
    cells.record(["spikes", *variables])
    sim.run(t_stop)
    seg = cells.get_data().segments[0]
    trains = [np.asarray(st.magnitude) for st in seg.spiketrains]
    signals = {a.name: np.asarray(a.magnitude) for a in seg.analogsignals}
    return trains, signals


def assert_same(ours, nest, tolerances):
    (our_trains, our_signals), (nest_trains, nest_signals) = ours, nest
    assert sum(t.size for t in nest_trains) > 3, "the test should make the neurons fire"
    for a, b in zip(our_trains, nest_trains):
        assert a.size == b.size
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    for name, tol in tolerances.items():
        np.testing.assert_allclose(our_signals[name], nest_signals[name], rtol=0, atol=tol,
                                   err_msg=name)
    dv = np.abs(our_signals["v"] - nest_signals["v"])
    assert np.quantile(dv, 0.99) < V_TOL_TYPICAL


EIF_PARAMS = dict(i_offset=[0.6, 0.3, 0.35, 0.8], tau_refrac=[2.0, 0.0, 0.3, 0.0],
                  b=[0.0805, 0.3, 0.0, 0.0805], delta_T=[2.0, 0.5, 0.0, 2.0],
                  v_spike=[-40.0, -30.0, -45.0, 0.0], a=[4.0, 10.0, 0.0, 4.0])


def run_eif(sim, cell_type):
    setup(sim)
    cells = sim.Population(4, getattr(sim, cell_type)(**EIF_PARAMS))
    # (w stays at 0: pyNN.nest 0.13 hands initial values of w to NEST unscaled, nA as pA)
    cells.initialize(v=-65.0)
    drive(sim, cells, ["excitatory", "inhibitory"], [0.03, 0.08])
    return results(sim, cells, ["v", "w", "gsyn_exc", "gsyn_inh"])


@pytest.mark.parametrize("cell_type", ["EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista"])
def test_eif_matches_nest(sim, nest_sim, cell_type):
    ours = run_eif(sim, cell_type)
    nest = run_eif(nest_sim, cell_type)
    assert_same(ours, nest, {"v": V_TOL, "w": W_TOL, "gsyn_exc": G_TOL, "gsyn_inh": G_TOL})


def run_burst(sim, cell_type):
    setup(sim)
    cells = sim.Population(1, getattr(sim, cell_type)(i_offset=200.0, tau_refrac=0.0, b=0.0,
                                                      v_spike=-45.0))
    return results(sim, cells, ["v"], t_stop=20.0)


@pytest.mark.parametrize("cell_type", ["EIF_cond_exp_isfa_ista", "EIF_cond_alpha_isfa_ista"])
def test_several_spikes_in_one_step_as_nest(sim, nest_sim, cell_type):
    """Without refractoriness a strongly driven AdEx neuron spikes after every sub-step
    that reaches v_spike: several spikes with the same time stamp, as in NEST."""
    ours = run_burst(sim, cell_type)
    nest = run_burst(nest_sim, cell_type)
    ours, nest = ours[0][0], nest[0][0]
    assert np.unique(ours).size < ours.size and np.unique(nest).size < nest.size
    # in this regime a spike that reaches v_spike at the very end of a step may go to
    # either step with rounding: counts per step agree within one, totals within 1%
    edges = np.arange(0.05, 20.1, 0.1)
    per_step = np.histogram(ours, edges)[0] - np.histogram(nest, edges)[0]
    assert np.abs(per_step).max() <= 1
    assert abs(ours.size - nest.size) <= 0.01 * nest.size


RECEPTOR_CASES = {
    "AdExp-CondAlpha": ("AdExp", "CondAlphaPostSynapticResponse", "gsyn",
                        [dict(tau_syn=1.0, e_syn=0.0), dict(tau_syn=1.5, e_syn=-70.0),
                         dict(tau_syn=20.0, e_syn=0.0)]),
    "AdExp-CondBeta": ("AdExp", "CondBetaPostSynapticResponse", "gsyn",
                       [dict(tau_rise=0.5, tau_decay=2.0, e_syn=0.0),
                        dict(tau_rise=1.0, tau_decay=5.0, e_syn=-70.0),
                        dict(tau_rise=3.0, tau_decay=3.0, e_syn=0.0)]),
    "LIF-CurrExp": ("LIF", "CurrExpPostSynapticResponse", "isyn",
                    [dict(tau_syn=1.0), dict(tau_syn=1.5), dict(tau_syn=20.0)]),
}
NAMES = ("AMPA", "GABA", "NMDA")


def run_point_neuron(sim, membrane, psr, receptor_params):
    setup(sim)
    cell_type = sim.PointNeuron(
        getattr(sim, membrane)(tau_m=10.0, v_rest=-60.0, i_offset=0.3, tau_refrac=1.0),
        **{name: getattr(sim, psr)(**kw) for name, kw in zip(NAMES, receptor_params)})
    cells = sim.Population(1, cell_type, initial_values={"v": -60.0})
    current = psr.startswith("Curr")
    weights = [1.0, -1.0, 1.0] if current else [0.02, 0.02, 0.02]
    drive(sim, cells, NAMES, weights)
    variable = "isyn" if current else "gsyn"
    return results(sim, cells, ["v"] + [f"{name}.{variable}" for name in NAMES])


@pytest.mark.parametrize("case", sorted(RECEPTOR_CASES))
def test_point_neuron_matches_nest(sim, nest_sim, case):
    membrane, psr, variable, receptor_params = RECEPTOR_CASES[case]
    ours = run_point_neuron(sim, membrane, psr, receptor_params)
    nest = run_point_neuron(nest_sim, membrane, psr, receptor_params)
    g_tol = 1e-9 if variable == "isyn" else G_TOL
    assert_same(ours, nest, {"v": V_TOL, **{f"{n}.{variable}": g_tol for n in NAMES}})


# compositions pyNN.nest cannot build, against the NEST model with the same dynamics
LIF_PARAMS = dict(tau_m=15.0, cm=0.5, v_rest=-65.0, v_thresh=-52.0, v_reset=-70.0,
                  tau_refrac=2.0, i_offset=0.45)


def conductance_input(sim, cells):
    """Two spike trains into the 'excitatory' and 'inhibitory' receptors of `cells`."""
    sources = sim.Population(2, sim.SpikeSourceArray(
        spike_times=[Sequence(TRAINS[0]), Sequence(TRAINS[2])]))
    for k, (receptor, weight) in enumerate((("excitatory", 0.03), ("inhibitory", 0.08))):
        sim.Projection(sources[k:k + 1], cells, sim.AllToAllConnector(),
                       sim.StaticSynapse(weight=weight, delay=1.5), receptor_type=receptor)


def run_equivalent(sim, composed, kind, exc, inh):
    """composed=True: PointNeuron(membrane, excitatory=..., inhibitory=...); False:
    the equivalent standard (or NEST-native) cell type."""
    setup(sim)
    if kind == "AdExp-CondExp":
        params = dict(EIF_PARAMS, i_offset=[0.6, 0.3, 0.35, 0.8], v_spike=-40.0)
        if composed:
            cell_type = sim.PointNeuron(sim.AdExp(**params),
                                        excitatory=sim.CondExpPostSynapticResponse(**exc),
                                        inhibitory=sim.CondExpPostSynapticResponse(**inh))
        else:
            cell_type = sim.EIF_cond_exp_isfa_ista(
                tau_syn_E=exc["tau_syn"], e_rev_E=exc["e_syn"], tau_syn_I=inh["tau_syn"],
                e_rev_I=inh["e_syn"], **params)
        n = 4
    else:
        psr = {"LIF-CondExp": "CondExpPostSynapticResponse",
               "LIF-CondAlpha": "CondAlphaPostSynapticResponse"}[kind]
        n = 1
        if composed:
            cell_type = sim.PointNeuron(sim.LIF(**LIF_PARAMS),
                                        excitatory=getattr(sim, psr)(**exc),
                                        inhibitory=getattr(sim, psr)(**inh))
        else:
            standard = {"LIF-CondExp": sim.IF_cond_exp, "LIF-CondAlpha": sim.IF_cond_alpha}[kind]
            cell_type = standard(tau_syn_E=exc["tau_syn"], e_rev_E=exc["e_syn"],
                                 tau_syn_I=inh["tau_syn"], e_rev_I=inh["e_syn"], **LIF_PARAMS)
    cells = sim.Population(n, cell_type)
    cells.initialize(v=-65.0)
    conductance_input(sim, cells)
    return results(sim, cells, ["v"])


EQUIVALENT = {
    "AdExp-CondExp": (dict(tau_syn=2.0, e_syn=0.0), dict(tau_syn=6.0, e_syn=-75.0)),
    "LIF-CondExp": (dict(tau_syn=2.0, e_syn=0.0), dict(tau_syn=6.0, e_syn=-75.0)),
    "LIF-CondAlpha": (dict(tau_syn=0.5, e_syn=0.0), dict(tau_syn=2.0, e_syn=-75.0)),
}


@pytest.mark.parametrize("kind", sorted(EQUIVALENT))
def test_composition_matches_equivalent_nest_model(sim, nest_sim, kind):
    exc, inh = EQUIVALENT[kind]
    ours = run_equivalent(sim, True, kind, exc, inh)
    nest = run_equivalent(nest_sim, False, kind, exc, inh)
    assert_same(ours, nest, {"v": V_TOL})


def test_lif_cond_beta_matches_nest_iaf_cond_beta(sim, nest_sim):
    """PointNeuron(LIF, CondBeta x 2) against NEST's iaf_cond_beta (built with NEST's own
    API: pyNN.nest has no beta-synapse LIF)."""
    import nest
    exc = dict(tau_rise=0.5, tau_decay=3.0, e_syn=0.0)
    inh = dict(tau_rise=1.0, tau_decay=6.0, e_syn=-75.0)
    setup(sim)
    cells = sim.Population(1, sim.PointNeuron(sim.LIF(**LIF_PARAMS),
                                              excitatory=sim.CondBetaPostSynapticResponse(**exc),
                                              inhibitory=sim.CondBetaPostSynapticResponse(**inh)))
    cells.initialize(v=-65.0)
    conductance_input(sim, cells)
    (ours,), signals = results(sim, cells, ["v"])

    nest.ResetKernel()
    nest.set(resolution=0.1, local_num_threads=1)
    p = LIF_PARAMS
    neuron = nest.Create("iaf_cond_beta", params=dict(
        C_m=p["cm"] * 1e3, g_L=p["cm"] / p["tau_m"] * 1e3, E_L=p["v_rest"], V_th=p["v_thresh"],
        V_reset=p["v_reset"], t_ref=p["tau_refrac"], I_e=p["i_offset"] * 1e3, V_m=-65.0,
        tau_rise_ex=exc["tau_rise"], tau_decay_ex=exc["tau_decay"], E_ex=exc["e_syn"],
        tau_rise_in=inh["tau_rise"], tau_decay_in=inh["tau_decay"], E_in=inh["e_syn"]))
    for train, weight in ((TRAINS[0], 30.0), (TRAINS[2], -80.0)):  # nS; sign: receptor
        generator = nest.Create("spike_generator", params={"spike_times": train})
        nest.Connect(generator, neuron, syn_spec={"weight": weight, "delay": 1.5})
    spikes = nest.Create("spike_recorder")
    meter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": 0.1})
    nest.Connect(neuron, spikes)
    nest.Connect(meter, neuron)
    nest.Simulate(T_STOP + 0.1)
    theirs = np.sort(spikes.get("events")["times"])
    events = meter.get("events")
    v_nest = events["V_m"][np.argsort(events["times"])]
    assert theirs.size > 3
    np.testing.assert_allclose(ours, theirs[theirs <= T_STOP], rtol=0, atol=1e-9)
    # NEST's multimeter samples t = 0.1, 0.2, ...; ours starts with the initial value
    dv = np.abs(signals["v"][1:, 0] - v_nest[:signals["v"].shape[0] - 1])
    assert dv.max() < V_TOL and np.quantile(dv, 0.99) < V_TOL_TYPICAL
