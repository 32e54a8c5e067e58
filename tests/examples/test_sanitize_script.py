"""tools/sanitize_gpu.py: its workloads build and run on the CPU at a tiny size, and its
report parser attributes errors to our kernels or to CuPy's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "tools" / "sanitize_gpu.py"
spec = importlib.util.spec_from_file_location("sanitize_gpu", PATH)
sanitize_gpu = importlib.util.module_from_spec(spec)
spec.loader.exec_module(sanitize_gpu)


@pytest.mark.parametrize("name", list(sanitize_gpu.WORKLOADS))
def test_workload_builds_and_runs_on_the_cpu(name):
    sim = sanitize_gpu.run_workload(name, backend="cpu", size=0.05, time_ms=2.0)
    assert sim.get_current_time() == pytest.approx(2.0)


def test_report_parser_separates_our_kernels():
    ours = sanitize_gpu.our_kernel_names()
    assert "stdp_propagate" in ours
    log = "\n".join([
        "========= COMPUTE-SANITIZER",
        "========= Invalid __global__ read of size 4 bytes",
        "=========     at stdp_propagate+0x1c0",
        "=========     by thread (3,0,0) in block (0,0,0)",
        "========= Uninitialized __global__ memory read of size 8 bytes",
        "=========     at cupy_copy__float64_float64+0x40",
        "========= ERROR SUMMARY: 2 errors",
    ])
    found = sanitize_gpu.parse_report(log, ours)
    assert found["summary"] == 2
    assert len(found["ours"]) == 1 and "stdp_propagate" in found["ours"][0]
    assert len(found["other"]) == 1 and "cupy_copy" in found["other"][0]
