"""``hiddenpop sensitivity``: sensitivity analyses of a saved fit; a table and a figure.

::

    hiddenpop sensitivity FIT.nc --check power --out power.csv --figure power.png
    hiddenpop sensitivity FIT.nc --check prior --out prior.csv --figure prior.png
    hiddenpop sensitivity FIT.nc --check prior \\
        --variant 'wide N: abundance={"dist":"Normal","mu":"data","sigma":5}' ...
    hiddenpop sensitivity FIT.nc --check assumptions --invisible-share 2,8 ...
    hiddenpop sensitivity FIT.nc --check tipping --out tipping.csv --figure tipping.png

Checks: ``power`` (refit-free power-scaling, ``arviz.psens``), ``prior`` (refits with each
prior's scale halved and doubled, or the given ``--variant`` s), ``assumptions`` (refits
under other heterogeneity, behaviour and abundance assumptions, plus an invisible share
with a Beta prior) and ``tipping`` (the unmodelled coverage growth that cancels the true
growth). The fit file carries its data, so refits need nothing else. Both outputs are
written only when the check succeeds.
"""

from __future__ import annotations

import argparse
import json
import sys

from hiddenpop.cli.options import write_atomically
from hiddenpop.exceptions import InputError
from hiddenpop.modeling import Prior

__all__ = ["parse_variant", "register", "run"]

CHECKS = ("power", "prior", "assumptions", "tipping")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sensitivity",
        help="prior / assumption sensitivity and tipping point of a saved fit",
        description="Sensitivity analyses of a fit: refit-free power-scaling, refits under "
        "other priors or assumptions, and the tipping point of true growth. Writes a table "
        "(CSV) and a figure (PNG).",
    )
    parser.add_argument("fit", metavar="FIT.nc", help="a fit written by `hiddenpop fit`")
    parser.add_argument("--check", choices=CHECKS, default="power")
    parser.add_argument("--out", required=True, metavar="TABLE.csv")
    parser.add_argument("--figure", required=True, metavar="FIGURE.png")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar='"LABEL: NAME={json}; NAME={json}"',
        help="a prior variant for --check prior (repeatable)",
    )
    parser.add_argument(
        "--invisible-share",
        metavar="A,B",
        default="2,8",
        help="Beta(A, B) prior of the invisible share for --check assumptions (default 2,8)",
    )
    parser.add_argument(
        "--initial-invisible-share",
        type=float,
        default=0.5,
        metavar="S",
        help="first-period invisible share used to express the tipping point (default 0.5)",
    )
    parser.add_argument("--draws", type=int, help="refit draws (default: the fit's)")
    parser.add_argument("--tune", type=int, help="refit tuning steps (default: the fit's)")
    parser.add_argument("--chains", type=int, help="refit chains (default: the fit's)")
    parser.add_argument("--seed", type=int, help="refit seed (default: the fit's)")
    parser.set_defaults(handler=run)


def parse_variant(text: str) -> tuple[str, dict[str, Prior]]:
    """``"LABEL: NAME={json}; NAME={json}"`` -> (label, {name: Prior})."""
    label, sep, body = text.partition(":")
    if not sep or not label.strip():
        raise InputError(f"--variant {text!r}: expected 'LABEL: NAME={{json}}'.")
    priors = {}
    for part in filter(None, (p.strip() for p in body.split(";"))):
        name, sep, value = part.partition("=")
        try:
            table = json.loads(value)
        except json.JSONDecodeError:
            raise InputError(f"--variant {text!r}: the prior of {name!r} is not JSON.") from None
        if not sep or not name.strip():
            raise InputError(f"--variant {text!r}: expected NAME={{json}}.")
        priors[name.strip()] = Prior.from_dict(table, where=f"--variant {label.strip()}")
    if not priors:
        raise InputError(f"--variant {text!r}: no prior given.")
    return label.strip(), priors


def _beta(text: str) -> Prior:
    try:
        alpha, beta = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"--invisible-share {text!r}: expected two numbers A,B.") from None
    return Prior("Beta", {"alpha": alpha, "beta": beta})


def _check(args: argparse.Namespace):
    from hiddenpop.sensitivity import (
        AssumptionSensitivity,
        PowerScaling,
        PriorSensitivity,
        TippingPoint,
    )

    settings = {
        name: getattr(args, name)
        for name in ("draws", "tune", "chains")
        if getattr(args, name) is not None
    }
    for name, value in settings.items():
        if value < 1:
            raise InputError(f"--{name} must be at least 1.")
    if args.check == "power":
        return PowerScaling()
    if args.check == "tipping":
        return TippingPoint(initial_invisible_share=args.initial_invisible_share)
    if args.check == "prior":
        variants = dict(parse_variant(text) for text in args.variant) or None
        return PriorSensitivity(variants, seed=args.seed, **settings)
    return AssumptionSensitivity(
        invisible_share=_beta(args.invisible_share), seed=args.seed, **settings
    )


def run(args: argparse.Namespace) -> int:
    from hiddenpop.results import FitResult

    if not args.out.endswith(".csv"):
        raise InputError(f"--out {args.out}: the table is written as CSV; use a .csv name.")
    if not args.figure.endswith((".png", ".pdf", ".svg")):
        raise InputError(f"--figure {args.figure}: use a .png, .pdf or .svg name.")
    check = _check(args)
    result = FitResult.load(args.fit)
    outcome = check.run(result)
    figure = outcome.plot()
    write_atomically(args.out, lambda path: outcome.table.to_csv(path, index=False))
    write_atomically(args.figure, lambda path: figure.savefig(path, dpi=120, bbox_inches="tight"))
    print(outcome.table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    verdict = {True: "robust", False: "NOT robust", None: ""}[outcome.robust]
    print(f"{outcome.check}: {verdict + ': ' if verdict else ''}{outcome.text}")
    print(f"table written to {args.out}, figure to {args.figure}", file=sys.stderr)
    return 0
