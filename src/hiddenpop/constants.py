"""Names and settings written down once: dimension names, interval settings, limits.

Every module that names a dimension or an interval level imports it from here, so the
xarray objects, the InferenceData groups and the JSON summaries agree.
"""

from __future__ import annotations

__all__ = [
    "CAPTURES_DIM",
    "COUNT_HISTORY_DIM",
    "CREDIBLE_INTERVAL",
    "INTERVAL_QUANTILES",
    "MAX_SOURCES",
    "OCCASION_DIM",
    "PATTERN_DIM",
    "PERIOD_DIM",
    "SOURCE_DIM",
    "TAIL_QUANTILES",
]

#: Primary period (year, season): the dimension along which the population may change.
PERIOD_DIM = "period"
#: Secondary occasion within a period (week, month, trapping day), positional index 0..K-1.
OCCASION_DIM = "occasion"
#: Reporting source or list (multiple-systems estimation); used instead of ``occasion``.
SOURCE_DIM = "source"
#: Number of occasions (or sources) on which a unit was seen: m = 1..K.
CAPTURES_DIM = "n_captures"
#: Distinct vector of per-period capture counts (m_1, ..., m_T) of units linked across periods.
COUNT_HISTORY_DIM = "count_history"
#: Non-empty inclusion pattern over the sources, h in {0,1}^L \\ {0}.
PATTERN_DIM = "pattern"

#: Equal-tailed credible interval reported everywhere (CONTRACT.md: 90%).
CREDIBLE_INTERVAL = 0.90
INTERVAL_QUANTILES = (0.05, 0.50, 0.95)
#: Quantiles for the inner (50%) band in plots.
TAIL_QUANTILES = (0.25, 0.75)

#: Inclusion patterns are stored densely (2^L - 1 cells per period), so L is capped.
MAX_SOURCES = 15
