"""Figures of a Comparison: distributions overlaid per population, raster excerpts, and
KS distances between the simulators next to the seed-to-seed spread."""

from __future__ import annotations

import numpy as np

from ..extras import require
from .saved import RASTER_CELLS, RASTER_WINDOW
from .statistics import METRIC_LABELS, METRICS, analysis_window, padded_spike_times

COLOURS = ("#1f5fa8", "#d9711c")


def _pyplot():
    require("the validation figures", "validation", "matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def distributions_figure(comparison):
    """A row per population, a column per metric: histograms (densities) of every run,
    one colour per simulator."""
    plt = _pyplot()
    names = comparison.populations
    fig, axes = plt.subplots(len(names), len(METRICS), figsize=(11, 1.9 * len(names) + 0.6),
                             squeeze=False)
    for row, name in enumerate(names):
        for col, metric in enumerate(METRICS):
            ax = axes[row, col]
            samples = [[getattr(run[name], metric) for run in stats]
                       for stats in comparison.statistics]
            pooled = np.concatenate([x for side in samples for x in side] + [np.zeros(0)])
            if pooled.size == 0:
                ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            else:
                # the central 98% (a few CCs of near-silent pairs reach 1)
                low, high = np.percentile(pooled, [1.0, 99.0])
                bins = np.linspace(low, high if high > low else low + 1.0, 31)
                for side, (label, colour) in enumerate(zip(comparison.labels, COLOURS)):
                    for k, values in enumerate(samples[side]):
                        if values.size:
                            ax.hist(np.clip(values, bins[0], bins[-1]), bins=bins,
                                    density=True, histtype="step", color=colour, alpha=0.85, lw=1.2,
                                    label=label if k == 0 else None)
                if metric == "cc":
                    ax.set_yscale("log")  # a narrow peak at 0 and a long tail
            if col == 0:
                ax.set_ylabel(name)
            if row == len(names) - 1:
                ax.set_xlabel(METRIC_LABELS[metric])
            ax.tick_params(labelsize=7)
    axes[0, 0].legend(fontsize=8, loc="upper right")
    fig.suptitle("distributions per population (one line per run; values beyond the "
                 "central 98% are shown in the outer bins; CC densities on a log scale)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def raster_figure(comparison, window=RASTER_WINDOW, cells=RASTER_CELLS):
    """Spikes of the first run of each simulator: the last `window` ms of the analysis
    window, the first `cells` neurons of each population (runs read from statistics files
    hold no more than the defaults)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True, squeeze=False)
    options = comparison.options
    for ax, runs, label, colour in zip(axes[0], comparison.runs, comparison.labels, COLOURS):
        data = runs[0]
        t_start, t_stop = analysis_window(data, options)
        t0 = max(t_start, t_stop - window)
        row, ticks = 0, []
        for name in comparison.populations:
            times = padded_spike_times(data.populations[name][:cells], t0, t_stop)
            rows = np.broadcast_to(-(row + np.arange(times.shape[0]))[:, None], times.shape)
            keep = ~np.isnan(times)
            ax.plot(times[keep], rows[keep], "|", ms=1.5, color=colour)
            ticks.append((-(row + (times.shape[0] - 1) / 2.0), name))
            row += times.shape[0]
            ax.axhline(-row + 0.5, color="0.85", lw=0.5)
        ax.set_yticks([p for p, _ in ticks], [n for _, n in ticks], fontsize=7)
        ax.set_xlim(t0, t_stop)
        ax.set_xlabel("time (ms)")
        ax.set_title(f"{label}: {data.label}", fontsize=9)
    fig.tight_layout()
    return fig


def ks_figure(comparison):
    """A panel per metric: KS distances between the simulators (one dot per pair of
    runs, bar at the mean) and between seeds of the same simulator (grey crosses)."""
    plt = _pyplot()
    names = comparison.populations
    x = np.arange(len(names))
    fig, axes = plt.subplots(1, len(METRICS), figsize=(11, 3.6), squeeze=False)
    for ax, metric in zip(axes[0], METRICS):
        for i, name in enumerate(names):
            comp = comparison.distances[name][metric]
            within = np.asarray(comp.within, dtype=float)
            between = np.asarray(comp.between, dtype=float)
            ax.plot(np.full(within.size, i + 0.15), within, "x", color="0.45", ms=5,
                    label="seed to seed" if i == 0 else None)
            ax.plot(np.full(between.size, i - 0.15), between, "o", color=COLOURS[0], ms=4,
                    alpha=0.8, label=" vs ".join(comparison.labels) if i == 0 else None)
            if np.isfinite(comp.ks):
                ax.plot([i - 0.3, i], [comp.ks, comp.ks], "-", color=COLOURS[0], lw=2)
        ax.set_xticks(x, names, rotation=45, fontsize=7)
        ax.set_title(METRIC_LABELS[metric], fontsize=9)
        ax.set_ylim(bottom=0)
    axes[0, 0].set_ylabel("KS distance")
    axes[0, 0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
