"""Posterior predictive capture frequencies, computed forward from the detection model.

The likelihoods use closed-form sums over histories; this module instead walks through the
occasions one by one, exactly as the simulator does (``hiddenpop.detection`` builds every
probability), and tracks the distribution of the number of captures. It therefore also
serves as an independent check of the likelihood's P* (tests compare the two).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from hiddenpop.constants import CAPTURES_DIM, PERIOD_DIM
from hiddenpop.detection import expit, unit_logit

__all__ = [
    "capture_count_probabilities",
    "freeman_tukey",
    "frequency_check",
    "frequency_check_dataset",
    "replicate_frequencies",
    "thinned_draws",
]


def capture_count_probabilities(
    tau: np.ndarray,
    mask: np.ndarray,
    shift: np.ndarray,
    log_weight: np.ndarray,
    behaviour: np.ndarray | None = None,
) -> np.ndarray:
    """Probability that a present unit is seen on exactly m occasions, m = 0..K.

    Parameters
    ----------
    tau : (S, T, K)
        Occasion logits per draw, period and occasion.
    mask : (T, K) bool
        Occasions that exist.
    shift, log_weight : (S, T, C)
        Heterogeneity support and log-weights (C = 1, shift 0, weight 1 without it).
    behaviour : (S, T), optional
        Behavioural effect on the logit after first capture.

    Returns
    -------
    (S, T, K + 1)
        Column 0 is A_0 = 1 - P*.
    """
    n_occ = tau.shape[-1]
    not_seen = np.ones(shift.shape)
    counts = np.zeros((*shift.shape, n_occ + 1))
    b = 0.0 if behaviour is None else behaviour[..., None]
    for k in range(n_occ):
        active = mask[:, k][None, :, None]
        first = expit(unit_logit(tau[:, :, k, None], shift))
        again = first if behaviour is None else expit(unit_logit(tau[:, :, k, None], shift, b, 1.0))
        moved = counts * again[..., None]
        updated = counts - moved
        updated[..., 1:] += moved[..., :-1]
        updated[..., 1] += not_seen * first
        counts = np.where(active[..., None], updated, counts)
        not_seen = np.where(active, not_seen * (1.0 - first), not_seen)
    counts[..., 0] = not_seen
    weight = np.exp(log_weight)[..., None]
    return (weight * counts).sum(axis=2)


def replicate_frequencies(
    probabilities: np.ndarray, detected: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Replicated f_m given the observed n_t: Multinomial(n_t, P(m) / P*), m = 1..K.

    ``probabilities`` (S, T, K + 1) from :func:`capture_count_probabilities`.
    """
    seen = probabilities[..., 1:]
    seen = seen / seen.sum(axis=-1, keepdims=True)
    n = np.broadcast_to(detected, seen.shape[:-1])
    return rng.multinomial(n, np.clip(seen, 0.0, 1.0))


def freeman_tukey(frequencies: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """Freeman-Tukey discrepancy sum_m (sqrt f_m - sqrt E_m)^2 over the last axis."""
    return ((np.sqrt(frequencies) - np.sqrt(expected)) ** 2).sum(axis=-1)


def frequency_check(
    tau: np.ndarray,
    mask: np.ndarray,
    shift: np.ndarray,
    log_weight: np.ndarray,
    behaviour: np.ndarray | None,
    detected: np.ndarray,
    frequencies: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Posterior predictive check of the capture frequencies.

    Returns replicated f_m given n_t, shape (S, T, K), and per period the posterior predictive
    p-value Pr(FT(f_rep, E) >= FT(f_obs, E)) of the Freeman-Tukey discrepancy against the
    expected frequencies E of each draw. Arguments as in :func:`capture_count_probabilities`.
    """
    probabilities = capture_count_probabilities(tau, mask, shift, log_weight, behaviour)
    replicated = replicate_frequencies(probabilities, detected, rng)
    seen = probabilities[..., 1:] / probabilities[..., 1:].sum(axis=-1, keepdims=True)
    expected = seen * detected[None, :, None]
    observed = frequencies[None]
    p_value = (freeman_tukey(replicated, expected) >= freeman_tukey(observed, expected)).mean(
        axis=0
    )
    return replicated, p_value


def thinned_draws(posterior: xr.Dataset, max_draws: int) -> xr.Dataset:
    """At most ``max_draws`` evenly spaced draws, chains and draws stacked into ``sample``."""
    stacked = posterior.stack(sample=("chain", "draw"))
    keep = np.unique(np.linspace(0, stacked.sizes["sample"] - 1, max_draws).astype(int))
    return stacked.isel(sample=keep)


def frequency_check_dataset(
    tau: np.ndarray,
    shift: np.ndarray,
    log_weight: np.ndarray,
    behaviour: np.ndarray | None,
    data,
    rng: np.random.Generator,
) -> xr.Dataset:
    """:func:`frequency_check` on ``data`` (a CaptureData) as a posterior-predictive group.

    ``frequencies`` (chain 0, one draw per row of ``tau``, period, n_captures) holds the
    replicated f_m; ``attrs["ppc_p_value"]`` the Freeman-Tukey p-value per period.
    """
    replicated, p_value = frequency_check(
        tau, data.mask, shift, log_weight, behaviour, data.detected, data.frequencies, rng
    )
    return xr.Dataset(
        {"frequencies": (("chain", "draw", PERIOD_DIM, CAPTURES_DIM), replicated[None])},
        coords={
            "chain": [0],
            "draw": np.arange(replicated.shape[0]),
            PERIOD_DIM: data.periods,
            CAPTURES_DIM: np.arange(1, data.mask.shape[1] + 1),
        },
        attrs={"ppc_p_value": p_value.tolist()},
    )
