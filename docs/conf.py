"""Sphinx configuration for the wsproto_core documentation.

Build (CI treats warnings as errors)::

    sphinx-build -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Document the checkout these docs sit in, not whatever copy is installed.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import wsproto_core  # after the path above: the checkout, not an installed copy

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

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

# The [redis] extra is optional: the docs build without it installed.
autodoc_mock_imports = ["redis"]

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True

nitpicky = False
# docs/examples holds the programs the pages include (and the tests run), not pages.
exclude_patterns = ["_build", "examples"]

html_theme = "furo"
html_title = f"wsproto_core {release}".strip()

# The adapters re-export the same names (``Server``, ``Connection``,
# ``HandlerConnection``) from their packages and submodules, and both adapters
# have a ``Server``: an unqualified cross-reference then has several targets.
# Sphinx picks one; the ambiguity is not an error in the docs.
suppress_warnings = ["ref.python"]

# A reference page opens with its module's docstring (an ``automodule`` without
# members) and lists the members under "API" further down (an ``automodule`` with
# them): the second must not print the docstring again.
_module_docstrings_shown: set[tuple[str, str]] = set()


def _module_docstring_once(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    if what != "module":
        return
    key = (app.env.docname, name)
    if key in _module_docstrings_shown:
        lines.clear()
    else:
        _module_docstrings_shown.add(key)


def _forget_page(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    for key in [key for key in _module_docstrings_shown if key[0] == docname]:
        _module_docstrings_shown.discard(key)


def setup(app: Sphinx) -> None:
    app.connect("autodoc-process-docstring", _module_docstring_once)
    app.connect("env-purge-doc", _forget_page)
