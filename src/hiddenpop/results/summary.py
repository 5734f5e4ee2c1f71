"""Posterior summaries with the interval settings of ``hiddenpop.constants`` (90% equal-tailed)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from hiddenpop.constants import INTERVAL_QUANTILES, PERIOD_DIM

__all__ = ["growth_draws", "interval", "interval_lists"]

SAMPLE_DIMS = ("chain", "draw")


def interval(draws: xr.DataArray) -> dict:
    """``{"mean", "q05", "q50", "q95"}`` over the sample dims (scalars or lists)."""
    quantiles = draws.quantile(list(INTERVAL_QUANTILES), dim=list(SAMPLE_DIMS))
    names = ("q05", "q50", "q95")
    out = {"mean": draws.mean(SAMPLE_DIMS).values.tolist()}
    for name, q in zip(names, INTERVAL_QUANTILES, strict=True):
        out[name] = quantiles.sel(quantile=q).values.tolist()
    return out


def interval_lists(draws: xr.DataArray) -> dict:
    """As :func:`interval` for a per-period quantity (lists in period order)."""
    return interval(draws.transpose(*SAMPLE_DIMS, PERIOD_DIM))


def growth_draws(
    abundance: xr.DataArray, detection_fraction: xr.DataArray, detected: np.ndarray
) -> xr.Dataset:
    """Growth ratios last / first period, per draw (METHODS.md §5).

    ``true`` = N_T / N_1; ``reporting`` = P*_T / P*_1 (the probability of being reported);
    ``reporting_realised`` = (n_T / N_T) / (n_1 / N_1), the realised detection fractions, for
    which observed = true x reporting_realised holds exactly in every draw;
    ``reporting_share`` = log(reporting_realised) / log(observed), the share of observed
    growth due to reporting (undefined when the observed change is near zero).
    """
    first, last = abundance.isel({PERIOD_DIM: 0}), abundance.isel({PERIOD_DIM: -1})
    true = last / first
    reporting = detection_fraction.isel({PERIOD_DIM: -1}) / detection_fraction.isel({PERIOD_DIM: 0})
    observed = detected[-1] / detected[0]
    realised = observed / true
    share = (
        np.log(realised) / np.log(observed) if abs(np.log(observed)) > 1e-9 else realised * np.nan
    )
    return xr.Dataset(
        {
            "true": true,
            "reporting": reporting,
            "reporting_realised": realised,
            "reporting_share": share,
        },
        attrs={"observed": float(observed)},
    )
