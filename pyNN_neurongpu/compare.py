"""Compare two simulators' spiking activity: ``python -m pyNN_neurongpu.compare``.

Three modes::

    python -m pyNN_neurongpu.compare files A/ B/ [options]
    python -m pyNN_neurongpu.compare run SCRIPT [script args] \\
        --simulators neurongpu nest --seeds 2 [--out DIR] [options] [-- script args]
    python -m pyNN_neurongpu.compare stats RUN [RUN ...] --out DIR [options]

`files` compares runs already written (each path: a file, a directory of files with one
run each, or a directory of run sub-directories); a file is a Neo file or a statistics
file (``.stats.npz``) that `stats` wrote, on either side. `run` runs ``SCRIPT <simulator>
[script args]`` once per simulator and seed in its own process, with the seed in the
environment variable PYNN_SEED and the output directory in PYNN_OUTPUT_DIR (see
docs/validation.md), then compares. Arguments this command does not know go to the
script; put the script's arguments after ``--`` where their names clash with ours
(``--warmup``, ``--out``, ...). Both print a table and write ``comparison.json`` and
``report.html`` into ``--out``.

`stats` computes the statistics of each run (a Neo file, or a directory of Neo files
making one run) where the data is and writes ``--out/<run label>.stats.npz``, a small
file (1.3 MB for a synthetic run the size of the full-scale microcircuit), for `files` to
compare elsewhere. Statistics files must have been made with the comparison's statistics
options (``--warmup`` ...): `files` given none of these options takes them from the
statistics files; given any, it checks the files against them.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from .extras import install_command, missing, missing_message

# modules each mode needs (the validation extra); checked before any work, so that
# --help works without them and `run` fails before its first simulation
MODE_MODULES = {"files": ("scipy", "elephant", "matplotlib"),
                "run": ("scipy", "elephant", "matplotlib"),
                "stats": ("scipy", "elephant")}
# simulator -> (Python module it needs, pyNN-neurongpu extra that installs it, or None)
SIMULATOR_MODULES = {"nest": ("nest", "nest"), "neuron": ("neuron", None),
                     "brian2": ("brian2", None)}

# command-line option -> StatisticsOptions field; defaults come from StatisticsOptions
STATISTICS_OPTIONS = {"warmup": "warmup", "t_stop": "t_stop", "bin_size": "bin_size",
                      "sample": "cc_sample", "sample_seed": "seed",
                      "min_spikes_cv": "min_spikes_cv"}


def _add_common(parser, out_default):
    parser.add_argument("--out", default=None,
                        help=f"output directory (default: {out_default})")
    parser.add_argument("--warmup", type=float, default=None,
                        help="ms at the start left out of the statistics (default 0)")
    parser.add_argument("--t-stop", type=float, default=None,
                        help="end of the analysis window, ms (default: end of recording)")
    parser.add_argument("--bin-size", type=float, default=None,
                        help="bin for the spike counts of the correlations, ms (default 2)")
    parser.add_argument("--sample", type=int, default=None,
                        help="neurons per population in the correlations (default 200)")
    parser.add_argument("--sample-seed", type=int, default=None,
                        help="seed of the neuron sample (default 0)")
    parser.add_argument("--min-spikes-cv", type=int, default=None,
                        help="spikes a neuron needs for a CV ISI (default 3)")
    parser.add_argument("--segment", type=int, default=-1,
                        help="Neo segment to analyse (default: the last)")


def _add_verdict(parser):
    parser.add_argument("--spread-of", default="both", metavar="SIDE",
                        help="judge the KS distances against the seed-to-seed spread of "
                             "'both' simulators (default), or of one: 'a', 'b' or its "
                             "label (e.g. nest)")


def _fill_statistics_defaults(args):
    """Note which statistics options were given (args.statistics_given) and fill in the
    defaults of the others."""
    from .validation.statistics import StatisticsOptions

    defaults = StatisticsOptions()
    args.statistics_given = [name for name in STATISTICS_OPTIONS
                             if getattr(args, name) is not None]
    for name, field in STATISTICS_OPTIONS.items():
        if getattr(args, name) is None:
            setattr(args, name, getattr(defaults, field))


def statistics_options(args):
    """The StatisticsOptions of the command line, or None where none was given."""
    from .validation.statistics import StatisticsOptions

    if not args.statistics_given:
        return None
    return StatisticsOptions(**{field: getattr(args, name)
                                for name, field in STATISTICS_OPTIONS.items()})


def make_parser():
    parser = argparse.ArgumentParser(
        prog="python -m pyNN_neurongpu.compare", allow_abbrev=False,
        description="Compare firing-rate, CV ISI and correlation distributions of two "
                    "simulators by Kolmogorov-Smirnov distance.")
    sub = parser.add_subparsers(dest="mode", required=True)
    files = sub.add_parser(
        "files", allow_abbrev=False,
        help="compare two sets of runs: Neo files or statistics files (.stats.npz)",
        description="Without statistics options (--warmup ...), those of the statistics "
                    "files are used; with any, the statistics files must match them.")
    files.add_argument("a", help="file or directory of the first simulator")
    files.add_argument("b", help="file or directory of the second simulator")
    files.add_argument("--labels", nargs=2, default=None, help="names of the two sides")
    _add_common(files, "comparison")
    _add_verdict(files)
    run = sub.add_parser("run", allow_abbrev=False,
                         help="run a script per simulator and seed, then compare")
    run.add_argument("script", help="PyNN script taking the simulator as first argument")
    run.add_argument("--simulators", nargs=2, default=["neurongpu", "nest"],
                     help="the two simulators (default: neurongpu nest)")
    run.add_argument("--seeds", type=int, default=2, help="runs per simulator (default 2)")
    run.add_argument("--first-seed", type=int, default=1,
                     help="seeds are first-seed, first-seed+1, ... (default 1)")
    run.add_argument("--timeout", type=float, default=None, help="seconds per run")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_common(run, "compare_<script>")
    _add_verdict(run)
    stats = sub.add_parser(
        "stats", allow_abbrev=False,
        help="write each run's statistics to a small file for `files` to compare later")
    stats.add_argument("runs", nargs="+", metavar="RUN",
                       help="a Neo file, or a directory of Neo files making one run")
    _add_common(stats, "statistics")
    return parser


def _module_found(name):
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def simulator_problem(simulator):
    """Why `simulator` cannot run here (a message), or None. Nothing is imported."""
    if simulator == "neurongpu":  # this package; the child process maps pyNN.neurongpu to it
        return None
    if not _module_found(f"pyNN.{simulator}"):
        return f"PyNN has no simulator {simulator!r} (no module pyNN.{simulator})"
    module, extra = SIMULATOR_MODULES.get(simulator, (None, None))
    if module is None or _module_found(module):
        return None
    how = install_command(extra) if extra else f"install the {module} package"
    return f"simulator {simulator!r} needs the module {module}, which is not installed: {how}"


def requirement_problems(args):
    """Every module and simulator missing for `args`, as messages."""
    problems = []
    absent = missing(*MODE_MODULES[args.mode])
    if absent:
        problems.append(missing_message(f"python -m pyNN_neurongpu.compare {args.mode}",
                                        "validation", absent))
    if args.mode == "run":
        problems += filter(None, map(simulator_problem, args.simulators))
    return problems


def parse_args(argv):
    """Our options, and the script's arguments (unknown ones, plus all after ``--``).

    Exits with every missing dependency named (and the extra to install) before any work."""
    argv = list(argv)
    passthrough = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    parser = make_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.mode in ("files", "stats") and (unknown or passthrough):
        parser.error(f"unrecognised arguments: {' '.join(unknown + passthrough)}")
    args.script_args = unknown + passthrough
    problems = requirement_problems(args)
    if problems:
        raise SystemExit("error: " + "\nerror: ".join(problems))
    _fill_statistics_defaults(args)
    return args


def statistics_name(label):
    """The statistics file name of a run: its label, a Neo suffix left out."""
    from .validation.data import NEO_SUFFIXES
    from .validation.saved import SUFFIX

    stem, dot, suffix = label.rpartition(".")
    base = stem if dot and "." + suffix.lower() in NEO_SUFFIXES else label
    return base + SUFFIX


def write_statistics(run_paths, out, options, segment=-1):
    """`stats` mode: one statistics file per run in `out`; the list of files written."""
    from .validation.data import load_run
    from .validation.saved import save_statistics

    names = [statistics_name(Path(p).resolve().name) for p in run_paths]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise SystemExit(f"runs with the same name would overwrite each other in {out}: "
                         f"{', '.join(clashes)}; write them to separate --out directories")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path, name in zip(run_paths, names):
        data = load_run(path, segment)
        data.label = data.label or Path(path).resolve().name
        filename = save_statistics(data, out / name, options)
        print(f"written: {filename} ({filename.stat().st_size / 1e6:.2f} MB)")
        written.append(filename)
    return written


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    from .validation.comparison import compare_paths
    from .validation.report import write_html
    from .validation.runner import RunError, run_all
    from .validation.saved import StatisticsMismatch
    from .validation.statistics import StatisticsOptions

    options = statistics_options(args)
    if args.mode == "stats":
        return write_statistics(args.runs, Path(args.out or "statistics"),
                                options or StatisticsOptions(), args.segment)
    if args.mode == "files":
        out = Path(args.out or "comparison")
        paths, labels = (args.a, args.b), args.labels
    else:
        if args.seeds < 1:
            raise SystemExit("--seeds must be at least 1")
        if not Path(args.script).is_file():
            raise SystemExit(f"error: no script {args.script}")
        out = Path(args.out or f"compare_{Path(args.script).stem}")
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        try:
            run_all(args.script, args.simulators, seeds, out, args.script_args,
                    timeout=args.timeout, progress=not args.no_progress)
        except RunError as error:
            raise SystemExit(str(error)) from None
        paths = tuple(out / sim for sim in args.simulators)
        labels = tuple(args.simulators)
    try:
        comparison = compare_paths(*paths, labels=labels, options=options,
                                   segment=args.segment, spread_of=args.spread_of)
    except (StatisticsMismatch, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
    out.mkdir(parents=True, exist_ok=True)
    print(comparison.table())
    json_file = comparison.write_json(out / "comparison.json")
    html_file = write_html(comparison, out / "report.html")
    print(f"written: {json_file}, {html_file}")
    return comparison


if __name__ == "__main__":
    main()
