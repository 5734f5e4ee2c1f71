"""One exception hierarchy for every mistake a user can make.

Each class is one kind of mistake; each message says what is wrong, where (file, column,
row where possible) and what to do. The command-line interface prints ``str(error)`` on one
line and exits with status 2 for any :class:`HiddenpopError`.
"""

from __future__ import annotations

__all__ = [
    "ColumnError",
    "ConvergenceWarning",
    "CountError",
    "DataWarning",
    "DuplicateRecordsWarning",
    "EmptyHistoryError",
    "EmptyTableError",
    "FileFormatError",
    "HiddenpopError",
    "HistoryValueError",
    "IdentifiabilityWarning",
    "InputError",
    "MissingValueError",
    "ModelSpecError",
    "OccasionOrderError",
    "ScenarioError",
    "TooFewOccasionsError",
    "TooFewSourcesError",
    "UnsupportedDataError",
]


class HiddenpopError(Exception):
    """Base class of every error raised on purpose by hiddenpop."""


class InputError(HiddenpopError, ValueError):
    """The input data cannot be turned into capture data."""


class FileFormatError(InputError):
    """A file is missing, unreadable, binary where text is expected, or of an unknown type."""


class EmptyTableError(InputError):
    """A table has no rows (or only rows that carry no detections)."""


class ColumnError(InputError):
    """A named column is missing, unknown or of the wrong kind."""


class MissingValueError(InputError):
    """A required cell (unit id, period, occasion, source) is empty."""


class OccasionOrderError(InputError):
    """Occasion or period labels cannot be put in a well-defined order."""


class HistoryValueError(InputError):
    """A capture-history cell is not 0 or 1."""


class CountError(InputError):
    """A count is negative, fractional or missing."""


class EmptyHistoryError(InputError):
    """A history row has no capture at all: the all-zero history is never observed."""


class TooFewOccasionsError(InputError):
    """A period has fewer than two occasions, so recaptures carry no information."""


class TooFewSourcesError(InputError):
    """Multiple-systems estimation needs at least two sources (and at most MAX_SOURCES)."""


class UnsupportedDataError(HiddenpopError, ValueError):
    """The data lack a statistic that the requested model needs."""


class ModelSpecError(HiddenpopError, ValueError):
    """A model specification (TOML file, prior, option) is invalid."""


class DataWarning(UserWarning):
    """The data are usable but look unusual in a way that may change the answer."""


class ScenarioError(HiddenpopError, ValueError):
    """A simulation scenario name or one of its settings is unknown or invalid."""


class DuplicateRecordsWarning(DataWarning):
    """Duplicate detection records (same unit, period and occasion) were counted once."""


class IdentifiabilityWarning(UserWarning):
    """The data carry too little information to separate the quantities asked for."""


class ConvergenceWarning(UserWarning):
    """The sampler shows signs of non-convergence (R-hat, ESS, divergences, BFMI)."""
