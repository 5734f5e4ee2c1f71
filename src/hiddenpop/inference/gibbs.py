"""LCMCR's data-augmented Gibbs sampler (Manrique-Vallier 2016), on pattern counts.

The model (one period, L lists, C classes; ``mse-lcmcr``)::

    N ~ Poisson(lambda),  p(lambda) = Gamma(a0, b0) (a0 = b0 = 0: p(lambda) ~ 1 / lambda,
                          whose Poisson mixture is LCMCR's p(N) ~ 1 / N),
    class of a unit ~ Categorical(pi),  pi = stick-breaking(v),  v_c ~ Beta(1, a),
    a ~ Gamma(a_a, b_a),  on list l | class c ~ Bernoulli(q[c, l]),  q[c, l] ~ Beta(a_q, b_q).

One sweep draws the latent complete table given the parameters, then every parameter from
its conjugate conditional given that table:

1. the number never listed, n0, with lambda integrated out: with the cells of the complete
   pattern-by-class table independent Poisson(lambda pi_c P(h | c)) and the Gamma prior,
   p(n0 | rest) ~ Gamma(n + n0 + a0) / n0! (P(0) / (1 + b0))^n0, a negative binomial
   (LCMCR's, n0 ~ NB(n, 1 - P(0)), at a0 = b0 = 0). Drawing n0 given lambda instead,
   Poisson(lambda P(0)), then lambda given N, makes N a slow random walk (steps of about
   sqrt(N)): on Kosovo the bulk ESS of N was 7 of 2,000 draws thinned by 10;
2. the class counts of every pattern (the n_h units of pattern h, and the n0 unseen),
   multinomial with probabilities pi_c P(h | c) / P(h): sufficient statistics, so a sweep
   costs O(2^L C) whatever N is;
3. q[c, l] ~ Beta(a_q + y[c, l], b_q + m_c - y[c, l]) (m_c units in class c, y on list l);
4. the concentration a given the class counts with the breaks integrated out (a slice-sampling
   update of log a; LCMCR draws a ~ Gamma(a_a + C - 1, b_a - sum log(1 - v)) given the breaks,
   and a, the breaks of the empty classes and their tiny weights then move together slowly),
   then v_c ~ Beta(1 + m_c, a + sum_{c' > c} m_c') given a;
5. lambda ~ Gamma(a0 + N, b0 + 1), N = n + n0 (with step 1, a draw of (n0, lambda) given
   the rest; the other parameters do not depend on lambda given the table).

Steps 1-2 draw the latent table from its exact conditional and 3-5 the parameters from theirs
(v given a), so one sweep leaves the joint posterior invariant; the parameters alone are
a Markov chain with the posterior as its stationary law. The latent table is drawn afresh
each sweep, so nothing but the parameters is carried between sweeps.

Everything is kept on the log scale: the breaks as log-odds (log v - log(1 - v)), drawn from
log-gamma variates that stay exact when a shape parameter is tiny (the concentration a can be
0.01, and then 1 - v can be 1e-300 or smaller: a plain Beta draw rounds it to 0). Classes
nobody is in keep weights below floating-point range, which a sampler working on the weights
themselves cannot represent (``mse-latent-class``, NUTS; docs/calibration.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, log_expit

__all__ = [
    "LatentClassState",
    "gibbs_sweep",
    "log_class_weights",
    "log_gamma_variates",
    "log_seen_probability",
]


@dataclass
class LatentClassState:
    """The parameters: log lambda, log a, break log-odds (C - 1,), q log-odds (C, L).

    ``gibbs_sweep`` never reads ``log_lambda`` (it integrates lambda out of the unseen
    count and draws it afresh): it is an output of the sweep, not an input.
    """

    log_lambda: float
    log_concentration: float
    break_logodds: np.ndarray
    list_logodds: np.ndarray


def log_gamma_variates(rng: np.random.Generator, shape: np.ndarray) -> np.ndarray:
    """log X for X ~ Gamma(shape, 1), exact for tiny shapes.

    For shape < 1, X = Y U^(1 / shape) with Y ~ Gamma(shape + 1) and U uniform (Marsaglia &
    Tsang 2000), so log X = log Y + log U / shape: no underflow however small X is.
    """
    shape = np.asarray(shape, dtype=float)
    if shape.ndim == 0:
        return log_gamma_variates(rng, shape[None])[0]
    small = shape < 1.0
    out = np.log(rng.standard_gamma(shape + small))
    if small.any():
        out[small] += np.log(rng.uniform(size=int(small.sum()))) / shape[small]
    return out


def log_class_weights(break_logodds: np.ndarray) -> np.ndarray:
    """log pi (C,) from the break log-odds (C - 1,): stick-breaking on the log scale."""
    log_v = log_expit(break_logodds)
    log_rest = log_expit(-break_logodds)  # log(1 - v), exact for v near 1
    carried = np.concatenate([[0.0], np.cumsum(log_rest)])
    return carried + np.concatenate([log_v, [0.0]])


def _class_pattern_log_probabilities(state: LatentClassState, patterns: np.ndarray) -> np.ndarray:
    """log pi_c P(h | c): (H0, C) for the rows of ``patterns`` (H0, L)."""
    log_q = log_expit(state.list_logodds)  # (C, L)
    log_not_q = log_expit(-state.list_logodds)
    per_class = patterns @ log_q.T + (1.0 - patterns) @ log_not_q.T
    return per_class + log_class_weights(state.break_logodds)[None, :]


def log_seen_probability(state: LatentClassState, inclusion: np.ndarray) -> float:
    """log P* = log sum_h P(h) over the non-empty patterns (rows of ``inclusion``)."""
    log_joint = _class_pattern_log_probabilities(state, inclusion)
    top = log_joint.max()
    return float(top + np.log(np.exp(log_joint - top).sum()))


def gibbs_sweep(
    state: LatentClassState,
    counts: np.ndarray,
    inclusion: np.ndarray,
    priors: dict[str, float],
    rng: np.random.Generator,
) -> tuple[LatentClassState, int]:
    """One sweep (module docstring); returns the new state and the unseen count n0.

    Parameters
    ----------
    counts
        (H,) units seen with each non-empty pattern (rows of ``inclusion``, H x L).
    priors
        ``abundance_alpha``, ``abundance_beta`` (Gamma on lambda; 0, 0 for 1 / lambda),
        ``concentration_alpha``, ``concentration_beta``, ``list_alpha``, ``list_beta``.
    """
    patterns = np.vstack([np.zeros(inclusion.shape[1]), inclusion])  # row 0: on no list
    log_joint = _class_pattern_log_probabilities(state, patterns)  # (H + 1, C)
    membership = np.exp(log_joint - log_joint.max(axis=1, keepdims=True))
    p_zero = np.exp(log_joint[0]).sum()
    # lambda integrated out: p(n0 | rest) ~ Gamma(n + n0 + a0) / n0! (P(0) / (1 + b0))^n0
    detected = int(counts.sum())
    miss = p_zero / (1.0 + priors["abundance_beta"])
    unseen = int(rng.negative_binomial(detected + priors["abundance_alpha"], 1.0 - miss))
    totals = np.concatenate([[unseen], counts]).astype(np.int64)
    membership /= membership.sum(axis=1, keepdims=True)
    table = rng.multinomial(totals, membership)  # (H + 1, C) units by pattern and class

    in_class = table.sum(axis=0).astype(float)  # m_c
    on_list = table.T @ patterns  # (C, L) y[c, l]
    later = np.cumsum(in_class[::-1])[::-1][1:]  # sum_{c' > c} m_c', c = 0..C-2
    log_concentration = _slice_log_concentration(
        state.log_concentration, in_class[:-1], later, priors, rng
    )
    concentration = np.exp(log_concentration)
    # one call for all the gamma variates: q's two shapes, then the breaks' two
    shapes = np.concatenate(
        [
            (priors["list_alpha"] + on_list).ravel(),
            (priors["list_beta"] + in_class[:, None] - on_list).ravel(),
            1.0 + in_class[:-1],
            concentration + later,
        ]
    )
    log_g = log_gamma_variates(rng, shapes)
    size = on_list.size
    list_logodds = (log_g[:size] - log_g[size : 2 * size]).reshape(on_list.shape)
    breaks = len(later)
    break_logodds = log_g[2 * size : 2 * size + breaks] - log_g[2 * size + breaks :]

    total = float(totals.sum())
    log_g = log_gamma_variates(rng, np.array([priors["abundance_alpha"] + total]))
    new = LatentClassState(
        log_lambda=float(log_g[0] - np.log(priors["abundance_beta"] + 1.0)),
        log_concentration=float(log_concentration),
        break_logodds=break_logodds,
        list_logodds=list_logodds,
    )
    return new, unseen


def _log_concentration_density(u, in_class, later, priors) -> float:
    """log p(log a | class counts), the breaks integrated out (up to a constant).

    The counts m_c given a and the stick order have probability
    prod_c B(1 + m_c, a + M_c) / B(1, a), M_c = sum_{c' > c} m_c', and B(1, a) = 1 / a; the
    Gamma(a_a, b_a) prior on a, and the Jacobian a of a -> log a.
    """
    a = np.exp(u)
    log_beta = gammaln(a + later) - gammaln(1.0 + in_class + a + later)  # + a constant
    log_prior = priors["concentration_alpha"] * u - priors["concentration_beta"] * a
    return float(log_prior + log_beta.sum() + len(later) * u)


def _slice_log_concentration(u0, in_class, later, priors, rng, width=2.0, steps=50) -> float:
    """One slice-sampling update of log a given the class counts (Neal 2003: stepping out at
    most ``steps`` widths, split at random between the two sides, then shrinkage): leaves
    p(log a | counts) invariant; the breaks are then drawn given a."""

    def density(u):
        return _log_concentration_density(u, in_class, later, priors)

    level = density(u0) + np.log(rng.uniform())
    low = u0 - width * rng.uniform()
    high = low + width
    left = int(steps * rng.uniform())
    right = steps - 1 - left
    while left > 0 and density(low) > level:
        low -= width
        left -= 1
    while right > 0 and density(high) > level:
        high += width
        right -= 1
    while True:
        u = rng.uniform(low, high)
        if density(u) > level:
            return u
        if u < u0:
            low = u
        else:
            high = u
