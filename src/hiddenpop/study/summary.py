"""Summary of a simulation study: one row per scenario, model and quantity.

Columns (CONTRACT.md ``summary.csv`` first, then extras). The estimate is the posterior mean,
intervals are the equal-tailed 90% intervals; per-period rows (``N``) are pooled over periods.

====================  =================================================================
column                meaning
====================  =================================================================
``coverage_90``       share of rows whose 90% interval holds the truth
``bias``              mean of (estimate - truth)
``rmse``              root mean square of (estimate - truth)
``mean_width``        mean width of the 90% interval
``n``                 rows scored (replicates x periods)
``relative_bias``     mean of (estimate / truth - 1): comparable across scales
``relative_rmse``     root mean square of (estimate / truth - 1)
``prob_right_sign``   growth only: mean posterior probability that log growth has the sign
                      of the true log growth (Pr(right sign))
``share_right_sign``  growth only: share of replicates whose posterior median has that sign
``coverage_se``       binomial standard error of ``coverage_90``: sqrt(c (1 - c) / n)
``failed``            fits that raised an error (not scored)
``divergent_fits``    fits with at least one divergent transition
``seconds``           mean wall time of a fit (simulation, sampling and scoring)
====================  =================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SUMMARY_COLUMNS", "summarise"]

#: Columns of ``summary.csv``; the first eight are the CONTRACT.md columns.
SUMMARY_COLUMNS = [
    "scenario",
    "model",
    "quantity",
    "coverage_90",
    "bias",
    "rmse",
    "mean_width",
    "n",
    "relative_bias",
    "relative_rmse",
    "prob_right_sign",
    "share_right_sign",
    "coverage_se",
    "failed",
    "divergent_fits",
    "seconds",
]


def _scores(rows: pd.DataFrame) -> dict:
    error = rows["mean"] - rows["truth"]
    relative = rows["mean"] / rows["truth"] - 1.0
    coverage = float(rows["covered_90"].astype(bool).mean())
    n = len(rows)
    growth = rows["prob_right_sign"].notna()
    out = {
        "coverage_90": coverage,
        "bias": float(error.mean()),
        "rmse": float(np.sqrt((error**2).mean())),
        "mean_width": float(rows["width_90"].mean()),
        "n": n,
        "relative_bias": float(relative.mean()),
        "relative_rmse": float(np.sqrt((relative**2).mean())),
        "prob_right_sign": np.nan,
        "share_right_sign": np.nan,
        "coverage_se": float(np.sqrt(coverage * (1.0 - coverage) / n)),
    }
    if growth.any():
        scored = rows[growth]
        median_sign = np.sign(np.log(scored["q50"])) == np.sign(np.log(scored["truth"]))
        out["prob_right_sign"] = float(scored["prob_right_sign"].mean())
        out["share_right_sign"] = float(median_sign.mean())
    return out


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """The study summary from the rows of ``results.csv`` (see the module docstring)."""
    records = []
    failed = results[results["quantity"] == "error"]
    scored = results[results["quantity"] != "error"]
    fits = scored.drop_duplicates(["scenario", "model", "replicate"])
    for (scenario, model), group in scored.groupby(["scenario", "model"], sort=False):
        pair_fits = fits[(fits["scenario"] == scenario) & (fits["model"] == model)]
        pair_failed = failed[(failed["scenario"] == scenario) & (failed["model"] == model)]
        for quantity, rows in group.groupby("quantity", sort=False):
            records.append(
                {
                    "scenario": scenario,
                    "model": model,
                    "quantity": quantity,
                    **_scores(rows),
                    "failed": len(pair_failed),
                    "divergent_fits": int((pair_fits["divergences"] > 0).sum()),
                    "seconds": float(pair_fits["seconds"].mean()),
                }
            )
    for (scenario, model), rows in failed.groupby(["scenario", "model"], sort=False):
        if not ((scored["scenario"] == scenario) & (scored["model"] == model)).any():
            records.append(
                {
                    "scenario": scenario,
                    "model": model,
                    "quantity": "error",
                    "n": 0,
                    "failed": len(rows),
                    "seconds": float(rows["seconds"].mean()),
                }
            )
    return pd.DataFrame(records).reindex(columns=SUMMARY_COLUMNS)
