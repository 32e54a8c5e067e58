"""CPU engines against pyNN.nest on PyNN's own examples, in one invocation.

Runs each example script unmodified (PyNN's parameter_changes, simple_STDP, VAbenchmarks
COBA and CUBA, brunel, and this repository's examples/microcircuit at scale 0.05 for 1 s)
in a fresh process with pyNN.nest, with
pyNN.neurongpu's reference CPU step (``PYNN_NEURONGPU_BACKEND=cpu``, NumPy) and with its
compiled CPU step (``cpu-compiled``), and measures, around the script's own calls, the
build (from ``setup()`` to the first ``run``) and the simulation phase (the time spent
inside ``run``/``run_until``/``run_for``; for pyNN.neurongpu it includes the first run's
finalisation of the synapse tables). The compiled step runs twice: with an empty library
cache ("cold", including the C++ compilation) and again with it filled ("warm").

PyNN's examples are not part of PyNN's package: pass a copy of PyNN's ``examples`` folder
(``--examples``, default ``.pynn_src/examples``; e.g. ``git archive`` of PyNN's repository).
Prints a table; with ``--label``, adds the results as a run of that label to
benchmarks/results/cpu.json (one file of labelled runs, newest last; ``--output`` names
another file)::

    python benchmarks/cpu.py --label 2core [--examples DIR] [--only brunel ...] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import ROOT, device_name, write_results  # noqa: E402

EXAMPLES = {  # name: (script, arguments after the simulator)
    "parameter_changes": ("parameter_changes.py", []),
    "simple_STDP": ("simple_STDP.py", []),
    "VAbenchmarks COBA": ("VAbenchmarks.py", ["COBA"]),
    "VAbenchmarks CUBA": ("VAbenchmarks.py", ["CUBA"]),
    "brunel": ("brunel.py", []),
    # the repository's PD14 microcircuit script (PyNN's conventions: simulator first)
    "microcircuit 0.05": (str(ROOT / "examples" / "microcircuit" / "microcircuit.py"),
                          ["--scale", "0.05", "--time", "1000"]),
}
ENGINES = ("nest", "reference", "compiled cold", "compiled warm")

# Runs in the child: wraps setup and the run functions of pyNN.<simulator>, then runs the
# script as __main__ and prints the phases as one JSON line.
WORKER = r"""
import json, os, runpy, sys, time
sys.path.insert(0, {root!r})
import pynn_neurongpu_alias
pynn_neurongpu_alias.install()
import importlib
sim = importlib.import_module("pyNN." + {simulator!r})
clock = {{"setup": None, "first_run": None, "run": 0.0, "depth": 0}}
def wrap(name):
    inner = getattr(sim, name)
    def timed(*a, **k):
        if name == "setup" and clock["setup"] is None:
            clock["setup"] = time.perf_counter()
        if name == "setup":
            return inner(*a, **k)
        if clock["first_run"] is None:
            clock["first_run"] = time.perf_counter()
        clock["depth"] += 1
        t = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            clock["depth"] -= 1
            if clock["depth"] == 0:
                clock["run"] += time.perf_counter() - t
    setattr(sim, name, timed)
for name in ("setup", "run", "run_until", "run_for"):
    if hasattr(sim, name):
        wrap(name)
sys.argv = [{script!r}, {simulator!r}, *{args!r}]
sys.path.insert(0, os.path.dirname({script!r}))  # as `python script` would
start = time.perf_counter()
runpy.run_path({script!r}, run_name="__main__")
end = time.perf_counter()
build = (clock["first_run"] or end) - (clock["setup"] or start)
print("RESULT " + json.dumps({{"build_s": build, "sim_s": clock["run"], "total_s": end - start}}))
"""


def run_one(example_dir: Path, script: str, args: list[str], engine: str, cache: Path,
            timeout: float) -> dict:
    simulator = "nest" if engine == "nest" else "neurongpu"
    env = {**os.environ, "PYNN_NEURONGPU_PROGRESS": "0", "OMP_NUM_THREADS": "1",
           "MPLBACKEND": "Agg"}
    if engine == "reference":
        env["PYNN_NEURONGPU_BACKEND"] = "cpu"
    elif engine.startswith("compiled"):
        env["PYNN_NEURONGPU_BACKEND"] = "cpu-compiled"
        env["PYNN_NEURONGPU_CPU_CACHE"] = str(cache)
    code = WORKER.format(root=str(ROOT), simulator=simulator, script=str(example_dir / script),
                         args=args)
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "Results").mkdir()
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, text=True,
                              capture_output=True, timeout=timeout)
        wall = time.perf_counter() - t
    out = {"engine": engine, "wall_s": wall, "ok": proc.returncode == 0}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out.update(json.loads(line[7:]))
    fallback = [line for line in proc.stderr.splitlines() if "reference CPU step" in line]
    if fallback:
        out["fallback"] = fallback[0].split(": ", 2)[-1]
    if not out["ok"]:
        out["error"] = proc.stderr[-2000:]
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", default=str(ROOT / ".pynn_src" / "examples"))
    parser.add_argument("--only", nargs="*", help="names of the examples to run")
    parser.add_argument("--engines", nargs="*", default=list(ENGINES))
    parser.add_argument("--repeat", type=int, default=1, help="runs per engine (best kept)")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--output", default=None,
                        help="results file (default benchmarks/results/cpu.json)")
    parser.add_argument("--label", help="add the results as this run to the results file "
                        "of labelled runs (e.g. the machine: 2core)")
    opts = parser.parse_args(argv)
    example_dir = Path(opts.examples).resolve()  # the scripts run in a temporary folder
    if not (example_dir / "parameter_changes.py").exists():
        sys.exit(f"no PyNN examples in {example_dir} (copy PyNN's examples folder there)")
    results = []
    for name, (script, args) in EXAMPLES.items():
        if opts.only and name not in opts.only and Path(script).stem not in opts.only:
            continue
        with tempfile.TemporaryDirectory() as cache:
            for engine in opts.engines:
                best = None
                for _ in range(opts.repeat if engine != "compiled cold" else 1):
                    r = run_one(example_dir, script, args, engine, Path(cache), opts.timeout)
                    if best is None or (r.get("sim_s", 1e30) < best.get("sim_s", 1e30)):
                        best = r
                best["example"] = name
                results.append(best)
                print(f"{name:20s} {engine:14s} build {best.get('build_s', float('nan')):7.2f} s"
                      f"  sim {best.get('sim_s', float('nan')):7.2f} s"
                      + ("" if best["ok"] else "  FAILED")
                      + (f"  (falls back: {best['fallback']})" if "fallback" in best else ""),
                      flush=True)
    print()
    print("| example | " + " | ".join(f"{e} build / sim (s)" for e in opts.engines) + " |")
    print("|---|" + "---|" * len(opts.engines))
    for name in dict.fromkeys(r["example"] for r in results):
        cells = []
        for engine in opts.engines:
            r = next((x for x in results if x["example"] == name and x["engine"] == engine), None)
            cells.append("—" if r is None or not r["ok"] else
                         f"{r['build_s']:.2f} / {r['sim_s']:.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")
    info = {"device": device_name("cpu"), "python": sys.version.split()[0],
            "date": time.strftime("%Y-%m-%d"), "results": results}
    out = Path(opts.output) if opts.output else HERE / "results" / "cpu.json"
    if opts.label is None and opts.output is None:
        print("\nnot written: give --label to add this run to benchmarks/results/cpu.json")
        return
    write_results(out, info, opts.label)
    print(f"\nwritten: {out}" + (f" (run {opts.label!r})" if opts.label else ""))


if __name__ == "__main__":
    main()
