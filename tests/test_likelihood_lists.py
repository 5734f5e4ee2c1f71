"""List likelihoods against brute-force enumeration over patterns and latent classes."""

from __future__ import annotations

import itertools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import stats
from scipy.special import expit

from hiddenpop.data.statistics import inclusion_matrix
from hiddenpop.likelihood.lists import (
    conditional_log_likelihood,
    interaction_design,
    interaction_terms,
    latent_class_log_weights,
    log_pattern_probabilities,
    loglinear_log_weights,
    pattern_mask,
    poisson_log_likelihood,
    source_detection_probability,
)

L = 3
INCLUSION = inclusion_matrix(L)
TERMS = interaction_terms(L, 2)
DESIGN = interaction_design(INCLUSION, TERMS)
# period 0: all lists; period 1: list C absent
SOURCE_MASK = np.array([[True, True, True], [True, True, False]])
POSSIBLE = pattern_mask(INCLUSION, SOURCE_MASK)
RNG = np.random.default_rng(3)
MAIN = RNG.normal(-1.0, 0.5, size=(2, L))
GAMMA = RNG.normal(0.0, 0.7, size=(2, len(TERMS)))
COUNTS = np.where(POSSIBLE, RNG.integers(0, 30, size=POSSIBLE.shape), 0)


def evaluate(x):
    return pytensor.function([], x, mode="FAST_COMPILE")()


def all_patterns() -> list[tuple[int, ...]]:
    return list(itertools.product((0, 1), repeat=L))


def brute_loglinear(t: int) -> dict[tuple[int, ...], float]:
    """P_t(h) over all 2^L patterns by direct products, absent lists never included."""
    weights = {}
    for h in all_patterns():
        if any(h[l] and not SOURCE_MASK[t, l] for l in range(L)):
            continue
        log_w = sum(h[l] * MAIN[t, l] for l in range(L))
        log_w += sum(
            g * np.prod([h[l] for l in term]) for g, term in zip(GAMMA[t], TERMS, strict=True)
        )
        weights[h] = np.exp(log_w)
    total = sum(weights.values())
    return {h: w / total for h, w in weights.items()}


def pattern_of(row) -> tuple[int, ...]:
    return tuple(int(x) for x in row)


def test_terms_leave_out_the_highest_order():
    assert interaction_terms(3, 3) == [(0, 1), (0, 2), (1, 2)]
    assert interaction_terms(2, 2) == []
    assert len(interaction_terms(5, 3)) == 10 + 10
    assert DESIGN[list(map(pattern_of, INCLUSION)).index((1, 1, 1))].tolist() == [1, 1, 1]


def test_pattern_mask_drops_patterns_with_absent_lists():
    assert POSSIBLE[0].all()
    expected = [not row[2] for row in INCLUSION]
    assert POSSIBLE[1].tolist() == expected


def test_loglinear_probabilities_match_enumeration():
    log_w, log_w0 = loglinear_log_weights(MAIN, GAMMA, INCLUSION, DESIGN)
    log_p, log_p0, log_p_star = map(evaluate, log_pattern_probabilities(log_w, log_w0, POSSIBLE))
    for t in range(2):
        brute = brute_loglinear(t)
        assert np.exp(log_p0[t]) == pytest.approx(brute[(0,) * L], rel=1e-12)
        assert np.exp(log_p_star[t]) == pytest.approx(1 - brute[(0,) * L], rel=1e-12)
        for j, row in enumerate(INCLUSION):
            expected = brute.get(pattern_of(row), 0.0)
            assert np.exp(log_p[t, j]) == pytest.approx(expected, rel=1e-12, abs=0)


def test_conditional_likelihood_is_the_multinomial_given_n():
    log_w, _ = loglinear_log_weights(MAIN, GAMMA, INCLUSION, DESIGN)
    value = evaluate(conditional_log_likelihood(log_w, COUNTS, POSSIBLE))
    for t in range(2):
        brute = brute_loglinear(t)
        seen = [h for h in brute if any(h)]
        p = np.array([brute[h] for h in seen]) / sum(brute[h] for h in seen)
        index = [list(map(pattern_of, INCLUSION)).index(h) for h in seen]
        n = COUNTS[t, index]
        constant = stats.multinomial.logpmf(
            n, n.sum(), np.ones(len(n)) / len(n)
        ) - n.sum() * np.log(1 / len(n))
        assert value[t] == pytest.approx(stats.multinomial.logpmf(n, n.sum(), p) - constant)


def test_poisson_likelihood_is_independent_poisson_cells():
    log_lambda = np.log([500.0, 80.0])
    log_w, log_w0 = loglinear_log_weights(MAIN, GAMMA, INCLUSION, DESIGN)
    value = evaluate(poisson_log_likelihood(log_lambda, log_w, log_w0, COUNTS, POSSIBLE))
    conditional = evaluate(conditional_log_likelihood(log_w, COUNTS, POSSIBLE))
    for t in range(2):
        brute = brute_loglinear(t)
        total = 0.0
        for j, row in enumerate(INCLUSION):
            h = pattern_of(row)
            if h in brute:
                n = COUNTS[t, j]
                total += stats.poisson.logpmf(n, np.exp(log_lambda[t]) * brute[h])
                total -= stats.poisson.logpmf(n, 1.0) + 1.0  # add back log n!
        assert value[t] == pytest.approx(total, rel=1e-10)
        # Poisson = Poisson(n | lambda P*) + conditional, up to log n!
        n_t = COUNTS[t].sum()
        p_star = 1 - brute[(0,) * L]
        split = stats.poisson.logpmf(n_t, np.exp(log_lambda[t]) * p_star) + conditional[t]
        log_n_factorial = -(stats.poisson.logpmf(n_t, 1.0) + 1.0)
        assert value[t] == pytest.approx(split + log_n_factorial, rel=1e-10)


def brute_latent_class(t, weights, q) -> dict[tuple[int, ...], float]:
    """Sum over units' latent classes of the independent-list product (absent lists: q = 0)."""
    out = {}
    for h in all_patterns():
        total = 0.0
        for c, pi in enumerate(weights):
            product = pi
            for l in range(L):
                q_l = q[c, l] if SOURCE_MASK[t, l] else 0.0
                product *= q_l if h[l] else 1 - q_l
            total += product
        out[h] = total
    return out


def test_latent_class_probabilities_match_enumeration():
    weights = np.array([0.6, 0.3, 0.1])
    logit_q = RNG.normal(-1.0, 1.0, size=(2, 3, L))
    log_w, log_w0 = latent_class_log_weights(np.log(weights), logit_q, INCLUSION, SOURCE_MASK)
    log_p, log_p0, _ = map(evaluate, log_pattern_probabilities(log_w, log_w0, POSSIBLE))
    on_list = evaluate(source_detection_probability(log_p, INCLUSION, POSSIBLE))
    for t in range(2):
        brute = brute_latent_class(t, weights, expit(logit_q[t]))
        assert sum(brute.values()) == pytest.approx(1.0)
        assert np.exp(log_p0[t]) == pytest.approx(brute[(0,) * L], rel=1e-12)
        for j, row in enumerate(INCLUSION):
            assert np.exp(log_p[t, j]) == pytest.approx(brute[pattern_of(row)], abs=1e-15)
        for l in range(L):
            marginal = sum(p for h, p in brute.items() if h[l])
            assert on_list[t, l] == pytest.approx(marginal, abs=1e-14)


def test_one_class_is_the_independence_model():
    logit_q = RNG.normal(-1.0, 1.0, size=(2, 1, L))
    log_w_lc, log_w0_lc = latent_class_log_weights(np.zeros(1), logit_q, INCLUSION, SOURCE_MASK)
    log_w_ll, log_w0_ll = loglinear_log_weights(
        logit_q[:, 0, :], np.zeros(0), INCLUSION, np.zeros((len(INCLUSION), 0))
    )
    a = evaluate(log_pattern_probabilities(log_w_lc, log_w0_lc, POSSIBLE)[0])
    b = evaluate(log_pattern_probabilities(log_w_ll, log_w0_ll, POSSIBLE)[0])
    assert np.allclose(np.exp(a), np.exp(b), atol=1e-14)


def test_gradients_are_finite_with_absent_lists():
    main = pt.dmatrix("main")
    gamma = pt.dmatrix("gamma")
    log_w, log_w0 = loglinear_log_weights(main, gamma, INCLUSION, DESIGN)
    value = poisson_log_likelihood(np.log([500.0, 80.0]), log_w, log_w0, COUNTS, POSSIBLE).sum()
    grads = pytensor.function([main, gamma], pt.grad(value, [main, gamma]), mode="FAST_COMPILE")(
        MAIN, GAMMA
    )
    assert all(np.all(np.isfinite(g)) for g in grads)
    # list C is absent in period 1: its main effect there has no gradient
    assert grads[0][1, 2] == 0.0
