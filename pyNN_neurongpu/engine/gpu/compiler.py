"""CUDA sources and their compilation (NVRTC through cupy.RawModule), and the launch
helpers every GPU module shares."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

_PACKAGE = Path(__file__).resolve().parent.parent.parent

# threads per block of every kernel but the pipelined delivery
THREADS = 256


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
    dtype = np.dtype(dtype)
    return {np.dtype(np.float64): "double", np.dtype(np.float32): "float",
            np.dtype(np.int32): "int", np.dtype(np.int64): "long long",
            np.dtype(np.int8): "signed char", np.dtype(np.uint8): "unsigned char",
            np.dtype(np.uint16): "unsigned short", np.dtype(np.bool_): "bool"}[dtype]


@functools.cache
def compile_module(source: str, max_registers: int = 0):
    """Compile CUDA source with NVRTC (cached per source text and register limit; 0: the
    compiler's choice)."""
    import cupy
    options = ("-std=c++17", "--fmad=false", f"-I{cuda_dir()}")
    if max_registers:
        options += (f"--maxrregcount={int(max_registers)}",)
    return cupy.RawModule(code=source, options=options)


def blocks_for(n: int, threads: int = THREADS) -> int:
    return max(1, (n + threads - 1) // threads)


def pointer(array) -> int:
    """The device address of `array` (0 for None)."""
    return 0 if array is None else array.data.ptr


def pointer_table(backend, arrays) -> object:
    """Device array of the raw device pointers of `arrays`."""
    return backend.xp.asarray(np.array([a.data.ptr for a in arrays], dtype=np.uint64))
