"""Firing statistics and the raster / rate figure of the microcircuit example."""

from __future__ import annotations

import numpy as np
from pd14_params import FULL_MEAN_RATES, POPULATIONS


def _times_ms(spiketrain):
    return np.asarray(spiketrain.rescale("ms").magnitude, dtype=float)


def population_statistics(spiketrains, t_start, t_stop):
    """Mean rate (Hz, silent cells included) and mean CV of the inter-spike intervals
    (cells with at least two intervals) of each population in (t_start, t_stop] ms."""
    duration_s = (t_stop - t_start) / 1000.0
    stats = {}
    for name, trains in spiketrains.items():
        counts, cvs = [], []
        for st in trains:
            t = _times_ms(st)
            t = t[(t > t_start) & (t <= t_stop)]
            counts.append(t.size)
            if t.size >= 3:
                isi = np.diff(t)
                cvs.append(isi.std() / isi.mean())
        n = len(trains)
        stats[name] = {
            "cells": n,
            "rate": float(np.sum(counts) / (n * duration_s)) if n else float("nan"),
            "cv_isi": float(np.mean(cvs)) if cvs else float("nan"),
            "cells_with_cv": len(cvs),
        }
    return stats


def print_statistics(stats, t_start, t_stop):
    print(f"population rates and CV(ISI), {t_start:g}-{t_stop:g} ms:")
    print(f"  {'pop':5s} {'cells':>6s} {'rate/Hz':>8s} {'CV ISI':>7s}")
    for name, s in stats.items():
        print(f"  {name:5s} {s['cells']:6d} {s['rate']:8.3f} {s['cv_isi']:7.3f}")


def plot_activity(spiketrains, stats, t_start, t_stop, filename, title="", max_cells=2000,
                  window=500.0):
    """Raster (at most `max_cells` cells in all, the last `window` ms) and a bar chart of the
    rates next to the full-scale reference rates; saved as `filename` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_raster, ax_rates) = plt.subplots(
        1, 2, figsize=(11, 6), gridspec_kw={"width_ratios": [3, 1]})
    total = sum(len(trains) for trains in spiketrains.values())
    step = max(1, int(np.ceil(total / max_cells)))
    t0 = max(t_start, t_stop - window)
    row, ticks = 0, []
    colours = {True: "#3b5ba5", False: "#c0392b"}
    for name in POPULATIONS:
        trains = spiketrains.get(name, [])[::step]
        times = [_times_ms(st) for st in trains]
        times = [t[(t >= t0) & (t <= t_stop)] for t in times]
        rows = [np.full(t.size, -(row + k)) for k, t in enumerate(times)]
        if times:
            ax_raster.plot(np.concatenate(times), np.concatenate(rows), ".", ms=1.0,
                           color=colours[name.endswith("E")])
        ticks.append((-(2 * row + len(trains)) / 2.0, name))
        row += len(trains)
    ax_raster.set_yticks([p for p, _ in ticks], [n for _, n in ticks])
    ax_raster.set_xlim(t0, t_stop)
    ax_raster.set_xlabel("time (ms)")
    ax_raster.set_title(title + (f" (every {step}th cell)" if step > 1 else ""))

    y = -np.arange(len(POPULATIONS))
    rates = [stats[name]["rate"] if name in stats else np.nan for name in POPULATIONS]
    ax_rates.barh(y, rates, color=[colours[n.endswith("E")] for n in POPULATIONS])
    ax_rates.plot(FULL_MEAN_RATES, y, "k|", ms=14, mew=2, label="full-scale reference")
    ax_rates.set_yticks(y, POPULATIONS)
    ax_rates.set_xlabel("rate (Hz)")
    ax_rates.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(filename, dpi=100)
    plt.close(fig)
    return filename
