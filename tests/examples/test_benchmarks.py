"""The benchmark scripts run end to end at tiny scale (their numbers are not tested)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(args, tmp_path):
    out = tmp_path / "result.json"
    proc = subprocess.run([sys.executable, *args, "--json", str(out)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(out.read_text())["results"]
    assert results and not any("error" in r for r in results), results
    return results, proc.stdout


def test_microcircuit_benchmark_tiny(tmp_path):
    results, stdout = run([str(ROOT / "benchmarks" / "microcircuit.py"), "--scale", "0.02",
                           "--time", "50", "--devices", "cpu", "--record", "yes"], tmp_path)
    assert results[0]["neurons"] == pytest.approx(77169 * 0.02, abs=10)
    assert results[0]["rtf"] > 0 and "RTF" in stdout


@pytest.mark.parametrize("model", ["izhikevich", "adex"])
def test_balanced_benchmark_tiny(tmp_path, model):
    plot = tmp_path / "plot.png"
    results, stdout = run([str(ROOT / "benchmarks" / "balanced_adex.py"), "--model", model,
                           "--sizes", "500", "--devices", "cpu", "--precision", "float64",
                           "--time", "20", "--plot", str(plot)], tmp_path)
    assert results[0]["n"] == 500 and results[0]["synapses"] == 500 * 1001
    assert results[0]["rate_hz"] > 0
    assert plot.stat().st_size > 1000
