"""Multiple-systems (list) log-likelihoods on inclusion-pattern counts (METHODS.md §3, §6).

Written once in PyTensor and batched over periods: T periods, L sources, and the H = 2^L - 1
non-empty inclusion patterns h in {0,1}^L (rows of the ``inclusion`` matrix, H x L). A
source absent in period t (``source_mask[t, l]`` False) cannot list anyone, so the patterns
that include it are structurally empty (``pattern_mask[t, h]`` False) and contribute nothing.

Every model here gives, per period, unnormalised log weights ``log w[t, h]`` of the
non-empty patterns and ``log w0[t]`` of the all-zero pattern; then

    P_t(h) = w[t, h] / (w0[t] + sum_h' w[t, h']),     P*_t = 1 - P_t(0).

Log-linear model (Fienberg 1972; Cormack 1989)::

    log w[t, h] = sum_l h_l alpha[t, l] + sum_{S in terms} gamma[t, S] prod_{l in S} h_l,
    log w0[t] = 0,

so with N_t ~ Poisson(lambda_t) the cell means are mu[t, h] = lambda_t P_t(h) and
log mu[t, 0] = log lambda_t - log(1 + sum_h w[t, h]), the usual Poisson log-linear model
with intercept log mu[t, 0].

Latent-class model (Manrique-Vallier 2016, LCMCR)::

    P_t(h) = sum_c pi[t, c] prod_l q[t, c, l]^{h_l} (1 - q[t, c, l])^{1 - h_l},

i.e. log w[t, h] = logsumexp_c (log pi[t, c] + sum_l h_l log q + (1 - h_l) log(1 - q)),
the classes marginalised, with w0 the same sum at h = 0 and sum_h w = 1 (already normalised).

Likelihoods (constants of the data, log n_h! and the multinomial coefficient, are left out):

    conditional:  sum_h n[t, h] (log P_t(h) - log P*_t)             (multinomial given n_t)
    Poisson:      sum_h n[t, h] log(lambda_t P_t(h)) - lambda_t P*_t
                  = Poisson(n_t | lambda_t P*_t) + conditional        (up to log n_t!)
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pytensor.tensor as pt

__all__ = [
    "conditional_log_likelihood",
    "interaction_design",
    "interaction_terms",
    "latent_class_log_weights",
    "log_pattern_probabilities",
    "loglinear_log_weights",
    "pattern_mask",
    "poisson_log_likelihood",
    "source_detection_probability",
]

#: A numpy array or a PyTensor variable.
TensorLike = Any


def pattern_mask(inclusion: np.ndarray, source_mask: np.ndarray) -> np.ndarray:
    """(T, H) True where pattern h is possible in period t (all its sources present)."""
    inclusion = np.asarray(inclusion, dtype=bool)
    source_mask = np.asarray(source_mask, dtype=bool)
    return (~inclusion[None, :, :] | source_mask[:, None, :]).all(axis=-1)


def interaction_terms(n_sources: int, max_order: int = 2) -> list[tuple[int, ...]]:
    """All interaction terms (sets of source indices) of order 2..min(max_order, L - 1).

    The L-way interaction is left out: with the unseen cell unobserved it is not identifiable
    (it is confounded with the unseen count), so it is fixed at 0.
    """
    top = min(max_order, n_sources - 1)
    return [term for order in range(2, top + 1) for term in combinations(range(n_sources), order)]


def interaction_design(inclusion: np.ndarray, terms: list[tuple[int, ...]]) -> np.ndarray:
    """(H, J) float matrix: column j is prod_{l in terms[j]} h_l for every pattern h."""
    inclusion = np.asarray(inclusion, dtype=float)
    columns = [inclusion[:, list(term)].prod(axis=1) for term in terms]
    return np.stack(columns, axis=1) if columns else np.zeros((inclusion.shape[0], 0))


def loglinear_log_weights(
    main: TensorLike,
    interactions: TensorLike,
    inclusion: np.ndarray,
    design: np.ndarray,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Log weights of the log-linear model: ``(log w (T, H), log w0 (T,))``.

    Parameters
    ----------
    main
        (T, L) list main effects alpha[t, l].
    interactions
        (T, J) or (J,) interaction effects gamma (J = 0 allowed: independent lists).
    inclusion
        (H, L) 0/1 pattern matrix.
    design
        (H, J) interaction design from :func:`interaction_design`.
    """
    main = pt.as_tensor_variable(main)
    log_w = pt.dot(main, np.asarray(inclusion, dtype=float).T)
    if design.shape[1]:
        log_w = log_w + pt.dot(pt.as_tensor_variable(interactions), design.T)
    return log_w, pt.zeros_like(log_w[:, 0])


def latent_class_log_weights(
    log_class_weight: TensorLike,
    detection_logit: TensorLike,
    inclusion: np.ndarray,
    source_mask: np.ndarray,
) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Log weights of the latent-class model, classes marginalised: ``(log w, log w0)``.

    Parameters
    ----------
    log_class_weight
        (T, C) log pi[t, c] (or (C,), shared by every period).
    detection_logit
        (T, C, L) logit q[t, c, l]: probability that a unit of class c is on list l.
    inclusion
        (H, L) 0/1 pattern matrix.
    source_mask
        (T, L) sources present; an absent source lists nobody (q = 0).
    """
    logit_q = pt.as_tensor_variable(detection_logit)
    present = np.asarray(source_mask, dtype=bool)[:, None, :]
    log_miss = pt.switch(present, -pt.softplus(logit_q), 0.0)  # log(1 - q), 0 where absent
    log_odds = pt.switch(present, logit_q, 0.0)  # log q - log(1 - q)
    log_pi = pt.as_tensor_variable(log_class_weight)
    if log_pi.ndim == 1:
        log_pi = log_pi[None, :]
    base = log_pi + log_miss.sum(axis=-1)  # (T, C): class c and on no list
    per_class = base[:, :, None] + pt.dot(log_odds, np.asarray(inclusion, dtype=float).T)
    return pt.logsumexp(per_class, axis=1), pt.logsumexp(base, axis=1)


def log_pattern_probabilities(
    log_w: TensorLike, log_w0: TensorLike, patterns_possible: np.ndarray
) -> tuple[pt.TensorVariable, pt.TensorVariable, pt.TensorVariable]:
    """Normalised ``(log P(h) (T, H), log P(0) (T,), log P* (T,))``.

    Impossible patterns get log P = -inf. P* = sum_h P(h) is computed by logsumexp over the
    non-empty patterns (not as 1 - P(0)), so it stays accurate when detection is near 0 or 1.
    """
    log_w = pt.switch(patterns_possible, log_w, -np.inf)
    log_seen = pt.logsumexp(log_w, axis=1)
    log_total = pt.logaddexp(log_seen, log_w0)
    return log_w - log_total[:, None], log_w0 - log_total, log_seen - log_total


def conditional_log_likelihood(
    log_w: TensorLike, counts: np.ndarray, patterns_possible: np.ndarray
) -> pt.TensorVariable:
    """sum_h n[t, h] log P_t(h | seen), per period (T,); needs only the non-empty weights."""
    log_w = pt.switch(patterns_possible, log_w, -np.inf)
    log_conditional = log_w - pt.logsumexp(log_w, axis=1, keepdims=True)
    return pt.switch(patterns_possible, counts * log_conditional, 0.0).sum(axis=1)


def poisson_log_likelihood(
    log_lambda: TensorLike,
    log_w: TensorLike,
    log_w0: TensorLike,
    counts: np.ndarray,
    patterns_possible: np.ndarray,
) -> pt.TensorVariable:
    """sum_h [n_h log(lambda P(h)) - lambda P(h)] per period (T,), without log n_h!."""
    log_p, _, log_p_star = log_pattern_probabilities(log_w, log_w0, patterns_possible)
    log_mu = pt.as_tensor_variable(log_lambda)[:, None] + log_p
    observed = pt.switch(patterns_possible, counts * log_mu, 0.0).sum(axis=1)
    return observed - pt.exp(log_lambda + log_p_star)


def source_detection_probability(
    log_p: TensorLike, inclusion: np.ndarray, patterns_possible: np.ndarray
) -> pt.TensorVariable:
    """(T, L) probability that a unit present in period t is on list l: sum_{h: h_l=1} P(h)."""
    p = pt.switch(patterns_possible, pt.exp(log_p), 0.0)
    return pt.dot(p, np.asarray(inclusion, dtype=float))
