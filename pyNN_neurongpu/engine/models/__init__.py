"""Neuron-model families of the engine, one module each, registered by name."""

from .base import NeuronModel, StepContext, Var
from .composed import composed_family
from .hh_cond_exp_traub import HhCondExpTraub
from .iaf_cond_alpha import IafCondAlpha
from .iaf_cond_exp import IafCondExp
from .iaf_cond_exp_sfa_rr import IafCondExpSfaRr
from .iaf_psc_alpha import IafPscAlpha
from .iaf_psc_delta import IafPscDelta
from .iaf_psc_exp import IafPscExp
from .izhikevich import Izhikevich
from .spike_sources import (
    GammaSourceModel,
    PoissonRefractorySourceModel,
    PoissonSourceModel,
    SpikeSourceArrayModel,
)

MODELS: dict[str, NeuronModel] = {}


def register(model_class):
    """Add a model family to the registry (usable as a class decorator)."""
    MODELS[model_class.name] = model_class()
    return model_class


for _cls in (IafPscExp, IafPscAlpha, IafPscDelta, IafCondExp, IafCondAlpha,
             SpikeSourceArrayModel, PoissonSourceModel, GammaSourceModel,
             PoissonRefractorySourceModel, Izhikevich, HhCondExpTraub,
             IafCondExpSfaRr):
    register(_cls)


# NEST's aeif_cond_exp and aeif_cond_alpha (PyNN's EIF_cond_*_isfa_ista) are compositions
EIF_COND_EXP = composed_family("adexp", [("excitatory", "cond_exp"),
                                         ("inhibitory", "cond_exp")])
EIF_COND_ALPHA = composed_family("adexp", [("excitatory", "cond_alpha"),
                                           ("inhibitory", "cond_alpha")])


def get_model(name: str) -> NeuronModel:
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown neuron model family {name!r}; known: {sorted(MODELS)}") from None


__all__ = ["MODELS", "NeuronModel", "StepContext", "Var", "composed_family", "get_model",
           "register"]
