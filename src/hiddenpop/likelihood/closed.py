"""Closed-population log-likelihoods on sufficient statistics (METHODS.md §3-4).

Written once in PyTensor: the same graphs go into PyMC models (``pm.Potential``) and compile
to plain functions for maximum likelihood. Every function is batched over periods: inputs
have a leading period dim T and an occasion dim K with a boolean occasion mask (masked
cells hold zero counts and contribute nothing), and the result is one value per period.

Model (Otis et al. 1978 M0, Mt, Mb, Mh, Mth, Mbh, Mtbh in one form; ``hiddenpop.detection``)::

    logit p[i, t, k] = tau[t, k] + s_i (+ b[t] on occasions after the first capture)

with the unit shift ``s`` drawn from a discrete distribution (shift[t, c], weight[t, c]):
Gauss-Hermite nodes of a normal N(0, sigma_t^2) (Coull & Agresti 1999) or the support of a
finite mixture (Pledger 2000). Given s, a history with first capture f and capture set S
(m = |S|) has probability exp(sum_{j in S} tau_j + m s + (m - 1) b) / D_f(s) with

    D_f(s) = prod_{j<f} (1 + e^{tau_j + s}) (1 + e^{tau_f + s}) prod_{j>f} (1 + e^{tau_j + b + s}),

so, with B_{f,m} = E_s[e^{m s} / D_f(s)],

    sum_h n_h log P(h) = sum_k n_k tau_k + b sum_k r_k + sum_{f,m} F_{f,m} log B_{f,m}

(n_k captures, r_k recaptures, F first_by_frequency). With b = 0 every D_f is
D(s) = prod_k (1 + e^{tau_k + s}) and this is the Rasch form
sum_k n_k tau_k + sum_m f_m log A_m, A_m = E_s[e^{m s} / D(s)], which needs only n_k and f_m.
A unit is never seen with probability A_0 = E_s[1 / D(s)]; P* = 1 - A_0.

Constants that depend on the data only (multinomial coefficients, sum_h log n_h!) are
left out of every log-likelihood, so values differ from a saturated-model deviance by
``2 (sum_h n_h log n_h - n) - 2 * value`` (Poisson form).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import pytensor.tensor as pt
from scipy import special

from hiddenpop.constants import CAPTURES_DIM, OCCASION_DIM, PERIOD_DIM, SOURCE_DIM
from hiddenpop.detection import gauss_hermite_normal
from hiddenpop.exceptions import UnsupportedDataError

__all__ = [
    "ClosedStatistics",
    "Heterogeneity",
    "conditional_log_likelihood",
    "history_log_likelihood",
    "log_detection_probability",
    "log_unseen_probability",
    "mixture_heterogeneity",
    "negative_binomial_log_likelihood",
    "normal_heterogeneity",
    "normal_quadrature",
    "poisson_log_likelihood",
]

#: A numpy array or a PyTensor variable.
TensorLike = Any

#: The trapezoid rule's nodes span [-9, 9]: the normal mass outside is ~2e-19.
_TRAPEZOID_HALF_WIDTH = 9.0

_DIMS = {
    "detected": (PERIOD_DIM,),
    "occasion_mask": (PERIOD_DIM, OCCASION_DIM),
    "frequencies": (PERIOD_DIM, CAPTURES_DIM),
    "captures": (PERIOD_DIM, OCCASION_DIM),
    "first_captures": (PERIOD_DIM, OCCASION_DIM),
    "recaptures": (PERIOD_DIM, OCCASION_DIM),
    "first_by_frequency": (PERIOD_DIM, OCCASION_DIM, CAPTURES_DIM),
}


def _read(stats: Mapping, name: str, dtype, key: str | None = None) -> np.ndarray | None:
    """Statistic ``key`` (default ``name``) as numpy in the dim order of ``_DIMS[name]``.

    A ``source`` dim (list data) takes the place of the occasion dim.
    """
    key = key or name
    if key not in stats:
        return None
    value = stats[key]
    if hasattr(value, "dims"):
        slot = SOURCE_DIM if SOURCE_DIM in value.dims else OCCASION_DIM
        value = value.transpose(*[slot if d == OCCASION_DIM else d for d in _DIMS[name]]).values
    return np.asarray(value, dtype=dtype)


@dataclass(frozen=True)
class ClosedStatistics:
    """The per-period sufficient statistics a closed-population likelihood reads.

    Fields are numpy arrays or PyTensor variables. T periods, K occasions (the longest
    period), M = K capture counts (m = 1..K).

    Attributes
    ----------
    detected : (T,)
        n_t, distinct units seen.
    occasion_mask : (T, K) bool
        True where occasion k exists in period t.
    frequencies : (T, M)
        f_{t,m}, units seen on exactly m occasions.
    captures : (T, K) or None
        n_{t,k}, units seen on occasion k (None for frequency-only data).
    first_captures, recaptures : (T, K) or None
        u_{t,k} first seen on k, r_{t,k} = n_{t,k} - u_{t,k} (needed for behaviour).
    first_by_frequency : (T, K, M) or None
        F_{t,f,m}, units first seen on f and seen m times in all (behaviour x heterogeneity).
    """

    detected: TensorLike
    occasion_mask: TensorLike
    frequencies: TensorLike
    captures: TensorLike = None
    first_captures: TensorLike = None
    recaptures: TensorLike = None
    first_by_frequency: TensorLike = None

    @classmethod
    def from_stats(cls, stats: Mapping) -> ClosedStatistics:
        """Adapter from ``CaptureData.stats`` (an ``xarray.Dataset``) or a dict of arrays.

        List (source) data are read as occasions, as Rcapture does for closed models: the
        ``source_mask`` and the per-source ``captures`` stand in for occasions; such data
        have no first captures, so behavioural models are not available for them.
        """
        mask_key = "occasion_mask" if "occasion_mask" in stats else "source_mask"
        fields = {name: _read(stats, name, np.float64) for name in _DIMS if name != "occasion_mask"}
        return cls(occasion_mask=_read(stats, "occasion_mask", bool, mask_key), **fields)

    def period(self, index: int) -> ClosedStatistics:
        """The statistics of one period as a batch of one (numpy fields only)."""
        keep = slice(index, index + 1)
        return replace(
            self,
            **{
                name: None if getattr(self, name) is None else np.asarray(getattr(self, name))[keep]
                for name in _DIMS
            },
        )


class Heterogeneity(NamedTuple):
    """Discrete distribution of the unit shift s: support ``shift`` and ``log_weight``.

    Shapes (T, C) or (C,) (shared by every period); weights sum to one over c.
    """

    shift: TensorLike
    log_weight: TensorLike


def normal_quadrature(
    n_nodes: int = 40, rule: str = "gauss-hermite"
) -> tuple[np.ndarray, np.ndarray]:
    """Nodes z_c and log-weights for E[g(Z)] ~= sum_c w_c g(z_c), Z ~ N(0, 1).

    ``"gauss-hermite"``: the probabilists' Gauss-Hermite rule (``detection.gauss_hermite_normal``;
    with 20 nodes, Rcapture's rule). ``"trapezoid"``: equally spaced nodes on [-9, 9] with
    weights proportional to the normal density. For strong heterogeneity the integrands
    e^{m s} / D(s) turn into steps of width ~1/sigma that fixed Gauss-Hermite nodes resolve
    badly: at sigma ~ 1.5 with 50 occasions or sigma ~ 3.5 with 5, 40 (even 80) Gauss-Hermite
    nodes move the maximum-likelihood N by 1.5-11%, whereas 121 trapezoid nodes match adaptive
    quadrature to 1e-4 (docs/validation_closed.md). For sigma below ~1 both rules agree.
    """
    if rule == "gauss-hermite":
        return gauss_hermite_normal(n_nodes)
    if rule == "trapezoid":
        nodes = np.linspace(-_TRAPEZOID_HALF_WIDTH, _TRAPEZOID_HALF_WIDTH, n_nodes)
        log_weight = -0.5 * nodes**2
        return nodes, log_weight - special.logsumexp(log_weight)
    raise ValueError(f"unknown quadrature rule {rule!r}; use 'gauss-hermite' or 'trapezoid'")


def normal_heterogeneity(
    sigma: TensorLike, n_nodes: int = 40, rule: str = "gauss-hermite"
) -> Heterogeneity:
    """Logit-normal heterogeneity s = sigma z, z ~ N(0, 1), by quadrature (``normal_quadrature``).

    ``sigma`` is a scalar (shared) or (T,) per period; shift[t, c] = sigma_t z_c.
    """
    nodes, log_weight = normal_quadrature(n_nodes, rule)
    sigma = pt.as_tensor_variable(sigma)
    return Heterogeneity(pt.shape_padright(sigma) * nodes, pt.as_tensor_variable(log_weight))


def mixture_heterogeneity(support: TensorLike, weight: TensorLike) -> Heterogeneity:
    """Finite-mixture heterogeneity (Pledger 2000): s = support[c] with probability weight[c]."""
    return Heterogeneity(pt.as_tensor_variable(support), pt.log(pt.as_tensor_variable(weight)))


def _as_batch(x: TensorLike) -> pt.TensorVariable:
    x = pt.as_tensor_variable(x)
    return x[None, :] if x.ndim == 1 else x


def _per_period(x: TensorLike) -> pt.TensorVariable:
    return pt.atleast_1d(pt.as_tensor_variable(x))


def _prepared(tau: TensorLike, mask: TensorLike) -> tuple[pt.TensorVariable, pt.TensorVariable]:
    """Occasion logits broadcast to (T, K) and set to 0 in masked cells (safe gradients)."""
    tau = pt.as_tensor_variable(tau)
    if tau.ndim != 2:
        raise ValueError("tau must have shape (T, K), or (T, 1) when constant over occasions")
    mask = pt.as_tensor_variable(mask)
    return pt.where(mask, tau, 0.0), mask


def _softplus_sum(eta: pt.TensorVariable, mask: pt.TensorVariable) -> pt.TensorVariable:
    """sum_k log(1 + e^{eta_k}) over existing occasions (last axis)."""
    return pt.sum(pt.where(mask, pt.softplus(eta), 0.0), axis=-1)


def _capture_term(tau: TensorLike, stats: ClosedStatistics) -> pt.TensorVariable:
    """sum_k n_k tau_k; from sum_m m f_m when only frequencies are known (tau constant in k)."""
    if stats.captures is not None:
        safe, _ = _prepared(tau, stats.occasion_mask)
        return pt.sum(pt.as_tensor_variable(stats.captures) * safe, axis=1)
    if pt.as_tensor_variable(tau).type.shape[-1] != 1:
        raise UnsupportedDataError(
            "frequency-only data carry no per-occasion counts: the occasion logit must be "
            "constant over occasions (models M0 and Mh); pass tau with shape (T, 1)."
        )
    frequencies = pt.as_tensor_variable(stats.frequencies)
    m = pt.arange(1, frequencies.shape[1] + 1)
    return pt.as_tensor_variable(tau)[:, 0] * pt.sum(frequencies * m, axis=1)


def _log_a(tau: TensorLike, mask: TensorLike, heterogeneity: Heterogeneity, m) -> pt.TensorVariable:
    """log A_m[t, m] = log E_s[e^{m s} / prod_k (1 + e^{tau_k + s})] for the m in ``m``."""
    safe, mask = _prepared(tau, mask)
    shift = _as_batch(heterogeneity.shift)
    log_weight = _as_batch(heterogeneity.log_weight)
    denominator = _softplus_sum(safe[:, None, :] + shift[:, :, None], mask[:, None, :])
    terms = (log_weight - denominator)[:, :, None] + shift[:, :, None] * m
    return pt.logsumexp(terms, axis=1)


def log_unseen_probability(
    tau: TensorLike, occasion_mask: TensorLike, heterogeneity: Heterogeneity | None = None
) -> pt.TensorVariable:
    """log A_0 per period: log Pr(a present unit is never seen), shape (T,).

    A_0 = E_s[prod_k (1 + e^{tau_k + s})^{-1}]; without heterogeneity no quadrature is used.
    After fitting, the unseen count is Poisson(lambda A_0) (METHODS.md §3).
    """
    if heterogeneity is None:
        safe, mask = _prepared(tau, occasion_mask)
        return -_softplus_sum(safe, mask)
    return _log_a(tau, occasion_mask, heterogeneity, pt.zeros((1,)))[:, 0]


def log_detection_probability(
    tau: TensorLike, occasion_mask: TensorLike, heterogeneity: Heterogeneity | None = None
) -> pt.TensorVariable:
    """log P* per period, P* = 1 - A_0, computed stably as log1mexp(log A_0); shape (T,)."""
    return pt.log1mexp(log_unseen_probability(tau, occasion_mask, heterogeneity))


def _log_first_capture_denominator(safe, behaviour, mask, shift) -> pt.TensorVariable:
    """log D_f(s) for every first-capture occasion f (last axis); ``shift`` broadcasts."""
    before = pt.cumsum(pt.where(mask, pt.softplus(safe + shift), 0.0), axis=-1)
    after = pt.cumsum(pt.where(mask, pt.softplus(safe + behaviour + shift), 0.0), axis=-1)
    return before + after[..., -1, None] - after


def history_log_likelihood(
    tau: TensorLike,
    stats: ClosedStatistics,
    heterogeneity: Heterogeneity | None = None,
    behaviour: TensorLike | None = None,
) -> pt.TensorVariable:
    """sum_h n_h log P(h) per period, shape (T,), on sufficient statistics.

    Parameters
    ----------
    tau : (T, K), or (T, 1) when constant over occasions
        Occasion logits tau_{t,k} (the only form allowed for frequency-only data).
    stats : ClosedStatistics
    heterogeneity : Heterogeneity, optional
        Distribution of the unit shift; None for homogeneous detection (no quadrature).
    behaviour : (T,) or scalar, optional
        Behavioural effect b on the logit after first capture; None for no behaviour, which
        selects the Rasch form sum_k n_k tau_k + sum_m f_m log A_m (needs only n_k, f_m).

    Notes
    -----
    With behaviour: sum_k n_k tau_k + b sum_k r_k + sum_{f,m} F_{f,m} log B_{f,m}; without
    heterogeneity B_{f,m} = 1 / D_f(0) and the last sum is -sum_f u_f log D_f(0).
    """
    captures = _capture_term(tau, stats)
    if behaviour is None:
        frequencies = pt.as_tensor_variable(stats.frequencies)
        if heterogeneity is None:
            safe, mask = _prepared(tau, stats.occasion_mask)
            return captures - pt.sum(frequencies, axis=1) * _softplus_sum(safe, mask)
        m = pt.arange(1, frequencies.shape[1] + 1)
        return captures + pt.sum(
            frequencies * _log_a(tau, stats.occasion_mask, heterogeneity, m), axis=1
        )

    if stats.first_captures is None or stats.recaptures is None:
        raise UnsupportedDataError(
            "behavioural models need first captures and recaptures per occasion, which "
            "frequency-only and list data do not have."
        )
    behaviour = _per_period(behaviour)
    safe, mask = _prepared(tau, stats.occasion_mask)
    recaptures = pt.sum(pt.as_tensor_variable(stats.recaptures), axis=1)
    known = captures + behaviour * recaptures
    if heterogeneity is None:
        log_d = _log_first_capture_denominator(safe, behaviour[:, None], mask, 0.0)
        return known - pt.sum(pt.as_tensor_variable(stats.first_captures) * log_d, axis=1)

    if stats.first_by_frequency is None:
        raise UnsupportedDataError(
            "behaviour with heterogeneity needs first_by_frequency (units first seen on f and "
            "seen m times), which these data do not have."
        )
    first_by_frequency = pt.as_tensor_variable(stats.first_by_frequency)
    shift = _as_batch(heterogeneity.shift)
    log_weight = _as_batch(heterogeneity.log_weight)
    log_d = _log_first_capture_denominator(
        safe[:, None, :], behaviour[:, None, None], mask[:, None, :], shift[:, :, None]
    )  # (T, C, K)
    m = pt.arange(1, first_by_frequency.shape[2] + 1)
    terms = (log_weight[:, :, None] - log_d)[..., None] + shift[:, :, None, None] * m
    log_b = pt.logsumexp(terms, axis=1)  # (T, K, M)
    return known + pt.sum(first_by_frequency * log_b, axis=(1, 2))


def poisson_log_likelihood(
    log_expected_abundance: TensorLike,
    tau: TensorLike,
    stats: ClosedStatistics,
    heterogeneity: Heterogeneity | None = None,
    behaviour: TensorLike | None = None,
) -> pt.TensorVariable:
    """Log-likelihood with N ~ Poisson(lambda) marginalised (Fienberg 1972), shape (T,).

    log L = n log lambda - lambda P* + sum_h n_h log P(h): the history counts are independent
    Poisson(lambda P(h)). ``log_expected_abundance`` is log lambda, shape (T,).
    """
    log_lambda = _per_period(log_expected_abundance)
    log_p_star = log_detection_probability(tau, stats.occasion_mask, heterogeneity)
    detected = pt.as_tensor_variable(stats.detected)
    return (
        detected * log_lambda
        - pt.exp(log_lambda + log_p_star)
        + history_log_likelihood(tau, stats, heterogeneity, behaviour)
    )


def negative_binomial_log_likelihood(
    log_expected_abundance: TensorLike,
    shape: TensorLike,
    tau: TensorLike,
    stats: ClosedStatistics,
    heterogeneity: Heterogeneity | None = None,
    behaviour: TensorLike | None = None,
) -> pt.TensorVariable:
    """Log-likelihood with N ~ NegativeBinomial(mean lambda, shape phi) marginalised, (T,).

    n ~ NB(mean lambda P*, phi) and the histories given n are multinomial(P(h) / P*):

        log L = lgamma(n + phi) - lgamma(phi) + phi log phi - (phi + n) log(phi + lambda P*)
                + n log lambda + sum_h n_h log P(h),

    which tends to the Poisson form as phi -> infinity (same omitted constant).
    """
    log_lambda = _per_period(log_expected_abundance)
    shape = _per_period(shape)
    log_p_star = log_detection_probability(tau, stats.occasion_mask, heterogeneity)
    detected = pt.as_tensor_variable(stats.detected)
    return (
        pt.gammaln(detected + shape)
        - pt.gammaln(shape)
        + shape * pt.log(shape)
        - (shape + detected) * pt.logaddexp(pt.log(shape), log_lambda + log_p_star)
        + detected * log_lambda
        + history_log_likelihood(tau, stats, heterogeneity, behaviour)
    )


def conditional_log_likelihood(
    tau: TensorLike,
    stats: ClosedStatistics,
    heterogeneity: Heterogeneity | None = None,
    behaviour: TensorLike | None = None,
) -> pt.TensorVariable:
    """Log-likelihood of the histories given n (multinomial in P(h) / P*), shape (T,).

    log L = sum_h n_h log P(h) - n log P*. Its maximiser gives N-hat = n / P*-hat, the
    Poisson (and Rcapture) estimate.
    """
    log_p_star = log_detection_probability(tau, stats.occasion_mask, heterogeneity)
    detected = pt.as_tensor_variable(stats.detected)
    return history_log_likelihood(tau, stats, heterogeneity, behaviour) - detected * log_p_star
