"""mse-lcmcr: LCMCR's latent-class model and its Gibbs sampler.

The sampler is checked against quantities computed without it: log-gamma variates against the
gamma law's tail, the posterior of N and P* on a tiny table against importance sampling from
the prior (the likelihood with N summed out in closed form), and, in a small simulation-based
calibration, the ranks of the class weights on the log scale (the quantity NUTS could not
follow in ``mse-latent-class``). One fit goes through the command line and ``fit()`` (the
PyMC step method).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from hiddenpop.cli import main
from hiddenpop.data import CaptureData
from hiddenpop.datasets import dataset_table, load_dataset
from hiddenpop.exceptions import ModelSpecError, UnsupportedDataError
from hiddenpop.inference import fit
from hiddenpop.inference.gibbs import (
    LatentClassState,
    gibbs_sweep,
    log_class_weights,
    log_gamma_variates,
)
from hiddenpop.modeling import family_of, load_model
from hiddenpop.modeling.priors import Prior
from hiddenpop.modeling.spec import parse_model
from hiddenpop.results import FitResult
from hiddenpop.sensitivity import PowerScaling

LCMCR_PRIORS = {
    "abundance_alpha": 0.0,
    "abundance_beta": 0.0,
    "list_alpha": 1.0,
    "list_beta": 1.0,
    "concentration_alpha": 0.25,
    "concentration_beta": 0.25,
}


def patterns(n_lists: int) -> np.ndarray:
    """(2^L - 1, L) non-empty inclusion patterns."""
    rows = [[(h >> l) & 1 for l in range(n_lists)] for h in range(1, 2**n_lists)]
    return np.array(rows, dtype=float)


def run_chain(counts, inclusion, priors, classes, sweeps, seed, thin=1, burn=None):
    """Draws of (N, log P*, log pi) from ``sweeps`` Gibbs sweeps after ``burn`` (default as
    many) of burn-in."""
    burn = sweeps if burn is None else burn
    rng = np.random.default_rng(seed)
    state = LatentClassState(
        log_lambda=np.log(counts.sum() * 2.0),
        log_concentration=0.0,
        break_logodds=np.zeros(classes - 1),
        list_logodds=rng.normal(size=(classes, inclusion.shape[1])),
    )
    draws = []
    for i in range(burn + sweeps):
        state, unseen = gibbs_sweep(state, counts, inclusion, priors, rng)
        if i >= burn and (i - burn) % thin == 0:
            log_pi = log_class_weights(state.break_logodds)
            draws.append((counts.sum() + unseen, seen_log_probability(state), log_pi))
    return draws


def seen_log_probability(state) -> float:
    """log P* = log(1 - P(on no list))."""
    log_not_q = special.log_expit(-state.list_logodds)
    log_pi = log_class_weights(state.break_logodds)
    log_zero = special.logsumexp(log_pi + log_not_q.sum(axis=1))
    return float(np.log(-np.expm1(log_zero)))


def test_log_gamma_variates_follow_the_gamma_law_below_floating_point_range():
    rng = np.random.default_rng(0)
    shape = 0.001
    draws = log_gamma_variates(rng, np.full(40_000, shape))
    # Pr(X < e^-1000) = e^(-1000 s) / Gamma(s + 1) to first order for small s: 0.3681
    expected = np.exp(-1000 * shape - special.gammaln(shape + 1))
    assert abs(np.mean(draws < -1000) - expected) < 4 * np.sqrt(expected * (1 - expected) / 4e4)
    # and in the bulk, shapes above 1 agree with the law's quantiles
    big = np.exp(log_gamma_variates(rng, np.full(40_000, 3.5)))
    assert stats.kstest(big, stats.gamma(3.5).cdf).pvalue > 0.001


def importance_posterior(counts, inclusion, classes, n_draws, seed):
    """Prior draws of (pi, q) weighted by the likelihood with N summed out.

    With p(N) ~ 1 / N, sum_N p(N) p(n_h | N, theta) is proportional to
    prod_h (P(h) / P*)^n_h, and n0 | theta, data ~ NB(n, P*): the posterior of N is the
    weighted mixture of those negative binomials.
    """
    rng = np.random.default_rng(seed)
    a = rng.gamma(0.25, 1 / 0.25, size=n_draws)
    v = rng.beta(1.0, a[:, None], size=(n_draws, classes - 1))
    rest = np.cumprod(np.concatenate([np.ones((n_draws, 1)), 1 - v], axis=1), axis=1)
    pi = rest * np.concatenate([v, np.ones((n_draws, 1))], axis=1)
    q = rng.uniform(size=(n_draws, classes, inclusion.shape[1]))
    # P(h) = sum_c pi_c prod_l q^h (1 - q)^(1 - h), for every draw and pattern
    per_class = np.exp(np.log(q) @ inclusion.T + np.log1p(-q) @ (1 - inclusion).T)
    p = np.einsum("dc,dch->dh", pi, per_class)
    p_star = p.sum(axis=1)
    log_w = (counts * np.log(p / p_star[:, None])).sum(axis=1)
    w = np.exp(log_w - log_w.max())
    return w / w.sum(), p_star


def test_gibbs_posterior_of_n_and_p_star_matches_importance_sampling():
    inclusion = patterns(3)
    counts = np.array([14, 11, 4, 9, 3, 2, 3])  # patterns 100, 010, 110, 001, 101, 011, 111
    n = counts.sum()
    weights, p_star = importance_posterior(counts, inclusion, 2, 400_000, seed=1)
    assert 1 / np.sum(weights**2) > 3_000  # the importance sample is not degenerate
    draws = []
    for seed in range(4):
        draws += run_chain(counts, inclusion, LCMCR_PRIORS, classes=2, sweeps=8_000, seed=seed)
    big_n = np.array([d[0] for d in draws])
    gibbs_p_star = np.exp([d[1] for d in draws])
    assert abs(gibbs_p_star.mean() - weights @ p_star) < 0.01
    # Monte Carlo sd of each difference about 0.01 (Gibbs ESS near 3,500, importance 4,300)
    for x in np.quantile(big_n, [0.1, 0.25, 0.5, 0.75, 0.9]):
        exact = weights @ stats.nbinom.cdf(x - n, n, p_star)
        assert abs(np.mean(big_n <= x) - exact) < 0.035, (x, exact)


@pytest.mark.slow
def test_class_weights_are_calibrated_on_the_log_scale():
    """SBC: truths from the prior (a proper Gamma(20, 0.1) on lambda), ranks of the truth among
    thinned posterior draws. Sorted log weights, the smallest far below floating-point range
    in many replicates, and log P*."""
    inclusion = patterns(3)
    classes, replicates, kept = 3, 100, 49
    priors = {**LCMCR_PRIORS, "abundance_alpha": 20.0, "abundance_beta": 0.1}
    rng = np.random.default_rng(2026)
    ranks = []
    for r in range(replicates):
        a = rng.gamma(0.25, 1 / 0.25)
        logodds = log_gamma_variates(rng, np.ones(classes - 1)) - log_gamma_variates(
            rng, np.full(classes - 1, a)
        )
        log_pi = log_class_weights(logodds)
        q = rng.uniform(size=(classes, 3))
        members = rng.choice(classes, size=rng.poisson(rng.gamma(20.0, 10.0)), p=np.exp(log_pi))
        listed = rng.random((len(members), 3)) < q[members]
        codes = listed @ (1 << np.arange(3))
        counts = np.bincount(codes, minlength=8)[1:]
        if counts.sum() == 0:
            continue
        truth_state = LatentClassState(0.0, np.log(a), logodds, special.logit(q))
        truth = [*np.sort(log_pi)[::-1], seen_log_probability(truth_state)]
        draws = run_chain(
            counts, inclusion, priors, classes, sweeps=kept * 100, seed=r, thin=100, burn=1000
        )
        posterior = np.array([[*np.sort(d[2])[::-1], d[1]] for d in draws])
        ranks.append((posterior < np.array(truth)).sum(axis=0))
    ranks = np.array(ranks)
    for column, name in enumerate(["largest weight", "middle weight", "smallest", "log P*"]):
        observed = np.bincount(ranks[:, column] * 5 // (kept + 1), minlength=5)
        assert stats.chisquare(observed).pvalue > 0.001, (name, observed)
        # a truth beyond every draw (rank 0 or kept) has probability 2 / (kept + 1): a sampler
        # that cannot reach the weights' far tail piles the tiny true weights there
        extreme = int(np.sum((ranks[:, column] == 0) | (ranks[:, column] == kept)))
        assert stats.binom.sf(extreme - 1, len(ranks), 2 / (kept + 1)) > 0.001, (name, extreme)


def test_spec_and_data_errors_name_the_problem():
    spec = load_model("mse-lcmcr")
    family = family_of(spec)
    with pytest.raises(ModelSpecError, match="must be Beta"):
        family.validate(spec.with_priors(list_probability=Prior("Normal", {"mu": 0, "sigma": 1})))
    with pytest.raises(ModelSpecError, match="classes must be between 2 and 50"):
        family.validate(spec.with_structure(classes=1))
    data = load_dataset("kosovo")
    with pytest.raises(ModelSpecError, match="for the mse-lcmcr family only"):
        fit(data, "mse-loglinear", sampler="gibbs", draws=10, tune=10)
    text = spec.text.replace("thin = 50", "thin = 2.5")
    with pytest.raises(ModelSpecError, match="thin must be a whole number"):
        parse_model(text, origin="variant.toml")
    with pytest.raises(UnsupportedDataError, match="one-period model"):
        family.check_data(spec, _two_periods())


def _two_periods() -> CaptureData:
    records = pd.DataFrame(
        [(f"{t}-{i}", t, s) for t in (1, 2) for i in range(30) for s in "ABC" if (i + ord(s)) % 3],
        columns=["id", "period", "source"],
    )
    return CaptureData.from_records(records, id="id", period="period", source="source")


def test_cli_fits_lcmcr_with_the_gibbs_step_and_relabels_the_classes(tmp_path, capsys):
    """Through the command line and fit(): the PyMC step method, derived N, classes sorted by
    weight, diagnostics that leave the label-dependent breaks out, the sampler recorded."""
    table = tmp_path / "kosovo.csv"
    dataset_table("kosovo").to_csv(table, index=False)
    out = tmp_path / "kosovo.nc"
    argv = ["fit", str(table), "--histories", "--lists", "--model", "mse-lcmcr"]
    argv += ["--draws", "200", "--tune", "100", "--chains", "2", "--seed", "5"]
    assert main([*argv, "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "mse-lcmcr" and summary["detected"] == [4400]
    # Kosovo under LCMCR (K = 5): about 10,400 (docs/validation_mse.md), far above the 4,400
    assert 8_500 < summary["N"]["q50"][0] < 13_000
    assert not any("class_break" in message for message in summary["warnings"])
    result = FitResult.load(out)
    assert np.all(np.diff(result.posterior["class_weight"].values, axis=-1) <= 0)
    sampler = json.loads(result.idata.attrs["sampler"])
    assert sampler["sampler"] == "gibbs" and sampler["thin"] == 50  # the model file's
    # the sweeps' own unseen counts are draws of the same posterior as the derived N
    swept = 4400 + np.median(result.idata.sample_stats["unseen"].values)
    assert abs(swept / np.median(result.posterior["N"].values) - 1) < 0.05
    # refit-free power-scaling of a one-period fit, where N is the only key quantity (psens
    # then returns a DataArray, which the table once failed on)
    table = PowerScaling().run(result).table
    assert list(table["quantity"]) == ["N"]
    assert np.isfinite(table[["prior_sensitivity", "likelihood_sensitivity"]].to_numpy()).all()


def test_a_nuts_sampler_callable_gives_way_to_the_gibbs_sampler():
    """hiddenpop.study passes its compiled NUTS cache as a callable; a Gibbs family ignores it
    (and says so in the recorded sampler) rather than sampling with NUTS."""

    def nuts_cache(model, **settings):
        raise AssertionError("the NUTS callable must not be called for mse-lcmcr")

    result = fit(
        load_dataset("kosovo"),
        "mse-lcmcr",
        draws=20,
        tune=10,
        chains=1,
        seed=1,
        sampler=nuts_cache,
        predictive=False,
    )
    assert json.loads(result.idata.attrs["sampler"])["sampler"] == "gibbs"
