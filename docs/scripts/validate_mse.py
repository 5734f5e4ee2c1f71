"""Validation table of the multiple-systems models on the bundled list datasets.

Writes one JSON line per dataset and model: the posterior median and 90% interval of N, the
diagnostics and the fit time, and the maximum-likelihood fits of the matching log-linear
models (independence, all two-way interactions) with 95% profile-likelihood intervals.

    python docs/scripts/validate_mse.py OUT.jsonl
        [--models mse-loglinear,mse-latent-class,mse-lcmcr] [--datasets kosovo,...]
        [--draws 1000] [--tune 1000] [--chains 2] [--mle-only]
    python docs/scripts/validate_mse.py A.jsonl,B.jsonl --table     # the markdown table

docs/validation_mse.md shows the table made from its output.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from itertools import combinations

import arviz as az
from scipy import stats

from hiddenpop.datasets import load_dataset
from hiddenpop.inference import fit
from hiddenpop.likelihood.lists_mle import fit_loglinear

__all__ = ["DATASETS", "markdown_table", "stepwise_terms", "validate"]

DATASETS = (
    "kosovo",
    "uk_modern_slavery_2013",
    "uk_modern_slavery_2013_5list",
    "hiv_rome",
    "diabetes_italy",
    "congenital_anomaly_ma",
    "netherlands_trafficking",
    "new_orleans_trafficking",
    "us_western_trafficking",
)


#: the table's model columns
MODELS = ("mse-loglinear", "mse-latent-class", "mse-lcmcr")


def _mle(data, terms) -> dict:
    result = fit_loglinear(data, terms, level=0.95)
    return {
        "N": result.abundance,
        "interval95": list(result.interval),
        "exists": result.exists,
        "deviance": result.deviance,
        "df": result.df,
        "aic": result.aic,
    }


def stepwise_terms(data, pthresh: float = 0.02) -> list[tuple[str, str]]:
    """Forward selection of two-way terms, in the manner of SparseMSE's ``stepwisefit``.

    Starting from independence, add the pairwise term whose likelihood-ratio test has the
    smallest p-value while that p-value is below ``pthresh``, among terms whose MLE exists.
    """
    labels = [str(s) for s in data.stats["source"].values]
    terms: list[tuple[str, str]] = []
    current = fit_loglinear(data, terms)
    while True:
        best = None
        for term in combinations(labels, 2):
            if term in terms:
                continue
            candidate = fit_loglinear(data, [*terms, term])
            if not candidate.exists:
                continue
            p = stats.chi2.sf(current.deviance - candidate.deviance, 1)
            if best is None or p < best[0]:
                best = (p, term, candidate)
        if best is None or best[0] >= pthresh:
            return terms
        terms.append(best[1])
        current = best[2]


def validate(name: str, model: str, *, draws: int, tune: int, chains: int) -> dict:
    """Bayesian fit and the matching MLEs of one dataset."""
    data = load_dataset(name)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(data, model, draws=draws, tune=tune, chains=chains, seed=2026)
    seconds = time.perf_counter() - start
    summary = result.summary()
    return {
        "dataset": name,
        "model": model,
        "lists": int(data.n_occasions[0]),
        "detected": int(data.detected[0]),
        "N": {k: summary["N"][k][0] for k in ("q05", "q50", "q95")},
        "detection_fraction": summary["detection_fraction"]["q50"][0],
        "ess_N": float(az.ess(result.idata.posterior["N"])["N"].min()),
        "rhat_N": float(az.rhat(result.idata.posterior["N"])["N"].max()),
        "diagnostics": summary["diagnostics"],
        "warnings": summary["warnings"],
        "seconds": round(seconds, 1),
        "mle_independence": _mle(data, []),
        "mle_two_way": _mle(data, 2),
        "mle_stepwise": {"terms": stepwise_terms(data), **_mle(data, stepwise_terms(data))},
    }


def _mle_cell(mle: dict) -> str:
    if not mle["exists"]:
        return "no MLE"
    low, high = mle["interval95"]
    return f"{mle['N']:,.0f} ({low:,.0f}-{high:,.0f})"


def markdown_table(paths: list[str]) -> str:
    """The validation table from the JSON lines of earlier runs (later lines win)."""
    rows: dict[str, dict] = {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                entry = rows.setdefault(row["dataset"], {})
                entry.update({k: v for k, v in row.items() if k.startswith("mle_")})
                if "model" in row:
                    entry[row["model"]] = row
    lines = [
        "| dataset | independence MLE | two-way MLE | stepwise MLE | mse-loglinear | "
        "mse-latent-class | mse-lcmcr |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in DATASETS:
        if name not in rows:
            continue
        entry = rows[name]
        cells = [name]
        cells += [_mle_cell(entry[k]) for k in ("mle_independence", "mle_two_way", "mle_stepwise")]
        for model in MODELS:
            fit_row = entry.get(model)
            if fit_row is None:
                cells.append("not run")
                continue
            n = fit_row["N"]
            d = fit_row["diagnostics"]
            cells.append(
                f"{n['q50']:,.0f} ({n['q05']:,.0f}-{n['q95']:,.0f}); "
                f"R-hat {d['rhat_max']:.2f}, "
                + (
                    f"N's R-hat {fit_row['rhat_N']:.2f} and ESS {fit_row['ess_N']:.0f}, "
                    if "rhat_N" in fit_row
                    else ""
                )
                + (f"{d['divergences']} div, " if model != "mse-lcmcr" else "Gibbs, ")
                + f"{fit_row['seconds']:.0f} s"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--models", default="mse-loglinear,mse-latent-class")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--mle-only", action="store_true", help="only the MLE columns")
    parser.add_argument("--table", action="store_true", help="print the table from OUT files")
    args = parser.parse_args()
    if args.table:
        print(markdown_table(args.out.split(",")))
        return
    if args.mle_only:
        for name in args.datasets.split(","):
            data = load_dataset(name)
            terms = stepwise_terms(data)
            row = {
                "dataset": name,
                "mle_independence": _mle(data, []),
                "mle_two_way": _mle(data, 2),
                "mle_stepwise": {"terms": terms, **_mle(data, terms)},
            }
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
        return
    for name in args.datasets.split(","):
        for model in args.models.split(","):
            row = validate(name, model, draws=args.draws, tune=args.tune, chains=args.chains)
            with open(args.out, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
            print(name, model, row["N"], row["seconds"], "s", flush=True)


if __name__ == "__main__":
    main()
