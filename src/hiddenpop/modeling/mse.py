"""Multiple-systems estimation: log-linear and latent-class models of list overlaps (§6).

Both families work on the inclusion-pattern counts n[t, h] (``hiddenpop.likelihood.lists``)
with N_t ~ Poisson(lambda_t) marginalised (METHODS.md §3). As in the closed family the
sampler works on log m_t = log(lambda_t P*_t), which n_t pins down, and
log lambda_t = log m_t - log P*_t (unit Jacobian), so the likelihood is
Poisson(n_t | m_t) x multinomial(n[t, .] | n_t, P_t(h) / P*_t).

``mse-loglinear``::

    log mu[t, h] = log lambda_t + sum_l h_l alpha[t, l] + sum_S gamma[t, S] prod_{l in S} h_l
    log mu[t, 0] = log lambda_t - log(1 + sum_h exp(...))   (the unseen cell)

with interactions S of order 2..min(max_order, L - 1) (the L-way term is not identifiable and
is fixed at 0) or an explicit list from the model file. gamma_S has a regularised horseshoe
prior (Piironen & Vehtari 2017) instead of stepwise selection::

    gamma_S = z_S tau lt_S,  lt_S^2 = c^2 l_S^2 / (c^2 + tau^2 l_S^2),  z_S ~ N(0, 1),
    l_S ~ HalfCauchy(1),  tau ~ HalfCauchy(s_tau),  1 / c^2 ~ Gamma(nu / 2, nu s^2 / 2).

``mse-latent-class`` (Manrique-Vallier 2016)::

    P_t(h) = sum_c pi_c prod_l q[t,c,l]^h_l (1 - q[t,c,l])^(1 - h_l)
    logit q[t, c, l] = kappa_c + phi[c, l] (+ b_l x_t),  sum_l phi[c, l] = 0,
    pi = stick-breaking(v),  v_c ~ Beta(1, a),  a ~ Gamma(0.25, 0.25),  C = K* classes.

Label switching. The likelihood is invariant to relabelling the classes, so the posterior has
C! copies of every mode. LCMCR's Gibbs sampler relabels freely and reports only N. Here the
prior is made exchangeable and the labels are left free: stick-breaking is not exchangeable
(its first weight is the largest a priori), so the weights get the stick-breaking density
averaged over the C! orders of the classes,

    p(pi) = (1 / C!) sum_sigma SB(pi_sigma(1), ..., pi_sigma(C)),

(``_exchangeable_stick_breaking``): LCMCR's prior with the class labels forgotten. Every
relabelling of a mode is then an exact copy of it, so a chain that settles in one labelling,
or moves between them, samples N, P* and every other label-free quantity correctly. After
sampling the classes of each draw are relabelled by decreasing weight (``relabel_by_weight``:
``class_weight``, ``class_level``, ``class_profile``), which identifies them wherever the
weights differ; the sampled breaks, whose labels mean nothing, are left out of the
convergence diagnostics. A first version instead ordered the class levels (as Mh-mixture
orders its support) next to weights in stick order: not a relabelling under a
non-exchangeable prior (a priori the least detectable class held 73% of the population with
C = 5 and the Gamma(0.25, 0.25) concentration, against 1 / C = 0.2 for LCMCR), and, with the
symmetrised prior, nearly empty classes whose levels could not pass an occupied class's
level trapped the chains: on a simulated two-class table (5 lists) the class parameters had
R-hat 1.3 and N bulk ESS 121, against R-hat <= 1.02 after relabelling and ESS 405 unordered.

Multi-period (T > 1): each list's effect has its own reporting trend,
alpha[t, l] = a_l + b_l x_t + s_alpha e[t, l] (x_t = t - (T - 1) / 2, e ~ N(0, 1),
non-centred), interactions are partially pooled, gamma[t, S] = gamma_S + s_gamma e'[t, S], and
log lambda_t ~ N(level + slope x_t, s_N) with the level and slope integrated out
(``_line_marginal_logp``; they are drawn exactly after sampling, ``_line_draws``). The spreads
s_alpha, s_N get boundary-avoiding Gamma(2, 10) priors (mode 0.1). Measured on
``list-dependence`` (5 periods, 4 lists, seeds 3 and 5, 4 x 1,000 draws): with centred
alpha, the level and slope sampled, and half-Cauchy local scales the fits had 31-46
divergences at target_accept 0.9 and 22 at 0.99; the spreads' funnels (divergences at small
s_alpha, s_N) went with the non-centred alpha and the integrated line, the horseshoe's with
half-t(3) local scales and target_accept 0.99 (the model file's ``[sampler]`` default):
0 divergences on both seeds.
``source_detection[t, l]`` = Pr(a present unit is on list l), and ``source_growth`` its ratio
to the first period: which list's reporting grew.
"""

from __future__ import annotations

import itertools
from typing import ClassVar

import numpy as np
import pymc as pm
import pytensor.tensor as pt
import xarray as xr

from hiddenpop.classical import chao_lower_bound
from hiddenpop.constants import PERIOD_DIM, SOURCE_DIM
from hiddenpop.data import CaptureData
from hiddenpop.detection import logit
from hiddenpop.exceptions import ModelSpecError, TooFewSourcesError, UnsupportedDataError
from hiddenpop.likelihood.lists import (
    conditional_log_likelihood,
    interaction_design,
    interaction_terms,
    latent_class_log_weights,
    log_pattern_probabilities,
    loglinear_log_weights,
    pattern_mask,
    source_detection_probability,
)
from hiddenpop.likelihood.lists_mle import loglinear_design, mle_exists, period_table
from hiddenpop.modeling.closed import unseen_draws
from hiddenpop.modeling.families import ModelFamily, register_family
from hiddenpop.modeling.priors import Prior
from hiddenpop.modeling.spec import ModelSpec

__all__ = ["LatentClassFamily", "LoglinearFamily"]

INTERACTION_DIM = "interaction_term"
CLASS_DIM = "latent_class"
BREAK_DIM = "latent_class_break"
#: Most latent classes: the exchangeable stick-breaking prior sums over classes! orders.
MAX_CLASSES = 7
#: Lists present in the first and the last period (growth by source).
GROWTH_SOURCE_DIM = "growth_source"

_TREND_OPTIONS = {
    "abundance_trend": ("linear", ("linear", "independent")),
    "source_trend": ("linear", ("linear", "independent")),
}


def _trend_priors() -> dict[str, Prior]:
    return {
        # log lambda (one period) or its level at the middle period (several)
        "abundance": Prior("Normal", {"mu": "data", "sigma": 2.5}),
        "abundance_trend": Prior("Normal", {"mu": 0.0, "sigma": 0.5}),
        # sd of log lambda_t around the trend; boundary-avoiding (Chung et al. 2013): log
        # lambda_t is pinned by the data, and with few periods a prior with mass at 0 makes
        # a funnel in the centred parameterisation
        "abundance_sd": Prior("Gamma", {"alpha": 2.0, "beta": 10.0}),
        "source_trend": Prior("Normal", {"mu": 0.0, "sigma": 0.5}),
    }


class _ListFamily(ModelFamily):
    """What both list families share: data checks, centres, abundance, derived N."""

    def data_centres(self, data: CaptureData) -> dict[str, dict[str, np.ndarray]]:
        bound = np.maximum(chao_lower_bound(data.frequencies), data.detected)
        bound = np.maximum(bound, 1.0)
        share = np.clip(data.stats["captures"].values / bound[:, None], 1e-4, 0.95)
        centre = np.where(data.mask, logit(share), np.nan)
        return {
            "abundance": {"mu": np.log(bound) if data.n_periods == 1 else np.log(bound).mean()},
            "detection": {"mu": np.nanmean(centre)},
        }

    def check_data(self, spec: ModelSpec, data: CaptureData) -> None:
        if data.kind != "source":
            raise UnsupportedDataError(
                f"model {spec.name} needs list data (--source, or a history table of lists), "
                f"but {data.origin} holds {data.kind} data; use a closed or trend model."
            )
        for t, period in enumerate(data.periods):
            present = int(data.mask[t].sum())
            if present < 2:
                raise TooFewSourcesError(
                    f"period {period}: {present} list(s) present; multiple-systems estimation "
                    "needs at least two."
                )
            if data.frequencies[t, 1:].sum() == 0:
                raise UnsupportedDataError(
                    f"period {period}: no unit is on more than one list, so the lists carry no "
                    "information on the number never listed; N is not identifiable."
                )

    def _source_checks(self, data: CaptureData) -> list[str]:
        messages = []
        captures = data.stats["captures"].values
        only = _single_list_counts(data)
        for t, period in enumerate(data.periods):
            for l, label in enumerate(data.stats[SOURCE_DIM].values):
                if not data.mask[t, l]:
                    continue
                if captures[t, l] == 0:
                    messages.append(
                        f"period {period}: list {label} has no records; its reach there is "
                        "set by the prior alone."
                    )
                elif only[t, l] == captures[t, l]:
                    messages.append(
                        f"period {period}: list {label} overlaps no other list, so its reach "
                        "cannot be estimated from the data (the MLE puts it at 0 and N at "
                        "infinity); its estimate comes from the prior."
                    )
        return messages

    def _abundance(self, log_m, log_p_star, priors, structure, n_periods: int):
        """log lambda_t = log m_t - log P*_t and its prior (a Potential on a shift)."""
        log_lambda = pm.Deterministic("log_expected_abundance", log_m - log_p_star, dims=PERIOD_DIM)
        if n_periods > 1 and structure["abundance_trend"] == "linear":
            x = _period_steps(n_periods)
            spread = priors["abundance_sd"].create("abundance_sd")
            if _integrates_line(structure, priors, n_periods):
                log_prior = _line_marginal_logp(log_lambda, priors, x, spread)
            else:
                level = priors["abundance"].create("abundance_level")
                slope = priors["abundance_trend"].create("abundance_trend")
                prior = pm.Normal.dist(mu=level + slope * x, sigma=spread)
                log_prior = pm.logp(prior, log_lambda)
        else:
            log_prior = pm.logp(priors["abundance"].dist_object(), log_lambda)
        pm.Potential("abundance_prior", log_prior)
        return log_lambda

    def _likelihood(self, data: CaptureData, log_m, log_w, log_w0):
        """Deterministics P*_t, Pr(on list l), and the likelihood Potential; returns log P*."""
        stats = data.stats
        inclusion = stats["inclusion"].values
        possible = pattern_mask(inclusion, data.mask)
        log_p, _, log_p_star = log_pattern_probabilities(log_w, log_w0, possible)
        pm.Deterministic("detection_fraction", pt.exp(log_p_star), dims=PERIOD_DIM)
        pm.Deterministic(
            "source_detection",
            source_detection_probability(log_p, inclusion, possible),
            dims=(PERIOD_DIM, SOURCE_DIM),
        )
        counts = stats["pattern_counts"].values
        log_likelihood = pm.logp(pm.Poisson.dist(mu=pt.exp(log_m)), data.detected)
        log_likelihood = log_likelihood + conditional_log_likelihood(log_w, counts, possible)
        pm.Potential("likelihood", log_likelihood.sum())
        pm.Deterministic("log_likelihood_period", log_likelihood, dims=PERIOD_DIM)
        return log_p_star

    def _log_m(self, data: CaptureData):
        return pm.Flat(
            "log_expected_detected",
            dims=PERIOD_DIM,
            initval=np.log(np.maximum(data.detected, 1)).astype(float),
        )

    def derive(self, posterior, spec, data, rng) -> xr.Dataset:
        p_star = posterior["detection_fraction"]
        expected = np.exp(posterior["log_expected_abundance"])
        unseen = unseen_draws(rng, expected.values, 1.0 - p_star.values, data.detected)
        derived = {"N": (p_star.dims, data.detected + unseen), "expected_abundance": expected}
        priors = self.priors(spec, data)
        if _integrates_line(self.structure(spec), priors, data.n_periods):
            derived |= _line_draws(posterior, priors, rng)
        reach = posterior["source_detection"]
        first = reach.isel({PERIOD_DIM: 0})
        derived["source_growth"] = (reach / first).where(data.stats["source_mask"])
        both = data.mask[0] & data.mask[-1]
        if data.n_periods > 1 and both.any():
            # Pr(on list l) last / first period, for the lists present in both: which list's
            # reporting grew (a summary block, in source order, of FitResult.summary())
            growth = (reach.isel({PERIOD_DIM: -1}) / first).isel({SOURCE_DIM: both})
            growth = growth.rename({SOURCE_DIM: GROWTH_SOURCE_DIM})
            growth.attrs["summary_block"] = "growth_by_source"
            derived["reporting_growth_by_source"] = growth
        return xr.Dataset(derived)


@register_family
class LoglinearFamily(_ListFamily):
    """Poisson log-linear MSE with shrunken interactions; ``[structure]`` options below.

    ``max_order``: highest interaction order (capped at L - 1); ``interactions``: explicit
    terms (lists of list labels), replacing the ``max_order`` set; ``shrinkage``:
    ``"horseshoe"`` or ``"normal"`` (gamma_S ~ the ``interaction`` prior);
    ``interaction_pooling``: ``"partial"`` or ``"full"`` across periods.
    """

    name = "mse-loglinear"
    structure_options: ClassVar[dict] = {
        "max_order": (2, int),
        "interactions": (None, list),
        "shrinkage": ("horseshoe", ("horseshoe", "normal")),
        "interaction_pooling": ("partial", ("partial", "full")),
        **_TREND_OPTIONS,
    }

    def default_priors(self, structure: dict) -> dict[str, Prior]:
        priors = {
            **_trend_priors(),
            # alpha: log odds of being on list l only vs on none (= logit q_l if independent)
            "detection": Prior("Normal", {"mu": "data", "sigma": 2.5}),
            # sd of alpha[t, l] around its list's trend (boundary-avoiding, as abundance_sd)
            "source_sd": Prior("Gamma", {"alpha": 2.0, "beta": 10.0}),
            "interaction_sd": Prior("HalfNormal", {"sigma": 0.3}),
        }
        if structure["shrinkage"] == "horseshoe":
            priors["interaction_global_scale"] = Prior("HalfStudentT", {"nu": 1, "sigma": 0.5})
            # half-t(3) local scales rather than the half-Cauchy: with the Cauchy's tails 14-17
            # of 4,000 transitions diverged on list-dependence even at target_accept 0.99
            # (0 with half-t(3)); shrinkage of the null terms is much the same
            priors["interaction_local_scale"] = Prior("HalfStudentT", {"nu": 3, "sigma": 1.0})
            # 1 / c^2 ~ Gamma(nu/2, nu s^2/2), nu = 4, s = 2: no interaction far beyond +-4
            priors["interaction_slab_precision"] = Prior("Gamma", {"alpha": 2.0, "beta": 8.0})
        else:
            priors["interaction"] = Prior("Normal", {"mu": 0.0, "sigma": 1.0})
        return priors

    def terms(self, spec: ModelSpec, data: CaptureData) -> list[tuple[int, ...]]:
        """Interaction terms as tuples of source indices (validated against the data)."""
        structure = self.structure(spec)
        labels = [str(s) for s in data.stats[SOURCE_DIM].values]
        if structure["interactions"] is None:
            return interaction_terms(len(labels), structure["max_order"])
        terms = []
        for term in structure["interactions"]:
            names = [str(x) for x in term] if isinstance(term, list) else []
            unknown = [x for x in names if x not in labels]
            if not names or unknown or len(set(names)) != len(names):
                raise ModelSpecError(
                    f"{spec.origin or spec.name}: interaction {term!r} must be a list of "
                    f"distinct list labels from {', '.join(labels)}."
                )
            if not 2 <= len(names) <= len(labels) - 1:
                raise ModelSpecError(
                    f"{spec.origin or spec.name}: interaction {term!r} has order {len(names)}; "
                    f"allowed 2 to {len(labels) - 1} (the {len(labels)}-way term is not "
                    "identifiable and is fixed at 0)."
                )
            terms.append(tuple(sorted(labels.index(x) for x in names)))
        return sorted(set(terms), key=lambda s: (len(s), s))

    def check_data(self, spec: ModelSpec, data: CaptureData) -> None:
        super().check_data(spec, data)
        self.terms(spec, data)

    def identifiability(self, spec: ModelSpec, data: CaptureData) -> list[str]:
        self.check_data(spec, data)
        messages = self._source_checks(data)
        labels = [str(s) for s in data.stats[SOURCE_DIM].values]
        terms = self.terms(spec, data)
        for t, period in enumerate(data.periods):
            present_labels, inclusion, counts = period_table(data, t)
            local = [
                tuple(present_labels.index(labels[i]) for i in term)
                for term in terms
                if all(labels[i] in present_labels for i in term)
            ]
            design = interaction_design(inclusion, local)
            for j, term in enumerate(local):
                if counts[design[:, j] > 0].sum() == 0:
                    messages.append(
                        f"period {period}: no unit is on all of "
                        f"{', '.join(present_labels[i] for i in term)}, so that interaction "
                        "has no finite MLE (it is minus infinity); the shrinkage prior sets it."
                    )
            if not mle_exists(counts, loglinear_design(inclusion, local)):
                messages.append(
                    f"period {period}: the maximum-likelihood estimate of this log-linear model "
                    "does not exist for these counts (sufficient statistics on the boundary, "
                    "as SparseMSE checks); N leans on the priors of the interactions."
                )
        return messages

    def coords(self, spec: ModelSpec, data: CaptureData) -> dict:
        labels = [str(s) for s in data.stats[SOURCE_DIM].values]
        return {
            PERIOD_DIM: data.periods,
            SOURCE_DIM: labels,
            INTERACTION_DIM: [":".join(labels[i] for i in s) for s in self.terms(spec, data)],
        }

    def build(self, spec: ModelSpec, data: CaptureData) -> pm.Model:
        """The PyMC model (pure: builds the graph, never samples)."""
        self.check_data(spec, data)
        structure = self.structure(spec)
        priors = self.priors(spec, data)
        n_periods = data.n_periods
        terms = self.terms(spec, data)
        design = interaction_design(data.stats["inclusion"].values, terms)
        with pm.Model(coords=self.coords(spec, data)) as model:
            log_m = self._log_m(data)
            alpha = self._main_effects(data, priors, structure)
            gamma = self._interactions(len(terms), priors, structure, n_periods)
            log_w, log_w0 = loglinear_log_weights(
                alpha, gamma, data.stats["inclusion"].values, design
            )
            log_p_star = self._likelihood(data, log_m, log_w, log_w0)
            self._abundance(log_m, log_p_star, priors, structure, n_periods)
        return model

    def _main_effects(self, data, priors, structure):
        centre = np.asarray(priors["detection"].params["mu"], dtype=float)
        init = np.broadcast_to(centre, data.mask.shape).copy()
        dims = (PERIOD_DIM, SOURCE_DIM)
        if data.n_periods == 1 or structure["source_trend"] == "independent":
            return priors["detection"].create("source_effect", dims=dims, initval=init)
        level = priors["detection"].create("source_level", dims=SOURCE_DIM, initval=init[0])
        slope = priors["source_trend"].create("source_trend", dims=SOURCE_DIM)
        spread = priors["source_sd"].create("source_sd")
        mean = level[None, :] + slope[None, :] * _period_steps(data.n_periods)[:, None]
        raw = pm.Normal("source_effect_raw", 0.0, 1.0, dims=dims)
        return pm.Deterministic("source_effect", mean + spread * raw, dims=dims)

    def _interactions(self, n_terms, priors, structure, n_periods):
        if n_terms == 0:
            return np.zeros((n_periods, 0))
        if structure["shrinkage"] == "horseshoe":
            tau = priors["interaction_global_scale"].create("interaction_global_scale")
            local = priors["interaction_local_scale"].create(
                "interaction_local_scale", dims=INTERACTION_DIM
            )
            slab = 1.0 / priors["interaction_slab_precision"].create("interaction_slab_precision")
            scale = pt.sqrt(slab * local**2 / (slab + tau**2 * local**2))
            z = pm.Normal("interaction_raw", 0.0, 1.0, dims=INTERACTION_DIM)
            gamma = pm.Deterministic("interaction", z * tau * scale, dims=INTERACTION_DIM)
        else:
            gamma = priors["interaction"].create("interaction", dims=INTERACTION_DIM)
        if n_periods == 1 or structure["interaction_pooling"] == "full":
            return gamma[None, :]
        spread = priors["interaction_sd"].create("interaction_sd")
        # per-period departures are weakly pinned: non-centred
        raw = pm.Normal("interaction_period_raw", 0.0, 1.0, dims=(PERIOD_DIM, INTERACTION_DIM))
        return pm.Deterministic(
            "interaction_period", gamma[None, :] + spread * raw, dims=(PERIOD_DIM, INTERACTION_DIM)
        )


class _ClassFamily(_ListFamily):
    """What the latent-class families share: the pre-fit check and the class coordinates."""

    def identifiability(self, spec: ModelSpec, data: CaptureData) -> list[str]:
        self.check_data(spec, data)
        messages = self._source_checks(data)
        for t, period in enumerate(data.periods):
            if data.mask[t].sum() < 3:
                messages.append(
                    f"period {period}: a latent-class model needs at least three lists to say "
                    "anything beyond independence; with fewer, classes are set by the prior."
                )
        return messages

    def coords(self, spec: ModelSpec, data: CaptureData) -> dict:
        classes = self.structure(spec)["classes"]
        return {
            PERIOD_DIM: data.periods,
            SOURCE_DIM: [str(s) for s in data.stats[SOURCE_DIM].values],
            CLASS_DIM: list(range(classes)),
            BREAK_DIM: list(range(classes - 1)),
        }


@register_family
class LatentClassFamily(_ClassFamily):
    """Latent-class MSE (LCMCR form) with classes marginalised; ``classes`` = K* truncation."""

    name = "mse-latent-class"
    structure_options: ClassVar[dict] = {"classes": (5, int), **_TREND_OPTIONS}
    label_dependent = ("class_break",)

    def default_priors(self, structure: dict) -> dict[str, Prior]:
        return {
            **_trend_priors(),
            # kappa_c: mean logit of being on a list, per class. Normal(0, 1.8) has
            # the sd of the logistic, i.e. of LCMCR's uniform prior on q; a prior centred on
            # the observed share with sd 2.5 put more mass on nearly invisible classes and
            # gave diabetes_italy a 90% interval of 2,415-11,578 instead of 2,363-5,009
            "detection": Prior("Normal", {"mu": 0.0, "sigma": 1.8}),
            # phi[c, l]: the class's departure for list l (zero-sum over lists); Normal(0, s)
            "class_profile": Prior("Normal", {"mu": 0.0, "sigma": 1.5}),
            # stick-breaking concentration, as LCMCR's default Gamma(0.25, 0.25)
            "class_concentration": Prior("Gamma", {"alpha": 0.25, "beta": 0.25}),
        }

    def validate(self, spec: ModelSpec) -> None:
        super().validate(spec)
        profile = spec.priors.get("class_profile")
        if profile is not None and (profile.dist != "Normal" or profile.params["mu"] != 0):
            raise ModelSpecError(
                f"{spec.origin or spec.name}: class_profile must be Normal with mu = 0 "
                "(it is a zero-sum effect over the lists)."
            )
        classes = self.structure(spec)["classes"]
        if not 2 <= classes <= MAX_CLASSES:
            raise ModelSpecError(
                f"{spec.origin or spec.name}: classes must be between 2 and {MAX_CLASSES} (the "
                "class weights' prior sums over every order of the classes, classes! terms)."
            )

    def derive(self, posterior, spec, data, rng) -> xr.Dataset:
        """As for every list model, and the classes relabelled by decreasing weight."""
        return super().derive(posterior, spec, data, rng).merge(relabel_by_weight(posterior))

    def build(self, spec: ModelSpec, data: CaptureData) -> pm.Model:
        """The PyMC model (pure: builds the graph, never samples)."""
        self.check_data(spec, data)
        structure = self.structure(spec)
        priors = self.priors(spec, data)
        classes = structure["classes"]
        n_periods = data.n_periods
        centre = float(priors["detection"].params["mu"])
        with pm.Model(coords=self.coords(spec, data)) as model:
            log_m = self._log_m(data)
            concentration = priors["class_concentration"].create("class_concentration")
            breaks = pm.Beta("class_break", 1.0, concentration, dims=BREAK_DIM)
            log_rest = pt.concatenate([pt.zeros(1), pt.cumsum(pt.log1p(-breaks))])
            log_pi = log_rest + pt.concatenate([pt.log(breaks), pt.zeros(1)])
            pm.Deterministic("class_weight", pt.exp(log_pi), dims=CLASS_DIM)
            pm.Potential(
                "class_weight_symmetry",
                _exchangeable_stick_breaking(log_pi, concentration, classes),
            )
            level = priors["detection"].create(
                "class_level",
                dims=CLASS_DIM,
                initval=np.linspace(centre - 1.0, centre + 1.0, classes),
            )
            profile = pm.ZeroSumNormal(
                "class_profile",
                sigma=priors["class_profile"].params["sigma"],
                dims=(CLASS_DIM, SOURCE_DIM),
            )
            logit_q = (level[:, None] + profile)[None, :, :]
            if n_periods > 1 and structure["source_trend"] == "linear":
                slope = priors["source_trend"].create("source_trend", dims=SOURCE_DIM)
                steps = _period_steps(n_periods)[:, None, None]
                logit_q = logit_q + steps * slope[None, None, :]
            else:
                logit_q = pt.repeat(logit_q, n_periods, axis=0)
            log_w, log_w0 = latent_class_log_weights(
                log_pi, logit_q, data.stats["inclusion"].values, data.mask
            )
            log_p_star = self._likelihood(data, log_m, log_w, log_w0)
            self._abundance(log_m, log_p_star, priors, structure, n_periods)
        return model


def relabel_by_weight(
    posterior: xr.Dataset, names: tuple[str, ...] = ("class_weight", "class_level", "class_profile")
) -> xr.Dataset:
    """The class variables ``names`` (``class_weight`` first) with the classes of every draw
    ordered by decreasing weight (class 0 the largest).

    The model's classes are exchangeable, so the sampler's labels are arbitrary and may
    switch; sorted by weight they are identified wherever the weights differ.
    """
    weight = posterior["class_weight"].transpose("chain", "draw", CLASS_DIM)
    order = np.argsort(-weight.values, axis=2, kind="stable")
    relabelled = {}
    for name in names:
        variable = posterior[name].transpose("chain", "draw", CLASS_DIM, ...)
        index = order.reshape(order.shape + (1,) * (variable.ndim - order.ndim))
        values = np.take_along_axis(variable.values, index, axis=2)
        relabelled[name] = variable.copy(data=values).transpose(*posterior[name].dims)
    return xr.Dataset(relabelled)


def _stick_order_terms(log_pi, concentration, orders: np.ndarray):
    """log SB(pi taken in each order), up to a constant shared by all orders: (P,).

    With breaks v_c = pi_(c) / r_c, r_c = sum_{j >= c} pi_(j) (so 1 - v_c = r_{c+1} / r_c) and
    the Jacobian prod_{c < C} 1 / r_c of pi -> v, the stick-breaking density of the weights
    taken in one order is a^(C-1) pi_(C)^(a - 1) / prod_{c=2}^{C-1} r_c. Selections and tail
    sums are constant 0/1 matrices (matrix products, cheap to differentiate), not indexing.
    """
    n_orders, classes = orders.shape
    select = np.zeros((n_orders, classes, classes))
    np.put_along_axis(select, orders[..., None], 1.0, axis=2)  # select[p, c, orders[p, c]] = 1
    last = (concentration - 1.0) * pt.dot(select[:, -1, :], log_pi)
    if classes == 2:
        return last
    # r_c for c = 2..C-1: sum of the weights in positions c..C of order p. Summed in linear
    # space: where two weights fall below 1e-308 the log is -inf and the density NaN, which
    # the sampler rejects; exact log-space sums let NUTS into the prior's extreme tails and
    # sampled the sparse real tables worse (docs/calibration.md)
    tails = np.stack([select[:, c:, :].sum(axis=1) for c in range(1, classes - 1)], axis=1)
    rest = pt.dot(tails.reshape(-1, classes), pt.exp(log_pi)).reshape((n_orders, classes - 2))
    return last - pt.log(rest).sum(axis=1)


def _exchangeable_stick_breaking(log_pi, concentration, classes: int):
    """log[(1 / C!) sum_sigma SB(pi_sigma) / SB(pi)]: turns the stick-breaking density of the
    weights (as sampled, through the breaks in class order) into its average over every order
    of the classes."""
    orders = np.array(list(itertools.permutations(range(classes))))
    terms = _stick_order_terms(log_pi, concentration, orders)
    # itertools lists the identity order first
    return pt.logsumexp(terms) - np.log(len(orders)) - terms[0]


def _integrates_line(structure, priors, n_periods: int) -> bool:
    """Whether the graph integrates the abundance line's level and slope out (and ``derive``
    draws them): several periods, a linear abundance trend, Normal priors on both."""
    return (
        n_periods > 1
        and structure["abundance_trend"] == "linear"
        and priors["abundance"].dist == "Normal"
        and priors["abundance_trend"].dist == "Normal"
    )


def _line_marginal_logp(y, priors, x, spread):
    """log density of log lambda_t with the line's level and slope integrated out.

    log lambda = a + b x + s e with a ~ N(m_a, s_a), b ~ N(m_b, s_b), e ~ N(0, I) is
    MvNormal(m_a + m_b x, s_a^2 J + s_b^2 x x' + s^2 I). Sampled as a hierarchy, the level
    and slope form a funnel with s whenever the data pull s towards 0 (divergences on
    list-dependence, where the truth has little period noise). The steps are centred
    (1'x = 0), so the covariance has eigenvectors 1/sqrt(T) (eigenvalue T s_a^2 + s^2),
    x/|x| (|x|^2 s_b^2 + s^2) and their complement (s^2, T - 2 times): the density is
    elementwise arithmetic, with no matrix factorisation to compile.
    """
    a = priors["abundance"]._graph_params()
    b = priors["abundance_trend"]._graph_params()
    n = len(x)
    xx = float(x @ x)
    d = y - (a["mu"] + b["mu"] * x)
    c1 = pt.sum(d) / np.sqrt(n)
    c2 = pt.sum(d * x) / np.sqrt(xx)
    variance = spread**2
    v1 = n * a["sigma"] ** 2 + variance
    v2 = xx * b["sigma"] ** 2 + variance
    rest = pt.sum(d**2) - c1**2 - c2**2
    return -0.5 * (
        n * np.log(2 * np.pi)
        + (n - 2) * pt.log(variance)
        + pt.log(v1)
        + pt.log(v2)
        + rest / variance
        + c1**2 / v1
        + c2**2 / v2
    )


def _line_draws(posterior, priors, rng) -> dict:
    """Draws of the line's level and slope given log lambda_t and s (exact, conjugate).

    With centred steps (sum x = 0) the two are independent given log lambda and s:
    level ~ N(mean, 1 / precision), precision = 1 / s_a^2 + T / s^2 (the slope likewise
    with sum x^2). Together with the sampled log lambda and s these are draws from the joint
    posterior of the hierarchy the model integrates.
    """
    log_lambda = posterior["log_expected_abundance"]
    x = xr.DataArray(_period_steps(log_lambda.sizes[PERIOD_DIM]), dims=PERIOD_DIM)
    variance = posterior["abundance_sd"] ** 2
    out = {}
    for name, key, weight in (
        ("abundance_level", "abundance", xr.ones_like(x)),
        ("abundance_trend", "abundance_trend", x),
    ):
        prior = priors[key].params
        m, s = float(prior["mu"]), float(prior["sigma"])
        precision = 1.0 / s**2 + float((weight**2).sum()) / variance
        mean = (m / s**2 + (weight * log_lambda).sum(PERIOD_DIM) / variance) / precision
        noise = rng.standard_normal(mean.shape)
        out[name] = mean + noise / np.sqrt(precision)
    return out


def _period_steps(n_periods: int) -> np.ndarray:
    """x_t = t - (T - 1) / 2: period steps centred on the middle period."""
    return np.arange(n_periods) - (n_periods - 1) / 2.0


def _single_list_counts(data: CaptureData) -> np.ndarray:
    """(T, L) units on list l and no other."""
    inclusion = data.stats["inclusion"].values
    singles = inclusion.sum(axis=1) == 1
    counts = data.stats["pattern_counts"].values
    return counts[:, singles] @ inclusion[singles]
