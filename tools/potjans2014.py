"""Run PyNN's own Potjans2014 example (examples/Potjans2014 in PyNN's git repository) on
pyNN.neurongpu, changing only what its README says to change.

PyNN's example is not part of PyNN's package or source distribution, so this tool takes
a copy of that folder (``--source``, default ``.pynn_src/Potjans2014``), copies it into
``--workdir`` and there makes these edits, printed as it makes them:

1. the simulator entry of its parameter files (README step 4): a ``neurongpu`` entry in
   ``sim_params.simulator_params`` and ``network_params.params_dict`` (copies of the
   ``nest`` ones) with the scaling and duration asked for, and ``simulator = 'neurongpu'``;
2. its output writer: the example imports ``neo.io.PyNNTextIO``, which current neo no
   longer has (so it fails on every backend as shipped); the import is pointed at
   :mod:`potjans2014_textio` beside this file, which writes the same two-column text files
   its plotting code reads;
3. only with ``--k-scaling 1``: ``network.py`` never sets ``self.K_ext`` when in-degrees
   are not scaled, so the shipped code fails with Poisson input at K_scaling = 1 on every
   backend; the tool adds that one assignment.

Then it runs ``microcircuit.py`` in the copy and prints its output. Example::

    python tools/potjans2014.py --n-scaling 1 --k-scaling 1 --duration 1000
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def edit(path: Path, old: str, new: str, what: str, count: int = 1) -> None:
    text = path.read_text()
    if text.count(old) < 1:
        raise SystemExit(f"{path.name}: cannot find {old!r}; is this PyNN's Potjans2014 example?")
    path.write_text(text.replace(old, new, count))
    print(f"  {path.name}: {what}")


def prepare(source: Path, workdir: Path, n_scaling: float, k_scaling: float, duration: float,
            record_v: bool) -> Path:
    """Copy the example into `workdir` and make the edits; returns the copy's folder."""
    if workdir.exists():
        shutil.rmtree(workdir)
    shutil.copytree(source, workdir)
    print(f"edits to {workdir}:")
    sim = workdir / "sim_params.py"
    edit(sim, "simulator_params = {",
         "simulator_params = {\n    'neurongpu': {'timestep': 0.1, 'threads': 1, "
         f"'sim_duration': {duration!r}}},",
         f"simulator entry 'neurongpu' (timestep 0.1 ms, sim_duration {duration} ms)")
    net = workdir / "network_params.py"
    text = net.read_text()
    nest_entry = re.search(r"'nest'\s*:\s*\n?\s*\{(.*?)\n\s*\}", text, re.S)
    if nest_entry is None:
        raise SystemExit("network_params.py: cannot find params_dict['nest']")
    body = nest_entry.group(1)
    body = re.sub(r"'N_scaling'\s*:\s*[^,]+,", f"'N_scaling': {n_scaling!r},", body)
    body = re.sub(r"'K_scaling'\s*:\s*[^,]+,", f"'K_scaling': {k_scaling!r},", body)
    body = re.sub(r"'record_v'\s*:\s*[^,]+,", f"'record_v': {record_v!r},", body)
    edit(net, "params_dict = {", "params_dict = {\n  'neurongpu': {" + body + "\n  },",
         f"params_dict entry 'neurongpu' (N_scaling {n_scaling}, K_scaling {k_scaling}, "
         f"record_v {record_v})")
    edit(net, "simulator = 'nest'", "simulator = 'neurongpu'", "simulator = 'neurongpu'")
    edit(workdir / "microcircuit.py", "from neo.io import PyNNTextIO",
         "from potjans2014_textio import PyNNTextIO",
         "PyNNTextIO (gone from neo) -> tools/potjans2014_textio.py")
    if k_scaling == 1:
        edit(workdir / "network.py", "            self.w_ext = w_ext\n",
             "            self.w_ext = w_ext\n            self.K_ext = K_ext\n",
             "sets self.K_ext when K_scaling == 1 (shipped code leaves it unset)")
    (workdir / "results").mkdir(exist_ok=True)
    return workdir


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=ROOT / ".pynn_src" / "Potjans2014",
                        help="PyNN's examples/Potjans2014 folder")
    parser.add_argument("--workdir", type=Path, default=ROOT / "out" / "Potjans2014")
    parser.add_argument("--n-scaling", type=float, default=1.0)
    parser.add_argument("--k-scaling", type=float, default=1.0)
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--no-record-v", action="store_true")
    args = parser.parse_args(argv)
    if not (args.source / "microcircuit.py").exists():
        raise SystemExit(f"{args.source} does not hold PyNN's Potjans2014 example; copy "
                         "examples/Potjans2014 from PyNN's git repository there")
    workdir = prepare(args.source, args.workdir.resolve(), args.n_scaling, args.k_scaling,
                      args.duration, not args.no_record_v)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE), str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("MPLBACKEND", "Agg")
    # from a checkout without `pip install`, the alias module maps pyNN.neurongpu
    launcher = ("import pynn_neurongpu_alias, runpy; pynn_neurongpu_alias.install(); "
                "runpy.run_path('microcircuit.py', run_name='__main__')")
    rc = subprocess.call([sys.executable, "-c", launcher], cwd=workdir, env=env)
    if rc == 0:
        print_rates(workdir, args.n_scaling, args.duration)
    return rc


def print_rates(workdir: Path, n_scaling: float, duration: float) -> None:
    """Mean rate per population from the spike files, next to the published full-scale
    rates the example lists (network_params.full_mean_rates)."""
    sys.path.insert(0, str(workdir))
    try:
        import network_params as params
    finally:
        sys.path.pop(0)
    print(f"{'population':>10} {'recorded':>9} {'spikes':>9} {'rate (Hz)':>10} "
          f"{'published':>10}")
    for layer in params.layers:
        for pop in params.pops:
            n_rec = round(params.N_full[layer][pop] * n_scaling * params.frac_record_spikes)
            files = sorted((workdir / "results").glob(f"spikes_{layer}_{pop}_*.txt"))
            spikes = sum(int((np.loadtxt(f, ndmin=2)[:, 0] > 0).sum()) for f in files)
            rate = 1000.0 * spikes / duration / max(n_rec, 1)
            print(f"{layer + pop:>10} {n_rec:>9} {spikes:>9} {rate:>10.2f} "
                  f"{params.full_mean_rates[layer][pop]:>10.2f}")


if __name__ == "__main__":
    sys.exit(main())
