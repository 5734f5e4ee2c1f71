"""Sphinx configuration of the hiddenpop documentation (MyST Markdown, PyData theme).

Build (from the repository root; warnings are errors, as in CI)::

    python -m sphinx -W --keep-going docs docs/_build/html

``HIDDENPOP_QUICK=1`` runs the teaching examples with few draws (what CI does).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "src"))

from hiddenpop import __version__  # noqa: E402

project = "hiddenpop"
author = "hiddenpop developers"
copyright = "hiddenpop developers"
version = release = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "hiddenpop_examples",
    "hiddenpop_cli",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "scripts", "**/.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
# Colleagues' design notes are plain Markdown for GitHub too: their links to source files
# and their heading levels are fine there and need not be Sphinx cross-references here.
suppress_warnings = ["myst.header", "myst.xref_missing"]

autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False

html_theme = "pydata_sphinx_theme"
html_title = f"hiddenpop {__version__}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path: list[str] = []


FIELD_SECTIONS = ("Parameters", "Other Parameters", "Returns", "Yields", "Raises", "Attributes")


def notes_after_fields(app, what, name, obj, options, lines: list[str]) -> None:
    """Give a closing note paragraph of a numpy field section its own "Notes" header.

    A docstring may end its Parameters with a plain paragraph after a blank line; numpy style
    has no place for it, so Napoleon would read its words as parameter names. A paragraph
    there is recognised by its second line: a parameter's second line is indented, a
    paragraph's is not (or it has one line ending with a full stop).
    """
    section = None
    for i, line in enumerate(lines):
        below = lines[i + 1] if i + 1 < len(lines) else ""
        if set(below.strip()) == {"-"} and line.strip():
            section = line.strip()
            continue
        if section not in FIELD_SECTIONS or i == 0 or lines[i - 1].strip():
            continue
        if not line.strip() or line[0].isspace() or set(line.strip()) == {"-"}:
            continue
        prose = (below.strip() and not below[0].isspace()) or (
            not below.strip() and line.rstrip().endswith(".")
        )
        if prose and set(below.strip()) != {"-"}:
            lines[i:i] = ["Notes", "-----"]
            return


def setup(app) -> None:
    # before Napoleon (priority 500) turns the sections into field lists
    app.connect("autodoc-process-docstring", notes_after_fields, priority=400)
