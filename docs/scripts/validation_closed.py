"""Closed-model maximum-likelihood estimates beside Rcapture's published values.

Prints the Markdown table of ``docs/validation_closed.md``. Run:
``python docs/scripts/validation_closed.py``. The published values and their sources are
those asserted in ``tests/test_likelihood_mle.py``.
"""

from __future__ import annotations

import warnings

import pandas as pd

from hiddenpop.data import CaptureData
from hiddenpop.datasets import load_dataset
from hiddenpop.likelihood.mle import fit_closed

EX = "Rcapture-Ex.Rout.save"
PAPERS = "testPapersResults.R"
SEBER = pd.DataFrame({"c1": [1, 1, 0], "c2": [1, 0, 1], "count": [167, 781, 254]})

# (dataset, period, model, heterogeneity (normal = Gauss-Hermite, trapezoid, mixture), nodes,
#  Rcapture N or None, source or note)
ROWS = [
    ("hare", 0, "M0", "normal", 40, 75.4, f"{EX}: closedp.t(hare)"),
    ("hare", 0, "Mt", "normal", 40, 75.1, f"{EX}: closedp.t(hare)"),
    ("hare", 0, "Mb", "normal", 40, 81.1, f"{EX}: closedp.t(hare)"),
    ("hare", 0, "Mtb", "normal", 40, 71.7, f"{EX}: closedp.Mtb(hare)"),
    ("hare", 0, "Mh", "normal", 20, 91.7, f"{PAPERS}: Dorazio & Royle (2003) Table 3"),
    ("hare", 0, "Mth", "normal", 20, 92.0, f"{PAPERS}: Coull & Agresti (1999) Table 2"),
    ("hare", 0, "Mh", "normal", 40, None, ""),
    ("hare", 0, "Mth", "normal", 40, None, ""),
    ("hare", 0, "Mh", "mixture", 40, None, ""),
    ("hare", 0, "Mbh", "normal", 40, None, "Rcapture's Mbh (74.2) is another model"),
    ("meadow_vole_robust", 2, "M0", "normal", 40, 51.1, f"{EX}: closedp.t(mvole[, 11:15])"),
    ("meadow_vole_robust", 2, "Mt", "normal", 40, 50.9, f"{EX}: closedp.t(mvole[, 11:15])"),
    ("meadow_vole_robust", 2, "Mb", "normal", 40, 51.0, f"{EX}: closedp.t(mvole[, 11:15])"),
    ("meadow_vole_robust", 2, "Mh", "normal", 20, None, "quadrature error: exact 182.85"),
    ("meadow_vole_robust", 2, "Mh", "normal", 40, None, "quadrature error: exact 182.85"),
    ("meadow_vole_robust", 2, "Mh", "trapezoid", 121, None, "= adaptive quadrature (182.85)"),
    ("seber_two_occasions", 0, "M0", "normal", 40, 2805.6, f"{EX}: Seber (1982) p. 107"),
    ("seber_two_occasions", 0, "Mt", "normal", 40, 2389.9, f"{EX}: Seber (1982) p. 107"),
    ("seber_two_occasions", 0, "Mb", "normal", 40, 1295.0, f"{EX}: Seber (1982) p. 107"),
    ("catbird_occupancy", 0, "M0", "normal", 40, 20.3, f"{EX}: closedp.0(catb, t = 11)"),
    ("catbird_occupancy", 0, "Mh", "normal", 20, None, "deviance 6.02 matches Royle (2006)"),
    ("bbs2001_species", 0, "Mh", "normal", 20, 82.2, f"{PAPERS}: Dorazio & Royle (2003) Table 3"),
    ("bbs2001_species", 0, "Mh", "normal", 40, 82.2, "quadrature error: exact 84.16"),
    ("bbs2001_species", 0, "Mh", "trapezoid", 121, 82.2, "= adaptive quadrature (84.16)"),
    *[
        (name, 0, model, "normal" if model != "Mh2" else "mixture", 40, None, "")
        for name in ("kosovo", "diabetes_italy", "congenital_anomaly_ma", "uk_modern_slavery_2013")
        for model in ("M0", "Mt", "Mh", "Mth", "Mh2")
    ],
]


def _stats(name: str):
    if name == "seber_two_occasions":
        return CaptureData.from_histories(SEBER).stats
    return load_dataset(name).stats


def main() -> None:
    print("| dataset | model | n | N-hat (se) | Rcapture N | difference | source or note |")
    print("|---|---|---|---|---|---|---|")
    for name, period, model, het, nodes, published, source in ROWS:
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            fit = fit_closed(
                _stats(name),
                model.rstrip("2"),
                heterogeneity="mixture" if het == "mixture" else "normal",
                n_nodes=nodes,
                quadrature="trapezoid" if het == "trapezoid" else "gauss-hermite",
                period=period,
                interval=None,
            )
        if het == "mixture":
            label = f"{model.rstrip('2')} 2-class mixture"
        elif het == "trapezoid":
            label = f"{fit.model} ({nodes} trapezoid nodes)"
        elif "h" in model[1:]:
            label = f"{fit.model} ({nodes} Gauss-Hermite nodes)"
        else:
            label = fit.model
        ours = f"{fit.abundance:,.2f} ({fit.stderr:,.2f})"
        if not fit.converged:
            ours, source = f"{fit.abundance:.3g}", "boundary: N not identified (warning)"
        reference = f"{published:,.1f}" if published is not None else "not found"
        difference = f"{fit.abundance - published:+.2f}" if published is not None else ""
        cells = [name, label, f"{fit.detected:.0f}", ours, reference, difference, source]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
