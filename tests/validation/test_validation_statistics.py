"""pyNN_neurongpu.validation on synthetic spike trains with known answers, and loading the
Neo files PyNN writes (pickle, NIX)."""

from __future__ import annotations

import neo
import numpy as np
import pytest
import quantities as pq

from pyNN_neurongpu.validation import (
    SpikeData,
    StatisticsOptions,
    compare_runs,
    from_blocks,
    ks_distance,
    load_runs,
    population_statistics,
)
from pyNN_neurongpu.validation.distances import compare_statistics
from pyNN_neurongpu.validation.statistics import PopulationStatistics

T_STOP = 10000.0  # ms


def _train(times, population, index, t_stop=T_STOP):
    return neo.SpikeTrain(np.asarray(times, dtype=float), t_start=0.0, t_stop=t_stop,
                          units="ms", source_population=population, source_index=index)


def _poisson(rate, n, rng, t_stop=T_STOP):
    counts = rng.poisson(rate * t_stop / 1000.0, size=n)
    return [np.sort(rng.uniform(0.0, t_stop, size=c)) for c in counts]


def _block(population, times_list, label=None):
    block = neo.Block(name=label or population, label=population)
    segment = neo.Segment()
    segment.spiketrains = [_train(t, population, i) for i, t in enumerate(times_list)]
    block.segments.append(segment)
    return block


def test_known_rates_and_cv():
    rng = np.random.default_rng(1)
    regular = [np.arange(50.0, T_STOP, 100.0) + i for i in range(20)]  # 10 Hz, CV 0
    poisson = _poisson(20.0, 50, rng)
    silent = [np.zeros(0)] * 5
    data = from_blocks([_block("regular", regular), _block("poisson", poisson),
                        _block("silent", silent)])
    stats = population_statistics(data, StatisticsOptions(warmup=0.0))

    np.testing.assert_allclose(stats["regular"].rate, 10.0)
    np.testing.assert_allclose(stats["regular"].cv_isi, 0.0, atol=1e-9)
    expected = np.array([t.size for t in poisson]) / (T_STOP / 1000.0)
    np.testing.assert_allclose(stats["poisson"].rate, expected)
    assert stats["poisson"].cv_isi.size == 50
    assert abs(np.mean(stats["poisson"].cv_isi) - 1.0) < 0.05
    np.testing.assert_array_equal(stats["silent"].rate, np.zeros(5))
    assert stats["silent"].cv_isi.size == 0 and stats["silent"].cc.size == 0


def test_warmup_window_and_min_spikes():
    # 5 spikes in the first 1000 ms, 2 afterwards: with a 1000 ms warm-up, rate 2 / 9 s
    # and no CV (fewer than 3 spikes)
    times = [np.array([100.0, 300.0, 500.0, 700.0, 900.0, 4000.0, 8000.0])]
    data = from_blocks(_block("p", times))
    stats = population_statistics(data, StatisticsOptions(warmup=1000.0))["p"]
    np.testing.assert_allclose(stats.rate, [2.0 / 9.0])
    assert stats.cv_isi.size == 0
    stats = population_statistics(data, StatisticsOptions(warmup=0.0, t_stop=1000.0))["p"]
    np.testing.assert_allclose(stats.rate, [5.0])
    np.testing.assert_allclose(stats.cv_isi, [0.0], atol=1e-12)
    with pytest.raises(ValueError, match="empty analysis window"):
        population_statistics(data, StatisticsOptions(warmup=T_STOP))


def test_correlation_identical_and_independent():
    rng = np.random.default_rng(2)
    base = _poisson(20.0, 1, rng)[0]
    same = [base.copy() for _ in range(10)]
    independent = _poisson(20.0, 300, rng)
    data = from_blocks([_block("same", same), _block("indep", independent)])
    stats = population_statistics(data, StatisticsOptions(bin_size=5.0, cc_sample=200))
    assert stats["same"].cc.size == 45  # all pairs of 10
    np.testing.assert_allclose(stats["same"].cc, 1.0)
    cc = stats["indep"].cc
    assert cc.size == 200 * 199 // 2  # the sample size caps the pairs
    assert abs(cc.mean()) < 0.005 and cc.std() < 0.03


def test_correlation_sample_is_seeded():
    rng = np.random.default_rng(3)
    data = from_blocks(_block("p", _poisson(10.0, 100, rng)))
    def cc(seed):
        opts = StatisticsOptions(cc_sample=20, seed=seed)
        return population_statistics(data, opts)["p"].cc
    np.testing.assert_array_equal(cc(5), cc(5))
    assert not np.array_equal(cc(5), cc(6))


def test_ks_distance():
    rng = np.random.default_rng(4)
    x = rng.normal(size=500)
    assert ks_distance(x, x) == 0.0
    assert ks_distance(x, x + 100.0) == 1.0
    assert 0.0 < ks_distance(x, rng.normal(size=500)) < 0.15
    assert np.isnan(ks_distance(x, []))


def test_compare_runs_within_and_between():
    rng = np.random.default_rng(5)
    def run(rate, label):
        return SpikeData({"p": [_train(t, "p", i) for i, t in
                                enumerate(_poisson(rate, 200, rng))]}, 0.0, T_STOP, label)
    same = compare_runs([run(5.0, "a1"), run(5.0, "a2")], [run(5.0, "b1"), run(5.0, "b2")],
                        labels=("a", "b"))
    rate = same.distances["p"]["rate"]
    assert len(rate.between) == 4 and len(rate.within_a) == 1 and len(rate.within_b) == 1
    assert rate.ks < 0.2
    different = compare_runs([run(5.0, "a1"), run(5.0, "a2")], [run(10.0, "b1")])
    assert different.distances["p"]["rate"].ks > 0.8
    assert different.distances["p"]["rate"].verdict == "outside"
    table = different.table()
    assert "outside" in table and "rate" in table
    d = different.as_dict()
    assert d["distances"]["p"]["rate"]["within_b"] == []
    assert d["summaries"]["B"][0]["p"]["neurons"] == 200


def _write_pickle(path, block):
    neo.io.PickleIO(str(path)).write_block(block)


@pytest.mark.parametrize("fmt", ["pkl", "nix"])
def test_load_pynn_files(sim, tmp_path, fmt):
    """Blocks as pyNN.neurongpu writes them (Population.get_data / write_data), one file
    per population or one for an assembly, pickle and NIX."""
    if fmt == "nix":
        pytest.importorskip("nixio")
    source = sim.Population(8, sim.SpikeSourcePoisson(rate=50.0), label="src")
    cells = sim.Population(5, sim.IF_curr_exp(i_offset=1.0), label="cells")
    (source + cells).record("spikes")
    sim.run(500.0)
    run_dir = tmp_path / "seed_1"
    run_dir.mkdir()
    source.write_data(str(run_dir / f"src.{fmt}"))
    cells.write_data(str(run_dir / f"cells.{fmt}"))
    assembly_dir = tmp_path / "assembly"
    assembly_dir.mkdir()
    (source + cells).write_data(str(assembly_dir / f"both.{fmt}"))
    counts = {p.label: p.get_spike_counts() for p in (source, cells)}

    for path in (tmp_path, assembly_dir):
        runs = load_runs(path)
        data = runs[0] if path is assembly_dir else runs[1]
        assert sorted(data.populations) == ["cells", "src"]
        assert data.t_stop == 500.0
        for name, trains in data.populations.items():
            ids = sorted(counts[name])
            assert [len(st) for st in trains] == [counts[name][i] for i in ids]
        # tonic cells (i_offset 1 nA) fire regularly
        stats = population_statistics(data, StatisticsOptions(warmup=50.0))
        assert np.all(stats["cells"].cv_isi < 0.01) and np.all(stats["cells"].rate > 10.0)


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_runs(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="no Neo files"):
        load_runs(tmp_path)


def test_quantities_units_are_respected():
    st = neo.SpikeTrain([0.5, 1.0, 1.5] * pq.s, t_stop=2.0 * pq.s, source_population="p",
                        source_index=0)
    block = neo.Block()
    block.segments.append(neo.Segment())
    block.segments[0].spiketrains.append(st)
    data = from_blocks(block)
    assert data.t_stop == 2000.0
    np.testing.assert_allclose(population_statistics(data)["p"].rate, [1.5])


def _runs(rng, n_runs, shift=0.0, size=400):
    return [{"P": PopulationStatistics(size, rng.normal(shift, 1.0, size),
                                       rng.normal(1.0, 0.1, size), rng.normal(0.0, 0.01, 50))}
            for _ in range(n_runs)]


def test_permutation_p_value():
    rng = np.random.default_rng(4)
    # clearly different rates: only the actual split (and its mirror) separates them as well
    shifted = compare_statistics(_runs(rng, 4), _runs(rng, 4, shift=1.0))["P"]["rate"]
    assert shifted.sizes == (4, 4)
    assert shifted.p_value == pytest.approx(2 / 70)
    three = compare_statistics(_runs(rng, 3), _runs(rng, 3, shift=1.0))["P"]["rate"]
    assert three.p_value == pytest.approx(0.1)
    uneven = compare_statistics(_runs(rng, 2), _runs(rng, 4, shift=1.0))["P"]["rate"]
    assert uneven.sizes == (2, 4)
    assert uneven.p_value == pytest.approx(1 / 15)
    # one distribution: the actual labels are an ordinary split
    same = [compare_statistics(_runs(rng, 4), _runs(rng, 4))["P"]["rate"].p_value
            for _ in range(10)]
    assert np.median(same) > 0.2
    assert np.isnan(compare_statistics(_runs(rng, 1), _runs(rng, 3))["P"]["rate"].p_value)


def test_distance_matrix_places_every_pair():
    rng = np.random.default_rng(5)
    a, b = _runs(rng, 2), _runs(rng, 3, shift=0.5)
    comp = compare_statistics(a, b)["P"]["rate"]
    d = comp.distance_matrix()
    runs = a + b
    for i in range(5):
        assert d[i, i] == 0
        for j in range(5):
            if i != j:
                assert d[i, j] == ks_distance(runs[i]["P"].rate, runs[j]["P"].rate)


def test_spread_of_one_side():
    rng = np.random.default_rng(6)
    a, b = _runs(rng, 3), _runs(rng, 3, shift=0.05)
    both = compare_statistics(a, b)["P"]["rate"]
    only_b = compare_statistics(a, b, spread_of="b")["P"]["rate"]
    only_a = compare_statistics(a, b, spread_of="a")["P"]["rate"]
    assert only_b.spread == max(only_b.within_b) and only_a.spread == max(only_a.within_a)
    assert both.spread == max(only_a.spread, only_b.spread)
    with pytest.raises(ValueError, match="spread_of"):
        compare_statistics(a, b, spread_of="nest")
