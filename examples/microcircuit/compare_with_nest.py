"""Compare the microcircuit on pyNN.neurongpu with the same model on NEST (PD14 recipe:
distributions of rates, CV ISI and correlations per population, by KS distance, next to
the seed-to-seed spread of each simulator).

Usage::

    python compare_with_nest.py --scale 0.05 --time 2500 --warmup 500 --seeds 2
    python compare_with_nest.py --scale 1 --time 10500 --warmup 500 --seeds 3 \\
        --threads 16 --native-nest --out compare_full            # on a GPU host

Each simulator/seed runs microcircuit.py in its own process (through
``python -m pyNN_neurongpu.compare run``); the table, ``comparison.json`` and
``report.html`` end up in ``--out``. Options not listed here go to microcircuit.py.
With ``--native-nest`` the NEST side is pd14_nest_native.py, the same model in plain NEST
(pyNN.nest builds the connectivity synapse by synapse in Python: too slow at large scales).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pyNN_neurongpu.compare import main as compare_main

HERE = Path(__file__).resolve().parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     allow_abbrev=False)
    parser.add_argument("--scale", type=float, default=0.05, help="network scale (default 0.05)")
    parser.add_argument("--time", type=float, default=2500.0, help="simulated ms (default 2500)")
    parser.add_argument("--warmup", type=float, default=500.0,
                        help="ms left out of the statistics (default 500)")
    parser.add_argument("--seeds", type=int, default=2, help="runs per simulator (default 2)")
    parser.add_argument("--backend", default=None, help="pyNN.neurongpu device: auto, gpu, cpu")
    parser.add_argument("--threads", type=int, default=1, help="NEST threads (default 1)")
    parser.add_argument("--native-nest", action="store_true",
                        help="NEST through pd14_nest_native.py instead of pyNN.nest")
    parser.add_argument("--out", default=None, help="output directory "
                        "(default: compare_scale_<scale>)")
    args, extra = parser.parse_known_args(argv)
    script_args = ["--scale", str(args.scale), "--time", str(args.time),
                   "--warmup", str(args.warmup), "--threads", str(args.threads)]
    if args.backend:
        script_args += ["--backend", args.backend]
    out = args.out or f"compare_scale_{args.scale:g}"
    script = HERE / ("pd14_nest_native.py" if args.native_nest else "microcircuit.py")
    return compare_main(["run", str(script), "--simulators", "neurongpu",
                         "nest", "--seeds", str(args.seeds), "--out", out,
                         "--warmup", str(args.warmup), "--", *script_args, *extra])


if __name__ == "__main__":
    main()
