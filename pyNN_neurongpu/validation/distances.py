"""Kolmogorov-Smirnov distances between two simulators' distributions, and the same
distances between seeds of one simulator (the yardstick they are judged against)."""

from __future__ import annotations

import functools
import itertools
import math
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


# label permutations tried by MetricComparison.p_value when there are more splits than this
MAX_SPLITS = 5000
SPREAD_OF = ("both", "a", "b")


@dataclass
class MetricComparison:
    """KS distances for one population and metric: `between` has one entry per pair
    (run of A, run of B; A's index major), `within_a` / `within_b` one per pair of runs of
    A / of B (itertools.combinations order)."""

    between: list = field(default_factory=list)
    within_a: list = field(default_factory=list)
    within_b: list = field(default_factory=list)
    # whose seed-to-seed distances make the spread: "both" sides', "a"'s or "b"'s
    spread_of: str = "both"

    def __post_init__(self):
        if self.spread_of not in SPREAD_OF:
            raise ValueError(f"spread_of must be one of {', '.join(SPREAD_OF)}, "
                             f"not {self.spread_of!r}")

    @property
    def within(self):
        """The seed-to-seed distances the spread is taken from (see spread_of)."""
        return {"both": self.within_a + self.within_b, "a": self.within_a,
                "b": self.within_b}[self.spread_of]

    @property
    def ks(self):
        """Mean KS distance between the simulators (NaN if undefined)."""
        values = _finite(self.between)
        return float(values.mean()) if values.size else float("nan")

    @property
    def spread(self):
        """Largest seed-to-seed KS distance within either simulator, or within the one
        named by spread_of (NaN without two runs)."""
        values = _finite(self.within)
        return float(values.max()) if values.size else float("nan")

    @property
    def verdict(self):
        """'within' when the mean distance between simulators does not exceed the
        seed-to-seed spread, 'outside' when it does, 'n/a' where either is undefined."""
        if np.isnan(self.ks) or np.isnan(self.spread):
            return "n/a"
        return "within" if self.ks <= self.spread else "outside"

    @property
    def sizes(self):
        """(runs of A, runs of B)."""
        n_b = 1 + int(round((1 + 8 * len(self.within_b)) ** 0.5 - 1)) // 2
        return len(self.between) // n_b, n_b

    def distance_matrix(self):
        """KS distances between all runs, A's first: (n_a + n_b) x (n_a + n_b)."""
        n_a, n_b = self.sizes
        n = n_a + n_b
        d = np.zeros((n, n))
        for (i, j), v in zip(itertools.combinations(range(n_a), 2), self.within_a):
            d[i, j] = d[j, i] = v
        for (i, j), v in zip(itertools.combinations(range(n_a, n), 2), self.within_b):
            d[i, j] = d[j, i] = v
        for k, v in enumerate(self.between):
            i, j = divmod(k, n_b)
            d[i, n_a + j] = d[n_a + j, i] = v
        return d

    @functools.cached_property
    def p_value(self):
        """Permutation test of "both simulators' runs come from one distribution": the
        mean KS distance between the sides minus the mean within them, for the actual
        labels and for every other split of the runs into groups of the same sizes (at most
        MAX_SPLITS, drawn at random beyond that); the fraction of splits whose difference is
        at least the actual one. Small values mean the simulators differ more than their
        seeds do; the smallest possible value is 2 / (n_a + n_b choose n_a) for equal sizes
        (0.1 with three runs a side). NaN without two runs a side or with undefined
        distances."""
        n_a, n_b = self.sizes
        if n_a < 2 or n_b < 2:
            return float("nan")
        d = self.distance_matrix()
        if not np.all(np.isfinite(d)):
            return float("nan")
        n = n_a + n_b
        if math.comb(n, n_a) <= MAX_SPLITS:
            splits = list(itertools.combinations(range(n), n_a))
        else:
            rng = np.random.default_rng(0)
            splits = [tuple(range(n_a))] + [tuple(rng.choice(n, n_a, replace=False))
                                             for _ in range(MAX_SPLITS - 1)]
        in_a = np.zeros((len(splits), n))
        in_a[np.repeat(np.arange(len(splits)), n_a), np.concatenate(splits)] = 1.0
        # each pair (one run in the group, one outside) once: the distances between groups
        cross = np.einsum("si,ij,sj->s", in_a, d, 1.0 - in_a)
        within = np.triu(d, 1).sum() - cross
        values = cross / (n_a * n_b) - within / (math.comb(n_a, 2) + math.comb(n_b, 2))
        return float(np.mean(values >= values[splits.index(tuple(range(n_a)))] - 1e-12))

    def as_dict(self):
        def clean(values):
            return [None if np.isnan(v) else v for v in values]
        p = self.p_value
        return {"ks": None if np.isnan(self.ks) else self.ks,
                "spread": None if np.isnan(self.spread) else self.spread,
                "verdict": self.verdict, "p_value": None if np.isnan(p) else p,
                "between": clean(self.between),
                "within_a": clean(self.within_a), "within_b": clean(self.within_b)}


def _pairwise_within(runs, name, metric):
    return [ks_distance(getattr(x[name], metric), getattr(y[name], metric))
            for x, y in itertools.combinations(runs, 2)]


def compare_statistics(runs_a, runs_b, spread_of="both"):
    """{population: {metric: MetricComparison}} from the per-run statistics
    ({population: PopulationStatistics}) of simulator A and of simulator B; `spread_of`
    ("both", "a", "b"): whose seed-to-seed distances the verdicts are judged against.

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
                _pairwise_within(runs_b, name, metric), spread_of)
    return result
