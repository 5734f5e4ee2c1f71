"""Figures of the sensitivity checks (matplotlib; they read the result tables only)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_power_scaling", "plot_result", "plot_tipping_point", "plot_variants"]


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_variants(table: pd.DataFrame, *, title: str = ""):
    """Posterior mean and 90% interval of each key quantity under each variant.

    One panel per quantity (and period); variants top to bottom, the baseline first with
    its interval shaded across the panel.
    """
    plt = _pyplot()
    table = table.assign(label=table["quantity"] + "[" + table["period"].astype(str) + "]")
    table = table[table["quantity"] != "reporting_share"]
    panels = list(dict.fromkeys(table["label"]))
    variants = list(dict.fromkeys(table["variant"]))
    columns = min(3, len(panels))
    rows = -(-len(panels) // columns)
    height = 0.5 + 0.28 * len(variants)
    figure, axes = plt.subplots(
        rows, columns, figsize=(4.2 * columns, height * rows + 0.6), squeeze=False, sharey=True
    )
    positions = {variant: -i for i, variant in enumerate(variants)}
    for axis, panel in zip(axes.flat, panels, strict=False):
        part = table[table["label"] == panel]
        base = part[part["variant"] == variants[0]]
        if not base.empty:
            axis.axvspan(base["q05"].iloc[0], base["q95"].iloc[0], color="0.9")
        if panel.startswith(("true_growth", "reporting_growth")):
            axis.axvline(1.0, color="0.4", lw=0.8, ls="--")
        y = part["variant"].map(positions).to_numpy()
        axis.hlines(y, part["q05"], part["q95"], color="tab:blue")
        axis.plot(part["mean"], y, "o", color="tab:blue", ms=4)
        axis.set_title(panel, fontsize=9)
        axis.tick_params(labelsize=8)
    for axis in axes.flat[len(panels) :]:
        axis.set_visible(False)
    for axis in axes[:, 0]:
        axis.set_yticks(list(positions.values()), list(positions))
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return figure


def plot_power_scaling(table: pd.DataFrame, *, threshold: float = 0.05):
    """Prior and likelihood power-scaling sensitivity per key quantity, with the 0.05 line."""
    plt = _pyplot()
    labels = (table["quantity"] + "[" + table["period"].astype(str) + "]").tolist()
    y = np.arange(len(labels))
    figure, axis = plt.subplots(figsize=(6, 0.8 + 0.35 * len(labels)))
    axis.barh(y - 0.2, table["prior_sensitivity"], height=0.4, label="prior")
    axis.barh(y + 0.2, table["likelihood_sensitivity"], height=0.4, label="likelihood")
    axis.axvline(threshold, color="0.3", ls="--", lw=0.8)
    axis.set_yticks(y, labels)
    axis.invert_yaxis()
    axis.set_xlabel("power-scaling sensitivity (CJS derivative)")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_tipping_point(table: pd.DataFrame, details: dict):
    """Adjusted true growth against unmodelled coverage growth, with the tipping points."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 4))
    x = table["coverage_growth"]
    axis.fill_between(x, table["q05"], table["q95"], color="tab:blue", alpha=0.25, label="90%")
    axis.plot(x, table["q50"], color="tab:blue", label="median")
    axis.axhline(1.0, color="0.3", lw=0.8)
    for key, style in (("c_median", "--"), ("c_credible", ":")):
        if details.get(key, 0) > 0:
            axis.axvline(details[key], color="tab:red", ls=style, lw=1, label=key)
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    axis.set_xscale("log")
    axis.set_yscale("log")
    for scale in (axis.xaxis, axis.yaxis):
        scale.set_major_formatter(ScalarFormatter())
        scale.set_minor_formatter(NullFormatter())
    axis.set_xlabel("unmodelled coverage growth C_T / C_1")
    axis.set_ylabel("true growth N_T / N_1, adjusted")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def plot_result(result):
    """The figure of a :class:`~hiddenpop.sensitivity.SensitivityResult`."""
    if result.check == "power-scaling":
        return plot_power_scaling(result.table)
    if result.check == "tipping-point":
        return plot_tipping_point(result.table, result.details)
    return plot_variants(result.table, title=f"{result.check} sensitivity")
