"""Firing statistics per area and population, and the figure, of the multi-area example."""

from __future__ import annotations

import numpy as np


def _concatenated(spiketrains):
    """Spike times (ms) of all trains in one array, and the train index of each."""
    times = [np.asarray(st.rescale("ms").magnitude, dtype=float) for st in spiketrains]
    lengths = np.array([t.size for t in times], dtype=np.int64)
    if lengths.sum() == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    return np.concatenate(times), np.repeat(np.arange(len(times)), lengths)


def train_statistics(spiketrains, t_start, t_stop):
    """Mean rate (Hz, silent cells included) and mean CV of the inter-spike intervals
    (cells with at least three spikes) in (t_start, t_stop] ms, in array code."""
    n = len(spiketrains)
    times, cell = _concatenated(spiketrains)
    keep = (times > t_start) & (times <= t_stop)
    times, cell = times[keep], cell[keep]
    order = np.lexsort((times, cell))
    times, cell = times[order], cell[order]
    counts = np.bincount(cell, minlength=n)
    isi = np.diff(times)
    same = cell[1:] == cell[:-1]
    isi, isi_cell = isi[same], cell[1:][same]
    k = np.bincount(isi_cell, minlength=n).astype(float)
    s1 = np.bincount(isi_cell, weights=isi, minlength=n)
    s2 = np.bincount(isi_cell, weights=isi * isi, minlength=n)
    with_cv = counts >= 3
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / k
        sd = np.sqrt(np.maximum(s2 / k - mean * mean, 0.0))
        cv = sd / mean
    duration_s = (t_stop - t_start) / 1000.0
    return {
        "cells": n,
        "rate": float(counts.sum() / (n * duration_s)) if n else float("nan"),
        "cv_isi": float(cv[with_cv].mean()) if with_cv.any() else float("nan"),
        "cells_with_cv": int(with_cv.sum()),
    }


def population_statistics(spiketrains, t_start, t_stop):
    """{label: statistics} for {label: spike trains}."""
    return {name: train_statistics(trains, t_start, t_stop)
            for name, trains in spiketrains.items()}


def print_statistics(stats, areas, t_start, t_stop):
    """A table of rates (Hz), one row per area, one column per layer and type."""
    pops = ("23E", "23I", "4E", "4I", "5E", "5I", "6E", "6I")
    print(f"population rates (Hz), {t_start:g}-{t_stop:g} ms:")
    print("  " + f"{'area':5s}" + "".join(f"{p:>7s}" for p in pops))
    for area in areas:
        cells = [stats.get(f"{area}_{p}") for p in pops]
        print("  " + f"{area:5s}" + "".join(
            f"{s['rate']:7.2f}" if s else f"{'-':>7s}" for s in cells))


def plot_rates(stats, areas, filename, title=""):
    """Rates per area (rows) and population (columns) as an image; saved as `filename`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pops = ("23E", "23I", "4E", "4I", "5E", "5I", "6E", "6I")
    grid = np.full((len(areas), len(pops)), np.nan)
    for i, area in enumerate(areas):
        for j, p in enumerate(pops):
            s = stats.get(f"{area}_{p}")
            if s:
                grid[i, j] = s["rate"]
    fig, ax = plt.subplots(figsize=(5, 1.5 + 0.25 * len(areas)))
    image = ax.imshow(grid, aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(pops)), pops)
    ax.set_yticks(range(len(areas)), areas)
    fig.colorbar(image, ax=ax, label="rate (Hz)")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(filename, dpi=100)
    plt.close(fig)
    return filename
