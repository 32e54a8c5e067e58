"""The simulation engine: neuron families, synapses, stimuli and recorders on NumPy or
CuPy arrays. It imports nothing from PyNN; the PyNN layer uses the names below.

Layout: network.py (the Network), groups.py (neuron families and slices), models/ and
synapses/ (one declaration per model), construction.py and connectivity.py (synapse
tables and connectivity draws), reference_step.py (the CPU step: the semantics), gpu/
(the fused GPU step), options.py (every switch), backend.py (array module, precision,
random streams).
"""

from . import connectivity, memory, parallel
from .backend import Backend, RandomStream, gpu_available
from .construction import SynapseGroup
from .groups import NeuronGroup, Slice
from .models import EIF_COND_ALPHA, EIF_COND_EXP, MODELS, composed_family, get_model
from .models.composed import DEFAULT_TOLERANCE
from .network import Network
from .numerics import NumericalInstability
from .options import OPTIONS
from .procedural import ProceduralGroup
from .sampling import sample
from .stimuli import NoiseCurrent, PiecewiseConstantCurrent, SinusoidalCurrent
from .synapses import get_synapse_model

__all__ = ["Backend", "DEFAULT_TOLERANCE", "EIF_COND_ALPHA", "EIF_COND_EXP", "MODELS",
           "Network", "NeuronGroup", "NoiseCurrent", "NumericalInstability", "OPTIONS",
           "PiecewiseConstantCurrent", "ProceduralGroup", "RandomStream", "SinusoidalCurrent",
           "Slice", "SynapseGroup", "composed_family", "connectivity", "get_model",
           "get_synapse_model", "gpu_available", "memory", "parallel", "sample"]
