"""Putting period, occasion and source labels in a well-defined order.

Labels are numbers, dates or text. Numbers sort numerically; text sorts "naturally", so
``week2 < week10``. A column that mixes numbers and text, or holds missing labels, has no
order a user would agree with, and is rejected.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from hiddenpop.exceptions import MissingValueError, OccasionOrderError

__all__ = ["ordered_codes"]

_DIGITS = re.compile(r"(\d+)")


def _natural_key(text: str) -> tuple:
    return tuple(
        (0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk)
        for chunk in _DIGITS.split(text)
        if chunk
    )


def _first_rows(mask: np.ndarray, limit: int = 5) -> str:
    rows = np.flatnonzero(mask)[:limit] + 1
    more = " ..." if mask.sum() > limit else ""
    return ", ".join(str(r) for r in rows) + more


def ordered_codes(
    values: pd.Series, *, column: str, role: str, origin: str
) -> tuple[np.ndarray, np.ndarray]:
    """Ordered unique labels of a column and the code of every row.

    Parameters
    ----------
    values
        The column.
    column, role, origin
        Column name, what it holds ("period", "occasion", "source") and where it came from,
        for error messages.

    Returns
    -------
    labels : ndarray
        Unique labels in order (numbers as numbers, text as str).
    codes : ndarray of int64
        ``labels[codes[i]]`` is row i's label.
    """
    missing = values.isna().to_numpy()
    if missing.any():
        raise MissingValueError(
            f"{origin}: column '{column}' ({role}) is empty in {missing.sum()} row(s) "
            f"(data rows {_first_rows(missing)}); every detection needs a {role}."
        )
    codes, uniques = pd.factorize(values, sort=False)
    uniques = pd.Index(uniques)
    if pd.api.types.is_numeric_dtype(uniques.dtype) or pd.api.types.is_datetime64_any_dtype(
        uniques.dtype
    ):
        order = np.argsort(uniques.to_numpy(), kind="stable")
        labels = uniques.to_numpy()[order]
    else:
        text = uniques.map(str)
        as_number = pd.to_numeric(pd.Series(text), errors="coerce")
        numeric = as_number.notna().to_numpy()
        if numeric.all():
            numbers = as_number.to_numpy()
            if np.unique(numbers).size != numbers.size:
                raise OccasionOrderError(
                    f"{origin}: column '{column}' ({role}) has labels that differ as text but "
                    "are the same number (e.g. '01' and '1'); make them consistent."
                )
            order = np.argsort(numbers, kind="stable")
            labels = numbers[order]
            if np.all(labels == np.round(labels)):
                labels = labels.astype(np.int64)
        elif numeric.any():
            example_number = text[np.flatnonzero(numeric)[0]]
            example_text = text[np.flatnonzero(~numeric)[0]]
            raise OccasionOrderError(
                f"{origin}: column '{column}' ({role}) mixes numbers and text "
                f"(e.g. {example_number!r} and {example_text!r}), so its labels cannot be "
                "ordered; use one kind of label."
            )
        else:
            keys = [_natural_key(t) for t in text]
            order = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.int64)
            labels = np.asarray(text, dtype=object)[order]
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return labels, rank[codes]
