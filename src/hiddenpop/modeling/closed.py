"""Closed-population models M0, Mt, Mb, Mh, Mth (and Mbh, Mtbh) as one family.

For each period t (periods are independent; a closed model has no trend)::

    logit p[i,t,k] = tau[t,k] + s_i (+ b_t after the unit's first capture)
    tau[t,k] = tau[t]            (M0, Mb, Mh)   or a free effect per occasion (Mt, Mth)
    s_i = sigma_t z_i, z_i ~ N(0, 1)            (logit-normal heterogeneity, by quadrature)
        or s_i in {0, d_1, d_1 + d_2, ...} with weights w_t  (finite mixture, Pledger 2000)
    N_t ~ Poisson(lambda_t)  or  NegativeBinomial(mean lambda_t, shape phi_t)

The logit-normal integral uses 61 equally spaced (trapezoid) nodes by default: fixed
Gauss-Hermite nodes mis-integrate the step-like integrands of strong heterogeneity (40 nodes
move N-hat by 1.5% at sigma = 1.5 and by 11% at sigma = 3.5; docs/validation_closed.md),
while 61 trapezoid nodes stay within 0.5% of adaptive quadrature there.

N is marginalised (METHODS.md §3) and the likelihood is written on sufficient statistics
(``hiddenpop.likelihood.closed``). The sampler works on log m_t = log(lambda_t P*_t), the log
expected number of units seen, which n_t pins down; log lambda_t = log m_t - log P*_t is a
shift with unit Jacobian, so the prior is placed on log lambda_t directly. In these
coordinates the likelihood factorises into Poisson(n_t | m_t) times the conditional
likelihood of the histories given n_t, removing the lambda-detection ridge.

After sampling, N_t = n_t + unseen with unseen ~ Poisson(lambda_t A_0) (negative binomial
under NB abundance), drawn once per posterior draw.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from hiddenpop.classical import chao_lower_bound
from hiddenpop.constants import OCCASION_DIM, PERIOD_DIM
from hiddenpop.data import CaptureData
from hiddenpop.detection import logit
from hiddenpop.exceptions import UnsupportedDataError
from hiddenpop.likelihood.closed import (
    ClosedStatistics,
    conditional_log_likelihood,
    log_detection_probability,
    mixture_heterogeneity,
    normal_heterogeneity,
    normal_quadrature,
)
from hiddenpop.modeling.families import ModelFamily, register_family
from hiddenpop.modeling.predictive import frequency_check_dataset, thinned_draws
from hiddenpop.modeling.priors import Prior
from hiddenpop.modeling.spec import ModelSpec

__all__ = ["ClosedFamily", "unseen_draws"]

CLASS_DIM = "mixture_class"
GAP_DIM = "mixture_gap_index"


def unseen_draws(
    rng: np.random.Generator,
    expected_abundance: np.ndarray,
    unseen_probability: np.ndarray,
    detected: np.ndarray,
    shape: np.ndarray | None = None,
) -> np.ndarray:
    """Draws of the number of units never seen, given the parameters (METHODS.md §3).

    Poisson N: unseen ~ Poisson(lambda A_0), independent of the data. Negative-binomial N
    with shape phi: unseen | n ~ NB(shape phi + n, mean (phi + n) A_0 / (phi / lambda + P*)).
    """
    if shape is None:
        return rng.poisson(expected_abundance * unseen_probability)
    detection = 1.0 - unseen_probability
    size = shape + detected
    mean = size * unseen_probability / (shape / expected_abundance + detection)
    return rng.negative_binomial(size, size / (size + mean))


def _per_occasion(prior: Prior) -> Prior:
    """A prior whose per-period parameters (T,) broadcast over occasions as (T, 1)."""
    params = {
        k: v[:, None] if isinstance(v, np.ndarray) and v.ndim == 1 else v
        for k, v in prior.params.items()
    }
    return Prior(prior.dist, params)


@register_family
class ClosedFamily(ModelFamily):
    """Closed-population models; ``[structure]`` options and their defaults below."""

    name = "closed"
    structure_options: ClassVar[dict] = {
        "occasion_effects": (False, bool),
        "behaviour": (False, bool),
        "heterogeneity": ("none", ("none", "normal", "mixture")),
        "mixture_classes": (2, int),
        "quadrature": ("trapezoid", ("trapezoid", "gauss-hermite")),
        "quadrature_nodes": (61, int),
        "abundance": ("poisson", ("poisson", "negative-binomial")),
    }

    def default_priors(self, structure: dict) -> dict[str, Prior]:
        priors = {
            # log lambda_t, centred on log of Chao's lower bound: wide on the log scale
            "abundance": Prior("Normal", {"mu": "data", "sigma": 2.5}),
            # tau: centred on the logit of the mean share of units seen per occasion
            "detection": Prior("Normal", {"mu": "data", "sigma": 2.5}),
        }
        if structure["behaviour"]:
            priors["behaviour"] = Prior("Normal", {"mu": 0.0, "sigma": 1.5})
        if structure["heterogeneity"] == "normal":
            priors["heterogeneity_sd"] = Prior("HalfNormal", {"sigma": 1.5})
        if structure["heterogeneity"] == "mixture":
            priors["mixture_gap"] = Prior("HalfNormal", {"sigma": 3.0})
        if structure["abundance"] == "negative-binomial":
            # 1 / sqrt(shape): 0 is Poisson
            priors["abundance_overdispersion"] = Prior("HalfNormal", {"sigma": 0.5})
        return priors

    def data_centres(self, data: CaptureData) -> dict[str, dict[str, np.ndarray]]:
        bound = np.maximum(chao_lower_bound(data.frequencies), data.detected)
        bound = np.maximum(bound, 1.0)
        if "captures" in data.stats:
            per_occasion = data.stats["captures"].values.sum(axis=1) / data.n_occasions
        else:
            m = np.arange(1, data.frequencies.shape[1] + 1)
            per_occasion = (data.frequencies * m).sum(axis=1) / data.n_occasions
        share = np.clip(per_occasion / bound, 1e-6, 0.95)
        return {"abundance": {"mu": np.log(bound)}, "detection": {"mu": logit(share)}}

    def check_data(self, spec: ModelSpec, data: CaptureData) -> None:
        structure = self.structure(spec)
        if data.kind == "frequency" and (structure["occasion_effects"] or structure["behaviour"]):
            raise UnsupportedDataError(
                f"model {spec.name} needs captures per occasion (time effects or behaviour), "
                f"but {data.origin} is a capture-frequency table; use M0 or Mh."
            )
        if data.kind == "source" and structure["behaviour"]:
            raise UnsupportedDataError(
                f"model {spec.name} has a behavioural response, which has no meaning for "
                "lists (sources have no order)."
            )

    def coords(self, spec: ModelSpec, data: CaptureData) -> dict:
        structure = self.structure(spec)
        k = data.mask.shape[1]
        coords = {PERIOD_DIM: data.periods, OCCASION_DIM: list(range(k))}
        if structure["heterogeneity"] == "mixture":
            classes = structure["mixture_classes"]
            coords[CLASS_DIM] = list(range(classes))
            coords[GAP_DIM] = list(range(classes - 1))
        return coords

    def build(self, spec: ModelSpec, data: CaptureData) -> pm.Model:
        """The PyMC model (pure: builds the graph, never samples)."""
        self.check_data(spec, data)
        structure = self.structure(spec)
        priors = self.priors(spec, data)
        stats = ClosedStatistics.from_stats(data.stats)
        mask = data.mask
        detected = data.detected
        with pm.Model(coords=self.coords(spec, data)) as model:
            log_m = pm.Flat(
                "log_expected_detected", dims=PERIOD_DIM, initval=np.log(np.maximum(detected, 1))
            )
            # start from the data's scale whatever the prior (Flat priors have no centre)
            centre = self.data_centres(data)["detection"]["mu"]
            if structure["occasion_effects"]:
                tau = _per_occasion(priors["detection"]).create(
                    "detection_logit",
                    dims=(PERIOD_DIM, OCCASION_DIM),
                    initval=np.repeat(centre[:, None], mask.shape[1], axis=1),
                )
            else:
                tau = priors["detection"].create(
                    "detection_logit", dims=PERIOD_DIM, initval=centre
                )[:, None]
            heterogeneity = self._heterogeneity(structure, priors)
            behaviour = (
                priors["behaviour"].create("behaviour", dims=PERIOD_DIM)
                if structure["behaviour"]
                else None
            )
            log_p_star = log_detection_probability(tau, mask, heterogeneity)
            pm.Deterministic("detection_fraction", pt.exp(log_p_star), dims=PERIOD_DIM)
            log_lambda = pm.Deterministic(
                "log_expected_abundance", log_m - log_p_star, dims=PERIOD_DIM
            )
            pm.Potential("abundance_prior", pm.logp(priors["abundance"].dist_object(), log_lambda))
            if structure["abundance"] == "negative-binomial":
                spread = priors["abundance_overdispersion"].create(
                    "abundance_overdispersion", dims=PERIOD_DIM
                )
                shape = pm.Deterministic("abundance_shape", spread**-2, dims=PERIOD_DIM)
                counts = pm.NegativeBinomial.dist(mu=pt.exp(log_m), alpha=shape)
            else:
                counts = pm.Poisson.dist(mu=pt.exp(log_m))
            log_likelihood = pm.logp(counts, detected) + conditional_log_likelihood(
                tau, stats, heterogeneity, behaviour
            )
            pm.Potential("likelihood", log_likelihood.sum())
            pm.Deterministic("log_likelihood_period", log_likelihood, dims=PERIOD_DIM)
        return model

    def _heterogeneity(self, structure: dict, priors: dict[str, Prior]):
        if structure["heterogeneity"] == "normal":
            sd = priors["heterogeneity_sd"].create("heterogeneity_sd", dims=PERIOD_DIM)
            return normal_heterogeneity(
                sd, structure["quadrature_nodes"], rule=structure["quadrature"]
            )
        if structure["heterogeneity"] == "mixture":
            # ordered support 0 < d1 < d1 + d2 ... fixes the labels (no label switching)
            gap = priors["mixture_gap"].create("mixture_gap", dims=(PERIOD_DIM, GAP_DIM))
            support = pt.concatenate([pt.zeros_like(gap[:, :1]), pt.cumsum(gap, axis=1)], axis=1)
            pm.Deterministic("mixture_support", support, dims=(PERIOD_DIM, CLASS_DIM))
            classes = structure["mixture_classes"]
            weight = pm.Dirichlet(
                "mixture_weight", a=np.ones(classes), dims=(PERIOD_DIM, CLASS_DIM)
            )
            return mixture_heterogeneity(support, weight)
        return None

    # ------------------------------------------------------------------ after sampling
    def _stacked(self, posterior: xr.Dataset, name: str) -> np.ndarray:
        return posterior[name].stack(sample=("chain", "draw")).transpose("sample", ...).values

    def derive(self, posterior, spec, data, rng) -> xr.Dataset:
        structure = self.structure(spec)
        p_star = posterior["detection_fraction"]
        expected = np.exp(posterior["log_expected_abundance"])
        shape = (
            posterior["abundance_shape"].values
            if structure["abundance"] == "negative-binomial"
            else None
        )
        unseen = unseen_draws(rng, expected.values, 1.0 - p_star.values, data.detected, shape)
        n = xr.DataArray(data.detected, dims=PERIOD_DIM, coords={PERIOD_DIM: data.periods})
        return xr.Dataset(
            {
                "N": (p_star.dims, n.values + unseen),
                "expected_abundance": expected,
            }
        )

    def predict_statistics(self, posterior, spec, data, rng, max_draws: int = 400) -> xr.Dataset:
        """Replicated capture frequencies f_m (given n_t) for a thinned set of draws."""
        structure = self.structure(spec)
        stacked = thinned_draws(posterior, max_draws)
        draws = stacked.sizes["sample"]
        tau = stacked["detection_logit"].transpose("sample", ...).values
        n_periods, n_occ = data.mask.shape
        tau = np.broadcast_to(tau.reshape(draws, n_periods, -1), (draws, n_periods, n_occ))
        if structure["heterogeneity"] == "normal":
            nodes, log_w = normal_quadrature(structure["quadrature_nodes"], structure["quadrature"])
            sd = stacked["heterogeneity_sd"].transpose("sample", ...).values
            shift = sd[..., None] * nodes
            log_weight = np.broadcast_to(log_w, shift.shape)
        elif structure["heterogeneity"] == "mixture":
            shift = stacked["mixture_support"].transpose("sample", ...).values
            log_weight = np.log(stacked["mixture_weight"].transpose("sample", ...).values)
        else:
            shift = np.zeros((draws, n_periods, 1))
            log_weight = np.zeros_like(shift)
        behaviour = (
            stacked["behaviour"].transpose("sample", ...).values if structure["behaviour"] else None
        )
        return frequency_check_dataset(tau, shift, log_weight, behaviour, data, rng)
