"""Composed point neurons and AdEx: PyNN interface, errors, tolerances, robustness."""

import numpy as np
import pytest
from pyNN import errors
from pyNN.parameters import Sequence

from pyNN_neurongpu.engine import Backend, Network
from pyNN_neurongpu.engine.models import EIF_COND_EXP, MODELS, composed_family
from pyNN_neurongpu.engine.models.composed import beta_normalisation


def ampa_gaba(sim, psr="CondExpPostSynapticResponse", **membrane):
    receptor = getattr(sim, psr)
    return sim.PointNeuron(sim.AdExp(**membrane), AMPA=receptor(), GABA=receptor(e_syn=-70.0))


def test_same_kinds_share_a_family_and_eif_is_a_composition(sim):
    a = ampa_gaba(sim)
    b = ampa_gaba(sim, tau_m=12.0)
    eif = sim.PointNeuron(sim.AdExp(), excitatory=sim.ExpPSR(), inhibitory=sim.ExpPSR())
    assert a.engine_model == b.engine_model
    assert eif.engine_model == EIF_COND_EXP == sim.EIF_cond_exp_isfa_ista.engine_model
    assert ampa_gaba(sim, "CondAlphaPostSynapticResponse").engine_model != a.engine_model


def test_receptor_parameters_state_and_recording(sim):
    cells = sim.Population(2, ampa_gaba(sim, "CondBetaPostSynapticResponse", i_offset=0.2),
                           initial_values={"v": -62.0, "AMPA.gsyn": 0.01})
    assert cells.get("GABA.e_syn") == -70.0
    assert cells.get("AMPA.tau_decay") == 1.7
    assert cells.celltype.receptor_types == ["AMPA", "GABA"]
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[5.0]))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.02, delay=1.0), receptor_type="GABA")
    cells.record(["v", "w", "AMPA.gsyn", "GABA.gsyn"])
    sim.run(20.0)
    seg = cells.get_data().segments[0]
    signals = {a.name: np.asarray(a.magnitude) for a in seg.analogsignals}
    assert set(signals) == {"v", "w", "AMPA.gsyn", "GABA.gsyn"}
    assert signals["v"][0, 0] == -62.0
    assert signals["AMPA.gsyn"][0, 0] == pytest.approx(0.01)
    assert signals["AMPA.gsyn"][-1, 0] < 0.001          # decays
    # input at 5 + 1 ms; a beta conductance peaks at the weight (NEST's normalisation)
    gaba = signals["GABA.gsyn"][:, 0]
    assert np.all(gaba[:61] == 0)
    assert 0.97 * 0.02 < gaba.max() <= 0.02 * (1 + 1e-6)


def test_beta_normalisation_is_nests():
    tau_r, tau_d = np.array([0.5, 2.0]), np.array([2.0, 2.0])
    g0 = beta_normalisation(np, tau_r, tau_d)
    t_peak = tau_d[0] * tau_r[0] * np.log(tau_d[0] / tau_r[0]) / (tau_d[0] - tau_r[0])
    # the impulse response g(t) = g0 (e^-t/td - e^-t/tr) / (1/tr - 1/td) peaks at 1
    peak = g0[0] * (np.exp(-t_peak / tau_d[0]) - np.exp(-t_peak / tau_r[0])) / (
        1 / tau_r[0] - 1 / tau_d[0])
    assert peak == pytest.approx(1.0, rel=1e-12)
    assert g0[1] == pytest.approx(np.e / 2.0)       # equal times: the alpha function's


def test_invalid_compositions_and_receptors(sim):
    with pytest.raises(errors.NoModelAvailableError):
        sim.PointNeuron(sim.AdExp(), AMPA=sim.CurrExpPostSynapticResponse())
    with pytest.raises(errors.NoModelAvailableError, match="mix"):
        sim.PointNeuron(sim.LIF(), AMPA=sim.CurrExpPostSynapticResponse(),
                        NMDA=sim.CondExpPostSynapticResponse())
    with pytest.raises(errors.InvalidModelError):
        sim.PointNeuron(sim.IF_cond_exp(), AMPA=sim.CondExpPostSynapticResponse())
    cells = sim.Population(1, ampa_gaba(sim))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1.0]))
    with pytest.raises(errors.ConnectionError):
        sim.Projection(source, cells, sim.AllToAllConnector(), receptor_type="NMDA")
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(1, sim.PointNeuron(
            sim.LIF(), AMPA=sim.CondBetaPostSynapticResponse(tau_rise=3.0, tau_decay=1.0)))
    with pytest.raises(errors.InvalidParameterValueError):
        sim.Population(1, sim.EIF_cond_exp_isfa_ista(v_reset=-30.0))   # v_reset >= v_spike


def _spikes_of_adex(sim, **setup_kw):
    sim.setup(timestep=0.1, min_delay=0.1, backend=sim.test_backend, precision="float64",
              **setup_kw)
    cells = sim.Population(1, sim.EIF_cond_alpha_isfa_ista(i_offset=1.0, tau_refrac=2.0))
    cells.record(["spikes", "v"])
    sim.run(100.0)
    seg = cells.get_data().segments[0]
    return (cells, np.asarray(seg.spiketrains[0].magnitude),
            np.asarray(seg.analogsignals[0].magnitude))


def test_integration_tolerance_option(sim):
    _, spikes, v = _spikes_of_adex(sim)
    cells, loose_spikes, loose_v = _spikes_of_adex(sim, integration_tolerance=1e-2)
    assert float(cells._group.params["integration_tolerance"][0]) == 1e-2
    assert spikes.size > 3 and loose_spikes.size == spikes.size
    difference = np.abs(loose_v - v).max()
    assert 0 < difference < 0.5
    with pytest.raises(ValueError):
        sim.setup(integration_tolerance=0.0)


def test_reset_repeats_the_run(sim):
    cells = sim.Population(2, ampa_gaba(sim, "CondAlphaPostSynapticResponse",
                                        i_offset=[0.8, 0.5]))
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=Sequence([3.0, 4.0, 9.0])))
    sim.Projection(source, cells, sim.AllToAllConnector(),
                   sim.StaticSynapse(weight=0.05, delay=1.0), receptor_type="AMPA")
    cells.record(["spikes", "v"])
    sim.run(50.0)
    sim.reset()
    sim.run(50.0)
    first, second = cells.get_data().segments
    assert first.spiketrains[0].size > 2
    for a, b in zip(first.spiketrains, second.spiketrains):
        np.testing.assert_array_equal(a.magnitude, b.magnitude)
    np.testing.assert_array_equal(first.analogsignals[0].magnitude,
                                  second.analogsignals[0].magnitude)


def run_blow_up(device, family):
    """Two float32 AdEx neurons of `family` made to blow up (delta_T = 0.5 mV, v_spike = 0;
    one by current, one by conductance input), run for 100 ms on `device`: their v and w
    recorders and their spike events."""
    net = Network(Backend(device, "float32"), dt=0.1)
    model = MODELS[family]
    n = net.add_neurons(family, 2, {"delta_T": 0.5, "v_spike": 0.0, "i_offset": [2.0, 0.0]})
    src = net.add_neurons("spike_source_array", 1, {"spike_times": [np.arange(1.0, 10.0, 1.0)]})
    net.connect(src.gids, n.gids[1:], 1.0, 1, list(model.receptors)[0])
    recs = {name: net.record_state(n.group, name, n.local) for name in ("v", "w")}
    net.record_spikes(n.group, n.local)
    net.run(100)
    return recs, n.group.spike_recorder.events()


@pytest.mark.parametrize("family", [
    EIF_COND_EXP,
    composed_family("adexp", [("AMPA", "cond_beta"), ("GABA", "cond_alpha")]),
])
def test_blow_up_in_float32_spikes_and_resets_never_nan(family):
    """delta_T = 0.5 mV with v_spike = 0: exp((v_spike - v_thresh)/delta_T) = exp(100.8)
    overflows float32 (without the guard the run never ends: NaN error estimates), and
    strong conductance input: the neurons spike and are reset, nothing is NaN or inf."""
    recs, (steps, ids, counts) = run_blow_up("cpu", family)
    for name, rec in recs.items():
        assert np.all(np.isfinite(rec.data()[1])), name
    assert set(ids.tolist()) == {0, 1}
    assert np.all(recs["v"].data()[1] <= 0.0)   # after each step: at or below v_spike


def test_eif_parameters_and_state_map_to_its_receptors(sim):
    cells = sim.Population(2, sim.EIF_cond_exp_isfa_ista(tau_syn_E=3.0))
    cells.set(e_rev_I=-75.0)
    assert cells.get(["tau_syn_E", "e_rev_I", "tau_syn_I"]) == [3.0, -75.0, 5.0]
    assert float(cells._group.params["excitatory.tau_syn"][0]) == 3.0
    cells.initialize(gsyn_exc=0.01)
    cells.record("gsyn_exc")
    sim.run(1.0)
    gsyn = cells.get_data().segments[0].filter(name="gsyn_exc")[0].magnitude[:, 0]
    assert gsyn[0] == pytest.approx(0.01) and gsyn[-1] == pytest.approx(0.01 * np.exp(-1 / 3))
    population = sim.Population(1, ampa_gaba(sim))
    population.set(**{"AMPA.tau_syn": 3.0}, tau_m=12.0)
    assert population.get("AMPA.tau_syn") == 3.0 and population.get("tau_m") == 12.0


def test_if_families_are_compositions_in_their_nest_order():
    """IF_curr_exp, IF_cond_exp, IF_cond_alpha are LIF compositions under PyNN's names,
    in their NEST models' order of operations: distinct from the plain LIF compositions
    (NEST's multisynapse order), with one term sequence per model."""
    from pyNN_neurongpu.engine.models.composed import Arithmetic, ComposedNeuron
    for name, receptor in (("iaf_psc_exp", "curr_exp"), ("iaf_cond_exp", "cond_exp"),
                           ("iaf_cond_alpha", "cond_alpha")):
        model = MODELS[name]
        assert isinstance(model, ComposedNeuron) and model.membrane.name == "lif"
        plain = MODELS[composed_family("lif", [("excitatory", receptor),
                                               ("inhibitory", receptor)])]
        assert plain.name != name and plain.arithmetic == Arithmetic()
        assert model.arithmetic != plain.arithmetic
        assert "tau_syn_E" in model.parameters and "excitatory.tau_syn" in plain.parameters
    assert MODELS["iaf_psc_exp"].arithmetic.propagated == ("leak", "receptors", "drive")
    assert MODELS["iaf_cond_exp"].reciprocal_terms() == []      # NEST divides
    assert MODELS["iaf_cond_exp"].parameters["e_rev_I"].default == -70.0
    assert MODELS["iaf_cond_alpha"].parameters["tau_syn_E"].default == 0.3
    assert not MODELS["iaf_cond_exp"].pool and plain.pool
    with pytest.raises(ValueError, match="tau_syn_I = 0"):
        Network(Backend("cpu"), dt=0.1).add_neurons("iaf_cond_alpha", 1, {"tau_syn_I": 0.0})


def test_an_arithmetic_names_each_term_once():
    from pyNN_neurongpu.engine.models.composed import Arithmetic
    with pytest.raises(ValueError, match="current terms"):
        Arithmetic(current=("leak", "receptors", "i_stim"))
    with pytest.raises(ValueError, match="propagated terms"):
        Arithmetic(propagated=("leak", "receptors", "receptors"))
    with pytest.raises(ValueError, match="own order"):
        composed_family("adexp", [("AMPA", "cond_exp")], Arithmetic(), name="adexp_ordered")
