"""One run's statistics in one small file (``<run>.stats.npz``), to compute them where the
Neo data is and compare them anywhere later.

The file holds the StatisticsOptions (JSON), the run's label and recorded period, and per
population its size, the rate, CV ISI and CC distributions, and a raster excerpt (the
spikes of the first RASTER_CELLS neurons in the last RASTER_WINDOW ms of the analysis
window) for the report's raster figure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import neo
import numpy as np

from .data import SpikeData
from .statistics import (
    PopulationStatistics,
    StatisticsOptions,
    analysis_window,
    padded_spike_times,
    population_statistics,
)

SUFFIX = ".stats.npz"
FORMAT = 1
RASTER_WINDOW = 200.0  # ms
RASTER_CELLS = 100


class StatisticsMismatch(ValueError):
    """Saved statistics were made with other StatisticsOptions than a comparison's."""


@dataclass
class SavedStatistics:
    """A run read from a statistics file, usable in place of a SpikeData in a comparison:
    `statistics` ({population: PopulationStatistics}), the `options` they were taken with,
    and `data`, a stand-in SpikeData (label, recorded period, and only the raster excerpt's
    spike trains)."""

    statistics: dict
    options: StatisticsOptions
    data: SpikeData
    path: str = ""

    @property
    def label(self):
        return self.data.label


def is_statistics_file(path):
    path = Path(path)
    return path.is_file() and path.name.endswith(SUFFIX)


def statistics_files(directory):
    """The statistics files directly inside `directory`, sorted by name."""
    return sorted(p for p in Path(directory).iterdir() if is_statistics_file(p))


def raster_excerpt(data, options):
    """{population: padded spike times (ms)} of the first RASTER_CELLS neurons of each
    population in the last RASTER_WINDOW ms of the analysis window."""
    t_start, t_stop = analysis_window(data, options)
    t0 = max(t_start, t_stop - RASTER_WINDOW)
    return {name: padded_spike_times(trains[:RASTER_CELLS], t0, t_stop)
            for name, trains in data.populations.items()}


def save_statistics(data, filename, options=None):
    """Compute the statistics of one run (a SpikeData) and write them, with a raster
    excerpt, to `filename` (compressed; the name must end with '.stats.npz')."""
    if not str(filename).endswith(SUFFIX):
        raise ValueError(f"{filename}: a statistics file name ends with '{SUFFIX}'")
    options = options or StatisticsOptions()
    stats = population_statistics(data, options)
    excerpt = raster_excerpt(data, options)
    names = list(stats)
    arrays = {"format": np.array(FORMAT), "options": np.array(json.dumps(options.as_dict())),
              "label": np.array(data.label), "populations": np.array(json.dumps(names)),
              "t_start": np.array(float(data.t_start)), "t_stop": np.array(float(data.t_stop))}
    for i, name in enumerate(names):
        s = stats[name]
        times = excerpt[name]
        keep = ~np.isnan(times)
        arrays.update({f"{i}.n_neurons": np.array(s.n_neurons, dtype=np.int64),
                       f"{i}.rate": s.rate, f"{i}.cv_isi": s.cv_isi, f"{i}.cc": s.cc,
                       f"{i}.raster_counts": keep.sum(axis=1).astype(np.int32),
                       f"{i}.raster_times": times[keep]})
    np.savez_compressed(filename, **arrays)
    return filename


def _excerpt_trains(name, counts, times, t_start, t_stop):
    per_train = np.split(times, np.cumsum(counts)[:-1]) if counts.size else []
    return [neo.SpikeTrain(t, t_start=t_start, t_stop=t_stop, units="ms",
                           source_population=name, source_index=i)
            for i, t in enumerate(per_train)]


def load_statistics(filename):
    """Read a file written by :func:`save_statistics` into a SavedStatistics."""
    with np.load(filename, allow_pickle=False) as f:
        if "format" not in f or int(f["format"]) != FORMAT:
            raise ValueError(f"{filename}: not a statistics file of format {FORMAT}")
        options = StatisticsOptions(**json.loads(str(f["options"])))
        t_start, t_stop = float(f["t_start"]), float(f["t_stop"])
        statistics, trains = {}, {}
        for i, name in enumerate(json.loads(str(f["populations"]))):
            statistics[name] = PopulationStatistics(
                n_neurons=int(f[f"{i}.n_neurons"]), rate=f[f"{i}.rate"],
                cv_isi=f[f"{i}.cv_isi"], cc=f[f"{i}.cc"])
            trains[name] = _excerpt_trains(name, f[f"{i}.raster_counts"],
                                           f[f"{i}.raster_times"], t_start, t_stop)
        data = SpikeData(trains, t_start, t_stop, str(f["label"]))
    return SavedStatistics(statistics, options, data, str(filename))


def check_options(saved, options, source="the comparison"):
    """Raise StatisticsMismatch (a ValueError) naming every option in which `saved`
    (a SavedStatistics) differs from `options`."""
    differ = [f.name for f in fields(StatisticsOptions)
              if getattr(saved.options, f.name) != getattr(options, f.name)]
    if differ:
        def listed(opts):
            return ", ".join(f"{name}={getattr(opts, name)}" for name in differ)
        raise StatisticsMismatch(
            f"{saved.path or saved.label}: statistics saved with {listed(saved.options)}, "
            f"but {source} uses {listed(options)}; compare with the same statistics "
            "options, or save the statistics again with these")
