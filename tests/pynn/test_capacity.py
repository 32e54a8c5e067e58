"""Capacity (issue #15): bounded construction memory and procedural connectivity.

Procedural projections store no synapses; they must give the connections, values and
spikes of the stored build of the same script. Memory is probed with tracemalloc (NumPy
reports its allocations to it).
"""

import gc
import tracemalloc

import numpy as np
import pyNN.neurongpu as sim
import pytest
from pyNN import errors
from pyNN.random import RandomDistribution as RD

from pyNN_neurongpu.engine import construction, procedural


def test_philox_known_answers():
    """Random123's known-answer vectors of Philox4x32-10 (the CUDA generator's)."""
    m = 0xFFFFFFFF
    cases = [((0, 0, 0, 0, 0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
             ((m, m, m, m, m, m), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
             ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344, 0xA4093822, 0x299F31D0),
              (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]
    for args, expected in cases:
        assert [int(w) for w in procedural.philox4x32_10(np, *args)] == list(expected)


def _native(name, params, seed):
    return RD(name, params, rng=sim.NativeRNG(seed))


CONNECTORS = {
    "fixed_probability": lambda: sim.FixedProbabilityConnector(0.1, rng=sim.NativeRNG(1)),
    "fixed_probability_no_self": lambda: sim.FixedProbabilityConnector(
        0.3, allow_self_connections=False, rng=sim.NativeRNG(1)),
    "fixed_number_post": lambda: sim.FixedNumberPostConnector(20, rng=sim.NativeRNG(2)),
    "fixed_number_post_replace": lambda: sim.FixedNumberPostConnector(
        20, with_replacement=True, rng=sim.NativeRNG(2)),
    "fixed_number_post_no_self": lambda: sim.FixedNumberPostConnector(
        30, allow_self_connections=False, rng=sim.NativeRNG(2)),
    "all_to_all": lambda: sim.AllToAllConnector(),
    "fixed_total": lambda: sim.FixedTotalNumberConnector(2500, rng=sim.NativeRNG(6)),
    "fixed_total_without_replacement": lambda: sim.FixedTotalNumberConnector(
        2500, with_replacement=False, rng=sim.NativeRNG(6)),
    "fixed_total_no_self": lambda: sim.FixedTotalNumberConnector(
        2500, allow_self_connections=False, rng=sim.NativeRNG(6)),
}


def _build(mode, connector, recurrent=False, weight=None, delay=None, run=100.0):
    sim.setup(timestep=0.1, backend="cpu", connectivity=mode, rng_seed=5)
    src = sim.Population(120, sim.SpikeSourcePoisson(rate=40.0))
    cells = sim.Population(90, sim.IF_curr_exp())
    syn = sim.StaticSynapse(
        weight=weight or _native("normal_clipped", (0.4, 0.2, 0.0, 2.0), 3),
        delay=delay or _native("uniform", (0.5, 3.0), 4))
    prj = sim.Projection(cells if recurrent else src, cells, connector, syn)
    if recurrent:
        sim.Projection(src, cells, sim.FixedProbabilityConnector(0.2, rng=sim.NativeRNG(9)),
                       sim.StaticSynapse(weight=0.5, delay=1.0))
    cells.record("spikes")
    sim.run(run)
    listed = np.array(prj.get(["weight", "delay"], format="list"))
    spikes = [np.asarray(st) for st in cells.get_data().segments[0].spiketrains]
    return prj, listed, spikes


@pytest.mark.parametrize("name", sorted(CONNECTORS))
def test_procedural_equals_stored(name):
    recurrent = name.endswith("no_self")
    stored, listed_s, spikes_s = _build("stored", CONNECTORS[name](), recurrent)
    assert not stored.procedural
    assert sim.simulator.state.network.procedural_groups == []
    proc, listed_p, spikes_p = _build("procedural", CONNECTORS[name](), recurrent)
    assert proc.procedural
    assert sim.simulator.state.network.synapse_groups == []
    assert len(stored) == len(proc) == listed_p.shape[0] > 0
    np.testing.assert_array_equal(listed_s, listed_p)
    assert sum(s.size for s in spikes_s) > 0
    for a, b in zip(spikes_s, spikes_p):
        np.testing.assert_array_equal(a, b)
    if recurrent:
        assert not np.any(listed_p[:, 0] == listed_p[:, 1])


def many_projections(mode, backend="cpu", precision="float64"):
    """Procedural projections in every layout the step's tables distinguish: several from
    one population, from a view with gaps and from overlapping cell sets, onto an Assembly
    of two cell types. Returns (procedural flags, spikes, connection lists)."""
    sim.setup(timestep=0.1, backend=backend, connectivity=mode, rng_seed=7,
              precision=precision)
    drive = np.random.default_rng(3)
    times = [np.unique(np.round(drive.uniform(0.1, 80.0, 8), 1)) for _ in range(60)]
    src = sim.Population(60, sim.SpikeSourceArray(spike_times=times))
    exc = sim.Population(50, sim.IF_curr_exp(tau_refrac=1.0))
    alpha = sim.Population(40, sim.IF_curr_alpha(tau_refrac=1.0))
    both = sim.Assembly(exc, alpha)
    syn = sim.StaticSynapse(weight=_native("uniform", (0.2, 0.6), 1),
                            delay=_native("uniform", (0.3, 4.0), 2))
    alpha_syn = sim.StaticSynapse(weight=_native("uniform", (0.1, 0.3), 3), delay=1.0)
    projections = [
        sim.Projection(src, exc, sim.FixedProbabilityConnector(0.3, rng=sim.NativeRNG(4)), syn),
        sim.Projection(src, exc, sim.FixedTotalNumberConnector(500, rng=sim.NativeRNG(5)),
                       sim.StaticSynapse(weight=_native("uniform", (-0.6, -0.2), 11),
                                         delay=0.5), receptor_type="inhibitory"),
        sim.Projection(src[::3], alpha, sim.FixedNumberPostConnector(6, rng=sim.NativeRNG(6)),
                       alpha_syn),
        sim.Projection(src[10:40], alpha, sim.AllToAllConnector(), alpha_syn),
        sim.Projection(exc, both, sim.FixedProbabilityConnector(
            0.2, allow_self_connections=False, rng=sim.NativeRNG(8)),
            sim.StaticSynapse(weight=0.3, delay=_native("uniform", (1.0, 3.0), 9)),
            receptor_type="excitatory"),   # an Assembly's receptor order is not fixed
        sim.Projection(alpha, exc, sim.FixedTotalNumberConnector(
            300, with_replacement=False, rng=sim.NativeRNG(10)), syn),
    ]
    both.record("spikes")
    sim.run(80.0)
    spikes = [np.asarray(st) for st in both.get_data().segments[0].spiketrains]
    lists = [np.array(prj.get(["weight", "delay"], format="list")) for prj in projections]
    return [prj.procedural for prj in projections], spikes, lists


def test_many_procedural_projections_equal_stored():
    flags_s, spikes_s, lists_s = many_projections("stored")
    flags_p, spikes_p, lists_p = many_projections("procedural")
    assert not any(flags_s) and all(flags_p)
    for a, b in zip(lists_s, lists_p):
        assert a.shape[0] > 0
        np.testing.assert_array_equal(a, b)
    assert sum(s.size for s in spikes_s) > 50
    for a, b in zip(spikes_s, spikes_p):
        np.testing.assert_array_equal(a, b)


def test_fixed_total_counts():
    """A fixed total: exactly n synapses, per-source counts binomial, no pair twice
    without replacement, and the stored rule's counts."""
    sim.setup(timestep=0.1, backend="cpu", connectivity="procedural")
    a, b = sim.Population(200, sim.SpikeSourceArray()), sim.Population(150, sim.IF_curr_exp())
    for replace in (True, False):
        prj = sim.Projection(a, b, sim.FixedTotalNumberConnector(
            20000, with_replacement=replace, rng=sim.NativeRNG(3)), sim.StaticSynapse())
        assert len(prj) == 20000
        pairs = np.array(prj.get("weight", format="list"))[:, :2].astype(np.int64)
        per_source = np.bincount(pairs[:, 0], minlength=200)
        np.testing.assert_array_equal(per_source, prj._procedural.rule.counts)
        # binomial(20000, 1/200) for each source: variance 99.5; hypergeometric (150 of the
        # 30000 pairs, 20000 drawn) without replacement: 33.2
        assert abs(per_source.mean() - 100) < 1e-9
        expected = 99.5 if replace else 150 * 20000 / 30000 * (1 - 150 / 30000) * 10000 / 29999
        assert abs(per_source.var() / expected - 1) < 0.35
        repeats = pairs.shape[0] - np.unique(pairs[:, 0] * 150 + pairs[:, 1]).size
        assert (repeats > 0) == replace
    with pytest.raises(errors.ConnectionError, match="cannot draw"):
        sim.Projection(a, b, sim.FixedTotalNumberConnector(
            200 * 150 + 1, with_replacement=False, rng=sim.NativeRNG(3)), sim.StaticSynapse())


def test_procedural_equals_stored_with_constant_values():
    """AllToAll with constant values: the stored build takes the connector's own path."""
    results = [_build(mode, sim.AllToAllConnector(), weight=0.3, delay=1.5)
               for mode in ("stored", "procedural")]
    np.testing.assert_array_equal(results[0][1], results[1][1])
    for a, b in zip(results[0][2], results[1][2]):
        np.testing.assert_array_equal(a, b)


def test_procedural_statistics():
    sim.setup(timestep=0.1, backend="cpu", connectivity="procedural", rng_seed=1)
    a, b = sim.Population(400, sim.SpikeSourceArray()), sim.Population(300, sim.IF_curr_exp())
    syn = sim.StaticSynapse(weight=_native("uniform", (0.1, 0.3), 1), delay=1.0)
    prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.05, rng=sim.NativeRNG(2)), syn)
    expected = 0.05 * 400 * 300
    assert abs(len(prj) - expected) < 5 * np.sqrt(expected)
    w = np.array(prj.get("weight", format="list", with_address=False))
    assert 0.1 < w.min() and w.max() <= 0.3 and abs(w.mean() - 0.2) < 0.005
    fixed = sim.Projection(a, b, sim.FixedNumberPostConnector(250, rng=sim.NativeRNG(3)), syn)
    pairs = np.array(fixed.get("weight", format="list"))[:, :2].astype(np.int64)
    counts = np.bincount(pairs[:, 0], minlength=400)
    assert np.all(counts == 250)
    assert np.unique(pairs[:, 0] * 300 + pairs[:, 1]).size == pairs.shape[0]  # no repeats
    over = sim.Projection(a, b, sim.FixedNumberPostConnector(350, rng=sim.NativeRNG(4)), syn)
    pairs = np.array(over.get("weight", format="list"))[:, :2].astype(np.int64)
    per_pair = np.bincount(pairs[:, 0] * 300 + pairs[:, 1], minlength=400 * 300)
    assert set(np.unique(per_pair)) == {1, 2}  # every target once, 50 of them twice
    assert len(sim.simulator.state.network.synapse_groups) == 0


def test_procedural_save_and_get_array(tmp_path):
    files = {}
    for mode in ("stored", "procedural"):
        sim.setup(timestep=0.1, backend="cpu", connectivity=mode, rng_seed=2)
        a, b = sim.Population(30, sim.SpikeSourceArray()), sim.Population(20, sim.IF_curr_exp())
        syn = sim.StaticSynapse(weight=_native("normal", (0.5, 0.1), 1),
                                delay=_native("uniform_int", (1, 4), 2))
        prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.3, rng=sim.NativeRNG(3)),
                             syn)
        files[mode] = tmp_path / f"{mode}.txt"
        prj.save(["weight", "delay"], str(files[mode]), gather=True)
        files[mode + "_array"] = prj.get("weight", format="array")
    assert files["stored"].read_text() == files["procedural"].read_text()
    np.testing.assert_array_equal(files["stored_array"], files["procedural_array"])


def test_procedural_refusals_leave_nothing():
    sim.setup(timestep=0.1, backend="cpu", connectivity="procedural")
    a, b = sim.Population(10, sim.SpikeSourceArray()), sim.Population(10, sim.IF_curr_exp())
    native = sim.NativeRNG(1)
    refused = [
        (sim.FixedProbabilityConnector(0.5, rng=sim.NumpyRNG(1)), sim.StaticSynapse()),
        (sim.FromListConnector([(0, 1), (2, 3)]), sim.StaticSynapse()),
        (sim.FixedNumberPreConnector(3, rng=native), sim.StaticSynapse()),
        (sim.FixedProbabilityConnector(0.5, rng=native),
         sim.StaticSynapse(weight=RD("uniform", (0, 1), rng=sim.NumpyRNG(2)))),
        (sim.FixedProbabilityConnector(0.5, rng=native),
         sim.StaticSynapse(delay=_native("normal", (1.0, 0.1), 3))),
        (sim.FixedTotalNumberConnector(20, rng=native),   # no largest delay
         sim.StaticSynapse(delay=_native("normal_clipped", (1.0, 0.5, 0.1, np.inf), 3))),
        (sim.FixedProbabilityConnector(0.5, rng=native),
         sim.STDPMechanism(timing_dependence=sim.SpikePairRule(),
                           weight_dependence=sim.AdditiveWeightDependence())),
    ]
    for connector, synapse in refused:
        with pytest.raises(errors.ConnectionError, match="cannot be procedural"):
            sim.Projection(a, b, connector, synapse)
    network = sim.simulator.state.network
    assert sim.simulator.state.projections == []
    assert network.synapse_groups == network.plastic_groups == network.procedural_groups == []
    prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.5, rng=native),
                         sim.StaticSynapse(weight=0.2))
    with pytest.raises(NotImplementedError, match="procedural"):
        prj.set(weight=0.3)
    with pytest.raises(ValueError, match="connectivity"):
        sim.setup(connectivity="lazy")


def test_auto_stores_what_cannot_be_procedural():
    sim.setup(timestep=0.1, backend="cpu", connectivity="auto")
    a, b = sim.Population(10, sim.SpikeSourceArray()), sim.Population(10, sim.IF_curr_exp())
    stored = sim.Projection(a, b, sim.FromListConnector([(0, 1), (2, 3)]), sim.StaticSynapse())
    proc = sim.Projection(a, b, sim.FixedProbabilityConnector(0.5, rng=sim.NativeRNG(1)),
                          sim.StaticSynapse())
    assert not stored.procedural and proc.procedural and len(stored) == 2


def test_chunked_finalisation_keeps_the_table(monkeypatch):
    """The chunked counting sort gives the table a stable sort by source gives."""
    sim.setup(timestep=0.1, backend="cpu")
    a, b = sim.Population(50, sim.SpikeSourceArray()), sim.Population(40, sim.IF_curr_exp())
    for seed in (1, 2):
        sim.Projection(a, b, sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(seed)),
                       sim.StaticSynapse(weight=RD("uniform", (0, 1), rng=sim.NumpyRNG(seed)),
                                         delay=RD("uniform", (0.1, 2), rng=sim.NumpyRNG(3))))
    network = sim.simulator.state.network
    tables = {}
    for chunk in (1 << 20, 7):
        monkeypatch.setattr(construction, "FINALISE_CHUNK", chunk)
        network._tables = None
        network._finalise()
        tables[chunk] = network._tables[b.celltype_group_index] if hasattr(
            b, "celltype_group_index") else next(iter(network._tables.values()))
    big, small = tables[1 << 20], tables[7]
    groups = network.synapse_groups
    pre = np.concatenate([g.pre for g in groups])
    order = np.argsort(pre, kind="stable")
    np.testing.assert_array_equal(big.weight, np.concatenate([g.weight for g in groups])[order])
    for name in ("offsets", "weight", "meta"):
        np.testing.assert_array_equal(getattr(big, name), getattr(small, name))


def _peak_per_synapse(build):
    """(stored, peak) bytes per synapse of `build()` (returns the number of synapses)."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    n = build()
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (current - base) / n, (peak - base) / n


MEASURED = {  # connector, transient bound (B per synapse, float32, 10^6 synapses)
    "fixed_probability_native": 6.0, "fixed_number_post_native": 6.0, "all_to_all": 6.0,
    "fixed_probability_numpy": 6.0, "fixed_number_pre_numpy": 6.0,
}


@pytest.mark.parametrize("name", sorted(MEASURED))
def test_bounded_construction_memory(name):
    """Peak memory of building and finalising 10^6 float32 synapses: the stored size
    (group 16 B + table 8 B) plus at most the measured transient."""
    sim.setup(timestep=0.1, backend="cpu", precision="float32", rng_seed=1)
    a, b = sim.Population(1000, sim.SpikeSourceArray()), sim.Population(1000, sim.IF_curr_exp())
    connector = {
        "fixed_probability_native": lambda: sim.FixedProbabilityConnector(
            1.0 - 1e-9, rng=sim.NativeRNG(1)),
        "fixed_number_post_native": lambda: sim.FixedNumberPostConnector(
            1000, with_replacement=True, rng=sim.NativeRNG(1)),
        "all_to_all": sim.AllToAllConnector,
        "fixed_probability_numpy": lambda: sim.FixedProbabilityConnector(
            0.999, rng=sim.NumpyRNG(1)),
        "fixed_number_pre_numpy": lambda: sim.FixedNumberPreConnector(
            1000, with_replacement=True, rng=sim.NumpyRNG(1)),
    }[name]()

    def build():
        prj = sim.Projection(a, b, connector, sim.StaticSynapse(weight=0.1, delay=1.0))
        sim.simulator.state.network._finalise()
        return len(prj)

    stored, peak = _peak_per_synapse(build)
    assert stored < 24.5
    assert peak - stored < MEASURED[name], (stored, peak)


def test_procedural_construction_stores_nothing():
    sim.setup(timestep=0.1, backend="cpu", precision="float32", connectivity="procedural")
    a, b = sim.Population(1000, sim.SpikeSourceArray()), sim.Population(1000, sim.IF_curr_exp())

    def build():
        prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.9, rng=sim.NativeRNG(1)),
                             sim.StaticSynapse(weight=_native("uniform", (0, 1), 2)))
        sim.simulator.state.network._finalise()
        return len(prj)

    stored, peak = _peak_per_synapse(build)
    # nothing per synapse is kept; the transient is the generator's fixed working buffer
    # (procedural.CHUNK candidates, about 8 MB), not a figure per synapse
    assert stored < 0.5 and peak * 9e5 < 16 * 2**20


def test_procedural_build_beyond_memory():
    """Procedural projections of 2·10^10 and 10^11 synapses build at once (nothing is
    drawn or stored); stored, the first is refused before anything is drawn."""
    syn = sim.StaticSynapse(weight=_native("uniform", (0.1, 0.2), 1), delay=1.0)
    sim.setup(timestep=0.1, backend="cpu", connectivity="procedural")
    a, b = sim.Population(2 * 10**5, sim.SpikeSourcePoisson()), sim.Population(
        2 * 10**5, sim.IF_curr_exp())
    prj = sim.Projection(a, b, sim.FixedProbabilityConnector(0.5, rng=sim.NativeRNG(1)), syn)
    big = sim.Projection(a, b, sim.FixedTotalNumberConnector(10**11, rng=sim.NativeRNG(2)),
                         syn)
    assert prj.procedural and big.procedural and big.size() == 10**11
    sim.setup(timestep=0.1, backend="cpu", connectivity="stored")
    a, b = sim.Population(2 * 10**5, sim.SpikeSourcePoisson()), sim.Population(
        2 * 10**5, sim.IF_curr_exp())
    with pytest.raises(MemoryError):
        sim.Projection(a, b, sim.FixedProbabilityConnector(0.5, rng=sim.NativeRNG(1)), syn)
