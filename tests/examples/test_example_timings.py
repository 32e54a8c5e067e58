"""The examples report the time to the first step apart from the run after it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_microcircuit_prints_time_to_first_step_and_rtf(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")]))
    env.pop("PYNN_NEURONGPU_BACKEND", None)
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "microcircuit" / "microcircuit.py"),
         "neurongpu", "--backend", "cpu", "--scale", "0.005", "--time", "20", "--warmup",
         "5", "--output-dir", str(tmp_path), "--seed", "3"],
        capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    first = [line for line in lines if line.startswith("time to first step ")]
    run = [line for line in lines if line.startswith("simulation wall time ")]
    assert len(first) == 1 and len(run) == 1, result.stdout
    assert "for the 19.9 ms after the first step: RTF " in run[0]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["time_to_first_step_s"] > summary["build_time_s"] > 0
    assert summary["rtf"] == pytest.approx(summary["sim_time_s"] / 0.0199)
    # the statistics still span the whole run, first step included
    assert set(summary["statistics"]) == {"L23E", "L23I", "L4E", "L4I", "L5E", "L5I",
                                          "L6E", "L6I"}
