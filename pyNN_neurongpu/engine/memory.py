"""Memory estimates, checked before large allocations.

A network that will not fit raises :class:`MemoryError` with the estimate (bytes per
synapse, per neuron, per recorded sample) before anything is allocated, instead of a
CUDA out-of-memory error half-way through construction.
"""

from __future__ import annotations

import os

from .construction import GROUP_BYTES_INDEX, table_bytes_per_synapse

# transient bytes per synapse while a table is finalised: the counting sort works in chunks
# of a fixed size (construction.FINALISE_CHUNK), so only groups whose targets span several
# families add per-synapse indices (8 B, rare); 1 B is the measured average
FINALISE_TRANSIENT = 1


def available_bytes(backend) -> int:
    """Bytes that can still be allocated on the backend's device (host RAM on the CPU)."""
    if backend.is_gpu:
        cupy = backend.xp
        free, _ = cupy.cuda.runtime.memGetInfo()
        return int(free) + int(cupy.get_default_memory_pool().free_bytes())
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def synapse_bytes(backend) -> int:
    """Bytes one static synapse keeps: in its synapse group and in its delivery table."""
    f = backend.float.itemsize
    return GROUP_BYTES_INDEX + f + table_bytes_per_synapse(f)


def _fmt(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024.0
    return str(n)


def require(backend, needed: int, what: str, terms: list[tuple[str, int, int]]) -> None:
    """Raise MemoryError if `needed` bytes exceed what is available.

    `terms` lists (item, count, bytes per item) for the message.
    """
    free = available_bytes(backend)
    if needed <= free:
        return
    detail = "; ".join(f"{count:,} {item} x {per} B" for item, count, per in terms if count)
    device = "GPU memory" if backend.is_gpu else "host memory"
    raise MemoryError(
        f"{what} will not fit in {device} ({backend.describe()}): about {_fmt(needed)} needed "
        f"({detail}), {_fmt(free)} free. Reduce the network, record less"
        + (", or use setup(precision='float32')" if backend.float.itemsize == 8 else "")
        + ".")


def check_new_synapses(network, n_new: int, building_bytes: int = 0,
                       indices_allocated: bool = False) -> None:
    """Before creating `n_new` synapses: they, their delivery tables and the tables of
    synapses not yet finalised must fit (plus `building_bytes` per new synapse of
    temporary arrays of whoever generates them; `indices_allocated`: their int32 index
    arrays exist already)."""
    backend = network.backend
    f = backend.float.itemsize
    table = table_bytes_per_synapse(f)
    pending = 0 if network._tables is not None else sum(sg.size for sg in
                                                        network.synapse_groups)
    stored = GROUP_BYTES_INDEX + f - (8 if indices_allocated else 0)
    per_new = stored + table + FINALISE_TRANSIENT + building_bytes
    require(backend, n_new * per_new + pending * (table + FINALISE_TRANSIENT),
            f"{n_new:,} more synapses",
            [("new synapses", n_new, per_new),
             ("synapses awaiting their delivery table", pending, table + FINALISE_TRANSIENT)])


def check_recording(backend, n_samples: int, itemsize: int = 8) -> None:
    """Before a run: the recorded samples it will add must fit in host memory."""
    host = _HostView(backend)
    require(host, n_samples * itemsize, "the state recorded in this run",
            [("recorded samples", n_samples, itemsize)])


class _HostView:
    """A backend seen as its host (recordings are kept in host memory)."""

    is_gpu = False

    def __init__(self, backend):
        self.float = backend.float
        self._backend = backend

    def describe(self) -> str:
        return "host RAM"
