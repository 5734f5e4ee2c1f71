"""Simulator and likelihood agree: on large simulated data each closed model's maximum lands
at the truth when it is the right model (METHODS.md §8, rung 2).

Both sides build detection through ``hiddenpop.detection``; a drift in either (a sign, a
missing term, a quadrature error) moves these estimates off the truth by far more than the
stated tolerances, which are several standard errors at N = 200,000.
"""

from __future__ import annotations

import numpy as np
import pytest

from hiddenpop.data import CaptureData
from hiddenpop.likelihood.mle import fit_closed
from hiddenpop.simulation import simulate

SIZE = 200_000

CASES = {
    # model: (generating settings, heterogeneity form for the fit)
    "M0": (dict(detection=0.15), "normal"),
    "Mt": (dict(detection=0.15, occasion_sd=0.5), "normal"),
    "Mb": (dict(detection=0.2, behaviour=-1.0), "normal"),
    "Mh": (dict(detection=0.15, heterogeneity_sd=1.2), "normal"),
    "Mth": (dict(detection=0.15, heterogeneity_sd=1.0, occasion_sd=0.4), "normal"),
    "Mtbh": (dict(detection=0.2, heterogeneity_sd=1.0, occasion_sd=0.4, behaviour=-0.8), "normal"),
    # mixtures identify N less sharply (Pledger 2000): 10 occasions instead of 6
    "Mh ": (
        dict(
            n_occasions=10,
            detection=0.2,
            heterogeneity="mixture",
            heterogeneity_sd=1.0,
            mixture_support=(-1.5, 1.0),
            mixture_weights=(0.6, 0.4),
        ),
        "mixture",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_closed_model_mle_recovers_the_simulated_truth(case):
    settings, heterogeneity = CASES[case]
    sim = simulate(
        "true-growth", seed=7, **{"n_periods": 1, "n_occasions": 6, "abundance": SIZE, **settings}
    )
    data = CaptureData.from_records(sim.records, id="id", period="period", occasion="occasion")
    fit = fit_closed(data.stats, case.strip(), heterogeneity=heterogeneity, interval=None)
    truth = sim.truth
    n_true = float(truth["N"].values[0])
    assert fit.abundance == pytest.approx(n_true, rel=0.02)
    parameters = fit.parameters
    if "behaviour" in parameters:
        assert parameters["behaviour"] == pytest.approx(settings["behaviour"], abs=0.05)
    if heterogeneity == "normal" and "sigma" in parameters:
        assert parameters["sigma"] == pytest.approx(settings["heterogeneity_sd"], abs=0.08)
    if "t" in case[1:]:
        # occasion logits: the fitted tau_k track the simulated ones (z = 0 reference)
        simulated = np.ravel(truth["occasion_logit"].values)
        assert np.corrcoef(parameters["tau"], simulated)[0, 1] > 0.95
    assert fit.detection_probability == pytest.approx(
        float(truth["detection_fraction"].values[0]), abs=0.01
    )


def test_wrong_model_is_detectably_wrong():
    """The test above can fail: M0 on strongly heterogeneous data misses N by far."""
    sim = simulate(
        "true-growth", seed=7, n_periods=1, n_occasions=6, abundance=SIZE, heterogeneity_sd=1.5
    )
    data = CaptureData.from_records(sim.records, id="id", period="period", occasion="occasion")
    fit = fit_closed(data.stats, "M0", interval=None)
    assert fit.abundance < 0.85 * float(sim.truth["N"].values[0])
