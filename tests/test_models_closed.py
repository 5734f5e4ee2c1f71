"""Closed models: specs and catalogue, graph checks at the initial point, one real fit.

Sampling is expensive (each distinct model compiles), so one module-scoped fit serves the
result, save/load and predictive tests.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytensor
import pytest

from hiddenpop.constants import OCCASION_DIM, PERIOD_DIM
from hiddenpop.datasets import load_dataset
from hiddenpop.detection import expit, gauss_hermite_normal
from hiddenpop.exceptions import ConvergenceWarning, ModelSpecError, UnsupportedDataError
from hiddenpop.inference import available_samplers, fit
from hiddenpop.likelihood.closed import log_unseen_probability, normal_heterogeneity
from hiddenpop.modeling import (
    ModelSpec,
    Prior,
    family_of,
    load_model,
    model_names,
    parse_model,
)
from hiddenpop.modeling.predictive import capture_count_probabilities
from hiddenpop.results import FitResult

CLOSED = ["M0", "Mt", "Mb", "Mh", "Mth", "Mh-mixture"]


def test_catalogue_lists_the_contract_models():
    names = model_names()
    for name in CLOSED:
        assert name in names
        spec = load_model(name)
        assert spec.family == "closed" and spec.description


@pytest.mark.parametrize("name", CLOSED)
@pytest.mark.parametrize("dataset", ["mark_robust_example", "redbacked_vole_robust"])
def test_logp_and_gradient_finite_at_initial_point_with_dims(name, dataset):
    # 5 periods of 2-5 occasions (masking); 6 periods of 3 occasions (T != K)
    data = load_dataset(dataset)
    spec = load_model(name)
    model = family_of(spec).build(spec, data)
    assert list(model.coords[PERIOD_DIM]) == data.periods
    assert len(model.coords[OCCASION_DIM]) == data.mask.shape[1]
    point = model.initial_point()
    logp = model.logp()
    grad = pytensor.grad(logp, model.value_vars)
    f = pytensor.function(model.value_vars, [logp, *grad], mode="FAST_COMPILE")
    values = f(*[point[v.name] for v in model.value_vars])
    assert np.isfinite(values[0])
    for g in values[1:]:
        assert np.all(np.isfinite(g))
    assert model.named_vars_to_dims["detection_fraction"] == (PERIOD_DIM,)


def test_spec_errors_name_the_problem(tmp_path):
    good = load_model("Mh").text
    with pytest.raises(ModelSpecError, match="not valid TOML"):
        parse_model(good + "\n[priors\n")
    with pytest.raises(ModelSpecError, match=r"line \d+.*unknown key 'colour'"):
        parse_model("colour = 'red'\n" + good)
    bad_prior = good.replace('dist = "HalfNormal", sigma = 1.5', 'dist = "Cauchy", beta = 1')
    with pytest.raises(ModelSpecError, match=r"heterogeneity_sd.*unknown prior distribution"):
        parse_model(bad_prior)
    with pytest.raises(ModelSpecError, match="must be a number"):
        parse_model(good.replace("sigma = 1.5", "sigma = \"__import__('os')\""))
    with pytest.raises(ModelSpecError, match="unknown structure option 'turbo'"):
        parse_model(good.replace("[structure]", "[structure]\nturbo = true"))
    with pytest.raises(ModelSpecError, match="has no prior 'behaviour'"):
        parse_model(good + 'behaviour = { dist = "Normal", mu = 0, sigma = 1 }\n')
    with pytest.raises(ModelSpecError, match="is not one of"):
        parse_model(good.replace('heterogeneity = "normal"', 'heterogeneity = "gamma"'))
    with pytest.raises(ModelSpecError, match="unknown model"):
        load_model("M42")
    with pytest.raises(ModelSpecError, match=r"line \d+.*unknown sampler setting 'chains'"):
        parse_model(good + "\n[sampler]\nchains = 8\n")
    with pytest.raises(ModelSpecError, match=r"target_accept must be a number between 0\.5 and 1"):
        parse_model(good + "\n[sampler]\ntarget_accept = 1.2\n")
    variant = tmp_path / "tight.toml"
    variant.write_text(good.replace('name = "Mh"', 'name = "Mh-tight"').replace("1.5", "0.5"))
    spec = load_model(variant)
    assert spec.name == "Mh-tight"
    assert spec.priors["heterogeneity_sd"] == Prior("HalfNormal", {"sigma": 0.5})


def test_model_files_carry_sampler_defaults():
    # the horseshoe needs small steps; the setting survives a save (to_dict) and a reload
    spec = load_model("mse-loglinear")
    assert spec.sampler == {"target_accept": 0.99}
    assert ModelSpec.from_dict(spec.to_dict()).sampler == spec.sampler
    assert load_model("Mh").sampler == {}
    assert "sampler" not in load_model("Mh").to_dict()


def test_priors_merge_user_over_data_over_default():
    data = load_dataset("hare")
    spec = load_model("M0").with_priors(detection=Prior("Normal", {"mu": -1.0, "sigma": 0.5}))
    priors = family_of(spec).priors(spec, data)
    assert priors["detection"].params == {"mu": -1.0, "sigma": 0.5}
    # "data": centred on log Chao lower bound (68 + 25^2 / 44)
    assert priors["abundance"].params["mu"] == pytest.approx([np.log(68 + 625 / 44)])


def test_frequency_data_refuse_time_and_behaviour_models():
    data = load_dataset("bbs2001_species")
    for name in ("Mt", "Mb"):
        spec = load_model(name)
        with pytest.raises(UnsupportedDataError, match="frequency"):
            family_of(spec).build(spec, data)


def test_forward_capture_distribution_matches_the_likelihood_and_enumeration():
    rng = np.random.default_rng(4)
    tau = rng.normal(-1.0, 0.7, size=(3, 2, 4))
    mask = np.array([[True, True, True, True], [True, True, True, False]])
    sigma = np.array([0.8, 1.3])
    nodes, log_w = gauss_hermite_normal(40)
    shift = np.broadcast_to(sigma[None, :, None] * nodes, (3, 2, len(nodes)))
    log_weight = np.broadcast_to(log_w, shift.shape)
    probabilities = capture_count_probabilities(tau, mask, shift, log_weight)
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0)
    for s in range(3):
        unseen = log_unseen_probability(tau[s], mask, normal_heterogeneity(sigma, 40)).eval()
        np.testing.assert_allclose(probabilities[s, :, 0], np.exp(unseen), rtol=1e-10)
    # behaviour, no heterogeneity: enumerate the 2^4 histories of period 0 by hand
    behaviour = np.full((3, 2), -0.9)
    zero = np.zeros((3, 2, 1))
    probabilities = capture_count_probabilities(tau, mask, zero, zero, behaviour)
    expected = np.zeros(5)
    for code in range(16):
        h = [(code >> k) & 1 for k in range(4)]
        prob, seen = 1.0, False
        for k in range(4):
            p = expit(tau[0, 0, k] + (behaviour[0, 0] if seen else 0.0))
            prob *= p if h[k] else 1 - p
            seen = seen or bool(h[k])
        expected[sum(h)] += prob
    np.testing.assert_allclose(probabilities[0, 0], expected, rtol=1e-12)


# ---------------------------------------------------------------- one real fit
@pytest.fixture(scope="module")
def robust_fit():
    data = load_dataset("mark_robust_example")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(data, "Mth", draws=300, tune=300, chains=2, seed=11, denominator=[1e4] * 5)


def test_fit_result_groups_dims_and_provenance(robust_fit):
    idata = robust_fit.idata
    for group in (
        "posterior",
        "log_likelihood",
        "posterior_predictive",
        "observed_data",
        "constant_data",
        "sample_stats",
    ):
        assert group in idata.groups()
    n = robust_fit.abundance
    assert n.dims == ("chain", "draw", PERIOD_DIM)
    assert (n >= robust_fit.data.detected).all()
    assert idata.log_likelihood["detections"].dims == ("chain", "draw", PERIOD_DIM)
    attrs = idata.attrs
    assert attrs["model_name"] == "Mth" and attrs["seed"] == 11
    assert attrs["data_hash"] == robust_fit.data.data_hash
    assert json.loads(attrs["sampler"])["draws"] == 300
    assert "heterogeneity_sd" in json.loads(attrs["priors"])


def test_fit_summary_follows_the_contract(robust_fit):
    s = robust_fit.summary()
    assert s["model"] == "Mth" and s["periods"] == [1, 2, 3, 4, 5]
    for key in ("N", "detection_fraction", "prevalence_per_10k"):
        assert set(s[key]) == {"mean", "q05", "q50", "q95"}
        assert len(s[key]["q50"]) == 5
        assert all(
            a <= b <= c for a, b, c in zip(s[key]["q05"], s[key]["q50"], s[key]["q95"], strict=True)
        )
    assert s["prevalence_per_10k"]["q50"] == pytest.approx(np.array(s["N"]["q50"]), rel=1e-9)
    growth = s["growth"]
    assert growth["observed"] == pytest.approx(291 / 894)
    assert 0.0 <= growth["prob_true_growth"] <= 1.0
    assert set(s["diagnostics"]) >= {"rhat_max", "ess_bulk_min", "divergences", "ok"}
    # with 2 x 300 draws the ESS check must fail, and say so
    assert s["diagnostics"]["ok"] is False and s["warnings"]
    assert all(0 <= p <= 1 for p in s["ppc_frequencies_p"])


def test_observed_growth_is_true_times_realised_reporting(robust_fit):
    g = robust_fit.growth
    np.testing.assert_allclose(g["true"] * g["reporting_realised"], g.attrs["observed"])


def test_save_and_load_give_identical_summaries(robust_fit, tmp_path):
    path = tmp_path / "fit.nc"
    robust_fit.save(path)
    loaded = FitResult.load(path)
    assert loaded.summary() == robust_fit.summary()
    assert loaded.data == robust_fit.data
    assert loaded.spec.to_dict() == robust_fit.spec.to_dict()


def test_samplers_agree_and_missing_ones_are_named():
    data = load_dataset("hare")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # numpyro joins where JAX is installed (not in the test extra: a 600 MB install)
        runs = {
            sampler: fit(data, "M0", draws=500, tune=300, chains=2, seed=5, sampler=sampler)
            for sampler in ("pymc", "nutpie", "numpyro")
            if sampler in available_samplers()
        }
    assert {"pymc", "nutpie"} <= set(runs)
    medians = {k: float(r.abundance.median()) for k, r in runs.items()}
    # M0 on the hares: MLE 75.3 (Otis et al. 1978; Rcapture closedp); the posterior median
    # under the weak default priors sits within a few animals of it for both samplers
    for median in medians.values():
        assert 72 <= median <= 80
    assert max(medians.values()) - min(medians.values()) <= 2
    if "numpyro" not in runs:
        with pytest.raises(ModelSpecError, match="needs jax"):
            fit(data, "M0", sampler="numpyro")
    with pytest.raises(ModelSpecError, match="unknown sampler"):
        fit(data, "M0", sampler="metropolis")
    with pytest.raises(ModelSpecError, match="for the mse-lcmcr family only"):
        fit(data, "M0", sampler="gibbs")


def test_diagnostics_name_the_variable_behind_each_problem():
    # chains of "stuck" disagree and barely move; "fine" is white noise: the R-hat and ESS
    # messages must name "stuck" (not its unconstrained copy "stuck_log__", which ties)
    import arviz as az

    from hiddenpop.inference.diagnostics import diagnose

    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(0, 0.05, (2, 500)), axis=1) + np.array([[0.0], [3.0]])
    idata = az.from_dict(
        posterior={
            "stuck_log__": walk,
            "stuck": np.exp(walk),
            "fine": rng.normal(size=(2, 500)),
        }
    )
    messages = diagnose(idata, warn=False).messages
    assert any(m.startswith("R-hat") and "stuck)" in m for m in messages)
    assert any(m.startswith("bulk ESS") and "stuck)" in m for m in messages)
    assert not any("fine" in m or "log__" in m for m in messages)
