"""Population plots: the trend of N_t (or prevalence) and the decomposition of observed growth.

Both read a :class:`~hiddenpop.results.FitResult` and never refit. The decomposition uses the
exact identity n_t = N_t · (n_t / N_t) in every posterior draw (METHODS.md §1): relative to
the first period, observed growth = true growth × reporting growth, so on a log scale the two
factors add up to the observed change with no remainder.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hiddenpop.constants import PERIOD_DIM
from hiddenpop.plots.elements import (
    COLOURS,
    PlotError,
    draw_band,
    draw_quantiles,
    figure_and_axes,
    growth_axis,
    period_axis,
    read_truth,
)

__all__ = ["growth_indices", "plot_decomposition", "plot_trend"]

QUANTITIES = ("abundance", "prevalence")


def plot_trend(
    result,
    *,
    quantity: str = "abundance",
    truth=None,
    show_counts: bool = True,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Posterior trend of N_t (or prevalence per 10,000) with 50% and 90% bands.

    Parameters
    ----------
    result : FitResult
        A fit (read only).
    quantity : {"abundance", "prevalence"}
        ``"prevalence"`` needs a fit with a denominator.
    truth : Simulation, xarray.Dataset or dict, optional
        The simulated truth to overlay (``simulate(...)``, its ``.truth`` or the truth JSON).
    show_counts : bool
        Overlay the reported counts n_t (on the prevalence scale when plotting prevalence).
    ax : matplotlib Axes, optional
        Draw here instead of on a new figure.
    title : str, optional
        Axes title (default: the model and the quantity).

    Returns
    -------
    matplotlib.figure.Figure
        Lines labelled ``posterior median``, ``reported (n_t)`` and ``truth``; bands labelled
        ``90% interval`` and ``50% interval``.
    """
    if quantity not in QUANTITIES:
        raise PlotError(f"unknown quantity '{quantity}'; choose one of {', '.join(QUANTITIES)}.")
    figure, (ax,) = figure_and_axes(ax, 1)
    periods = list(result.periods)
    x = period_axis(ax, periods)
    detected = np.asarray(result.data.detected, dtype=float)
    if quantity == "prevalence":
        draws = result.prevalence_per_10k
        if draws is None:
            raise PlotError("this fit has no denominator, so no prevalence; plot 'abundance'.")
        scale = 1e4 / np.asarray(result.denominator, dtype=float)
        ylabel = "prevalence per 10,000"
    else:
        draws, scale, ylabel = result.abundance, np.ones(len(periods)), "population size N_t"
    draw_band(ax, x, draw_quantiles(draws), colour=COLOURS["true"], label="posterior median")
    if show_counts:
        ax.plot(
            x,
            detected * scale,
            color=COLOURS["observed"],
            marker="s",
            linestyle=":",
            label="reported (n_t)",
        )
    if truth is not None:
        known = read_truth(truth).aligned(periods)
        values = known.N * scale
        if quantity == "prevalence" and known.prevalence_per_10k is not None:
            values = known.prevalence_per_10k
        ax.plot(x, values, color=COLOURS["truth"], linestyle="--", marker="x", label="truth")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.set_title(title or f"{result.spec.name}: {ylabel}")
    ax.legend(loc="best", fontsize="small")
    return figure


def growth_indices(result) -> xr.Dataset:
    """Per-draw growth relative to the first period: ``true``, ``reporting``, ``observed``.

    ``true`` = N_t / N_1; ``reporting`` = (n_t / N_t) / (n_1 / N_1), the realised detection
    fraction; ``observed`` = n_t / n_1 (data, no draws). ``observed = true × reporting``
    holds exactly in every draw.
    """
    abundance = result.abundance.astype(float)
    detected = xr.DataArray(
        np.asarray(result.data.detected, dtype=float),
        dims=PERIOD_DIM,
        coords={PERIOD_DIM: abundance[PERIOD_DIM].values},
    )
    observed = detected / detected.isel({PERIOD_DIM: 0})
    true = abundance / abundance.isel({PERIOD_DIM: 0})
    return xr.Dataset({"true": true, "reporting": observed / true, "observed": observed})


def plot_decomposition(
    result,
    *,
    truth=None,
    ax: Sequence[Axes] | None = None,
) -> Figure:
    """Observed growth = true growth × reporting growth, period by period.

    Left: growth relative to the first period on a log scale, observed counts (points) with
    the posterior of true growth N_t / N_1 and of reporting growth (realised detection
    fraction relative to the first period). Right: each step's log change split into its two
    parts (posterior means, which add up exactly to the observed log change, the black mark).

    Parameters
    ----------
    result : FitResult
        A fit with at least two periods (read only).
    truth : Simulation, xarray.Dataset or dict, optional
        The simulated truth to overlay on the left panel.
    ax : two matplotlib Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    periods = list(result.periods)
    if len(periods) < 2:
        raise PlotError("the decomposition compares periods; this fit has only one.")
    figure, (left, right) = figure_and_axes(ax, 2)
    indices = growth_indices(result)
    x = period_axis(left, periods)
    draw_band(
        left,
        x,
        draw_quantiles(indices["true"]),
        colour=COLOURS["true"],
        label="true growth N_t/N_1",
    )
    draw_band(
        left,
        x,
        draw_quantiles(indices["reporting"]),
        colour=COLOURS["reporting"],
        label="reporting growth",
        bands_labelled=False,
    )
    left.plot(
        x,
        indices["observed"].values,
        color=COLOURS["observed"],
        marker="s",
        linestyle=":",
        label="observed n_t/n_1",
    )
    if truth is not None:
        known = read_truth(truth).aligned(periods)
        left.plot(
            x,
            known.N / known.N[0],
            color=COLOURS["truth"],
            linestyle="--",
            marker="x",
            label="truth: true growth",
        )
        fraction = known.detected / known.N
        left.plot(
            x,
            fraction / fraction[0],
            color=COLOURS["truth"],
            linestyle="-.",
            marker="+",
            label="truth: reporting growth",
        )
    left.axhline(1.0, color=COLOURS["reference"], linewidth=0.8)
    growth_axis(left.yaxis)
    left.set_ylabel("growth since the first period (log scale)")
    left.set_title("observed = true × reporting")
    left.legend(loc="best", fontsize="small")

    steps = np.log(indices).diff(PERIOD_DIM)
    true_step = steps["true"].mean(("chain", "draw")).values
    reporting_step = steps["reporting"].mean(("chain", "draw")).values
    observed_step = steps["observed"].values
    xs = np.arange(1, len(periods), dtype=float)
    right.bar(xs, true_step, width=0.6, color=COLOURS["true"], label="true (log N change)")
    right.bar(
        xs,
        reporting_step,
        width=0.6,
        bottom=np.where(np.sign(reporting_step) == np.sign(true_step), true_step, 0.0),
        color=COLOURS["reporting"],
        label="reporting (log n/N change)",
    )
    right.plot(
        xs,
        observed_step,
        color=COLOURS["observed"],
        marker="_",
        markersize=22,
        markeredgewidth=2.5,
        linestyle="none",
        label="observed (log n change)",
    )
    right.axhline(0.0, color=COLOURS["reference"], linewidth=0.8)
    right.set_xticks(xs)
    right.set_xticklabels([f"{a}→{b}" for a, b in itertools.pairwise(periods)])
    right.set_xlabel("step")
    right.set_ylabel("log change (posterior mean)")
    right.set_title("each step split into its two parts")
    right.legend(loc="best", fontsize="small")
    return figure
