"""pyNN.neurongpu: a PyNN backend that runs spiking networks on NVIDIA GPUs (CuPy)
or, where no GPU is present, on the CPU (NumPy), with NEST's model semantics.

Use it as any PyNN backend::

    import pyNN.neurongpu as sim
    sim.setup(timestep=0.1)            # backend='auto' | 'gpu' | 'cpu', precision=...
"""

from pyNN import errors, space  # noqa: F401
from pyNN.network import Network  # noqa: F401
from pyNN.random import GSLRNG, NumpyRNG, RandomDistribution  # noqa: F401
from pyNN.recording import *  # noqa: F401,F403
from pyNN.space import Space  # noqa: F401
from pyNN.standardmodels import StandardCellType

from . import random  # noqa: F401
from .connectors import *  # noqa: F401,F403
from .control import (  # noqa: F401
    end,
    get_current_time,
    get_max_delay,
    get_min_delay,
    get_time_step,
    initialize,
    num_processes,
    rank,
    reset,
    run,
    run_for,
    run_until,
    setup,
)
from .populations import Assembly, Population, PopulationView  # noqa: F401
from .procedural_api import connect, create, record, record_gsyn, record_v, set  # noqa: F401
from .projections import Projection  # noqa: F401
from .random import NativeRNG  # noqa: F401
from .standardmodels.cells import *  # noqa: F401,F403
from .standardmodels.composed import *  # noqa: F401,F403
from .standardmodels.electrodes import *  # noqa: F401,F403
from .standardmodels.synapses import *  # noqa: F401,F403


def list_standard_models():
    """Names of the standard cell types this backend provides."""
    return [obj.__name__ for obj in globals().values()
            if isinstance(obj, type) and issubclass(obj, StandardCellType)
            and obj is not StandardCellType]
