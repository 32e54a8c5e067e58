"""Compile the static CUDA modules ahead with nvcc: cubins for sm_80 and sm_90, float and
double, every register variant the GPU step uses, named by the key the engine looks them
up by (engine/gpu/compiler.py). setup.py runs this at package-build time where nvcc is
present; the engine compiles anything missing with NVRTC.

    python tools/build_cubins.py [--out DIR] [--arch 80 90] [--jobs N]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def _compiler():
    """engine/gpu/compiler.py, loaded without the package (a build needs no dependency)."""
    path = Path(__file__).resolve().parents[1] / "pyNN_neurongpu" / "engine" / "gpu" / \
        "compiler.py"
    spec = importlib.util.spec_from_file_location("_neurongpu_compiler", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


compiler = _compiler()


def build(out: Path, archs=compiler.AHEAD_ARCHS, jobs: int = 0, nvcc: str | None = None) -> list:
    """Write the cubins into `out`; returns (file, seconds) per cubin."""
    nvcc = nvcc or shutil.which("nvcc")
    if nvcc is None:
        raise FileNotFoundError("nvcc is not on PATH")
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="neurongpu_cubins_"))
    tasks = [(source, registers, arch) for arch in archs
             for real in ("float", "double") for source, registers in compiler.static_modules(real)]

    def one(task):
        source, registers, arch = task
        options = compiler.compile_options(registers)
        key = compiler.kernel_key(source, options, arch)
        src = work / f"{key}.cu"
        src.write_text(source)
        target = out / f"{key}.cubin"
        t0 = time.perf_counter()
        subprocess.run([nvcc, "-cubin", f"-arch=sm_{arch}", *options, f"-I{compiler.cuda_dir()}",
                        "-o", str(target), str(src)], check=True, capture_output=True)
        return target, time.perf_counter() - t0

    try:
        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            return list(pool.map(one, tasks))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="default: cuda/cubin/")
    parser.add_argument("--arch", nargs="*", default=list(compiler.AHEAD_ARCHS))
    parser.add_argument("--jobs", type=int, default=0)
    args = parser.parse_args()
    t0 = time.perf_counter()
    done = build(args.out or compiler.ahead_dir(), args.arch, args.jobs)
    print(f"{len(done)} cubins in {time.perf_counter() - t0:.1f} s "
          f"into {args.out or compiler.ahead_dir()}")


if __name__ == "__main__":
    main()
