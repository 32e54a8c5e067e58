"""The compiled CPU step (engine/cpu/step.py): the GPU's generated per-family update code,
built for the host with the system C++ compiler, many steps per call."""

from .step import CpuStep, unsupported

__all__ = ["CpuStep", "unsupported"]
