"""The persistence likelihood and presence draws against brute-force enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from hiddenpop.data import CaptureData
from hiddenpop.exceptions import ModelSpecError, UnsupportedDataError
from hiddenpop.likelihood.closed import ClosedStatistics, Heterogeneity, poisson_log_likelihood
from hiddenpop.likelihood.persistence import (
    persistence_log_likelihood,
    presence_draws,
)
from hiddenpop.modeling.families import family_of
from hiddenpop.modeling.spec import load_model
from hiddenpop.simulation import simulate
from hiddenpop.study.calibration import calibration_spec

T, K = 3, 2
TAU = np.array([[-0.4, 0.3], [-1.0, 0.2], [0.5, -0.6]])
SUPPORT = np.array([-1.2, 0.9])  # a unit's shift, kept in every period
WEIGHT = np.array([0.4, 0.6])
LAMBDA = np.array([30.0, 55.0, 20.0])  # grows, then falls below the survivors' bound


def _paths(rho):
    """(e, d) -> expected units entering at e, present through d, then leaving (by hand)."""
    survivors = [rho * min(LAMBDA[t - 1], LAMBDA[t]) for t in range(1, T)]
    phi = [s / LAMBDA[t] for t, s in enumerate(survivors)]
    entrants = [LAMBDA[0]] + [LAMBDA[t] - survivors[t - 1] for t in range(1, T)]
    out = {}
    for e in range(T):
        for d in range(e, T):
            stay = np.prod(phi[e:d])
            leave = 1.0 - phi[d] if d < T - 1 else 1.0
            out[e, d] = entrants[e] * stay * leave
    return out


def _history_means(rho):
    """Expected number of units with each detailed history y in {0,1}^{T x K}."""
    p = 1.0 / (1.0 + np.exp(-(TAU[None] + SUPPORT[:, None, None])))  # (J, T, K)
    paths = _paths(rho)
    means = {}
    for bits in itertools.product([0, 1], repeat=T * K):
        y = np.array(bits).reshape(T, K)
        total = 0.0
        for (e, d), mass in paths.items():
            if y[:e].any() or y[d + 1 :].any():
                continue
            inside = p[:, e : d + 1] ** y[e : d + 1] * (1 - p[:, e : d + 1]) ** (1 - y[e : d + 1])
            total += mass * np.sum(WEIGHT * inside.prod(axis=(1, 2)))
        means[bits] = total
    return means


def _data(rng):
    """Random counts for every non-empty detailed history, and their sufficient statistics."""
    counts = {
        bits: int(rng.poisson(3)) for bits in itertools.product([0, 1], repeat=T * K) if any(bits)
    }
    vectors = {}
    captures = np.zeros((T, K))
    for bits, c in counts.items():
        y = np.array(bits).reshape(T, K)
        m = tuple(y.sum(axis=1))
        vectors[m] = vectors.get(m, 0) + c
        captures += c * y
    histories = np.array(sorted(vectors))
    units = np.array([vectors[tuple(h)] for h in histories])
    keep = units > 0
    return counts, captures, histories[keep], units[keep]


def _heterogeneity():
    return Heterogeneity(SUPPORT, np.log(WEIGHT))


@pytest.mark.parametrize("rho", [0.05, 0.35, 0.8])
def test_likelihood_equals_enumeration_over_histories_intervals_and_classes(rho):
    rng = np.random.default_rng(int(rho * 100))
    counts, captures, histories, units = _data(rng)
    means = _history_means(rho)
    expected = sum(c * np.log(means[b]) for b, c in counts.items() if c) - sum(
        v for b, v in means.items() if any(b)
    )
    value = persistence_log_likelihood(
        np.log(LAMBDA),
        rho,
        TAU,
        np.ones((T, K), dtype=bool),
        captures,
        _heterogeneity(),
        histories,
        units,
    ).eval()
    np.testing.assert_allclose(value, expected, rtol=1e-11)


def test_without_persistence_it_is_the_closed_poisson_likelihood_of_each_period():
    """rho -> 0 and units seen in one period each: the sum over periods of the closed
    family's Poisson likelihood (an independent code path) with the same heterogeneity."""
    _, _, histories, units = _data(np.random.default_rng(5))
    single = np.count_nonzero(histories, axis=1) == 1
    histories, units = histories[single], units[single]
    frequencies = np.zeros((T, K))
    for h, c in zip(histories, units, strict=True):
        t = int(np.flatnonzero(h)[0])
        frequencies[t, h[t] - 1] += c
    captures = np.outer(frequencies @ np.arange(1, K + 1), np.ones(K)) / K  # any split works
    stats = ClosedStatistics(
        detected=frequencies.sum(axis=1),
        occasion_mask=np.ones((T, K), bool),
        frequencies=frequencies,
        captures=captures,
    )
    closed = poisson_log_likelihood(np.log(LAMBDA), TAU, stats, _heterogeneity()).eval()
    joint = persistence_log_likelihood(
        np.log(LAMBDA),
        1e-300,
        TAU,
        np.ones((T, K), bool),
        captures,
        _heterogeneity(),
        histories,
        units,
    ).eval()
    np.testing.assert_allclose(joint, closed.sum(), rtol=1e-11)


def test_presence_draws_match_the_exact_posterior_expectation():
    rho = 0.6
    rng = np.random.default_rng(8)
    counts, _, histories, units = _data(rng)
    paths = _paths(rho)
    p = 1.0 / (1.0 + np.exp(-(TAU[None] + SUPPORT[:, None, None])))
    # exact E[N_t | data]: every seen unit's interval posterior, plus never-seen units
    exact = np.zeros(T)
    for bits, c in [*counts.items(), (tuple([0] * T * K), None)]:
        y = np.array(bits).reshape(T, K)
        weights = {}
        for (e, d), mass in paths.items():
            if y[:e].any() or y[d + 1 :].any():
                continue
            inside = p[:, e : d + 1] ** y[e : d + 1] * (1 - p[:, e : d + 1]) ** (1 - y[e : d + 1])
            weights[e, d] = mass * np.sum(WEIGHT * inside.prod(axis=(1, 2)))
        total = sum(weights.values())
        for (e, d), w in weights.items():
            share = w if c is None else c * w / total  # never seen: Poisson mean itself
            exact[e : d + 1] += share
    draws = 4000
    abundance = presence_draws(
        np.random.default_rng(9),
        np.tile(np.log(LAMBDA), (draws, 1)),
        np.full(draws, rho),
        np.broadcast_to(TAU, (draws, T, K)),
        np.ones((T, K), bool),
        np.broadcast_to(SUPPORT, (draws, T, len(SUPPORT))),
        np.log(WEIGHT),
        histories,
        units,
    )
    error = abundance.std(axis=0) / np.sqrt(draws)
    assert np.all(np.abs(abundance.mean(axis=0) - exact) < 4 * error), (abundance.mean(0), exact)
    seen = np.array(
        [sum(c for b, c in counts.items() if np.array(b).reshape(T, K)[t].any()) for t in range(T)]
    )
    assert np.all(abundance >= seen)


def test_gradient_is_finite_where_a_period_has_no_entrants_left():
    """A steep decline (lambda_3 << rho lambda_2) keeps B_t > 0 by construction."""
    log_lambda = pt.dvector("log_lambda")
    rho = pt.dscalar("rho")
    rng = np.random.default_rng(2)
    _, captures, histories, units = _data(rng)
    value = persistence_log_likelihood(
        log_lambda, rho, TAU, np.ones((T, K), bool), captures, _heterogeneity(), histories, units
    )
    grad = pytensor.function([log_lambda, rho], pytensor.grad(value, [log_lambda, rho]))
    for point in ([3.0, 5.0, 0.5], [4.0, 4.0, 4.0], [2.0, 6.0, 6.0]):
        for g in grad(np.array(point), 0.9):
            assert np.all(np.isfinite(g))


# ------------------------------------------------------------------ the model option
@pytest.fixture(scope="module")
def linked():
    sim = simulate("heterogeneity", seed=2, abundance=[300.0, 600.0])
    return CaptureData.from_records(
        sim.records, id="id", period="period", occasion="occasion", occasions="union"
    )


@pytest.mark.parametrize(
    "options",
    [{}, {"heterogeneity": "none"}, {"heterogeneity_pooling": "partial", "occasion_noise": True}],
)
def test_persistent_graph_has_finite_logp_and_gradient(linked, options):
    spec = load_model("robust-trend-persistent").with_structure(**options)
    model = family_of(spec).build(spec, linked)
    point = model.initial_point()
    assert np.isfinite(model.compile_logp(mode="FAST_COMPILE")(point))
    assert np.all(np.isfinite(model.compile_dlogp(mode="FAST_COMPILE")(point)))
    assert "persistence" in model.named_vars
    # one likelihood term for all periods (what power-scaling reads)
    assert model.named_vars_to_dims["log_likelihood_period"] == ("likelihood_term",)


def test_persistence_option_errors_name_the_problem(linked):
    spec = load_model("robust-trend-persistent")
    family = family_of(spec)
    with pytest.raises(ModelSpecError, match="needs abundance = 'poisson'"):
        family.validate(spec.with_structure(abundance="negative-binomial"))
    with pytest.raises(ModelSpecError, match="behavioural response"):
        family.validate(spec.with_structure(behaviour=True))
    gap = linked.select_periods([linked.periods[0], linked.periods[2], linked.periods[3]])
    with pytest.raises(UnsupportedDataError, match="needs units linked across periods"):
        family.check_data(spec, gap)
    with pytest.raises(ModelSpecError, match="fresh units every period"):
        calibration_spec("robust-trend-persistent", {}, 5)
    # the carry-over warning is for the models that ignore it
    assert not any("carries over" in m for m in family.identifiability(spec, linked))
    plain = load_model("robust-trend")
    assert any("carries over" in m for m in family_of(plain).identifiability(plain, linked))
