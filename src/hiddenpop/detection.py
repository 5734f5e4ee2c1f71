"""The detection parameterisation shared by the simulator and every likelihood.

One source of truth for how detection probabilities are built (METHODS.md §5)::

    logit p[i,t,k] = mu[t] + x[t,k]' theta + omega[t,k] + sigma * z[i] + b * seen_before[i,t,k]
                     \\________ tau[t, k] ________/   \\_ unit _/   \\__ behaviour __/

``tau`` is the occasion-level logit (reporting level, effort covariates, occasion noise),
``sigma * z`` the unit's heterogeneity shift (logit-normal: z ~ N(0, 1); finite mixture: z on
a few support points) and ``b`` the behavioural (trap-happy b > 0 / trap-shy b < 0) response
on occasions after the unit's first detection.

The functions below use only arithmetic, so they accept numpy arrays (simulator, maximum
likelihood) and PyTensor tensors (PyMC models) alike.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = [
    "expit",
    "gauss_hermite_normal",
    "logit",
    "occasion_logit",
    "unit_logit",
]


def logit(p):
    """Log-odds of a probability (numpy)."""
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


def expit(x):
    """Inverse logit (numpy), stable for large |x|."""
    x = np.asarray(x, dtype=float)
    return np.exp(-np.logaddexp(0.0, -x))


def occasion_logit(level, occasion_effect=None, covariates=None, coefficients=None):
    """Occasion-level detection logit ``tau[t, k]``.

    Parameters
    ----------
    level : array (T,)
        Reporting level ``mu_t`` of each period on the logit scale.
    occasion_effect : array (T, K), optional
        Occasion effects ``omega_{t,k}`` (noise or fixed time effects of model Mt).
    covariates : array (T, K, J), optional
        Reporting-effort covariates ``x_{t,k}``.
    coefficients : array (J,), optional
        Their effects ``theta``.

    Returns
    -------
    array (T, K) or (T, 1)
        ``mu_t + x_{t,k}' theta + omega_{t,k}``; shape (T, 1) when nothing varies by occasion.
    """
    tau = level[:, None]
    if occasion_effect is not None:
        tau = tau + occasion_effect
    if covariates is not None:
        if coefficients is None:
            raise ValueError("covariates given without coefficients")
        tau = tau + (covariates * coefficients).sum(axis=-1)
    return tau


def unit_logit(tau, shift=0.0, behaviour=0.0, seen_before=0.0):
    """Unit-level detection logit: ``tau + shift + behaviour * seen_before``.

    ``shift`` is the heterogeneity shift ``sigma * z_i`` (broadcast against ``tau``);
    ``seen_before`` is 1 on occasions after the unit's first detection in the period.
    """
    return tau + shift + behaviour * seen_before


@lru_cache(maxsize=16)
def gauss_hermite_normal(n_nodes: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and log-weights to integrate against the standard normal density.

    ``E[g(Z)] ~= sum_j exp(log_w[j]) * g(z[j])`` with Z ~ N(0, 1) (probabilists' Hermite rule).
    Weights underflow for large ``n_nodes``; log-weights keep the tails usable in logsumexp.
    """
    if n_nodes < 2:
        raise ValueError("Gauss-Hermite quadrature needs at least 2 nodes")
    z, w = np.polynomial.hermite_e.hermegauss(n_nodes)
    with np.errstate(divide="ignore"):
        log_w = np.log(w) - 0.5 * np.log(2.0 * np.pi)
    keep = np.isfinite(log_w)
    z, log_w = z[keep], log_w[keep]
    z.setflags(write=False)
    log_w.setflags(write=False)
    return z, log_w
