"""The multi-area model example (examples/multi_area): its data tables against the
published totals, the scaling rules (sizes, synapse numbers, the DC that keeps the mean
input), bad options, and a small network of three areas built and run on the CPU engine
(and under pyNN.nest where it is installed)."""

from __future__ import annotations

import json
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
from pyNN.errors import InvalidParameterValueError

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "multi_area"
DATA_DIR = EXAMPLE_DIR / "data"
POPS = ["23E", "23I", "4E", "4I", "5E", "5I", "6E", "6I"]

AREAS = ["V1", "V2", "TH"]  # TH: the area without layer 4
N_SCALE, K_SCALE = 0.005, 0.02
WARMUP, T_STOP = 100.0, 300.0


@pytest.fixture(scope="module")
def example():
    sys.path.insert(0, str(EXAMPLE_DIR))
    try:
        import mam_analysis
        import mam_params
        import multi_area
        yield multi_area, mam_params, mam_analysis
    finally:
        sys.path.remove(str(EXAMPLE_DIR))


def _load(name):
    return json.loads((DATA_DIR / name).read_text())


def test_data_tables_consistent_with_published_totals():
    numbers = _load("neuron_numbers.json")
    areas, structure = numbers["areas"], numbers["structure"]
    assert len(areas) == 32 and areas[0] == "V1" and areas[-1] == "TH"
    for area in areas:
        expected = [p for p in POPS if not (area == "TH" and p in ("4E", "4I"))]
        assert structure[area] == expected, area
        assert all(numbers["neuron_numbers"][area][p] > 0 for p in expected)
    labels = [f"{a}/{p}" for a in areas for p in structure[a]]
    assert len(labels) == 32 * 8 - 2
    n = np.array([numbers["neuron_numbers"][a][p] for a in areas for p in structure[a]])
    k = _load("indegrees.json")
    assert k["labels"] == labels
    indegrees = np.array(k["K"])
    assert indegrees.shape == (254, 254) and np.all(indegrees >= 0)
    # published: 4.13e6 neurons, 2.42e10 synapses (Schmidt et al. 2018)
    assert n.sum() == pytest.approx(4.13e6, rel=0.002)
    assert (indegrees * n[:, None]).sum() == pytest.approx(2.42e10, rel=0.005)
    # cortico-cortical connections leave excitatory cells only
    area_of = np.array([lab.split("/")[0] for lab in labels])
    inhibitory_source = np.array([lab.endswith("I") for lab in labels])
    between = area_of[:, None] != area_of[None, :]
    assert np.all(indegrees[between & inhibitory_source[None, :]] == 0)
    assert np.count_nonzero(indegrees[between]) > 5000
    k_ext = _load("external_indegrees.json")
    assert set(k_ext) == set(areas)
    assert all(1000 < k_ext[a][p] < 10000 for a in areas for p in structure[a])
    distances = _load("distances.json")
    d = np.array([[distances[t][s] for s in areas] for t in areas])
    assert np.all(np.diag(d) == 0) and np.all(d[~np.eye(32, dtype=bool)] > 0)
    assert np.allclose(d, d.T)
    rates = _load("fullscale_rates.json")
    assert all(0 <= rates[a][p] < 50 for a in areas for p in structure[a])


def test_mean_input_kept_under_k_scaling(example):
    _, params, _ = example
    t = params.tables()
    tau = params.TAU_SYN * 1e-3  # ms -> s: nA * Hz * ms * 1e-3 = nA
    for state in ("ground", "metastable"):
        full = params.scaled_model(None, 1.0, 1.0, state)
        assert np.all(full.i_offset == 0)
        full_mean = tau * ((full.weights * t.indegrees * t.rates).sum(axis=1)
                           + full.w_ext * full.k_ext * params.EXT_RATE)
        for k_scale, background in ((0.1, "poisson"), (0.01, "poisson"), (0.1, "dc")):
            m = params.scaled_model(None, 0.01, k_scale, state, background)
            assert np.allclose(m.weights, full.weights / np.sqrt(k_scale))
            assert m.w_ext == pytest.approx(params.W_E / np.sqrt(k_scale))
            poisson = m.k_ext * params.EXT_RATE * m.w_ext if background == "poisson" else 0.0
            scaled_mean = tau * ((m.weights * t.indegrees * k_scale * t.rates).sum(axis=1)
                                 + poisson) + m.i_offset
            assert np.allclose(scaled_mean, full_mean, rtol=1e-12)
    # the DC of V1/23E at k_scale 0.1 in the ground state, nA (from the tables)
    m = params.scaled_model(["V1"], 0.01, 0.1, "ground")
    assert 0.05 < m.i_offset[0] < 0.5


def test_weights_and_chi(example):
    _, params, _ = example
    assert params.W_E == pytest.approx(0.08781, rel=1e-3)  # 87.8 pA for 0.15 mV
    for state, (chi, chi_i) in (("ground", (1.0, 1.0)), ("metastable", (1.9, 2.0))):
        m = params.scaled_model(["V1", "V2"], 0.01, 1.0, state)
        lab = [f"{a}/{p}" for a, p in m.labels]
        w = dict(((t, s), m.weights[i, j]) for i, t in enumerate(lab)
                 for j, s in enumerate(lab))
        assert w["V1/23E", "V1/23E"] == pytest.approx(params.W_E)
        assert w["V1/23E", "V1/4E"] == pytest.approx(2 * params.W_E)
        assert w["V1/4E", "V1/4I"] == pytest.approx(-11 * params.W_E)
        assert w["V2/23E", "V1/4E"] == pytest.approx(chi * params.W_E)  # no 4->23 doubling
        assert w["V2/23I", "V1/23E"] == pytest.approx(chi * chi_i * params.W_E)


def test_bad_options_raise(example):
    _, params, _ = example
    with pytest.raises(InvalidParameterValueError, match="scale must lie in"):
        params.scaled_model(["V1"], 0.0)
    with pytest.raises(InvalidParameterValueError, match="scale must lie in"):
        params.scaled_model(["V1"], 2.0)
    with pytest.raises(InvalidParameterValueError, match="k_scale must lie in"):
        params.scaled_model(["V1"], 0.1, -1.0)
    with pytest.raises(InvalidParameterValueError, match="state must be one of"):
        params.scaled_model(["V1"], 0.1, state="asleep")
    with pytest.raises(InvalidParameterValueError, match="unknown area.*V9"):
        params.scaled_model(["V1", "V9"], 0.1)
    with pytest.raises(InvalidParameterValueError, match="given twice"):
        params.scaled_model(["V1", "V1"], 0.1)
    with pytest.raises(InvalidParameterValueError, match="without neurons"):
        params.scaled_model(["V1"], 1e-5)
    with pytest.raises(InvalidParameterValueError, match="background"):
        params.scaled_model(["V1"], 0.1, background="noise")


def test_setup_options_pass_connectivity_to_neurongpu_only(example):
    multi_area, params, _ = example
    model = params.scaled_model(AREAS, 1.0, 1.0)
    opts = Namespace(simulator="neurongpu", dt=0.1, threads=1, seed=3, backend="cpu",
                     connectivity="auto")
    extra = multi_area.setup_options(opts, model)
    assert extra["connectivity"] == "auto" and extra["backend"] == "cpu"
    assert extra["max_delay"] == model.max_delay
    opts.simulator = "nest"
    extra = multi_area.setup_options(opts, model)
    assert "connectivity" not in extra and "backend" not in extra
    # the largest inter-area delay bound: distance / 3.5 m/s, plus 6 sd of 50%
    d = _load("distances.json")
    longest = max(d[t][s] for t in AREAS for s in AREAS) / params.SPEED
    assert model.max_delay == pytest.approx(4 * longest, abs=0.1)


def _check_network(sim, net, params, analysis):
    t = params.tables()
    model = net.model
    index = {lab: i for i, lab in enumerate(t.labels)}
    # sizes: the data times the scale, truncated as the model does
    for area, pop in model.labels:
        expected = int(t.n_neurons[index[area, pop]] * N_SCALE)
        assert net.populations[f"{area}_{pop}"].size == expected
    assert "TH_4E" not in net.populations and net.populations["TH_23E"].size == 123
    # synapse numbers: K N_target scale k_scale, truncated, from the tables
    sel = [index[lab] for lab in model.labels]
    expected = (t.indegrees[np.ix_(sel, sel)] * t.n_neurons[sel, None]
                * N_SCALE * K_SCALE).astype(np.int64)
    assert len(net.projections) == np.count_nonzero(expected)
    for (target, source), proj in net.projections.items():
        i = model.labels.index(tuple(target.split("_")))
        j = model.labels.index(tuple(source.split("_")))
        assert len(proj) == expected[i, j], (source, target)
    # inter-area delays follow the distances: mean distance / 3.5 m/s, sd 50 %
    proj = net.projections[("V2_4E", "V1_23E")]
    w, d = np.array(proj.get(["weight", "delay"], format="list"), dtype=float)[:, 2:].T
    mean_delay = t.distances["V2"]["V1"] / params.SPEED
    assert d.mean() == pytest.approx(mean_delay, rel=0.05)
    assert d.std() == pytest.approx(0.5 * mean_delay, rel=0.15)
    assert np.all(d >= 0.1) and np.all(d <= params.delay_bound(mean_delay) + 1e-9)
    assert np.all(w > 0) and w.mean() == pytest.approx(params.W_E / np.sqrt(K_SCALE),
                                                       rel=0.02)
    # within an area, PD14's delays and the inhibitory weight g = -11
    d = np.array(net.projections[("V1_4E", "V1_4I")].get("delay", format="list"))[:, 2]
    assert d.mean() == pytest.approx(0.75, rel=0.1)
    # Poisson background: K_ext * k_scale * 10 Hz per cell
    rate = net.background["V1_4E"][0].get("rate")
    assert rate == pytest.approx(10.0 * t.k_ext[index["V1", "4E"]] * K_SCALE)
    # the other 29 areas' input as Poisson at their full-scale rates
    assert net.missing_input["V1_23E"][0].get("rate") == pytest.approx(
        model.missing_rate[0]) and model.missing_rate[0] > 0


@pytest.mark.slow
def test_multi_area_small(sim, example):
    multi_area, params, analysis = example
    model = params.scaled_model(AREAS, 1.0, 1.0)
    sim.setup(timestep=0.1, min_delay=0.1, max_delay=model.max_delay,
              backend=sim.test_backend, precision="float64", rng_seed=7)
    net = multi_area.build_network(sim, AREAS, N_SCALE, K_SCALE, seed=7)
    _check_network(sim, net, params, analysis)

    sim.run(T_STOP)
    trains = {name: pop.get_data("spikes").segments[0].spiketrains
              for name, pop in net.populations.items()}
    stats = analysis.population_statistics(trains, WARMUP, T_STOP)
    rates = np.array([s["rate"] for s in stats.values()])
    assert np.all(np.isfinite(rates)) and np.all(rates < 60.0), stats
    # at this scale the populations fire at 0.1-20 Hz; the network as a whole neither
    # falls silent nor runs away
    assert 0.5 < np.mean(rates) < 20.0, stats
    assert sum(r > 0 for r in rates) >= len(rates) - 3, stats


@pytest.mark.nest
@pytest.mark.slow
def test_multi_area_runs_under_pynn_nest(nest_sim, example):
    multi_area, params, analysis = example
    areas = ["V1", "TH"]
    model = params.scaled_model(areas, 1.0, 1.0)
    nest_sim.setup(timestep=0.1, min_delay=0.1, max_delay=model.max_delay,
                   spike_precision="on_grid", verbosity="error", rng_seed=7)
    net = multi_area.build_network(nest_sim, areas, 0.002, 0.01, seed=7)
    assert net.populations["V1_23E"].size == 94
    nest_sim.run(150.0)
    trains = {name: pop.get_data("spikes").segments[0].spiketrains
              for name, pop in net.populations.items()}
    rates = [s["rate"] for s in analysis.population_statistics(trains, 50.0, 150.0).values()]
    assert np.all(np.isfinite(rates)) and 0.1 < np.mean(rates) < 30.0
