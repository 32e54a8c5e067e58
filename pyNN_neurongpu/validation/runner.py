"""Run a PyNN script once per simulator and seed, each in its own process.

The convention a script follows to take part:

- the simulator name is its first argument (``pyNN.utility.get_simulator``);
- it seeds its random numbers (``NumpyRNG`` seeds, ``sim.setup(rng_seed=...)``) from the
  environment variable ``PYNN_SEED`` (an integer) when set;
- it writes its Neo files (pickle or NIX) into the directory named by the environment
  variable ``PYNN_OUTPUT_DIR`` when set.

:func:`seed` and :func:`output_dir` read the two variables with a fallback.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SEED_VARIABLE = "PYNN_SEED"
OUTPUT_VARIABLE = "PYNN_OUTPUT_DIR"


def seed(default=None):
    """The seed the runner asks for (``PYNN_SEED``), else `default`."""
    value = os.environ.get(SEED_VARIABLE)
    return default if value in (None, "") else int(value)


def output_dir(default=None):
    """The directory the runner asks the Neo files to go to (``PYNN_OUTPUT_DIR``), else
    `default`."""
    return os.environ.get(OUTPUT_VARIABLE) or default


class RunError(RuntimeError):
    """A script run failed; the message holds the end of its output."""


def _child_environment(seed_value, directory):
    env = dict(os.environ)
    env[SEED_VARIABLE] = str(seed_value)
    env[OUTPUT_VARIABLE] = str(directory)
    # the child imports pyNN_neurongpu (and its alias module) from where we did
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def run_once(script, simulator, seed_value, directory, script_args=(), timeout=None,
             python=None):
    """Run ``SCRIPT simulator [script_args]`` with the seed and output directory set;
    its output goes to ``directory/run.log``. Raises RunError if it fails or writes no
    Neo file."""
    from .data import neo_files

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    command = [python or sys.executable, "-m", "pyNN_neurongpu.validation.launch",
               str(script), simulator, *map(str, script_args)]
    log = directory / "run.log"
    with open(log, "w") as out:
        try:
            code = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT,
                                  env=_child_environment(seed_value, directory),
                                  timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    tail = log.read_text(errors="replace")[-2000:]
    if code != 0:
        raise RunError(f"{simulator} seed {seed_value} failed ({code}); "
                       f"end of {log}:\n{tail}")
    if not neo_files(directory):
        raise RunError(f"{simulator} seed {seed_value} wrote no Neo file into {directory} "
                       f"(does the script honour {OUTPUT_VARIABLE}?); end of {log}:\n{tail}")
    return directory


def run_all(script, simulators, seeds, out_dir, script_args=(), timeout=None, progress=True):
    """Run every (simulator, seed); return {simulator: [run directory per seed]}.

    Directories are ``out_dir/<simulator>/seed_<seed>``.
    """
    from tqdm import tqdm

    jobs = [(sim, s) for sim in simulators for s in seeds]
    result = {sim: [] for sim in simulators}
    bar = tqdm(jobs, desc="runs", unit="run", disable=not progress)
    for sim, s in bar:
        bar.set_postfix_str(f"{sim} seed {s}")
        directory = Path(out_dir) / sim / f"seed_{s}"
        result[sim].append(run_once(script, sim, s, directory, script_args, timeout))
    bar.close()
    return result
