"""Sphinx configuration for the wsproto_core documentation.

Build (CI treats warnings as errors)::

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import sys
from pathlib import Path

# Document the checkout these docs sit in, not whatever copy is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import wsproto_core  # after the path above: the checkout, not an installed copy

project = "wsproto_core"
author = "The wsproto_core authors"
copyright = "the wsproto_core authors"
release = wsproto_core.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]

# Google-style docstrings only.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
# "Attributes:" sections become :ivar: fields, so a dataclass field is not
# described twice (once by napoleon, once by autodoc).
napoleon_use_ivar = True

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

nitpicky = False
exclude_patterns = ["_build"]

html_theme = "alabaster"
html_title = f"wsproto_core {release}".strip()

# The adapters re-export the same names (``Server``, ``Connection``,
# ``HandlerConnection``) from their packages and submodules, and both adapters
# have a ``Server``: an unqualified cross-reference then has several targets.
# Sphinx picks one; the ambiguity is not an error in the docs.
suppress_warnings = ["ref.python"]
