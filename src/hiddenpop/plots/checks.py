"""Detection and model-check plots: P*_t and per-occasion detection, posterior predictive check.

Per-occasion detection is shown as the share of the population seen on each occasion (or by
each source), n_{t,k} / N_t, computed per posterior draw from the observed counts and the
posterior of N_t: it needs no model-specific parameter, so it reads the same for every model.
The posterior predictive check compares the observed capture frequencies f_{t,m} (units seen
on exactly m occasions) with the replicates drawn at fit time; nothing is simulated here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hiddenpop.constants import CAPTURES_DIM, OCCASION_DIM, PERIOD_DIM, SOURCE_DIM
from hiddenpop.plots.elements import (
    COLOURS,
    PlotError,
    draw_band,
    draw_quantiles,
    figure_and_axes,
    new_figure,
    period_axis,
    read_truth,
)

__all__ = ["occasion_detection", "plot_detection", "plot_ppc"]


def occasion_detection(result) -> xr.DataArray | None:
    """Per-draw share of the population seen on each occasion: n_{t,k} / N_t.

    Dims ``chain, draw, period, occasion`` (``source`` for list data); masked occasions are
    NaN. None for frequency-only data, which have no per-occasion counts.
    """
    stats = result.data.stats
    if "captures" not in stats:
        return None
    captures = stats["captures"].astype(float)
    if "occasion_mask" in stats:
        captures = captures.where(stats["occasion_mask"])
    abundance = result.abundance.astype(float)
    return captures / abundance.assign_coords({PERIOD_DIM: captures[PERIOD_DIM].values})


def plot_detection(result, *, truth=None, ax: Sequence[Axes] | None = None) -> Figure:
    """Detection by period (P*_t) and by occasion (n_{t,k} / N_t), with 50% and 90% bands.

    Parameters
    ----------
    result : FitResult
        A fit (read only).
    truth : Simulation, xarray.Dataset or dict, optional
        The simulated truth: its P*_t is overlaid on the left panel.
    ax : two matplotlib Axes, optional
        Draw here instead of on a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        Left: P*_t, the probability that a present unit is reported at least once. Right: one
        line (and 90% band) per period across occasions or sources.
    """
    figure, (left, right) = figure_and_axes(ax, 2)
    periods = list(result.periods)
    x = period_axis(left, periods)
    quantiles = draw_quantiles(result.detection_fraction)
    draw_band(left, x, quantiles, colour=COLOURS["reporting"], label="P*_t (posterior median)")
    highest = float(np.nanmax(quantiles["q95"]))
    if truth is not None:
        known = read_truth(truth).aligned(periods)
        left.plot(
            x,
            known.reporting_probability,
            color=COLOURS["truth"],
            linestyle="--",
            marker="x",
            label="truth",
        )
        highest = max(highest, float(np.nanmax(known.reporting_probability)))
    left.set_ylim(0, min(1.0, 1.15 * highest))
    left.set_ylabel("P*: reported at least once")
    left.set_title("detection by period")
    left.legend(loc="best", fontsize="small")

    shares = occasion_detection(result)
    if shares is None:
        right.text(0.5, 0.5, "frequency data: no per-occasion counts", ha="center", va="center")
        right.set_axis_off()
        return figure
    width_dim = SOURCE_DIM if SOURCE_DIM in shares.dims else OCCASION_DIM
    labels = shares[width_dim].values
    positions = np.arange(len(labels), dtype=float)
    palette = colormaps["viridis"]
    for t, period in enumerate(periods):
        one = shares.isel({PERIOD_DIM: t})
        quantiles = draw_quantiles(one, dim=width_dim)
        keep = np.isfinite(quantiles["q50"])
        colour = palette(t / max(len(periods) - 1, 1))
        right.fill_between(
            positions[keep],
            quantiles["q05"][keep],
            quantiles["q95"][keep],
            color=colour,
            alpha=0.15,
            linewidth=0,
        )
        right.plot(
            positions[keep],
            quantiles["q50"][keep],
            color=colour,
            marker="o" if keep.sum() < 20 else None,
            markersize=3,
            label=str(period),
        )
    if width_dim == SOURCE_DIM:
        right.set_xticks(positions)
        right.set_xticklabels([str(label) for label in labels])
        right.set_xlabel("source")
    else:
        tick_step = max(1, math.ceil(len(labels) / 12))
        right.set_xticks(positions[::tick_step])
        right.set_xticklabels([str(int(k) + 1) for k in labels[::tick_step]])
        right.set_xlabel("occasion")
    right.set_ylim(bottom=0)
    right.set_ylabel("share of N_t seen (n_{t,k} / N_t)")
    right.set_title(f"detection by {width_dim}")
    right.legend(title="period", fontsize="small", ncol=2 if len(periods) > 6 else 1)
    return figure


def _used_captures(observed: np.ndarray, upper: np.ndarray) -> int:
    """Number of m values worth showing: up to the last with data or predicted mass, plus one."""
    used = np.nonzero((observed > 0) | (upper > 0))[0]
    return int(used.max()) + 2 if used.size else 2


def plot_ppc(result, *, max_columns: int = 4) -> Figure:
    """Posterior predictive check of the capture frequencies, one panel per period.

    Each panel shows the observed f_{t,m} (units seen on exactly m occasions, black points)
    against the replicated frequencies drawn at fit time (median and 50% / 90% bands), on a
    square-root scale (the Freeman-Tukey scale of the check). The title gives the period's
    posterior predictive p-value (extreme near 0 or 1 means misfit).

    Parameters
    ----------
    result : FitResult
        A fit with a ``posterior_predictive`` group (``fit(..., predictive=True)``).
    max_columns : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    predictive = result.idata.get("posterior_predictive")
    if predictive is None or "frequencies" not in predictive:
        raise PlotError("this fit has no posterior predictive frequencies (fit with predictive).")
    replicated = predictive["frequencies"]
    observed = result.idata.observed_data["frequencies"]
    p_values = np.atleast_1d(
        predictive.attrs.get("ppc_p_value", np.full(len(result.periods), np.nan))
    )
    periods = list(result.periods)
    columns = min(max_columns, len(periods))
    rows = math.ceil(len(periods) / columns)
    figure, axes = new_figure(rows, columns, width=3.6, height=3.0)
    for t, period in enumerate(periods):
        ax = axes[t]
        quantiles = draw_quantiles(replicated.isel({PERIOD_DIM: t}), dim=CAPTURES_DIM)
        counts = observed.isel({PERIOD_DIM: t}).values.astype(float)
        n_occasions = int(result.data.stats["n_occasions"].values[t])
        shown = min(_used_captures(counts, quantiles["q95"]), n_occasions)
        m = observed[CAPTURES_DIM].values[:shown].astype(float)
        draw_band(
            ax,
            m,
            {name: values[:shown] for name, values in quantiles.items()},
            colour=COLOURS["true"],
            label="replicated (median)",
            bands_labelled=t == 0,
        )
        ax.plot(
            m,
            counts[:shown],
            color=COLOURS["observed"],
            marker="o",
            linestyle="none",
            label="observed" if t == 0 else None,
        )
        ax.set_yscale("function", functions=(np.sqrt, np.square))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        ax.set_xlabel("times seen (m)")
        ax.set_ylabel("units f_m (sqrt scale)")
        ax.set_title(f"{period}: p = {p_values[t]:.2f}" if t < p_values.size else str(period))
    for ax in axes[len(periods) :]:
        ax.set_axis_off()
    axes[0].legend(loc="best", fontsize="small")
    figure.suptitle(f"{result.spec.name}: posterior predictive check of capture frequencies")
    return figure
