"""Multiple-systems models: graphs at the initial point, identifiability checks, the MLE, the CLI.

Each distinct PyMC model compiles (tens of seconds), so only two small fits run here, both
through the command line: the log-linear model on Kosovo (histories) and the latent-class
model on simulated records with ``--source``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytensor
import pytest
import xarray as xr
from scipy import stats

from hiddenpop.cli import main
from hiddenpop.constants import PERIOD_DIM, SOURCE_DIM
from hiddenpop.data import CaptureData
from hiddenpop.datasets import dataset_table, load_dataset
from hiddenpop.exceptions import ModelSpecError, UnsupportedDataError
from hiddenpop.inference.fit import default_model_name
from hiddenpop.likelihood.lists_mle import fit_loglinear, loglinear_design, mle_exists
from hiddenpop.modeling import family_of, load_model
from hiddenpop.results import FitResult

MSE = ["mse-loglinear", "mse-latent-class"]


def list_records(seed: int = 0, periods=(1, 2), n: int = 400) -> pd.DataFrame:
    """Records of independent lists A-D; list D is absent in the last period."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in periods:
        for i in range(n):
            for source, p in zip("ABCD", (0.3, 0.25, 0.35, 0.2), strict=True):
                if source == "D" and t == periods[-1]:
                    continue
                if rng.random() < p:
                    rows.append((f"{t}-{i}", t, source))
    return pd.DataFrame(rows, columns=["id", "period", "source"])


def two_periods() -> CaptureData:
    return CaptureData.from_records(list_records(), id="id", period="period", source="source")


def history(rows: list[tuple[str, int]], labels: str = "ABCD") -> CaptureData:
    table = pd.DataFrame(
        [[int(c) for c in pattern] + [count] for pattern, count in rows],
        columns=[*labels, "count"],
    )
    return CaptureData.from_histories(table, kind="source")


@pytest.mark.parametrize("name", MSE)
@pytest.mark.parametrize("dataset", ["kosovo", "two-periods"])
def test_logp_and_gradient_finite_at_initial_point_with_dims(name, dataset):
    data = load_dataset("kosovo") if dataset == "kosovo" else two_periods()
    spec = load_model(name)
    model = family_of(spec).build(spec, data)
    point = model.initial_point()
    logp = model.logp()
    grad = pytensor.grad(logp, model.value_vars)
    f = pytensor.function(model.value_vars, [logp, *grad], mode="FAST_COMPILE")
    values = f(*[point[v.name] for v in model.value_vars])
    assert np.isfinite(values[0])
    for g in values[1:]:
        assert np.all(np.isfinite(g))
    assert list(model.coords[PERIOD_DIM]) == data.periods
    assert model.named_vars_to_dims["detection_fraction"] == (PERIOD_DIM,)
    assert model.named_vars_to_dims["source_detection"] == (PERIOD_DIM, SOURCE_DIM)


def test_interaction_sets_default_and_explicit():
    data = load_dataset("kosovo")
    spec = load_model("mse-loglinear")
    family = family_of(spec)
    assert len(family.coords(spec, data)["interaction_term"]) == 6
    assert len(family.coords(spec.with_structure(max_order=3), data)["interaction_term"]) == 10
    explicit = spec.with_structure(interactions=[["HRW", "EXH"], ["ABA", "OSCE"]])
    terms = family.coords(explicit, data)["interaction_term"]
    assert terms == ["EXH:HRW", "ABA:OSCE"]
    with pytest.raises(ModelSpecError, match="not identifiable"):
        family.check_data(spec.with_structure(interactions=[["EXH", "ABA", "OSCE", "HRW"]]), data)
    with pytest.raises(ModelSpecError, match="distinct list labels"):
        family.check_data(spec.with_structure(interactions=[["EXH", "XYZ"]]), data)


def test_identifiability_warnings_name_the_problem():
    # D overlaps no other list; no unit is on both A and C
    data = history(
        [
            ("1000", 50),
            ("0100", 40),
            ("1100", 10),
            ("0010", 30),
            ("0110", 5),
            ("0001", 20),
            ("1101", 0),
        ]
    )
    spec = load_model("mse-loglinear")
    messages = family_of(spec).identifiability(spec, data)
    assert any("list D overlaps no other list" in m for m in messages)
    assert any("no unit is on all of A, C" in m for m in messages)
    assert any("does not exist" in m for m in messages)
    clean = family_of(spec).identifiability(spec, load_dataset("kosovo"))
    assert clean == []
    latent = load_model("mse-latent-class")
    three = history([("10", 30), ("01", 20), ("11", 5)], labels="AB")
    assert any(
        "at least three lists" in m for m in family_of(latent).identifiability(latent, three)
    )


def test_data_that_cannot_identify_n_are_refused():
    spec = load_model("mse-loglinear")
    disjoint = history([("100", 30), ("010", 20), ("001", 5)], labels="ABC")
    with pytest.raises(UnsupportedDataError, match="not identifiable"):
        family_of(spec).check_data(spec, disjoint)
    with pytest.raises(UnsupportedDataError, match="needs list data"):
        family_of(spec).check_data(spec, load_dataset("hare"))
    assert default_model_name(load_dataset("kosovo")) == "mse-loglinear"


def test_two_list_independence_mle_is_lincoln_petersen():
    data = history([("10", 60), ("01", 45), ("11", 15)], labels="AB")
    result = fit_loglinear(data, [])
    n1, n2, m = 75, 60, 15
    assert result.abundance == pytest.approx(n1 * n2 / m, rel=1e-9)
    assert result.df == 0 and result.exists


def test_kosovo_mle_solves_the_score_equations_and_profile_interval_hits_the_cut():
    data = load_dataset("kosovo")
    independence = fit_loglinear(data, [])
    pairwise = fit_loglinear(data, 2)
    # values of this implementation, checked below from first principles
    assert independence.abundance == pytest.approx(7394.6, abs=0.5)
    assert pairwise.abundance == pytest.approx(14402.5, abs=0.5)
    assert pairwise.df == 15 - 11 and independence.df == 15 - 5
    counts = data.stats["pattern_counts"].values[0].astype(float)
    for result, terms in (
        (independence, []),
        (pairwise, [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]),
    ):
        design = loglinear_design(data.stats["inclusion"].values, terms)
        mu = np.exp(design @ np.array(list(result.coefficients.values())))
        assert np.abs(design.T @ (counts - mu)).max() < 1e-6 * counts.sum()
        assert result.abundance == pytest.approx(
            counts.sum() + np.exp(result.coefficients["intercept"])
        )
    # the chi-square cut of the multinomial profile likelihood at both ends (Cormack 1992)
    lower, upper = pairwise.interval
    assert lower < pairwise.abundance < upper
    from hiddenpop.likelihood.lists_mle import _profile

    full = np.vstack([np.eye(1, design.shape[1]), design])
    n = counts.sum()
    grid = np.linspace(lower - n, upper - n, 201)
    top = max(_profile(u, counts, full) for u in grid)
    cut = stats.chi2.ppf(0.95, 1) / 2
    for end in (lower, upper):
        assert top - _profile(end - n, counts, full) == pytest.approx(cut, abs=0.01)


def test_mle_existence_check():
    inclusion = np.array(
        [[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]]
    )
    design = loglinear_design(inclusion, [(0, 1), (0, 2), (1, 2)])
    assert mle_exists(np.array([10, 8, 3, 7, 2, 4, 1]), design)
    # nobody on both A and B (patterns 110 and 111 empty): gamma_AB -> -inf, no MLE
    assert not mle_exists(np.array([10, 8, 0, 7, 2, 4, 0]), design)


def test_cli_fits_lists_with_both_models(tmp_path, capsys):
    table = tmp_path / "kosovo.csv"
    dataset_table("kosovo").to_csv(table, index=False)
    out = tmp_path / "kosovo.nc"
    code = main(
        [
            "fit",
            str(table),
            "--histories",
            "--lists",
            "--model",
            "mse-loglinear",
            "--draws",
            "300",
            "--tune",
            "300",
            "--chains",
            "2",
            "--seed",
            "1",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "mse-loglinear" and summary["detected"] == [4400]
    # beside the MLE of the same model (14,402; profile 95% interval 12,523-16,668)
    assert 12_500 < summary["N"]["q50"][0] < 16_000
    assert "growth" not in summary
    result = FitResult.load(out)
    assert result.summary()["N"] == summary["N"]

    records = tmp_path / "records.csv"
    list_records(seed=2, n=600).to_csv(records, index=False)
    out = tmp_path / "lc.nc"
    code = main(
        [
            "fit",
            str(records),
            "--id",
            "id",
            "--period",
            "period",
            "--source",
            "source",
            "--model",
            "mse-latent-class",
            "--target-accept",
            "0.95",
            "--draws",
            "200",
            "--tune",
            "300",
            "--chains",
            "2",
            "--seed",
            "2",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "mse-latent-class" and summary["periods"] == [1, 2]
    assert set(summary["growth"]) >= {"true", "reporting", "observed", "prob_true_growth"}
    for q05, q95 in zip(summary["N"]["q05"], summary["N"]["q95"], strict=True):
        assert q05 < 600 < q95 * 1.05
    # classes relabelled by decreasing weight in every draw; the sampled breaks, whose
    # labels mean nothing, are not in the diagnostics
    latent = FitResult.load(out)
    assert np.all(np.diff(latent.posterior["class_weight"].values, axis=-1) <= 0)
    assert not any("class_break" in message for message in summary["warnings"])
    # the command line's --target-accept reaches the sampler (the model file's default else)
    assert json.loads(latent.idata.attrs["sampler"])["target_accept"] == 0.95
    assert json.loads(result.idata.attrs["sampler"])["target_accept"] == 0.99


def test_derive_draws_n_and_growth_by_source_without_sampling():
    data = two_periods()
    spec = load_model("mse-loglinear")
    rng = np.random.default_rng(0)
    chains, draws = 2, 50
    reach = np.broadcast_to(
        [[0.3, 0.25, 0.35, 0.2], [0.45, 0.25, 0.35, 0.0]], (chains, draws, 2, 4)
    )
    p_star = 1 - np.prod(1 - reach, axis=-1)
    posterior = xr.Dataset(
        {
            "detection_fraction": (("chain", "draw", PERIOD_DIM), p_star),
            "log_expected_abundance": (
                ("chain", "draw", PERIOD_DIM),
                np.full((2, 50, 2), np.log(400.0)),
            ),
            "source_detection": (("chain", "draw", PERIOD_DIM, SOURCE_DIM), reach),
            "abundance_sd": (("chain", "draw"), np.full((2, 50), 0.1)),
        },
        coords={PERIOD_DIM: data.periods, SOURCE_DIM: list("ABCD")},
    )
    derived = family_of(spec).derive(posterior, spec, data, rng)
    # the abundance line, integrated out of the graph, is drawn here
    assert derived["abundance_level"].shape == (2, 50)
    assert abs(float(derived["abundance_level"].mean()) - np.log(400.0)) < 0.05
    assert np.all(derived["N"].values >= data.detected)
    assert abs(derived["N"].values.mean() - 400) < 15
    growth = derived["reporting_growth_by_source"]
    assert list(growth["growth_source"].values) == ["A", "B", "C"]  # D absent in period 2
    assert np.allclose(growth.values[..., 0], 1.5) and growth.attrs["summary_block"]
    assert np.isnan(derived["source_growth"].sel(period=2, source="D")).all()


def test_classes_are_relabelled_by_decreasing_weight_in_every_draw():
    from hiddenpop.modeling.mse import CLASS_DIM, relabel_by_weight

    rng = np.random.default_rng(3)
    weight = rng.dirichlet(np.ones(4), size=(2, 30))
    level = rng.normal(size=(2, 30, 4))
    profile = rng.normal(size=(2, 30, 3, 4))  # stored with the class dim second to last
    posterior = xr.Dataset(
        {
            "class_weight": (("chain", "draw", CLASS_DIM), weight),
            "class_level": (("chain", "draw", CLASS_DIM), level),
            "class_profile": (("chain", "draw", SOURCE_DIM, CLASS_DIM), profile),
        }
    )
    out = relabel_by_weight(posterior)
    assert out["class_profile"].dims == ("chain", "draw", SOURCE_DIM, CLASS_DIM)
    for c in range(2):
        for d in range(30):
            order = np.argsort(-weight[c, d])
            assert np.array_equal(out["class_weight"].values[c, d], weight[c, d, order])
            assert np.array_equal(out["class_level"].values[c, d], level[c, d, order])
            assert np.array_equal(out["class_profile"].values[c, d], profile[c, d][:, order])


@pytest.mark.parametrize("n_periods", [2, 3, 6])
def test_integrated_abundance_line_is_the_multivariate_normal(n_periods):
    # log lambda = a + b x + s e, a and b integrated out, against scipy's dense MvNormal
    from hiddenpop.modeling.mse import _line_marginal_logp, _period_steps
    from hiddenpop.modeling.priors import Prior

    x = _period_steps(n_periods)
    y = np.random.default_rng(n_periods).normal(7.0, 0.8, n_periods)
    priors = {
        "abundance": Prior("Normal", {"mu": np.asarray(7.3), "sigma": 2.5}),
        "abundance_trend": Prior("Normal", {"mu": 0.1, "sigma": 0.5}),
    }
    value = _line_marginal_logp(pytensor.shared(y), priors, x, pytensor.shared(0.13)).eval()
    cov = 2.5**2 + 0.5**2 * np.outer(x, x) + 0.13**2 * np.eye(n_periods)
    assert value == pytest.approx(stats.multivariate_normal(7.3 + 0.1 * x, cov).logpdf(y))


def test_abundance_line_draws_are_the_exact_conditional():
    # given log lambda and s, (level, slope) is Gaussian: compare with the dense formula
    from hiddenpop.modeling.mse import _line_draws, _period_steps
    from hiddenpop.modeling.priors import Prior

    n_periods, draws = 5, 40_000
    x = _period_steps(n_periods)
    y = np.array([7.0, 7.3, 7.4, 7.8, 8.1])
    posterior = xr.Dataset(
        {
            "log_expected_abundance": (("chain", "draw", PERIOD_DIM), np.tile(y, (1, draws, 1))),
            "abundance_sd": (("chain", "draw"), np.full((1, draws), 0.2)),
        }
    )
    priors = {
        "abundance": Prior("Normal", {"mu": 7.0, "sigma": 2.5}),
        "abundance_trend": Prior("Normal", {"mu": 0.0, "sigma": 0.5}),
    }
    out = _line_draws(posterior, priors, np.random.default_rng(1))
    design = np.column_stack([np.ones(n_periods), x])
    precision = np.diag([1 / 2.5**2, 1 / 0.5**2]) + design.T @ design / 0.2**2
    cov = np.linalg.inv(precision)
    mean = cov @ (design.T @ y / 0.2**2 + np.array([7.0 / 2.5**2, 0.0]))
    for j, name in enumerate(("abundance_level", "abundance_trend")):
        values = out[name].values.ravel()
        assert values.mean() == pytest.approx(mean[j], abs=4 * np.sqrt(cov[j, j] / draws))
        assert values.std() == pytest.approx(np.sqrt(cov[j, j]), rel=0.02)


@pytest.mark.parametrize("classes", [2, 3, 5])
def test_class_weight_prior_is_stick_breaking_averaged_over_orders(classes):
    # ordering the class levels is a relabelling only under an exchangeable prior: the
    # correction turns stick-breaking in class order into its average over all C! orders
    import itertools

    from hiddenpop.modeling.mse import _exchangeable_stick_breaking

    def stick_breaking_logpdf(weights, concentration):
        rest, value = 1.0, 0.0
        for w in weights[:-1]:
            value += stats.beta(1.0, concentration).logpdf(w / rest) - np.log(rest)
            rest -= w
        return value

    weights = np.random.default_rng(classes).dirichlet(np.full(classes, 0.7))
    orders = itertools.permutations(range(classes))
    average = np.mean([np.exp(stick_breaking_logpdf(weights[list(o)], 0.6)) for o in orders])
    expected = np.log(average) - stick_breaking_logpdf(weights, 0.6)
    value = _exchangeable_stick_breaking(pytensor.shared(np.log(weights)), 0.6, classes).eval()
    assert value == pytest.approx(expected, rel=1e-10)
    with pytest.raises(ModelSpecError, match="between 2 and 7"):
        family_of(load_model("mse-latent-class")).validate(
            load_model("mse-latent-class").with_structure(classes=8)
        )
