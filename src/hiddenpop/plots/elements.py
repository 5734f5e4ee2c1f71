"""Pieces every plot shares: figures without pyplot, interval bands, the period axis, the truth.

Figures are built as :class:`matplotlib.figure.Figure` objects with the Agg canvas, never
through ``pyplot``: nothing global is touched, nothing is shown, and plotting works on a
machine without a display. Intervals use the settings of :mod:`hiddenpop.constants`: the
equal-tailed 90% interval reported everywhere and a 50% inner band.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from hiddenpop.constants import CREDIBLE_INTERVAL, INTERVAL_QUANTILES, PERIOD_DIM, TAIL_QUANTILES
from hiddenpop.exceptions import HiddenpopError

__all__ = [
    "COLOURS",
    "GROWTH_FORMAT",
    "INNER_LABEL",
    "OUTER_LABEL",
    "PlotError",
    "Truth",
    "draw_band",
    "draw_quantiles",
    "figure_and_axes",
    "growth_axis",
    "new_figure",
    "period_axis",
    "read_truth",
]

SAMPLE_DIMS = ("chain", "draw")

#: One colour per quantity, the same in every plot and in the report.
COLOURS = {
    "observed": "#222222",
    "true": "#1f77b4",
    "reporting": "#ff7f0e",
    "truth": "#d62728",
    "reference": "#7f7f7f",
}
OUTER_LABEL = f"{CREDIBLE_INTERVAL:.0%} interval"
#: Growth ratios on a log axis read as multipliers (x0.5, x1, x2) rather than powers of ten.
GROWTH_FORMAT = FuncFormatter(lambda value, _: f"×{value:.3g}")
INNER_LABEL = f"{TAIL_QUANTILES[1] - TAIL_QUANTILES[0]:.0%} interval"


class PlotError(HiddenpopError, ValueError):
    """A plot was asked of a result (or a table) that cannot show it."""


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 6.4, height: float = 4.0):
    """A figure on the Agg canvas with a grid of axes (a flat list), laid out constrained."""
    figure = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    return figure, axes


def figure_and_axes(ax: Axes | Sequence[Axes] | None, count: int, **size) -> tuple[Figure, list]:
    """The caller's axes (``count`` of them) or a new figure with ``count`` side by side."""
    if ax is None:
        return new_figure(1, count, **size)
    axes = [ax] if isinstance(ax, Axes) else list(ax)
    if len(axes) != count:
        raise PlotError(f"this plot draws on {count} axes; {len(axes)} were given.")
    return axes[0].figure, axes


def draw_quantiles(draws: xr.DataArray, dim: str = PERIOD_DIM) -> dict[str, np.ndarray]:
    """Quantiles over the sample dims: ``q05, q25, q50, q75, q95`` along ``dim``."""
    levels = (INTERVAL_QUANTILES[0], *TAIL_QUANTILES, INTERVAL_QUANTILES[1], INTERVAL_QUANTILES[2])
    names = ("q05", "q25", "q75", "q50", "q95")
    stacked = draws.stack(sample=SAMPLE_DIMS).transpose(dim, "sample").values.astype(float)
    with warnings.catch_warnings():
        # masked occasions are all-NaN columns; their quantiles are NaN on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        values = np.nanquantile(stacked, levels, axis=1)
    return dict(zip(names, values, strict=True))


def draw_band(
    ax: Axes,
    x: np.ndarray,
    quantiles: Mapping[str, np.ndarray],
    *,
    colour: str,
    label: str | None = None,
    bands_labelled: bool = True,
) -> None:
    """Median line with the 90% and 50% bands (fill_between; a short bar for one point).

    With ``bands_labelled`` the two bands carry the legend labels ``90% interval`` and
    ``50% interval`` (give them once per axes so the legend lists each once).
    """
    x = np.asarray(x, dtype=float)
    # one period: a short horizontal band, since fill_between over one x has no width
    x_band = np.array([x[0] - 0.15, x[0] + 0.15]) if x.size == 1 else x

    def span(name: str) -> np.ndarray:
        values = np.asarray(quantiles[name], dtype=float)
        return np.repeat(values, 2) if x.size == 1 else values

    for (low, high), alpha, text in (
        (("q05", "q95"), 0.18, OUTER_LABEL),
        (("q25", "q75"), 0.38, INNER_LABEL),
    ):
        ax.fill_between(
            x_band,
            span(low),
            span(high),
            color=colour,
            alpha=alpha,
            linewidth=0,
            label=text if bands_labelled else None,
        )
    ax.plot(x, quantiles["q50"], color=colour, marker="o", markersize=3, label=label)


def growth_axis(axis) -> None:
    """Log scale for a growth ratio, ticks at 1, 2, 5 x 10^k read as multipliers (×2)."""
    if axis.axis_name == "x":
        axis.axes.set_xscale("log")
    else:
        axis.axes.set_yscale("log")
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(GROWTH_FORMAT)
    axis.set_minor_formatter(NullFormatter())


def period_axis(ax: Axes, periods: Sequence, *, label: str = "period") -> np.ndarray:
    """Positions 0..T-1 for the periods, labelled with the period names; returns them."""
    x = np.arange(len(periods), dtype=float)
    ax.set_xticks(x)
    ax.set_xticklabels([str(p) for p in periods], rotation=45 if len(periods) > 8 else 0)
    ax.set_xlabel(label)
    if len(periods) == 1:
        ax.set_xlim(-0.5, 0.5)
    return x


@dataclass(frozen=True)
class Truth:
    """The simulated truth a plot can overlay, per period (NaN where unknown)."""

    periods: list
    N: np.ndarray
    detected: np.ndarray
    reporting_probability: np.ndarray
    prevalence_per_10k: np.ndarray | None

    def aligned(self, periods: Sequence) -> Truth:
        """The truth in the order of ``periods`` (labels compared as strings)."""
        index = {str(p): i for i, p in enumerate(self.periods)}
        missing = [p for p in periods if str(p) not in index]
        if missing:
            raise PlotError(f"the truth has no period(s) {missing}; it belongs to other data.")
        order = [index[str(p)] for p in periods]
        prevalence = None if self.prevalence_per_10k is None else self.prevalence_per_10k[order]
        return Truth(
            list(periods),
            self.N[order],
            self.detected[order],
            self.reporting_probability[order],
            prevalence,
        )


def read_truth(truth) -> Truth:
    """A :class:`Truth` from a ``Simulation``, its ``truth`` Dataset or the truth JSON dict.

    The JSON form is what ``hiddenpop simulate --truth TRUTH.json`` writes (CONTRACT.md).
    """
    if isinstance(truth, Truth):
        return truth
    truth = getattr(truth, "truth", truth)
    if isinstance(truth, xr.Dataset):
        table = {
            name: truth[name].values for name in truth.data_vars if PERIOD_DIM in truth[name].dims
        }
        table["periods"] = truth[PERIOD_DIM].values.tolist()
    elif isinstance(truth, Mapping):
        table = dict(truth)
    else:
        raise PlotError(
            "truth must be a Simulation, its .truth Dataset or the truth JSON; "
            f"got {type(truth).__name__}."
        )
    if "N" not in table or "periods" not in table:
        raise PlotError("the truth needs 'periods' and 'N'.")

    def column(name: str) -> np.ndarray:
        values = table.get(name)
        if values is None:
            return np.full(len(table["periods"]), np.nan)
        return np.array([np.nan if v is None else v for v in values], dtype=float)

    probability = column("reporting_probability")
    if np.all(np.isnan(probability)):
        probability = column("detection_fraction")
    prevalence = column("prevalence_per_10k") if "prevalence_per_10k" in table else None
    return Truth(list(table["periods"]), column("N"), column("detected"), probability, prevalence)
