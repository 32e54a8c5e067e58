"""The install without extras (``pip install pyNN-neurongpu``): every optional feature
names the extra that brings what it misses. Missing packages are simulated by
``sys.modules[name] = None``, which makes ``import name`` fail as if it were not installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyNN_neurongpu import extras
from pyNN_neurongpu.compare import main, parse_args
from pyNN_neurongpu.engine import backend

ROOT = Path(__file__).resolve().parents[2]
SMALL_NETWORK = Path(__file__).resolve().parents[1] / "data" / "small_network.py"
MICROCIRCUIT = ROOT / "examples" / "microcircuit" / "microcircuit.py"
VALIDATION_HINT = 'pip install "pyNN-neurongpu[validation]"'
# a child sees this checkout, with none of our environment variables
CHILD_ENV = {**{k: v for k, v in os.environ.items() if not k.startswith("PYNN_")},
             "PYTHONPATH": str(ROOT)}


def _python(code, *blocked, cwd=None, timeout=300):
    """Run `code` in a fresh interpreter in which the modules `blocked` do not import."""
    prelude = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in blocked)
    prelude += "import pynn_neurongpu_alias\npynn_neurongpu_alias.install()\n"
    return subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, cwd=cwd or ROOT, timeout=timeout, env=CHILD_ENV)


@pytest.fixture
def block(monkeypatch):
    """block('scipy', ...): make the modules unimportable in this process for the test."""
    def block(*names):
        for name in names:
            monkeypatch.setitem(sys.modules, name, None)
    return block


def test_require_names_the_extra(block):
    block("elephant", "scipy")
    with pytest.raises(extras.MissingDependencyError) as error:
        extras.require("the statistics", "validation", "numpy", "elephant", "scipy")
    assert str(error.value) == ("the statistics needs elephant, scipy, which are not "
                                f"installed: {VALIDATION_HINT}")
    assert isinstance(error.value, ImportError)
    extras.require("numpy arrays", "validation", "numpy")  # present: no error


def test_compare_help_without_the_validation_extra():
    code = ("import runpy; sys.argv = ['compare', 'run', '--help']\n"
            "runpy.run_module('pyNN_neurongpu.compare', run_name='__main__')")
    result = _python(code, "scipy", "elephant", "matplotlib", "nest")
    assert result.returncode == 0, result.stderr
    assert "--simulators" in result.stdout


def test_compare_run_fails_before_simulating_without_the_extra(tmp_path):
    out = tmp_path / "out"
    code = ("import runpy; sys.argv = ['compare', 'run', sys.argv[1], '--out', sys.argv[2]]\n"
            "runpy.run_module('pyNN_neurongpu.compare', run_name='__main__')")
    result = subprocess.run(
        [sys.executable, "-c", "import sys\nsys.modules['scipy'] = None\n"
         "sys.modules['matplotlib'] = None\n" + code, str(SMALL_NETWORK), str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, env=CHILD_ENV)
    assert result.returncode != 0
    # elephant imports scipy, so it is missing too
    assert ("python -m pyNN_neurongpu.compare run needs scipy, elephant, matplotlib, which are "
            "not installed") in result.stderr
    assert VALIDATION_HINT in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()  # nothing simulated, nothing written


def test_compare_run_checks_every_simulator_and_the_script(block, tmp_path):
    with pytest.raises(SystemExit, match="no script .*missing.py"):
        main(["run", str(tmp_path / "missing.py"), "--out", str(tmp_path / "out")])
    block("nest", "matplotlib")
    with pytest.raises(SystemExit) as error:
        main(["run", str(SMALL_NETWORK), "--simulators", "neurongpu", "nest",
              "--out", str(tmp_path / "out")])
    message = str(error.value)
    assert VALIDATION_HINT in message and "needs matplotlib" in message
    assert ("simulator 'nest' needs the module nest, which is not installed: "
            'pip install "pyNN-neurongpu[nest]"') in message
    assert not (tmp_path / "out").exists()


def test_compare_run_names_an_unknown_simulator(tmp_path):
    with pytest.raises(SystemExit, match="PyNN has no simulator 'nosuch'"):
        parse_args(["run", str(SMALL_NETWORK), "--simulators", "neurongpu", "nosuch"])


def test_compare_files_and_stats_check_their_modules(block, tmp_path):
    block("elephant")
    for argv in (["files", "a", "b"], ["stats", "a", "--out", str(tmp_path)]):
        with pytest.raises(SystemExit) as error:
            parse_args(argv)
        assert f"needs elephant, which is not installed: {VALIDATION_HINT}" in str(error.value)


def test_validation_package_names_the_extra():
    result = _python("import pyNN_neurongpu.validation", "elephant")
    assert result.returncode != 0
    assert ("MissingDependencyError: pyNN_neurongpu.validation needs elephant, which is not "
            f"installed: {VALIDATION_HINT}") in result.stderr


def test_validation_figures_name_the_extra(block):
    from pyNN_neurongpu.validation import plots

    block("matplotlib")
    with pytest.raises(extras.MissingDependencyError, match=r"needs matplotlib.*\[validation\]"):
        plots.ks_figure(None)


def test_gpu_backend_without_cupy_names_the_cupy_extras(block):
    block("cupy")
    with pytest.raises(RuntimeError) as error:
        backend.Backend("gpu")
    message = str(error.value)
    assert 'pip install "pyNN-neurongpu[cuda12]"' in message
    assert 'pip install "pyNN-neurongpu[cuda13]"' in message
    assert backend.Backend("auto").device == "cpu"  # auto falls back to the CPU quietly


def test_setup_gpu_without_cupy_names_the_cupy_extras(block):
    import pyNN.neurongpu as sim

    block("cupy")
    try:
        with pytest.raises(RuntimeError, match=r"CuPy is not installed.*\[cuda12\].*\[cuda13\]"):
            sim.setup(timestep=0.1, backend="gpu")
    finally:
        sim.setup(timestep=0.1, backend="cpu")


@pytest.mark.slow
def test_microcircuit_without_matplotlib_writes_its_results(tmp_path):
    out = tmp_path / "out"
    code = (f"import runpy; sys.path.insert(0, {str(MICROCIRCUIT.parent)!r})\n"
            f"sys.argv = ['microcircuit.py', 'neurongpu', '--scale', '0.01', '--k-scale', "
            f"'0.02', '--time', '150', '--warmup', '50', '--backend', 'cpu', "
            f"'--output-dir', {str(out)!r}]\n"
            f"runpy.run_path({str(MICROCIRCUIT)!r}, run_name='__main__')")
    result = _python(code, "matplotlib", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert ('matplotlib is not installed: figure skipped '
            '(pip install "pyNN-neurongpu[examples]")') in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["statistics"]) == {"L23E", "L23I", "L4E", "L4I", "L5E", "L5I",
                                          "L6E", "L6I"}
    assert len(list(out.glob("spikes_*.pkl"))) == 8
    assert not (out / "microcircuit.png").exists()


def test_a_module_installed_but_failing_to_import_is_named_with_its_error(tmp_path, monkeypatch):
    (tmp_path / "brokenmod").mkdir()
    (tmp_path / "brokenmod" / "__init__.py").write_text("import no_such_module_here\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(extras.MissingDependencyError) as err:
        extras.require("a feature", "validation", "brokenmod", "another_absent_module")
    message = str(err.value)
    assert "another_absent_module, which is not installed" in message
    assert "brokenmod, which is installed but fails to import" in message
    assert "no_such_module_here" in message
