"""What a script shows on its terminal: the device line at setup() and the progress bars of
long runs and connectivity builds."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time

logger = logging.getLogger("PyNN")

ENV_VERBOSITY = "PYNN_NEURONGPU_VERBOSITY"
ENV_PROGRESS = "PYNN_NEURONGPU_PROGRESS"
VERBOSITIES = ("all", "info", "deprecated", "warning", "error", "fatal")  # pyNN.nest's
QUIET = ("warning", "error", "fatal")
# pyNN.utility.init_logging's layout, without the time stamp and source location
LINE_FORMAT = "%(levelname)-8s [%(name)s] %(message)s"

LONG_RUN_S = 5.0  # runs expected to take longer show a bar
LONG_BUILD_S = 5.0  # a connectivity build's bar appears once it has taken this long
CHUNK_S = 1.0  # wall time between two updates of a run's bar
MIN_CHUNK_STEPS = 100


def resolve_verbosity(verbosity: str | None) -> str:
    """`verbosity` or PYNN_NEURONGPU_VERBOSITY, else 'info'; one of pyNN.nest's levels."""
    verbosity = (verbosity or os.environ.get(ENV_VERBOSITY) or "info").lower()
    if verbosity not in VERBOSITIES:
        raise ValueError(f"verbosity must be one of {', '.join(VERBOSITIES)}, not {verbosity!r}")
    return verbosity


def show_device(description: str, verbosity: str = "info") -> None:
    """Log 'pyNN.neurongpu running on <description>' at INFO to logger "PyNN".

    Where logging is not configured (no handler on "PyNN" or above), the line goes to
    stderr in PyNN's layout; where it is, the configuration decides. Nothing at a
    `verbosity` of 'warning' or quieter, or with the "PyNN" logger's level above INFO."""
    show_line(f"pyNN.neurongpu running on {description}", verbosity)


def show_line(message: str, verbosity: str = "info") -> None:
    """Log `message` at INFO to logger "PyNN", as show_device does."""
    if verbosity in QUIET or logger.level > logging.INFO:
        return
    if logger.hasHandlers():
        logger.info(message)
        return
    handler = logging.StreamHandler(sys.stderr)  # stderr now, as redirected by then
    handler.setFormatter(logging.Formatter(LINE_FORMAT))
    handler.handle(logger.makeRecord(logger.name, logging.INFO, __file__, 0, message,
                                     None, None))


def progress_wanted(progress: bool | None = None) -> bool:
    """`progress` where given, else PYNN_NEURONGPU_PROGRESS (1/0), else whether stderr is a
    terminal (and the CI variable unset): progress bars never enter CI logs unless asked."""
    if progress is not None:
        return bool(progress)
    value = os.environ.get(ENV_PROGRESS, "").strip().lower()
    if value:
        return value not in ("0", "false", "no", "off")
    return sys.stderr.isatty() and not os.environ.get("CI")


def _bar(**options):
    from tqdm import tqdm

    return tqdm(file=sys.stderr, dynamic_ncols=True, **options)


def _synchronize(backend):
    if backend.is_gpu:
        backend.xp.cuda.Device().synchronize()


def run_steps(network, n_steps: int, dt: float, progress: bool) -> None:
    """``network.run(n_steps)``, with a bar showing the real-time factor where `progress`
    and the run is long.

    Such a run advances in chunks (at least MIN_CHUNK_STEPS steps, about CHUNK_S of wall
    time each, one device synchronisation each); chunks give the same results as one run."""
    if not progress:
        network.run(n_steps)
        return
    start = time.perf_counter()
    done = min(n_steps, max(MIN_CHUNK_STEPS, n_steps // 100))
    network.run(done)
    _synchronize(network.backend)
    elapsed = time.perf_counter() - start
    if done == n_steps or elapsed / done * (n_steps - done) < LONG_RUN_S:
        network.run(n_steps - done)
        return
    bar = _bar(total=n_steps * dt, initial=done * dt, desc="run", unit="ms",
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.0f}/{total:.0f} ms "
                          "[{elapsed}<{remaining}{postfix}]")
    try:
        chunk_start = time.perf_counter()
        while done < n_steps:
            rate = done / max(chunk_start - start, 1e-9)  # steps per second so far
            chunk = min(n_steps - done, max(MIN_CHUNK_STEPS, int(rate * CHUNK_S)))
            network.run(chunk)
            _synchronize(network.backend)
            now = time.perf_counter()
            done += chunk
            factor = (now - chunk_start) / (chunk * dt / 1000.0)
            bar.n = done * dt
            bar.set_postfix_str(f"real-time factor {factor:.2f}", refresh=False)
            bar.refresh()
            chunk_start = now
    finally:
        bar.close()


@contextlib.contextmanager
def build_progress(connector, label: str, progress: bool):
    """While a projection is built: a bar fed by the connector's callback (PyNN's
    ``callback`` argument), shown once the build has taken LONG_BUILD_S, where `progress`
    and the connector has no callback of its own."""
    if not progress or getattr(connector, "callback", False) is not None:
        yield
        return
    bar = _bar(total=100, desc=f"connecting {label}", unit="%", delay=LONG_BUILD_S,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")

    def update(fraction):
        bar.n = round(100 * min(max(float(fraction), 0.0), 1.0), 1)
        bar.update(0)  # displays (once LONG_BUILD_S has passed) at tqdm's pace

    connector.callback = update
    try:
        yield
    finally:
        connector.callback = None
        bar.close()
