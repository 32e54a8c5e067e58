"""benchmarks/stdp.py at a tiny scale: it runs, reports both synapse variants,
and STDP changes the E->E weights."""

import importlib.util
import json
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "stdp.py"


def load():
    spec = importlib.util.spec_from_file_location("stdp_benchmark", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_stdp_benchmark_smoke(tmp_path):
    out = tmp_path / "stdp.json"
    report = load().main(["--n", "100", "--k", "20", "--t", "50", "--no-nest", "--no-gpu",
                          "--json", str(out)])
    assert json.loads(out.read_text()) == report
    rows = {r["synapses"]: r for r in report["results"]}
    assert set(rows) == {"static", "stdp"}
    assert rows["static"]["mean_ee_weight"] == pytest.approx(0.1)
    assert rows["stdp"]["mean_ee_weight"] != pytest.approx(0.1, abs=1e-6)
    assert "CPU" in rows["stdp"]["device"]
