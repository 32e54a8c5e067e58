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


def test_results_file_holds_labelled_runs(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import write_results
    path = tmp_path / "bench.json"
    write_results(path, {"results": [1]}, "a")
    write_results(path, {"results": [2]}, "b")
    write_results(path, {"results": [3]}, "a")  # replaces run a, which moves last
    runs = json.loads(path.read_text())["runs"]
    assert [(r["label"], r["results"]) for r in runs] == [("b", [2]), ("a", [3])]
    with pytest.raises(SystemExit, match="give --label"):
        write_results(path, {"results": [4]})
    plain = tmp_path / "plain.json"
    write_results(plain, {"results": [5]})
    assert json.loads(plain.read_text()) == {"results": [5]}
    with pytest.raises(SystemExit, match="not a results file"):
        write_results(plain, {"results": [6]}, "c")


def test_results_files_one_per_benchmark():
    """Each results file is one benchmark's labelled runs, and the docs cite only those."""
    results = ROOT / "benchmarks" / "results"
    for path in results.glob("*.json"):
        data = json.loads(path.read_text())
        assert data["benchmark"] == path.stem and data["runs"], path
        assert len({run["label"] for run in data["runs"]}) == len(data["runs"]), path
    import re
    cited = set()
    for doc in (ROOT / "docs").glob("*.md"):
        cited |= set(re.findall(r"benchmarks/results/([\w{},]+)\.json", doc.read_text()))
    names = {path.stem for path in results.glob("*.json")}
    for name in cited:
        expanded = re.sub(r"\{(\w+),(\w+)\}", lambda m: m.group(1), name)
        assert expanded in names or name in names, name
