"""python -m pyNN_neurongpu.compare: `files` mode on synthetic Neo files, `run` mode on a
tiny network (tests/data/small_network.py) with pyNN.neurongpu and pyNN.nest, and the
HTML report."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import neo
import numpy as np
import pytest

from pyNN_neurongpu.compare import main, parse_args

SMALL_NETWORK = Path(__file__).resolve().parents[1] / "data" / "small_network.py"


def _write_run(path, rate, seed, t_stop=2000.0):
    rng = np.random.default_rng(seed)
    block = neo.Block()
    block.segments.append(neo.Segment())
    for name, n in (("E", 40), ("I", 10)):
        counts = rng.poisson(rate * t_stop / 1000.0, size=n)
        block.segments[0].spiketrains += [
            neo.SpikeTrain(np.sort(rng.uniform(0.0, t_stop, c)), t_stop=t_stop, units="ms",
                           source_population=name, source_index=i)
            for i, c in enumerate(counts)]
    path.parent.mkdir(parents=True, exist_ok=True)
    neo.io.PickleIO(str(path)).write_block(block)


def _images(html_file):
    text = Path(html_file).read_text()
    return [base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([^\"']+)", text)]


def test_files_mode(tmp_path, capsys):
    for seed in (1, 2):  # a file per seed
        _write_run(tmp_path / "sim_a" / f"seed{seed}.pkl", 5.0, seed)
        _write_run(tmp_path / "sim_b" / f"seed{seed}.pkl", 40.0, 10 + seed)
    out = tmp_path / "report"
    comparison = main(["files", str(tmp_path / "sim_a"), str(tmp_path / "sim_b"),
                       "--out", str(out), "--warmup", "200", "--sample", "20"])
    printed = capsys.readouterr().out
    assert comparison.labels == ("sim_a", "sim_b")
    # two runs a side: the smallest permutation p is 2 / (4 choose 2)
    assert re.search(r"^E\s+rate\s+\S+\s+\S+\s+1\.000\s+0\.\d+\s+outside\s+0\.33$", printed,
                     re.M)
    data = json.loads((out / "comparison.json").read_text())
    assert data["options"]["warmup"] == 200.0 and data["options"]["cc_sample"] == 20
    assert len(data["distances"]["I"]["cc"]["between"]) == 4
    assert data["distances"]["E"]["rate"]["verdict"] == "outside"
    assert data["distances"]["E"]["rate"]["p_value"] == pytest.approx(1 / 3)
    images = _images(out / "report.html")
    assert len(images) == 3 and all(img.startswith(b"\x89PNG") for img in images)


def test_files_mode_spread_of_one_side(tmp_path, capsys):
    for seed in (1, 2):
        _write_run(tmp_path / "sim_a" / f"seed{seed}.pkl", 5.0, seed)
        _write_run(tmp_path / "sim_b" / f"seed{seed}.pkl", 40.0, 10 + seed)
    args = ["files", str(tmp_path / "sim_a"), str(tmp_path / "sim_b"), "--warmup", "200",
            "--sample", "20"]
    comparison = main(args + ["--out", str(tmp_path / "r1"), "--spread-of", "sim_b"])
    assert comparison.spread_of == "b"
    printed = capsys.readouterr().out
    assert "largest KS distance between two runs of sim_b" in printed
    for metrics in comparison.distances.values():
        for comp in metrics.values():
            assert comp.spread == max(comp.within_b)
    data = json.loads((tmp_path / "r1" / "comparison.json").read_text())
    assert data["spread_of"] == "b"
    with pytest.raises(SystemExit, match="spread_of"):
        main(args + ["--out", str(tmp_path / "r2"), "--spread-of", "nest"])


def test_files_mode_rejects_unknown_arguments(tmp_path):
    with pytest.raises(SystemExit):
        main(["files", str(tmp_path), str(tmp_path), "--scale", "1"])


def test_run_arguments_go_to_the_script():
    args = parse_args(["run", "net.py", "--scale", "0.1", "--simulators", "neurongpu", "nest",
                       "--seeds", "3", "--", "--warmup", "50"])
    assert args.script == "net.py" and args.seeds == 3
    assert args.script_args == ["--scale", "0.1", "--warmup", "50"]
    assert args.warmup == 0.0
    # no abbreviations: a script's --seed is not our --seeds
    assert parse_args(["run", "net.py", "--seed", "4"]).script_args == ["--seed", "4"]


@pytest.mark.nest
def test_run_mode_both_simulators(tmp_path, nest_module, capsys):
    out = tmp_path / "cmp"
    comparison = main(["run", str(SMALL_NETWORK), "--time", "300", "--simulators",
                       "neurongpu", "nest", "--seeds", "2", "--out", str(out),
                       "--warmup", "100", "--no-progress"])
    for sim in ("neurongpu", "nest"):
        for seed in (1, 2):
            assert (out / sim / f"seed_{seed}" / "spikes.pkl").exists()
    assert comparison.labels == ("neurongpu", "nest")
    assert [r.label for r in comparison.runs[0]] == ["seed_1", "seed_2"]
    # PYNN_SEED reached the script: two seeds, two different networks and drives
    e1, e2 = (run["E"].rate for run in comparison.statistics[0])
    assert not np.array_equal(e1, e2)
    for name in ("E", "I"):
        rates = comparison.means(name, "rate")
        assert 10.0 < rates[0] < 60.0 and abs(rates[0] - rates[1]) < 0.15 * rates[1]
        comp = comparison.distances[name]["rate"]
        assert len(comp.between) == 4 and len(comp.within) == 2
    assert "neurongpu" in capsys.readouterr().out
    assert len(_images(out / "report.html")) == 3


def test_run_mode_reports_a_failing_script(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text("import sys\nprint('simulator', sys.argv[1])\nraise SystemExit(3)\n")
    with pytest.raises(SystemExit, match=r"(?s)neurongpu seed 1 failed \(3\).*simulator "
                                          r"neurongpu"):
        main(["run", str(script), "--seeds", "1", "--out", str(tmp_path / "o"),
              "--no-progress"])
