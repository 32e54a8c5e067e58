"""The microcircuit as built (measured with tools/pd14_connectivity.py): per pair of
populations, in- and out-degrees spread as for sources and targets drawn uniformly with
replacement (binomial variances), which is how NEST's ``fixed_total_number`` draws them,
in microcircuit.py on our engine and in pd14_nest_native.py on NEST."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
SCALE, K_SCALE = 0.05, 0.05


@pytest.fixture(scope="module")
def tool():
    sys.path.insert(0, str(TOOLS))
    try:
        import pd14_connectivity
        yield pd14_connectivity
    finally:
        sys.path.remove(str(TOOLS))


def check_binomial_degrees(tool, stats, model):
    n_pairs = int(np.count_nonzero(model.n_synapses))
    counts = {key: value["n"] for key, value in stats.items()
              if isinstance(key, tuple) and key[0] in tool.POPULATIONS}
    assert len(counts) == n_pairs and sum(counts.values()) == model.n_synapses.sum()
    for z in tool.degree_z_scores(stats):
        # sample variances of in- (out-) degrees, in standard errors from the binomial
        # variance: no pair far off, and no systematic narrowing or widening (a fixed
        # in-degree would give z of about -15 here)
        assert z.size >= 40
        assert np.all(np.abs(z) < 6), z
        assert abs(z.mean()) < 4 / np.sqrt(z.size), z.mean()


def test_degrees_are_binomial(sim, tool):
    stats = tool.measure_ours(SCALE, 5, backend=sim.test_backend, k_scale=K_SCALE)
    import pd14_params
    check_binomial_degrees(tool, stats, pd14_params.scaled_model(SCALE, K_SCALE))


@pytest.mark.nest
def test_nest_native_degrees_are_binomial(tool, nest_module):
    stats = tool.measure_nest(SCALE, 5, k_scale=K_SCALE)
    import pd14_params
    check_binomial_degrees(tool, stats, pd14_params.scaled_model(SCALE, K_SCALE))
