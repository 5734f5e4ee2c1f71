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
each): the count vectors are sufficient. A count vector meets the presence intervals only
through its span (first to last period seen), so mu needs D x T x J products plus a table of
spans by nodes (:func:`persistence_log_likelihood`, Notes), with D the distinct count
vectors (76 at hotline scale, ~500 on the heterogeneity scenario), not the number of units.
(A forward pass over the periods per count vector, written first, cost 8-18 ms a gradient
on the heterogeneity scenario and 70-90 s of compilation; this form costs 1.2 ms.)

After sampling, :func:`presence_draws` draws which periods each unit was present in (seen
units from their posterior over (e, d), never-seen units as Poisson counts per (e, d)), so
N_t and every contrast between periods keep the joint posterior.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
from scipy import special

from hiddenpop.likelihood.closed import (
    Heterogeneity,
    TensorLike,
    _as_batch,
    _prepared,
    _softplus_sum,
)

__all__ = [
    "log_entrants",
    "log_kernel",
    "log_survival",
    "persistence_log_likelihood",
    "presence_draws",
]


def log_survival(log_lambda: TensorLike, persistence: TensorLike, xp=pt):
    """log phi_t, t = 2..T: log rho + min(log lambda_{t-1}, log lambda_t) - log lambda_{t-1}."""
    earlier, later = log_lambda[:-1], log_lambda[1:]
    return xp.log(persistence) + xp.minimum(earlier, later) - earlier


def _log1mexp(x, xp):
    """log(1 - e^x) for x < 0, in PyTensor or numpy."""
    return pt.log1mexp(x) if xp is pt else np.log(-np.expm1(x))


def log_entrants(log_lambda: TensorLike, log_phi: TensorLike, xp=pt):
    """log B_t: B_1 = lambda_1, B_t = lambda_t - phi_t lambda_{t-1} (> 0 for rho < 1)."""
    survivors = log_phi + log_lambda[:-1]
    later = log_lambda[1:] + _log1mexp(survivors - log_lambda[1:], xp)
    return xp.concatenate([log_lambda[:1], later])


def log_kernel(tau: TensorLike, mask: TensorLike, heterogeneity: Heterogeneity | None):
    """The Rasch kernel's parts: log A_t(m | s_j) = m s_{t,j} - log D_t(s_j).

    Returns ``(shift (T, J), log D (T, J), log w (J,))``; A is linear in m on the log scale,
    so a count vector's terms are a broadcast product, never a gather.
    """
    safe, mask = _prepared(tau, mask)
    if heterogeneity is None:
        shift, log_weight = pt.zeros((1, 1)), pt.zeros((1,))
    else:
        shift = _as_batch(heterogeneity.shift)
        log_weight = pt.as_tensor_variable(heterogeneity.log_weight)
        if log_weight.ndim != 1:
            raise ValueError("persistence needs quadrature weights shared by every period")
    denominator = _softplus_sum(safe[:, None, :] + shift[:, :, None], mask[:, None, :])  # (T, J)
    return shift, denominator, log_weight


def _logsumexp(x, axis: int):
    """log sum exp with the largest term taken out, written out: PyTensor's own may be
    rewritten unshifted, and terms here reach e^-1000 (long absences at low persistence)."""
    top = pt.max(x, axis=axis, keepdims=True)
    return pt.squeeze(top + pt.log(pt.sum(pt.exp(x - top), axis=axis, keepdims=True)), axis)


def _interval_table(n_periods: int) -> tuple[np.ndarray, np.ndarray]:
    """All presence intervals (e, d), e <= d, and their (I, T) 0/1 presence matrix."""
    pairs = np.array([(e, d) for e in range(n_periods) for d in range(e, n_periods)])
    t = np.arange(n_periods)
    return pairs, ((t >= pairs[:, :1]) & (t <= pairs[:, 1:])).astype(np.int64)


def _history_layout(histories: np.ndarray, pairs: np.ndarray):
    """Prepend the all-zero history; per history its span (first, last period seen) as an
    index into ``pairs`` (the zero history gets its own index, len(pairs)), and the (S, I)
    matrix of which intervals cover each span (the last row, the zero history's, all)."""
    histories = np.vstack([np.zeros((1, histories.shape[1]), dtype=np.int64), histories])
    seen = histories > 0
    n_periods = histories.shape[1]
    first = seen.argmax(axis=1)
    last = n_periods - 1 - seen[:, ::-1].argmax(axis=1)
    index = {(e, d): i for i, (e, d) in enumerate(pairs)}
    span = np.array([index.get((f, l), len(pairs)) for f, l in zip(first, last, strict=True)])
    span[0] = len(pairs)
    covers = (pairs[None, :, 0] <= pairs[:, None, 0]) & (pairs[None, :, 1] >= pairs[:, None, 1])
    covers = np.vstack([covers, np.ones((1, len(pairs)), dtype=bool)])
    return histories, span, covers


def _log_paths(log_b, log_phi, pairs, xp=pt):
    """log E[units entering at e, present through d, then leaving], per interval (e, d),
    from the entrants log B_t (T,) and survivals log phi_t (T - 1,).

    Intervals are picked out by products with constant one-hot matrices rather than by
    indexing: the same numbers, and gradients without scatter operations (which dominate
    Numba's compile time).
    """
    n_periods = int(pairs.max()) + 1
    stay = xp.concatenate([xp.zeros(1), xp.cumsum(log_phi)])  # log prod_{t<=i} phi_t
    leave = xp.concatenate([_log1mexp(log_phi, xp), xp.zeros(1)])  # leaving after T is certain
    enter_at, leave_after = np.eye(n_periods)[pairs[:, 0]], np.eye(n_periods)[pairs[:, 1]]
    return (
        xp.dot(enter_at, log_b) + xp.dot(leave_after - enter_at, stay) + xp.dot(leave_after, leave)
    )


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
        Shifts (T, J) or (J,) with log-weights (J,) shared by every period: a unit keeps its
        quadrature node j across periods (shift s_{t,j} = sigma_t z_j).
    histories : (D, T) int, units : (D,) int
        Distinct count vectors of the units seen and how many units have each.

    Notes
    -----
    The Rasch kernel is log-linear in the counts, so for node j a count vector contributes
    sum_t m_t s_{t,j} (a matrix product) plus terms that depend only on the interval of
    presence: -sum_{t=e}^{d} log D_t(s_j) and the interval's log path. A history can only
    lie in intervals covering its span (first to last period seen), so

        log mu_h = logsumexp_j [log w_j + sum_t m_{h,t} s_{t,j} + log Q_{span(h), j}],
        Q_{(f,l), j} = sum_{e <= f, d >= l} path(e, d) prod_{t=e}^{d} 1 / D_t(s_j),

    Q a table of at most T(T+1)/2 spans by J nodes. Cost: D x T x J for the products, not a
    pass over periods per history.
    """
    n_periods = np.asarray(histories).shape[1]
    pairs, presence = _interval_table(n_periods)
    histories, span, covers = _history_layout(np.asarray(histories), pairs)
    units = np.r_[0, np.asarray(units, dtype=float)]
    shift, denominator, log_weight = log_kernel(tau, mask, heterogeneity)
    shift = pt.zeros((n_periods, 1)) + shift  # (T, J)
    log_phi = log_survival(log_lambda, persistence)
    log_b = log_entrants(log_lambda, log_phi)
    # per interval and node: log path(e, d) - sum_{t=e}^{d} log D_t(s_j)   (I, J)
    inside = _log_paths(log_b, log_phi, pairs)[:, None] - pt.dot(presence, denominator)
    log_covers = np.where(covers, 0.0, -np.inf)[:, :, None]
    log_q = _logsumexp(log_covers + inside[None, :, :], axis=1)  # (spans, J), all finite
    # each history's row of log_q, by a one-hot product (exact: one 1 per row)
    terms = log_weight + pt.dot(histories, shift) + pt.dot(np.eye(len(covers))[span], log_q)
    log_mu = _logsumexp(terms, axis=-1)
    safe, _ = _prepared(tau, mask)
    seen_total = pt.sum(pt.exp(log_b)) - pt.exp(log_mu[0])
    return pt.sum(units[1:] * log_mu[1:]) + pt.sum(np.asarray(captures) * safe) - seen_total


def presence_draws(
    rng: np.random.Generator,
    log_lambda: np.ndarray,
    persistence: np.ndarray,
    tau: np.ndarray,
    mask: np.ndarray,
    shift: np.ndarray,
    log_weight: np.ndarray,
    histories: np.ndarray,
    units: np.ndarray,
) -> np.ndarray:
    """N_t per posterior draw: (S, T) from S draws of the parameters.

    Parameters
    ----------
    log_lambda : (S, T); persistence : (S,)
    tau : (S, T, K) occasion logits; mask : (T, K)
    shift : (S, T, J) the heterogeneity nodes s_{t,j} (J = 1, shift 0, without heterogeneity)
    log_weight : (J,)
    histories, units : as in :func:`persistence_log_likelihood`.

    Every unit's presence interval (e, d) is drawn from its posterior given its count vector
    (a multinomial over the intervals that cover its detections, per count vector), and the
    units never seen from independent Poisson counts per interval; N_t counts the units whose
    interval covers t. Costs D x I x J per draw (I = T(T+1)/2 intervals), by matrix products.
    """
    n_draws, n_periods = log_lambda.shape
    pairs, presence = _interval_table(n_periods)
    histories, span, covers = _history_layout(np.asarray(histories), pairs)
    allowed = covers[span]  # (D+1, I): intervals covering each history's span
    units = np.r_[0, np.asarray(units, dtype=np.int64)]
    abundance = np.zeros((n_draws, n_periods), dtype=np.int64)
    for s in range(n_draws):
        eta = np.where(mask, tau[s], 0.0)[:, None, :] + shift[s][:, :, None]
        denominator = np.sum(np.where(mask[:, None, :], np.logaddexp(0.0, eta), 0.0), axis=-1)
        log_phi = log_survival(log_lambda[s], persistence[s], xp=np)
        log_b = log_entrants(log_lambda[s], log_phi, xp=np)
        inside = _log_paths(log_b, log_phi, pairs, xp=np)[:, None]
        inside = inside - presence @ denominator  # (I, J)
        counts = log_weight + histories @ shift[s]  # (D+1, J)
        log_mass = special.logsumexp(counts[:, None, :] + inside[None, :, :], axis=-1)
        log_mass = np.where(allowed, log_mass, -np.inf)  # (D+1, I)
        never = rng.poisson(np.exp(log_mass[0]))
        top = log_mass[1:].max(axis=1, keepdims=True)
        probability = np.exp(log_mass[1:] - top)
        probability /= probability.sum(axis=1, keepdims=True)
        chosen = rng.multinomial(units[1:], probability)
        abundance[s] = (chosen.sum(axis=0) + never) @ presence
    return abundance
