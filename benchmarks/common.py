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


def cpu_name() -> str:
    """The CPU's model name."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(backend: str) -> str:
    """The GPU's name, or the CPU's model with its number of cores."""
    if backend == "gpu":
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else name
    return f"{cpu_name()} ({os.cpu_count()} cores)"


def setup_simulator(config: dict, example: Path, dt: float = 0.1):
    """In a worker process: make `example`'s folder and the checkout importable, import the
    configuration's simulator as `pyNN.<name>` and set it up (on-grid spikes, the seed;
    backend and precision for pyNN.neurongpu, threads for pyNN.nest). Returns the module."""
    import importlib
    sys.path.insert(0, str(example))
    sys.path.insert(0, str(ROOT))
    import pynn_neurongpu_alias
    pynn_neurongpu_alias.install()
    simulator = config["simulator"]
    sim = importlib.import_module(f"pyNN.{simulator}")
    extra = {"spike_precision": "on_grid", "rng_seed": config["seed"]}
    if simulator == "neurongpu":
        extra.update(backend=config["backend"], precision=config["precision"])
    else:
        extra.update(threads=config["threads"], verbosity="error")
    sim.setup(timestep=dt, min_delay=dt, **extra)
    return sim


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


def write_results(path, payload: dict, label: str | None = None) -> None:
    """Write a benchmark's results to `path`. With `label`, `path` is the benchmark's one
    results file (benchmarks/results/<name>.json: its labelled runs, newest last) and the
    run is added to it, replacing a run of the same label; without, `path` gets `payload`
    alone, and a results file of labelled runs is never overwritten."""
    path = Path(path)
    existing = json.loads(path.read_text()) if path.exists() else None
    if label is None:
        if isinstance(existing, dict) and "runs" in existing:
            raise SystemExit(f"{path} holds labelled runs: give --label to add this run to it")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(payload, indent=1) + "\n")
        return
    if existing is None:
        existing = {"benchmark": path.stem, "runs": []}
    elif "runs" not in existing:
        raise SystemExit(f"{path} is not a results file of labelled runs")
    runs = [run for run in existing["runs"] if run.get("label") != label]
    runs.append({"label": label, **payload})
    existing["runs"] = runs
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(existing, indent=1) + "\n")
