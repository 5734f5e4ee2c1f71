"""Log-likelihoods on sufficient statistics, written once in PyTensor (METHODS.md §3-4).

``closed``: closed-population models M0 ... Mtbh with N marginalised (Poisson, negative
binomial) or conditioned on (multinomial given n); ``mle``: their maximum-likelihood fits.
"""

from __future__ import annotations

from hiddenpop.likelihood.closed import (
    ClosedStatistics,
    Heterogeneity,
    conditional_log_likelihood,
    history_log_likelihood,
    log_detection_probability,
    log_unseen_probability,
    mixture_heterogeneity,
    negative_binomial_log_likelihood,
    normal_heterogeneity,
    normal_quadrature,
    poisson_log_likelihood,
)

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
