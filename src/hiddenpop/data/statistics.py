"""Per-period sufficient statistics from per-unit summaries (METHODS.md §2).

Record tables and history tables both reduce to one row per detected unit and period:
its period, the first occasion it was seen on, how many occasions it was seen on, its
inclusion pattern over the sources, and a weight (1 for records, the history's count for
history tables). Everything the likelihoods need is a weighted count over these rows, so
this module is shared by every input form.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hiddenpop.constants import (
    CAPTURES_DIM,
    COUNT_HISTORY_DIM,
    OCCASION_DIM,
    PATTERN_DIM,
    PERIOD_DIM,
    SOURCE_DIM,
)

__all__ = ["assemble_statistics", "count_histories", "inclusion_matrix", "pattern_labels"]


def _count(index: np.ndarray, weight: np.ndarray | None, size: int) -> np.ndarray:
    counts = np.bincount(index, weights=weight, minlength=size)
    return np.rint(counts).astype(np.int64) if weight is not None else counts.astype(np.int64)


def count_histories(
    unit_period: np.ndarray,
    unit_count: np.ndarray,
    unit_id: np.ndarray,
    weight: np.ndarray | None,
    n_periods: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct per-unit vectors of capture counts over the periods, and how many units each.

    Returns ``(histories (D, T), units (D,))``, rows in lexicographic order. A row of a
    history table is a group of identical units (``weight``), so a row id stands for all.
    """
    ids, row = np.unique(unit_id, return_inverse=True)
    matrix = np.zeros((len(ids), n_periods), dtype=np.int64)
    matrix[row, unit_period] = unit_count
    units = np.ones(len(ids))
    if weight is not None:
        units[row] = weight
    histories, inverse = np.unique(matrix, axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=units, minlength=len(histories))
    return histories, np.rint(counts).astype(np.int64)


def inclusion_matrix(n_sources: int) -> np.ndarray:
    """(2^L - 1, L) 0/1 matrix; row ``j`` is the pattern whose bit ``l`` is ``((j+1) >> l) & 1``."""
    codes = np.arange(1, 2**n_sources)
    return ((codes[:, None] >> np.arange(n_sources)) & 1).astype(np.int8)


def pattern_labels(n_sources: int) -> list[str]:
    """Pattern labels such as ``"101"``: character l is 1 when source l is in the pattern."""
    return ["".join(map(str, row)) for row in inclusion_matrix(n_sources)]


def assemble_statistics(
    *,
    kind: str,
    period_labels: np.ndarray,
    slot_labels: np.ndarray,
    slot_mask: np.ndarray,
    captures: np.ndarray | None,
    unit_period: np.ndarray,
    unit_count: np.ndarray,
    weight: np.ndarray | None = None,
    unit_first: np.ndarray | None = None,
    unit_pattern: np.ndarray | None = None,
    unit_id: np.ndarray | None = None,
) -> xr.Dataset:
    """Build the statistics Dataset (layout in docs/architecture.md).

    Parameters
    ----------
    kind
        ``"occasion"``, ``"source"`` or ``"frequency"``.
    period_labels : (T,)
    slot_labels : (T, K) of str
        Occasion labels per period (``""`` where masked); for sources, the same source labels
        in every row.
    slot_mask : (T, K) bool
    captures : (T, K) int or None
        Distinct units seen on each occasion / by each source (None for frequency data).
    unit_period, unit_count : (U,) int
        Period index and number of occasions seen, per detected unit (or per history row).
    weight : (U,) or None
        Units represented by each row (history counts); None means 1.
    unit_first : (U,) int, optional
        Occasion index of first detection (occasion data).
    unit_pattern : (U,) int, optional
        Inclusion pattern as bits over the sources (source data); the callers cap the number
        of sources at ``MAX_SOURCES`` so the 2^L pattern cells stay small.
    unit_id : (U,) int, optional
        Which unit each row is, the same code in every period (records and multi-period
        history tables). With two or more periods it gives ``count_histories`` (D, T), the
        distinct vectors (m_1, ..., m_T) of units' capture counts, and ``count_history_units``
        (D,), how many units have each: what links the periods (the carry-over check,
        :mod:`hiddenpop.data.carryover`, and the trend model's ``persistence`` option).
    """
    n_periods, n_slots = slot_mask.shape
    slot_dim = SOURCE_DIM if kind == "source" else OCCASION_DIM
    n_occ = slot_mask.sum(axis=1).astype(np.int64)
    detected = _count(unit_period, weight, n_periods)
    freq = _count(unit_period * (n_slots + 1) + unit_count, weight, n_periods * (n_slots + 1))
    freq = freq.reshape(n_periods, n_slots + 1)[:, 1:]

    coords = {
        PERIOD_DIM: np.asarray(period_labels),
        CAPTURES_DIM: np.arange(1, n_slots + 1),
    }
    data_vars = {
        "detected": ((PERIOD_DIM,), detected),
        "n_occasions": ((PERIOD_DIM,), n_occ),
        "frequencies": ((PERIOD_DIM, CAPTURES_DIM), freq),
    }
    if kind == "source":
        coords[SOURCE_DIM] = np.asarray(slot_labels[0], dtype=str)
        data_vars["source_mask"] = ((PERIOD_DIM, SOURCE_DIM), slot_mask)
    else:
        coords[OCCASION_DIM] = np.arange(n_slots)
        data_vars["occasion_mask"] = ((PERIOD_DIM, OCCASION_DIM), slot_mask)
        data_vars["occasion_label"] = ((PERIOD_DIM, OCCASION_DIM), slot_labels.astype(str))
    if captures is not None:
        data_vars["captures"] = ((PERIOD_DIM, slot_dim), captures.astype(np.int64))
    if kind == "occasion":
        first = _count(unit_period * n_slots + unit_first, weight, n_periods * n_slots)
        first = first.reshape(n_periods, n_slots)
        joint = _count(
            (unit_period * n_slots + unit_first) * (n_slots + 1) + unit_count,
            weight,
            n_periods * n_slots * (n_slots + 1),
        ).reshape(n_periods, n_slots, n_slots + 1)[:, :, 1:]
        data_vars["first_captures"] = ((PERIOD_DIM, OCCASION_DIM), first)
        data_vars["recaptures"] = ((PERIOD_DIM, OCCASION_DIM), captures - first)
        data_vars["first_by_frequency"] = ((PERIOD_DIM, OCCASION_DIM, CAPTURES_DIM), joint)
    if kind == "source":
        n_patterns = 2**n_slots
        patterns = _count(unit_period * n_patterns + unit_pattern, weight, n_periods * n_patterns)
        patterns = patterns.reshape(n_periods, n_patterns)[:, 1:]
        coords[PATTERN_DIM] = pattern_labels(n_slots)
        data_vars["pattern_counts"] = ((PERIOD_DIM, PATTERN_DIM), patterns)
        data_vars["inclusion"] = ((PATTERN_DIM, SOURCE_DIM), inclusion_matrix(n_slots))
    if unit_id is not None and n_periods > 1:
        histories, units = count_histories(unit_period, unit_count, unit_id, weight, n_periods)
        data_vars["count_histories"] = ((COUNT_HISTORY_DIM, PERIOD_DIM), histories)
        data_vars["count_history_units"] = ((COUNT_HISTORY_DIM,), units)
    stats = xr.Dataset(data_vars, coords=coords, attrs={"kind": kind})
    for variable in stats.data_vars.values():
        variable.values.setflags(write=False)
    return stats
