"""The kernel cache (engine/gpu/compiler.py): keys, cache hits without recompiling, cubins
built ahead, and the GPU step's modules loaded from them (tests/fake_cupy, no GPU)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyNN_neurongpu.engine.gpu import compiler

TESTS = Path(__file__).resolve().parents[1]
SOURCE = compiler.static_source("numerics.cu", "float")


def test_key_changes_with_source_options_and_arch():
    options = compiler.compile_options(0)
    key = compiler.kernel_key(SOURCE, options, "90")
    assert key == compiler.kernel_key(SOURCE, options, "90")
    assert key != compiler.kernel_key(SOURCE + "\n// edited", options, "90")
    assert key != compiler.kernel_key(compiler.static_source("numerics.cu", "double"),
                                      options, "90")
    assert key != compiler.kernel_key(SOURCE, compiler.compile_options(32), "90")
    assert key != compiler.kernel_key(SOURCE, options, "80")


@pytest.fixture
def counting_nvrtc(tmp_path, monkeypatch):
    """An NVRTC stand-in that counts compilations; an empty ahead folder; a fresh cache."""
    calls = []

    def fake_cubin(source, options, arch):
        calls.append((source, tuple(options), arch))
        return b"cubin of " + source.encode()

    monkeypatch.setattr(compiler, "nvrtc_cubin", fake_cubin)
    monkeypatch.setattr(compiler, "_nvrtc_version", lambda: "nvrtc-test")
    monkeypatch.setattr(compiler, "ahead_dir", lambda: tmp_path / "ahead")
    monkeypatch.setenv(compiler.CACHE_ENV, str(tmp_path / "cache"))
    return calls


def test_cache_hit_does_not_recompile(counting_nvrtc):
    first = compiler.cubin_file(SOURCE, 0, "90")
    assert len(counting_nvrtc) == 1
    assert first.read_bytes() == b"cubin of " + SOURCE.encode()
    assert compiler.cubin_file(SOURCE, 0, "90") == first      # a hit: no compilation
    assert len(counting_nvrtc) == 1
    edited = compiler.cubin_file(SOURCE + "\n// edited", 0, "90")
    assert edited != first and len(counting_nvrtc) == 2          # a new key compiles
    compiler.cubin_file(SOURCE, 64, "90")
    assert counting_nvrtc[-1][1] == ("-std=c++17", "--fmad=false", "--maxrregcount=64")


def test_ahead_cubin_is_used_without_compiling(counting_nvrtc, tmp_path):
    key = compiler.kernel_key(SOURCE, compiler.compile_options(0), "90")
    (tmp_path / "ahead").mkdir()
    (tmp_path / "ahead" / f"{key}.cubin").write_bytes(b"built ahead")
    assert compiler.cubin_file(SOURCE, 0, "90").read_bytes() == b"built ahead"
    assert compiler.cubin_file(SOURCE, 0, "80") is not None     # no sm_80 one: compiled
    assert [arch for *_, arch in counting_nvrtc] == ["80"]


def test_cache_off_gives_no_file(counting_nvrtc, monkeypatch):
    monkeypatch.setenv(compiler.CACHE_ENV, "off")
    assert compiler.cubin_file(SOURCE, 0, "90") is None and not counting_nvrtc


def _fake_gpu_run(cache, ahead):
    """A small LIF network's GPU step against tests/fake_cupy: its compile/load trace."""
    code = ("import cupy, json; import numpy as np\n"
            "from pyNN_neurongpu.engine import Backend, Network\n"
            "from pyNN_neurongpu.engine.gpu import compiler\n"
            f"compiler.ahead_dir = lambda: __import__('pathlib').Path({str(ahead)!r})\n"
            "net = Network(Backend('gpu', 'float32', seed=1), dt=0.1)\n"
            "src = net.add_neurons('poisson_source', 5, {'rate': 100.0})\n"
            "nrn = net.add_neurons('iaf_psc_exp', 10)\n"
            "net.connect(np.repeat(src.gids, 10), np.tile(nrn.gids, 5), 0.5, 1, 'excitatory')\n"
            "net.run(20)\n"
            "print(json.dumps([e for e in cupy.TRACE if e[0] in ('compile', 'load')]))\n")
    env = dict(os.environ, PYNN_NEURONGPU_KERNEL_CACHE=str(cache))
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS / "fake_cupy"), str(TESTS.parent),
                                         env.get("PYTHONPATH", "")])
    env.pop("PYNN_NEURONGPU_BACKEND", None)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    import json
    return json.loads(result.stdout.splitlines()[-1])


def test_second_process_loads_every_module_from_the_cache(tmp_path):
    first = _fake_gpu_run(tmp_path / "cache", tmp_path / "no_ahead")
    compiled = [e for e in first if e[0] == "compile"]
    # construction, the fused update, delivery and the state check: compiled once each
    assert len(compiled) == 4 and len({e[1] for e in compiled}) == 4
    assert sum(e[0] == "load" for e in first) == 4
    second = _fake_gpu_run(tmp_path / "cache", tmp_path / "no_ahead")
    assert [e[0] for e in second] == ["load"] * 4                # nothing recompiled
    assert sorted(e[1] for e in second) == sorted(e[1] for e in first if e[0] == "load")


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc is not installed")
def test_cubins_built_ahead_carry_the_engines_keys(tmp_path):
    sys.path.insert(0, str(TESTS.parent / "tools"))
    try:
        import build_cubins
    finally:
        sys.path.remove(str(TESTS.parent / "tools"))
    built = build_cubins.build(tmp_path, archs=("90",))
    names = {path.name for path, _seconds in built}
    expected = {f"{compiler.kernel_key(s, compiler.compile_options(r), '90')}.cubin"
                for real in ("float", "double") for s, r in compiler.static_modules(real)}
    assert names == expected and len(names) == 12
    assert all(path.read_bytes()[:4] == b"\x7fELF" for path, _ in built)
    # and the GPU step then compiles only the generated update kernel
    trace = _fake_gpu_run(tmp_path / "cache", tmp_path)
    assert [e[0] for e in trace].count("compile") == 1
    assert sum(str(tmp_path) in e[1] and "cache" not in e[1] for e in trace) == 3
