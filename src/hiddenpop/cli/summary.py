"""``hiddenpop summary``: the per-period table and growth decomposition of a saved fit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hiddenpop.cli.options import dump_json
from hiddenpop.exceptions import FileFormatError

__all__ = ["format_summary", "print_summary", "register"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "summary",
        help="summarise a saved fit",
        description="Summarise a fit written by `hiddenpop fit` (no refitting).",
    )
    parser.add_argument("fit", metavar="FIT.nc")
    parser.add_argument("--json", action="store_true", help="print JSON (CONTRACT.md)")
    parser.set_defaults(handler=run)


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.3g}"


def format_summary(summary: dict) -> str:
    """Human-readable text of :meth:`FitResult.summary`."""
    lines = [f"model {summary['model']}"]
    header = ["period", "reports", "N (median)", "N 90% interval", "P*"]
    prevalence = "prevalence_per_10k" in summary
    if prevalence:
        header.append("per 10k")
    rows = []
    for t, period in enumerate(summary["periods"]):
        n = summary["N"]
        row = [
            str(period),
            f"{summary['detected'][t]:,}",
            _number(n["q50"][t]),
            f"{_number(n['q05'][t])} - {_number(n['q95'][t])}",
            f"{summary['detection_fraction']['q50'][t]:.3f}",
        ]
        if prevalence:
            row.append(f"{summary['prevalence_per_10k']['q50'][t]:.1f}")
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    growth = summary.get("growth")
    if growth:
        true, rep = growth["true"], growth["reporting_realised"]
        lines.append("")
        lines.append(
            f"reports rose x{growth['observed']:.2f}: population x{true['q50']:.2f} "
            f"(90% {true['q05']:.2f}-{true['q95']:.2f}), reporting x{rep['q50']:.2f} "
            f"(90% {rep['q05']:.2f}-{rep['q95']:.2f}); "
            f"Pr(population grew) = {growth['prob_true_growth']:.2f}"
        )
    d = summary["diagnostics"]
    lines.append("")
    lines.append(
        f"diagnostics: R-hat max {d['rhat_max']:.3f}, bulk ESS min {d['ess_bulk_min']:.0f}, "
        f"divergences {d['divergences']} -> {'ok' if d['ok'] else 'PROBLEMS'}"
    )
    return "\n".join(lines)


def print_summary(result, *, as_json: bool = False) -> None:
    """Print the summary of a :class:`~hiddenpop.results.FitResult` and its warnings."""
    summary = result.summary()
    print(dump_json(summary) if as_json else format_summary(summary))
    for message in summary["warnings"]:
        print(f"hiddenpop: warning: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if not Path(args.fit).is_file():
        raise FileFormatError(f"{args.fit}: no such fit file.")
    from hiddenpop.results import FitResult  # imports ArviZ and PyMC: only when needed

    print_summary(FitResult.load(args.fit), as_json=args.json)
    return 0
