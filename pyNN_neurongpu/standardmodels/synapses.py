"""Standard synapse types of the neurongpu backend.

Static synapses live in the engine's merged tables; the other types name an
engine synapse model (engine/synapses), whose declaration gives the parameter
names (PyNN's, so translations are identities) and state variables.
"""

from pyNN import errors
from pyNN.standardmodels import build_translations, synapses

from ..engine import get_synapse_model
from ..simulator import state


def _identity(*names):
    return build_translations(*[(name, name) for name in names])


class EngineSynapseMixin:
    """Names map to themselves; state variables of the engine model are readable."""

    engine_model = None

    def get_native_names(self, *names):
        return list(names) if names else list(self.translations)

    def _get_minimum_delay(self):
        return state.min_delay


def _engine_synapse_type(pynn_class, engine_model: str, doc_extra: str = ""):
    """A subclass of `pynn_class` that runs on engine synapse model `engine_model`,
    checking at import that the engine declares every PyNN parameter and state."""
    model = get_synapse_model(engine_model)
    names = [n for n in pynn_class.default_parameters if n not in ("weight", "delay")]
    missing = (set(names) - set(model.parameters)) | (
        set(pynn_class.default_initial_values) - set(model.state))
    if missing:
        raise TypeError(f"engine synapse model {engine_model} lacks {sorted(missing)}")
    namespace = {
        "__doc__": (pynn_class.__doc__ or "") + doc_extra,
        "__module__": __name__,
        "engine_model": engine_model,
        "translations": _identity("weight", "delay", *names),
    }
    return type(pynn_class.__name__, (EngineSynapseMixin, pynn_class), namespace)


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(
        ("weight", "weight"),
        ("delay", "delay"),
    )

    def _get_minimum_delay(self):
        return state.min_delay


TsodyksMarkramSynapse = _engine_synapse_type(
    synapses.TsodyksMarkramSynapse, "tsodyks_markram",
    "\n    NEST tsodyks_synapse semantics; tau_psc is the target's tau_syn_E/I.\n")
SimpleStochasticSynapse = _engine_synapse_type(
    synapses.SimpleStochasticSynapse, "simple_stochastic")
StochasticTsodyksMarkramSynapse = _engine_synapse_type(
    synapses.StochasticTsodyksMarkramSynapse, "stochastic_tsodyks_markram",
    "\n    Semantics of PyNN's NEST extension stochastic_stp_synapse.\n")
MultiQuantalSynapse = _engine_synapse_type(
    synapses.MultiQuantalSynapse, "multi_quantal",
    "\n    NEST quantal_stp_synapse semantics: n release sites, each available one released\n"
    "    with probability u; a synapse starts with u = 0.5 and one available site, as\n"
    "    NEST's does.\n")


# -- STDP -----------------------------------------------------------------------------------
class _WeightDependence(EngineSynapseMixin):
    possible_models = {"stdp", "vogels_sprekeler"}
    extra_parameters = {}


class AdditiveWeightDependence(_WeightDependence, synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = _identity("w_min", "w_max")
    extra_parameters = {"mu_plus": 0.0, "mu_minus": 0.0}


class MultiplicativeWeightDependence(_WeightDependence,
                                     synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = _identity("w_min", "w_max")
    possible_models = {"stdp"}
    extra_parameters = {"mu_plus": 1.0, "mu_minus": 1.0}


class AdditivePotentiationMultiplicativeDepression(
        _WeightDependence, synapses.AdditivePotentiationMultiplicativeDepression):
    __doc__ = synapses.AdditivePotentiationMultiplicativeDepression.__doc__
    translations = _identity("w_min", "w_max")
    possible_models = {"stdp"}
    extra_parameters = {"mu_plus": 0.0, "mu_minus": 1.0}


class GutigWeightDependence(_WeightDependence, synapses.GutigWeightDependence):
    __doc__ = synapses.GutigWeightDependence.__doc__
    translations = _identity("w_min", "w_max", "mu_plus", "mu_minus")
    possible_models = {"stdp"}


class SpikePairRule(EngineSynapseMixin, synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = _identity("tau_plus", "tau_minus", "A_plus", "A_minus")
    possible_models = {"stdp"}
    extra_parameters = {}


class Vogels2011Rule(EngineSynapseMixin, synapses.Vogels2011Rule):
    __doc__ = synapses.Vogels2011Rule.__doc__
    translations = _identity("tau", "eta", "rho")
    possible_models = {"vogels_sprekeler"}
    extra_parameters = {}


class STDPMechanism(EngineSynapseMixin, synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__ + """
    All of the delay counts as dendritic (``dendritic_delay_fraction=1``), as in NEST.
    """
    base_translations = _identity("weight", "delay", "dendritic_delay_fraction")

    def __init__(self, timing_dependence=None, weight_dependence=None,
                 voltage_dependence=None, dendritic_delay_fraction=1.0,
                 weight=0.0, delay=None):
        if voltage_dependence is not None:
            raise NotImplementedError("pyNN.neurongpu has no voltage-dependent STDP")
        if timing_dependence is None or weight_dependence is None:
            raise errors.InvalidModelError(
                "STDPMechanism needs a timing dependence and a weight dependence")
        if dendritic_delay_fraction != 1:
            raise NotImplementedError(
                "pyNN.neurongpu treats all of the delay as dendritic "
                "(dendritic_delay_fraction=1), as NEST does")
        super().__init__(timing_dependence, weight_dependence, voltage_dependence,
                         dendritic_delay_fraction, weight, delay)

    def _build_translations(self):
        # a copy: PyNN's version extends the class's own dictionary
        self.translations = dict(self.base_translations)
        for component in (self.timing_dependence, self.weight_dependence):
            self.translations.update(component.translations)

    @property
    def engine_model(self):
        return self.model
