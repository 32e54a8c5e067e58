"""Compile time of the microcircuit's CUDA modules, measured with NVRTC on the host (no
GPU needed): the example's network runs one step against tests/fake_cupy, which records
every module the GPU step compiles; each is then compiled here for sm_90 through NVRTC
(ctypes), one at a time, then all at once in threads, and the modules with a cubin built
ahead (tools/build_cubins.py) are marked.

    python benchmarks/compile_time.py --nvrtc /path/to/libnvrtc.so.13 [--precision float32]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DUMP = """
import json, runpy, sys
sys.argv = ["microcircuit.py", "neurongpu", "--scale", "0.01", "--time", "0.2", "--no-record",
            "--backend", "gpu"]
sys.path.insert(0, {example!r})
import cupy
from pathlib import Path
from pyNN_neurongpu.engine.gpu import compiler
compiler.ahead_dir = lambda: Path("/nonexistent")   # every module from source
runpy.run_path({script!r}, run_name="__main__")
print("SOURCES " + json.dumps([[code, list(options)] for code, options in cupy.SOURCES.values()]))
"""


def recorded_sources(precision: str) -> list:
    """(source, options) of every module the microcircuit's first step compiles."""
    example = ROOT / "examples" / "microcircuit"
    env = dict(os.environ, PYNN_NEURONGPU_PRECISION=precision)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests" / "fake_cupy"), str(ROOT)])
    code = DUMP.format(example=str(example), script=str(example / "microcircuit.py"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, cwd="/tmp").stdout
    line = [x for x in out.splitlines() if x.startswith("SOURCES ")][-1]
    return json.loads(line[len("SOURCES "):])


def nvrtc_compile(lib, source: str, options) -> float:
    program = ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(program), source.encode(), b"m.cu", 0, None,
                                  None) == 0
    opts = [o.encode() for o in options]
    t0 = time.perf_counter()
    status = lib.nvrtcCompileProgram(program, len(opts), (ctypes.c_char_p * len(opts))(*opts))
    seconds = time.perf_counter() - t0
    lib.nvrtcDestroyProgram(ctypes.byref(program))
    if status != 0:
        raise RuntimeError(f"NVRTC error {status}")
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nvrtc", required=True, help="path of libnvrtc.so")
    parser.add_argument("--precision", default="float32", choices=("float32", "float64"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    lib = ctypes.CDLL(args.nvrtc)
    sys.path.insert(0, str(ROOT))
    from pyNN_neurongpu.engine.gpu import compiler
    modules = recorded_sources(args.precision)
    rows = []
    for source, options in modules:
        options = [o for o in options if not o.startswith("-I")]
        registers = int(next((o.split("=")[1] for o in options if "maxrregcount" in o), 0))
        key = compiler.kernel_key(source, compiler.compile_options(registers), "90")
        ahead = (compiler.ahead_dir() / f"{key}.cubin").exists()
        full = [*options, f"-I{compiler.cuda_dir()}", "-arch=sm_90"]
        seconds = min(nvrtc_compile(lib, source, full) for _ in range(args.repeat))
        label = source.splitlines()[1][:60]
        rows.append((label, len(source), " ".join(options[2:]) or "-", seconds, ahead))
        print(f"{label:<60} {len(source):>6} B {rows[-1][2]:<18} {seconds:6.2f} s "
              f"{'ahead' if ahead else 'NVRTC'}")
    t0 = time.perf_counter()
    with ThreadPoolExecutor(len(modules)) as pool:
        list(pool.map(lambda m: nvrtc_compile(lib, m[0], [*m[1], "-arch=sm_90"]), modules))
    parallel = time.perf_counter() - t0
    print(f"sequential {sum(r[3] for r in rows):.2f} s, in {len(modules)} threads "
          f"{parallel:.2f} s, NVRTC left with cubins ahead "
          f"{sum(r[3] for r in rows if not r[4]):.2f} s")


if __name__ == "__main__":
    main()
