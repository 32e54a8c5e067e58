"""Run PyNN's own system scenarios against pyNN.neurongpu.

PyNN ships its backend-independent system tests ("scenarios") in its source
distribution, under ``test/system/scenarios``. Each scenario is a function of
``sim`` decorated with ``run_with_simulators("nest", "neuron", ...)``. This module
finds those files (never copying them into this repository), imports them as a
package with that decorator re-targeted, so that every scenario runs once with
``sim = pyNN.neurongpu``, and marks the scenarios that need features this backend
does not have yet as strict xfails.

Where the scenarios come from, in order:

1. the environment variable ``PYNN_SOURCE_DIR``: an extracted sdist or a checkout
   of PyNN (or its ``test/system/scenarios`` folder itself);
2. the cache ``.pynn_src/`` at the repository root (git-ignored), filled once by
   ``pip download --no-deps --no-binary :all: pyNN==<version>`` and extraction of
   the scenario files.

If neither works, the scenarios are skipped with the reason.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
import warnings
from pathlib import Path

import pytest

PYNN_VERSION = "0.13.0"
ENV_SOURCE_DIR = "PYNN_SOURCE_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE_DIR = REPO_ROOT / ".pynn_src"
SCENARIO_SUBDIR = Path("test", "system", "scenarios")
PACKAGE = "pynn_system_scenarios"
SIM_MODULE = "pyNN.neurongpu"

_ISSUE4 = "issue #4: {} not implemented in pyNN.neurongpu"

# The one list of scenarios that need features still missing from the backend:
# "<module>.<function>" -> reason. Strict: a scenario that starts passing fails,
# so its entry is removed when the feature lands.
KNOWN_MISSING = {
}


class SourceUnavailable(Exception):
    """PyNN's scenario files could not be found or fetched (the reason is the message)."""


# -- finding the scenario files ------------------------------------------------------------
def _scenarios_in(root: Path) -> Path | None:
    for candidate in (root / SCENARIO_SUBDIR, root):
        if (candidate / "fixtures.py").is_file() and any(candidate.glob("test_*.py")):
            return candidate
    return None


def _cached() -> Path | None:
    if not CACHE_DIR.is_dir():
        return None
    return _scenarios_in(CACHE_DIR / f"pyNN-{PYNN_VERSION}")


def _fetch_sdist(tmp) -> Path:
    """Download PyNN's sdist with pip into folder `tmp`; its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
           "--disable-pip-version-check", "--quiet", "-d", tmp, f"pyNN=={PYNN_VERSION}"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SourceUnavailable(
            f"could not run pip to fetch PyNN {PYNN_VERSION}: {err}") from None
    archives = sorted(Path(tmp).glob("*.tar.gz"))
    if proc.returncode != 0 or not archives:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no sdist"]
        raise SourceUnavailable(f"pip could not download the PyNN {PYNN_VERSION} sdist "
                                f"({detail[0]}); set {ENV_SOURCE_DIR} to an extracted "
                                "sdist or checkout of PyNN")
    return archives[0]


def _download() -> Path:
    """Fetch PyNN's sdist with pip and extract its scenario files into the cache."""
    CACHE_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
        archives = [_fetch_sdist(tmp)]
        staging = Path(tmp, "extracted")
        with tarfile.open(archives[0]) as tar:
            members = [m for m in tar.getmembers()
                       if m.isfile() and Path(m.name).parent.parts[1:] == SCENARIO_SUBDIR.parts]
            if not members:
                raise SourceUnavailable(f"{archives[0].name} holds no {SCENARIO_SUBDIR}")
            kwargs = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            tar.extractall(staging, members=members, **kwargs)
        top = next(staging.iterdir())
        target = CACHE_DIR / f"pyNN-{PYNN_VERSION}"
        try:
            top.rename(target)   # atomic: a parallel run sees all or nothing
        except OSError:
            # the target may hold only what example_file() put there: add the scenarios
            scenarios = target / SCENARIO_SUBDIR
            scenarios.parent.mkdir(parents=True, exist_ok=True)
            try:
                (top / SCENARIO_SUBDIR).rename(scenarios)
            except OSError:
                if _cached() is None:
                    raise
    found = _cached()
    if found is None:
        raise SourceUnavailable(f"extracted PyNN {PYNN_VERSION} sdist has no scenarios")
    return found


def scenarios_dir() -> Path:
    """The folder of PyNN's scenario files (see the module docstring for the order)."""
    env = os.environ.get(ENV_SOURCE_DIR)
    if env:
        found = _scenarios_in(Path(env).expanduser())
        if found is None:
            raise SourceUnavailable(f"{ENV_SOURCE_DIR}={env} holds no {SCENARIO_SUBDIR}")
        return found
    return _cached() or _download()


def example_file(name: str) -> Path:
    """PyNN's ``examples/<name>`` from its source distribution (PYNN_SOURCE_DIR, else the
    cache, filled from the sdist as for the scenarios)."""
    env = os.environ.get(ENV_SOURCE_DIR)
    cached = CACHE_DIR / f"pyNN-{PYNN_VERSION}" / "examples" / name
    for path in ([Path(env).expanduser() / "examples" / name] if env else []) + [cached]:
        if path.is_file():
            return path
    CACHE_DIR.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE_DIR) as tmp:
        with tarfile.open(_fetch_sdist(tmp)) as tar:
            member = next((m for m in tar.getmembers() if m.isfile()
                           and Path(m.name).parts[1:] == ("examples", name)), None)
            if member is None:
                raise SourceUnavailable(f"PyNN {PYNN_VERSION}'s sdist has no examples/{name}")
            data = tar.extractfile(member).read()
        cached.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tmp, name)
        staged.write_bytes(data)
        staged.replace(cached)   # atomic: a parallel run sees all or nothing
    return cached


# -- loading them, re-targeted at pyNN.neurongpu -------------------------------------------
def _retargeted(*sim_names):
    """Replacement for the scenarios' ``run_with_simulators``: ours, whatever is listed."""
    sim = importlib.import_module(SIM_MODULE)
    return pytest.mark.parametrize("sim", [pytest.param(sim, id="neurongpu")])


def _import_package(folder: Path):
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]
    spec = importlib.util.spec_from_file_location(
        PACKAGE, folder / "__init__.py", submodule_search_locations=[str(folder)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    fixtures = importlib.import_module(PACKAGE + ".fixtures")
    fixtures.run_with_simulators = _retargeted
    return package


def _failing_import(module_name, error):
    def test_import():
        raise error
    test_import.__name__ = "test_import"
    return test_import


def collect() -> dict:
    """Scenario test functions by test name ("<module>.<function>"), re-targeted and
    marked; raises SourceUnavailable when PyNN's scenarios cannot be had."""
    folder = scenarios_dir()
    tests = {}
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True      # leave the PyNN source folder untouched
    try:
        _import_package(folder)
        for path in sorted(folder.glob("test_*.py")):
            try:
                module = importlib.import_module(f"{PACKAGE}.{path.stem}")
            except Exception as err:   # a scenario file we cannot even import is a failure
                tests[f"{path.stem}.test_import"] = _failing_import(path.stem, err)
                continue
            for name, obj in vars(module).items():
                if (name.startswith("test") and callable(obj)
                        and getattr(obj, "__module__", None) == module.__name__):
                    tests[f"{path.stem}.{name}"] = obj
    finally:
        sys.dont_write_bytecode = dont_write
    unknown = set(KNOWN_MISSING) - set(tests)
    if unknown:   # e.g. PYNN_SOURCE_DIR points to another PyNN version
        warnings.warn(f"KNOWN_MISSING names scenarios not found in {folder}: "
                      f"{sorted(unknown)}", stacklevel=2)
    for test_name, reason in KNOWN_MISSING.items():
        if test_name not in tests:
            continue
        tests[test_name] = pytest.mark.xfail(reason=reason, strict=True)(tests[test_name])
    for test_name, test in tests.items():
        # the scenarios call PyNN's deprecated procedural functions on purpose
        tests[test_name] = pytest.mark.filterwarnings(
            "ignore:.* is deprecated:DeprecationWarning")(test)
    return tests
