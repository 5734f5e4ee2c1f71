"""Sensitivity checks: log prior per draw, power-scaling, refits, tipping point, CLI.

The fit is M0 with the calibration priors on small two-period data through the
compiled-model cache: the model structure of the study tests, so the suite compiles it once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hiddenpop.cli import main
from hiddenpop.inference import fit
from hiddenpop.modeling import Prior, family_of, load_model
from hiddenpop.sensitivity import (
    AssumptionSensitivity,
    PowerScaling,
    PriorSensitivity,
    TippingPoint,
    key_quantities,
    log_prior_draws,
    structure_variant,
)
from hiddenpop.sensitivity.refit import _verdict
from hiddenpop.study import worker_sampler
from hiddenpop.study.calibration import calibration_spec
from hiddenpop.study.tasks import replicate_data

TINY = {"n_periods": 2, "n_occasions": 5, "abundance": (300.0, 550.0)}
M0, _ = calibration_spec("M0", {}, n_periods=2)


@pytest.fixture(scope="module")
def fitted():
    data, _ = replicate_data("true-growth", 11, TINY)
    return fit(data, M0, draws=300, tune=300, chains=2, seed=2, sampler=worker_sampler())


def test_log_prior_is_the_prior_density_of_each_draw(fitted):
    log_prior = log_prior_draws(fitted)
    terms = {"log_expected_detected", "detection_logit", "abundance_prior"}
    assert set(log_prior.data_vars) == terms
    resolved = family_of(fitted.spec).priors(fitted.spec, fitted.data)
    draw = fitted.posterior.isel(chain=1, draw=17)
    detection = resolved["detection"].params
    expected = stats.norm(detection["mu"], detection["sigma"]).logpdf(draw["detection_logit"])
    got = float(log_prior["detection_logit"].isel(chain=1, draw=17))
    assert got == pytest.approx(float(np.sum(expected)), rel=1e-9)
    abundance = resolved["abundance"].params
    expected = stats.norm(abundance["mu"], abundance["sigma"]).logpdf(
        draw["log_expected_abundance"]
    )
    got = float(log_prior["abundance_prior"].isel(chain=1, draw=17))
    assert got == pytest.approx(float(np.sum(expected)), rel=1e-9)
    assert float(np.abs(log_prior["log_expected_detected"]).max()) == 0.0  # flat


def test_power_scaling_table(fitted):
    outcome = PowerScaling().run(fitted)
    table = outcome.table
    assert list(table["quantity"]) == ["N", "N", "true_growth", "reporting_growth"]
    values = table[["prior_sensitivity", "likelihood_sensitivity"]].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    assert (table["likelihood_sensitivity"] > 0.05).all()  # the data inform every quantity
    assert outcome.robust == (table["diagnosis"] == "-").all()
    # power-scaling a flat prior alone changes no weight: no sensitivity at all
    flat = PowerScaling(prior_terms=["log_expected_detected"]).run(fitted).table
    assert (flat["prior_sensitivity"] < 1e-4).all()
    assert set(outcome.details["prior_terms"]) == {
        "log_expected_detected",
        "detection_logit",
        "abundance_prior",
    }


def test_tipping_point(fitted):
    outcome = TippingPoint(grid=[1.0, 1.5, 3.0], initial_invisible_share=0.5).run(fitted)
    growth = fitted.growth["true"].values.ravel()
    assert outcome.details["c_median"] == pytest.approx(np.median(growth))
    assert outcome.details["c_credible"] == pytest.approx(np.quantile(growth, 0.05))
    first = outcome.table.iloc[0]
    assert first["q50"] == pytest.approx(np.median(growth))
    assert outcome.table["prob_growth"].is_monotonic_decreasing
    share = outcome.details["final_invisible_share_median"]
    assert share == pytest.approx(1 - 0.5 * np.median(growth))


def test_structure_variants():
    m0 = load_model("M0")
    assert structure_variant(m0, {"behaviour": False}) is None
    assert structure_variant(m0, {"no_such_option": 1}) is None
    mh = structure_variant(m0, {"heterogeneity": "normal"})
    assert mh.structure["heterogeneity"] == "normal"
    back = structure_variant(load_model("Mh"), {"heterogeneity": "none"})
    assert "heterogeneity_sd" not in back.priors  # a prior the new structure lacks is dropped


def test_invisible_share_scales_levels_only(fitted):
    share = Prior("Beta", {"alpha": 5.0, "beta": 5.0})
    outcome = AssumptionSensitivity({}, invisible_share=share).run(fitted)
    table = outcome.table.set_index(["variant", "quantity", "period"])
    label = "invisible share ~ Beta(alpha=5, beta=5)"
    for period in fitted.periods:
        base = table.loc[("baseline", "N", period), "q50"]
        assert table.loc[(label, "N", period), "q50"] > 1.6 * base
    assert table.loc[(label, "true_growth", "all"), "q50"] == pytest.approx(
        table.loc[("baseline", "true_growth", "all"), "q50"]
    )


def test_prior_refit(fitted):
    # per-period (array) parameters keep the graph's structure: the compiled model is reused
    centre = Prior("Normal", {"mu": np.full(2, 0.0), "sigma": np.full(2, 0.4)})
    sampler = worker_sampler()
    compilations = sampler.compilations
    check = PriorSensitivity(
        {"detection centred at 0.5": {"detection": centre}}, draws=300, chains=2, sampler=sampler
    )
    outcome = check.run(fitted)
    assert sampler.compilations == compilations
    table = outcome.table
    assert list(table["variant"].unique()) == ["baseline", "detection centred at 0.5"]
    assert "detection" in table["change"].iloc[-1]
    assert outcome.robust is True  # the data pin N: a prior centre moves nothing
    assert outcome.plot() is not None


def test_verdict_flags_moved_intervals(fitted):
    base = key_quantities(fitted)
    moved = base.assign(variant="moved", q05=base["q95"] * 2, q95=base["q95"] * 3)
    robust, text = _verdict(pd.concat([base, moved]))
    assert not robust and "N[2013] interval moves" in text
    robust, _ = _verdict(pd.concat([base, base.assign(variant="same")]))
    assert robust


def test_sensitivity_command(fitted, tmp_path, capsys):
    path = tmp_path / "fit.nc"
    fitted.save(path)
    table, figure = tmp_path / "tipping.csv", tmp_path / "tipping.png"
    argv = ["sensitivity", str(path), "--check", "tipping", "--out", str(table)]
    assert main([*argv, "--figure", str(figure)]) == 0
    assert figure.stat().st_size > 0
    assert "coverage_growth" in pd.read_csv(table).columns
    assert "tipping-point:" in capsys.readouterr().out
    bad = tmp_path / "power.txt"
    argv = ["sensitivity", str(path), "--check", "power", "--out", str(bad)]
    assert main([*argv, "--figure", str(tmp_path / "p.png")]) == 2
    assert not bad.exists() and not (tmp_path / "p.png").exists()
