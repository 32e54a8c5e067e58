"""Host compilation of the compiled CPU engine: the system C++ compiler builds a shared
library per source text, cached on disk by a hash of the source, the compiler and its
flags (as the CUDA kernels are cached by CuPy), and loaded through ctypes."""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..gpu.compiler import cuda_dir

logger = logging.getLogger("pyNN_neurongpu")

CXX_ENV = "PYNN_NEURONGPU_CXX"
CACHE_ENV = "PYNN_NEURONGPU_CPU_CACHE"
# -ffp-contract=off: no fused multiply-adds, so float64 results are the reference engine's
FLAGS = ("-std=c++17", "-O2", "-ffp-contract=off", "-fno-fast-math", "-fPIC", "-shared")
HEADERS = ("host_prelude.h", "host_step.h", "host_stochastic.h", "neurongpu_common.cuh",
           "rkf45.cuh", "plastic_synapses.cu", "procedural.cu")


class CompilerMissing(RuntimeError):
    """No C++ compiler was found (or it failed on the engine's own sources)."""


@functools.cache
def compiler() -> str | None:
    """Path of the C++ compiler: $PYNN_NEURONGPU_CXX, else $CXX, else g++, c++ or clang++."""
    for name in (os.environ.get(CXX_ENV), os.environ.get("CXX"), "g++", "c++", "clang++"):
        if name:
            path = shutil.which(name)
            if path:
                return path
    return None


@functools.cache
def _compiler_id(path: str) -> str:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0] if out.stdout else path
    except (OSError, subprocess.SubprocessError):
        return path


def cache_dir() -> Path:
    root = os.environ.get(CACHE_ENV)
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "pyNN_neurongpu" / "cpu"


def _key(source: str, cxx: str) -> str:
    h = hashlib.sha256()
    h.update(source.encode())
    for name in HEADERS:
        h.update((cuda_dir() / name).read_bytes())
    h.update(" ".join((_compiler_id(cxx),) + FLAGS).encode())
    return h.hexdigest()[:24]


_LOADED: dict[str, ctypes.CDLL] = {}
_BY_SOURCE: dict[tuple[str, str], ctypes.CDLL] = {}  # this process's loads: no key to hash


def load(source: str) -> ctypes.CDLL:
    """The library built from `source` (compiled now unless cached), its run_steps and
    deliver_spikes bound."""
    cxx = compiler()
    if cxx is None:
        raise CompilerMissing("no C++ compiler found (set PYNN_NEURONGPU_CXX or CXX, or "
                              "install g++)")
    lib = _BY_SOURCE.get((source, cxx))
    if lib is not None:
        return lib
    key = _key(source, cxx)
    lib = _LOADED.get(key)
    if lib is not None:
        _BY_SOURCE[(source, cxx)] = lib
        return lib
    folder = cache_dir()
    path = folder / f"step_{key}.so"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder) as tmp:
            src = Path(tmp) / "step.cpp"
            src.write_text(source)
            out = Path(tmp) / "step.so"
            build = subprocess.run([cxx, *FLAGS, f"-I{cuda_dir()}", "-o", str(out), str(src)],
                                   capture_output=True, text=True)
            if build.returncode != 0:
                raise CompilerMissing(f"{cxx} failed on the compiled CPU engine's source:\n"
                                      + build.stderr[-4000:])
            os.replace(out, path)  # atomic: another process may be building the same
        logger.debug("compiled CPU step %s", path)
    lib = ctypes.CDLL(str(path))
    lib.run_steps.restype = ctypes.c_longlong
    lib.run_steps.argtypes = [ctypes.c_void_p]
    lib.deliver_spikes.restype = None
    lib.deliver_spikes.argtypes = [ctypes.c_void_p, ctypes.c_longlong] + [ctypes.c_void_p] * 4
    _LOADED[key] = _BY_SOURCE[(source, cxx)] = lib
    return lib
