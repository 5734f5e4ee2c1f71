"""Units that persist across periods with their own detectability: the joint likelihood.

Model (a Jolly-Seber superpopulation with individual heterogeneity kept for life). Units enter
the population at some period, stay for consecutive periods and leave for good; a unit keeps
its shift s_i (heterogeneity) in every period it is present. With lambda_t = E N_t and a
persistence rho in [0, 1), the expected number of units present in both t - 1 and t is

    S_t = rho * min(lambda_{t-1}, lambda_t),

so phi_t = S_t / lambda_{t-1} is the survival from t - 1 to t and B_t = lambda_t - S_t >= 0
(B_1 = lambda_1) the expected entrants; rho = 0 is the model with fresh units every period.
Numbers of units entering at e and leaving after d are independent Poisson, so the number of
units with any given joint history is Poisson too, and N is marginalised exactly: with
A_t(m | s) = e^{m s} / prod_k (1 + e^{tau_{t,k} + s}) (the Rasch kernel: a history's
probability without its factor e^{sum_k y_k tau_{t,k}}),

    mu(m_1..m_T) = sum_{e <= d} B_e prod_{t=e+1}^{d} phi_t (1 - phi_{d+1})
                   x E_s[prod_{t=e}^{d} A_t(m_t | s)]

(phi_{T+1} = 0; histories with a detection outside [e, d] get 0), and

    log L = sum_h c_h log mu_h + sum_{t,k} n_{t,k} tau_{t,k} - (Lambda - mu(0, ..., 0)),

Lambda = sum_t B_t, the sum over the distinct count vectors h of the units seen (c_h units
each): the count vectors are sufficient. mu is computed by a forward pass over periods for
every count vector and quadrature node at once (units not yet entered / present / gone), in
log space; its cost is D x T x J, with D the distinct count vectors (76 at hotline scale,
~500 on the heterogeneity scenario), not the number of units.

After sampling, :func:`presence_draws` draws which periods each unit was present in (seen
units from their posterior over (e, d), never-seen units as Poisson counts per (e, d)), so
N_t and every contrast between periods keep the joint posterior.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from scipy import special

from hiddenpop.likelihood.closed import Heterogeneity, TensorLike, _as_batch, _prepared

__all__ = [
    "log_entrants",
    "log_kernel",
    "log_survival",
    "persistence_log_likelihood",
    "presence_draws",
]

#: log of "impossible" in the forward pass: finite, so gradients stay finite.
_IMPOSSIBLE = -1e4


def log_survival(log_lambda: TensorLike, persistence: TensorLike, xp=pt):
    """log phi_t, t = 2..T: log rho + min(log lambda_{t-1}, log lambda_t) - log lambda_{t-1}."""
    earlier, later = log_lambda[:-1], log_lambda[1:]
    return xp.log(persistence) + xp.minimum(earlier, later) - earlier


def log_entrants(log_lambda: TensorLike, log_phi: TensorLike, xp=pt):
    """log B_t: B_1 = lambda_1, B_t = lambda_t - phi_t lambda_{t-1} (> 0 for rho < 1)."""
    survivors = log_phi + log_lambda[:-1]
    log1mexp = pt.log1mexp if xp is pt else lambda x: np.log(-np.expm1(x))
    later = log_lambda[1:] + log1mexp(survivors - log_lambda[1:])
    return xp.concatenate([log_lambda[:1], later])


def log_kernel(tau: TensorLike, mask: TensorLike, heterogeneity: Heterogeneity | None, max_count):
    """log A_t(m | s_j) for m = 0..max_count: shape (T, max_count + 1, J), and log w (J,)."""
    safe, mask = _prepared(tau, mask)
    if heterogeneity is None:
        shift, log_weight = pt.zeros((1, 1)), pt.zeros((1,))
    else:
        shift = _as_batch(heterogeneity.shift)
        log_weight = pt.as_tensor_variable(heterogeneity.log_weight)
        if log_weight.ndim != 1:
            raise ValueError("persistence needs quadrature weights shared by every period")
    denominator = pt.sum(
        pt.where(mask[:, None, :], pt.softplus(safe[:, None, :] + shift[:, :, None]), 0.0), axis=-1
    )  # (T, J)
    m = pt.arange(max_count + 1)
    return m[None, :, None] * shift[:, None, :] - denominator[:, None, :], log_weight


def _history_layout(histories: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Prepend the all-zero history; (D+1, T) counts, 'may enter at t' and 'zero at t' masks."""
    histories = np.vstack([np.zeros((1, histories.shape[1]), dtype=np.int64), histories])
    seen = histories > 0
    first = np.where(seen.any(axis=1), seen.argmax(axis=1), histories.shape[1])
    may_enter = np.arange(histories.shape[1])[None, :] <= first[:, None]
    return histories, may_enter, ~seen


def persistence_log_likelihood(
    log_lambda: TensorLike,
    persistence: TensorLike,
    tau: TensorLike,
    mask: np.ndarray,
    captures: np.ndarray,
    heterogeneity: Heterogeneity | None,
    histories: np.ndarray,
    units: np.ndarray,
) -> pt.TensorVariable:
    """The joint log-likelihood (module docstring), up to a constant; a scalar.

    Parameters
    ----------
    log_lambda : (T,)
        log E N_t.
    persistence : scalar in [0, 1)
        rho.
    tau, mask, captures : (T, K)
        Occasion logits, which occasions exist, units seen per occasion n_{t,k}.
    heterogeneity : Heterogeneity or None
        Shifts (T, J) or (J,) with log-weights (J,) shared by every period (a unit keeps its
        quadrature node across periods, so the nodes must be one standard-normal grid scaled
        per period).
    histories : (D, T) int, units : (D,) int
        Distinct count vectors of the units seen and how many units have each.
    """
    histories, may_enter, zero = _history_layout(np.asarray(histories))
    units = np.r_[0, np.asarray(units, dtype=float)]
    n_periods = histories.shape[1]
    kernel, log_weight = log_kernel(tau, mask, heterogeneity, int(histories.max()))
    # (D+1, T, J): log A_t(m_{d,t} | s_j) gathered from the (T, M+1, J) table
    log_a = kernel[np.arange(n_periods)[None, :], histories]
    log_phi = log_survival(log_lambda, persistence)
    log_leave = pt.log1mexp(log_phi)
    log_b = log_entrants(log_lambda, log_phi)
    impossible = pt.as_tensor_variable(np.float64(_IMPOSSIBLE))
    present = log_b[0] + log_a[:, 0, :]  # present at t, entered at or before t
    gone = pt.zeros_like(present) + impossible  # entered and left before t
    for t in range(1, n_periods):
        enter = pt.where(may_enter[:, t, None], log_b[t], impossible)
        left = pt.logaddexp(gone, present + log_leave[t - 1])
        gone = pt.where(zero[:, t, None], left, impossible)
        present = pt.logaddexp(present + log_phi[t - 1], enter) + log_a[:, t, :]
    log_mu = pt.logsumexp(pt.logaddexp(present, gone) + log_weight, axis=-1)
    safe, _ = _prepared(tau, mask)
    seen_total = pt.exp(pt.logsumexp(log_b)) - pt.exp(log_mu[0])
    return pt.sum(units[1:] * log_mu[1:]) + pt.sum(np.asarray(captures) * safe) - seen_total


def _interval_table(n_periods: int) -> tuple[np.ndarray, np.ndarray]:
    """All presence intervals (e, d), e <= d, and their (I, T) 0/1 presence matrix."""
    pairs = np.array([(e, d) for e in range(n_periods) for d in range(e, n_periods)])
    t = np.arange(n_periods)
    return pairs, ((t >= pairs[:, :1]) & (t <= pairs[:, 1:])).astype(np.int64)


def presence_draws(
    rng: np.random.Generator,
    log_lambda: np.ndarray,
    persistence: np.ndarray,
    log_kernel_values: np.ndarray,
    log_weight: np.ndarray,
    histories: np.ndarray,
    units: np.ndarray,
) -> np.ndarray:
    """N_t per posterior draw: (S, T) from S draws of the parameters.

    Parameters
    ----------
    log_lambda : (S, T); persistence : (S,)
    log_kernel_values : (S, T, M + 1, J)
        log A_t(m | s_j) per draw (``log_kernel`` evaluated), M >= the largest count.
    log_weight : (J,)
    histories, units : as in :func:`persistence_log_likelihood`.

    Every unit's presence interval (e, d) is drawn from its posterior given its count vector
    (a multinomial over the intervals that cover its detections, per count vector), and the
    units never seen from independent Poisson counts per interval; N_t counts the units whose
    interval covers t. Costs D x I x J per draw (I = T(T+1)/2 intervals), by matrix products.
    """
    n_draws, n_periods = log_lambda.shape
    pairs, covers = _interval_table(n_periods)
    histories, _, zero = _history_layout(np.asarray(histories))
    units = np.r_[0, np.asarray(units, dtype=np.int64)]
    seen = ~zero
    first = np.where(seen.any(axis=1), seen.argmax(axis=1), n_periods)
    last = np.where(seen.any(axis=1), n_periods - 1 - seen[:, ::-1].argmax(axis=1), -1)
    # interval i is possible for history h when it covers every detection: e <= first, d >= last
    allowed = (pairs[None, :, 0] <= first[:, None]) & (pairs[None, :, 1] >= last[:, None])
    allowed[0] = True
    abundance = np.zeros((n_draws, n_periods), dtype=np.int64)
    periods = np.arange(n_periods)
    for s in range(n_draws):
        log_phi = log_survival(log_lambda[s], persistence[s], xp=np)
        log_b = log_entrants(log_lambda[s], log_phi, xp=np)
        log_leave = np.r_[np.log(-np.expm1(log_phi)), 0.0]  # leaving after T is certain
        cum_phi = np.r_[0.0, np.cumsum(log_phi)]
        # log Pr(enter at e, stay to d, then leave) per interval, without detection
        log_path = log_b[pairs[:, 0]] + cum_phi[pairs[:, 1]] - cum_phi[pairs[:, 0]]
        log_path = log_path + log_leave[pairs[:, 1]]
        log_a = log_kernel_values[s][periods[None, :], histories]  # (D+1, T, J)
        cum_a = np.concatenate([np.zeros_like(log_a[:, :1]), np.cumsum(log_a, axis=1)], axis=1)
        # log E_s[prod_{t=e}^{d} A_t(m_t | s)] per history and interval: (D+1, I, J)
        inside = cum_a[:, pairs[:, 1] + 1] - cum_a[:, pairs[:, 0]] + log_weight
        log_mass = special.logsumexp(inside, axis=-1) + log_path
        log_mass = np.where(allowed, log_mass, -np.inf)
        never = rng.poisson(np.exp(log_mass[0]))
        top = log_mass[1:].max(axis=1, keepdims=True)
        probability = np.exp(log_mass[1:] - top)
        probability /= probability.sum(axis=1, keepdims=True)
        chosen = rng.multinomial(units[1:], probability)
        abundance[s] = (chosen.sum(axis=0) + never) @ covers
    return abundance
