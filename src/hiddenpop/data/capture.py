"""``CaptureData``: the validated, immutable container every model reads.

Built once from a record table, a history table or a capture-frequency table; holds the
per-period sufficient statistics (METHODS.md §2) as an ``xarray.Dataset`` with named dims
and the original labels. Layout: docs/architecture.md.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from hiddenpop.constants import (
    CAPTURES_DIM,
    COUNT_HISTORY_DIM,
    OCCASION_DIM,
    PERIOD_DIM,
    SOURCE_DIM,
)
from hiddenpop.data.histories import statistics_from_frequencies, statistics_from_histories
from hiddenpop.data.io import as_table
from hiddenpop.data.records import statistics_from_records
from hiddenpop.exceptions import InputError, UnsupportedDataError

__all__ = ["CaptureData"]

KINDS = ("occasion", "source", "frequency")


class CaptureData:
    """Per-period sufficient statistics of capture-recapture or multiple-systems data.

    Do not call the constructor with raw data; use :meth:`from_records`,
    :meth:`from_histories` or :meth:`from_frequencies`.

    Attributes
    ----------
    stats : xarray.Dataset
        The statistics (read-only arrays). Variables: ``detected``, ``n_occasions``,
        ``frequencies``, and depending on :attr:`kind` ``captures``, ``occasion_mask``,
        ``occasion_label``, ``first_captures``, ``recaptures``, ``first_by_frequency``
        (occasion data) or ``source_mask``, ``pattern_counts``, ``inclusion`` (source data).
    kind : {"occasion", "source", "frequency"}
    origin : str
        Where the data came from (file name or description).
    """

    __slots__ = ("_stats", "origin")

    def __init__(self, stats: xr.Dataset, origin: str = "data"):
        if stats.attrs.get("kind") not in KINDS:
            raise InputError(f"statistics of unknown kind {stats.attrs.get('kind')!r}")
        object.__setattr__(self, "_stats", stats)
        object.__setattr__(self, "origin", origin)

    def __setattr__(self, name, value):
        raise AttributeError("CaptureData is immutable")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_records(
        cls,
        data: pd.DataFrame | str | os.PathLike,
        *,
        id: str,
        period: str | None = None,
        occasion: str | None = None,
        source: str | None = None,
        occasions: str | Sequence | None = None,
    ) -> CaptureData:
        """Statistics from detection records (one row per detection).

        Parameters
        ----------
        data
            DataFrame, or path of a CSV or Parquet file.
        id, period, occasion, source
            Column names. Give ``occasion`` (capture-recapture) or ``source`` (multiple
            systems). Without ``period`` all records form one period.
        occasions
            Which occasions each period has. None: the labels seen in that period (a
            warning names gaps in integer labels); ``"union"``: every period has every label
            seen anywhere; a list: these labels, in this order, in every period.

        Duplicate records (same id, period and occasion) count once and are reported with a
        :class:`~hiddenpop.exceptions.DuplicateRecordsWarning`.
        """
        table, origin = as_table(data)
        stats = statistics_from_records(
            table,
            origin=origin,
            id=id,
            period=period,
            occasion=occasion,
            source=source,
            occasions=occasions,
        )
        return cls(stats, origin)

    @classmethod
    def from_histories(
        cls,
        data: pd.DataFrame | str | os.PathLike,
        *,
        columns: Sequence[str] | None = None,
        count: str | None = "count",
        layout: Sequence[int] | str | None = None,
        period_labels: Sequence | None = None,
        kind: str = "occasion",
    ) -> CaptureData:
        """Statistics from a capture-history table (0/1 columns plus a count column).

        Parameters
        ----------
        columns
            History columns in occasion order (default: every column but ``count``).
        count
            Name of the count column; a table without it has one unit per row.
        layout
            None for one period; a list of occasions per period for robust-design tables
            (``[2, 2, 4, 5, 2]``); ``"auto"`` to read periods from names like ``p3s2``.
        period_labels
            Labels of the periods (default 1..T, or the numbers in the column names).
        kind
            ``"occasion"`` for capture occasions, ``"source"`` for lists.
        """
        table, origin = as_table(data)
        stats = statistics_from_histories(
            table,
            origin=origin,
            columns=columns,
            count=count,
            layout=layout,
            period_labels=period_labels,
            kind=kind,
        )
        return cls(stats, origin)

    @classmethod
    def from_frequencies(
        cls,
        data: pd.DataFrame | str | os.PathLike,
        *,
        n_occasions: int | None,
        n_captures: str = "n_captures",
        count: str = "count",
    ) -> CaptureData:
        """Statistics from a capture-frequency table (``n_captures,count``) over K occasions.

        Only f_m is known, so only models whose occasion effects are constant (M0, Mh) can
        be fitted.
        """
        table, origin = as_table(data)
        stats = statistics_from_frequencies(
            table, origin=origin, n_occasions=n_occasions, n_captures=n_captures, count=count
        )
        return cls(stats, origin)

    # ------------------------------------------------------------------ access
    @property
    def stats(self) -> xr.Dataset:
        return self._stats

    @property
    def kind(self) -> str:
        return self._stats.attrs["kind"]

    @property
    def periods(self) -> list:
        return self._stats[PERIOD_DIM].values.tolist()

    @property
    def n_periods(self) -> int:
        return self._stats.sizes[PERIOD_DIM]

    @property
    def slot_dim(self) -> str:
        """``"source"`` for list data, ``"occasion"`` otherwise."""
        return SOURCE_DIM if self.kind == "source" else OCCASION_DIM

    @property
    def detected(self) -> np.ndarray:
        """n_t: distinct units seen in each period."""
        return self._stats["detected"].values

    @property
    def n_occasions(self) -> np.ndarray:
        """K_t: occasions (or sources) in each period."""
        return self._stats["n_occasions"].values

    @property
    def mask(self) -> np.ndarray:
        """(T, K) True where the occasion (source) exists in the period."""
        name = "source_mask" if self.kind == "source" else "occasion_mask"
        return self._stats[name].values

    @property
    def frequencies(self) -> np.ndarray:
        """f_{t,m}, m = 1..K: units seen on exactly m occasions."""
        return self._stats["frequencies"].values

    @property
    def count_histories(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Units linked across periods: distinct count vectors (D, T) and units per vector.

        None unless the data identify units across periods (records, multi-period history
        tables).
        """
        if "count_histories" not in self._stats:
            return None
        return (
            self._stats["count_histories"].values,
            self._stats["count_history_units"].values,
        )

    def linked_frequencies(self) -> np.ndarray | None:
        """(T, K) f_{t,m} over the units of period t also seen in period t - 1 (row 0 zero)."""
        if self.count_histories is None:
            return None
        histories, units = self.count_histories
        linked = np.zeros_like(self.frequencies)
        for t in range(1, self.n_periods):  # few periods
            rows = (histories[:, t] > 0) & (histories[:, t - 1] > 0)
            counted = np.bincount(
                histories[rows, t], weights=units[rows], minlength=linked.shape[1] + 1
            )
            linked[t] = counted[1 : linked.shape[1] + 1]
        return linked

    def require(self, *names: str, model: str = "this model") -> None:
        """Raise :class:`UnsupportedDataError` unless the statistics hold ``names``."""
        missing = [n for n in names if n not in self._stats]
        if missing:
            raise UnsupportedDataError(
                f"{model} needs {', '.join(missing)}, which {self.kind} data from "
                f"{self.origin} do not have."
            )

    def labels(self, period_index: int) -> list[str]:
        """Occasion (or source) labels of one period."""
        if self.kind == "source":
            sources = self._stats[SOURCE_DIM].values
            return [str(s) for s, m in zip(sources, self.mask[period_index], strict=True) if m]
        row = self._stats["occasion_label"].values[period_index]
        return [str(x) for x in row[self.mask[period_index]]]

    @property
    def covariates(self) -> dict[str, np.ndarray]:
        """Per-period covariates attached with :meth:`with_covariates` (name -> (T,))."""
        prefix = "covariate_"
        return {
            name[len(prefix) :]: self._stats[name].values
            for name in self._stats.data_vars
            if name.startswith(prefix)
        }

    def with_covariates(self, covariates) -> CaptureData:
        """A new container with per-period covariates (e.g. reporting effort).

        ``covariates``: a mapping name -> values in period order, or a DataFrame with a
        ``period`` column and one column per covariate (every period needed).
        """
        if isinstance(covariates, pd.DataFrame):
            if "period" not in covariates.columns:
                raise InputError("a covariate table needs a 'period' column.")
            indexed = covariates.set_index("period")
            missing = [p for p in self.periods if p not in indexed.index]
            if missing:
                raise InputError(f"the covariate table has no row for period(s) {missing}.")
            covariates = {c: indexed.loc[self.periods, c].to_numpy() for c in indexed.columns}
        stats = self._stats.copy()
        for name, values in covariates.items():
            values = np.asarray(values, dtype=float)
            if values.shape != (self.n_periods,) or not np.all(np.isfinite(values)):
                raise InputError(
                    f"covariate '{name}' needs one finite value per period ({self.n_periods})."
                )
            stats[f"covariate_{name}"] = (PERIOD_DIM, values)
            stats[f"covariate_{name}"].values.setflags(write=False)
        return CaptureData(stats, self.origin)

    # ------------------------------------------------------------------ derived forms
    def select_periods(self, periods: Sequence) -> CaptureData:
        """A new container with only the given periods (by label)."""
        stats = self._stats.sel({PERIOD_DIM: list(periods)})
        if "count_histories" in stats:
            stats = stats.drop_vars(["count_histories", "count_history_units"])
            position = [self.periods.index(p) for p in periods]
            # links run between consecutive periods: a gap would join periods that are not
            if len(position) > 1 and np.all(np.diff(position) == 1):
                histories, units = self.count_histories
                histories = histories[:, position]
                seen = histories.sum(axis=1) > 0
                merged, inverse = np.unique(histories[seen], axis=0, return_inverse=True)
                units = np.bincount(inverse.ravel(), weights=units[seen], minlength=len(merged))
                stats["count_histories"] = ((COUNT_HISTORY_DIM, PERIOD_DIM), merged)
                stats["count_history_units"] = (COUNT_HISTORY_DIM, units.astype(np.int64))
        k = int(stats["n_occasions"].max())
        if self.kind != "source":
            stats = stats.isel({OCCASION_DIM: slice(0, k), CAPTURES_DIM: slice(0, k)})
        return CaptureData(stats.copy(deep=True), self.origin)

    def frequency_table(self, period_index: int = 0) -> pd.DataFrame:
        """The capture-frequency table (``n_captures,count``) of one period."""
        f = self.frequencies[period_index, : self.n_occasions[period_index]]
        m = np.arange(1, len(f) + 1)
        return pd.DataFrame({"n_captures": m[f > 0], "count": f[f > 0]})

    @property
    def data_hash(self) -> str:
        """SHA-256 of the statistics (labels and counts): the data's identity in provenance."""
        digest = hashlib.sha256(self.kind.encode())
        for name in sorted(self._stats.variables):
            values = np.ascontiguousarray(self._stats[name].values)
            digest.update(name.encode())
            digest.update(values.astype(str).tobytes() if values.dtype == object else values)
        return digest.hexdigest()

    def equals(self, other: CaptureData) -> bool:
        """Same kind, labels and statistics (provenance attributes ignored)."""
        a = self._stats.drop_attrs() if hasattr(self._stats, "drop_attrs") else self._stats
        b = other._stats.drop_attrs() if hasattr(other._stats, "drop_attrs") else other._stats
        return self.kind == other.kind and a.equals(b)

    def __eq__(self, other) -> bool:
        return isinstance(other, CaptureData) and self.equals(other)

    __hash__ = None

    def __repr__(self) -> str:
        k = ", ".join(str(x) for x in self.n_occasions)
        n = ", ".join(str(x) for x in self.detected)
        return (
            f"<CaptureData {self.kind} data from {self.origin}: {self.n_periods} period(s) "
            f"{self.periods}, {self.slot_dim}s per period [{k}], detected [{n}]>"
        )
