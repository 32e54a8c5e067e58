"""Spike trains of one simulation run, grouped by population, from Neo blocks or files."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import neo

from ..extras import require

PICKLE_SUFFIXES = (".pkl", ".pickle")
NIX_SUFFIXES = (".nix", ".h5")
NEO_SUFFIXES = PICKLE_SUFFIXES + NIX_SUFFIXES


@dataclass
class SpikeData:
    """The spike trains of one run: population label -> list of ``neo.SpikeTrain``
    (ordered by index in the population), and the recorded period in ms."""

    populations: dict = field(default_factory=dict)
    t_start: float = 0.0
    t_stop: float = 0.0
    label: str = ""

    @property
    def n_neurons(self):
        return sum(len(trains) for trains in self.populations.values())


def _population_of(spiketrain, block, default):
    """PyNN writes the population label on each spike train ('source_population');
    blocks from ``Population.get_data`` also carry it as their 'label' annotation."""
    name = spiketrain.annotations.get("source_population")
    if name is None:
        name = block.annotations.get("label") or block.name or default
    return str(name)


def from_blocks(blocks, segment=-1, label=""):
    """Gather the spike trains of segment `segment` of each Neo block into a SpikeData.

    Trains of the same population coming from several blocks are merged; each
    population's trains are ordered by their 'source_index' annotation where present.
    """
    if isinstance(blocks, neo.Block):
        blocks = [blocks]
    populations = {}
    t_start, t_stop = float("inf"), float("-inf")
    for block in blocks:
        if not block.segments:
            continue
        seg = block.segments[segment]
        for st in seg.spiketrains:
            name = _population_of(st, block, label or "all")
            populations.setdefault(name, []).append(st)
            t_start = min(t_start, float(st.t_start.rescale("ms").magnitude))
            t_stop = max(t_stop, float(st.t_stop.rescale("ms").magnitude))
    if not populations:
        raise ValueError(f"no spike trains found{' in ' + label if label else ''}")
    for trains in populations.values():
        if all("source_index" in st.annotations for st in trains):
            trains.sort(key=lambda st: int(st.annotations["source_index"]))
    return SpikeData(populations, t_start, t_stop, label)


def read_blocks(path):
    """All blocks of one Neo file written by PyNN: pickle (.pkl/.pickle) or NIX (.nix/.h5)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        return [neo.io.PickleIO(str(path)).read_block()]
    if suffix in NIX_SUFFIXES:
        require(f"reading the NIX file {path}", "validation", "nixio")
        io = neo.io.NixIO(str(path), mode="ro")
        try:
            return list(io.read_all_blocks())
        finally:
            io.close()
    raise ValueError(f"{path}: not a Neo file this tool reads ({', '.join(NEO_SUFFIXES)})")


def neo_files(directory):
    """The Neo files directly inside `directory`, sorted by name."""
    return sorted(p for p in Path(directory).iterdir()
                  if p.is_file() and p.suffix.lower() in NEO_SUFFIXES)


def load_run(path, segment=-1):
    """One run from a Neo file, or from all Neo files of a directory (e.g. one per
    population, as the microcircuit example writes them)."""
    path = Path(path)
    files = neo_files(path) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"{path}: no Neo files ({', '.join(NEO_SUFFIXES)})")
    blocks = [block for f in files for block in read_blocks(f)]
    return from_blocks(blocks, segment=segment, label=path.name)


def load_runs(path, segment=-1):
    """The runs (e.g. one per seed) of one simulator: a list of SpikeData, or of
    SavedStatistics for statistics files (``.stats.npz``, see :mod:`.saved`).

    `path` is a Neo file or a statistics file (one run), a directory of Neo files or of
    statistics files (one run per file), or a directory of sub-directories (one run per
    sub-directory, all its Neo files merged).
    """
    from .saved import is_statistics_file, load_statistics, statistics_files

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist")
    if is_statistics_file(path):
        return [load_statistics(path)]
    if path.is_file():
        return [load_run(path, segment)]
    saved = statistics_files(path)
    subdirs = sorted(p for p in path.iterdir() if p.is_dir() and neo_files(p))
    files = neo_files(path)
    if saved and (subdirs or files):
        raise ValueError(f"{path}: holds both statistics files (.stats.npz) and Neo runs; "
                         "give a directory with one kind only")
    if saved:
        return [load_statistics(p) for p in saved]
    if subdirs:
        return [load_run(p, segment) for p in subdirs]
    if not files:
        raise ValueError(f"{path}: no Neo files, no statistics files (.stats.npz) and no "
                         "run sub-directories with Neo files")
    return [load_run(f, segment) for f in files]


def path_label(path):
    """A short name for a set of runs: the directory or file name."""
    return os.path.basename(os.path.normpath(str(path)))
