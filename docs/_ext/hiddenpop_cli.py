"""Sphinx directive ``hiddenpop-cli``: the help of every ``hiddenpop`` command, as installed.

The text comes from the same argparse parsers the command line uses, so the reference cannot
drift from the program; a command added to ``hiddenpop.cli.COMMANDS`` appears on its own.
"""

from __future__ import annotations

import argparse
import os

from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

__all__ = ["CommandLineDirective", "command_helps", "setup"]

FENCE = "````"
HELP_WIDTH = "90"


def command_helps() -> list[tuple[str, str]]:
    """``(name, help text)`` of ``hiddenpop`` itself and of each of its commands."""
    from hiddenpop.cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH  # argparse wraps to the terminal width
    try:
        parser = build_parser()
        helps = [("hiddenpop", parser.format_help())]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps += [(name, sub.format_help()) for name, sub in action.choices.items()]
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return helps


class CommandLineDirective(SphinxDirective):
    """One section per command with its ``--help`` text."""

    def run(self):
        parts = []
        for name, text in command_helps():
            title = "`hiddenpop`" if name == "hiddenpop" else f"`hiddenpop {name}`"
            parts += [f"## {title}", f"{FENCE}text\n{text.rstrip()}\n{FENCE}"]
        return self.parse_text_to_nodes("\n\n".join(parts))


def setup(app: Sphinx) -> dict:
    app.add_directive("hiddenpop-cli", CommandLineDirective)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
