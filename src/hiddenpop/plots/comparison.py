"""Plots that compare fits: sensitivity (one quantity under several assumptions) and studies.

A sensitivity plot is a forest plot: one row per fit (or per row of a table), the posterior
median with its 50% and 90% intervals. A study plot reads the ``summary.csv`` of
``hiddenpop study`` (CONTRACT.md: ``scenario, model, quantity, coverage_90, bias, rmse,
mean_width, n``) and shows coverage against the nominal 90% (with its Monte Carlo band),
bias and interval width per scenario and model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hiddenpop.constants import CREDIBLE_INTERVAL, INTERVAL_QUANTILES, PERIOD_DIM, TAIL_QUANTILES
from hiddenpop.plots.elements import (
    COLOURS,
    INNER_LABEL,
    OUTER_LABEL,
    PlotError,
    figure_and_axes,
    growth_axis,
    new_figure,
)

__all__ = ["SENSITIVITY_QUANTITIES", "plot_sensitivity", "plot_study", "quantity_draws"]

#: Quantities a sensitivity plot can compare; per-period ones take ``period=`` (default last).
SENSITIVITY_QUANTITIES = {
    "true_growth": "true growth N_T / N_1",
    "reporting_growth": "reporting growth (realised)",
    "reporting_share": "share of growth from reporting",
    "N": "population size N",
    "detection_fraction": "P*: reported at least once",
    "prevalence_per_10k": "prevalence per 10,000",
}
PER_PERIOD = ("N", "detection_fraction", "prevalence_per_10k")
STUDY_METRICS = {
    "coverage_90": f"coverage of the {CREDIBLE_INTERVAL:.0%} interval",
    "bias": "bias (estimate - truth)",
    "rmse": "RMSE",
    "mean_width": "mean interval width",
}
INTERVAL_COLUMNS = ("q05", "q50", "q95")


def quantity_draws(result, quantity: str, *, period=None) -> np.ndarray:
    """Flat posterior draws of one quantity of a fit (see :data:`SENSITIVITY_QUANTITIES`)."""
    if quantity not in SENSITIVITY_QUANTITIES:
        raise PlotError(
            f"unknown quantity '{quantity}'; choose one of {', '.join(SENSITIVITY_QUANTITIES)}."
        )
    if quantity.endswith(("growth", "share")):
        growth = result.growth
        if growth is None:
            raise PlotError(f"'{quantity}' compares periods; a fit has only one period.")
        name = {"true_growth": "true", "reporting_growth": "reporting_realised"}.get(
            quantity, "reporting_share"
        )
        return growth[name].values.ravel()
    draws = {
        "N": result.abundance,
        "detection_fraction": result.detection_fraction,
        "prevalence_per_10k": result.prevalence_per_10k,
    }[quantity]
    if draws is None:
        raise PlotError("a fit has no denominator, so no prevalence.")
    selected = draws.isel({PERIOD_DIM: -1}) if period is None else draws.sel({PERIOD_DIM: period})
    return selected.values.ravel().astype(float)


def _intervals(rows: Mapping | pd.DataFrame, quantity: str, period) -> pd.DataFrame:
    if isinstance(rows, pd.DataFrame):
        missing = [c for c in ("label", *INTERVAL_COLUMNS) if c not in rows.columns]
        if missing:
            raise PlotError(f"the sensitivity table lacks column(s) {', '.join(missing)}.")
        return rows.reset_index(drop=True)
    levels = (INTERVAL_QUANTILES[0], TAIL_QUANTILES[0], 0.5, TAIL_QUANTILES[1], 0.95)
    table = []
    for label, result in rows.items():
        draws = quantity_draws(result, quantity, period=period)
        values = np.nanquantile(draws, levels)
        table.append(dict(zip(("q05", "q25", "q50", "q75", "q95"), values, strict=True)))
        table[-1]["label"] = str(label)
    return pd.DataFrame(table)


def plot_sensitivity(
    results: Mapping | pd.DataFrame,
    *,
    quantity: str = "true_growth",
    period=None,
    reference: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Forest plot of one quantity across fits made under different assumptions.

    Parameters
    ----------
    results : mapping of label to FitResult, or DataFrame
        The fits to compare (read only), or a table with columns ``label, q05, q50, q95``
        (and optionally ``q25, q75`` for the inner band), one row per assumption.
    quantity : str
        One of :data:`SENSITIVITY_QUANTITIES` (ignored for a table except as the axis label).
    period : period label, optional
        For per-period quantities; default the last period.
    reference : float, optional
        A vertical reference line (default 1 for growth ratios, none otherwise).
    ax : matplotlib Axes, optional
    title : str, optional
        Axes title (default: a generic one).

    Returns
    -------
    matplotlib.figure.Figure
        One row per fit: a thin 90% line, a thick 50% line, the median as a point.
    """
    table = _intervals(results, quantity, period)
    if table.empty:
        raise PlotError("nothing to compare: no fits or rows were given.")
    figure, (ax,) = figure_and_axes(ax, 1, height=1.8 + 0.45 * len(table))
    y = np.arange(len(table), dtype=float)[::-1]
    ax.hlines(
        y, table["q05"], table["q95"], color=COLOURS["true"], linewidth=1.5, label=OUTER_LABEL
    )
    if {"q25", "q75"} <= set(table.columns):
        ax.hlines(
            y, table["q25"], table["q75"], color=COLOURS["true"], linewidth=5, label=INNER_LABEL
        )
    ax.plot(table["q50"], y, "o", color=COLOURS["observed"], label="posterior median")
    if reference is None and quantity.endswith("growth"):
        reference = 1.0
    if reference is not None:
        ax.axvline(reference, color=COLOURS["reference"], linestyle="--", linewidth=0.8)
    if quantity.endswith("growth"):
        growth_axis(ax.xaxis)
    ax.set_yticks(y)
    ax.set_yticklabels(table["label"].astype(str))
    ax.set_ylim(-0.7, len(table) - 0.3)
    label = SENSITIVITY_QUANTITIES.get(quantity, quantity)
    if period is None and quantity in PER_PERIOD and isinstance(results, Mapping) and results:
        period = next(iter(results.values())).periods[-1]
    ax.set_xlabel(label if period is None else f"{label} in {period}")
    ax.set_title(title or "the same quantity under different assumptions")
    ax.legend(loc="best", fontsize="small")
    return figure


def read_study_summary(summary: pd.DataFrame | str | os.PathLike) -> pd.DataFrame:
    """The study summary table, from a DataFrame, ``summary.csv`` or its directory."""
    if isinstance(summary, pd.DataFrame):
        return summary
    path = os.fspath(summary)
    if os.path.isdir(path):
        path = os.path.join(path, "summary.csv")
    if not os.path.isfile(path):
        raise PlotError(f"{path}: no study summary (expected DIR/summary.csv).")
    return pd.read_csv(path)


def plot_study(
    summary: pd.DataFrame | str | os.PathLike,
    *,
    quantity: str | None = None,
    metrics: Sequence[str] = ("coverage_90", "bias", "mean_width"),
) -> Figure:
    """Coverage, bias and width per scenario (rows) and model (colours) from a study summary.

    Parameters
    ----------
    summary : DataFrame, path of ``summary.csv`` or the study directory
        Columns ``scenario, model, quantity`` and the metrics (CONTRACT.md).
    quantity : str, optional
        Which quantity to show (e.g. ``"N"``, ``"true_growth"``); default ``true_growth``
        when present, else the first.
    metrics : sequence of str
        Columns to plot, one panel each (``coverage_90``, ``bias``, ``rmse``, ``mean_width``).

    Returns
    -------
    matplotlib.figure.Figure
        The coverage panel has the nominal 90% line and, when the table has ``n``, the band
        of ±2 Monte Carlo standard errors around it.
    """
    table = read_study_summary(summary)
    missing = [c for c in ("scenario", "model", "quantity", *metrics) if c not in table.columns]
    if missing:
        raise PlotError(f"the study summary lacks column(s) {', '.join(missing)}.")
    quantities = list(dict.fromkeys(table["quantity"]))
    if quantity is None:
        quantity = "true_growth" if "true_growth" in quantities else quantities[0]
    table = table[table["quantity"] == quantity]
    if table.empty:
        raise PlotError(f"the study has no rows for quantity '{quantity}'; it has {quantities}.")
    scenarios = list(dict.fromkeys(table["scenario"]))
    models = list(dict.fromkeys(table["model"]))
    figure, axes = new_figure(1, len(metrics), width=4.2, height=1.5 + 0.5 * len(scenarios))
    offsets = np.linspace(-0.25, 0.25, len(models)) if len(models) > 1 else np.zeros(1)
    y_of = {scenario: float(len(scenarios) - 1 - i) for i, scenario in enumerate(scenarios)}
    for ax, metric in zip(axes, metrics, strict=True):
        for offset, model in zip(offsets, models, strict=True):
            rows = table[table["model"] == model]
            ax.plot(
                rows[metric],
                [y_of[s] + offset for s in rows["scenario"]],
                marker="o",
                linestyle="none",
                label=str(model),
            )
        if metric == "coverage_90":
            ax.axvline(CREDIBLE_INTERVAL, color=COLOURS["reference"], linestyle="--")
            if "n" in table.columns and table["n"].min() > 0:
                error = 2 * np.sqrt(CREDIBLE_INTERVAL * (1 - CREDIBLE_INTERVAL) / table["n"].min())
                ax.axvspan(
                    CREDIBLE_INTERVAL - error,
                    CREDIBLE_INTERVAL + error,
                    color=COLOURS["reference"],
                    alpha=0.15,
                    label="±2 Monte Carlo s.e.",
                )
            ax.set_xlim(0, 1.02)
        elif metric == "bias":
            ax.axvline(0.0, color=COLOURS["reference"], linestyle="--")
        ax.set_yticks(list(y_of.values()))
        ax.set_yticklabels(scenarios)
        ax.set_xlabel(STUDY_METRICS.get(metric, metric))
    axes[0].legend(title="model", loc="best", fontsize="small")
    figure.suptitle(f"simulation study: {quantity}")
    return figure
