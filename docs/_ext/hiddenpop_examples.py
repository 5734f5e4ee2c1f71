"""Sphinx directive ``hiddenpop-example``: an example script rendered with its output.

In a MyST page::

    ```{hiddenpop-example} real_growth
    ```

runs ``examples/real_growth.py`` (or reuses its cached run, see ``example_runner``) and
inserts the script's docstring (Markdown), the script, what it printed and the figures it
saved. A failing example is a build warning, so ``sphinx-build -W`` fails on it; an example
that skips itself (a model this installation lacks) is shown with a note instead of output.

Settings: ``hiddenpop_examples_quick`` (default: environment ``HIDDENPOP_QUICK=1``) runs the
examples with few draws; ``hiddenpop_examples_output`` (default: environment
``HIDDENPOP_EXAMPLES_OUTPUT``, else ``_build/example-output`` beside ``conf.py``) is where the
runs and figures are kept.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path
from typing import ClassVar

from docutils.parsers.rst import directives
from example_runner import EXAMPLES, run_example
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

__all__ = ["ExampleDirective", "setup"]

logger = logging.getLogger(__name__)
FENCE = "````"


def _docstring_body(script: Path) -> str:
    """The module docstring without its first line (the page has its own title)."""
    text = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
    return "\n".join(text.splitlines()[1:]).strip()


def _code_without_docstring(script: Path) -> str:
    source = script.read_text(encoding="utf-8")
    tree = ast.parse(source)
    first = tree.body[0] if tree.body else None
    if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant):
        lines = source.splitlines()
        source = "\n".join(lines[first.end_lineno :])
    return source.strip("\n")


class ExampleDirective(SphinxDirective):
    """Render one example script with its docstring, code, printed output and figures."""

    required_arguments = 1
    option_spec: ClassVar[dict] = {"no-code": directives.flag}

    def run(self):
        name = self.arguments[0]
        script = EXAMPLES / f"{name}.py"
        if not script.is_file():
            logger.warning(f"no example '{name}' in {EXAMPLES}", location=self.get_location())
            return []
        self.env.note_dependency(str(script))
        config = self.env.config
        run = run_example(
            script, Path(config.hiddenpop_examples_output), quick=config.hiddenpop_examples_quick
        )
        parts = [_docstring_body(script)]
        if "no-code" not in self.options:
            parts += ["## The script", f"{FENCE}python\n{_code_without_docstring(script)}\n{FENCE}"]
        if not run.ok:
            logger.warning(
                f"example '{name}' failed (exit {run.returncode}): {run.stderr[-3000:]}",
                location=self.get_location(),
            )
            return []
        if run.skipped:
            parts.append(f":::{{note}}\nThis example did not run here: {run.skipped}\n:::")
        else:
            mode = "few draws (quick mode)" if run.quick else "the default draws"
            parts += [
                "## What it prints",
                f"Run with {mode} in {run.seconds:.0f} s.",
                f"{FENCE}text\n{run.stdout.rstrip()}\n{FENCE}",
            ]
            if run.figures:
                parts.append("## Figures")
            here = Path(self.env.doc2path(self.env.docname)).parent
            folder = Path(config.hiddenpop_examples_output) / name
            for figure in run.figures:
                relative = os.path.relpath(folder / figure, here)
                parts.append(f"![{Path(figure).stem}]({relative})")
        return self.parse_text_to_nodes("\n\n".join(parts))


def setup(app: Sphinx) -> dict:
    default_output = os.environ.get("HIDDENPOP_EXAMPLES_OUTPUT") or str(
        Path(app.confdir) / "_build" / "example-output"
    )
    app.add_config_value("hiddenpop_examples_output", default_output, "env")
    app.add_config_value(
        "hiddenpop_examples_quick", os.environ.get("HIDDENPOP_QUICK") == "1", "env"
    )
    app.add_directive("hiddenpop-example", ExampleDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
