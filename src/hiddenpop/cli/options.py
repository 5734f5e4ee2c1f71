"""Options shared by the commands that read capture data (describe, fit, sensitivity)."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from hiddenpop.data import CaptureData
from hiddenpop.datasets import dataset_names, load_dataset
from hiddenpop.exceptions import ColumnError, FileFormatError

__all__ = ["add_data_arguments", "dump_json", "load_capture_data", "write_atomically"]


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """DATA plus the record, history and frequency options of CONTRACT.md."""
    parser.add_argument(
        "data",
        metavar="DATA",
        help="records or history table (CSV or Parquet), or the name of a bundled dataset",
    )
    records = parser.add_argument_group("detection records (one row per detection)")
    records.add_argument("--id", metavar="COL", help="unit identifier column")
    records.add_argument("--period", metavar="COL", help="primary period column")
    records.add_argument("--occasion", metavar="COL", help="secondary occasion column")
    records.add_argument("--source", metavar="COL", help="source / list column")
    records.add_argument(
        "--all-occasions",
        action="store_true",
        help="every period has every occasion label seen anywhere (default: those seen in it)",
    )
    tables = parser.add_argument_group("history and frequency tables")
    tables.add_argument(
        "--histories", action="store_true", help="DATA is a history table (0/1 columns + count)"
    )
    tables.add_argument(
        "--lists", action="store_true", help="the history columns are lists (sources)"
    )
    tables.add_argument(
        "--layout",
        metavar="SPEC",
        help="robust design: 'auto' (names like p3s2) or occasions per period, e.g. 2,2,4,5,2",
    )
    tables.add_argument("--count", metavar="COL", default="count", help="count column")
    tables.add_argument(
        "--columns", metavar="C1,C2,...", help="history columns in order (default: all but count)"
    )
    tables.add_argument(
        "--frequencies",
        action="store_true",
        help="DATA is a capture-frequency table (n_captures,count)",
    )
    tables.add_argument(
        "--n-occasions", type=int, metavar="K", help="occasions of a frequency table"
    )


def _layout(spec: str | None):
    if spec is None or spec == "auto":
        return spec
    try:
        return [int(x) for x in spec.split(",")]
    except ValueError:
        raise ColumnError(
            f"--layout must be 'auto' or occasions per period such as 2,2,4; got {spec!r}."
        ) from None


def load_capture_data(args: argparse.Namespace) -> CaptureData:
    """Build :class:`CaptureData` from parsed command-line options."""
    path = Path(args.data)
    record_options = [args.id, args.period, args.occasion, args.source]
    if not path.exists() and args.data in dataset_names():
        if any(record_options) or args.histories or args.frequencies:
            raise ColumnError(
                f"'{args.data}' is a bundled dataset; it takes no record or table options."
            )
        return load_dataset(args.data, n_occasions=args.n_occasions)
    if not path.exists():
        raise FileFormatError(
            f"{args.data}: no such file (and no bundled dataset of that name; "
            "`hiddenpop describe --help` lists the options)."
        )
    if args.frequencies:
        return CaptureData.from_frequencies(path, n_occasions=args.n_occasions)
    if args.histories:
        if any(record_options):
            raise ColumnError("--histories takes no --id/--period/--occasion/--source options.")
        return CaptureData.from_histories(
            path,
            columns=args.columns.split(",") if args.columns else None,
            count=args.count,
            layout=_layout(args.layout),
            kind="source" if args.lists else "occasion",
        )
    if args.id is None or (args.occasion is None and args.source is None):
        raise ColumnError(
            f"{args.data}: name the record columns with --id and --occasion (or --source), "
            "or pass --histories for a history table."
        )
    return CaptureData.from_records(
        path,
        id=args.id,
        period=args.period,
        occasion=args.occasion,
        source=args.source,
        occasions="union" if args.all_occasions else None,
    )


def write_atomically(path: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)`` then move the file into place, so failures leave nothing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(handle)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def dump_json(obj) -> str:
    """JSON text with NaN written as null (strict JSON for scripts)."""
    return json.dumps(_finite(obj), indent=2)


def _finite(obj):
    if isinstance(obj, float):
        return obj if obj == obj and abs(obj) != float("inf") else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
