"""The declaration every plastic (or stochastic) synapse model is made of.

A synapse model declares its per-synapse parameters and state once, in PyNN's
names and units; the PyNN layer, the reference propagation step and a kernel
read that declaration. Weight and delay are not declared here: every synapse
group has them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..models.base import Var


@dataclass
class SpikeContext:
    """What a synapse model's reference step sees for the synapses of one group
    whose sources spiked in this step.

    ``idx``: storage positions of those synapses; ``mult``: the multiplicity of
    their source's spike; ``t_spike``: the spike's time stamp (ms);
    ``group``: the :class:`~pyNN_neurongpu.engine.plasticity.PlasticGroup`.
    """
    xp: object
    backend: object
    dt: float
    step: int
    t_spike: float
    idx: object
    mult: object
    group: object
    rng: object = None

    def param(self, name):
        """Values of parameter `name` at the active synapses (a 0-d array when
        the group stores it as one value for all)."""
        return at(self.group.params[name], self.idx)

    def state(self, name):
        return self.group.state[name][self.idx]

    def store(self, name, values):
        self.group.state[name][self.idx] = values


def at(values, idx):
    """``values[idx]``, or `values` itself when it is one value for all synapses."""
    return values if values.ndim == 0 else values[idx]


class SynapseModel:
    """Base class of a synapse model. Subclasses fill in the class attributes."""

    name: str = ""
    # per-synapse parameters besides weight and delay (PyNN's names and units)
    parameters: dict[str, Var] = {}
    # per-synapse state a PyNN script may initialise and read
    state: dict[str, Var] = {}
    # hidden per-synapse state (restored to its default by a reset)
    internal: dict[str, Var] = {}
    # parameters that must have one value for the whole group
    homogeneous: tuple[str, ...] = ()
    # True if spikes change the stored weight (weights read back reflect learning)
    learns_weight: bool = False
    # True if the model reads the post-synaptic spike history (STDP)
    needs_post_history: bool = False
    # True if the model draws random numbers
    stochastic: bool = False

    def check(self, params: dict) -> None:
        """Raise ValueError for parameter values (host arrays) the model cannot use."""

    def check_state(self, state: dict) -> None:
        """Raise ValueError for state values (host arrays) the model cannot use."""

    def check_weights(self, weight) -> None:
        """Raise ValueError for weights (a device array) the model cannot use."""

    def implicit_parameters(self, network, post, receptor: str) -> dict:
        """Values of parameters a script does not set but the network implies
        (e.g. the post-synaptic time constant); `post` are global indices."""
        return {}

    def transmit(self, ctx: SpikeContext):
        """Update the active synapses for their source's spike and return the
        input each delivers (weight times multiplicity, or its model's version)."""
        raise NotImplementedError


def require(condition, message: str) -> None:
    """Raise ValueError(message) unless every element of `condition` holds."""
    if not bool(np.all(condition)):
        raise ValueError(message)
