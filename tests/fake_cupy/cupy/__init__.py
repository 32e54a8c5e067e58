"""A stand-in for CuPy on machines without a GPU (tests/engine/test_gpu_host_code.py).

Arrays are NumPy arrays that have CuPy's ``.data.ptr``; streams, events, graphs and the
device do nothing; compiled kernels run nothing and record their launches in
:data:`TRACE`. The GPU step's host code (argument records, launch order, graph capture,
chunking, draining) then runs for real, so CI catches an error in it without a GPU. The
simulated results are meaningless: no kernel computes anything.
"""

import atexit
import hashlib
import os
import shutil
import sys
import tempfile
import types

import numpy as _np

TRACE = []      # ("launch", kernel, grid, block, argument signatures, captured) and others
SOURCES = {}    # digest -> (source, options) of every compiled module
_capturing = [False]
# a fresh kernel cache per process, so that every module compiles (and is recorded) once
if "PYNN_NEURONGPU_KERNEL_CACHE" not in os.environ:
    os.environ["PYNN_NEURONGPU_KERNEL_CACHE"] = tempfile.mkdtemp(prefix="fake_cupy_")
    atexit.register(shutil.rmtree, os.environ["PYNN_NEURONGPU_KERNEL_CACHE"], True)


class _Data:
    def __init__(self, arr):
        self.ptr = int(arr.__array_interface__["data"][0]) or 1


class ndarray(_np.ndarray):
    """A NumPy array with CuPy's ``data.ptr`` and ``get()``."""

    @property
    def data(self):
        return _Data(self)

    def get(self):
        return _np.array(self).view(_np.ndarray)

    def __array_wrap__(self, obj, context=None, return_scalar=False):
        if obj.ndim == 0 and return_scalar:
            return obj[()]
        return obj.view(ndarray)


def _wrap(x):
    if isinstance(x, _np.ndarray) and not isinstance(x, ndarray):
        return x.view(ndarray)
    if isinstance(x, (tuple, list)):
        return type(x)(_wrap(v) for v in x)
    return x


def _wrapped(fn):
    def call(*args, **kwargs):
        return _wrap(fn(*args, **kwargs))
    call.__name__ = getattr(fn, "__name__", "function")
    return call


def asnumpy(a, *args, **kwargs):
    return _np.array(a).view(_np.ndarray)


def __getattr__(name):
    attr = getattr(_np, name)
    if isinstance(attr, type) or not callable(attr):
        return attr
    return _wrapped(attr)


class _Pool:
    def free_bytes(self):
        return 0

    def used_bytes(self):
        return 0

    def free_all_blocks(self):
        pass


def get_default_memory_pool():
    return _Pool()


def get_default_pinned_memory_pool():
    return _Pool()


def signature(value) -> str:
    """A launch argument as the trace shows it: arrays by dtype and shape, numbers by value."""
    if isinstance(value, _np.ndarray):
        return f"array[{value.dtype},{value.shape}]"
    if isinstance(value, (_np.integer, _np.floating)):
        return f"{type(value).__name__}({value.item()})"
    return type(value).__name__


class _Kernel:
    def __init__(self, module, name):
        self.module, self.name = module, name
        self.kernel = types.SimpleNamespace(ptr=1)
        self.attributes = {}

    def __call__(self, grid, block, args, **kwargs):
        TRACE.append(("launch", self.name, tuple(grid), tuple(block),
                      tuple(signature(a) for a in args), _capturing[0]))


def _record_compile(code, options):
    digest = hashlib.sha1((code + repr(tuple(options))).encode()).hexdigest()[:12]
    SOURCES[digest] = (code, tuple(options))
    TRACE.append(("compile", digest))
    return digest


class RawModule:
    """Compiles `code` (recorded), or loads the file at `path`: a "cubin" of the fake
    NVRTC below holds the source text."""

    def __init__(self, code=None, options=(), path=None, **kwargs):
        if path is not None:
            self.code = open(path, "rb").read().decode("latin-1")
            TRACE.append(("load", path))
            return
        self.code = code or ""
        _record_compile(self.code, options)

    def get_function(self, name):
        if name not in self.code:
            raise AttributeError(f"the module has no kernel {name}")
        return _Kernel(self, name)


class _Graph:
    def launch(self, stream=None):
        TRACE.append(("graph_launch",))

    def upload(self, stream=None):
        pass


_streams = []


class Stream:
    def __init__(self, non_blocking=False, **kwargs):
        pass

    def __enter__(self):
        _streams.append(self)
        return self

    def __exit__(self, *exc):
        _streams.pop()

    def synchronize(self):
        TRACE.append(("synchronize",))

    def begin_capture(self, *args, **kwargs):
        _capturing[0] = True
        TRACE.append(("begin_capture",))

    def end_capture(self):
        _capturing[0] = False
        TRACE.append(("end_capture",))
        return _Graph()

    def wait_event(self, event):
        TRACE.append(("wait_event",))


class Event:
    def __init__(self, *args, **kwargs):
        pass

    def record(self, stream=None):
        TRACE.append(("record_event",))

    def synchronize(self):
        pass


class Device:
    def __init__(self, id=0):
        self.id = id
        self.attributes = {"MultiProcessorCount": 132}
        self.compute_capability = "90"

    def synchronize(self):
        TRACE.append(("device_synchronize",))

    def use(self):
        pass


cuda = types.ModuleType("cupy.cuda")
cuda.Stream, cuda.Event, cuda.Device = Stream, Event, Device
cuda.get_current_stream = lambda: _streams[-1] if _streams else Stream()
cuda.get_elapsed_time = lambda start, stop: 0.0
cuda.runtime = types.SimpleNamespace(
    getDeviceCount=lambda: 1, memGetInfo=lambda: (6 << 30, 8 << 30),
    getDeviceProperties=lambda i: {"name": b"fake GPU (tests/fake_cupy)"},
    deviceSynchronize=lambda: None)
cuda.driver = types.SimpleNamespace(occupancyMaxActiveBlocksPerMultiprocessor=lambda *a: 3)
sys.modules["cupy.cuda"] = cuda


class _Program:
    def __init__(self, source):
        self.source = source


nvrtc = types.ModuleType("cupy.cuda.nvrtc")
nvrtc.getVersion = lambda: (13, 0)
nvrtc.createProgram = lambda source, name, headers, include_names: _Program(source)
nvrtc.compileProgram = lambda program, options: _record_compile(program.source, options)
nvrtc.getCUBIN = lambda program: program.source.encode("latin-1")
nvrtc.destroyProgram = lambda program: None
cuda.nvrtc = nvrtc
sys.modules["cupy.cuda.nvrtc"] = nvrtc

random = types.ModuleType("cupy.random")


class XORWOW:
    def __init__(self, seed):
        self.seed = seed


class Generator:
    def __init__(self, bit_generator):
        self._gen = _np.random.Generator(_np.random.PCG64(bit_generator.seed))

    def __getattr__(self, name):
        return _wrapped(getattr(self._gen, name))


random.XORWOW, random.Generator = XORWOW, Generator
sys.modules["cupy.random"] = random
