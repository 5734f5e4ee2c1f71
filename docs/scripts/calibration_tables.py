"""The tables of docs/calibration.md from study directories, finished or stopped early.

A study stopped before every task ran still has every finished replicate stored under
``DIR/tasks`` (replicate-major, so each model has about the same number); this script reads
those files, scores them with ``hiddenpop.study.summary.summarise`` (and SBC ranks with
``hiddenpop.study.calibration.uniformity``) and prints the Markdown tables: the pairs where
the model is right, the pairs where it is not, a pooled line, and the SBC table.

Usage::

    python docs/scripts/calibration_tables.py --study closed/ trend/ --sbc sbc/
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from hiddenpop.study.calibration import uniformity
from hiddenpop.study.runner import collect
from hiddenpop.study.summary import summarise

#: (scenario, model) pairs whose generating process is inside the model
HOMOGENEOUS = ("true-growth", "reporting-growth", "both")
CLOSED = ("M0", "Mt", "Mb", "Mh", "Mth")
RIGHT = {
    **{(s, m): True for s in HOMOGENEOUS for m in ("M0", "Mt", "Mb", "Mh", "Mth")},
    **{("heterogeneity", m): True for m in ("Mh", "Mth")},
    ("trap-shy", "Mb"): True,
    **{
        (s, m): True
        for s in (*HOMOGENEOUS, "heterogeneity", "declining-population")
        for m in ("robust-trend", "robust-trend-rw")
    },
    ("hotline", "robust-trend"): True,
    **{("list-dependence", m): True for m in ("mse-loglinear", "mse-latent-class")},
    ("heterogeneity (mixture)", "Mh-mixture"): True,
}
COLUMNS = (
    "| scenario | model | quantity | coverage 90% (± se) | relative bias | relative RMSE "
    "| mean width | Pr(right sign) | n | divergent fits |"
)


def read_tasks(directory: Path, max_replicate: int | None = None) -> pd.DataFrame:
    tasks = directory / "tasks"
    files = sorted(tasks.rglob("r*.csv"))
    if max_replicate is not None:  # a study stopped early: keep the complete replicates
        files = [f for f in files if int(f.stem[1:]) <= max_replicate]
    if not files:
        raise SystemExit(f"{directory}: no finished tasks")
    results = collect(directory, [f.relative_to(tasks).with_suffix("").as_posix() for f in files])
    settings = directory / "study.json"
    overrides = json.loads(settings.read_text()).get("overrides", {}) if settings.exists() else {}
    if overrides.get("heterogeneity") == "mixture":  # --set heterogeneity="mixture"
        results["scenario"] = results["scenario"] + " (mixture)"
    return results


def _row(r) -> str:
    sign = "" if pd.isna(r.prob_right_sign) else f"{r.prob_right_sign:.2f}"
    width = f"{r.mean_width:.3f}" if r.quantity != "N" else f"{r.mean_width:.1f}"
    return (
        f"| {r.scenario} | {r.model} | {r.quantity} | {r.coverage_90:.2f} ± {r.coverage_se:.2f} "
        f"| {r.relative_bias:+.3f} | {r.relative_rmse:.3f} | {width} | {sign} | {r.n} "
        f"| {r.divergent_fits} |"
    )


def study_tables(results: pd.DataFrame) -> None:
    results = results[results["quantity"].isin(["N", "true_growth", "error"])]
    pairs = zip(results["scenario"], results["model"], strict=True)
    right = np.array([RIGHT.get(pair, False) for pair in pairs], dtype=bool)
    fits = results.drop_duplicates(["scenario", "model", "replicate"])
    per_pair = fits.groupby(["scenario", "model"]).size()
    print(f"fits: {len(fits)}; replicates per pair: {per_pair.min()}-{per_pair.max()}")
    for title, rows in (("right", results[right]), ("wrong", results[~right])):
        print(f"\n### model {title}\n\n{COLUMNS}\n|---|---|---|---|---|---|---|---|---|---|")
        summary = summarise(rows).sort_values(["quantity", "scenario", "model"], kind="stable")
        for r in summary[summary["quantity"] != "error"].itertuples():
            print(_row(r))
    # pooled over the right pairs: one "scenario" per model kind
    pooled = results[right].assign(
        scenario="pooled, model right",
        model=results[right]["model"].where(~results[right]["model"].isin(CLOSED), "closed"),
    )
    for r in summarise(pooled).itertuples():
        cover = f"{r.coverage_90:.3f} ± {r.coverage_se:.3f}"
        print(f"{r.scenario}, {r.model}, {r.quantity}: {cover} (n={r.n})")


def sbc_table(directory: Path) -> None:
    ranks = read_tasks(directory)
    table = uniformity(ranks)
    print("\n| model | parameter | ranks | chi² (4 df) | p | verdict | bin counts |")
    print("|---|---|---|---|---|---|---|")
    for r in table.itertuples():
        label = (
            r.model
            if r.generator in (r.model, "", None) or pd.isna(r.generator)
            else f"{r.model} on {r.generator} data"
        )
        verdict = "pass" if r.ok else "FAIL"
        cells = [label, r.parameter, r.n, f"{r.chi2:.1f}", f"{r.p_value:.3g}", verdict, r.counts]
        print("| " + " | ".join(map(str, cells)) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", nargs="*", default=[], type=Path)
    parser.add_argument("--sbc", type=Path)
    parser.add_argument("--max-replicate", type=int, help="ignore replicates above this")
    args = parser.parse_args()
    if args.study:
        tables = [read_tasks(d, args.max_replicate) for d in args.study]
        study_tables(pd.concat(tables, ignore_index=True))
    if args.sbc:
        sbc_table(args.sbc)


if __name__ == "__main__":
    main()
