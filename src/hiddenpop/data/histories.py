"""Sufficient statistics from capture-history tables and capture-frequency tables.

A history table has one 0/1 column per occasion (or source) and a ``count`` column, as in
the classic datasets. Robust-design tables put several periods side by side; their
``layout`` says how many occasions each period has, so periods with unequal numbers of
occasions are handled by masking. A frequency table (``n_captures,count``) holds only f_m.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from hiddenpop.constants import MAX_SOURCES
from hiddenpop.data.statistics import assemble_statistics
from hiddenpop.exceptions import (
    ColumnError,
    CountError,
    EmptyHistoryError,
    EmptyTableError,
    HistoryValueError,
    TooFewOccasionsError,
    TooFewSourcesError,
)

__all__ = ["parse_layout", "statistics_from_frequencies", "statistics_from_histories"]

_PERIOD_OCCASION = (
    re.compile(r"^[A-Za-z_]*(\d+)[^\d]+(\d+)$"),  # p3s2, y2014_w05
    re.compile(r"^[A-Za-z_]+(\d)(\d)$"),  # c32: primary 3, day 2 (single digits)
)


def _rows(mask: np.ndarray, limit: int = 5) -> str:
    rows = np.flatnonzero(mask)[:limit] + 1
    return ", ".join(map(str, rows)) + (" ..." if mask.sum() > limit else "")


def _counts(table: pd.DataFrame, count: str | None, origin: str) -> np.ndarray:
    if count is None:
        return np.ones(len(table), dtype=np.int64)
    if count not in table.columns:
        raise ColumnError(f"{origin}: no count column '{count}'.")
    values = pd.to_numeric(table[count], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        raise CountError(
            f"{origin}: column '{count}' has missing or non-numeric counts "
            f"(data rows {_rows(bad)})."
        )
    bad = (values < 0) | (values != np.round(values))
    if bad.any():
        raise CountError(
            f"{origin}: column '{count}' has negative or non-integer counts "
            f"(data rows {_rows(bad)}); counts are numbers of units."
        )
    return values.astype(np.int64)


def parse_layout(columns: Sequence[str], layout) -> tuple[list, list[int]]:
    """Period labels and occasions per period for the history columns.

    ``layout`` is None (one period), a list of occasions per period (``[2, 2, 4, 5, 2]``), or
    ``"auto"``: read period and occasion from names such as ``p3s2`` or ``c32``.
    """
    n = len(columns)
    if layout is None:
        return [1], [n]
    if isinstance(layout, str):
        if layout != "auto":
            raise ColumnError(f"layout must be None, 'auto' or a list of sizes, got {layout!r}.")
        for pattern in _PERIOD_OCCASION:
            matches = [pattern.match(str(c)) for c in columns]
            if all(matches):
                primaries = [int(m.group(1)) for m in matches]
                labels = list(dict.fromkeys(primaries))
                if primaries != sorted(primaries):
                    raise ColumnError(
                        "history columns of one period must be adjacent and periods in order "
                        f"(got {', '.join(map(str, columns))})."
                    )
                return labels, [primaries.count(p) for p in labels]
        raise ColumnError(
            "cannot read periods from the history column names "
            f"({', '.join(map(str, columns[:6]))} ...); give the layout as occasions per period."
        )
    sizes = [int(k) for k in layout]
    if sum(sizes) != n or any(k < 1 for k in sizes):
        raise ColumnError(
            f"layout {sizes} adds up to {sum(sizes)} occasions but there are {n} history columns."
        )
    return list(range(1, len(sizes) + 1)), sizes


def statistics_from_histories(
    table: pd.DataFrame,
    *,
    origin: str,
    columns: Sequence[str] | None = None,
    count: str | None = "count",
    layout=None,
    period_labels: Sequence | None = None,
    kind: str = "occasion",
):
    """Statistics Dataset from a history table; see :meth:`CaptureData.from_histories`."""
    if kind not in ("occasion", "source"):
        raise ColumnError(f"kind must be 'occasion' or 'source', got {kind!r}.")
    if count is not None and count not in table.columns:
        count = None
    if columns is None:
        columns = [c for c in table.columns if c != count]
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ColumnError(f"{origin}: no history column(s) {', '.join(map(str, missing))}.")
    if len(columns) == 0:
        raise ColumnError(f"{origin}: the history table has no occasion columns.")
    cells = table[list(columns)].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(cells, (0.0, 1.0))
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise HistoryValueError(
            f"{origin}: history column '{columns[col]}' has value "
            f"{table[columns[col]].iloc[row]!r} in data row {row + 1}; history cells must be 0 or "
            "1 (name the history columns explicitly if other columns are present)."
        )
    histories = cells.astype(np.int8)
    weight = _counts(table, count, origin)
    empty = histories.sum(axis=1) == 0
    if empty.any():
        raise EmptyHistoryError(
            f"{origin}: data row(s) {_rows(empty)} have no capture at all; the all-zero history "
            "is never observed (its count is what is being estimated). Remove those rows."
        )
    keep = weight > 0
    histories, weight = histories[keep], weight[keep]
    if len(weight) == 0:
        raise EmptyTableError(f"{origin}: every history has count 0.")

    labels, sizes = parse_layout([str(c) for c in columns], layout)
    if period_labels is not None:
        if len(period_labels) != len(sizes):
            raise ColumnError(f"{len(period_labels)} period labels given for {len(sizes)} periods.")
        labels = list(period_labels)
    if kind == "source":
        if len(sizes) != 1:
            raise ColumnError("list (source) history tables hold one period each.")
        if sizes[0] < 2 or sizes[0] > MAX_SOURCES:
            raise TooFewSourcesError(
                f"{origin}: {sizes[0]} source column(s); multiple-systems estimation needs "
                f"between 2 and {MAX_SOURCES} sources."
            )
    elif min(sizes) < 2:
        short = labels[int(np.argmin(sizes))]
        raise TooFewOccasionsError(
            f"{origin}: period {short} has fewer than 2 occasions; capture-recapture needs at "
            "least 2."
        )

    n_periods, k_max = len(sizes), max(sizes)
    offsets = np.r_[0, np.cumsum(sizes)]
    mask = np.arange(k_max)[None, :] < np.array(sizes)[:, None]
    slot_labels = np.full((n_periods, k_max), "", dtype=object)
    captures = np.zeros((n_periods, k_max), dtype=np.int64)
    unit_period, unit_count, unit_first, unit_weight, unit_pattern = [], [], [], [], []
    unit_id = []  # the row: a history row is one set of units across all periods
    for t in range(n_periods):  # loop over periods (few), vectorised over rows
        block = histories[:, offsets[t] : offsets[t + 1]]
        slot_labels[t, : sizes[t]] = [str(c) for c in columns[offsets[t] : offsets[t + 1]]]
        captures[t, : sizes[t]] = weight @ block
        m = block.sum(axis=1)
        seen = m > 0
        unit_period.append(np.full(seen.sum(), t))
        unit_count.append(m[seen])
        unit_first.append(block[seen].argmax(axis=1))
        unit_weight.append(weight[seen])
        unit_id.append(np.flatnonzero(seen))
        unit_pattern.append(block[seen] @ (1 << np.arange(sizes[t], dtype=np.int64)))
    common = dict(
        kind=kind,
        period_labels=np.asarray(labels),
        slot_labels=slot_labels,
        slot_mask=mask,
        captures=captures,
        unit_period=np.concatenate(unit_period),
        unit_count=np.concatenate(unit_count),
        weight=np.concatenate(unit_weight).astype(float),
        unit_id=np.concatenate(unit_id),
    )
    if kind == "source":
        stats = assemble_statistics(**common, unit_pattern=np.concatenate(unit_pattern))
    else:
        stats = assemble_statistics(**common, unit_first=np.concatenate(unit_first))
    stats.attrs.update(n_history_rows=int(keep.sum()))
    return stats


def statistics_from_frequencies(
    table: pd.DataFrame,
    *,
    origin: str,
    n_occasions: int | None,
    n_captures: str = "n_captures",
    count: str = "count",
):
    """Statistics Dataset from a frequency table; see :meth:`CaptureData.from_frequencies`."""
    for name in (n_captures, count):
        if name not in table.columns:
            raise ColumnError(
                f"{origin}: no column '{name}'; a frequency table has columns "
                f"'{n_captures}' and '{count}'."
            )
    m = _counts(table, n_captures, origin)
    weight = _counts(table, count, origin)
    if (m == 0).any():
        raise EmptyHistoryError(
            f"{origin}: a row has {n_captures} = 0 (data rows {_rows(m == 0)}); units never seen "
            "are what is being estimated. Remove those rows."
        )
    if n_occasions is None:
        raise ColumnError(
            f"{origin}: a frequency table needs the number of occasions (n_occasions)."
        )
    if n_occasions < 2:
        raise TooFewOccasionsError(f"{origin}: {n_occasions} occasion(s); at least 2 needed.")
    if m.max() > n_occasions:
        raise CountError(f"{origin}: a unit seen {m.max()} times but only {n_occasions} occasions.")
    keep = weight > 0
    if not keep.any():
        raise EmptyTableError(f"{origin}: every frequency has count 0.")
    stats = assemble_statistics(
        kind="frequency",
        period_labels=np.array([1]),
        slot_labels=np.array([[str(k + 1) for k in range(n_occasions)]], dtype=object),
        slot_mask=np.ones((1, n_occasions), dtype=bool),
        captures=None,
        unit_period=np.zeros(keep.sum(), dtype=np.int64),
        unit_count=m[keep],
        weight=weight[keep].astype(float),
    )
    return stats
