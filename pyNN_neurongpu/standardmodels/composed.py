"""PyNN's composed point neurons (``PointNeuron(AdExp(...) or LIF(...), NAME=PSR(...), ...)``)
on the engine's composed families (engine/models/composed.py).

The receptors become the family's ports in sorted order of their names (as pyNN.nest
numbers them); parameters and state variables of a receptor are ``NAME.parameter``
(``AMPA.tau_syn``, ``AMPA.gsyn``) in PyNN and in the engine alike.
"""

from __future__ import annotations

from types import SimpleNamespace

from pyNN import errors
from pyNN.parameters import ParameterSpace
from pyNN.standardmodels import build_translations, cells, receptors

from ..engine import composed_family
from ..engine.models.composed import MEMBRANES, RECEPTORS
from .base import check_declarations

__all__ = ["AdExp", "AlphaPSR", "BetaPSR", "CondAlphaPostSynapticResponse",
           "CondBetaPostSynapticResponse", "CondExpPostSynapticResponse",
           "CurrExpPostSynapticResponse", "ExpPSR", "LIF", "PointNeuron"]


def _identity(pynn_class, **attributes):
    kind = attributes.get("membrane_kind") or attributes.get("receptor_kind")
    engine = MEMBRANES.get(kind) or RECEPTORS[kind]
    declared = SimpleNamespace(parameters=engine.parameters, state=engine.state,
                               sequence_parameters=("locations",))
    check_declarations(pynn_class, declared, {"locations": "locations"})
    namespace = {"__doc__": pynn_class.__doc__, "__module__": __name__,
                 "translations": build_translations(*[(n, n)
                                                      for n in pynn_class.default_parameters])}
    namespace.update(attributes)
    return type(pynn_class.__name__, (pynn_class,), namespace)


AdExp = _identity(cells.AdExp, membrane_kind="adexp")
LIF = _identity(cells.LIF, membrane_kind="lif")
CurrExpPostSynapticResponse = _identity(receptors.CurrExpPostSynapticResponse,
                                        receptor_kind="curr_exp", recordable=["isyn"])
CondExpPostSynapticResponse = _identity(receptors.CondExpPostSynapticResponse,
                                        receptor_kind="cond_exp", recordable=["gsyn"])
CondAlphaPostSynapticResponse = _identity(receptors.CondAlphaPostSynapticResponse,
                                          receptor_kind="cond_alpha", recordable=["gsyn"])
CondBetaPostSynapticResponse = _identity(receptors.CondBetaPostSynapticResponse,
                                         receptor_kind="cond_beta", recordable=["gsyn"])
# pyNN.nest's short names
ExpPSR = CondExpPostSynapticResponse
AlphaPSR = CondAlphaPostSynapticResponse
BetaPSR = CondBetaPostSynapticResponse


class PointNeuron(cells.PointNeuron):
    """A point neuron made of a membrane model (AdExp or LIF) and named post-synaptic
    receptors (CurrExp, CondExp, CondAlpha, CondBeta); projections choose a receptor
    with ``receptor_type=NAME``."""

    def __init__(self, neuron, **post_synaptic_receptors):
        if not hasattr(neuron, "membrane_kind"):
            raise errors.InvalidModelError(
                f"{type(neuron).__name__} cannot be the membrane of a pyNN.neurongpu "
                "PointNeuron; use AdExp or LIF")
        for name, psr in post_synaptic_receptors.items():
            if not hasattr(psr, "receptor_kind"):
                raise errors.InvalidModelError(
                    f"receptor {name}: {type(psr).__name__} is not available in "
                    "pyNN.neurongpu")
        super().__init__(neuron, **post_synaptic_receptors)
        try:
            self.engine_model = composed_family(
                neuron.membrane_kind,
                [(name, post_synaptic_receptors[name].receptor_kind)
                 for name in self.receptor_types])
        except ValueError as err:
            raise errors.NoModelAvailableError(str(err)) from None

    @property
    def injectable(self):
        return True

    @property
    def native_parameters(self):
        """Parameters in the engine's names: the membrane's, then ``NAME.parameter``."""
        values = dict(self.neuron.parameter_space.items())
        for name, psr in self.post_synaptic_receptors.items():
            values.update({f"{name}.{p}": v for p, v in psr.parameter_space.items()
                           if p != "locations"})
        return ParameterSpace(values, shape=self.parameter_space.shape)

    def get_native_names(self, *names):
        if not names:
            return list(self.native_parameters.keys())
        return list(names)

    def reverse_translate(self, native_parameters):
        return native_parameters

    def translate(self, parameters, copy=True):
        return parameters
