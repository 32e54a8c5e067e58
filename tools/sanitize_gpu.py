"""Run GPU workloads of pyNN.neurongpu under compute-sanitizer (issue #20).

Workloads: the microcircuit at a small scale, the balanced AdEx network, STDP,
Tsodyks-Markram, and recording with every electrode. Each runs in its own process
under ``compute-sanitizer --tool memcheck|racecheck|initcheck``; the reports are parsed
and every error is attributed to a kernel: ours (cuda/ and the engine's generated
kernels) or CuPy's own / the CUDA runtime's, listed separately. Prints a table of
tool x workload x errors and exits non-zero if any error is in our kernels.

    python tools/sanitize_gpu.py                       # all tools, all workloads
    python tools/sanitize_gpu.py --tools memcheck --workloads adex stdp --time 20
    python tools/sanitize_gpu.py --worker adex --backend cpu   # one workload, no sanitizer

The workload builders also run on the CPU backend (tests/examples/test_sanitize_script.py).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ("memcheck", "racecheck", "initcheck")


# -- workloads ---------------------------------------------------------------------------
def microcircuit(sim, size: float):
    sys.path.insert(0, str(ROOT / "examples" / "microcircuit"))
    from microcircuit import build_network
    return build_network(sim, scale=0.01 * size, k_scale=0.01 * size, background="poisson",
                         seed=1, record_spikes=True)


def adex(sim, size: float):
    sys.path.insert(0, str(ROOT / "examples" / "balanced"))
    from balanced_network import build_network
    return build_network(sim, max(50, int(1000 * size)), "adex", seed=1, record=True)


def stdp(sim, size: float):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from stdp import build
    return build(sim, max(50, int(1000 * size)), 20, plastic=True)


def tsodyks_markram(sim, size: float):
    n = max(20, int(500 * size))
    rng = sim.NumpyRNG(3)
    src = sim.Population(n, sim.SpikeSourcePoisson(rate=20.0))
    tgt = sim.Population(n, sim.IF_curr_exp())
    syn = sim.TsodyksMarkramSynapse(U=0.5, tau_rec=100.0, tau_facil=10.0, weight=0.5,
                                    delay=1.0)
    sim.Projection(src, tgt, sim.FixedProbabilityConnector(0.1, rng=rng), syn)
    sim.Projection(tgt, tgt, sim.FixedProbabilityConnector(0.05, rng=rng),
                   sim.TsodyksMarkramSynapse(U=0.2, weight=0.2, delay=0.5))
    tgt.record(["spikes", "v"])
    return tgt


def recording_electrodes(sim, size: float):
    n = max(10, int(100 * size))
    cells = sim.Population(n, sim.IF_cond_exp(), label="cells")
    cells.record(["spikes", "v", "gsyn_exc", "gsyn_inh"], sampling_interval=0.2)
    cells[0:2].record("v")
    sources = [sim.DCSource(amplitude=0.5, start=1.0, stop=30.0),
               sim.StepCurrentSource(times=[2.0, 10.0, 20.0], amplitudes=[0.4, -0.2, 0.8]),
               sim.ACSource(amplitude=0.3, offset=0.1, frequency=40.0, start=0.0, stop=40.0),
               sim.NoisyCurrentSource(mean=0.2, stdev=0.3, dt=0.5, start=0.0, stop=40.0)]
    for k, source in enumerate(sources):
        source.inject_into(cells[k::len(sources)])
        source.record()
    drive = sim.Population(n, sim.SpikeSourceArray(spike_times=[1.0, 5.0, 9.0]))
    sim.Projection(drive, cells, sim.OneToOneConnector(),
                   sim.StaticSynapse(weight=0.01, delay=0.5))
    return cells


WORKLOADS = {"microcircuit": microcircuit, "adex": adex, "stdp": stdp,
             "tsodyks_markram": tsodyks_markram, "electrodes": recording_electrodes}


def run_workload(name: str, backend: str = "gpu", size: float = 1.0, time_ms: float = 50.0):
    """Build workload `name` on pyNN.neurongpu (`backend`) and run it `time_ms`."""
    sys.path.insert(0, str(ROOT))
    import pynn_neurongpu_alias
    pynn_neurongpu_alias.install()
    import pyNN.neurongpu as sim
    sim.setup(timestep=0.1, min_delay=0.1, backend=backend, rng_seed=1)
    WORKLOADS[name](sim, size)
    sim.run(time_ms)
    sim.end()
    return sim


# -- sanitizer reports -------------------------------------------------------------------
def our_kernel_names() -> set[str]:
    """Names of our kernels: the __global__ functions in cuda/ and in the engine's
    generated sources, and every model's declared kernel."""
    names = set()
    pattern = re.compile(r"__global__\s+(?:__launch_bounds__\([^)]*\)\s*)?void\s+(\w+)")
    for folder, suffixes in ((ROOT / "cuda", (".cu", ".cuh")),
                             (ROOT / "pyNN_neurongpu", (".py",))):
        for path in folder.rglob("*"):
            if path.suffix in suffixes:
                names.update(pattern.findall(path.read_text(errors="replace")))
    try:
        sys.path.insert(0, str(ROOT))
        from pyNN_neurongpu.engine.models import MODELS
        names.update(m.kernel for m in MODELS.values() if getattr(m, "kernel", None))
    except Exception:  # noqa: BLE001 (the regex names suffice)
        pass
    return names


_HEADER = re.compile(r"^========= (?!ERROR SUMMARY|RACECHECK SUMMARY|COMPUTE-SANITIZER|"
                     r"\s|Program hit|Saved host backtrace|Host Frame|Target application)(.+)$")
_WHERE = re.compile(r"(?:\bat\b|\bin\b|kernel)\s+(?:0x[0-9a-f]+\s+in\s+)?([A-Za-z_]\w*)")


def parse_report(text: str, ours: set[str]) -> dict:
    """Errors of a compute-sanitizer log: {'ours': [...], 'other': [...], 'summary': n}."""
    lines = text.splitlines()
    found = {"ours": [], "other": [], "summary": None}
    for i, line in enumerate(lines):
        m = re.search(r"ERROR SUMMARY: (\d+) error", line)
        if m:
            found["summary"] = int(m.group(1))
        head = _HEADER.match(line)
        if not head:
            continue
        kernel = None
        for follow in lines[i:i + 6]:
            for name in _WHERE.findall(follow):
                if name in ours or kernel is None and name not in ("the", "device"):
                    kernel = name
                if name in ours:
                    break
        entry = f"{head.group(1).strip()} [{kernel or '?'}]"
        (found["ours"] if kernel in ours else found["other"]).append(entry)
    return found


def sanitize(tool: str, workload: str, size: float, time_ms: float, sanitizer: str,
             timeout: float) -> dict:
    cmd = [sanitizer, "--tool", tool, "--print-limit", "100", "--error-exitcode", "0",
           sys.executable, __file__, "--worker", workload, "--backend", "gpu",
           "--size", str(size), "--time", str(time_ms)]
    if tool == "racecheck":
        cmd[3:3] = ["--racecheck-report", "all"]
    env = dict(os.environ, PYNN_NEURONGPU_BACKEND="gpu")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        text, rc = out.stdout + out.stderr, out.returncode
    except subprocess.TimeoutExpired as err:
        text, rc = (err.stdout or b"").decode(errors="replace") if isinstance(
            err.stdout, bytes) else (err.stdout or ""), "timeout"
    result = parse_report(text, our_kernel_names())
    result.update(tool=tool, workload=workload, rc=rc, log=text)
    return result


def table(results) -> str:
    rows = [f"{'tool':<10} {'workload':<16} {'ours':>5} {'cupy/other':>10} "
            f"{'summary':>8} {'exit':>6}"]
    for r in results:
        rows.append(f"{r['tool']:<10} {r['workload']:<16} {len(r['ours']):>5} "
                    f"{len(r['other']):>10} {str(r['summary']):>8} {str(r['rc']):>6}")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tools", nargs="+", default=list(TOOLS), choices=TOOLS)
    parser.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=WORKLOADS)
    parser.add_argument("--size", type=float, default=1.0, help="scale of every workload")
    parser.add_argument("--time", type=float, default=50.0, help="ms simulated")
    parser.add_argument("--timeout", type=float, default=3600.0)
    parser.add_argument("--sanitizer", default=shutil.which("compute-sanitizer")
                        or "/usr/local/cuda/bin/compute-sanitizer")
    parser.add_argument("--logs", default=None, help="folder for the full logs")
    parser.add_argument("--worker", choices=WORKLOADS, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="gpu", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_workload(args.worker, args.backend, args.size, args.time)
        return 0
    results = []
    for tool in args.tools:
        for workload in args.workloads:
            r = sanitize(tool, workload, args.size, args.time, args.sanitizer, args.timeout)
            results.append(r)
            print(f"{tool} {workload}: {len(r['ours'])} in our kernels, "
                  f"{len(r['other'])} elsewhere", flush=True)
            if args.logs:
                Path(args.logs).mkdir(parents=True, exist_ok=True)
                Path(args.logs, f"{tool}_{workload}.log").write_text(r["log"])
    print()
    print(table(results))
    for r in results:
        for entry in r["ours"]:
            print(f"OURS  {r['tool']} {r['workload']}: {entry}")
    for r in results:
        for entry in sorted(set(r["other"])):
            print(f"OTHER {r['tool']} {r['workload']}: {entry}")
    return 1 if any(r["ours"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
