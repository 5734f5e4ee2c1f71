"""``hiddenpop scenarios`` and ``hiddenpop simulate``: the scenario catalogue and the simulator.

::

    hiddenpop scenarios
    hiddenpop simulate --scenario NAME [--seed S] --out RECORDS.csv|.parquet
                       [--truth TRUTH.json] [--denominator DENOMINATOR.csv]
                       [--set KEY=VALUE ...]

``--set`` overrides one setting of the scenario; the value is read as JSON where it parses
(``n_occasions=12``, ``detection=[0.001,0.003]``, ``source_dependence=[["A","B",2]]``) and as
text otherwise (``heterogeneity=mixture``).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hiddenpop.cli.options import dump_json, write_atomically
from hiddenpop.exceptions import FileFormatError, ScenarioError
from hiddenpop.simulation import (
    DEFAULT_SCENARIO,
    describe_scenario,
    get_scenario,
    scenario_names,
    simulate,
)

__all__ = ["parse_override", "register"]

_RECORD_SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def register(subparsers) -> None:
    """Add the ``scenarios`` and ``simulate`` commands."""
    listing = subparsers.add_parser(
        "scenarios",
        help="list simulation scenarios with one line each",
        description="The simulation scenarios (METHODS.md §7), one line each.",
    )
    listing.set_defaults(handler=run_scenarios)

    parser = subparsers.add_parser(
        "simulate",
        help="simulate detection records with known truth",
        description="Simulate detection records (id, period, occasion or source) from a "
        "scenario, with the truth (abundance, detections, growth, every parameter) as JSON.",
    )
    parser.add_argument(
        "--scenario",
        default=DEFAULT_SCENARIO,
        metavar="NAME",
        help=f"scenario name (default {DEFAULT_SCENARIO}; `hiddenpop scenarios` lists them)",
    )
    parser.add_argument("--seed", type=int, help="random seed (default: drawn and printed)")
    parser.add_argument(
        "--out", required=True, metavar="RECORDS", help="records file, .csv or .parquet"
    )
    parser.add_argument("--truth", metavar="TRUTH.json", help="write the truth as JSON")
    parser.add_argument(
        "--denominator",
        metavar="FILE",
        help="write the denominator (period,denominator) as CSV, for scenarios that have one",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a setting, e.g. --set n_occasions=12 (repeatable)",
    )
    parser.set_defaults(handler=run_simulate)


def run_scenarios(args: argparse.Namespace) -> int:
    names = scenario_names()
    width = max(len(name) for name in names)
    for name in names:
        print(f"{name.ljust(width)}  {describe_scenario(name)}")
    return 0


def parse_override(text: str) -> tuple[str, Any]:
    """Split ``KEY=VALUE``; the value is JSON where it parses (lists become tuples)."""
    key, sep, raw = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key:
        raise ScenarioError(f"--set needs KEY=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw.strip()
    return key, _tuples(value)


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    return value


def _record_format(path: str) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in _RECORD_SUFFIXES:
        raise FileFormatError(
            f"{path}: records are written as .csv or .parquet, not {suffix or 'no extension'!r}."
        )
    return _RECORD_SUFFIXES[suffix]


def _write_all(outputs: dict[str, Callable[[str], object]]) -> None:
    """Write every output or none: on a failure the files already written are removed."""
    written: list[Path] = []
    for path, write in outputs.items():
        try:
            write_atomically(path, write)
        except OSError as error:
            for done in written:
                done.unlink(missing_ok=True)
            raise FileFormatError(f"{path}: cannot be written ({error.strerror}).") from None
        written.append(Path(path))


def run_simulate(args: argparse.Namespace) -> int:
    record_format = _record_format(args.out)
    settings = get_scenario(args.scenario)
    overrides = dict(parse_override(item) for item in args.overrides)
    if overrides:
        settings = settings.updated(overrides)
    if args.denominator and settings.denominator is None:
        raise ScenarioError(
            f"scenario {args.scenario!r} has no denominator; "
            "add one with --set denominator=VALUE or drop --denominator"
        )
    sim = simulate(settings, seed=args.seed)
    summary = sim.summary()
    outputs = {}
    if record_format == "csv":
        outputs[args.out] = lambda tmp: sim.records.to_csv(tmp, index=False)
    else:
        outputs[args.out] = lambda tmp: sim.records.to_parquet(tmp, index=False)
    if args.truth:
        text = dump_json(summary) + "\n"
        outputs[args.truth] = lambda tmp: Path(tmp).write_text(text, encoding="utf-8")
    if args.denominator:
        table = sim.denominator_table()
        outputs[args.denominator] = lambda tmp: table.to_csv(tmp, index=False)
    _write_all(outputs)
    print(
        f"simulated {settings.name} (seed {sim.seed}): {len(sim.records):,} records, "
        f"{sum(summary['detected']):,} unit-periods detected over "
        f"{len(summary['periods'])} periods -> {args.out}"
    )
    return 0
