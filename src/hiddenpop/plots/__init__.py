"""Plots of fitted results: trends, the growth decomposition, detection, model checks, studies.

Every function takes a :class:`~hiddenpop.results.FitResult` (or a table), keyword-only
options and an optional ``truth`` (a ``Simulation``, its ``.truth`` or the truth JSON), and
returns a :class:`matplotlib.figure.Figure` drawn on the Agg canvas. Plots read results; they
never refit.

>>> from hiddenpop.plots import plot_trend
>>> figure = plot_trend(result, truth=simulation)          # doctest: +SKIP
>>> figure.savefig("trend.png")                            # doctest: +SKIP
"""

from hiddenpop.plots.checks import occasion_detection, plot_detection, plot_ppc
from hiddenpop.plots.comparison import (
    SENSITIVITY_QUANTITIES,
    plot_sensitivity,
    plot_study,
    quantity_draws,
    read_study_summary,
)
from hiddenpop.plots.elements import PlotError, Truth, new_figure, read_truth
from hiddenpop.plots.population import growth_indices, plot_decomposition, plot_trend

__all__ = [
    "PLOTS",
    "SENSITIVITY_QUANTITIES",
    "PlotError",
    "Truth",
    "growth_indices",
    "new_figure",
    "occasion_detection",
    "plot_decomposition",
    "plot_detection",
    "plot_ppc",
    "plot_sensitivity",
    "plot_study",
    "plot_trend",
    "quantity_draws",
    "read_study_summary",
    "read_truth",
]

#: The plots of one fit by name (``hiddenpop plot --kind``), each ``(result, **options)``.
PLOTS = {
    "trend": plot_trend,
    "decomposition": plot_decomposition,
    "detection": plot_detection,
    "ppc": plot_ppc,
}
