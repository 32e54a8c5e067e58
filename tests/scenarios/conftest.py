"""Isolation for PyNN's system scenarios: each runs in its own temporary working
directory (several write .pkl files or a Results/ folder relative to it), with
the logging configuration and the matplotlib backend restored afterwards."""

import logging

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def scenario_isolation(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    pynn_level = logging.getLogger("PyNN").level
    yield
    root.setLevel(level)
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    logging.getLogger("PyNN").setLevel(pynn_level)
