"""Do units carry their detectability from one period into the next?

The trend model (and every per-period closed model) treats the units of different periods as
independent: a unit reported often in 2014 is, for the model, no more likely to be reported
often in 2015. When the same units persist and keep their own detectability (persistent
heterogeneity, or a behavioural response that outlasts the period), the periods' data share
units, the periods' information about the heterogeneity is counted more than once and the N_t
intervals come out too narrow (docs/calibration.md measures how much).

Record data link units across periods, and that dependence is testable without any model:
among the units reported in period t, compare how often those also reported in period t - 1
were reported with how often the others were. If detection in t does not depend on what
happened in t - 1 (given that the unit is present in t), the two groups' capture counts are
exchangeable, whatever the detection probabilities, occasion effects or within-period
behaviour are, and whatever the survival and recruitment between periods are. Under that null
hypothesis the summed counts of the linked units, S_t, are a draw without replacement of L_t
of period t's n_t counts; the test statistic sum_t (S_t - E S_t) is referred to its exact
permutation distribution (Monte Carlo, multivariate hypergeometric per period). Persistent
heterogeneity makes the linked units' counts larger (ratio > 1): units seen before are
selected for high detectability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hiddenpop.data.capture import CaptureData

__all__ = ["CarryOver", "carry_over"]

#: Units reported in consecutive periods below which the check is not attempted.
MIN_LINKED = 20
#: Monte Carlo permutations of the test.
PERMUTATIONS = 4000


@dataclass(frozen=True)
class CarryOver:
    """Result of :func:`carry_over`.

    Attributes
    ----------
    table : DataFrame
        Per period (from the second): ``detected`` n_t, ``linked`` units also reported in the
        previous period, ``linked_mean`` and ``other_mean`` (mean capture counts of the two
        groups) and ``ratio`` (linked_mean / other_mean).
    linked : int
        Units reported in two consecutive periods, all periods together.
    ratio : float
        Summed counts of the linked units over their expectation under independence.
    z : float
        The statistic sum_t (S_t - E S_t) over its permutation standard deviation.
    p_value : float
        Two-sided Monte Carlo permutation p-value (nan when the check cannot be made).
    """

    table: pd.DataFrame
    linked: int
    ratio: float
    z: float
    p_value: float

    @property
    def testable(self) -> bool:
        return bool(np.isfinite(self.p_value))


def carry_over(data: CaptureData, *, seed: int = 0) -> CarryOver | None:
    """Test whether detection carries over from one period into the next.

    Returns None when the data do not link units across periods (frequency tables, a single
    period, statistics saved before this check existed). The p-value is nan when fewer than
    ``MIN_LINKED`` units were reported in two consecutive periods or nobody was reported more
    than once. ``seed`` fixes the Monte Carlo permutations, so the same data give the same
    answer.
    """
    linked = data.linked_frequencies()
    if linked is None:
        return None
    freq = np.asarray(data.frequencies, dtype=np.int64)
    linked = linked.astype(np.int64)
    values = np.arange(1, freq.shape[1] + 1, dtype=float)
    n, n_linked = freq.sum(axis=1), linked.sum(axis=1)
    total, linked_total = freq @ values, linked @ values
    mean = total / np.maximum(n, 1)
    expected = n_linked * mean
    other = n - n_linked
    rows = []
    for t in range(1, data.n_periods):
        rows.append(
            {
                "period": data.periods[t],
                "detected": int(n[t]),
                "linked": int(n_linked[t]),
                "linked_mean": linked_total[t] / n_linked[t] if n_linked[t] else np.nan,
                "other_mean": (total[t] - linked_total[t]) / other[t] if other[t] else np.nan,
            }
        )
    table = pd.DataFrame(rows)
    table["ratio"] = table["linked_mean"] / table["other_mean"]
    observed = float(np.sum(linked_total - expected))
    ratio = float(linked_total.sum() / expected.sum()) if expected.sum() > 0 else np.nan
    usable = [t for t in range(1, data.n_periods) if 0 < n_linked[t] < n[t]]
    spread = (freq @ values**2) / np.maximum(n, 1) - mean**2
    variance = sum(n_linked[t] * other[t] / (n[t] - 1) * spread[t] for t in usable)
    if n_linked.sum() < MIN_LINKED or variance <= 0:
        return CarryOver(table, int(n_linked.sum()), ratio, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    centred = np.zeros(PERMUTATIONS)
    for t in usable:
        # which of period t's units are the linked ones, drawn without replacement
        draws = rng.multivariate_hypergeometric(freq[t], int(n_linked[t]), size=PERMUTATIONS)
        centred += draws @ values - expected[t]
    extreme = np.sum(np.abs(centred) >= abs(observed) - 1e-9)
    p_value = float((extreme + 1) / (PERMUTATIONS + 1))
    return CarryOver(table, int(n_linked.sum()), ratio, observed / np.sqrt(variance), p_value)
