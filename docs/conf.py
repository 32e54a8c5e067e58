"""Sphinx configuration of the pyNN.neurongpu documentation site.

Build: ``sphinx-build -W -b html docs docs/_build/html`` (needs the ``docs`` and
``validation`` extras)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))  # the checkout's package, installed or not

project = "pyNN.neurongpu"
author = "the pyNN.neurongpu developers"
copyright = "the pyNN.neurongpu developers, CeCILL-2.1"
release = "0.1.0"

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.viewcode"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
myst_heading_anchors = 3  # the pages' [text](#section) links
suppress_warnings = ["myst.header"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"show-inheritance": False}

html_theme = "alabaster"
html_title = "pyNN.neurongpu"
html_theme_options = {"description": "PyNN on NVIDIA GPUs with NEST's semantics",
                      "page_width": "1100px", "sidebar_width": "230px"}
