"""The hierarchical trend model ``robust-trend``: true growth vs reporting growth (METHODS.md §5).

Robust design: T primary periods, each closed, with K_t occasions. For period t, occasion k
and unit i::

    N_t ~ Poisson(lambda_t)   or   NegativeBinomial(mean lambda_t, shape phi)
    log lambda_t = log D_t + x_t' gamma + eta_t
    eta_t = alpha + beta s_t + e_t,  e_t ~ N(0, sigma_eta)                    (linear)
    eta_t = alpha + beta s_t + sigma_eta (P W z)_t                            (random walk)
    eta_t = alpha + beta s_t + sigma_eta (P W2 z)_t                           (smooth, RW2)

    logit p[i,t,k] = mu_t + w_t' theta + omega_{t,k} + sigma_{u,t} z_i (+ b after 1st report)
    mu_t = a + b_mu s_t                                                       (linear)
    mu_t = a + b_mu s_t + sigma_mu (P W z')_t                                 (random walk)
    omega_{t,k} ~ N(0, sigma_omega);  z_i ~ N(0, 1)
    log sigma_{u,t} = log sigma_u + kappa zeta_t,  zeta_t ~ N(0, 1)           (partial pooling)

with W z a standard random walk (W2 z its running sum), P the projection that removes a
series' least-squares line (so alpha, beta and a, b_mu are the lines of eta and mu, and the
walks only their departures from them; ``_walk_matrix``), s_t = t - (T + 1) / 2 the centred
period index, D_t the denominator (1 if absent), x abundance covariates and w
reporting-effort covariates (both standardised per column).

N is marginalised (METHODS.md §3) and the likelihood is the closed one on sufficient
statistics (Rasch form, ``hiddenpop.likelihood.closed``). As in the closed family the sampler
works on log m_t = log(lambda_t P*_t), which n_t pins down, and log lambda_t = log m_t - log P*_t
is a shift with unit Jacobian, so the trend prior is a density on log lambda_t placed with a
Potential; that removes the lambda-detection ridge of thin data.

Parameterisation (measured in ``benchmarks/trend.py``): log m_t and the trend coefficients are
centred (pinned by the data); by default the spread of N_t around the trend is integrated
out (the negative binomial), and the random-walk and smooth deviations, where chosen, are
non-centred, as are the detection random walk and the per-period heterogeneity scales
(per-period recaptures are thin; docs/trend_model.md measures the alternatives); each
occasion effect omega_{t,k} is centred where its period-occasion count pins it more tightly
than the occasion spread the data show (:func:`centred_occasions`) and non-centred elsewhere.
The heterogeneity integral uses a trapezoid rule on z in [-6, 8] (tails covered where the
captured units live; more accurate than Gauss-Hermite at the same number of nodes when
sigma_u >= 1.5).

After sampling, N_t = n_t + unseen (``unseen_draws``) and the derived quantities of
METHODS.md §5 are computed per draw (:func:`trend_derived`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import ClassVar

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from hiddenpop.classical import chao_lower_bound
from hiddenpop.constants import OCCASION_DIM, PERIOD_DIM
from hiddenpop.data import CaptureData
from hiddenpop.detection import logit
from hiddenpop.exceptions import ModelSpecError, UnsupportedDataError
from hiddenpop.likelihood.closed import (
    ClosedStatistics,
    Heterogeneity,
    conditional_log_likelihood,
    log_detection_probability,
)
from hiddenpop.likelihood.persistence import persistence_log_likelihood, presence_draws
from hiddenpop.modeling.closed import unseen_draws
from hiddenpop.modeling.families import ModelFamily, register_family
from hiddenpop.modeling.predictive import frequency_check_dataset, thinned_draws
from hiddenpop.modeling.priors import Prior, data_scalar
from hiddenpop.modeling.spec import ModelSpec
from hiddenpop.modeling.trend_quantities import (
    STEP_DIM,
    posterior_warnings,
    prefit_warnings,
    trend_derived,
)

__all__ = ["TrendFamily", "centred_occasions", "trapezoid_normal"]
ABUNDANCE_COVARIATE_DIM = "abundance_covariate"
#: The persistence model's likelihood does not split by period: one term for all.
JOINT_DIM = "likelihood_term"
REPORTING_COVARIATE_DIM = "reporting_covariate"


def trapezoid_normal(n_nodes: int, lower: float = -6.0, upper: float = 8.0):
    """Nodes z_j and log-weights for E[g(Z)], Z ~ N(0, 1), by the trapezoid rule on a grid.

    log w_j = log h + log phi(z_j), with h the grid step; the rule converges geometrically for
    smooth integrands and, unlike Gauss-Hermite, spaces nodes evenly into the upper tail,
    where the integrand e^{m sigma z} / prod_k (1 + e^{tau_k + sigma z}) of rarely detected
    units peaks.
    """
    z = np.linspace(lower, upper, n_nodes)
    log_w = np.log(z[1] - z[0]) - 0.5 * z**2 - 0.5 * np.log(2.0 * np.pi)
    return z, log_w


#: Capture-count columns are kept in blocks of this many (see ``_truncated``).
_FREQUENCY_BLOCK = 8


def _truncated(stats: ClosedStatistics) -> ClosedStatistics:
    """Drop capture counts m above the largest observed: their f_m are 0 in every period.

    At hotline scale (52 occasions, nobody seen more than ~5 times) this cuts the
    quadrature terms log A_m from 52 per period to ~5, which sets the gradient's cost.
    The kept count is rounded up to a multiple of ``_FREQUENCY_BLOCK`` (zero columns add
    nothing), so replicates of one design have one shape and a study compiles once.
    """
    total = np.asarray(stats.frequencies).shape[1]
    seen = np.flatnonzero(np.asarray(stats.frequencies).sum(axis=0) > 0)
    keep = int(seen[-1]) + 1 if seen.size else 1
    keep = min(total, -(-keep // _FREQUENCY_BLOCK) * _FREQUENCY_BLOCK)
    fields = {"frequencies": np.asarray(stats.frequencies)[:, :keep]}
    if stats.first_by_frequency is not None:
        fields["first_by_frequency"] = np.asarray(stats.first_by_frequency)[..., :keep]
    return replace(stats, **fields)


def centred_occasions(data: CaptureData) -> np.ndarray:
    """(T, K) True where an occasion effect omega_{t,k} is sampled centred.

    Centred sampling suits an effect the data pin more tightly than its prior spread: the
    count n_{t,k} gives omega a standard error of about 1 / sqrt(n_{t,k}), and the spread
    sigma_omega is estimated before fitting by moments, from how much log n_{t,k} varies over
    the occasions of a period beyond that sampling noise:
    sigma^2 = mean[(log n_{t,k} - mean_k log n_{t,k})^2 K_t / (K_t - 1) - 1 / n_{t,k}].
    A cell is centred when 1 / sqrt(n_{t,k}) < sigma, i.e. n_{t,k} sigma^2 > 1. With no
    occasion noise in the data nothing is centred (a fixed count rule, n >= 25, centred
    almost every cell of `both` and the centred effects funnelled with sigma_omega near 0:
    BFMI 0.05, ESS 10); on `hotline` (sigma_omega 0.2) the rule gives n > 25, as measured
    for the fixed rule before.
    """
    counts = data.stats["captures"].values.astype(float)
    seen = data.mask & (counts > 0)
    log_n = np.log(np.where(seen, counts, 1.0))
    per_period = seen.sum(axis=1, keepdims=True)
    mean = (log_n * seen).sum(axis=1, keepdims=True) / np.maximum(per_period, 1)
    usable = seen & (per_period >= 2)
    if not usable.any():
        return np.zeros_like(seen)
    inflate = per_period / np.maximum(per_period - 1, 1)
    excess = (log_n - mean) ** 2 * inflate - 1.0 / np.where(seen, counts, 1.0)
    variance = max(float(excess[usable].mean()), 0.0)
    return usable & (counts * variance > 1.0)


def _walk_matrix(n_periods: int, trend: str) -> np.ndarray:
    """Map standard-normal innovations to deviations from the trend line.

    ``random-walk``: W_t = sum_{j<t} z_j (W_1 = 0); ``smooth`` (RW2, a discrete smoothing
    spline): double sums of z. Either with its least-squares line removed, so ``level`` and
    ``slope`` are the trend's own line and the walk carries only its departures from it. A
    walk's linear part and the slope are otherwise the same direction: with the walk only
    centred, a large walk scale let the slope drift along it (robust-trend-rw on `both`,
    seed 1: its one divergence at target_accept 0.99 sat at the detection slope 5.7 sd from
    its mean and the walk scale in its upper tail).
    """
    if trend == "random-walk":
        walk = np.tril(np.ones((n_periods, n_periods - 1)), -1)
    else:
        count = max(n_periods - 2, 0)
        cumulative = np.tril(np.ones((n_periods, n_periods)), 0)
        walk = (cumulative @ cumulative)[:, :count] if count else np.zeros((n_periods, 0))
        walk = np.vstack([np.zeros((2, count)), walk[: n_periods - 2]]) if count else walk
    design = np.column_stack([np.ones(n_periods), np.arange(n_periods)])
    projection = np.eye(n_periods) - design @ np.linalg.pinv(design)
    return projection @ walk


def _log_denominator(data: CaptureData) -> np.ndarray | float:
    """log D_t from a covariate named ``denominator`` (the trend is then on prevalence)."""
    denominator = data.covariates.get("denominator")
    return 0.0 if denominator is None else np.log(np.asarray(denominator, dtype=float))


def _standardised(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    spread = values.std()
    return (values - values.mean()) / (spread if spread > 0 else 1.0)


def _covariate_term(data, names, prior, name: str, dim: str):
    """x beta for the standardised period covariates ``names``; beta ~ ``prior`` named ``name``."""
    effect = prior.create(name, dims=dim)
    x = np.stack([_standardised(data.covariates[n]) for n in names], axis=1)
    return pt.dot(x, effect)


def _detection_draws(stacked: xr.Dataset, structure: dict, data: CaptureData):
    """Occasion logits (S, T, K) and heterogeneity shifts (S, T, J) per stacked draw."""

    def values(name: str) -> np.ndarray:
        return stacked[name].transpose("sample", ...).values

    draws = stacked.sizes["sample"]
    n_periods, n_occ = data.mask.shape
    tau = np.broadcast_to(values("reporting_level")[..., None], (draws, n_periods, n_occ)).copy()
    if structure["occasion_noise"]:
        raw, sd = values("occasion_effect_raw"), values("occasion_sd")[:, None, None]
        tau += np.where(centred_occasions(data), raw, raw * sd)
    if structure["heterogeneity"] != "normal":
        return tau, np.zeros((draws, n_periods, 1))
    if structure["heterogeneity_pooling"] == "partial":
        sd = values("heterogeneity_sd_period")
    else:
        sd = np.repeat(values("heterogeneity_sd")[:, None], n_periods, axis=1)
    nodes, _ = trapezoid_normal(structure["quadrature_nodes"])
    return tau, sd[..., None] * nodes


@register_family
class TrendFamily(ModelFamily):
    """Hierarchical robust-design trend model; ``[structure]`` options and defaults below."""

    name = "trend"
    structure_options: ClassVar[dict] = {
        "abundance": ("negative-binomial", ("poisson", "negative-binomial")),
        "abundance_trend": ("linear", ("linear", "random-walk", "smooth")),
        "detection_trend": ("linear", ("linear", "random-walk")),
        "occasion_noise": (False, bool),
        "heterogeneity": ("normal", ("none", "normal")),
        "heterogeneity_pooling": ("shared", ("shared", "partial")),
        "behaviour": (False, bool),
        "persistence": ("none", ("none", "markov")),
        "quadrature_nodes": (30, int),
        "abundance_covariates": ([], list),
        "reporting_covariates": ([], list),
    }

    def default_priors(self, structure: dict) -> dict[str, Prior]:
        priors = {
            # mean over periods of log(lambda_t / D_t): centred on log Chao's bound / D
            "abundance_level": Prior("Normal", {"mu": "data", "sigma": 2.5}),
            # per-period change of log lambda (the least-squares slope of the trend)
            "abundance_slope": Prior("Normal", {"mu": 0.0, "sigma": 0.5}),
            # mean over periods of the reporting level mu_t (logit of weekly detection)
            "detection_level": Prior("Normal", {"mu": "data", "sigma": 2.5}),
            "detection_slope": Prior("Normal", {"mu": 0.0, "sigma": 0.5}),
        }
        if structure["abundance_trend"] != "linear":
            priors["abundance_sd"] = Prior("HalfNormal", {"sigma": 0.3})
        if structure["detection_trend"] == "random-walk":
            priors["detection_sd"] = Prior("HalfNormal", {"sigma": 0.3})
        if structure["occasion_noise"]:
            priors["occasion_sd"] = Prior("HalfNormal", {"sigma": 0.3})
        if structure["heterogeneity"] == "normal":
            priors["heterogeneity_sd"] = Prior("HalfNormal", {"sigma": 1.0})
            if structure["heterogeneity_pooling"] == "partial":
                priors["heterogeneity_spread"] = Prior("HalfNormal", {"sigma": 0.2})
        if structure["behaviour"]:
            priors["behaviour"] = Prior("Normal", {"mu": 0.0, "sigma": 1.5})
        if structure["abundance"] == "negative-binomial":
            priors["abundance_overdispersion"] = Prior("HalfNormal", {"sigma": 0.5})
        if structure["persistence"] == "markov":
            # expected share of the smaller of two consecutive periods' units present in both
            priors["persistence"] = Prior("Beta", {"alpha": 1.0, "beta": 1.0})
        if structure["abundance_covariates"]:
            priors["abundance_effect"] = Prior("Normal", {"mu": 0.0, "sigma": 0.5})
        if structure["reporting_covariates"]:
            priors["reporting_effect"] = Prior("Normal", {"mu": 0.0, "sigma": 1.0})
        return priors

    def data_centres(self, data: CaptureData) -> dict[str, dict[str, float]]:
        bound = np.maximum(chao_lower_bound(data.frequencies), data.detected)
        bound = np.maximum(bound, 1.0)
        captures = data.stats["captures"].values.sum(axis=1)
        share = np.clip(captures / data.n_occasions / bound, 1e-6, 0.95)
        return {
            "abundance_level": {"mu": float(np.mean(np.log(bound) - _log_denominator(data)))},
            "detection_level": {"mu": float(np.mean(logit(share)))},
        }

    def validate(self, spec: ModelSpec) -> None:
        super().validate(spec)
        structure = self.structure(spec)
        if structure["persistence"] == "none":
            return
        where = spec.origin or spec.name
        if structure["abundance"] != "poisson":
            raise ModelSpecError(
                f"{where}: persistence = 'markov' needs abundance = 'poisson' (units enter and "
                "leave as a Poisson superpopulation); for variation of N_t beyond the trend "
                "use abundance_trend = 'random-walk' or 'smooth'."
            )
        if structure["behaviour"]:
            raise ModelSpecError(
                f"{where}: persistence = 'markov' does not support a behavioural response."
            )

    def check_data(self, spec: ModelSpec, data: CaptureData) -> None:
        if data.kind != "occasion":
            raise UnsupportedDataError(
                f"model {spec.name} needs detection records with occasions (weeks, months) in "
                f"each period; {data.origin} has {data.kind} data. Use a closed model for "
                "frequency tables and mse-loglinear for lists."
            )
        if data.n_periods < 2:
            raise UnsupportedDataError(
                f"model {spec.name} needs at least two periods; {data.origin} has one. "
                "Use Mth for a single period."
            )
        structure = self.structure(spec)
        if structure["persistence"] == "markov" and data.count_histories is None:
            raise UnsupportedDataError(
                f"model {spec.name} (persistence = 'markov') needs units linked across "
                f"periods: detection records with unit ids or a history table spanning the "
                f"periods; {data.origin} has per-period statistics only."
            )
        known = data.covariates
        for option in ("abundance_covariates", "reporting_covariates"):
            missing = [c for c in structure[option] if c not in known]
            if missing:
                raise UnsupportedDataError(
                    f"model {spec.name} uses covariate(s) {', '.join(missing)} ({option}), "
                    f"which the data do not have (known: {', '.join(known) or 'none'}); "
                    "attach them with CaptureData.with_covariates."
                )

    def identifiability(self, spec: ModelSpec, data: CaptureData) -> list[str]:
        return prefit_warnings(self.structure(spec), data)

    def coords(self, spec: ModelSpec, data: CaptureData) -> dict:
        structure = self.structure(spec)
        coords = {
            PERIOD_DIM: data.periods,
            OCCASION_DIM: list(range(data.mask.shape[1])),
            STEP_DIM: data.periods[1:],
        }
        if structure["persistence"] == "markov":
            coords[JOINT_DIM] = ["all periods"]
        if structure["abundance_covariates"]:
            coords[ABUNDANCE_COVARIATE_DIM] = list(structure["abundance_covariates"])
        if structure["reporting_covariates"]:
            coords[REPORTING_COVARIATE_DIM] = list(structure["reporting_covariates"])
        return coords

    # ------------------------------------------------------------------ the graph
    def build(self, spec: ModelSpec, data: CaptureData) -> pm.Model:
        """The PyMC model (pure: builds the graph, never samples)."""
        self.check_data(spec, data)
        structure = self.structure(spec)
        priors = self.priors(spec, data)
        stats = _truncated(ClosedStatistics.from_stats(data.stats))
        n_periods = data.n_periods
        steps = np.arange(n_periods) - (n_periods - 1) / 2.0
        with pm.Model(coords=self.coords(spec, data)) as model:
            shared_sd = None
            if structure["heterogeneity"] == "normal":
                shared_sd = priors["heterogeneity_sd"].create("heterogeneity_sd")
            spread = None
            if structure["abundance"] == "negative-binomial":
                spread = priors["abundance_overdispersion"].create("abundance_overdispersion")
            tau = self._detection(structure, priors, data, steps, shared_sd)
            heterogeneity = self._heterogeneity(structure, priors, n_periods, shared_sd)
            behaviour = priors["behaviour"].create("behaviour") if structure["behaviour"] else None
            log_p_star = log_detection_probability(tau, data.mask, heterogeneity)
            pm.Deterministic("detection_fraction", pt.exp(log_p_star), dims=PERIOD_DIM)
            log_lambda = pm.Deterministic(
                "log_expected_abundance",
                self._abundance(structure, priors, data, steps, log_p_star, spread),
                dims=PERIOD_DIM,
            )
            log_m = pm.Deterministic(
                "log_expected_detected", log_lambda + log_p_star, dims=PERIOD_DIM
            )
            if structure["persistence"] == "markov":
                histories, units = data.count_histories
                joint = persistence_log_likelihood(
                    log_lambda,
                    priors["persistence"].create("persistence"),
                    tau,
                    data.mask,
                    data.stats["captures"].values,
                    heterogeneity,
                    histories,
                    units,
                )
                pm.Potential("likelihood", joint)
                # one joint term (the periods share units): what power-scaling scales
                pm.Deterministic("log_likelihood_period", joint[None], dims=JOINT_DIM)
                return model
            if spread is not None:
                shape = pm.Deterministic("abundance_shape", spread**-2)
                counts = pm.NegativeBinomial.dist(mu=pt.exp(log_m), alpha=shape)
            else:
                counts = pm.Poisson.dist(mu=pt.exp(log_m))
            log_likelihood = pm.logp(counts, data.detected) + conditional_log_likelihood(
                tau, stats, heterogeneity, behaviour
            )
            pm.Potential("likelihood", log_likelihood.sum())
            pm.Deterministic("log_likelihood_period", log_likelihood, dims=PERIOD_DIM)
        return model

    def _detection(self, structure, priors, data: CaptureData, steps, heterogeneity_sd):
        """Occasion logits tau_{t,k} = mu_t + w_t' theta + omega_{t,k}, shape (T, K) or (T, 1).

        With heterogeneity the sampler sees c = a + 1.5 sigma_u^2 instead of the level a: at
        low detection (p_i ~ e^{a + sigma_u z_i}) re-reports pin E[p^2] / E[p] = e^{a + 1.5
        sigma_u^2}, so a and sigma_u trade off along a parabola that c straightens (unit
        Jacobian; the prior stays on a).
        """
        if heterogeneity_sd is None:
            level = priors["detection_level"].create("detection_level")
        else:
            centre = np.asarray(priors["detection_level"].params.get("mu", 0.0), dtype=float)
            pinned = pm.Flat("detection_pinned_level", initval=float(centre.mean()))
            level = pm.Deterministic("detection_level", pinned - 1.5 * heterogeneity_sd**2)
            prior = pm.logp(priors["detection_level"].dist_object(), level)
            pm.Potential("detection_level_prior", prior)
        slope = priors["detection_slope"].create("detection_slope")
        mu = level + slope * steps
        if structure["detection_trend"] == "random-walk":
            sd = priors["detection_sd"].create("detection_sd")
            innovation = pm.Normal("detection_innovation", 0.0, 1.0, dims=STEP_DIM)
            mu = mu + sd * pt.dot(_walk_matrix(len(steps), "random-walk"), innovation)
        names = structure["reporting_covariates"]
        if names:
            mu = mu + _covariate_term(
                data, names, priors["reporting_effect"], "reporting_effect", REPORTING_COVARIATE_DIM
            )
        mu = pm.Deterministic("reporting_level", mu, dims=PERIOD_DIM)
        if not structure["occasion_noise"]:
            return mu[:, None]
        sd = priors["occasion_sd"].create("occasion_sd")
        counts = data.stats["captures"].values
        centred = centred_occasions(data)
        raw = pm.Flat(
            "occasion_effect_raw", dims=(PERIOD_DIM, OCCASION_DIM), initval=np.zeros(counts.shape)
        )
        scale = pt.where(centred, 1.0, sd)
        pm.Potential("occasion_effect_prior", pm.logp(pm.Normal.dist(0.0, sd / scale), raw).sum())
        return mu[:, None] + raw * scale

    def _heterogeneity(self, structure, priors, n_periods: int, sd) -> Heterogeneity | None:
        if sd is None:
            return None
        if structure["heterogeneity_pooling"] == "partial":
            spread = priors["heterogeneity_spread"].create("heterogeneity_spread")
            deviation = pm.Normal("heterogeneity_deviation", 0.0, 1.0, dims=PERIOD_DIM)
            sd = pm.Deterministic(
                "heterogeneity_sd_period", sd * pt.exp(spread * deviation), dims=PERIOD_DIM
            )
        else:
            sd = pt.repeat(sd, n_periods)
        nodes, log_weight = trapezoid_normal(structure["quadrature_nodes"])
        return Heterogeneity(sd[:, None] * nodes, pt.as_tensor_variable(log_weight))

    def _abundance(self, structure, priors, data, steps, log_p_star, spread):
        """log lambda_t = o_t + eta_t, o_t = log D_t + x_t' gamma, with the trend eta_t.

        eta_t = alpha + beta s_t + sd dev_t (dev non-centred: its scale is usually small next
        to what one period's recaptures resolve). The sampler sees the level and slope of
        log m_t = log(lambda_t P*_t), which n_t pins down: with g_t = o_t + log P*_t,

            alpha = level_m - mean_t(g_t),   beta = slope_m - LS-slope_t(g_t),

        a triangular map with unit diagonal (unit Jacobian), so the priors on alpha and beta
        are Potentials. log m_t then varies with detection and heterogeneity only through the
        curvature of log P*_t over t, which removes the lambda-detection-heterogeneity ridge.

        level_m and slope_m are themselves scaled by their expected posterior sd,
        w = sqrt(mean_t(1 / n_t) + s^2) / sqrt(T) (and / sqrt(sum s_t^2) for the slope), with
        s the negative-binomial spread (0 under Poisson): the spread decides how tightly the
        counts pin the line, and without the scaling the pair funnels on s. The Jacobian
        log w_level + log w_slope is added.
        """
        n_periods = data.n_periods
        log_n = np.log(np.maximum(data.detected, 1.0))
        start_slope, start_level = np.polyfit(steps, log_n, 1)
        offset = _log_denominator(data) + pt.zeros(n_periods)
        names = structure["abundance_covariates"]
        if names:
            offset = offset + _covariate_term(
                data, names, priors["abundance_effect"], "abundance_effect", ABUNDANCE_COVARIATE_DIM
            )
        known = offset + log_p_star
        # data-derived scalars as array elements, so a compiled model can take other data
        start_level, start_slope = data_scalar(start_level), data_scalar(start_slope)
        variance = data_scalar(np.mean(1.0 / np.maximum(data.detected, 1.0)))
        width = pt.sqrt(variance + (0.0 if spread is None else spread**2))
        width_level = width / np.sqrt(n_periods)
        width_slope = width / np.sqrt(np.sum(steps**2))
        level_z = pm.Flat("detected_level_z", initval=0.0)
        slope_z = pm.Flat("detected_slope_z", initval=0.0)
        detected_level = pm.Deterministic("detected_level", start_level + width_level * level_z)
        detected_slope = pm.Deterministic("detected_slope", start_slope + width_slope * slope_z)
        pm.Potential("detected_scale_jacobian", pt.log(width_level) + pt.log(width_slope))
        level = pm.Deterministic("abundance_level", detected_level - known.mean())
        slope = pm.Deterministic(
            "abundance_slope", detected_slope - pt.dot(steps, known) / np.sum(steps**2)
        )
        pm.Potential(
            "abundance_level_prior", pm.logp(priors["abundance_level"].dist_object(), level)
        )
        pm.Potential(
            "abundance_slope_prior", pm.logp(priors["abundance_slope"].dist_object(), slope)
        )
        trend = structure["abundance_trend"]
        if trend == "linear":
            return offset + level + slope * steps
        sd = priors["abundance_sd"].create("abundance_sd")
        count = n_periods - 1 if trend == "random-walk" else n_periods - 2
        innovation = pm.Normal("abundance_innovation", 0.0, 1.0, shape=max(count, 0))
        deviation = pt.dot(_walk_matrix(n_periods, trend), innovation)
        return offset + level + slope * steps + sd * deviation

    # ------------------------------------------------------------------ after sampling
    def derive(self, posterior, spec, data, rng) -> xr.Dataset:
        structure = self.structure(spec)
        p_star = posterior["detection_fraction"]
        expected = np.exp(posterior["log_expected_abundance"])
        if structure["persistence"] == "markov":
            counts = self._persistent_abundance(posterior, structure, data, rng)
        else:
            shape = None
            if structure["abundance"] == "negative-binomial":
                shape = posterior["abundance_shape"].values[..., None]
            unseen = unseen_draws(rng, expected.values, 1.0 - p_star.values, data.detected, shape)
            counts = data.detected + unseen
        abundance = xr.DataArray(counts, dims=p_star.dims, coords=p_star.coords)
        derived = trend_derived(abundance, p_star, data.detected)
        derived["N"] = abundance
        derived["expected_abundance"] = expected
        rate = np.expm1(posterior["abundance_slope"])
        rate.attrs = {"summary_block": "trend", "summary_prob_positive": 1}  # netCDF: no bools
        derived["abundance_growth_rate"] = rate
        return derived

    def posterior_warnings(self, posterior, spec, data) -> list[str]:
        return posterior_warnings(posterior, self.structure(spec), data)

    def _persistent_abundance(self, posterior, structure, data, rng) -> np.ndarray:
        """N_t per draw (chain, draw, T) from the presence draws of the persistence model."""
        stacked = posterior.stack(sample=("chain", "draw"))
        tau, shift = _detection_draws(stacked, structure, data)
        log_weight = np.zeros(1)
        if structure["heterogeneity"] == "normal":
            _, log_weight = trapezoid_normal(structure["quadrature_nodes"])
        histories, units = data.count_histories
        counts = presence_draws(
            rng,
            stacked["log_expected_abundance"].transpose("sample", ...).values,
            stacked["persistence"].values,
            tau,
            data.mask,
            shift,
            log_weight,
            histories,
            units,
        )
        return counts.reshape(posterior.sizes["chain"], posterior.sizes["draw"], -1)

    def predict_statistics(self, posterior, spec, data, rng, max_draws: int = 200) -> xr.Dataset:
        """Replicated capture frequencies f_m (given n_t) for a thinned set of draws, and the
        Freeman-Tukey posterior predictive p-value per period (``attrs["ppc_p_value"]``)."""
        structure = self.structure(spec)
        stacked = thinned_draws(posterior, max_draws)
        tau, shift = _detection_draws(stacked, structure, data)
        if structure["heterogeneity"] == "normal":
            _, log_w = trapezoid_normal(structure["quadrature_nodes"])
            log_weight = np.broadcast_to(log_w, shift.shape)
        else:
            log_weight = np.zeros_like(shift)
        behaviour = None
        if structure["behaviour"]:
            behaviour = stacked["behaviour"].values
            behaviour = np.repeat(behaviour[:, None], data.n_periods, axis=1)
        return frequency_check_dataset(tau, shift, log_weight, behaviour, data, rng)
