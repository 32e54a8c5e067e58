"""Compare two simulators' spiking activity: ``python -m pyNN_neurongpu.compare``.

Two modes::

    python -m pyNN_neurongpu.compare files A/ B/ [options]
    python -m pyNN_neurongpu.compare run SCRIPT [script args] \\
        --simulators neurongpu nest --seeds 2 [--out DIR] [options] [-- script args]

`files` compares Neo files already written (each path: a file, a directory of files with
one run each, or a directory of run sub-directories). `run` runs ``SCRIPT <simulator>
[script args]`` once per simulator and seed in its own process, with the seed in the
environment variable PYNN_SEED and the output directory in PYNN_OUTPUT_DIR (see
docs/validation.md), then compares. Arguments this command does not know go to the
script; put the script's arguments after ``--`` where their names clash with ours
(``--warmup``, ``--out``, ...).

Both print a table and write ``comparison.json`` and ``report.html`` into ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .validation.comparison import compare_paths
from .validation.report import write_html
from .validation.runner import RunError, run_all
from .validation.statistics import StatisticsOptions


def _add_common(parser):
    parser.add_argument("--out", default=None,
                        help="output directory (default: 'comparison' for files, "
                             "'compare_<script>' for run)")
    parser.add_argument("--warmup", type=float, default=0.0,
                        help="ms at the start left out of the statistics (default 0)")
    parser.add_argument("--t-stop", type=float, default=None,
                        help="end of the analysis window, ms (default: end of recording)")
    parser.add_argument("--bin-size", type=float, default=2.0,
                        help="bin for the spike counts of the correlations, ms (default 2)")
    parser.add_argument("--sample", type=int, default=200,
                        help="neurons per population in the correlations (default 200)")
    parser.add_argument("--sample-seed", type=int, default=0,
                        help="seed of the neuron sample (default 0)")
    parser.add_argument("--min-spikes-cv", type=int, default=3,
                        help="spikes a neuron needs for a CV ISI (default 3)")
    parser.add_argument("--segment", type=int, default=-1,
                        help="Neo segment to analyse (default: the last)")


def make_parser():
    parser = argparse.ArgumentParser(
        prog="python -m pyNN_neurongpu.compare", allow_abbrev=False,
        description="Compare firing-rate, CV ISI and correlation distributions of two "
                    "simulators by Kolmogorov-Smirnov distance.")
    sub = parser.add_subparsers(dest="mode", required=True)
    files = sub.add_parser("files", allow_abbrev=False, help="compare two sets of Neo files")
    files.add_argument("a", help="Neo file or directory of the first simulator")
    files.add_argument("b", help="Neo file or directory of the second simulator")
    files.add_argument("--labels", nargs=2, default=None, help="names of the two sides")
    _add_common(files)
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
    _add_common(run)
    return parser


def parse_args(argv):
    """Our options, and the script's arguments (unknown ones, plus all after ``--``)."""
    argv = list(argv)
    passthrough = []
    if "--" in argv:
        cut = argv.index("--")
        argv, passthrough = argv[:cut], argv[cut + 1:]
    parser = make_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.mode == "files" and (unknown or passthrough):
        parser.error(f"unrecognised arguments: {' '.join(unknown + passthrough)}")
    args.script_args = unknown + passthrough
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    options = StatisticsOptions(warmup=args.warmup, t_stop=args.t_stop,
                                bin_size=args.bin_size, cc_sample=args.sample,
                                min_spikes_cv=args.min_spikes_cv, seed=args.sample_seed)
    if args.mode == "files":
        out = Path(args.out or "comparison")
        paths, labels = (args.a, args.b), args.labels
    else:
        if args.seeds < 1:
            raise SystemExit("--seeds must be at least 1")
        out = Path(args.out or f"compare_{Path(args.script).stem}")
        seeds = range(args.first_seed, args.first_seed + args.seeds)
        try:
            run_all(args.script, args.simulators, seeds, out, args.script_args,
                    timeout=args.timeout, progress=not args.no_progress)
        except RunError as error:
            raise SystemExit(str(error)) from None
        paths = tuple(out / sim for sim in args.simulators)
        labels = tuple(args.simulators)
    comparison = compare_paths(*paths, labels=labels, options=options, segment=args.segment)
    out.mkdir(parents=True, exist_ok=True)
    print(comparison.table())
    json_file = comparison.write_json(out / "comparison.json")
    html_file = write_html(comparison, out / "report.html")
    print(f"written: {json_file}, {html_file}")
    return comparison


if __name__ == "__main__":
    main()
