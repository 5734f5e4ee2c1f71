"""Tipping point: how much unmodelled growth in coverage would cancel the true growth.

Capture-recapture sees only the units that can be reported at all (METHODS.md §7 B', D').
If the reachable share of the population (coverage, C_t = 1 - invisible share) changes by a
factor c = C_T / C_1 that the model does not know of, the model's N_t estimates C_t N_t, so
the growth of the whole population is

    true growth (adjusted) = estimated true growth / c.

The estimated growth vanishes (adjusted ratio 1) at c = estimated growth: the tipping point
is a posterior distribution. Reported:

- ``c_median``: c at which the posterior median of the adjusted growth is 1;
- ``c_credible``: c at which the lower 90% bound reaches 1, i.e. the smallest unmodelled
  coverage growth under which growth is no longer credible (Pr(growth) < 0.95);
- the same as yearly rates c^(1 / (T - 1)), and for an initial invisible share s_1 the final
  share s_T = 1 - (1 - s_1) c that would produce them (negative: no share can).

The table evaluates a grid of c: ``coverage_growth, per_period, mean, q05, q50, q95,
prob_growth`` of the adjusted true growth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hiddenpop.sensitivity.base import SensitivityCheck, SensitivityResult, summarise_draws

__all__ = ["TippingPoint"]


class TippingPoint(SensitivityCheck):
    """Unmodelled coverage growth that would make the estimated true growth vanish.

    Parameters
    ----------
    grid
        Coverage growth factors c to tabulate; by default 25 values from 1/2 to twice the
        upper 95% bound of the estimated growth (log-spaced, 1 included).
    initial_invisible_share
        s_1 used to express the tipping points as a final invisible share.
    """

    name = "tipping-point"

    def __init__(
        self, grid: np.ndarray | None = None, *, initial_invisible_share: float = 0.5
    ) -> None:
        self.grid = grid
        self.initial_invisible_share = initial_invisible_share

    def _grid(self, growth: np.ndarray) -> np.ndarray:
        if self.grid is not None:
            return np.asarray(self.grid, dtype=float)
        top = max(2.0, 2.0 * float(np.quantile(growth, 0.95)))
        return np.unique(np.append(np.geomspace(0.5, top, 24), 1.0))

    def run(self, result) -> SensitivityResult:
        growth = self._require_growth(result)["true"].values.ravel()
        steps = len(result.periods) - 1
        rows = []
        for factor in self._grid(growth):
            adjusted = growth / factor
            rows.append(
                {
                    "coverage_growth": float(factor),
                    "per_period": float(factor ** (1.0 / steps)),
                    **summarise_draws(adjusted),
                    "prob_growth": float(np.mean(adjusted > 1.0)),
                }
            )
        table = pd.DataFrame(rows)
        median = float(np.median(growth))
        credible = float(np.quantile(growth, 0.05))
        share = self.initial_invisible_share
        details = {
            "estimated_growth": median,
            "c_median": median,
            "c_credible": credible,
            "c_median_per_period": median ** (1.0 / steps),
            "c_credible_per_period": credible ** (1.0 / steps) if credible > 0 else np.nan,
            "initial_invisible_share": share,
            "final_invisible_share_median": 1.0 - (1.0 - share) * median,
            "final_invisible_share_credible": 1.0 - (1.0 - share) * credible,
        }
        if credible <= 1.0:
            text = (
                f"true growth x{median:.2f} is not credible even with constant coverage "
                f"(lower 90% bound {credible:.2f} <= 1)"
            )
        else:
            text = (
                f"estimated true growth x{median:.2f} vanishes if coverage grew x{median:.2f} "
                f"({details['c_median_per_period']:.3f} per period); it stops being credible "
                f"(lower 90% bound 1) at x{credible:.2f}; from an invisible share of "
                f"{share:.0%}, that is a fall to {details['final_invisible_share_credible']:.0%}"
            )
        return SensitivityResult(self.name, table, None, text, details)
