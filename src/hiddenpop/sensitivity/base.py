"""The base of the sensitivity checks: a check is an object whose ``run`` returns a table.

After CausalPy's ``checks`` (``causalpy/checks/base.py``): each check says what it varies,
``run(result)`` takes a :class:`~hiddenpop.results.FitResult` and returns a
:class:`SensitivityResult` holding one tidy table, a verdict where one makes sense, a short
text, and a figure on request. Checks never change the fit they are given; those that refit
(:class:`~hiddenpop.sensitivity.PriorSensitivity`,
:class:`~hiddenpop.sensitivity.AssumptionSensitivity`) rebuild the model from the fit's spec
and data, which a saved fit carries.

The key quantities (:func:`key_quantities`), one row each in every table:

====================  ===================================================  ===========
quantity              definition                                           period
====================  ===================================================  ===========
``N``                 N_t                                                  each period
``true_growth``       N_T / N_1                                            ``all``
``reporting_growth``  P*_T / P*_1                                          ``all``
``reporting_share``   log realised reporting growth / log observed growth  ``all``
====================  ===================================================  ===========
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import xarray as xr

from hiddenpop.constants import INTERVAL_QUANTILES, PERIOD_DIM

__all__ = [
    "KEY_QUANTITIES",
    "SensitivityCheck",
    "SensitivityResult",
    "key_quantities",
    "key_quantity_draws",
    "summarise_draws",
]

#: Growth quantities (multi-period fits) and the ``FitResult.growth`` variable of each.
KEY_QUANTITIES = {
    "true_growth": "true",
    "reporting_growth": "reporting",
    "reporting_share": "reporting_share",
}


def key_quantity_draws(result) -> dict[tuple[str, object], np.ndarray]:
    """Posterior draws (flattened over chains) of each key quantity, by (quantity, period)."""
    draws = {}
    abundance = result.abundance
    for index, period in enumerate(result.periods):
        label = period.item() if isinstance(period, np.generic) else period
        draws[("N", label)] = abundance.isel({PERIOD_DIM: index}).values.ravel()
    growth = result.growth
    if growth is not None:
        for quantity, name in KEY_QUANTITIES.items():
            draws[(quantity, "all")] = growth[name].values.ravel()
    return draws


def summarise_draws(values: np.ndarray) -> dict:
    """Mean, 90% interval and median of draws (NaN draws, e.g. an undefined share, dropped)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"mean": np.nan, "q05": np.nan, "q50": np.nan, "q95": np.nan}
    q05, q50, q95 = np.quantile(finite, INTERVAL_QUANTILES)
    return {"mean": float(finite.mean()), "q05": float(q05), "q50": float(q50), "q95": float(q95)}


def key_quantities(result, variant: str = "baseline") -> pd.DataFrame:
    """Tidy table ``variant, quantity, period, mean, q05, q50, q95, prob_growth``.

    ``prob_growth`` is Pr(ratio > 1) for the growth ratios (Pr(true growth) for
    ``true_growth``), empty otherwise.
    """
    rows = []
    for (quantity, period), values in key_quantity_draws(result).items():
        row = {"variant": variant, "quantity": quantity, "period": period}
        row.update(summarise_draws(values))
        growth = quantity in ("true_growth", "reporting_growth")
        row["prob_growth"] = float(np.mean(values > 1.0)) if growth else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class SensitivityResult:
    """What a check returns.

    Attributes
    ----------
    check : str
        Name of the check.
    table : pandas.DataFrame
        One tidy table (the columns are documented by each check).
    robust : bool or None
        The check's verdict (True: the key conclusions do not move), None where the check
        only measures.
    text : str
        A short plain-language reading of the table.
    details : dict
        Anything else the check computed (e.g. the tipping points).
    """

    check: str
    table: pd.DataFrame
    robust: bool | None = None
    text: str = ""
    details: dict = field(default_factory=dict)

    def plot(self, path: str | os.PathLike | None = None):
        """The check's figure (a matplotlib Figure); written to ``path`` when given."""
        from hiddenpop.sensitivity.plots import plot_result

        figure = plot_result(self)
        if path is not None:
            figure.savefig(path, dpi=120, bbox_inches="tight")
        return figure


class SensitivityCheck(ABC):
    """A sensitivity check: what it varies is set in ``__init__``, ``run`` does the work."""

    name: ClassVar[str] = ""

    @abstractmethod
    def run(self, result) -> SensitivityResult:
        """Run the check on a fit."""

    def _require_growth(self, result) -> xr.Dataset:
        from hiddenpop.exceptions import UnsupportedDataError

        growth = result.growth
        if growth is None:
            raise UnsupportedDataError(
                f"the {self.name} check is about growth and needs a fit with two or more "
                "periods; this fit has one."
            )
        return growth
