"""The documentation site builds from docs/ and the docstrings without a single warning
(sphinx-build -W), with the API reference, the model tables and the figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# checked in a child: importing sphinx here would leave it in sys.modules, and scipy's
# docstring helpers then import sphinx.ext, which fails where sphinx is only partly there
_HAS_DOCS = subprocess.run([sys.executable, "-c", "import sphinx.cmd.build, myst_parser"],
                           capture_output=True).returncode == 0
pytestmark = pytest.mark.skipif(not _HAS_DOCS, reason="needs the docs extra")

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    pages = {p.stem for p in out.glob("*.html")}
    assert {"index", "quickstart", "supported", "performance", "validation", "api"} <= pages
    api = (out / "api.html").read_text()
    for name in ("pyNN_neurongpu.setup", "pyNN_neurongpu.Population",
                 "pyNN_neurongpu.IF_curr_exp", "pyNN_neurongpu.validation.compare_paths",
                 "pyNN_neurongpu.extras.MissingDependencyError"):
        assert f'id="{name}"' in api, name
    assert "<table" in (out / "supported.html").read_text()
    figures = {p.name for p in (out / "_images").glob("*.png")}
    assert {"performance.png", "validation_microcircuit_ks.png"} <= figures
