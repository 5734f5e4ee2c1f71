"""``hiddenpop report``: one self-contained HTML page for a saved fit (no refitting)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hiddenpop.cli.options import write_atomically
from hiddenpop.exceptions import FileFormatError, InputError

__all__ = ["register"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write a self-contained HTML report of a saved fit",
        description="Write one HTML page (figures embedded, nothing loaded from the network) "
        "with the summary tables, the growth decomposition in words, diagnostics, warnings "
        "and provenance of a fit written by `hiddenpop fit`.",
    )
    parser.add_argument("fit", metavar="FIT.nc")
    parser.add_argument("--out", required=True, metavar="REPORT.html")
    parser.add_argument(
        "--truth", metavar="TRUTH.json", help="simulated truth to overlay (hiddenpop simulate)"
    )
    parser.add_argument("--title", help="page title (default: model and data)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not args.out.lower().endswith((".html", ".htm")):
        raise InputError(f"--out {args.out}: a report is an HTML page; use a .html file name.")
    if not Path(args.fit).is_file():
        raise FileFormatError(f"{args.fit}: no such fit file.")
    truth = None
    if args.truth:
        try:
            truth = json.loads(Path(args.truth).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise FileFormatError(
                f"--truth {args.truth}: not a truth JSON file ({error})."
            ) from None
    from hiddenpop.report import write_report  # imports ArviZ and PyMC: only when needed
    from hiddenpop.results import FitResult

    result = FitResult.load(args.fit)
    write_atomically(args.out, lambda tmp: write_report(result, tmp, truth=truth, title=args.title))
    for message in result.warnings:
        print(f"hiddenpop: warning: {message}", file=sys.stderr)
    print(f"report written to {args.out}", file=sys.stderr)
    return 0
