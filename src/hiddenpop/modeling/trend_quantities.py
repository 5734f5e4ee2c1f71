"""Derived quantities and honesty checks of the trend model (METHODS.md §5, §7).

Per posterior draw (so every contrast has a full posterior), with n_t the units reported,
N_t = n_t + unseen and P*_t the probability that a present unit is reported at least once::

    true_growth_step[t]        = N_t / N_{t-1}
    reporting_growth_step[t]   = P*_t / P*_{t-1}
    reporting_realised_step[t] = (n_t / N_t) / (n_{t-1} / N_{t-1})
    observed step              = n_t / n_{t-1} = true_growth_step x reporting_realised_step
    counterfactual_detected[t] = N_t P*_1   (reports had the first period's reporting stayed)

First-to-last growth (true, reporting, share of observed growth due to reporting,
Pr(N_T > N_1)) is in ``FitResult.growth``. The identity observed = true x realised reporting
holds exactly in every draw; P*_t / P*_{t-1} is its expectation-level counterpart.

The checks say what the data cannot tell: before the fit, periods with few units reported
more than once (their N is carried by the trend, not by their own recaptures); after it,
a detection trend met by a weakly identified heterogeneity scale (Link 2003: the split of
growth then rests on the heterogeneity assumption), and, whenever the model claims that N
changed, the single-source caveat that a change in N cannot be told apart from a change in
the share of units that can be reported at all (coverage expansion, an invisible class).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from hiddenpop.constants import PERIOD_DIM
from hiddenpop.data import CaptureData
from hiddenpop.data.carryover import carry_over

__all__ = [
    "STEP_DIM",
    "THIN_RECAPTURES",
    "identifiability_report",
    "posterior_warnings",
    "prefit_warnings",
    "trend_derived",
]

#: Dimension of period-to-period contrasts, labelled by the later period.
STEP_DIM = "step"
#: Fewer units reported more than once than this in a period: its own recaptures are thin.
THIN_RECAPTURES = 20
#: Units reported three or more times (all periods) below which sigma_u is weakly identified.
WEAK_HETEROGENEITY = 30
#: Permutation p-value below which detection is said to carry over between periods.
CARRY_OVER_LEVEL = 0.01
#: Posterior probability beyond which a direction counts as established.
CONFIDENT = 0.9


def _steps(values: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    later = values.isel({PERIOD_DIM: slice(1, None)}).rename({PERIOD_DIM: STEP_DIM})
    earlier = values.isel({PERIOD_DIM: slice(None, -1)}).rename({PERIOD_DIM: STEP_DIM})
    return later, earlier.assign_coords({STEP_DIM: later[STEP_DIM].values})


def trend_derived(
    abundance: xr.DataArray, detection_fraction: xr.DataArray, detected: np.ndarray
) -> xr.Dataset:
    """Step growth ratios and the constant-reporting counterfactual, per draw.

    Parameters
    ----------
    abundance, detection_fraction : DataArray (chain, draw, period)
        Draws of N_t and P*_t.
    detected : array (T,)
        n_t.

    Returns
    -------
    xarray.Dataset
        ``true_growth_step``, ``reporting_growth_step``, ``reporting_realised_step`` and
        ``observed_growth_step`` (the data, repeated per draw) (chain, draw, step), and
        ``counterfactual_detected`` (chain, draw, period), each with
        ``attrs["summary_block"] = "trend"`` so that ``FitResult.summary`` reports them.
    """
    n = xr.DataArray(np.asarray(detected, dtype=float), dims=PERIOD_DIM)
    n = n.assign_coords({PERIOD_DIM: abundance[PERIOD_DIM].values})
    later_n, earlier_n = _steps(abundance)
    later_p, earlier_p = _steps(detection_fraction)
    later_d, earlier_d = _steps(n / abundance)
    first_p = detection_fraction.isel({PERIOD_DIM: 0}, drop=True)
    derived = xr.Dataset(
        {
            "true_growth_step": later_n / earlier_n,
            "reporting_growth_step": later_p / earlier_p,
            "reporting_realised_step": later_d / earlier_d,
            "counterfactual_detected": abundance * first_p,
        }
    )
    observed = xr.DataArray(
        np.asarray(detected[1:], dtype=float) / np.asarray(detected[:-1], dtype=float),
        dims=STEP_DIM,
        coords={STEP_DIM: derived[STEP_DIM].values},
    )
    derived["observed_growth_step"] = observed.broadcast_like(derived["true_growth_step"])
    for name in derived.data_vars:
        derived[name].attrs["summary_block"] = "trend"
    return derived


def _recaptured(data: CaptureData) -> np.ndarray:
    return data.detected - data.frequencies[:, 0]


def prefit_warnings(structure: Mapping, data: CaptureData) -> list[str]:
    """What these data cannot identify under the trend model, before any fitting."""
    messages = []
    recaptured = _recaptured(data)
    thin = [str(p) for p, r in zip(data.periods, recaptured, strict=True) if r < THIN_RECAPTURES]
    if thin:
        messages.append(
            f"thin recapture information: in period(s) {', '.join(thin)} fewer than "
            f"{THIN_RECAPTURES} units were reported more than once, so N there is estimated "
            "mostly from the trend shared with other periods, not from that period's own data."
        )
    if structure.get("heterogeneity") == "normal":
        repeated = int(data.frequencies[:, 2:].sum())
        if repeated < WEAK_HETEROGENEITY:
            messages.append(
                f"only {repeated} units were reported three or more times in a period: the "
                "heterogeneity scale is informed mostly by its prior, so levels of N depend on "
                "it (Link 2003); compare with a different heterogeneity prior."
            )
    check = carry_over(data) if structure.get("persistence", "none") == "none" else None
    if check is not None and check.testable and check.p_value < CARRY_OVER_LEVEL:
        messages.append(
            f"detection carries over between periods: the {check.linked:,} units also "
            "reported in the previous period were reported "
            f"{check.ratio:.2f}x as often as the period's other units would make them "
            f"(permutation p = {check.p_value:.2g}, z = {check.z:.1f}). The same units persist "
            "with their own detectability, which this model, treating each period's units as "
            "independent, ignores: it counts the evidence of the periods on heterogeneity as "
            "independent, so the N_t intervals can be too narrow (about 20% at sigma_u = 1.5 "
            "with half the units persisting; docs/calibration.md). Model robust-trend-persistent "
            "(persistence = 'markov') follows units across periods."
        )
    return messages


def _contraction(draws: np.ndarray, prior_sd: float) -> float:
    return float(1.0 - np.var(draws) / prior_sd**2)


def posterior_warnings(posterior: xr.Dataset, structure: Mapping, data: CaptureData) -> list[str]:
    """Warnings that need the posterior: weak heterogeneity under a detection trend, and the
    single-source caveat whenever a change in N is claimed."""
    messages = []
    p_slope = float((posterior["detection_slope"] > 0).mean())
    trending = p_slope > CONFIDENT or p_slope < 1.0 - CONFIDENT
    if trending and "heterogeneity_sd" in posterior:
        # prior sd of HalfNormal(1) is sqrt(1 - 2 / pi); a default-free check uses the draws
        contraction = _contraction(posterior["heterogeneity_sd"].values, np.sqrt(1 - 2 / np.pi))
        if contraction < 0.5:
            messages.append(
                "reporting changes over time while the heterogeneity scale is weakly "
                f"identified (its posterior variance is {1 - contraction:.0%} of the prior's): "
                "how the observed change splits into true and reporting growth depends on the "
                "heterogeneity assumption; treat the split as a sensitivity analysis."
            )
    abundance = posterior["N"]
    grew = float((abundance.isel({PERIOD_DIM: -1}) > abundance.isel({PERIOD_DIM: 0})).mean())
    if grew > CONFIDENT or grew < 1.0 - CONFIDENT:
        direction = "grew" if grew > CONFIDENT else "declined"
        messages.append(
            f"the model finds that the population {direction} (Pr = {max(grew, 1 - grew):.2f}) "
            "assuming every unit can be reported in every period: with one reporting source, "
            "a change in the share of units that can be reported at all (coverage expansion, "
            "a class never reported) looks the same as a change in N and is not in these "
            "intervals; N counts reportable units only."
        )
    return messages


def identifiability_report(result) -> pd.DataFrame:
    """Per period: where the information on N_t comes from.

    Columns: ``detected`` n_t; ``recaptured`` units reported more than once;
    ``own_log_sd`` ~ 1 / sqrt(recaptured), the rough standard error of log N_t from that
    period's recaptures alone (Lincoln-Petersen); ``posterior_log_sd`` the posterior sd of
    log N_t; ``information`` "own recaptures" when the posterior is no more than twice as
    precise as the period alone could be, else "trend pooling" (the estimate leans on the
    other periods through the trend), and "none" when nobody was reported twice. Where the
    records link units across periods, ``seen_before`` (units also reported in the previous
    period) and ``carry_over_ratio`` (their mean capture count over the other units';
    above 1 when detectability persists, :mod:`hiddenpop.data.carryover`).
    """
    data = result.data
    recaptured = _recaptured(data)
    own = np.where(recaptured > 0, 1.0 / np.sqrt(np.maximum(recaptured, 1)), np.inf)
    log_n = np.log(result.posterior["N"])
    posterior_sd = log_n.std(("chain", "draw")).values
    information = np.where(
        recaptured == 0,
        "none",
        np.where(posterior_sd > 0.5 * own, "own recaptures", "trend pooling"),
    )
    report = pd.DataFrame(
        {
            "period": data.periods,
            "detected": data.detected,
            "recaptured": recaptured,
            "own_log_sd": own,
            "posterior_log_sd": posterior_sd,
            "information": information,
        }
    )
    check = carry_over(data)
    if check is not None:
        report["seen_before"] = np.r_[0, check.table["linked"].to_numpy()]
        report["carry_over_ratio"] = np.r_[np.nan, check.table["ratio"].to_numpy()]
    return report
