"""Helpers shared by the benchmark scripts: device names, GPU memory, and running one
configuration in a fresh process (``SCRIPT --worker CONFIG_JSON`` prints ``RESULT {...}``)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def device_name(backend: str) -> str:
    """The GPU's name, or the CPU's model with its number of cores."""
    if backend == "gpu":
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else name
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_memory_used() -> float | None:
    """GiB of GPU memory in use (None without a GPU)."""
    try:
        import cupy
        free, total = cupy.cuda.runtime.memGetInfo()
        return (total - free) / 2**30
    except Exception:
        return None


def run_worker(script: str, config: dict, timeout: float) -> dict:
    """Run `script --worker CONFIG` in a fresh process; its result, or the config with an
    'error' entry."""
    cmd = [sys.executable, script, "--worker", json.dumps(config)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as err:
        tail = err.stderr.decode() if isinstance(err.stderr, bytes) else (err.stderr or "")
        return dict(config, error=f"timed out after {timeout:.0f} s",
                    log=tail.strip().splitlines()[-5:])
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    return dict(config, error=(proc.stderr or proc.stdout).strip().splitlines()[-1:])
