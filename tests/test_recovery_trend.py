"""Recovery of the trend model on the scenario catalogue (slow: one compilation per fit).

Each scenario is simulated once (seed 1) and fitted with ``robust-trend`` (2 chains x 500
draws after 500 tuning steps; ``trap-shy`` with the behavioural option on), and ``both`` also
with ``robust-trend-rw``. Tolerances:

- the 90% interval of N_t contains the true N_t in all periods but at most one (with 5-8
  periods, a calibrated 90% interval misses one period by chance 30-40% of the time);
- the 90% interval of true growth N_T / N_1 contains the truth;
- Pr(N_T > N_1) > 0.9 where N grows at least x2 and < 0.1 where it halves;
- no divergent transitions (an expected failure on ``trap-shy``: ``DIVERGENCE_XFAIL``).

The N_t check is an expected failure on ``heterogeneity`` and ``hotline`` (``LEVEL_XFAIL``):
on seed 1 of each the level is off in every period together (a low heterogeneity scale),
while over replicates the intervals are close to calibrated; reported rather than hidden,
and not avoided by choosing another seed.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

from hiddenpop.data import CaptureData
from hiddenpop.inference import fit
from hiddenpop.modeling.spec import load_model
from hiddenpop.simulation import simulate

pytestmark = pytest.mark.slow

#: case -> (structure overrides, direction of N: +1 grew, -1 declined, 0 none; seed). A case
#: is a scenario name fitted with robust-trend, or "scenario/model" for another trend model.
SCENARIOS = {
    "true-growth": ({}, 1, 1),
    "reporting-growth": ({}, 0, 1),
    "both": ({}, 1, 1),
    "heterogeneity": ({}, 1, 1),
    "trap-shy": ({"behaviour": True}, 1, 1),
    "declining-population": ({}, -1, 1),
    "hotline": ({}, 1, 1),
    # random walks, weekly noise and partially pooled heterogeneity nest the linear truth
    "both/robust-trend-rw": ({}, 1, 1),
    # units persisting with their detection shift, followed across periods
    "heterogeneity/robust-trend-persistent": ({}, 1, 1),
}


#: Levels of N under heterogeneity rest on sigma_u (Link 2003), shared by the periods, so a
#: dataset whose sigma_u comes out low or high misses in every period at once. On
#: `heterogeneity` seed 1 the posterior of sigma_u is 1.38 +- 0.04 (truth 1.5), per-period
#: maximum-likelihood Mh fits agree (1.29-1.44) and N_t is ~10% low in every period; seeds
#: 2-5 miss no period. Over 40 replicates N_t covers 0.845, with intervals ~20% narrower than
#: the errors' spread: half the units persist across periods with their detection shift,
#: which the model (fresh units each period) ignores; without persistence 0.905.
#: On `hotline` seed 1 (few units seen three times: f_1 f_3 / f_2^2 =
#: 0.81 against 0.86 +- 0.08 over seeds) N is ~16% low; over 50 study replicates N_t
#: intervals cover 0.89 and growth 0.92 (docs/calibration.md): a feature of that dataset.
#: Both are reported rather than hidden, and not avoided by choosing another seed. On average the
#: intervals are as wide as the errors' spread; the misses are replicates whose sigma_u comes
#: out low (lower N, narrower interval), several periods at once. (Units persisting across
#: periods, which the model treats as independent, are not the cause: without them 30
#: replicates covered 0.82.) robust-trend-persistent, which follows the units, covers 0.90
#: over 20 of those replicates (robust-trend 0.87) with errors 3.5% against a posterior sd of
#: 3.3%; on seed 1 it is ~7% low (sigma_u 1.42 +- 0.04; the data's own per-period fits agree).
LEVEL_XFAIL = {
    "heterogeneity": "seed 1: level of N ~10% low under sigma_u = 1.5; 0.845 coverage over 40",
    "heterogeneity/robust-trend-persistent": (
        "seed 1: level of N ~7% low (sigma_u 1.42 +- 0.04); 0.90 coverage over 20 replicates"
    ),
    "hotline": "seed 1: level of N ~16% low (sigma_u low); 0.89 coverage over 50 replicates",
}


def _scenarios(expected_failures: dict[str, str]) -> list:
    """Every scenario, those in ``expected_failures`` marked xfail with their reason."""
    return [
        pytest.param(s, marks=pytest.mark.xfail(reason=expected_failures[s], strict=False))
        if s in expected_failures
        else s
        for s in SCENARIOS
    ]


@functools.cache
def _fit(case: str):
    structure, _, seed = SCENARIOS[case]
    scenario, _, model = case.partition("/")
    sim = simulate(scenario, seed=seed)
    data = CaptureData.from_records(
        sim.records, id="id", period="period", occasion="occasion", occasions="union"
    )
    spec = load_model(model or "robust-trend").with_structure(**structure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(data, spec, draws=500, tune=500, chains=2, seed=1, predictive=False)
    return sim.truth, result.summary()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_trend_model_recovers_growth(scenario):
    _, direction, _ = SCENARIOS[scenario]
    truth, summary = _fit(scenario)
    growth = summary["growth"]
    true_growth = float(truth["true_growth"])
    assert growth["true"]["q05"] <= true_growth <= growth["true"]["q95"]
    probability = growth["prob_true_growth"]
    if direction > 0:
        assert probability > 0.9
    elif direction < 0:
        assert probability < 0.1


#: The trap-shy fit (behavioural option) is on the edge: 2 divergent transitions of 1,000 at
#: seed 1 in the second session (Numba level 0), 0 since the third (data-derived scalars now
#: enter the graph as array elements, a different floating-point path); over seeds 2-5 one
#: trap-shy and one declining-population fit had 1 each (docs/calibration.md). Kept as a
#: non-strict expected failure: whether it diverges depends on rounding.
#: robust-trend-rw on `both` (random walks, weekly noise, partially pooled sigma_u: four scale
#: parameters whose truth is 0) had 19 divergences of 1,000 at seed 1 when this case was
#: added, 1 after occasion effects were centred by the data's spread and target_accept went
#: to 0.99, and none since the walks carry only their departures from the trend lines
#: (seeds 1-3; min bulk ESS 200-358, was 70-153).
DIVERGENCE_XFAIL = {
    "trap-shy": "0-2 divergences of 1,000 at seed 1 (behaviour on), by floating-point path",
}


@pytest.mark.parametrize("scenario", _scenarios(DIVERGENCE_XFAIL))
def test_trend_model_samples_without_divergences(scenario):
    _, summary = _fit(scenario)
    assert summary["diagnostics"]["divergences"] == 0


@pytest.mark.parametrize("scenario", _scenarios(LEVEL_XFAIL))
def test_trend_model_recovers_abundance(scenario):
    truth, summary = _fit(scenario)
    n_true = truth["N"].values
    low, high = np.array(summary["N"]["q05"]), np.array(summary["N"]["q95"])
    misses = int(np.sum((n_true < low) | (n_true > high)))
    assert misses <= 1, f"N_t outside its 90% interval in {misses} periods"
