"""Array module (NumPy or CuPy), floating-point precision and random streams.

Everything in the engine allocates through a :class:`Backend`, so one network
lives entirely on one device in one precision.
"""

from __future__ import annotations

import hashlib
import logging
import os

import numpy as np

from .options import env_backend, env_precision

logger = logging.getLogger("pyNN_neurongpu")


CUPY_MISSING = ("CuPy is not installed: pip install \"pyNN-neurongpu[cuda12]\" (CUDA 12) or "
                "pip install \"pyNN-neurongpu[cuda13]\" (CUDA 13), as nvidia-smi reports it")


def cupy_installed() -> bool:
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


COMPILED_NAMES = ("cpu-compiled", "cpu_compiled", "compiled")


def requested_device(device: str | None) -> str:
    """The backend asked for: the argument, else PYNN_NEURONGPU_BACKEND, else 'auto'
    (aliases mapped: 'cuda'/'cupy' -> 'gpu', 'numpy' -> 'cpu', 'compiled' -> 'cpu-compiled')."""
    device = (device or env_backend() or "auto").lower()
    if device in ("cuda", "cupy"):
        device = "gpu"
    if device in ("numpy",):
        device = "cpu"
    if device in COMPILED_NAMES:
        device = "cpu-compiled"
    if device not in ("auto", "gpu", "cpu", "cpu-compiled"):
        raise ValueError("backend must be 'auto', 'gpu', 'cpu' or 'cpu-compiled', not "
                         f"{device!r}")
    return device


def resolve_device(device: str | None) -> str:
    """Map 'auto'/'gpu'/'cpu'/'cpu-compiled' (or the environment variable) to 'gpu' or
    'cpu'."""
    device = requested_device(device)
    if device == "cpu-compiled":
        return "cpu"
    if device == "auto":
        return "gpu" if gpu_available() else "cpu"
    if device == "gpu" and not gpu_available():
        if not cupy_installed():
            raise RuntimeError(f"backend='gpu' was requested but {CUPY_MISSING}")
        raise RuntimeError("backend='gpu' was requested but CuPy finds no CUDA device")
    return device


def resolve_precision(precision: str | None) -> str:
    precision = (precision or env_precision() or "float64").lower()
    if precision in ("double", "fp64", "64"):
        precision = "float64"
    if precision in ("single", "fp32", "32"):
        precision = "float32"
    if precision not in ("float32", "float64"):
        raise ValueError(f"precision must be 'float32' or 'float64', not {precision!r}")
    return precision


class RandomStream:
    """A named random stream on the backend's device.

    Wraps ``numpy.random.Generator`` (CPU) or ``cupy.random.Generator`` (GPU).
    Streams derived from the same seed and name repeat exactly on the same device.
    """

    def __init__(self, xp, seed: int, name: str):
        # the whole name, hashed, keys the stream: distinct names give independent streams
        key = list(hashlib.blake2b(name.encode(), digest_size=16).digest())
        self.xp = xp
        self.seed = seed
        self.name = name
        entropy = np.random.SeedSequence([seed, *key])
        if xp is np:
            self._gen = np.random.Generator(np.random.PCG64(entropy))
        else:
            sub = int(entropy.generate_state(1)[0])
            self._gen = xp.random.Generator(xp.random.XORWOW(sub))

    def uniform(self, size, dtype=np.float64):
        return self._gen.random(size, dtype=dtype)

    def normal(self, size, dtype=np.float64):
        return self._gen.standard_normal(size, dtype=dtype)

    def poisson(self, lam, size=None):
        return self._gen.poisson(lam, size)

    def exponential(self, size, dtype=np.float64):
        return self._gen.standard_exponential(size, dtype=dtype)

    def gamma(self, shape, size=None):
        if self.xp is np:
            return self._gen.standard_gamma(shape, size)
        return self._gen.standard_gamma(shape, size=size)

    def integers(self, low, high, size):
        return self._gen.integers(low, high, size)

    def pcg64_words(self) -> np.ndarray:
        """The CPU stream's PCG64 state and increment as four uint64 words (low word
        first), which the compiled CPU step continues (cuda/host_stochastic.h)."""
        state = self._gen.bit_generator.state
        if state["bit_generator"] != "PCG64":
            raise TypeError(f"not a PCG64 stream: {state['bit_generator']}")
        mask = (1 << 64) - 1
        s, inc = state["state"]["state"], state["state"]["inc"]
        return np.array([s & mask, s >> 64, inc & mask, inc >> 64], dtype=np.uint64)

    def set_pcg64_words(self, words) -> None:
        """Continue the stream from `words` (as pcg64_words gives them)."""
        state = self._gen.bit_generator.state
        w = [int(x) for x in words]
        state["state"] = {"state": w[0] | w[1] << 64, "inc": w[2] | w[3] << 64}
        self._gen.bit_generator.state = state


class Backend:
    """Array module, precision and random streams for one engine network."""

    def __init__(self, device: str | None = "auto", precision: str | None = None,
                 seed: int | None = None):
        self.device = resolve_device(device)
        # which step runs a network on the CPU: 'reference' (the array code, backend
        # 'cpu'), or 'compiled' (engine/cpu, where it supports the network, else the
        # reference with a log line saying why: 'auto' without a GPU, 'cpu-compiled')
        self.cpu_engine = ("reference" if requested_device(device) == "cpu" else "compiled")
        self.precision = resolve_precision(precision)
        if self.device == "gpu":
            import cupy
            self.xp = cupy
        else:
            self.xp = np
        self.float = np.dtype(self.precision)
        self.seed = int(seed) if seed is not None else int(np.random.SeedSequence().entropy % 2**31)
        self._streams: dict[str, RandomStream] = {}

    @property
    def is_gpu(self) -> bool:
        return self.device == "gpu"

    def describe(self) -> str:
        if self.is_gpu:
            props = self.xp.cuda.runtime.getDeviceProperties(self.xp.cuda.Device().id)
            name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
            return f"GPU ({name}), {self.precision}"
        if self.cpu_engine == "compiled":
            from .cpu.compiler import compiler
            cxx = compiler()
            steps = f"compiled steps ({os.path.basename(cxx)})" if cxx else "no C++ compiler"
            return f"CPU (NumPy {np.__version__}; {steps}), {self.precision}"
        return f"CPU (NumPy {np.__version__}), {self.precision}"

    # -- allocation and transfer ---------------------------------------------------
    def asarray(self, a, dtype=None):
        return self.xp.asarray(a, dtype=dtype)

    def zeros(self, shape, dtype=None):
        return self.xp.zeros(shape, dtype=dtype or self.float)

    def to_host(self, a):
        """Return a NumPy copy (or view, on the CPU) of a backend array."""
        if self.xp is np or isinstance(a, np.ndarray):
            return np.asarray(a)
        return self.xp.asnumpy(a)

    def scatter_add(self, target, index, values):
        """``target[index] += values`` with repeated indices accumulated."""
        if self.xp is np:
            np.add.at(target, index, values)
        else:
            import cupyx
            cupyx.scatter_add(target, index, values)

    def repeat(self, values, counts):
        """``numpy.repeat(values, counts)`` for a counts *array*, on either device."""
        if self.xp is np:
            return np.repeat(values, counts)
        xp = self.xp
        total = int(counts.sum())
        ends = xp.cumsum(counts)
        owner = xp.searchsorted(ends, xp.arange(total), side="right")
        return values[owner]

    def rng(self, name: str) -> RandomStream:
        """The random stream called `name` (created on first use)."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = RandomStream(self.xp, self.seed, name)
        return stream
