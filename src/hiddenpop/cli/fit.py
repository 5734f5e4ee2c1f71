"""``hiddenpop fit``: fit a model to records or history tables and save the fit (NetCDF)."""

from __future__ import annotations

import argparse
import sys
import warnings

import pandas as pd

from hiddenpop.cli.options import add_data_arguments, load_capture_data, write_atomically
from hiddenpop.cli.summary import print_summary
from hiddenpop.data import CaptureData, read_table
from hiddenpop.exceptions import ColumnError, ConvergenceWarning, InputError

__all__ = ["read_denominator", "register"]


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "fit",
        help="fit a model and save the posterior",
        description="Fit a capture-recapture or multiple-systems model and write the fit "
        "(ArviZ InferenceData, NetCDF) to --out.",
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--model",
        default="auto",
        metavar="NAME_OR_TOML",
        help="catalogue name (hiddenpop models) or a .toml model file (default: robust-trend "
        "for several periods, Mth for one, mse-loglinear for lists)",
    )
    parser.add_argument("--denominator", metavar="FILE", help="CSV with period,denominator")
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int)
    parser.add_argument(
        "--sampler", default="auto", choices=["auto", "nutpie", "pymc", "numpyro", "gibbs"]
    )
    parser.add_argument(
        "--target-accept",
        type=float,
        metavar="P",
        help="NUTS target acceptance rate (default: the model file's [sampler] setting, else 0.9)",
    )
    parser.add_argument("--out", required=True, metavar="FIT.nc")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(handler=run)


def read_denominator(path: str, data: CaptureData) -> dict:
    """``{period: denominator}`` from a CSV with columns period,denominator."""
    table = read_table(path)
    origin = table.attrs.get("origin", path)
    for column in ("period", "denominator"):
        if column not in table.columns:
            raise ColumnError(f"{origin}: no column '{column}'; expected period,denominator.")
    values = pd.to_numeric(table["denominator"], errors="coerce")
    if values.isna().any() or (values <= 0).any():
        row = int(
            values.isna().to_numpy().argmax() if values.isna().any() else (values <= 0).argmax()
        )
        raise InputError(f"{origin}: denominator in data row {row + 1} is not a positive number.")
    by_label = dict(zip(table["period"].astype(str), values, strict=True))
    missing = [p for p in data.periods if str(p) not in by_label]
    if missing:
        raise InputError(f"{origin}: no denominator for period(s) {', '.join(map(str, missing))}.")
    return {p: float(by_label[str(p)]) for p in data.periods}


def _check_out(path: str) -> None:
    if not path.endswith((".nc", ".nc4", ".netcdf")):
        raise InputError(f"--out {path}: a fit is written as NetCDF; use a .nc file name.")


def run(args: argparse.Namespace) -> int:
    _check_out(args.out)
    data = load_capture_data(args)
    denominator = read_denominator(args.denominator, data) if args.denominator else None
    for name, value in (("--draws", args.draws), ("--tune", args.tune), ("--chains", args.chains)):
        if value < 1:
            raise InputError(f"{name} must be at least 1.")
    if args.target_accept is not None and not 0.5 < args.target_accept < 1.0:
        raise InputError("--target-accept must be between 0.5 and 1 (exclusive).")
    from hiddenpop.inference import fit  # imports PyMC: only when fitting

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # printed below, once
        result = fit(
            data,
            args.model,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            seed=args.seed,
            sampler=args.sampler,
            target_accept=args.target_accept,
            denominator=denominator,
            progressbar=sys.stderr.isatty(),
        )
    write_atomically(args.out, result.save)
    print_summary(result, as_json=args.json)
    print(f"fit written to {args.out}", file=sys.stderr)
    return 0
