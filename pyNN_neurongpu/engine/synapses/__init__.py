"""Synapse models with per-synapse dynamics (plastic or stochastic), registered by name.

Static synapses need no model: they live in the merged per-family tables of
construction.py. The models here run in their own synapse groups (plasticity.py).
"""

from .base import SpikeContext, SynapseModel
from .quantal import MultiQuantal
from .stdp import STDP, VogelsSprekeler
from .stochastic import SimpleStochastic, StochasticTsodyksMarkram
from .tsodyks_markram import TsodyksMarkram

SYNAPSE_MODELS: dict[str, SynapseModel] = {
    cls.name: cls() for cls in (TsodyksMarkram, STDP, VogelsSprekeler, SimpleStochastic,
                                StochasticTsodyksMarkram, MultiQuantal)}


def get_synapse_model(name: str) -> SynapseModel:
    try:
        return SYNAPSE_MODELS[name]
    except KeyError:
        raise KeyError(f"unknown synapse model {name!r}; "
                       f"known: {sorted(SYNAPSE_MODELS)}") from None


__all__ = ["SYNAPSE_MODELS", "SpikeContext", "SynapseModel", "get_synapse_model"]
