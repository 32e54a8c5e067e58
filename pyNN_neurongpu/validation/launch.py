"""Run a PyNN script as ``__main__`` with ``pyNN.neurongpu`` importable (the child process of
:mod:`pyNN_neurongpu.validation.runner`): ``python -m pyNN_neurongpu.validation.launch
SCRIPT [args]`` behaves like ``python SCRIPT [args]`` in a checkout without an install."""

from __future__ import annotations

import os
import runpy
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        raise SystemExit("usage: python -m pyNN_neurongpu.validation.launch SCRIPT [args]")
    try:
        import pynn_neurongpu_alias
    except ImportError:  # installed without the alias module: the .pth provides the alias
        pass
    else:
        pynn_neurongpu_alias.install()
    script = os.path.abspath(argv[0])
    sys.argv = [script] + list(argv[1:])
    sys.path.insert(0, os.path.dirname(script))  # as `python SCRIPT` does
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
