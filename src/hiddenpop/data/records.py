"""Sufficient statistics from a table of detection records (one row per detection).

Vectorised throughout: labels are factorised once, every (period, unit, occasion) triple is
packed into one int64 key, and ``np.unique`` both removes duplicate records and sorts the
detections so that each unit-period is one contiguous run. All statistics are then
``bincount``s over those runs; no Python loop touches a row.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from hiddenpop.constants import MAX_SOURCES
from hiddenpop.data.ordering import ordered_codes
from hiddenpop.data.statistics import assemble_statistics
from hiddenpop.exceptions import (
    ColumnError,
    DataWarning,
    DuplicateRecordsWarning,
    MissingValueError,
    OccasionOrderError,
    TooFewOccasionsError,
    TooFewSourcesError,
)

__all__ = ["histories_from_records", "statistics_from_records"]

SINGLE_PERIOD_LABEL = 1


def _column(table: pd.DataFrame, name: str | None, role: str, origin: str) -> pd.Series | None:
    if name is None:
        return None
    if name not in table.columns:
        known = ", ".join(map(str, table.columns[:12]))
        raise ColumnError(f"{origin}: no column '{name}' for the {role} (the table has: {known}).")
    return table[name]


def _occasion_layout(
    period_code: np.ndarray,
    slot_code: np.ndarray,
    slot_labels: np.ndarray,
    period_labels: np.ndarray,
    union: bool,
    *,
    origin: str,
    column: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-period occasion sets: (local index lookup (T, G), labels (T, K), mask (T, K))."""
    n_periods, n_global = len(period_labels), len(slot_labels)
    present = np.zeros((n_periods, n_global), dtype=bool)
    present[period_code, slot_code] = True
    used = np.ones_like(present) if union else present
    n_occ = used.sum(axis=1)
    local = np.cumsum(used, axis=1) - 1
    k_max = int(n_occ.max())
    labels = np.full((n_periods, k_max), "", dtype=object)
    mask = np.arange(k_max)[None, :] < n_occ[:, None]
    for t in range(n_periods):  # T is small: a loop over periods, never over rows
        labels[t, : n_occ[t]] = [str(x) for x in slot_labels[used[t]]]
        if not union and np.issubdtype(np.asarray(slot_labels).dtype, np.integer):
            seen = slot_labels[used[t]]
            gaps = np.setdiff1d(np.arange(seen.min(), seen.max() + 1), seen)
            if gaps.size:
                warnings.warn(
                    f"{origin}: period {period_labels[t]} has no detections on occasion(s) "
                    f"{', '.join(map(str, gaps[:8]))} of column '{column}'; they are treated "
                    "as not sampled. If they were sampled, pass occasions='union' or the full "
                    "list of occasions.",
                    DataWarning,
                    stacklevel=4,
                )
    return local, labels, mask


def statistics_from_records(
    table: pd.DataFrame,
    *,
    origin: str,
    id: str,
    period: str | None = None,
    occasion: str | None = None,
    source: str | None = None,
    occasions: str | Sequence | None = None,
):
    """Statistics Dataset from detection records; see :meth:`CaptureData.from_records`."""
    if (occasion is None) == (source is None):
        raise ColumnError(
            f"{origin}: name exactly one of the occasion column (--occasion) or the source "
            "column (--source)."
        )
    kind = "occasion" if occasion is not None else "source"
    slot_name = occasion if occasion is not None else source
    ids = _column(table, id, "unit id", origin)
    periods = _column(table, period, "period", origin)
    slots = _column(table, slot_name, kind, origin)

    missing = ids.isna().to_numpy()
    if missing.any():
        rows = ", ".join(str(r) for r in np.flatnonzero(missing)[:5] + 1)
        raise MissingValueError(
            f"{origin}: column '{id}' (unit id) is empty in {missing.sum()} row(s) "
            f"(data rows {rows}{' ...' if missing.sum() > 5 else ''}); every detection needs "
            "the id of the unit detected."
        )
    id_code, id_uniques = pd.factorize(ids, sort=False)
    n_ids = len(id_uniques)
    if periods is None:
        period_labels = np.array([SINGLE_PERIOD_LABEL])
        period_code = np.zeros(len(table), dtype=np.int64)
    else:
        period_labels, period_code = ordered_codes(
            periods, column=period, role="period", origin=origin
        )
    slot_labels, slot_code = ordered_codes(slots, column=slot_name, role=kind, origin=origin)
    n_periods, n_global = len(period_labels), len(slot_labels)

    if isinstance(occasions, str) and occasions != "union":
        raise ColumnError(
            f"occasions must be None, 'union' or a list of labels, got {occasions!r}."
        )
    if occasions is not None and not isinstance(occasions, str):
        wanted = [str(x) for x in occasions]
        label_text = np.array([str(x) for x in slot_labels])
        unknown = np.setdiff1d(label_text, wanted)
        if unknown.size:
            raise OccasionOrderError(
                f"{origin}: column '{slot_name}' has label(s) {', '.join(unknown[:5])} that are "
                "not in the occasions given."
            )
        position = {label: i for i, label in enumerate(wanted)}
        slot_code = np.array([position[x] for x in label_text])[slot_code]
        slot_labels = np.asarray(list(occasions), dtype=object)
        occasions, n_global = "union", len(slot_labels)

    if kind == "source":
        if n_global < 2:
            raise TooFewSourcesError(
                f"{origin}: column '{slot_name}' names {n_global} source; multiple-systems "
                "estimation needs at least 2 sources."
            )
        if n_global > MAX_SOURCES:
            raise TooFewSourcesError(
                f"{origin}: column '{slot_name}' names {n_global} sources; at most "
                f"{MAX_SOURCES} are supported (merge small sources)."
            )
        occasions = "union"

    local, slot_text, mask = _occasion_layout(
        period_code,
        slot_code,
        slot_labels,
        period_labels,
        occasions == "union",
        origin=origin,
        column=slot_name,
    )
    if kind == "source":
        present = np.zeros((n_periods, n_global), dtype=bool)
        present[period_code, slot_code] = True
        mask = present
        short = np.flatnonzero(present.sum(axis=1) < 2)
        if short.size:
            raise TooFewSourcesError(
                f"{origin}: period {period_labels[short[0]]} has records from fewer than 2 "
                "sources; multiple-systems estimation needs overlap between sources."
            )
    else:
        short = np.flatnonzero(mask.sum(axis=1) < 2)
        if short.size:
            raise TooFewOccasionsError(
                f"{origin}: period {period_labels[short[0]]} has records on fewer than 2 "
                f"occasions of column '{slot_name}'; capture-recapture needs at least 2."
            )

    key = (period_code.astype(np.int64) * n_ids + id_code) * n_global + slot_code
    key.sort()  # a plain sort beats np.unique's hashing here, and the order is needed anyway
    key = key[np.r_[True, key[1:] != key[:-1]]]
    n_duplicates = len(table) - len(key)
    if n_duplicates:
        warnings.warn(
            f"{origin}: {n_duplicates} duplicate record(s) (same id, period and {kind}) were "
            "counted once.",
            DuplicateRecordsWarning,
            stacklevel=3,
        )
    unit_key, det_slot = np.divmod(key, n_global)
    det_period = unit_key // n_ids
    starts = np.flatnonzero(np.r_[True, unit_key[1:] != unit_key[:-1]])
    unit_count = np.diff(np.r_[starts, len(key)])
    unit_period = det_period[starts]

    k_max = mask.shape[1]
    if kind == "source":
        captures = np.bincount(
            det_period * n_global + det_slot, minlength=n_periods * n_global
        ).reshape(n_periods, n_global)
        bits = np.left_shift(np.int64(1), det_slot.astype(np.int64))
        unit_pattern = np.add.reduceat(bits, starts)
        stats = assemble_statistics(
            kind=kind,
            period_labels=period_labels,
            slot_labels=np.tile(np.array([str(x) for x in slot_labels]), (n_periods, 1)),
            slot_mask=mask,
            captures=captures,
            unit_period=unit_period,
            unit_count=unit_count,
            unit_pattern=unit_pattern,
            unit_id=unit_key[starts] % n_ids,
        )
    else:
        det_local = local[det_period, det_slot]
        captures = np.bincount(det_period * k_max + det_local, minlength=n_periods * k_max).reshape(
            n_periods, k_max
        )
        stats = assemble_statistics(
            kind=kind,
            period_labels=period_labels,
            slot_labels=slot_text,
            slot_mask=mask,
            captures=captures,
            unit_period=unit_period,
            unit_count=unit_count,
            unit_first=det_local[starts],
            unit_id=unit_key[starts] % n_ids,
        )
    stats.attrs.update(
        n_records=len(table),
        n_duplicate_records=int(n_duplicates),
        n_units=int(n_ids),
    )
    return stats


def histories_from_records(
    table: pd.DataFrame,
    *,
    id: str,
    period: str | None = None,
    occasion: str | None = None,
    source: str | None = None,
) -> tuple[pd.DataFrame, list[int]]:
    """Distinct capture histories with counts, the history-table form of detection records.

    Returns the table (one 0/1 column per period and occasion, in order, named
    ``"{period}:{occasion}"`` when there are several periods, plus ``count``) and the layout
    (occasions per period) to read it back with :meth:`CaptureData.from_histories`. Useful
    to export records to other software; it materialises one row per unit, so it is meant for
    moderate data sizes.
    """
    slot = occasion if occasion is not None else source
    origin = table.attrs.get("origin", "table")
    columns = [id, slot] if period is None else [id, period, slot]
    for name in columns:
        _column(table, name, "history", origin)
    frame = table[columns].drop_duplicates()
    slot_labels, slot_code = ordered_codes(frame[slot], column=slot, role="occasion", origin=origin)
    if period is None:
        period_labels, period_code = np.array([SINGLE_PERIOD_LABEL]), np.zeros(len(frame), int)
    else:
        period_labels, period_code = ordered_codes(
            frame[period], column=period, role="period", origin=origin
        )
    present = np.zeros((len(period_labels), len(slot_labels)), dtype=bool)
    present[period_code, slot_code] = True
    column_of = np.cumsum(present.ravel()).reshape(present.shape) - 1
    id_code, _ = pd.factorize(frame[id])
    matrix = np.zeros((id_code.max() + 1, int(present.sum())), dtype=np.int8)
    matrix[id_code, column_of[period_code, slot_code]] = 1
    names = [
        str(slot_labels[k]) if period is None else f"{period_labels[t]}:{slot_labels[k]}"
        for t, k in zip(*np.nonzero(present), strict=True)
    ]
    histories = pd.DataFrame(matrix, columns=names)
    counted = histories.value_counts(sort=False).rename("count").reset_index()
    return counted, [int(x) for x in present.sum(axis=1)]
