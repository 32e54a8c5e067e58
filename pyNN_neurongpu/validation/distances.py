"""Kolmogorov-Smirnov distances between two simulators' distributions, and the same
distances between seeds of one simulator (the yardstick they are judged against)."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import ks_2samp

from .statistics import METRICS


def ks_distance(a, b):
    """Two-sample KS statistic (largest gap between the empirical CDFs); NaN when a
    sample is empty."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0 or b.size == 0:
        return float("nan")
    with warnings.catch_warnings():  # "exact calculation unsuccessful, using asymp"
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(ks_2samp(a, b).statistic)


def _finite(values):
    values = np.asarray(values, dtype=float)
    return values[np.isfinite(values)]


@dataclass
class MetricComparison:
    """KS distances for one population and metric: `between` has one entry per pair
    (run of A, run of B), `within_a` / `within_b` one per pair of runs of A / of B."""

    between: list = field(default_factory=list)
    within_a: list = field(default_factory=list)
    within_b: list = field(default_factory=list)

    @property
    def within(self):
        return self.within_a + self.within_b

    @property
    def ks(self):
        """Mean KS distance between the simulators (NaN if undefined)."""
        values = _finite(self.between)
        return float(values.mean()) if values.size else float("nan")

    @property
    def spread(self):
        """Largest seed-to-seed KS distance within either simulator (NaN without two
        runs of one simulator)."""
        values = _finite(self.within)
        return float(values.max()) if values.size else float("nan")

    @property
    def verdict(self):
        """'within' when the mean distance between simulators does not exceed the
        seed-to-seed spread, 'outside' when it does, 'n/a' where either is undefined."""
        if np.isnan(self.ks) or np.isnan(self.spread):
            return "n/a"
        return "within" if self.ks <= self.spread else "outside"

    def as_dict(self):
        def clean(values):
            return [None if np.isnan(v) else v for v in values]
        return {"ks": None if np.isnan(self.ks) else self.ks,
                "spread": None if np.isnan(self.spread) else self.spread,
                "verdict": self.verdict, "between": clean(self.between),
                "within_a": clean(self.within_a), "within_b": clean(self.within_b)}


def _pairwise_within(runs, name, metric):
    return [ks_distance(getattr(x[name], metric), getattr(y[name], metric))
            for x, y in itertools.combinations(runs, 2)]


def compare_statistics(runs_a, runs_b):
    """{population: {metric: MetricComparison}} from the per-run statistics
    ({population: PopulationStatistics}) of simulator A and of simulator B.

    Only populations present in every run are compared; the others are named in a
    warning.
    """
    if not runs_a or not runs_b:
        raise ValueError("each side needs at least one run")
    names = [n for n in runs_a[0] if all(n in run for run in runs_a + runs_b)]
    every = {n for run in runs_a + runs_b for n in run}
    if set(names) != every:
        warnings.warn(f"populations not in every run are left out: "
                      f"{', '.join(sorted(every - set(names)))}")
    if not names:
        raise ValueError("the two sets of runs have no population in common")
    result = {}
    for name in names:
        result[name] = {}
        for metric in METRICS:
            between = [ks_distance(getattr(x[name], metric), getattr(y[name], metric))
                       for x in runs_a for y in runs_b]
            result[name][metric] = MetricComparison(
                between, _pairwise_within(runs_a, name, metric),
                _pairwise_within(runs_b, name, metric))
    return result
