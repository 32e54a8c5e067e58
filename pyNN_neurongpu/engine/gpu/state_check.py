"""The GPU step's check of the neuron state after each chunk of steps
(:mod:`pyNN_neurongpu.engine.numerics` defines what is checked and the error).

One launch of cuda/numerics.cu over every checked state array raises a device flag; the
host reads the flag when the chunk is done and only then looks for the neuron, so a
healthy run pays one small kernel and a 4-byte copy per chunk instead of one reduction
and one synchronisation per state variable."""

from __future__ import annotations

import numpy as np

from .. import numerics
from .abi import CHECKED_ARRAY_DTYPE, records
from .compiler import THREADS, blocks_for

# blocks per checked array (each strides over its array)
MAX_BLOCKS = 256


class StateCheck:
    """Flags non-finite or out-of-bounds state of a GpuStep's families."""

    def __init__(self, runner):
        self.runner = runner
        net = runner.net
        self.enabled = bool(getattr(net, "check_numerics", True))
        self.groups = [f.group for f in runner.families]
        xp = runner.backend.xp
        real = np.dtype(runner.backend.float)
        rows = []
        # arrays the kernel cannot read (another dtype with bounds, or not contiguous)
        # are checked the slow way, on the host's request
        self.fallback = False
        for g in self.groups:
            for name, lo, hi in numerics.checked_variables(g.model):
                x = g.state[name]
                if x.size == 0:
                    continue
                if x.dtype == real and x.flags.c_contiguous:
                    rows.append((x.data.ptr, x.size, lo, hi))
                elif x.dtype.kind == "f" or lo > -np.inf or hi < np.inf:
                    self.fallback = True
        self.n_arrays = len(rows)
        self.table = records(xp, CHECKED_ARRAY_DTYPE, rows)
        self.flag = xp.zeros(1, dtype=np.int32)
        longest = max((r[1] for r in rows), default=1)
        self.grid = (min(blocks_for(longest), MAX_BLOCKS), max(self.n_arrays, 1))
        self._launched = False

    def launch(self):
        """Queue the check of the current state on the current stream."""
        if not self.enabled or self.fallback or not self.n_arrays:
            return
        fn = self.runner.static_kernel("numerics.cu", "flag_bad_state")
        fn(self.grid, (THREADS,), (self.table, self.flag))
        self._launched = True

    def check(self, first_step: int, last_step: int):
        """Raise NumericalInstability if the state is bad after steps first..last (under
        MPI on every rank, when any rank's state is)."""
        comm = self.runner.net.comm
        if not comm.distributed:
            self._check(first_step, last_step)
            return
        try:
            self._check(first_step, last_step)
            failure = None
        except numerics.NumericalInstability as err:
            failure = err
        numerics.raise_on_every_rank(comm, failure, first_step, last_step)

    def _check(self, first_step: int, last_step: int):
        if not self.enabled:
            return
        if self.fallback:
            numerics.check(self.runner.net, self.groups, first_step, last_step)
            return
        if not self._launched:
            return
        self._launched = False
        if int(self.flag.get()[0]):
            self.flag[...] = 0
            numerics.check(self.runner.net, self.groups, first_step, last_step)
