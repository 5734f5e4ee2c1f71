"""``mse-lcmcr``: LCMCR's latent-class model as published, sampled by its Gibbs sampler.

Manrique-Vallier (2016), the R package LCMCR: one period, L lists, C classes (truncation K*)::

    P(h) = sum_c pi_c prod_l q[c, l]^h_l (1 - q[c, l])^(1 - h_l),
    q[c, l] ~ Beta(1, 1),  pi = stick-breaking(v),  v_c ~ Beta(1, a),  a ~ Gamma(0.25, 0.25),
    p(N) ~ 1 / N.

The prior on N is written as N ~ Poisson(lambda) with p(lambda) ~ 1 / lambda (flat on
log lambda; the ``abundance`` prior ``Flat``), whose Poisson mixture is exactly 1 / N; a
proper Gamma(alpha, beta) on lambda may replace it (simulation-based calibration needs one).

Where ``mse-latent-class`` differs: it puts a logit-normal prior on q through class levels and
zero-sum list profiles, makes the stick-breaking prior exchangeable, shares the model across
periods with reporting trends, and is sampled by NUTS. Here the priors are LCMCR's, so its
numbers can be set beside LCMCR's, and the sampler is LCMCR's data-augmented Gibbs sampler
(``hiddenpop.inference.gibbs``), run as a PyMC step method on the same graph: the PyMC model
carries the likelihood (the list families' marginal one, N integrated out) and the
deterministics, so NUTS can sample it too (``sampler="pymc"`` or ``"nutpie"``), which the test
suite uses to check one sampler against the other. Gibbs follows classes nobody is in, whose
weights fall below floating-point range under this concentration prior; NUTS cannot.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.step_methods.arraystep import BlockedStep

from hiddenpop.constants import PERIOD_DIM, SOURCE_DIM
from hiddenpop.data import CaptureData
from hiddenpop.exceptions import ModelSpecError, UnsupportedDataError
from hiddenpop.inference.gibbs import LatentClassState, gibbs_sweep, log_seen_probability
from hiddenpop.likelihood.lists import latent_class_log_weights
from hiddenpop.modeling.families import register_family
from hiddenpop.modeling.mse import BREAK_DIM, CLASS_DIM, _ClassFamily, relabel_by_weight
from hiddenpop.modeling.priors import Prior
from hiddenpop.modeling.spec import ModelSpec

__all__ = ["LcmcrFamily", "LcmcrGibbs"]

#: Most classes allowed (the Gibbs sweep is O(2^L C); LCMCR's examples use 10 to 50).
MAX_GIBBS_CLASSES = 50

_WEIGHT_NAMES = ("class_weight", "class_list_probability")


@register_family
class LcmcrFamily(_ClassFamily):
    """LCMCR (Manrique-Vallier 2016) with its priors and Gibbs sampler; ``classes`` = K*."""

    name = "mse-lcmcr"
    structure_options: ClassVar[dict] = {"classes": (5, int)}
    label_dependent = ("class_break_logit", "class_break")
    #: fit()'s "auto" sampler for this family
    default_sampler = "gibbs"

    def default_priors(self, structure: dict) -> dict[str, Prior]:
        return {
            # on lambda; Flat = p(lambda) ~ 1 / lambda, i.e. LCMCR's p(N) ~ 1 / N
            "abundance": Prior("Flat", {}),
            "list_probability": Prior("Beta", {"alpha": 1.0, "beta": 1.0}),
            "class_concentration": Prior("Gamma", {"alpha": 0.25, "beta": 0.25}),
        }

    def validate(self, spec: ModelSpec) -> None:
        super().validate(spec)
        where = spec.origin or spec.name
        allowed = {"abundance": ("Flat", "Gamma"), "list_probability": ("Beta",)}
        allowed["class_concentration"] = ("Gamma",)
        for key, dists in allowed.items():
            prior = spec.priors.get(key)
            if prior is not None and prior.dist not in dists:
                raise ModelSpecError(
                    f"{where}: prior {key} of {self.name} must be {' or '.join(dists)} (the "
                    f"Gibbs sampler draws from its conjugate conditional), got {prior.dist}."
                )
        classes = self.structure(spec)["classes"]
        if not 2 <= classes <= MAX_GIBBS_CLASSES:
            raise ModelSpecError(
                f"{where}: classes must be between 2 and {MAX_GIBBS_CLASSES}, got {classes}."
            )

    def check_data(self, spec: ModelSpec, data: CaptureData) -> None:
        super().check_data(spec, data)
        if data.n_periods > 1:
            raise UnsupportedDataError(
                f"model {spec.name} is LCMCR's one-period model, but {data.origin} has "
                f"{data.n_periods} periods; fit one period at a time, or use mse-latent-class "
                "(the classes shared across periods, with reporting trends)."
            )

    def build(self, spec: ModelSpec, data: CaptureData) -> pm.Model:
        """The PyMC model (pure: builds the graph, never samples)."""
        self.check_data(spec, data)
        priors = self.priors(spec, data)
        with pm.Model(coords=self.coords(spec, data)) as model:
            log_m = self._log_m(data)
            concentration = priors["class_concentration"].create("class_concentration")
            # v_c ~ Beta(1, a) on its log-odds z, written on the log scale:
            # log p(z) = log a + log v + a log(1 - v), exact however close v is to 1 (the
            # Gibbs sampler reaches 1 - v = 1e-300 and beyond when a is small)
            z = pm.Flat("class_break_logit", dims=BREAK_DIM)
            log_v, log_not_v = _log_expit(z), _log_expit(-z)
            log_prior = pt.log(concentration) + log_v + concentration * log_not_v
            pm.Potential("class_break_prior", log_prior.sum())
            pm.Deterministic("class_break", pt.exp(log_v), dims=BREAK_DIM)
            log_rest = pt.concatenate([pt.zeros(1), pt.cumsum(log_not_v)])
            log_pi = log_rest + pt.concatenate([log_v, pt.zeros(1)])
            pm.Deterministic("class_weight", pt.exp(log_pi), dims=CLASS_DIM)
            q = priors["list_probability"].create(
                "class_list_probability", dims=(CLASS_DIM, SOURCE_DIM)
            )
            logit_q = (pt.log(q) - pt.log1p(-q))[None, :, :]
            log_w, log_w0 = latent_class_log_weights(
                log_pi, logit_q, data.stats["inclusion"].values, data.mask
            )
            log_p_star = self._likelihood(data, log_m, log_w, log_w0)
            log_lambda = pm.Deterministic(
                "log_expected_abundance", log_m - log_p_star, dims=PERIOD_DIM
            )
            # density of log lambda under Gamma(a0, b0) on lambda (Flat: a0 = b0 = 0)
            a0, b0 = _abundance_gamma(priors["abundance"])
            pm.Potential("abundance_prior", (a0 * log_lambda - b0 * pt.exp(log_lambda)).sum())
        return model

    def derive(self, posterior, spec, data, rng):
        """As for every list model, and the classes relabelled by decreasing weight."""
        derived = super().derive(posterior, spec, data, rng)
        return derived.merge(relabel_by_weight(posterior, _WEIGHT_NAMES))

    def initial_values(self, spec: ModelSpec, data: CaptureData, chains: int, rng) -> list[dict]:
        """Starting points of the Gibbs chains: list probabilities drawn uniformly per chain.

        From the model's default start (every q = 1/2) all classes are alike and the first
        sweeps cannot tell them apart; dispersed starts also let R-hat see a chain that
        settles in another mode (UK 5-list: a mode near N = 7,000 beside the main one near
        22,000, which one chain took 10,000 sweeps to leave).
        """
        classes = self.structure(spec)["classes"]
        shape = (classes, int(data.stats.sizes[SOURCE_DIM]))
        return [
            {"class_list_probability": rng.uniform(0.05, 0.95, size=shape)} for _ in range(chains)
        ]

    def gibbs_step(self, model: pm.Model, spec: ModelSpec, data: CaptureData, thin: int):
        """LCMCR's Gibbs sampler as a PyMC step method over every variable of ``model``."""
        priors = self.priors(spec, data)
        a0, b0 = _abundance_gamma(priors["abundance"])
        lists, concentration = priors["list_probability"].params, priors["class_concentration"]
        settings = {
            "abundance_alpha": a0,
            "abundance_beta": b0,
            "list_alpha": float(lists["alpha"]),
            "list_beta": float(lists["beta"]),
            "concentration_alpha": float(concentration.params["alpha"]),
            "concentration_beta": float(concentration.params["beta"]),
        }
        inclusion = data.stats["inclusion"].values.astype(float)
        counts = data.stats["pattern_counts"].values[0]
        with model:
            return LcmcrGibbs(
                model.value_vars, counts=counts, inclusion=inclusion, priors=settings, thin=thin
            )


def _log_expit(x):
    """log(1 / (1 + exp(-x))), stable in both tails."""
    return -pt.softplus(-x)


def _abundance_gamma(prior: Prior) -> tuple[float, float]:
    if prior.dist == "Flat":
        return 0.0, 0.0
    return float(prior.params["alpha"]), float(prior.params["beta"])


class LcmcrGibbs(BlockedStep):
    """PyMC step method: ``thin`` sweeps of :func:`~hiddenpop.inference.gibbs.gibbs_sweep` per
    draw, reading and writing the model's value variables (log-odds and log scales)."""

    name = "lcmcr_gibbs"
    stats_dtypes_shapes: ClassVar[dict] = {"unseen": (np.int64, [])}

    def __init__(
        self, value_vars, *, counts, inclusion, priors, thin=10, model=None, blocked=True, rng=None
    ):
        self.vars = value_vars
        self.counts = np.asarray(counts, dtype=np.int64)
        self.inclusion = np.asarray(inclusion, dtype=float)
        self.priors = priors
        self.thin = int(thin)
        self.rng = np.random.default_rng(rng)

    def step(self, point):
        # lambda is not an input of the sweep (LatentClassState)
        state = LatentClassState(log_lambda=np.nan, **_state_of(point))
        for _ in range(self.thin):
            state, unseen = gibbs_sweep(state, self.counts, self.inclusion, self.priors, self.rng)
        new = dict(point)
        new["log_expected_detected"] = np.array(
            [state.log_lambda + log_seen_probability(state, self.inclusion)]
        )
        new["class_concentration_log__"] = np.array(state.log_concentration)
        new["class_break_logit"] = state.break_logodds
        new["class_list_probability_logodds__"] = state.list_logodds
        return new, [{"unseen": unseen}]

    @staticmethod
    def competence(var, has_grad):
        return 0  # never chosen automatically


def _state_of(point) -> dict:
    return {
        "log_concentration": float(point["class_concentration_log__"]),
        "break_logodds": np.asarray(point["class_break_logit"], dtype=float),
        "list_logodds": np.asarray(point["class_list_probability_logodds__"], dtype=float),
    }
