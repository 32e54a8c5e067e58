"""PyNN 0.13's own examples (examples/<name> of its source distribution, fetched once into
.pynn_src/ or taken from PYNN_SOURCE_DIR) run unmodified as ``python <name> neurongpu``
on the CPU engine, in a fresh interpreter that finds the backend through the repository's
``pynn_neurongpu.pth``."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]

# examples expected to run, and a line each prints that shows it got to its end
EXPECTED_TO_RUN = {
    "gif_neuron.py": "gif_neuron_neurongpu_np1",   # the figure's file name
}


def pynn_example(name):
    from tests.scenarios.pynn_scenarios import SourceUnavailable, example_file
    try:
        return example_file(name)
    except SourceUnavailable as err:
        pytest.skip(str(err))


@pytest.mark.parametrize("name", sorted(EXPECTED_TO_RUN))
def test_pynn_example_runs_unmodified(tmp_path, name):
    script = pynn_example(name)
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "sitecustomize.py").write_text(
        f"import site\nsite.addsitedir({str(REPO_ROOT)!r})\n")
    pythonpath = os.pathsep.join(filter(None, [str(site_dir), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=pythonpath, MPLBACKEND="Agg",
               PYNN_NEURONGPU_BACKEND="cpu")
    proc = subprocess.run([sys.executable, str(script), "neurongpu", "--plot-figure"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert EXPECTED_TO_RUN[name] in proc.stdout, proc.stdout[-2000:]
    assert list(tmp_path.glob("Results/*/*.png"))
