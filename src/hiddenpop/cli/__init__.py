"""The ``hiddenpop`` command line (CONTRACT.md).

One module per command; each exposes ``register(subparsers)``, which adds its parser(s) and
sets ``handler`` to a function ``(args) -> int``. Any :class:`~hiddenpop.exceptions.HiddenpopError`
becomes one line on stderr and exit status 2; nothing is written to ``--out`` on failure.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from hiddenpop import __version__
from hiddenpop.exceptions import HiddenpopError

__all__ = ["COMMANDS", "main"]

#: Command modules, in the order their commands are listed by ``hiddenpop --help``.
COMMANDS = (
    "hiddenpop.cli.demo",
    "hiddenpop.cli.describe",
    "hiddenpop.cli.simulate",
    "hiddenpop.cli.fit",
    "hiddenpop.cli.summary",
    "hiddenpop.cli.report",
    "hiddenpop.cli.plot",
    "hiddenpop.cli.models",
    "hiddenpop.cli.study",
    "hiddenpop.cli.sensitivity",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hiddenpop",
        description="Bayesian estimation of hidden populations: true growth vs reporting growth.",
    )
    parser.add_argument("--version", action="version", version=f"hiddenpop {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise
            continue  # command not built yet
        module.register(subparsers)
    return parser


def _format_warning(message, category, filename, lineno, line=None) -> str:
    return f"hiddenpop: warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``hiddenpop`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    warnings.formatwarning = _format_warning
    warnings.filterwarnings("ignore", message=".*could not link to a BLAS.*")
    try:
        return int(args.handler(args) or 0)
    except HiddenpopError as error:
        message = " ".join(str(error).split())
        print(f"hiddenpop: error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("hiddenpop: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
