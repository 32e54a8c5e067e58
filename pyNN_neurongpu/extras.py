"""Optional dependencies: each feature that needs one checks for it where it is used and
names the pyNN-neurongpu extra that installs it."""

from __future__ import annotations

import importlib
import importlib.util

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
    return list(_import_errors(modules))


def _import_errors(modules) -> dict[str, ImportError]:
    """For each of `modules` that does not import, the error raised."""
    errors = {}
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as err:
            errors[name] = err
    return errors


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def missing_message(feature: str, extra: str, absent, errors=None) -> str:
    """The one-line message of :func:`require` for the modules `absent`; a module that is
    installed but fails to import is named with its error, not as missing."""
    errors = errors or {}
    broken = [name for name in absent if name in errors and _installed(name)]
    gone = [name for name in absent if name not in broken]
    parts = []
    if gone:
        names = ", ".join(gone)
        parts.append(f"{feature} needs {names}, which {'is' if len(gone) == 1 else 'are'} "
                     f"not installed: {install_command(extra)}")
    for name in broken:
        parts.append(f"{feature} needs {name}, which is installed but fails to import "
                     f"({type(errors[name]).__name__}: {errors[name]})")
    return "; ".join(parts)


def require(feature: str, extra: str, *modules: str) -> None:
    """Raise MissingDependencyError, naming `extra`, if any of `modules` does not import.

    `modules` default to all those of `extra`."""
    errors = _import_errors(modules or EXTRAS[extra])
    if errors:
        raise MissingDependencyError(missing_message(feature, extra, list(errors), errors))
