"""Recovery of the trend model on the scenario catalogue (slow: one compilation per fit).

Each scenario is simulated once (seed 1) and fitted with ``robust-trend`` (2 chains x 500
draws after 500 tuning steps; ``trap-shy`` with the behavioural option on). Tolerances:

- the 90% interval of N_t contains the true N_t in all periods but at most one (with 5-8
  periods, a calibrated 90% interval misses one period by chance 30-40% of the time);
- the 90% interval of true growth N_T / N_1 contains the truth;
- Pr(N_T > N_1) > 0.9 where N grows at least x2 and < 0.1 where it halves;
- no divergent transitions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hiddenpop.data import CaptureData
from hiddenpop.inference import fit
from hiddenpop.modeling.spec import load_model
from hiddenpop.simulation import simulate

pytestmark = pytest.mark.slow

#: scenario -> (structure overrides, expected direction of N: +1 grew, -1 declined, 0 none)
SCENARIOS = {
    "true-growth": ({}, 1),
    "reporting-growth": ({}, 0),
    "both": ({}, 1),
    "heterogeneity": ({}, 1),
    "trap-shy": ({"behaviour": True}, 1),
    "declining-population": ({}, -1),
    "hotline": ({}, 1),
}


def _fit(scenario: str, structure: dict):
    sim = simulate(scenario, seed=1)
    data = CaptureData.from_records(
        sim.records, id="id", period="period", occasion="occasion", occasions="union"
    )
    spec = load_model("robust-trend").with_structure(**structure)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(data, spec, draws=500, tune=500, chains=2, seed=1, predictive=False)
    return sim.truth, result.summary()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_trend_model_recovers_abundance_and_growth(scenario):
    structure, direction = SCENARIOS[scenario]
    truth, summary = _fit(scenario, structure)
    n_true = truth["N"].values
    low, high = np.array(summary["N"]["q05"]), np.array(summary["N"]["q95"])
    misses = int(np.sum((n_true < low) | (n_true > high)))
    assert misses <= 1, f"N_t outside its 90% interval in {misses} periods"
    growth = summary["growth"]
    true_growth = float(truth["true_growth"])
    assert growth["true"]["q05"] <= true_growth <= growth["true"]["q95"]
    probability = growth["prob_true_growth"]
    if direction > 0:
        assert probability > 0.9
    elif direction < 0:
        assert probability < 0.1
    assert summary["diagnostics"]["divergences"] == 0
