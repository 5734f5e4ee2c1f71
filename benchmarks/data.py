"""Speed and memory of building CaptureData from detection records.

Prints a table (records, seconds, records per second, peak memory) and writes JSON to
``benchmarks/results/data.json``. Each size runs in a fresh subprocess so the peak resident
memory it reports is that of one build. Usage::

    python benchmarks/data.py                 # 10^5 .. 10^7 records, integer ids
    python benchmarks/data.py --sizes 1e7 --string-ids --csv   # IP-like ids, from a file
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"


def make_records(n_records: int, *, string_ids: bool, seed: int = 0) -> pd.DataFrame:
    """Hotline-like records: 8 years x 52 weeks, ids drawn from a large pool with repeats."""
    rng = np.random.default_rng(seed)
    pool = max(n_records // 3, 10)
    ids = rng.integers(0, pool, n_records)
    records = pd.DataFrame(
        {
            "ip": ids if not string_ids else pd.Series(ids).map("10.{:08d}".format),
            "year": rng.integers(2010, 2018, n_records),
            "week": rng.integers(1, 53, n_records),
        }
    )
    return records


def one_run(n_records: int, string_ids: bool, csv: bool) -> dict:
    import tempfile
    import warnings

    from hiddenpop.data import CaptureData

    records = make_records(n_records, string_ids=string_ids)
    if csv:  # time the whole path from a file on disk, reading included
        path = Path(tempfile.mkdtemp()) / "records.csv"
        records.to_csv(path, index=False)
        del records
        records = path
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = CaptureData.from_records(records, id="ip", period="year", occasion="week")
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "records": n_records,
        "string_ids": string_ids,
        "from_csv": csv,
        "seconds": seconds,
        "records_per_second": n_records / seconds,
        "peak_rss_mb": peak / 1024,
        "input_rss_mb": before / 1024,
        "detected_total": int(data.detected.sum()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e5,1e6,1e7")
    parser.add_argument("--string-ids", action="store_true")
    parser.add_argument("--csv", action="store_true", help="read the records from a CSV file")
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(one_run(int(args.child), args.string_ids, args.csv)))
        return
    rows = []
    for size in (float(s) for s in args.sizes.split(",")):
        command = [sys.executable, __file__, "--child", str(size)]
        command += ["--string-ids"] * args.string_ids + ["--csv"] * args.csv
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print(
        f"{'records':>12} {'ids':>7} {'input':>6} {'seconds':>8} {'records/s':>12} {'peak MB':>8}"
    )
    for r in rows:
        kind = "string" if r["string_ids"] else "int"
        where = "csv" if r["from_csv"] else "memory"
        print(
            f"{r['records']:>12,} {kind:>7} {where:>6} {r['seconds']:>8.2f} "
            f"{r['records_per_second']:>12,.0f} {r['peak_rss_mb']:>8.0f}"
        )
    RESULTS.mkdir(exist_ok=True)
    suffix = "_string" * args.string_ids + "_csv" * args.csv
    (RESULTS / f"data{suffix}.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
