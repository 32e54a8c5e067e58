"""Scale-out over MPI ranks: the distribution of neurons, and the spike exchange once
per minimum-delay interval.

Distribution rule: the neurons of each population of a family with receptor ports are
split in contiguous blocks, rank r holding population indices [r n // P, (r + 1) n // P)
of a population of n neurons on P ranks; each rank stores and updates only its block and
the synapses onto it. Families without receptor ports (spike sources) are replicated:
every rank updates all of them with the same random streams (so their spikes equal the
one-process run's whatever P is) and owns, for recording, the same block of each
population; their spikes are never exchanged.

Exchange: the steps of one interval of `min_delay` steps (the smallest delay of any
synapse on any rank) run without communication; then each rank sends the spikes of its
distributed neurons, as (step, global source, multiplicity) int32 triplets, to the ranks
that hold synapses from that source (a per-source rank mask computed at finalisation).
Every rank then delivers the interval's spikes step by step, in the one-process order
(family, then global index), so float64 sums into each ring-buffer slot are added in the
same order for any number of ranks. A delay of at least `min_delay` steps puts every
delivered spike in a slot after the interval, which the ring buffer (max delay + 1 slots)
still holds.

:class:`Communicator` is one rank (tests, or no MPI); :class:`MPICommunicator` wraps
mpi4py, imported only where the process was started by an MPI launcher.
"""

from __future__ import annotations

import os
import time

import numpy as np

# environment variables set by MPI launchers (Open MPI, PMIx, MPICH / Hydra, Slurm)
_LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK",
                       "MPI_LOCALNRANKS")
SPIKE_WORDS = 3  # int32 words per exchanged spike: step, global source, multiplicity


class Communicator:
    """One rank: the collective operations the engine needs, without MPI."""
    rank = 0
    size = 1
    local_rank = 0

    @property
    def distributed(self) -> bool:
        """Whether the network is split over ranks (spikes go through the exchange)."""
        return self.size > 1

    def allgather(self, obj) -> list:
        return [obj]

    def allreduce_min(self, value: int) -> int:
        return value

    def alltoallv(self, send: list[np.ndarray]) -> list[np.ndarray]:
        """`send[r]` (int32) goes to rank r; returns what each rank sent to this one."""
        return [send[0]]

    def barrier(self):
        pass


class MPICommunicator(Communicator):
    """The ranks of an MPI communicator (mpi4py)."""

    def __init__(self, comm=None):
        from mpi4py import MPI
        self._MPI = MPI
        self.comm = comm if comm is not None else MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank = node.Get_rank()
        node.Free()

    def allgather(self, obj) -> list:
        return self.comm.allgather(obj)

    def allreduce_min(self, value: int) -> int:
        return int(self.comm.allreduce(int(value), op=self._MPI.MIN))

    def alltoallv(self, send):
        counts = np.array([a.size for a in send], dtype=np.int64)
        recv_counts = np.empty(self.size, dtype=np.int64)
        self.comm.Alltoall(counts, recv_counts)
        sendbuf = np.concatenate(send).astype(np.int32, copy=False) if send else np.zeros(0)
        recvbuf = np.empty(int(recv_counts.sum()), dtype=np.int32)
        s_off = np.concatenate([[0], np.cumsum(counts)[:-1]])
        r_off = np.concatenate([[0], np.cumsum(recv_counts)[:-1]])
        self.comm.Alltoallv([sendbuf, counts, s_off, self._MPI.INT32_T],
                            [recvbuf, recv_counts, r_off, self._MPI.INT32_T])
        return np.split(recvbuf, np.cumsum(recv_counts)[:-1])

    def barrier(self):
        self.comm.Barrier()


def launched_by_mpi() -> bool:
    return any(v in os.environ for v in _LAUNCHER_VARIABLES)


_DEFAULT = None


def default_communicator() -> Communicator:
    """MPI's world communicator where the process runs under an MPI launcher with
    mpi4py installed, else one rank (the same object on every call)."""
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Communicator()
        if launched_by_mpi():
            try:
                import mpi4py  # noqa: F401
            except ImportError:
                pass
            else:
                comm = MPICommunicator()
                if comm.size > 1:
                    _DEFAULT = comm
    return _DEFAULT


def block(n: int, size: int, rank: int) -> tuple[int, int]:
    """Population indices [lo, hi) that `rank` of `size` holds of a population of `n`."""
    return rank * n // size, (rank + 1) * n // size


class SpikeExchange:
    """Buffers the spikes of one interval and exchanges them (one per network)."""

    def __init__(self, comm: Communicator, needed, interval: int, gid_order):
        """`needed`: bool per global source, True where this rank holds synapses from
        it; `interval`: the minimum delay in steps; `gid_order`: each global index's
        position in the one-process spike order (family, then index)."""
        self.comm = comm
        self.interval = max(1, int(interval))
        masks = comm.allgather(np.packbits(np.asarray(needed, dtype=bool)))
        n = len(needed)
        self._needed_by = [np.unpackbits(m, count=n).astype(bool) for m in masks]
        self._order = np.asarray(gid_order, dtype=np.int64)
        self._pending = []     # per step: (step, own spikes (gids, counts), fired)
        self.bytes_sent = 0    # spike payload sent to other ranks, all intervals
        self.intervals = 0
        self.interval_bytes = []  # payload sent by this rank in each interval
        self.seconds = 0.0        # wall time in the exchanges (packing, MPI, sorting)

    def collect(self, step: int, gids, counts, exchanged, fired):
        """Keep step `step`'s spikes: `gids`/`counts` of every spike of stored neurons,
        `exchanged` True for those of distributed families; `fired` as the step has it."""
        self._pending.append((step, gids, counts, exchanged, fired))

    def due(self, next_step: int) -> bool:
        return next_step % self.interval == 0

    def exchange(self):
        """The interval's spikes this rank needs: per pending step, (step, fired, gids,
        counts) with gids in the one-process order."""
        if not self._pending:
            return []
        t0 = time.perf_counter()
        steps = np.concatenate([np.full(g.size, s, np.int64)
                                for s, g, _, _, _ in self._pending])
        gids = np.concatenate([g for _, g, _, _, _ in self._pending]).astype(np.int64)
        counts = np.concatenate([c for _, _, c, _, _ in self._pending]).astype(np.int64)
        shared = np.concatenate([e for _, _, _, e, _ in self._pending])
        own = ~shared
        send = []
        sent = 0
        for r in range(self.comm.size):
            sel = shared & self._needed_by[r][gids]
            words = np.stack([steps[sel], gids[sel], counts[sel]], axis=1).astype(
                np.int32).reshape(-1)
            if r != self.comm.rank:
                sent += words.nbytes
            send.append(words)
        received = self.comm.alltoallv(send)
        self.bytes_sent += sent
        self.interval_bytes.append(sent)
        self.intervals += 1
        triplets = np.concatenate(received).reshape(-1, SPIKE_WORDS).astype(np.int64)
        mine = own & self._needed_by[self.comm.rank][gids]
        all_steps = np.concatenate([triplets[:, 0], steps[mine]])
        all_gids = np.concatenate([triplets[:, 1], gids[mine]])
        all_counts = np.concatenate([triplets[:, 2], counts[mine]])
        order = np.lexsort((self._order[all_gids], all_steps))
        all_steps, all_gids, all_counts = all_steps[order], all_gids[order], all_counts[order]
        out = []
        for s, _, _, _, fired in self._pending:
            lo, hi = np.searchsorted(all_steps, [s, s + 1])
            out.append((s, fired, all_gids[lo:hi], all_counts[lo:hi]))
        self._pending = []
        self.seconds += time.perf_counter() - t0
        return out

    def exchange_events(self, steps, gids, counts):
        """The GPU step's exchange: this rank's spikes of distributed neurons in the
        interval (step, global index, multiplicity; delivered here already) go to the
        ranks that need them; returns the (steps, gids, counts) that the other ranks sent
        this one, sorted by step and then in the one-process order."""
        t0 = time.perf_counter()
        steps, gids, counts = (np.asarray(a, dtype=np.int64) for a in (steps, gids, counts))
        send = []
        sent = 0
        for r in range(self.comm.size):
            if r == self.comm.rank:
                send.append(np.zeros(0, dtype=np.int32))
                continue
            sel = self._needed_by[r][gids]
            words = np.stack([steps[sel], gids[sel], counts[sel]], axis=1).astype(
                np.int32).reshape(-1)
            sent += words.nbytes
            send.append(words)
        received = self.comm.alltoallv(send)
        self.bytes_sent += sent
        self.interval_bytes.append(sent)
        self.intervals += 1
        triplets = (np.concatenate(received) if received else np.zeros(0, np.int32)).reshape(
            -1, SPIKE_WORDS).astype(np.int64)
        order = np.lexsort((self._order[triplets[:, 1]], triplets[:, 0]))
        triplets = triplets[order]
        self.seconds += time.perf_counter() - t0
        return triplets[:, 0], triplets[:, 1], triplets[:, 2]

    def clear(self):
        self._pending = []


__all__ = ["Communicator", "MPICommunicator", "SpikeExchange", "block",
           "default_communicator", "launched_by_mpi"]
