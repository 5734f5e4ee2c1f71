"""The truth behind a simulation: an ``xarray.Dataset`` and its JSON form (CONTRACT.md).

Growth ratios compare the last period with the first. With ``N_t`` the abundance, ``n_t`` the
number of distinct units detected and ``f_t = n_t / N_t`` the realised detection fraction::

    true_growth = N_T / N_1,  reporting_growth = f_T / f_1,  observed_growth = n_T / n_1

so ``observed_growth = true_growth * reporting_growth`` exactly (METHODS.md §1). The model
quantity ``P*_t`` (probability that a present unit is reported at least once, given the unit
effects drawn) is ``reporting_probability``; ``f_t`` is its binomial realisation.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import xarray as xr

from hiddenpop import __version__
from hiddenpop.constants import OCCASION_DIM, PERIOD_DIM, SOURCE_DIM
from hiddenpop.simulation.settings import SimulationSettings

__all__ = ["LATER_SOURCE_DIM", "MIXTURE_DIM", "build_truth", "growth_ratio", "truth_summary"]

#: Dimension of the second list in the list-dependence matrix.
LATER_SOURCE_DIM = "later_source"
#: Dimension of the support points of a finite-mixture unit effect.
MIXTURE_DIM = "mixture_class"


def growth_ratio(values: np.ndarray) -> float:
    """Last over first value; NaN when the first is 0."""
    first, last = float(values[0]), float(values[-1])
    return last / first if first > 0 else math.nan


def build_truth(
    settings: SimulationSettings,
    seed: int,
    tally: dict[str, np.ndarray],
    parameters: dict[str, np.ndarray],
) -> xr.Dataset:
    """Assemble the truth of one simulation.

    Parameters
    ----------
    settings : SimulationSettings
        The parameters used (also stored as JSON in the ``settings`` attribute).
    seed : int
        The seed used.
    tally : dict
        Per-period arrays from the generator: ``N``, ``expected_abundance``, ``survivors``,
        ``recruits``, ``detected``, ``reachable``, ``reporting_probability``,
        ``active_per_occasion``.
    parameters : dict
        ``reporting_level`` (T,), ``effort`` (T,), ``occasion_noise`` (T, K),
        ``occasion_logit`` (T, K) and, for lists,
        ``source_effect`` (L,) and ``source_dependence`` (L, L).

    Returns
    -------
    xarray.Dataset
        Dims ``period`` (labels) and ``occasion`` (positional 0..K-1, with an
        ``occasion_label`` coordinate 1..K) or ``source`` (list labels).
    """
    width_dim = SOURCE_DIM if settings.is_list_design else OCCASION_DIM
    coords: dict[str, Any] = {PERIOD_DIM: settings.periods}
    if settings.is_list_design:
        coords[SOURCE_DIM] = settings.labels
    else:
        coords[OCCASION_DIM] = np.arange(settings.n_occasions)
        coords["occasion_label"] = (OCCASION_DIM, np.asarray(settings.labels))
    abundance = np.asarray(tally["N"], dtype=np.int64)
    detected = np.asarray(tally["detected"], dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(abundance > 0, detected / np.maximum(abundance, 1), np.nan)
    per_period = {
        "N": (abundance, "abundance N_t: units present in the period"),
        "expected_abundance": (tally["expected_abundance"], "lambda_t, the mean of N_t"),
        "survivors": (tally["survivors"], "units persisting from the previous period"),
        "recruits": (tally["recruits"], "units new in the period"),
        "detected": (detected, "n_t: distinct units detected"),
        "detection_fraction": (fraction, "n_t / N_t"),
        "reporting_probability": (
            tally["reporting_probability"],
            "P*_t: mean probability of a present unit to be reported at least once",
        ),
        "reachable": (tally["reachable"], "units that can be reported (coverage)"),
        "coverage": (settings.path("coverage"), "share of units that can be reported"),
        "residence": (settings.path("residence"), "mean share of the period a unit is active"),
        "active_per_occasion": (
            tally["active_per_occasion"],
            "mean number of units active on an occasion (standing population)",
        ),
        "detection": (settings.path("detection"), "per-occasion p of a typical unit"),
        "reporting_level": (parameters["reporting_level"], "mu_t = logit(detection_t)"),
        "effort": (parameters["effort"], "reporting-effort covariate x_t"),
    }
    data_vars: dict[str, Any] = {
        name: (PERIOD_DIM, np.asarray(values), {"description": text})
        for name, (values, text) in per_period.items()
    }
    data_vars["occasion_noise"] = (
        (PERIOD_DIM, width_dim),
        parameters["occasion_noise"],
        {"description": "omega[t, k]"},
    )
    data_vars["occasion_logit"] = (
        (PERIOD_DIM, width_dim),
        np.asarray(parameters["occasion_logit"]),
        {"description": "tau[t, k] = mu_t + x_t theta + omega[t, k] (+ source effect)"},
    )
    if settings.denominator is not None:
        denominator = settings.path("denominator")
        data_vars["denominator"] = (PERIOD_DIM, denominator, {"description": "base population"})
        data_vars["prevalence_per_10k"] = (
            PERIOD_DIM,
            1e4 * abundance / denominator,
            {"description": "10^4 N_t / D_t"},
        )
    if settings.is_list_design:
        coords[LATER_SOURCE_DIM] = settings.labels
        data_vars["source_effect"] = (SOURCE_DIM, parameters["source_effect"])
        data_vars["source_dependence"] = (
            (SOURCE_DIM, LATER_SOURCE_DIM),
            parameters["source_dependence"],
            {"description": "log odds ratio added to the later list for units on the first"},
        )
    if settings.heterogeneity == "mixture":
        data_vars["mixture_support"] = (MIXTURE_DIM, np.asarray(settings.mixture_support))
        data_vars["mixture_weights"] = (MIXTURE_DIM, np.asarray(settings.mixture_weights))
    scalars = {
        "true_growth": growth_ratio(abundance),
        "reporting_growth": growth_ratio(fraction),
        "observed_growth": growth_ratio(detected),
        "reporting_probability_growth": growth_ratio(tally["reporting_probability"]),
        "survival": settings.survival,
        "effort_effect": settings.effort_effect,
        "occasion_sd": settings.occasion_sd,
        "heterogeneity_sd": settings.heterogeneity_sd,
        "behaviour": settings.behaviour,
    }
    data_vars.update({name: ((), value) for name, value in scalars.items()})
    attrs = {
        "scenario": settings.name,
        "seed": int(seed),
        "design": "source" if settings.is_list_design else "occasion",
        "heterogeneity": settings.heterogeneity,
        "settings": json.dumps(settings.to_dict()),
        "hiddenpop_version": __version__,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


def _json_list(values: xr.DataArray) -> list:
    return [_json_number(value) for value in values.to_numpy().tolist()]


def _json_number(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def truth_summary(truth: xr.Dataset) -> dict[str, Any]:
    """JSON-ready truth: the CONTRACT.md keys plus denominator, P*_t and the parameters.

    Keys: ``scenario``, ``seed``, ``periods``, ``N``, ``detected``, ``detection_fraction``,
    ``growth`` (``true``, ``reporting``, ``observed``, ``reporting_probability``), then
    ``design``, ``occasions`` or ``sources``, ``expected_abundance``, ``reporting_probability``,
    ``denominator`` and ``prevalence_per_10k`` (with a denominator) and ``parameters`` (every
    setting). Non-finite numbers become ``null``.
    """
    design = truth.attrs["design"]
    summary: dict[str, Any] = {
        "scenario": truth.attrs["scenario"],
        "seed": int(truth.attrs["seed"]),
        "periods": truth[PERIOD_DIM].to_numpy().tolist(),
        "N": _json_list(truth["N"]),
        "detected": _json_list(truth["detected"]),
        "detection_fraction": _json_list(truth["detection_fraction"]),
        "growth": {
            "true": _json_number(float(truth["true_growth"])),
            "reporting": _json_number(float(truth["reporting_growth"])),
            "observed": _json_number(float(truth["observed_growth"])),
            "reporting_probability": _json_number(float(truth["reporting_probability_growth"])),
        },
        "design": design,
    }
    if design == "source":
        summary["sources"] = truth[SOURCE_DIM].to_numpy().tolist()
    else:
        summary["occasions"] = truth["occasion_label"].to_numpy().tolist()
    summary["expected_abundance"] = _json_list(truth["expected_abundance"])
    summary["reporting_probability"] = _json_list(truth["reporting_probability"])
    if "denominator" in truth:
        summary["denominator"] = _json_list(truth["denominator"])
        summary["prevalence_per_10k"] = _json_list(truth["prevalence_per_10k"])
    summary["parameters"] = json.loads(truth.attrs["settings"])
    return summary
