"""Optional dependencies: each feature that needs one checks for it where it is used and
names the pyNN-neurongpu extra that installs it."""

from __future__ import annotations

import importlib

# extra -> the modules it brings that features check for
EXTRAS = {
    "validation": ("scipy", "elephant", "matplotlib", "nixio"),
    "examples": ("matplotlib",),
    "nest": ("nest",),
    "cuda12": ("cupy",),
    "cuda13": ("cupy",),
}


class MissingDependencyError(ImportError):
    """An optional feature's dependency is not installed; the message says what to install."""


def install_command(extra: str) -> str:
    """The pip command that installs `extra`."""
    return f'pip install "pyNN-neurongpu[{extra}]"'


def missing(*modules: str) -> list[str]:
    """The names among `modules` that do not import."""
    absent = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            absent.append(name)
    return absent


def missing_message(feature: str, extra: str, absent) -> str:
    """The one-line message of :func:`require` for the modules `absent`."""
    names = ", ".join(absent)
    return (f"{feature} needs {names}, which {'is' if len(absent) == 1 else 'are'} not "
            f"installed: {install_command(extra)}")


def require(feature: str, extra: str, *modules: str) -> None:
    """Raise MissingDependencyError, naming `extra`, if any of `modules` does not import.

    `modules` default to all those of `extra`."""
    absent = missing(*(modules or EXTRAS[extra]))
    if absent:
        raise MissingDependencyError(missing_message(feature, extra, absent))
