"""Fast tests of the hierarchical trend model (no sampling): spec, graph, quadrature,
derived quantities, identifiability warnings, the demo's text output."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from hiddenpop.cli.demo import decomposition_sentence, period_table
from hiddenpop.data import CaptureData
from hiddenpop.detection import gauss_hermite_normal
from hiddenpop.exceptions import ModelSpecError, UnsupportedDataError
from hiddenpop.likelihood.closed import ClosedStatistics, conditional_log_likelihood
from hiddenpop.modeling.families import family_of
from hiddenpop.modeling.spec import load_model
from hiddenpop.modeling.trend import _truncated, trapezoid_normal
from hiddenpop.modeling.trend_quantities import (
    posterior_warnings,
    prefit_warnings,
    trend_derived,
)
from hiddenpop.simulation import simulate


def _data(scenario: str, seed: int = 1, **overrides) -> CaptureData:
    sim = simulate(scenario, seed=seed, **overrides)
    if "source" in sim.records.columns:
        return CaptureData.from_records(sim.records, id="id", period="period", source="source")
    return CaptureData.from_records(
        sim.records, id="id", period="period", occasion="occasion", occasions="union"
    )


@pytest.fixture(scope="module")
def small() -> CaptureData:
    return _data("true-growth")


def test_catalogue_models_are_the_trend_family():
    spec = load_model("robust-trend")
    assert spec.family == "trend"
    family = family_of(spec)
    assert family.structure(spec)["abundance_trend"] == "linear"
    variant = load_model("robust-trend-rw")
    assert family.structure(variant)["abundance_trend"] == "random-walk"


def test_unknown_option_and_prior_are_rejected():
    spec = load_model("robust-trend")
    with pytest.raises(ModelSpecError, match="unknown structure option"):
        family_of(spec).validate(spec.with_structure(wiggle=True))
    with pytest.raises(ModelSpecError, match="not one of"):
        family_of(spec).validate(spec.with_structure(abundance_trend="cubic"))


@pytest.mark.parametrize(
    "options",
    [
        {},
        {
            "abundance_trend": "random-walk",
            "abundance": "poisson",
            "detection_trend": "random-walk",
            "heterogeneity": "none",
        },
        {
            "abundance_trend": "smooth",
            "heterogeneity_pooling": "partial",
            "behaviour": True,
            "occasion_noise": True,
        },
    ],
)
def test_graph_has_finite_logp_and_gradient(small, options):
    spec = load_model("robust-trend").with_structure(**options)
    model = family_of(spec).build(spec, small)
    point = model.initial_point()
    # FAST_COMPILE: evaluated once, so skip the C compilation
    logp = model.compile_logp(mode="FAST_COMPILE")(point)
    gradient = model.compile_dlogp(mode="FAST_COMPILE")(point)
    assert np.isfinite(logp)
    assert np.all(np.isfinite(gradient))
    assert model.named_vars_to_dims["detection_fraction"] == ("period",)
    assert model.named_vars_to_dims["log_likelihood_period"] == ("period",)


@pytest.mark.parametrize("trend", ["random-walk", "smooth"])
def test_walks_carry_only_their_departures_from_the_line(trend):
    from hiddenpop.modeling.trend import _walk_matrix

    walk = _walk_matrix(6, trend)
    design = np.column_stack([np.ones(6), np.arange(6)])
    # orthogonal to the level and the slope: those are the line's own parameters
    assert np.allclose(design.T @ walk, 0.0)
    z = np.random.default_rng(0).normal(size=walk.shape[1])
    raw = np.concatenate([[0.0], np.cumsum(z)])  # the walk itself, before the projection
    if trend == "smooth":
        raw = np.concatenate([[0.0], np.cumsum(np.concatenate([[0.0], np.cumsum(z)]))])[:6]
    line = design @ np.linalg.lstsq(design, raw, rcond=None)[0]
    assert np.allclose(walk @ z, raw - line)


def test_covariates_enter_the_graph(small):
    data = small.with_covariates({"effort": np.linspace(0, 1, small.n_periods)})
    spec = load_model("robust-trend").with_structure(reporting_covariates=["effort"])
    model = family_of(spec).build(spec, data)
    assert "reporting_effect" in model.named_vars
    both = spec.with_structure(abundance_covariates=["effort"])
    model = family_of(both).build(both, data)
    assert {"reporting_effect", "abundance_effect"} <= set(model.named_vars)
    assert np.isfinite(model.compile_logp(mode="FAST_COMPILE")(model.initial_point()))
    with pytest.raises(UnsupportedDataError, match="effort"):
        family_of(spec).build(spec, small)


def test_single_period_and_list_data_are_refused(small):
    spec = load_model("robust-trend")
    with pytest.raises(UnsupportedDataError, match="two periods"):
        family_of(spec).build(spec, small.select_periods(small.periods[:1]))
    lists = _data("list-dependence")
    with pytest.raises(UnsupportedDataError, match="occasions"):
        family_of(spec).build(spec, lists)


def test_truncating_capture_counts_leaves_the_likelihood_unchanged():
    data = _data("hotline")
    stats = ClosedStatistics.from_stats(data.stats)
    short = _truncated(stats)
    assert short.frequencies.shape[1] < stats.frequencies.shape[1]
    tau = np.full((data.n_periods, 1), -6.2)
    nodes, log_w = trapezoid_normal(30)
    from hiddenpop.likelihood.closed import Heterogeneity

    het = Heterogeneity(np.full((data.n_periods, 1), 0.7) * nodes, log_w)
    full = conditional_log_likelihood(tau, stats, het).eval()
    cut = conditional_log_likelihood(tau, short, het).eval()
    np.testing.assert_allclose(cut, full, rtol=1e-12)


@pytest.mark.parametrize(("tau", "occasions", "sigma"), [(-6.2, 52, 1.5), (-2.0, 10, 1.5)])
def test_trapezoid_rule_is_accurate_where_data_live(tau, occasions, sigma):
    """log A_m for m <= 5 within 1e-3 of a 200-node Gauss-Hermite reference (30 nodes)."""

    def log_a(z, log_w):
        shift = sigma * z
        log_d = occasions * np.logaddexp(0.0, tau + shift)
        m = np.arange(6)
        terms = (log_w - log_d)[:, None] + shift[:, None] * m
        return np.logaddexp.reduce(terms, axis=0)

    reference = log_a(*gauss_hermite_normal(200))
    np.testing.assert_allclose(log_a(*trapezoid_normal(30)), reference, atol=1e-3)


def _posterior(n_draws: int = 200, seed: int = 0) -> tuple[xr.DataArray, xr.DataArray]:
    rng = np.random.default_rng(seed)
    periods = [2013, 2014, 2015]
    coords = {"chain": [0], "draw": np.arange(n_draws), "period": periods}
    abundance = xr.DataArray(
        rng.integers(900, 1100, size=(1, n_draws, 3)) * np.array([1, 2, 3]),
        dims=("chain", "draw", "period"),
        coords=coords,
    )
    p_star = xr.DataArray(
        rng.uniform(0.3, 0.5, size=(1, n_draws, 3)), dims=abundance.dims, coords=coords
    )
    return abundance, p_star


def test_observed_growth_is_true_times_reporting_in_every_draw():
    abundance, p_star = _posterior()
    detected = np.array([400, 700, 1300])
    derived = trend_derived(abundance, p_star, detected)
    observed = detected[1:] / detected[:-1]
    product = derived["true_growth_step"] * derived["reporting_realised_step"]
    np.testing.assert_allclose(product.values, np.broadcast_to(observed, product.shape))
    np.testing.assert_allclose(derived["observed_growth_step"].values, product.values)
    whole = derived["true_growth_step"].prod("step")
    last, first = abundance.isel(period=-1), abundance.isel(period=0)
    np.testing.assert_allclose(whole.values, (last / first).values)
    counterfactual = derived["counterfactual_detected"].isel(period=0)
    np.testing.assert_allclose(counterfactual.values, (first * p_star.isel(period=0)).values)
    assert all(v.attrs["summary_block"] == "trend" for v in derived.data_vars.values())


def test_thin_recaptures_are_flagged_on_hotline_but_not_on_rich_data(small):
    hotline = prefit_warnings({"heterogeneity": "normal"}, _data("hotline"))
    assert any("thin recapture" in m and "2010" in m for m in hotline)
    assert not any("thin recapture" in m for m in prefit_warnings({}, small))


def test_posterior_warnings_say_what_the_data_cannot_tell(small):
    abundance, p_star = _posterior()
    rng = np.random.default_rng(1)
    dims = ("chain", "draw")
    posterior = xr.Dataset(
        {
            "N": abundance,
            "detection_fraction": p_star,
            "detection_slope": (dims, rng.normal(0.5, 0.1, size=(1, 200))),
            "heterogeneity_sd": (dims, np.abs(rng.normal(0.0, 1.0, size=(1, 200)))),
        }
    )
    messages = posterior_warnings(posterior, {"heterogeneity": "normal"}, small)
    assert any("heterogeneity scale is weakly identified" in m for m in messages)
    assert any("coverage" in m and "grew" in m for m in messages)
    flat = posterior.assign(
        detection_slope=(dims, rng.normal(0.0, 0.5, size=(1, 200))),
        N=(abundance.dims, rng.integers(900, 1100, size=(1, 200, 3))),
    )
    assert posterior_warnings(flat, {"heterogeneity": "normal"}, small) == []


def test_demo_text_reports_the_decomposition():
    summary = {
        "periods": [2010, 2011],
        "detected": [100, 300],
        "N": {"q05": [900, 1800], "q50": [1000, 2000], "q95": [1100, 2200]},
        "detection_fraction": {"q50": [0.1, 0.15]},
        "prevalence_per_10k": {"q50": [1.8, 3.6]},
        "growth": {
            "observed": 3.0,
            "true": {"q05": 1.8, "q50": 2.0, "q95": 2.2},
            "reporting_realised": {"q05": 1.4, "q50": 1.5, "q95": 1.7},
            "prob_true_growth": 1.0,
        },
    }
    sentence = decomposition_sentence(summary)
    assert "reports rose x3.0: population x2.0" in sentence
    assert "reporting x1.5" in sentence and "Pr(population grew) = 1.00" in sentence
    table = period_table(summary, truth_n=[950, 2100])
    assert "1,000 (900-1,100)" in table and "2,100" in table


@pytest.mark.slow
def test_demo_writes_fit_summary_and_plots(tmp_path, capsys):
    """The demo end to end with few draws (its speed is measured by benchmarks/trend.py)."""
    from hiddenpop.cli import main
    from hiddenpop.results import FitResult

    out = tmp_path / "demo"
    with pytest.warns(UserWarning):
        status = main(["demo", "--out", str(out), "--draws", "200", "--tune", "200"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "reports rose x" in printed and "Pr(population grew)" in printed
    expected = {"fit.nc", "summary.json", "records.csv", "truth.json", "trend.png"}
    assert expected <= {p.name for p in out.iterdir()}
    summary = FitResult.load(out / "fit.nc").summary()
    assert summary["model"] == "robust-trend" and "prevalence_per_10k" in summary
    assert len(summary["trend"]["true_growth_step"]["q50"]) == len(summary["periods"]) - 1


def test_posterior_predictive_check_flags_wrong_heterogeneity(small):
    """Freeman-Tukey p-values: draws at the truth (homogeneous, p = 0.12) fit the capture
    frequencies (every p > 0.01); a heterogeneity sd of 2.5 does not (every p < 0.05)."""
    spec = load_model("robust-trend")
    family = family_of(spec)
    dims = ("chain", "draw")
    coords = {"chain": [0], "draw": np.arange(100), "period": small.periods}
    level = np.full((1, 100, small.n_periods), np.log(0.12 / 0.88))

    def p_values(sd: float) -> np.ndarray:
        posterior = xr.Dataset(
            {
                "reporting_level": (("chain", "draw", "period"), level),
                "heterogeneity_sd": (dims, np.full((1, 100), sd)),
            },
            coords=coords,
        )
        replicated = family.predict_statistics(
            posterior, spec, small, np.random.default_rng(0), max_draws=100
        )
        assert replicated["frequencies"].shape == (1, 100, small.n_periods, 10)
        return np.array(replicated.attrs["ppc_p_value"])

    assert np.all(p_values(0.01) > 0.01)
    assert np.all(p_values(2.5) < 0.05)


def test_identifiability_report_tells_own_recaptures_from_pooling():
    """A period with 4 recaptures (own sd ~0.5) whose posterior sd of log N is 0.05 leans
    on the trend; one with 400 recaptures and posterior sd 0.05 stands on its own."""
    from types import SimpleNamespace

    from hiddenpop.modeling.trend_quantities import identifiability_report

    data = SimpleNamespace(
        periods=[2016, 2017],
        detected=np.array([100, 2000]),
        frequencies=np.array([[96, 4, 0], [1600, 350, 50]]),
        linked_frequencies=lambda: None,  # no links across periods: no carry-over columns
    )
    rng = np.random.default_rng(0)
    draws = np.exp(rng.normal([7.0, 9.0], 0.05, size=(1, 400, 2)))
    posterior = xr.Dataset({"N": (("chain", "draw", "period"), draws)})
    report = identifiability_report(SimpleNamespace(data=data, posterior=posterior))
    assert list(report["recaptured"]) == [4, 400]
    assert list(report["information"]) == ["trend pooling", "own recaptures"]


@pytest.mark.parametrize(("occasion_sd", "centred"), [(0.0, 0.0), (0.4, 1.0)])
def test_occasion_effects_are_centred_where_counts_beat_the_datas_spread(occasion_sd, centred):
    # 50 period-occasion cells of 67-630 detections (standard errors 0.04-0.12): with no
    # occasion noise none is centred (a centred effect would funnel with sigma_omega near 0);
    # with sigma_omega = 0.4 every one is
    from hiddenpop.modeling.trend import centred_occasions

    sim = simulate("true-growth", seed=2, occasion_sd=occasion_sd)
    data = CaptureData.from_records(
        sim.records, id="id", period="period", occasion="occasion", occasions="union"
    )
    mask = centred_occasions(data)
    assert mask.shape == data.mask.shape and not (mask & ~data.mask).any()
    assert mask[data.mask].mean() == centred
