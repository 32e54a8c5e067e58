"""Neuron-model families of the engine, one module each; every family registers itself
in :data:`MODELS` by name (``@register``) when its module is imported, and every module
of this folder is imported here, so a new model is one new module."""

import importlib
import pkgutil

from .base import MODELS, NeuronModel, StepContext, Var, register
from .composed import composed_family

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

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


__all__ = ["EIF_COND_ALPHA", "EIF_COND_EXP", "MODELS", "NeuronModel", "StepContext", "Var",
           "composed_family", "get_model", "register"]
