"""Each model is declared once: the PyNN cell types are checked against the engine's
declarations at import, and a mismatch of unit or default fails loudly."""

from dataclasses import replace
from types import SimpleNamespace

import pytest
from pyNN.standardmodels import cells, receptors

from pyNN_neurongpu.engine import MODELS, get_model
from pyNN_neurongpu.engine.models.composed import RECEPTORS
from pyNN_neurongpu.standardmodels.base import check_declarations


def _with(model, table, name, **change):
    declared = {k: dict(getattr(model, k)) for k in ("parameters", "state")}
    declared[table][name] = replace(declared[table][name], **change)
    return SimpleNamespace(**declared, sequence_parameters=model.sequence_parameters)


def test_the_engine_declarations_agree_with_pynn():
    check_declarations(cells.IF_curr_exp, get_model("iaf_psc_exp"), {})
    check_declarations(cells.IF_cond_alpha, get_model("iaf_cond_alpha"), {})


@pytest.mark.parametrize("table,name,change,message", [
    ("parameters", "tau_m", {"unit": "s"}, "tau_m is in ms, the engine's tau_m in s"),
    ("parameters", "v_thresh", {"default": -55.0}, "v_thresh defaults to -50.0"),
    ("state", "v", {"unit": "V"}, "v is in mV"),
    ("state", "isyn_exc", {"default": 1.0}, "isyn_exc defaults to 0.0"),
])
def test_a_mismatch_fails(table, name, change, message):
    model = _with(get_model("iaf_psc_exp"), table, name, **change)
    with pytest.raises(TypeError, match=message):
        check_declarations(cells.IF_curr_exp, model, {})


def test_a_renamed_and_shared_default_is_named_explicitly():
    eif = cells.EIF_cond_exp_isfa_ista
    model = MODELS["adexp__excitatory_cond_exp__inhibitory_cond_exp"]
    names = {"tau_syn_E": "excitatory.tau_syn", "e_rev_E": "excitatory.e_syn",
             "tau_syn_I": "inhibitory.tau_syn", "e_rev_I": "inhibitory.e_syn",
             "gsyn_exc": "excitatory.gsyn", "gsyn_inh": "inhibitory.gsyn"}
    with pytest.raises(TypeError, match="e_rev_I defaults to -80.0"):
        check_declarations(eif, model, names)
    check_declarations(eif, model, names, pynn_defaults=("e_rev_I",))


def test_receptor_kinds_agree_with_pynn():
    kind = RECEPTORS["cond_beta"]
    declared = SimpleNamespace(parameters=kind.parameters, state=kind.state,
                               sequence_parameters=("locations",))
    check_declarations(receptors.CondBetaPostSynapticResponse, declared, {})
    wrong = _with(declared, "parameters", "tau_decay", default=2.0)
    with pytest.raises(TypeError, match="tau_decay defaults to 1.7"):
        check_declarations(receptors.CondBetaPostSynapticResponse, wrong, {})
    wrong = _with(declared, "state", "gsyn", unit="nS")
    with pytest.raises(TypeError, match="gsyn is in uS"):
        check_declarations(receptors.CondBetaPostSynapticResponse, wrong, {})


# families without a GPU kernel yet (kernel_kind None: the array-code step only)
ARRAY_CODE_ONLY = {"iaf_psc_exp_ps", "iaf_psc_delta_ps", "spike_source_array_ps",
                   "poisson_source_ps", "gif_cond_exp", "inh_gamma_source"}


def test_every_family_says_how_the_gpu_updates_it():
    for model in MODELS.values():
        if model.name in ARRAY_CODE_ONLY:
            assert model.kernel_kind is None, model.name
        else:
            assert model.kernel_kind in ("fragment", "schedule"), model.name
