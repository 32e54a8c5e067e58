"""examples/microcircuit/pd14_nest_native.py, the microcircuit in plain NEST: the network it
builds matches microcircuit.py's (sizes, DC, synapse numbers, weights, delays), and the
compare CLI pairs its Neo files with microcircuit.py's population by population."""

from __future__ import annotations

import importlib
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from pyNN_neurongpu import compare
from pyNN_neurongpu.validation import report

pytestmark = pytest.mark.nest

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "microcircuit"
N_SCALE, K_SCALE = 0.02, 0.05  # at K scale 0.02 L2/3e falls nearly silent (README)


@pytest.fixture(scope="module")
def example():
    sys.path.insert(0, str(EXAMPLE_DIR))
    try:
        import microcircuit
        import pd14_nest_native
        import pd14_params
        yield microcircuit, pd14_nest_native, pd14_params
    finally:
        sys.path.remove(str(EXAMPLE_DIR))


def _connections(nest, source, target):
    conns = nest.GetConnections(source=source, target=target)
    return len(conns), np.asarray(conns.get("weight"), float), np.asarray(
        conns.get("delay"), float)


def test_same_network_as_microcircuit(example, nest_module):
    microcircuit, native, params = example
    sim = importlib.import_module("pyNN.neurongpu")
    sim.setup(timestep=0.1, min_delay=0.1, backend="cpu", precision="float64")
    try:
        ours = microcircuit.build_network(sim, scale=N_SCALE, thalamus=True, seed=5,
                                          record_spikes=False)
        our_counts = {key: len(proj) for key, proj in ours.projections.items()}
        our_values = {key: np.array(proj.get(["weight", "delay"], format="list"))[:, 2:].T
                      for key, proj in ours.projections.items()}
        our_th = {key: len(proj) for key, proj in ours.thalamic_projections.items()}
        our_sizes = {name: pop.size for name, pop in ours.populations.items()}
        our_params = {name: {p: pop.get(p) for p in params.NEURON_PARAMS}
                      for name, pop in ours.populations.items()}
    finally:
        sim.end()

    import nest

    net = native.build_network(scale=N_SCALE, thalamus=True, seed=5, record_spikes=False)
    assert {name: len(pop) for name, pop in net.populations.items()} == our_sizes
    for name, pop in net.populations.items():
        for p, (nest_name, factor) in native.NEST_NAMES.items():
            np.testing.assert_allclose(pop.get(nest_name), factor * our_params[name][p],
                                       rtol=1e-12, err_msg=f"{name} {p}")
    v = np.asarray(net.populations["L23E"].get("V_m"))
    assert v.std() > 5.0 and abs(v.mean() + 58.0) < 2.0  # N(-58, 10), not the default

    counts = {}
    for i, target in enumerate(params.POPULATIONS):
        for j, source in enumerate(params.POPULATIONS):
            n, w, d = _connections(nest, net.populations[source], net.populations[target])
            if n == 0:
                continue
            counts[(target, source)] = n
            # the same (clipped normal) distributions as ours: means within 5 standard
            # errors of their difference, signs and bounds kept
            ours_w, ours_d = our_values[(target, source)]
            for mine, theirs in ((w, 1000.0 * ours_w), (d, ours_d)):
                error = np.sqrt(mine.var() / mine.size + theirs.var() / theirs.size)
                assert abs(mine.mean() - theirs.mean()) <= 5 * error + 1e-12, (source, target)
                if n >= 1000:
                    assert mine.std() == pytest.approx(theirs.std(), rel=0.1), (source, target)
            assert np.all(np.sign(w) == np.sign(net.model.weights[i, j])), (source, target)
            assert d.min() >= 0.1, (source, target)
    assert counts == our_counts
    assert sum(counts.values()) == int(net.model.n_synapses.sum())
    th = {t: _connections(nest, net.thalamus, p)[0] for t, p in net.populations.items()}
    assert {t: n for t, n in th.items() if n} == our_th and sum(our_th.values()) > 0
    # the background: one generator per population, one connection to each cell
    for i, (name, pop) in enumerate(net.populations.items()):
        generator = net.background[name]
        assert generator.get("rate") == 8.0 * net.model.k_ext[i]
        n, w, d = _connections(nest, generator, pop)
        assert n == len(pop) and np.all(w == 1000.0 * net.model.w_ext) and np.all(d == 1.5)


def test_compare_pairs_native_nest_with_microcircuit(example, nest_module, tmp_path,
                                                     monkeypatch, capsys):
    _, native, params = example
    import pd14_analysis
    common = ["--scale", str(N_SCALE), "--k-scale", str(K_SCALE), "--time", "300",
              "--warmup", "100", "--seed", "3"]
    monkeypatch.setattr(sys, "argv", list(sys.argv))  # the 'neurongpu' dispatch sets it
    # figures take most of the time and are not under test here
    monkeypatch.setattr(pd14_analysis, "plot_activity", lambda *args, **kwargs: args[4])
    monkeypatch.setattr(report, "write_html", lambda comparison, filename: filename)
    # a leading simulator name other than 'nest' runs microcircuit.py, same arguments
    native.main(["neurongpu", *common, "--backend", "cpu",
                 "--output-dir", str(tmp_path / "ours" / "seed_3")])
    summary = native.main(["nest", *common, "--output-dir", str(tmp_path / "nest" / "seed_3")])
    assert summary["simulator"] == "nest-native"
    ours = json.loads((tmp_path / "ours" / "seed_3" / "summary.json").read_text())
    assert ours["simulator"] == "neurongpu" and ours["synapses"] == summary["synapses"]
    capsys.readouterr()

    comparison = compare.main(["files", str(tmp_path / "ours"), str(tmp_path / "nest"),
                               "--out", str(tmp_path / "cmp"), "--warmup", "100",
                               "--sample", "40"])
    printed = capsys.readouterr().out
    assert comparison.populations == list(params.POPULATIONS)
    for name in params.POPULATIONS:
        assert len(comparison.runs[1][0].populations[name]) == summary["statistics"][name][
            "cells"]
        for metric in ("rate", "cc"):
            assert math.isfinite(comparison.distances[name][metric].ks), (name, metric)
        assert any(line.startswith(name) and " rate " in line for line in printed.splitlines())
        rates = comparison.means(name, "rate")
        assert rates[1] == pytest.approx(summary["statistics"][name]["rate"], rel=1e-9)
    assert (tmp_path / "cmp" / "comparison.json").exists()
