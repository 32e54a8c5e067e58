"""Counter-based random numbers for the array-code step: the same numbers on CPU and GPU.

A :class:`CounterStream` is keyed by the network's seed, a stream name and the reset
epoch; a number is Philox4x32-10 of the counter (step, draw, global index), so it does
not depend on the device, on the order of draws, on how a run is split into chunks, nor
on the MPI rank that holds the neuron. The models whose draws must agree across devices
(GIF's escape noise, the precise Poisson source, the inhomogeneous gamma source) draw
from it in both the CPU and the GPU run.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .procedural import MASK32, philox4x32_10, uniform_from


class CounterStream:
    """Uniform numbers in (0, 1] keyed by (seed, name, epoch), counted by
    (step, draw, index)."""

    def __init__(self, xp, seed: int, name: str, epoch: int = 0):
        digest = hashlib.blake2b(f"{int(seed)}:{name}:{int(epoch)}".encode(), digest_size=8,
                                 person=b"counter").digest()
        word = int.from_bytes(digest, "little")
        self.xp = xp
        self.key = (word & MASK32, word >> 32)

    def uniform(self, step: int, index, draw: int = 0):
        """One number per element of `index` (global neuron indices, an integer array
        on the backend's device) for draw `draw` of step `step`; `draw` may be an
        array broadcast with `index`."""
        xp = self.xp
        step = int(step)
        index = xp.asarray(index).astype(np.uint64)
        w = philox4x32_10(xp, step & MASK32, step >> 32, index, draw, *self.key)
        return uniform_from(xp, w[0], w[1])
