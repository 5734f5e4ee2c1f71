"""Quick classical estimators of population size: the exploratory first look.

Plain numpy on capture frequencies; no model fitting. Each returns NaN where it is not
defined instead of a number that looks valid.

- Chao (1987) lower bound: N >= n + f1^2 / (2 f2) under heterogeneity; bias-corrected form
  n + f1 (f1 - 1) / (2 (f2 + 1)) when f2 = 0 (Chao 1989; Rcapture's `descriptive` uses the same).
- Zelterman (1988): N = n / (1 - exp(-lambda)), lambda = 2 f2 / f1.
- Chapman (1951): two occasions, N = (n1 + 1)(n2 + 1) / (m2 + 1) - 1.
"""

from __future__ import annotations

import numpy as np

__all__ = ["chao_lower_bound", "chapman", "zelterman"]


def chao_lower_bound(frequencies) -> np.ndarray:
    """Chao's lower bound per period from f_{t,m} (array (..., K), m = 1..K)."""
    f = np.asarray(frequencies, dtype=float)
    n = f.sum(axis=-1)
    f1, f2 = f[..., 0], f[..., 1] if f.shape[-1] > 1 else np.zeros_like(f[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(f2 > 0, n + f1**2 / (2 * f2), n + f1 * (f1 - 1) / (2 * (f2 + 1)))
    return bound


def zelterman(frequencies) -> np.ndarray:
    """Zelterman's estimator per period from f_{t,m}; NaN when f1 = 0 or f2 = 0."""
    f = np.asarray(frequencies, dtype=float)
    n = f.sum(axis=-1)
    f1, f2 = f[..., 0], f[..., 1] if f.shape[-1] > 1 else np.zeros_like(f[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = 2 * f2 / f1
        estimate = n / -np.expm1(-rate)
    return np.where((f1 > 0) & (f2 > 0), estimate, np.nan)


def chapman(n1, n2, m2) -> np.ndarray:
    """Chapman's bias-corrected Lincoln-Petersen estimator for two occasions.

    ``n1``, ``n2``: units seen on occasion 1 and 2; ``m2``: seen on both.
    """
    n1, n2, m2 = (np.asarray(x, dtype=float) for x in (n1, n2, m2))
    return (n1 + 1) * (n2 + 1) / (m2 + 1) - 1
