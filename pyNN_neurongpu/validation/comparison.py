"""Compare two sets of runs (e.g. our backend and NEST, a run per seed): statistics of
every run (or read from statistics files), KS distances, and the JSON / terminal forms of
the result."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from .data import load_runs, path_label
from .distances import SPREAD_OF, compare_statistics
from .saved import SavedStatistics, check_options
from .statistics import METRICS, StatisticsOptions, population_statistics


@dataclass
class Comparison:
    """Everything a report shows: the runs of both sides, their statistics and the
    KS distances ({population: {metric: MetricComparison}})."""

    labels: tuple
    runs: tuple  # (list of SpikeData of A, list of SpikeData of B)
    statistics: tuple  # (list of {population: PopulationStatistics}, same for B)
    distances: dict
    options: StatisticsOptions
    spread_of: str = "both"

    def spread_label(self):
        """Whose seed-to-seed distances the spread is taken from, in words."""
        if self.spread_of == "both":
            return "either simulator"
        return self.labels[0 if self.spread_of == "a" else 1]

    @property
    def populations(self):
        return list(self.distances)

    def means(self, name, metric):
        """Mean of a metric's per-run means, for each side (NaN where no run has data)."""
        return tuple(_mean_over_runs(stats, name, metric) for stats in self.statistics)

    def as_dict(self):
        """JSON-ready: options, per-run summaries and all KS distances."""
        def summaries(stats):
            return [{name: _json_float(s.summary()) for name, s in run.items()} for run in stats]
        return {
            "labels": list(self.labels),
            "options": self.options.as_dict(),
            "spread_of": self.spread_of,
            "runs": {label: [r.label for r in runs]
                     for label, runs in zip(self.labels, self.runs)},
            "summaries": {label: summaries(stats)
                          for label, stats in zip(self.labels, self.statistics)},
            "distances": {name: {metric: comp.as_dict() for metric, comp in metrics.items()}
                          for name, metrics in self.distances.items()},
        }

    def write_json(self, filename):
        with open(filename, "w") as f:
            json.dump(self.as_dict(), f, indent=1)
        return filename

    def table(self):
        """The terminal table: per population and metric the mean over runs of each
        side, the mean KS distance between the sides, the seed-to-seed spread, verdict."""
        a, b = self.labels
        head = (f"{'population':12s} {'metric':7s} {a[:12]:>12s} {b[:12]:>12s} "
                f"{'KS':>6s} {'spread':>6s}  {'verdict':7s} {'p':>5s}")
        lines = [head, "-" * len(head)]
        for name, metrics in self.distances.items():
            for metric in METRICS:
                comp = metrics[metric]
                means = self.means(name, metric)
                lines.append(f"{name[:12]:12s} {metric:7s} {means[0]:12.4g} {means[1]:12.4g} "
                             f"{comp.ks:6.3f} {comp.spread:6.3f}  {comp.verdict:7s} "
                             f"{comp.p_value:5.2f}")
        n_a, n_b = (len(r) for r in self.runs)
        lines.append(f"KS: mean over the {n_a}x{n_b} pairs of runs of {a} and {b}; spread: "
                     f"largest KS distance between two runs of {self.spread_label()}; p: "
                     "permutation test over the runs' labels (small: the simulators differ "
                     "more than their seeds)")
        return "\n".join(lines)


def _json_float(d):
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def _mean_over_runs(stats, name, metric):
    values = [run[name].summary()[metric] for run in stats]
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else float("nan")


def _resolve_options(runs, options):
    """`options`, else those of the saved statistics among `runs` (which must agree),
    else the defaults; every saved run must have been made with the result."""
    saved = [run for run in runs if isinstance(run, SavedStatistics)]
    source = "the comparison"
    if options is None:
        if not saved:
            return StatisticsOptions()
        options = saved[0].options
        source = f"{saved[0].path or saved[0].label} (whose options the comparison takes)"
    for run in saved:
        check_options(run, options, source)
    return options


def _statistics(run, options):
    if isinstance(run, SavedStatistics):
        return run.statistics
    return population_statistics(run, options)


def _spike_data(run):
    return run.data if isinstance(run, SavedStatistics) else run


def compare_runs(runs_a, runs_b, labels=("A", "B"), options=None, spread_of="both"):
    """Compare two lists of runs (one per seed) and return a Comparison.

    `spread_of`: the verdicts judge the KS distance between the simulators against the
    largest seed-to-seed distance of "both" simulators (default), or of "a" or "b" only
    (e.g. the reference simulator's own spread); a side's label is accepted too.

    A run is a SpikeData, or a SavedStatistics (:func:`saved.load_statistics`), whose
    statistics are taken as saved. `options` default to those of the saved runs if any
    (they must agree), else to StatisticsOptions(); a saved run made with other options
    than the comparison's raises ValueError.
    """
    spread_of = _side(spread_of, labels)
    options = _resolve_options(list(runs_a) + list(runs_b), options)
    stats_a = [_statistics(run, options) for run in runs_a]
    stats_b = [_statistics(run, options) for run in runs_b]
    return Comparison(tuple(labels), ([_spike_data(r) for r in runs_a],
                                      [_spike_data(r) for r in runs_b]),
                      (stats_a, stats_b), compare_statistics(stats_a, stats_b, spread_of),
                      options, spread_of)


def _side(spread_of, labels):
    """'both', 'a' or 'b' from one of them or a side's label."""
    if spread_of in SPREAD_OF:
        return spread_of
    if spread_of in labels:
        return "a" if spread_of == labels[0] else "b"
    raise ValueError(f"spread_of: {spread_of!r} is neither one of {', '.join(SPREAD_OF)} "
                     f"nor a side's label ({', '.join(labels)})")


def compare_paths(path_a, path_b, labels=None, options=None, segment=-1, spread_of="both"):
    """Compare the runs under two paths: Neo files or statistics files, either side
    (see :func:`data.load_runs` and :func:`compare_runs`)."""
    labels = labels or (path_label(path_a), path_label(path_b))
    if labels[0] == labels[1]:
        labels = (labels[0] + " (1)", labels[1] + " (2)")
    return compare_runs(load_runs(path_a, segment), load_runs(path_b, segment), labels, options,
                        spread_of)
