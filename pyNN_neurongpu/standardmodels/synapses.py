"""Standard synapse types of the neurongpu backend."""

from pyNN.standardmodels import build_translations, synapses

from ..simulator import state


class StaticSynapse(synapses.StaticSynapse):
    __doc__ = synapses.StaticSynapse.__doc__
    translations = build_translations(
        ("weight", "weight"),
        ("delay", "delay"),
    )

    def _get_minimum_delay(self):
        return state.min_delay
