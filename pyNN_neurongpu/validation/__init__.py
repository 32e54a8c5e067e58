"""Cross-simulator validation: per-population distributions of firing rates, CVs of
inter-spike intervals and spike-count correlations from Neo data, KS distances between two
simulators next to the seed-to-seed spread, and reports (docs/validation.md). One run's
statistics can be saved to a small file (``.stats.npz``) and compared later in place of
its Neo data.

Command line: ``python -m pyNN_neurongpu.compare``. Needs the ``validation`` extra
(``pip install "pyNN-neurongpu[validation]"``).
"""

from ..extras import require

require("pyNN_neurongpu.validation", "validation", "scipy", "elephant")

from .comparison import Comparison, compare_paths, compare_runs
from .data import SpikeData, from_blocks, load_run, load_runs, read_blocks
from .distances import MetricComparison, compare_statistics, ks_distance
from .report import write_html
from .runner import output_dir, run_all, run_once, seed
from .saved import SavedStatistics, StatisticsMismatch, load_statistics, save_statistics
from .statistics import (
    METRICS,
    PopulationStatistics,
    StatisticsOptions,
    correlation_coefficients,
    cv_isis,
    firing_rates,
    padded_spike_times,
    population_statistics,
)

__all__ = [
    "Comparison", "compare_paths", "compare_runs", "SpikeData", "from_blocks", "load_run",
    "load_runs", "read_blocks", "MetricComparison", "compare_statistics", "ks_distance",
    "write_html", "output_dir", "run_all", "run_once", "seed", "METRICS",
    "PopulationStatistics", "StatisticsOptions", "correlation_coefficients", "cv_isis",
    "firing_rates", "padded_spike_times", "population_statistics", "SavedStatistics",
    "StatisticsMismatch", "load_statistics", "save_statistics",
]
