"""Neuron-model families of the engine, one module each, registered by name."""

from .base import NeuronModel, StepContext, Var
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


def get_model(name: str) -> NeuronModel:
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown neuron model family {name!r}; known: {sorted(MODELS)}") from None


__all__ = ["MODELS", "NeuronModel", "StepContext", "Var", "get_model", "register"]
