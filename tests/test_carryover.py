"""The carry-over check: links across periods, its exact null behaviour and its power."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hiddenpop.data import CaptureData, describe, histories_from_records
from hiddenpop.data.carryover import MIN_LINKED, carry_over
from hiddenpop.modeling.trend_quantities import prefit_warnings
from hiddenpop.simulation import simulate


def _records(rng, *, sigma: float, persist: bool, n=400, periods=3, occasions=6, survival=0.6):
    """Units persisting between periods (Markov survival), occasion effects varying by period
    and a trap-happy response within each period; unit effects kept (persist) or redrawn."""
    rows, ids, next_id = [], np.arange(n), n
    z = dict(zip(ids, rng.normal(size=n), strict=True))
    tau = rng.normal(-1.5, 0.5, size=(periods, occasions))
    for t in range(periods):
        if t:
            kept = ids[rng.random(len(ids)) < survival]
            new = np.arange(next_id, next_id + n - len(kept))
            next_id += len(new)
            z.update(zip(new, rng.normal(size=len(new)), strict=True))
            ids = np.r_[kept, new]
            if not persist:
                z.update(zip(ids, rng.normal(size=len(ids)), strict=True))
        effect = sigma * np.array([z[i] for i in ids])
        seen = np.zeros(len(ids), dtype=bool)
        for k in range(occasions):
            logit = tau[t, k] + effect + 0.7 * seen
            hit = rng.random(len(ids)) < 1.0 / (1.0 + np.exp(-logit))
            rows += [(i, 2020 + t, k) for i in ids[hit]]
            seen |= hit
    return pd.DataFrame(rows, columns=["id", "period", "occasion"])


def _data(records: pd.DataFrame) -> CaptureData:
    return CaptureData.from_records(
        records, id="id", period="period", occasion="occasion", occasions="union"
    )


def test_history_tables_carry_the_same_links_as_records():
    records = _records(np.random.default_rng(3), sigma=1.0, persist=True)
    table, layout = histories_from_records(records, id="id", period="period", occasion="occasion")
    from_histories = CaptureData.from_histories(table, layout=layout, count="count")
    np.testing.assert_array_equal(
        from_histories.stats["count_histories"].values,
        _data(records).stats["count_histories"].values,
    )
    np.testing.assert_array_equal(
        from_histories.linked_frequencies(), _data(records).linked_frequencies()
    )


def test_links_survive_a_consecutive_selection_only():
    records = _records(np.random.default_rng(4), sigma=0.0, persist=True)
    data = _data(records)
    kept = data.select_periods([2021, 2022])
    width = kept.frequencies.shape[1]
    np.testing.assert_array_equal(
        kept.linked_frequencies()[1:], data.linked_frequencies()[2:, :width]
    )
    assert kept.linked_frequencies()[0].sum() == 0  # its previous period is not in the data
    histories, units = kept.count_histories
    assert units.sum() == records.loc[records["period"] > 2020, "id"].nunique()
    assert (histories.sum(axis=1) > 0).all()
    # 2020 -> 2022 skips a period: links to "the previous period" would be wrong there
    assert carry_over(data.select_periods([2020, 2022])) is None


def test_the_check_holds_its_level_when_detectability_does_not_persist():
    """Heterogeneity (sigma 1), occasion effects and a trap-happy response, but each period
    draws its units' effects afresh: the permutation test is exact, so rejections at 0.05
    stay near 5% of 200 data sets; and it is not vacuous (about half fall below 0.5)."""
    rng = np.random.default_rng(11)
    p = np.array(
        [carry_over(_data(_records(rng, sigma=1.0, persist=False))).p_value for _ in range(200)]
    )
    assert np.isfinite(p).all()
    rejected = int(np.sum(p < 0.05))
    assert stats.binom(200, 0.05).sf(rejected - 1) > 0.01, rejected
    assert 0.38 < np.mean(p < 0.5) < 0.62


def test_the_check_sees_detectability_that_persists():
    """Unit effects kept across periods (measured power: 0.92 at the 0.01 level with sigma 1.5,
    the heterogeneity scenario's, and 0.88 at 0.05 with sigma 1, in 60 data sets each)."""
    rng = np.random.default_rng(12)
    strong = [carry_over(_data(_records(rng, sigma=1.5, persist=True))) for _ in range(20)]
    assert sum(c.p_value < 0.01 for c in strong) >= 15
    assert all(c.ratio > 1 and c.z > 0 for c in strong)
    p = [carry_over(_data(_records(rng, sigma=1.0, persist=True))).p_value for _ in range(20)]
    assert np.sum(np.array(p) < 0.05) >= 12


def test_without_links_the_check_is_absent_or_says_it_cannot_test():
    frequencies = CaptureData.from_frequencies(
        pd.DataFrame({"n_captures": [1, 2], "count": [30, 5]}), n_occasions=4
    )
    assert carry_over(frequencies) is None
    records = _records(np.random.default_rng(5), sigma=0.0, persist=True, n=60, survival=0.1)
    records = records[records["period"] < 2022]
    check = carry_over(_data(records))
    assert check.linked < MIN_LINKED and not check.testable
    assert describe(_data(records))["carry_over"]["p_value"] is None


@pytest.mark.parametrize(("scenario", "fires"), [("heterogeneity", True), ("true-growth", False)])
def test_the_trend_model_warns_where_detectability_persists(scenario, fires):
    sim = simulate(scenario, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = _data(sim.records)
    messages = prefit_warnings({"heterogeneity": "normal"}, data)
    assert any("carries over between periods" in m for m in messages) == fires
    summary = describe(data)["carry_over"]
    assert summary["seen_before"][0] == 0 and sum(summary["seen_before"]) > MIN_LINKED
    assert (summary["p_value"] < 0.01) == fires
