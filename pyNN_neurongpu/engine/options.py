"""Every switch of the engine, in one place.

The device and precision are chosen at ``setup()`` (arguments, else the environment
variables below, read then). The GPU step's tuning switches are read once, when the engine
is imported, into :data:`OPTIONS`; tests and profiling scripts change its attributes.
docs/architecture.md has the table of all of them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

BACKEND = "PYNN_NEURONGPU_BACKEND"
PRECISION = "PYNN_NEURONGPU_PRECISION"
PREFIX = "PYNN_NEURONGPU_"


def env_backend() -> str | None:
    """The device named by PYNN_NEURONGPU_BACKEND ('auto', 'gpu', 'cpu'), if set."""
    return os.environ.get(BACKEND)


def env_precision() -> str | None:
    """The precision named by PYNN_NEURONGPU_PRECISION ('float64', 'float32'), if set."""
    return os.environ.get(PRECISION)


def _flag(value: str) -> bool:
    return value.lower() not in ("0", "false", "no", "off")


@dataclass
class Options:
    """The GPU step's switches; each field is read from ``PYNN_NEURONGPU_<FIELD>``."""

    #: run the fused CUDA step on a GPU (off: the array-code reference step on the device)
    kernels: bool = True
    #: replay chunks of steps as CUDA graphs (off: launch every kernel of every step)
    graphs: bool = True
    #: deliver step t's spikes beside the update of step t + 1 where delays allow
    pipeline: bool = True
    #: pooled families: a block's threads share its neurons, one RKF45 attempt at a time
    pool: bool = True
    #: neurons per thread of the pooled families (0: as many as make one wave of blocks)
    pool_per_thread: int = 0
    #: the fast RKF45 arithmetic in families whose GPU results differ in the last bit anyway
    fast_rk: bool = True
    #: register limit of the fused update kernel (-1: 64, or 80 with a pooled family;
    #: 0: the compiler's choice)
    fused_max_registers: int = -1
    #: the last propagation block ends the step (off: a separate one-thread launch)
    fuse_end_step: bool = True
    #: spikes of neurons with at most 8 synapses are delivered by the neuron's thread
    direct: bool = True
    #: plastic synapse groups in the fused step's CUDA kernels (off: array code on the device)
    plastic_kernels: bool = True
    #: resident blocks per SM of the propagation kernel
    propagate_blocks_per_sm: int = 4
    #: threads per block, blocks per SM and register limit of the pipelined delivery kernel
    deliver_threads: int = 128
    deliver_blocks_per_sm: int = 1
    deliver_registers: int = 32

    @classmethod
    def from_environment(cls, environ=None) -> Options:
        """The defaults, overridden by the environment variables that are set."""
        environ = os.environ if environ is None else environ
        values = {}
        for field in fields(cls):
            raw = environ.get(PREFIX + field.name.upper())
            if raw is not None:
                values[field.name] = _flag(raw) if field.type in (bool, "bool") else int(raw)
        return cls(**values)


OPTIONS = Options.from_environment()
