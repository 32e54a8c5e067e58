"""NativeRNG: random numbers drawn by the engine, on its device.

Where a connector's `rng` or a RandomDistribution's `rng` is a :class:`NativeRNG`,
connectivity and parameter values are drawn with the engine's random streams
(NumPy or CuPy generators), in bulk and without a host loop. The numbers differ
from NumPy's Mersenne Twister; their statistics are the distributions'.
"""

from __future__ import annotations

import numpy as np
from pyNN import random as pynn_random
from pyNN.random import (  # noqa: F401  (so that ``sim.random.NumpyRNG`` etc. work)
    GSLRNG,
    AbstractRNG,
    NumpyRNG,
    RandomDistribution,
    available_distributions,
)

from . import simulator
from .engine import RandomStream, sample


class NativeRNG(pynn_random.NativeRNG):
    """The engine's random number generator.

    With a `seed`, the generator's sequence depends only on that seed (and the
    device): two NativeRNGs with the same seed draw the same numbers. Without
    one, draws come from the simulator's stream seeded by ``setup(rng_seed=...)``.

    Copies share the generator (deepcopy returns the same object), so a
    RandomDistribution that PyNN copies still draws fresh numbers each time.
    """

    parallel_safe = False

    def __init__(self, seed=None):
        super().__init__(seed)
        self._streams: dict[str, RandomStream] = {}

    def __deepcopy__(self, memo):
        return self

    def stream(self, backend=None) -> RandomStream:
        """This generator's random stream on `backend` (the current simulator's by default)."""
        backend = backend or simulator.state.backend
        if self.seed is None:
            return backend.rng("pyNN.NativeRNG")
        stream = self._streams.get(backend.device)
        if stream is None:
            stream = self._streams[backend.device] = RandomStream(backend.xp, self.seed,
                                                                  "pyNN.NativeRNG")
        return stream

    def draw(self, distribution: str, parameters: dict, n: int, backend=None):
        """`n` values of `distribution` as a device array of `backend`."""
        return sample(self.stream(backend), distribution, parameters, int(n))

    def next(self, n=None, distribution=None, parameters=None, mask=None):
        """Host values, as :meth:`pyNN.random.NumpyRNG.next` returns them."""
        if distribution is None:
            distribution, parameters = "uniform", {"low": 0.0, "high": 1.0}
        if n is not None and n < 0:
            raise ValueError("The sample number must be positive")
        count = 1 if n is None else int(n)
        if mask is not None:
            mask = np.asarray(mask)
            count = int(mask.sum()) if mask.dtype == bool else mask.size
        backend = simulator.state.backend
        values = backend.to_host(self.draw(distribution, parameters, count, backend))
        return values[0] if n is None else values


def is_native(rng) -> bool:
    """True when `rng` asks for draws on the engine's device."""
    return isinstance(rng, NativeRNG)


_UNSEEDED = NativeRNG()


def native_for(rng):
    """The NativeRNG that draws in place of `rng`, or None where `rng`'s own numbers
    must be reproduced.

    A NativeRNG draws itself. A NumpyRNG or GSLRNG made without a seed (as
    ``RandomDistribution(...)`` makes one when given no rng) draws numbers nobody can
    reproduce, so the engine's stream (seeded by ``setup(rng_seed=...)``) draws them
    instead, in bulk on the device: same distribution, no per-column host loop.
    """
    if isinstance(rng, NativeRNG):
        return rng
    if isinstance(rng, (NumpyRNG, GSLRNG)) and rng.seed is None:
        return _UNSEEDED
    return None


class DefaultConnectorRNG(NumpyRNG):
    """The rng of a connector made without one: PyNN's default, ``NumpyRNG(seed=151985012)``.

    On the CPU engine it is exactly that, so the reference engine and pyNN.nest build
    the same network. On the GPU the connector draws with a NativeRNG instead, on the
    device (:func:`resolve_connector_rng`).
    """

    def __init__(self):
        super().__init__(seed=151985012)


def resolve_connector_rng(connector, backend) -> None:
    """On a GPU backend, let a connector made without an rng draw on the device."""
    if backend.is_gpu and isinstance(getattr(connector, "rng", None), DefaultConnectorRNG):
        connector.rng = NativeRNG()
