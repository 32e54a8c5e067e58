"""The GPU step: fused CUDA kernels generated from the model declarations, replayed as
CUDA graphs (step.py); device views of the network (families.py), kernel generation
(codegen.py), the host/device records (abi.py), compilation (compiler.py), plastic
synapse groups (plastic.py) and table construction (construction.py). Imported only when
a network runs on a GPU; CuPy is imported inside."""

from .step import GpuStep, prefetch_modules

__all__ = ["GpuStep", "prefetch_modules"]
