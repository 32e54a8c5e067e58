"""The simulation engine: neuron families, synapses, stimuli and recorders on
NumPy or CuPy arrays. It imports nothing from PyNN."""

from .backend import Backend, gpu_available
from .network import Network, NeuronGroup, Slice

__all__ = ["Backend", "Network", "NeuronGroup", "Slice", "gpu_available"]
