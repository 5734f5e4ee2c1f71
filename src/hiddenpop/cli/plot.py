"""``hiddenpop plot``: draw one figure from saved fits (or a study summary), without refitting.

::

    hiddenpop plot FIT.nc --kind trend --out trend.png [--truth TRUTH.json]
    hiddenpop plot FIT.nc --kind decomposition --out growth.svg
    hiddenpop plot A.nc B.nc C.nc --kind sensitivity --labels flat,weak,strong --out sens.png
    hiddenpop plot STUDY_DIR --kind study --quantity true_growth --out study.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from hiddenpop.cli.options import write_atomically
from hiddenpop.exceptions import FileFormatError, InputError

__all__ = ["FIGURE_FORMATS", "KINDS", "make_figure", "register"]

#: Plot kinds: the plots of one fit, then the comparisons.
KINDS = ("trend", "prevalence", "decomposition", "detection", "ppc", "sensitivity", "study")
FIGURE_FORMATS = (".png", ".svg", ".pdf")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "plot",
        help="draw a figure from saved fits or a study summary",
        description="Draw one figure from fit files written by `hiddenpop fit` (no refitting), "
        "or from the summary of `hiddenpop study`.",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="FIT.nc",
        help="one fit file; several for --kind sensitivity; a study directory or "
        "summary.csv for --kind study",
    )
    parser.add_argument("--kind", choices=KINDS, default="trend", help="which figure")
    parser.add_argument("--out", required=True, metavar="FIGURE", help=".png, .svg or .pdf")
    parser.add_argument(
        "--truth", metavar="TRUTH.json", help="simulated truth to overlay (hiddenpop simulate)"
    )
    parser.add_argument("--labels", metavar="L1,L2,...", help="row labels for --kind sensitivity")
    parser.add_argument(
        "--quantity",
        metavar="NAME",
        help="sensitivity: true_growth (default), reporting_growth, N, ...; study: the "
        "quantity column to show",
    )
    parser.add_argument("--dpi", type=int, default=150, help="resolution of a .png")
    parser.set_defaults(handler=run)


def _load_fit(path: str):
    from hiddenpop.results import FitResult  # imports ArviZ and PyMC: only when needed

    if not Path(path).is_file():
        raise FileFormatError(f"{path}: no such fit file.")
    return FitResult.load(path)


def _read_truth(path: str | None) -> dict | None:
    if path is None:
        return None
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FileFormatError(f"--truth {path}: not a truth JSON file ({error}).") from None


def make_figure(args: argparse.Namespace):
    """The matplotlib Figure the options ask for."""
    from hiddenpop import plots

    if args.kind == "study":
        if len(args.inputs) != 1:
            raise InputError("--kind study reads one study directory or summary.csv.")
        return plots.plot_study(args.inputs[0], quantity=args.quantity)
    if args.kind == "sensitivity":
        labels = args.labels.split(",") if args.labels else [Path(p).stem for p in args.inputs]
        if len(labels) != len(args.inputs):
            raise InputError(f"--labels has {len(labels)} names for {len(args.inputs)} fits.")
        fits = {label: _load_fit(path) for label, path in zip(labels, args.inputs, strict=True)}
        return plots.plot_sensitivity(fits, quantity=args.quantity or "true_growth")
    if len(args.inputs) != 1:
        raise InputError(f"--kind {args.kind} draws one fit; {len(args.inputs)} were given.")
    result = _load_fit(args.inputs[0])
    truth = _read_truth(args.truth)
    if args.kind == "ppc":
        return plots.plot_ppc(result)
    if args.kind in ("trend", "prevalence"):
        quantity = "prevalence" if args.kind == "prevalence" else "abundance"
        return plots.plot_trend(result, quantity=quantity, truth=truth)
    return plots.PLOTS[args.kind](result, truth=truth)


def run(args: argparse.Namespace) -> int:
    suffix = Path(args.out).suffix.lower()
    if suffix not in FIGURE_FORMATS:
        raise InputError(f"--out {args.out}: write a {', '.join(FIGURE_FORMATS)} file.")
    figure = make_figure(args)
    write_atomically(
        args.out, lambda tmp: figure.savefig(tmp, dpi=args.dpi, format=suffix.lstrip("."))
    )
    print(f"figure written to {args.out}", file=sys.stderr)
    return 0
