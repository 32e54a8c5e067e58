"""Per-population distributions of firing rates, CVs of inter-spike intervals and pairwise
spike-count correlation coefficients (the PD14 benchmarking recipe), computed with Elephant."""

from __future__ import annotations

import warnings
import zlib
from dataclasses import asdict, dataclass

import numpy as np
import quantities as pq
from elephant.conversion import BinnedSpikeTrain
from elephant.spike_train_correlation import correlation_coefficient
from elephant.statistics import cv, isi, mean_firing_rate

METRICS = ("rate", "cv_isi", "cc")
METRIC_LABELS = {"rate": "firing rate (Hz)", "cv_isi": "CV ISI", "cc": "correlation coefficient"}


@dataclass(frozen=True)
class StatisticsOptions:
    """How the distributions are taken.

    warmup: ms at the start left out; t_stop: end of the window (ms, default: end of
    the recording); bin_size: ms, for the spike counts of the CCs; cc_sample: neurons
    per population (drawn among those that spike in the window) for the CCs;
    min_spikes_cv: spikes a neuron needs in the window to have a CV; seed: of the
    neuron sample.
    """

    warmup: float = 0.0
    t_stop: float | None = None
    bin_size: float = 2.0
    cc_sample: int = 200
    min_spikes_cv: int = 3
    seed: int = 0

    def as_dict(self):
        return asdict(self)


@dataclass
class PopulationStatistics:
    """Distributions for one population: one rate per neuron, one CV per neuron with at
    least `min_spikes_cv` spikes, one CC per pair of sampled neurons."""

    n_neurons: int
    rate: np.ndarray
    cv_isi: np.ndarray
    cc: np.ndarray

    def summary(self):
        """Means and counts (JSON-ready; NaN where a distribution is empty)."""
        def mean(x):
            return float(np.mean(x)) if x.size else float("nan")
        return {"neurons": self.n_neurons, "rate": mean(self.rate),
                "cv_isi": mean(self.cv_isi), "cells_with_cv": int(self.cv_isi.size),
                "cc": mean(self.cc), "cc_pairs": int(self.cc.size)}


def _milliseconds(spiketrain):
    # rescale() copies each train even from ms to ms: most of the time for 10^5 trains
    if spiketrain.dimensionality.string == "ms":
        return spiketrain.magnitude
    return spiketrain.rescale("ms").magnitude


def padded_spike_times(spiketrains, t_start, t_stop):
    """Spike times (ms) in (t_start, t_stop] as one array, a row per train, NaN-padded."""
    times = [np.asarray(_milliseconds(st), dtype=float) for st in spiketrains]
    lengths = np.array([t.size for t in times], dtype=np.int64)
    out = np.full((len(times), int(lengths.max(initial=0))), np.nan)
    if lengths.sum():
        flat = np.concatenate(times)
        rows = np.repeat(np.arange(len(times)), lengths)
        cols = np.arange(flat.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        out[rows, cols] = flat
    out[~((out > t_start) & (out <= t_stop))] = np.nan
    out.sort(axis=1)  # NaN last, spikes of each train in order
    return out


def firing_rates(times, t_start, t_stop):
    """Rate (Hz) of each row of a padded spike-time array over (t_start, t_stop] ms."""
    if times.shape[0] == 0:
        return np.zeros(0)
    per_ms = mean_firing_rate(times, t_start=t_start, t_stop=t_stop, axis=1)
    return np.asarray(per_ms, dtype=float) * 1000.0


def cv_isis(times, min_spikes=3):
    """CV of the inter-spike intervals of each row with at least `min_spikes` spikes."""
    if times.shape[1] < max(min_spikes, 2):
        return np.zeros(0)
    intervals = isi(times, axis=1)
    enough = np.count_nonzero(~np.isnan(times), axis=1) >= min_spikes
    if not enough.any():
        return np.zeros(0)
    values = cv(intervals[enough], axis=1, nan_policy="omit")
    return np.asarray(values, dtype=float)


def correlation_coefficients(spiketrains, active, t_start, t_stop, bin_size, sample, rng):
    """Pearson CCs of the binned spike counts of every pair among `sample` neurons drawn
    (without replacement, by `rng`) from those flagged in `active`; one matrix."""
    candidates = np.flatnonzero(active)
    if candidates.size < 2:
        return np.zeros(0)
    chosen = np.sort(rng.choice(candidates, size=min(sample, candidates.size), replace=False))
    with warnings.catch_warnings():
        # a train with no spike in the bins gives a NaN row (User/RuntimeWarning); Elephant
        # 1.2 also trips deprecation warnings of quantities and numpy.matrix
        for category in (UserWarning, RuntimeWarning, DeprecationWarning,
                         PendingDeprecationWarning):
            warnings.simplefilter("ignore", category)
        binned = BinnedSpikeTrain([spiketrains[i] for i in chosen], bin_size=bin_size * pq.ms,
                                  t_start=t_start * pq.ms, t_stop=t_stop * pq.ms)
        matrix = correlation_coefficient(binned)
    values = matrix[np.triu_indices(len(chosen), k=1)]
    return values[~np.isnan(values)]


def analysis_window(data, options):
    """The analysis window (t_start, t_stop] in ms of a run (a SpikeData)."""
    t_start = data.t_start + options.warmup
    t_stop = data.t_stop if options.t_stop is None else min(options.t_stop, data.t_stop)
    if t_stop <= t_start:
        raise ValueError(f"{data.label or 'run'}: empty analysis window "
                         f"({t_start:g}, {t_stop:g}] ms; check warmup / t_stop")
    return t_start, t_stop


def population_statistics(data, options=None):
    """{population: PopulationStatistics} of one run (a SpikeData)."""
    options = options or StatisticsOptions()
    t_start, t_stop = analysis_window(data, options)
    result = {}
    for name, trains in data.populations.items():
        times = padded_spike_times(trains, t_start, t_stop)
        rng = np.random.default_rng([options.seed, zlib.crc32(name.encode())])
        active = np.count_nonzero(~np.isnan(times), axis=1) > 0
        result[name] = PopulationStatistics(
            n_neurons=len(trains),
            rate=firing_rates(times, t_start, t_stop),
            cv_isi=cv_isis(times, options.min_spikes_cv),
            cc=correlation_coefficients(trains, active, t_start, t_stop, options.bin_size,
                                        options.cc_sample, rng))
    return result
