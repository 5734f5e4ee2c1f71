"""Maximum-likelihood log-linear multiple-systems estimation, and when the MLE exists.

For one period with L sources, the observed inclusion-pattern counts n_h (h != 0) are fitted by
the Poisson log-linear model (Fienberg 1972; Cormack 1989; Rcapture ``closedp``)::

    log mu_h = beta_0 + sum_l h_l alpha_l + sum_{S in terms} gamma_S prod_{l in S} h_l,

by iteratively reweighted least squares (plain numpy: the design is at most 2^15 x a few
hundred). beta_0 = log mu_0 is the expected number of units on no list, so
N-hat = n + exp(beta_0-hat). Its standard error, as Rcapture reports it, is
sqrt(mu_0 + mu_0^2 var(beta_0-hat)) with var from the inverse Fisher information.

Interval: the multinomial profile likelihood of N (Cormack 1992; Rcapture ``closedpCI.t``).
For a candidate N the complete table (the unseen cell holding N - n) is fitted by the same
Poisson model, which gives the multinomial MLE of the cell probabilities p(N), and

    l(N) = log Gamma(N + 1) - log Gamma(N - n + 1) + sum_{h incl. 0} y_h log p_h(N);

the interval is {N : 2 (max l - l(N)) <= chi2_1(level)}.

The MLE exists only if the sufficient statistics X'n lie in the interior of the marginal cone
(Fienberg & Rinaldo 2012): some strictly positive table m has X'm = X'n. :func:`mle_exists`
checks it by a linear programme (as SparseMSE's ``checkident`` does); without it IRLS drifts
to a boundary and N-hat is meaningless (often infinite).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special, stats

from hiddenpop.data import CaptureData
from hiddenpop.data.statistics import inclusion_matrix
from hiddenpop.likelihood.lists import interaction_design, interaction_terms

__all__ = ["LoglinearFit", "fit_loglinear", "loglinear_design", "mle_exists", "period_table"]


@dataclass(frozen=True)
class LoglinearFit:
    """A maximum-likelihood fit of one log-linear model to one period's pattern counts.

    ``log_likelihood`` is the Poisson log-likelihood without sum_h log n_h!; ``deviance`` is
    against the saturated model of the observed cells, on ``df`` degrees of freedom.
    """

    terms: list[tuple[str, ...]]
    abundance: float
    stderr: float
    interval: tuple[float, float]
    level: float
    detected: int
    log_likelihood: float
    deviance: float
    df: int
    aic: float
    bic: float
    exists: bool
    converged: bool
    coefficients: dict[str, float] = field(repr=False)


def loglinear_design(inclusion: np.ndarray, terms: Sequence[tuple[int, ...]]) -> np.ndarray:
    """(H, 1 + L + J) design: intercept, list main effects, interaction columns."""
    inclusion = np.asarray(inclusion, dtype=float)
    ones = np.ones((inclusion.shape[0], 1))
    return np.hstack([ones, inclusion, interaction_design(inclusion, list(terms))])


def period_table(data: CaptureData, period: int = 0) -> tuple[list[str], np.ndarray, np.ndarray]:
    """One period's table over its present lists: (labels, inclusion (H', L'), counts (H',))."""
    stats = data.stats
    present = np.asarray(stats["source_mask"].values[period], dtype=bool)
    labels = [str(s) for s, keep in zip(stats["source"].values, present, strict=True) if keep]
    inclusion_all = np.asarray(stats["inclusion"].values, dtype=int)
    counts_all = np.asarray(stats["pattern_counts"].values[period], dtype=float)
    # patterns over the present lists only; bit l of (row index + 1) is list l (inclusion_matrix)
    keep = ~inclusion_all[:, ~present].any(axis=1)
    index = inclusion_all[keep][:, present] @ (1 << np.arange(len(labels))) - 1
    counts = np.bincount(index, weights=counts_all[keep], minlength=2 ** len(labels) - 1)
    return labels, inclusion_matrix(len(labels)), counts


def mle_exists(counts: np.ndarray, design: np.ndarray, tol: float = 1e-7) -> bool:
    """True if the Poisson log-linear MLE exists (finite) for these counts and this design.

    Solves max s subject to X'm = X'n, m_h >= s, 0 <= s <= 1: the MLE exists iff s > 0.
    """
    counts = np.asarray(counts, dtype=float)
    cells, _ = design.shape
    scale = max(counts.max(), 1.0)
    objective = np.zeros(cells + 1)
    objective[-1] = -1.0
    a_eq = np.hstack([design.T, np.zeros((design.shape[1], 1))])
    a_ub = np.hstack([-np.eye(cells), np.ones((cells, 1))])
    result = optimize.linprog(
        objective,
        A_ub=a_ub,
        b_ub=np.zeros(cells),
        A_eq=a_eq,
        b_eq=design.T @ counts / scale,
        bounds=[(0, None)] * cells + [(0, 1)],
        method="highs",
    )
    return bool(result.status == 0 and -result.fun > tol)


def _deviance(counts: np.ndarray, mu: np.ndarray) -> float:
    return float(2 * np.sum(special.xlogy(counts, counts / mu) - (counts - mu)))


def _irls(
    counts: np.ndarray, design: np.ndarray, max_iter: int = 200
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Poisson GLM (log link) by IRLS with step halving: (beta, fitted mu, converged).

    The linear predictor is kept in [-50, 50]: a cell whose MLE is 0 (an extended MLE) then
    has a fitted mean of about e^-50 instead of overflowing the weights.
    """

    def fitted(beta: np.ndarray) -> np.ndarray:
        return np.exp(np.clip(design @ beta, -50.0, 50.0))

    beta = np.linalg.lstsq(design, np.log(counts + 0.5), rcond=None)[0]
    mu = fitted(beta)
    deviance = _deviance(counts, mu)
    for _ in range(max_iter):
        z = np.log(mu) + (counts - mu) / mu
        weighted = design * mu[:, None]
        target = np.linalg.lstsq(design.T @ weighted, weighted.T @ z, rcond=None)[0]
        step = 1.0
        while True:
            trial = beta + step * (target - beta)
            trial_mu = fitted(trial)
            trial_deviance = _deviance(counts, trial_mu)
            if trial_deviance <= deviance + 1e-9 * (1 + abs(deviance)) or step < 1e-6:
                break
            step /= 2
        converged = abs(deviance - trial_deviance) < 1e-10 * (1 + abs(deviance))
        beta, mu, deviance = trial, trial_mu, trial_deviance
        if converged:
            return beta, mu, True
    return beta, mu, False


def _profile(n_unseen: float, counts: np.ndarray, design_full: np.ndarray) -> float:
    """Multinomial profile log-likelihood l(N) at N = n + n_unseen."""
    full = np.concatenate([[n_unseen], counts])
    _, mu, _ = _irls(full, design_full)
    total = full.sum()
    return float(
        special.gammaln(total + 1)
        - special.gammaln(n_unseen + 1)
        + np.sum(special.xlogy(full, mu / mu.sum()))
    )


def _profile_interval(
    counts: np.ndarray, design_full: np.ndarray, unseen_hat: float, level: float
) -> tuple[float, float]:
    n = counts.sum()
    best = optimize.minimize_scalar(
        lambda u: -_profile(u, counts, design_full),
        bounds=(0.0, max(10 * unseen_hat, 10.0)),
        method="bounded",
    )
    peak, top = best.x, -best.fun
    cut = stats.chi2.ppf(level, 1) / 2

    def gap(u: float) -> float:
        return top - _profile(u, counts, design_full) - cut

    lower = optimize.brentq(gap, 0.0, peak) if gap(0.0) > 0 else 0.0
    upper = max(2 * peak, 10.0)
    while gap(upper) < 0 and upper < 1e9:
        upper *= 2
    upper = optimize.brentq(gap, peak, upper) if gap(upper) > 0 else np.inf
    return float(n + lower), float(n + upper)


def fit_loglinear(
    data: CaptureData,
    terms: Sequence[Sequence[str]] | int = 2,
    *,
    period: int = 0,
    level: float = 0.95,
) -> LoglinearFit:
    """MLE of the log-linear model with the given interaction terms on one period.

    Parameters
    ----------
    data
        Source (list) data.
    terms
        Interaction terms as tuples of source labels (``[("A", "B"), ("C", "D")]``; an empty
        list is the independence model), or an integer: every interaction up to that order
        (the L-way interaction is always left out).
    period
        Index of the period.
    level
        Level of the profile-likelihood interval for N.
    """
    labels, inclusion, counts = period_table(data, period)
    if isinstance(terms, int):
        index_terms = interaction_terms(len(labels), terms)
    else:
        index_terms = [tuple(labels.index(s) for s in term) for term in terms]
    design = loglinear_design(inclusion, index_terms)
    exists = mle_exists(counts, design)
    beta, mu, converged = _irls(counts, design)
    information = design.T @ (design * mu[:, None])
    covariance = np.linalg.pinv(information)
    unseen = float(np.exp(beta[0]))
    n = int(counts.sum())
    stderr = float(np.sqrt(unseen + unseen**2 * covariance[0, 0]))
    log_likelihood = float(np.sum(special.xlogy(counts, mu) - mu))
    deviance = _deviance(counts, mu)
    n_parameters = design.shape[1]
    design_full = np.vstack([np.eye(1, n_parameters), design])
    interval = (
        _profile_interval(counts, design_full, unseen, level)
        if exists and converged
        else (float("nan"), float("nan"))
    )
    names = ["intercept", *labels, *(":".join(labels[i] for i in term) for term in index_terms)]
    return LoglinearFit(
        terms=[tuple(labels[i] for i in term) for term in index_terms],
        abundance=n + unseen if exists else float("inf"),
        stderr=stderr if exists else float("inf"),
        interval=interval,
        level=level,
        detected=n,
        log_likelihood=log_likelihood,
        deviance=deviance,
        df=len(counts) - n_parameters,
        aic=2 * n_parameters - 2 * log_likelihood,
        bic=np.log(n) * n_parameters - 2 * log_likelihood,
        exists=exists,
        converged=converged,
        coefficients=dict(zip(names, beta.tolist(), strict=True)),
    )
