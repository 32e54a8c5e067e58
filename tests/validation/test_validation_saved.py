"""Statistics files (pyNN_neurongpu.validation.saved, `compare stats`): exact round trip,
comparisons from saved statistics on either side, option checks, the CLI end to end and
the file size."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import neo
import numpy as np
import pytest

from pyNN_neurongpu.compare import main
from pyNN_neurongpu.validation import (
    SavedStatistics,
    SpikeData,
    StatisticsOptions,
    compare_paths,
    load_run,
    load_runs,
    load_statistics,
    population_statistics,
    save_statistics,
)
from pyNN_neurongpu.validation.plots import raster_figure

T_STOP = 2000.0  # ms
OPTIONS = StatisticsOptions(warmup=200.0, cc_sample=20, bin_size=5.0)


def _trains(rng, name, n, rate, regular=False, t_stop=T_STOP):
    if regular:  # a train every 1000/rate ms, each neuron shifted
        times = [np.arange(1.0 + (i % 50), t_stop, 1000.0 / rate) for i in range(n)]
    else:
        counts = rng.poisson(rate * t_stop / 1000.0, size=n)
        times = [np.sort(rng.uniform(0.0, t_stop, c)) for c in counts]
    return [neo.SpikeTrain(t, t_stop=t_stop, units="ms", source_population=name,
                           source_index=i) for i, t in enumerate(times)]


def _many_poisson_trains(rng, n, rate, t_stop):
    """Views of one SpikeTrain (creating 10^4 SpikeTrains one by one takes seconds)."""
    counts = rng.poisson(rate * t_stop / 1000.0, size=n)
    ends = np.cumsum(counts)
    flat = rng.uniform(0.0, t_stop, ends[-1])
    flat = flat[np.lexsort((flat, np.repeat(np.arange(n), counts)))]  # sorted per neuron
    train = neo.SpikeTrain(flat, t_stop=t_stop, units="ms")
    return [train[a:b] for a, b in zip(ends - counts, ends)]


def _run(seed, rate=5.0, label=None, n_e=150, n_i=30):
    rng = np.random.default_rng(seed)
    return SpikeData({"E": _trains(rng, "E", n_e, rate),
                      "I": _trains(rng, "I", n_i, 4 * rate, regular=True)},
                     0.0, T_STOP, label or f"seed{seed}")


def _write_neo(path, data):
    block = neo.Block()
    block.segments.append(neo.Segment())
    for trains in data.populations.values():
        block.segments[0].spiketrains += trains
    path.parent.mkdir(parents=True, exist_ok=True)
    neo.io.PickleIO(str(path)).write_block(block)


def _neo_sides(tmp_path):
    for seed in (1, 2):
        _write_neo(tmp_path / "neo_a" / f"seed{seed}.pkl", _run(seed))
        _write_neo(tmp_path / "neo_b" / f"seed{seed}.pkl", _run(10 + seed, rate=6.0))
    return tmp_path / "neo_a", tmp_path / "neo_b"


def _save_side(neo_dir, out_dir, options=OPTIONS):
    out_dir.mkdir()
    for f in sorted(neo_dir.iterdir()):
        save_statistics(load_run(f), out_dir / (f.stem + ".stats.npz"), options)
    return out_dir


def _all_ks(comparison):
    return {(name, metric): (comp.between, comp.within_a, comp.within_b)
            for name, metrics in comparison.distances.items()
            for metric, comp in metrics.items()}


def test_round_trip_is_exact(tmp_path):
    data = _run(1)
    data.populations["L2/3E"] = _trains(np.random.default_rng(0), "L2/3E", 5, 20.0)
    filename = save_statistics(data, tmp_path / "seed1.stats.npz", OPTIONS)
    saved = load_statistics(filename)
    assert isinstance(saved, SavedStatistics)
    assert saved.options == OPTIONS and saved.label == "seed1"
    assert (saved.data.t_start, saved.data.t_stop) == (0.0, T_STOP)
    expected = population_statistics(data, OPTIONS)
    assert list(saved.statistics) == list(expected) == ["E", "I", "L2/3E"]
    for name, stats in expected.items():
        got = saved.statistics[name]
        assert got.n_neurons == stats.n_neurons
        for metric in ("rate", "cv_isi", "cc"):
            assert getattr(got, metric).size > 0
            np.testing.assert_array_equal(getattr(got, metric), getattr(stats, metric))
    # raster excerpt: first 100 neurons, spikes in the last 200 ms of (200, 2000]
    e = saved.data.populations["E"]
    assert len(e) == 100 and len(saved.data.populations["I"]) == 30
    for original, excerpt in zip(data.populations["E"], e):
        t = original.magnitude
        np.testing.assert_array_equal(excerpt.magnitude, t[(t > 1800.0) & (t <= T_STOP)])
    assert sum(len(st) for st in e) > 0
    with pytest.raises(ValueError, match="ends with"):
        save_statistics(data, tmp_path / "seed1.npz", OPTIONS)


def test_saved_files_compare_like_neo_files(tmp_path):
    neo_a, neo_b = _neo_sides(tmp_path)
    saved_a = _save_side(neo_a, tmp_path / "saved_a")
    saved_b = _save_side(neo_b, tmp_path / "saved_b")
    reference = compare_paths(neo_a, neo_b, options=OPTIONS)
    from_saved = compare_paths(saved_a, saved_b, options=OPTIONS)
    mixed = compare_paths(saved_a, neo_b, options=OPTIONS)
    single = compare_paths(saved_a / "seed1.stats.npz", neo_b / "seed2.pkl", options=OPTIONS)
    assert _all_ks(from_saved) == _all_ks(reference) == _all_ks(mixed)
    assert len(_all_ks(reference)) == 6
    assert [r.label for r in from_saved.runs[0]] == ["seed1.pkl", "seed2.pkl"]
    assert single.distances["E"]["rate"].between == [
        reference.distances["E"]["rate"].between[1]]
    # no options given: those of the saved files, for the Neo side too
    implied = compare_paths(saved_a, neo_b)
    assert implied.options == OPTIONS and _all_ks(implied) == _all_ks(reference)
    assert raster_figure(from_saved) is not None


def test_option_mismatch_raises(tmp_path):
    neo_a, neo_b = _neo_sides(tmp_path)
    saved_a = _save_side(neo_a, tmp_path / "saved_a")
    for change in ({"warmup": 0.0}, {"t_stop": 1500.0}, {"bin_size": 2.0},
                   {"cc_sample": 200}, {"min_spikes_cv": 2}, {"seed": 1}):
        other = StatisticsOptions(**{**OPTIONS.as_dict(), **change})
        name = next(iter(change))
        with pytest.raises(ValueError, match=rf"saved with {name}=.*uses {name}="):
            compare_paths(saved_a, neo_b, options=other)
    both = StatisticsOptions(**{**OPTIONS.as_dict(), "warmup": 0.0, "bin_size": 2.0})
    with pytest.raises(ValueError, match=r"saved with warmup=200.0, bin_size=5.0, but the "
                                         r"comparison uses warmup=0.0, bin_size=2.0"):
        compare_paths(saved_a, neo_b, options=both)
    # saved files that disagree among themselves
    saved_b = _save_side(neo_b, tmp_path / "saved_b", StatisticsOptions(warmup=100.0))
    with pytest.raises(ValueError, match="saved with warmup=100.0"):
        compare_paths(saved_a, saved_b)
    # a directory with both kinds of run is ambiguous
    save_statistics(load_run(neo_a / "seed1.pkl"), neo_a / "seed1.stats.npz", OPTIONS)
    with pytest.raises(ValueError, match="both statistics files"):
        load_runs(neo_a)


def test_cli_stats_then_files(tmp_path, capsys):
    for seed in (1, 2):  # a directory per run, one file per population
        for side, rate in (("nest", 5.0), ("ours", 5.0)):
            data = _run(seed + (10 if side == "ours" else 0), rate)
            for name, trains in data.populations.items():
                _write_neo(tmp_path / side / f"seed_{seed}" / f"{name}.pkl",
                           SpikeData({name: trains}, 0.0, T_STOP))
    common = ["--warmup", "200", "--sample", "20"]
    for side in ("nest", "ours"):
        written = main(["stats", str(tmp_path / side / "seed_1"), str(tmp_path / side / "seed_2"),
                        "--out", str(tmp_path / "stats" / side)] + common)
        assert [f.name for f in written] == ["seed_1.stats.npz", "seed_2.stats.npz"]
    assert "seed_2.stats.npz" in capsys.readouterr().out
    # statistics options are taken from the files when none is given
    out = tmp_path / "report"
    comparison = main(["files", str(tmp_path / "stats" / "ours"), str(tmp_path / "stats" / "nest"),
                       "--out", str(out)])
    assert comparison.labels == ("ours", "nest")
    data = json.loads((out / "comparison.json").read_text())
    assert data["options"]["warmup"] == 200.0 and data["options"]["cc_sample"] == 20
    assert data["runs"]["ours"] == ["seed_1", "seed_2"]
    assert len(data["distances"]["I"]["cc"]["between"]) == 4
    reference = main(["files", str(tmp_path / "ours"), str(tmp_path / "nest"),
                      "--out", str(tmp_path / "ref")] + common)
    assert _all_ks(comparison) == _all_ks(reference)
    text = (out / "report.html").read_text()
    images = [base64.b64decode(m) for m in re.findall(r"data:image/png;base64,([^\"']+)", text)]
    assert len(images) == 3 and all(img.startswith(b"\x89PNG") for img in images)
    assert "Raster excerpts" in text
    assert sum(len(st) for st in comparison.runs[0][0].populations["E"]) > 0
    with pytest.raises(SystemExit, match="saved with warmup=200.0"):
        main(["files", str(tmp_path / "stats" / "ours"), str(tmp_path / "nest"),
              "--out", str(out), "--warmup", "100", "--sample", "20"])
    # two runs of the same name into one directory would overwrite each other
    with pytest.raises(SystemExit, match="same name"):
        main(["stats", str(tmp_path / "ours" / "seed_1"), str(tmp_path / "nest" / "seed_1"),
              "--out", str(tmp_path / "clash")])


def test_file_name_of_a_neo_file_run(tmp_path):
    _write_neo(tmp_path / "neo" / "seed1.pkl", _run(1))
    written = main(["stats", str(tmp_path / "neo" / "seed1.pkl"), "--out", str(tmp_path / "s")])
    assert written == [tmp_path / "s" / "seed1.stats.npz"]
    assert load_statistics(written[0]).options == StatisticsOptions()


def test_large_run_gives_a_small_file(tmp_path):
    # 20,000 neurons at about 5 Hz for 10 s (a million spikes)
    rng = np.random.default_rng(7)
    t_stop = 10000.0
    data = SpikeData({"E": _many_poisson_trains(rng, 16000, 5.0, t_stop),
                      "I": _many_poisson_trains(rng, 4000, 5.0, t_stop)}, 0.0, t_stop, "big")
    filename = save_statistics(data, tmp_path / "big.stats.npz",
                               StatisticsOptions(warmup=500.0))
    size = Path(filename).stat().st_size
    assert size < 2e6, size
    saved = load_statistics(filename)
    assert saved.statistics["E"].n_neurons == 16000 and saved.statistics["E"].rate.size == 16000
    assert saved.statistics["I"].cc.size == 200 * 199 // 2
    assert 4.5 < saved.statistics["E"].rate.mean() < 5.5
