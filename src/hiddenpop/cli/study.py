"""``hiddenpop study``: simulation studies and simulation-based calibration (CONTRACT.md).

::

    hiddenpop study --scenarios true-growth,both --models M0,Mt --replicates 20 --out DIR
    hiddenpop study --calibration --models M0,Mh --replicates 50 --out DIR

Writes ``DIR/results.csv`` and ``DIR/summary.csv`` (``DIR/ranks.csv``,
``DIR/calibration.csv`` and ``DIR/rank_histograms.png`` with ``--calibration``). Re-running
with the same ``--out`` resumes: finished replicates are not refitted.
"""

from __future__ import annotations

import argparse
import json
import sys

from hiddenpop.exceptions import InputError
from hiddenpop.modeling import Prior

__all__ = ["register", "run"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "study",
        help="simulation study (scenarios x models x replicates) or calibration",
        description="Fit every model to replicated simulations of every scenario and score "
        "the estimates against the truth (coverage of 90%% intervals, bias, RMSE, interval "
        "width, Pr(right sign)); or, with --calibration, simulation-based calibration.",
    )
    parser.add_argument("--scenarios", metavar="A,B", help="scenario names (hiddenpop scenarios)")
    parser.add_argument("--models", required=True, metavar="M1,M2", help="model names or .toml")
    parser.add_argument("--replicates", type=int, required=True, metavar="R")
    parser.add_argument("--seed", type=int, default=0, metavar="S")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1, metavar="W", help="local processes")
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="address of a running Dask distributed scheduler"
    )
    parser.add_argument("--out", required=True, metavar="DIR")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a simulation setting in every scenario (JSON value), e.g. "
        "--set n_occasions=5 --set abundance=[300,900]",
    )
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument(
        "--sampler",
        default="nutpie",
        choices=["nutpie", "pymc"],
        help="nutpie compiles each model once per worker (default); pymc compiles per fit",
    )
    calibration = parser.add_argument_group("simulation-based calibration")
    calibration.add_argument(
        "--calibration", action="store_true", help="SBC of each model instead of a study"
    )
    calibration.add_argument(
        "--generator",
        action="append",
        default=[],
        metavar="MODEL=GENERATOR",
        help="draw the data of MODEL from GENERATOR's prior (a deliberately wrong model)",
    )
    calibration.add_argument(
        "--prior",
        action="append",
        default=[],
        metavar='NAME={"dist":...}',
        help='override a calibration prior, e.g. behaviour={"dist":"Normal","mu":-2,"sigma":0.3}',
    )
    calibration.add_argument("--n-periods", type=int, default=2)
    calibration.add_argument("--n-occasions", type=int, default=5)
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _pairs(items: list[str], option: str, parse_json: bool) -> dict:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"{option} {item!r}: expected NAME=VALUE.")
        if parse_json:
            try:
                out[name] = json.loads(value)
            except json.JSONDecodeError:
                raise InputError(f"{option} {item!r}: the value is not JSON.") from None
        else:
            out[name] = value
    return out


def _names(text: str | None, option: str) -> list[str]:
    names = [name.strip() for name in (text or "").split(",") if name.strip()]
    if not names:
        raise InputError(f"{option} needs at least one name.")
    return names


def run(args: argparse.Namespace) -> int:
    from hiddenpop.study import Calibration, Study

    for option in ("replicates", "draws", "tune", "chains", "workers"):
        if getattr(args, option) < 1:
            raise InputError(f"--{option} must be at least 1.")
    models = _names(args.models, "--models")
    progress = not args.quiet and sys.stderr.isatty()
    where = {"workers": args.workers, "scheduler": args.scheduler, "progress": progress}
    fit_settings = {
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "sampler": args.sampler,
    }
    if args.calibration:
        priors = {
            name: Prior.from_dict(value, where=f"--prior {name}")
            for name, value in _pairs(args.prior, "--prior", True).items()
        }
        outcome = Calibration(
            models,
            args.replicates,
            seed=args.seed,
            generators=_pairs(args.generator, "--generator", False),
            priors=priors,
            n_periods=args.n_periods,
            n_occasions=args.n_occasions,
            **fit_settings,
        ).run(args.out, **where)
        print(outcome.tests.drop(columns="counts").to_string(index=False))
        print(f"calibration written to {args.out} ({outcome.ran} new fits)", file=sys.stderr)
        return 0
    overrides = _pairs(args.set, "--set", True)
    scenarios = _names(args.scenarios, "--scenarios")
    outcome = Study(
        scenarios, models, args.replicates, seed=args.seed, overrides=overrides, **fit_settings
    ).run(args.out, **where)
    columns = ["scenario", "model", "quantity", "coverage_90", "bias", "rmse", "mean_width", "n"]
    print(outcome.summary[[*columns, "prob_right_sign"]].to_string(index=False))
    print(f"study written to {args.out} ({outcome.ran} new fits)", file=sys.stderr)
    return 0
