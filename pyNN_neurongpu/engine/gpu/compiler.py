"""CUDA sources, their compilation to cubins and the launch helpers every GPU module
shares.

A module is compiled once per (source, options, architecture): its key hashes the source,
the text of every header of cuda/, the options and the architecture. A cubin is looked for
first among those built ahead (tools/build_cubins.py, at package-build time where nvcc is
present: cuda/cubin/), then in the kernel cache (``PYNN_NEURONGPU_KERNEL_CACHE``, default
``~/.cache/pyNN_neurongpu/kernels``, one folder per NVRTC version); else NVRTC compiles it
(through CuPy's binding) and the cache keeps it. Where any of that fails, CuPy's
``RawModule`` compiles the source as before. ``prefetch`` compiles modules in worker
threads while the caller goes on (NVRTC releases the GIL). This file imports nothing
outside the standard library at its top: setup.py loads it without the package.
"""

from __future__ import annotations

import functools
import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent.parent

# threads per block of every kernel but the pipelined delivery
THREADS = 256
CACHE_ENV = "PYNN_NEURONGPU_KERNEL_CACHE"
# the architectures tools/build_cubins.py compiles ahead for (A100, H100/H200)
AHEAD_ARCHS = ("80", "90")
# the modules compiled from cuda/ as they are (no generated code), by register limit
STATIC_MODULES = {"construction.cu": (0,), "delivery.cu": (0, 32), "numerics.cu": (0,),
                  "spike_source_array.cu": (0,), "plastic_synapses.cu": (0,)}

_lock = threading.Lock()
_pending: dict = {}
_executor = None
COUNTS = {"nvrtc": 0, "cache": 0, "ahead": 0, "fallback": 0}  # modules by where they came from


def cuda_dir() -> Path:
    """Directory of the CUDA sources: inside the installed package, or the checkout's cuda/."""
    for candidate in (_PACKAGE / "cuda", _PACKAGE.parent / "cuda"):
        if (candidate / "neurongpu_common.cuh").exists():
            return candidate
    raise FileNotFoundError("cannot find the CUDA sources (cuda/neurongpu_common.cuh)")


def read_source(name: str) -> str:
    return (cuda_dir() / name).read_text()


def static_source(name: str, real: str) -> str:
    """cuda/`name` compiled for floating-point type `real` ('double' or 'float')."""
    return f"#define NEURONGPU_REAL {real}\n" + read_source(name)


def c_type(dtype) -> str:
    import numpy as np
    dtype = np.dtype(dtype)
    return {np.dtype(np.float64): "double", np.dtype(np.float32): "float",
            np.dtype(np.int32): "int", np.dtype(np.int64): "long long",
            np.dtype(np.int8): "signed char", np.dtype(np.uint8): "unsigned char",
            np.dtype(np.uint16): "unsigned short", np.dtype(np.bool_): "bool"}[dtype]


def compile_options(max_registers: int = 0) -> tuple[str, ...]:
    """Compiler options of every module (the include path aside)."""
    options = ("-std=c++17", "--fmad=false")
    if max_registers:
        options += (f"--maxrregcount={int(max_registers)}",)
    return options


@functools.cache
def _headers_digest() -> str:
    digest = hashlib.sha256()
    for path in sorted(cuda_dir().glob("*.cuh")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def kernel_key(source: str, options, arch: str) -> str:
    """The cache key of a module: a hash of its source, cuda/'s headers, the options and
    the architecture (e.g. '90')."""
    digest = hashlib.sha256()
    for part in (source, _headers_digest(), "\0".join(options), str(arch)):
        digest.update(part.encode() + b"\0\1")
    return digest.hexdigest()[:32]


def ahead_dir() -> Path:
    """Where the cubins built ahead are (cuda/cubin/)."""
    return cuda_dir() / "cubin"


def cache_dir() -> Path | None:
    """The kernel cache's folder (None if PYNN_NEURONGPU_KERNEL_CACHE is 'off')."""
    value = os.environ.get(CACHE_ENV)
    if value is not None and value.lower() in ("0", "off", "no", "false", ""):
        return None
    if value:
        return Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pyNN_neurongpu" / "kernels"


def _nvrtc_version() -> str:
    from cupy.cuda import nvrtc
    major, minor = nvrtc.getVersion()
    return f"nvrtc-{major}.{minor}"


def nvrtc_cubin(source: str, options, arch: str) -> bytes:
    """Compile `source` to a cubin for sm_`arch` with NVRTC (CuPy's binding)."""
    from cupy.cuda import nvrtc
    program = nvrtc.createProgram(source, "module.cu", (), ())
    try:
        nvrtc.compileProgram(program, [*options, f"-I{cuda_dir()}", f"-arch=sm_{arch}"])
        return nvrtc.getCUBIN(program)
    finally:
        nvrtc.destroyProgram(program)


def cubin_file(source: str, max_registers: int, arch: str) -> Path | None:
    """The cubin of a module: built ahead, cached, or compiled now into the cache (None
    where NVRTC or the cache is unusable)."""
    options = compile_options(max_registers)
    key = kernel_key(source, options, arch)
    ahead = ahead_dir() / f"{key}.cubin"
    if ahead.exists():
        COUNTS["ahead"] += 1
        return ahead
    root = cache_dir()
    if root is None:
        return None
    try:
        path = root / _nvrtc_version() / f"{key}.cubin"
        if path.exists():
            COUNTS["cache"] += 1
            return path
        data = nvrtc_cubin(source, options, arch)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
        partial.write_bytes(data)
        os.replace(partial, path)   # atomic: a concurrent reader sees all of it or none
        COUNTS["nvrtc"] += 1
        return path
    except Exception:  # noqa: BLE001 - no usable NVRTC binding or cache: RawModule instead
        return None


def device_arch() -> str:
    import cupy
    return str(cupy.cuda.Device().compute_capability)


def _submit(source: str, max_registers: int, arch: str):
    """The future of a module's cubin file, submitted to the worker threads once."""
    global _executor
    key = (source, int(max_registers), arch)
    with _lock:
        future = _pending.get(key)
        if future is None:
            if _executor is None:
                _executor = ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1),
                                               thread_name_prefix="neurongpu-nvrtc")
            future = _pending[key] = _executor.submit(cubin_file, source, max_registers, arch)
    return future


def prefetch(modules) -> None:
    """Start compiling `modules`, (source, max_registers) pairs, in worker threads."""
    arch = device_arch()
    for source, max_registers in modules:
        _submit(source, max_registers, arch)


def static_modules(real: str, names=None) -> list[tuple[str, int]]:
    """(source, max_registers) of the static modules `names` (default: all) for `real`."""
    return [(static_source(name, real), registers)
            for name, variants in STATIC_MODULES.items() if names is None or name in names
            for registers in variants]


@functools.cache
def compile_module(source: str, max_registers: int = 0):
    """The loaded module of CUDA `source` (cached per source text and register limit; 0:
    the compiler's choice)."""
    import cupy
    path = _submit(source, max_registers, device_arch()).result()
    if path is not None:
        try:
            return cupy.RawModule(path=str(path))
        except Exception:  # noqa: BLE001 - e.g. a cubin too new for the driver
            pass
    COUNTS["fallback"] += 1
    return cupy.RawModule(code=source,
                          options=compile_options(max_registers) + (f"-I{cuda_dir()}",))


def blocks_for(n: int, threads: int = THREADS) -> int:
    return max(1, (n + threads - 1) // threads)


def pointer(array) -> int:
    """The device address of `array` (0 for None)."""
    return 0 if array is None else array.data.ptr


def pointer_table(backend, arrays) -> object:
    """Device array of the raw device pointers of `arrays`."""
    import numpy as np
    return backend.xp.asarray(np.array([a.data.ptr for a in arrays], dtype=np.uint64))
