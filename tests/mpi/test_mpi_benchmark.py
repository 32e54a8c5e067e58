"""benchmarks/mpi.py end to end on the CPU: PD14 and the balanced AdEx network, small,
under ``mpiexec -n 1`` and ``-n 2``; the JSON it writes must show the same spikes on both
rank counts (float64) and bytes exchanged only between two ranks."""

import json
import subprocess
import sys
from pathlib import Path

from tests.mpi.test_mpi import MPI_TIMEOUT, needs_mpi

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "mpi.py"


@needs_mpi
def test_benchmark_reports_exchange_and_equal_spikes(tmp_path):
    path = tmp_path / "mpi.json"
    cmd = [sys.executable, str(BENCHMARK), "--backend", "cpu", "--precision", "float64",
           "--scale", "0.01", "--adex-size", "600", "--time", "40", "--warmup", "10",
           "--ranks", "1", "2", "--record", "--json", str(path), "--label", "test"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=2 * MPI_TIMEOUT)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(path.read_text())
    assert data["benchmark"] == "mpi" and [r["label"] for r in data["runs"]] == ["test"]
    run = data["runs"][0]
    assert run["device"] and run["mpi_library"]
    assert run["spikes_equal"] == {"pd14": True, "adex": True}
    results = run["results"]
    assert [(r["network"], r["ranks"]) for r in results] == [
        ("pd14", 1), ("pd14", 2), ("adex", 1), ("adex", 2)]
    for one, two in (results[:2], results[2:]):
        assert "error" not in one and "error" not in two
        assert one["spikes"] == two["spikes"] > 0
        assert one["neurons"] == two["neurons"] and one["synapses"] == two["synapses"]
        assert one["intervals"] == 0 and one["bytes_per_interval_max"] == 0
        assert two["intervals"] > 0 and two["bytes_per_interval_mean"] > 0
        assert len(two["per_rank"]) == 2
        assert sum(r["spikes"] for r in two["per_rank"]) == two["spikes"]
        assert two["exchange_s_per_interval_max"] > 0 and two["rtf"] > 0
    # PD14's shortest delay is one step; the AdEx network's 1.5 ms
    assert results[1]["interval_steps"] == 1 and results[3]["interval_steps"] == 15
    assert "the same number of spikes on every rank count: yes" in proc.stdout
