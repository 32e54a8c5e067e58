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
    """Bytes that can still be allocated on the backend's device; on the CPU, host RAM
    within the process's limits (RLIMIT_AS and the cgroup v1/v2 memory limit)."""
    if backend.is_gpu:
        cupy = backend.xp
        free, _ = cupy.cuda.runtime.memGetInfo()
        return int(free) + int(cupy.get_default_memory_pool().free_bytes())
    return min(_host_free(), _address_space_left(), _cgroup_left())


def _host_free() -> int:
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
        return UNLIMITED


UNLIMITED = 1 << 62


def _address_space_left() -> int:
    """RLIMIT_AS (ulimit -v) minus the address space the process already maps."""
    try:
        import resource
        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return UNLIMITED
    if soft == resource.RLIM_INFINITY or soft < 0:
        return UNLIMITED
    return max(0, int(soft) - _mapped_bytes())


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _read_int(path):
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None
    if text in ("", "max"):
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _own_cgroups(proc_cgroup="/proc/self/cgroup"):
    """(v2 path or None, v1 memory-controller path or None) of this process's cgroup."""
    v2 = v1 = None
    try:
        with open(proc_cgroup) as f:
            for line in f:
                parts = line.strip().split(":", 2)
                if len(parts) != 3:
                    continue
                if parts[0] == "0" and parts[1] == "":
                    v2 = parts[2]
                elif "memory" in parts[1].split(","):
                    v1 = parts[2]
    except OSError:
        pass
    return v2, v1


def _cgroup_left(root="/sys/fs/cgroup", proc_cgroup="/proc/self/cgroup") -> int:
    """Memory left under the tightest cgroup limit of this process and its ancestors
    (cgroup v2 memory.max - memory.current, v1 memory.limit_in_bytes - usage)."""
    v2, v1 = _own_cgroups(proc_cgroup)
    left = UNLIMITED
    candidates = []
    if v2 is not None:
        candidates += [(os.path.join(root, d), "memory.max", "memory.current")
                       for d in _ancestors(v2)]
    if v1 is not None:
        for base in (os.path.join(root, "memory"), root):
            candidates += [(os.path.join(base, d), "memory.limit_in_bytes",
                            "memory.usage_in_bytes") for d in _ancestors(v1)]
    for directory, limit_file, usage_file in candidates:
        limit = _read_int(os.path.join(directory, limit_file))
        if limit is None or limit >= UNLIMITED:
            continue
        usage = _read_int(os.path.join(directory, usage_file)) or 0
        left = min(left, max(0, limit - usage))
    return left


def _ancestors(path: str):
    """'/a/b' -> ['a/b', 'a', ''] (relative paths below the cgroup root)."""
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/".join(parts[:i]) for i in range(len(parts), -1, -1)]


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


def require(backend, needed: int, what: str, terms: list[tuple[str, int, int]],
            float32_helps: bool = True) -> None:
    """Raise MemoryError if `needed` bytes exceed what is available.

    `terms` lists (item, count, bytes per item) for the message; `float32_helps`: whether
    setup(precision='float32') would shrink what is needed.
    """
    free = available_bytes(backend)
    if needed <= free:
        return
    detail = "; ".join(f"{count:,} {item} x {per} B" for item, count, per in terms if count)
    device = "GPU memory" if backend.is_gpu else "host memory"
    raise MemoryError(
        f"{what} will not fit in {device} ({backend.describe()}): about {_fmt(needed)} needed "
        f"({detail}), {_fmt(free)} free. Reduce the network, record less"
        + (", or use setup(precision='float32')"
           if float32_helps and backend.float.itemsize == 8 else "")
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
    pending = 0 if network._tables is not None else network.static_synapses
    stored = GROUP_BYTES_INDEX + f - (8 if indices_allocated else 0)
    per_new = stored + table + FINALISE_TRANSIENT + building_bytes
    require(backend, n_new * per_new + pending * (table + FINALISE_TRANSIENT),
            f"{n_new:,} more synapses",
            [("new synapses", n_new, per_new),
             ("synapses awaiting their delivery table", pending, table + FINALISE_TRANSIENT)])


def check_recording(backend, n_samples: int, itemsize: int = 8) -> None:
    """Before a run: the recorded samples it will add must fit in host memory."""
    host = _HostView(backend)
    # recordings are kept in float64 whatever the precision: float32 would not help
    require(host, n_samples * itemsize, "the state recorded in this run",
            [("recorded samples", n_samples, itemsize)], float32_helps=False)


class _HostView:
    """A backend seen as its host (recordings are kept in host memory)."""

    is_gpu = False

    def __init__(self, backend):
        self.float = backend.float
        self._backend = backend

    def describe(self) -> str:
        return "host RAM"
