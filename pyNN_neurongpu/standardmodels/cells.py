"""Standard cell types of the neurongpu backend."""

from pyNN.standardmodels import cells

from ..engine import EIF_COND_ALPHA, EIF_COND_EXP
from .base import engine_cell_type
from .composed import LIF, AdExp, PointNeuron  # noqa: F401

IF_curr_exp = engine_cell_type(cells.IF_curr_exp, "iaf_psc_exp", precise="iaf_psc_exp_ps",
                             __module__=__name__)
IF_curr_alpha = engine_cell_type(cells.IF_curr_alpha, "iaf_psc_alpha", __module__=__name__)
IF_curr_delta = engine_cell_type(cells.IF_curr_delta, "iaf_psc_delta", precise="iaf_psc_delta_ps",
                               __module__=__name__)
IF_cond_exp = engine_cell_type(cells.IF_cond_exp, "iaf_cond_exp", __module__=__name__)
IF_cond_alpha = engine_cell_type(cells.IF_cond_alpha, "iaf_cond_alpha", __module__=__name__)
IF_cond_exp_gsfa_grr = engine_cell_type(cells.IF_cond_exp_gsfa_grr, "iaf_cond_exp_sfa_rr",
                                        __module__=__name__)
GIF_cond_exp = engine_cell_type(cells.GIF_cond_exp, "gif_cond_exp", __module__=__name__)
HH_cond_exp = engine_cell_type(cells.HH_cond_exp, "hh_cond_exp_traub", __module__=__name__)
Izhikevich = engine_cell_type(cells.Izhikevich, "izhikevich", __module__=__name__)
SpikeSourceArray = engine_cell_type(cells.SpikeSourceArray, "spike_source_array",
                                    precise="spike_source_array_ps",
                                    __module__=__name__)
SpikeSourcePoisson = engine_cell_type(cells.SpikeSourcePoisson, "poisson_source",
                                      precise="poisson_source_ps", __module__=__name__)
SpikeSourceGamma = engine_cell_type(cells.SpikeSourceGamma, "gamma_source", __module__=__name__)
SpikeSourcePoissonRefractory = engine_cell_type(cells.SpikeSourcePoissonRefractory,
                                                "poisson_refractory_source", __module__=__name__)

# EIF_cond_*_isfa_ista are AdExp with an excitatory and an inhibitory receptor; their family
# is PointNeuron(AdExp, excitatory=CondExp, inhibitory=CondExp)'s, whose receptors share
# PyNN's CondExp default (e_syn 0 mV): PyNN sets e_rev_I's own default (-80 mV) on them
_EIF_NAMES = {"tau_syn_E": "excitatory.tau_syn", "e_rev_E": "excitatory.e_syn",
              "tau_syn_I": "inhibitory.tau_syn", "e_rev_I": "inhibitory.e_syn",
              "gsyn_exc": "excitatory.gsyn", "gsyn_inh": "inhibitory.gsyn"}
EIF_cond_exp_isfa_ista = engine_cell_type(cells.EIF_cond_exp_isfa_ista, EIF_COND_EXP,
                                          names=_EIF_NAMES, pynn_defaults=("e_rev_I",),
                                          __module__=__name__)
EIF_cond_alpha_isfa_ista = engine_cell_type(cells.EIF_cond_alpha_isfa_ista, EIF_COND_ALPHA,
                                            names=_EIF_NAMES, pynn_defaults=("e_rev_I",),
                                          __module__=__name__)
