"""``hiddenpop describe``: per-period sufficient statistics and quick classical estimates."""

from __future__ import annotations

import argparse

from hiddenpop.cli.options import add_data_arguments, dump_json, load_capture_data
from hiddenpop.data import describe

__all__ = ["register"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "describe",
        help="per-period statistics and quick classical estimates",
        description="Per-period sufficient statistics (units seen, captures per occasion, "
        "capture frequencies) and quick classical estimates (Chao lower bound, Zelterman, "
        "Chapman for two occasions): the exploratory first look.",
    )
    add_data_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON (CONTRACT.md)")
    parser.set_defaults(handler=run)


def _format(value) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"


def run(args: argparse.Namespace) -> int:
    data = load_capture_data(args)
    summary = describe(data)
    if args.json:
        print(dump_json(summary))
        return 0
    print(repr(data))
    header = [
        "period",
        data.slot_dim + "s",
        "detected",
        "seen 2+",
        "Chao LB",
        "Zelterman",
        "Chapman",
    ]
    rows = [
        [
            str(summary["periods"][t]),
            _format(summary["n_occasions"][t]),
            _format(summary["detected"][t]),
            f"{summary['recapture_share'][t]:.1%}",
            _format(summary["chao_lower_bound"][t]),
            _format(summary["zelterman"][t]),
            _format(summary["chapman"][t]),
        ]
        for t in range(data.n_periods)
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
    print()
    for t, period in enumerate(summary["periods"]):
        freq = summary["capture_frequencies"][t]
        shown = ", ".join(f"f{m + 1}={f}" for m, f in enumerate(freq) if f)
        print(f"period {period}: capture frequencies {shown}")
        if summary["captures_per_occasion"] is not None:
            per = summary["captures_per_occasion"][t]
            labels = summary["occasions"][t]
            if len(per) <= 12:
                pairs = ", ".join(f"{lab}={n}" for lab, n in zip(labels, per, strict=True))
            else:
                pairs = f"min {min(per)}, median {sorted(per)[len(per) // 2]}, max {max(per)}"
            print(f"  seen per {data.slot_dim}: {pairs}")
    check = summary["carry_over"]
    if check is not None:
        pairs = zip(summary["periods"], check["seen_before"], strict=True)
        print(
            "\nalso reported in the previous period: " + ", ".join(f"{p}: {n:,}" for p, n in pairs)
        )
        if check["p_value"] is None:
            print("  too few units reported in consecutive periods to test carry-over")
        else:
            print(
                f"  carry-over of detection: they were reported {check['ratio']:.2f}x as often "
                f"as the periods' other units (z = {check['z']:.1f}, permutation p = "
                f"{check['p_value']:.2g}; near 1 and p large when detection does not carry over)"
            )
    if summary["duplicate_records"]:
        print(f"\n{summary['duplicate_records']} duplicate record(s) were counted once.")
    return 0
