"""Simulation-based calibration (SBC; Talts et al. 2018) of the closed and trend models.

For replicate r: draw every parameter from the prior, simulate detection records from them
with the project's simulator (the same detection code as the likelihood), fit the model
with that same prior, and record the rank of each true value among L thinned posterior
draws. If the model and the sampler are right the ranks are uniform on 0..L; a model that
is wrong for the data (``generator`` differs from the model) or a biased sampler pushes them
to the ends or the middle.

Priors. The catalogue priors are centred on the data (``"data"``), which a prior to draw
from cannot be; calibration uses the fixed priors of :data:`CALIBRATION_PRIORS` (data sets
of about 300-550 units, per-occasion detection about 0.1-0.35), for the generator and the
fitted model alike, plus any ``priors`` given.

Generator. Each period is simulated separately with ``n_occasions`` occasions:
``abundance`` = lambda_t (N_t ~ Poisson), ``detection`` = expit(tau_t); occasion effects
(Mt, Mth) tau_{t,k} ~ Normal(mu, sigma) as the simulator's occasion noise around mu;
``heterogeneity_sd`` = sigma_t; ``behaviour`` = b_t; a two-class mixture has support
(0, gap_t) and weights (w_t, 1 - w_t). Negative-binomial abundance is not simulated for
closed models.

Trend models (``robust-trend``, ``robust-trend-rw``): with s_t = t - (T - 1) / 2,
log lambda_t = alpha + beta s_t (+ sd_N W z for a random-walk or smooth trend, the model's
own walk matrix, its least-squares line removed); negative-binomial N_t is simulated as
Poisson(lambda_t g_t) with g_t ~ Gamma(phi, 1 / phi), phi = spread^-2; mu_t = a + b s_t
(+ sd_p W z, the same walk matrix, for a random-walk reporting trend); weekly noise
``occasion_sd``, sigma_u shared (times exp(spread z_t) under partial pooling) and b as for
the closed models. Covariates are not simulated.

Multiple-systems models (``mse-loglinear``, ``mse-latent-class``) on ``CALIBRATION_LISTS``
lists: log lambda_t = level + slope x_t + sd_N e_t (x_t = t - (T - 1) / 2), N_t ~ Poisson,
and each of the N_t units falls in inclusion pattern h (all 2^L, the empty one unseen) with
the model's own probabilities: log-linear, Pr(h) proportional to exp(alpha_t . h + gamma_t .
d(h)) with alpha[t, l] ~ N(a_l + b_l x_t, s_alpha), gamma[t, S] = gamma_S + s_gamma e[t, S]
and gamma_S from the regularised horseshoe; latent-class, Pr(h) = sum_c pi_c prod_l
q^h (1 - q)^(1 - h), logit q[t, c, l] = kappa_c + phi[c, l] + b_l x_t with stick-breaking pi,
kappa and zero-sum phi drawn class by class (LCMCR's unordered model) and the classes then
relabelled by decreasing weight, as the fit reports them (``mse-lcmcr``, sampled by Gibbs,
has its own calibration test: tests/test_lcmcr.py).

Uniformity test: ranks pooled over replicates and over a parameter's elements, counted in
``bins`` equal bins, chi-square test with bins - 1 degrees of freedom; a parameter fails
when p < ``alpha`` / (number of parameters of the model) (Bonferroni).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pymc as pm
from scipy import stats as scipy_stats

from hiddenpop.data import CaptureData
from hiddenpop.detection import expit, logit
from hiddenpop.exceptions import ModelSpecError
from hiddenpop.modeling import ModelSpec, Prior, family_of, load_model
from hiddenpop.modeling.mse import _period_steps
from hiddenpop.simulation import SimulationSettings, simulate
from hiddenpop.study.runner import _write_csv, collect, execute, prepare_directory
from hiddenpop.study.tasks import fit_seed, replicate_seed

__all__ = [
    "CALIBRATION_PRIORS",
    "Calibration",
    "CalibrationOutcome",
    "CalibrationTask",
    "rank_histograms",
    "run_calibration_task",
    "uniformity",
]

#: Fixed priors used to draw and to fit in calibration.
CALIBRATION_PRIORS = {
    "abundance": Prior("Normal", {"mu": float(np.log(400.0)), "sigma": 0.3}),
    "detection": Prior("Normal", {"mu": float(logit(0.2)), "sigma": 0.4}),
    "heterogeneity_sd": Prior("HalfNormal", {"sigma": 1.0}),
    "behaviour": Prior("Normal", {"mu": 0.0, "sigma": 0.7}),
    "mixture_gap": Prior("HalfNormal", {"sigma": 2.0}),
    # trend models
    "abundance_level": Prior("Normal", {"mu": float(np.log(400.0)), "sigma": 0.3}),
    "abundance_slope": Prior("Normal", {"mu": 0.0, "sigma": 0.2}),
    "abundance_overdispersion": Prior("HalfNormal", {"sigma": 0.2}),
    "abundance_sd": Prior("HalfNormal", {"sigma": 0.2}),
    "detection_level": Prior("Normal", {"mu": float(logit(0.2)), "sigma": 0.4}),
    "detection_slope": Prior("Normal", {"mu": 0.0, "sigma": 0.2}),
    "detection_sd": Prior("HalfNormal", {"sigma": 0.2}),
    "occasion_sd": Prior("HalfNormal", {"sigma": 0.3}),
    "heterogeneity_spread": Prior("HalfNormal", {"sigma": 0.2}),
    # multiple-systems models ("abundance" and "detection" as above)
    "abundance_trend": Prior("Normal", {"mu": 0.0, "sigma": 0.2}),
    "source_trend": Prior("Normal", {"mu": 0.0, "sigma": 0.2}),
    "class_profile": Prior("Normal", {"mu": 0.0, "sigma": 1.0}),
}

#: Number of lists simulated for the multiple-systems models.
CALIBRATION_LISTS = 4

#: Calibration priors that differ by family: the multiple-systems models keep their
#: boundary-avoiding prior on the spread of log lambda_t (a centred parameterisation).
_LIST_FAMILIES = ("mse-loglinear", "mse-latent-class")
_FAMILY_PRIORS = {
    family: {"abundance_sd": Prior("Gamma", {"alpha": 2.0, "beta": 10.0})}
    for family in _LIST_FAMILIES
}

#: Ranked quantities: posterior variable -> how to read its truth from the draws.
_RANKED = (
    "log_expected_abundance",
    "N",
    "detection_logit",
    "heterogeneity_sd",
    "behaviour",
    "mixture_gap",
    "mixture_weight",
    # trend models
    "abundance_level",
    "abundance_slope",
    "abundance_overdispersion",
    "abundance_sd",
    "detection_level",
    "detection_slope",
    "detection_sd",
    "occasion_sd",
    "heterogeneity_spread",
    # multiple-systems models
    "abundance_trend",
    "source_level",
    "source_trend",
    "source_sd",
    "source_effect",
    "interaction",
    "interaction_sd",
    "class_level",
    "class_weight",
)


#: Priors of per-period variables, given one value per period (see :func:`calibration_spec`).
_PER_PERIOD = ("abundance", "detection", "heterogeneity_sd", "behaviour")


def _per_period(prior: Prior, n_periods: int) -> Prior:
    params = {k: np.full(n_periods, float(np.mean(v))) for k, v in prior.params.items()}
    return Prior(prior.dist, params)


def calibration_spec(model: str | ModelSpec, priors: dict[str, Prior], n_periods: int):
    """The model with the calibration priors (those it has), then ``priors``.

    Priors of per-period variables get one value per period (arrays), as data-centred
    priors do: the compiled-model cache then treats them as data, so every calibration
    and every study of the same model and shape shares one compilation.
    """
    spec = load_model(model)
    family = family_of(spec)
    if spec.family not in ("closed", "trend", *_LIST_FAMILIES):
        raise ModelSpecError(
            f"calibration has no generator for model family '{spec.family}' ({spec.name})."
        )
    structure = family.structure(spec)
    if spec.family in _LIST_FAMILIES:
        fixed = {"abundance_trend": "linear", "source_trend": "linear"}
        if any(structure.get(k) != v for k, v in fixed.items()) or structure.get("interactions"):
            raise ModelSpecError(
                f"calibration simulates linear abundance and list trends and the default "
                f"interaction set only ({spec.name})."
            )
    if structure.get("abundance_covariates") or structure.get("reporting_covariates"):
        raise ModelSpecError(f"calibration does not simulate covariates ({spec.name}).")
    if structure.get("persistence", "none") != "none":
        raise ModelSpecError(
            f"calibration simulates fresh units every period, not units that persist "
            f"({spec.name}); check persistence with `hiddenpop study` (survival > 0)."
        )
    if spec.family == "closed" and structure["abundance"] != "poisson":
        raise ModelSpecError(f"calibration simulates Poisson abundance only ({spec.name}).")
    known = family.default_priors(structure)
    calibration = {**CALIBRATION_PRIORS, **_FAMILY_PRIORS.get(spec.family, {}), **priors}
    chosen = {k: p for k, p in calibration.items() if k in known}
    if spec.family == "closed":
        for name in _PER_PERIOD:
            occasion_effects = name == "detection" and structure["occasion_effects"]
            if name in chosen and not occasion_effects:
                chosen[name] = _per_period(chosen[name], n_periods)
    return spec.with_priors(**chosen), structure


def _draw(prior: Prior, size, rng: np.random.Generator) -> np.ndarray:
    seed = int(rng.integers(2**31))
    return np.asarray(pm.draw(prior.dist_object(size=size), random_seed=seed), dtype=float)


def draw_dataset(
    generator: str, priors: dict[str, Prior], n_periods: int, n_occasions: int, seed: int
) -> tuple[CaptureData, dict[str, np.ndarray]]:
    """Parameters from the generator's prior, and the capture data simulated from them."""
    spec, structure = calibration_spec(generator, priors, n_periods)
    # the spec holds the calibration priors; the model's defaults fill the rest
    chosen = {**family_of(spec).default_priors(structure), **spec.priors}
    rng = np.random.default_rng(seed)
    if spec.family == "trend":
        return _draw_trend_dataset(chosen, structure, n_periods, n_occasions, rng)
    if spec.family in _LIST_FAMILIES:
        return _draw_list_dataset(spec.family, chosen, structure, n_periods, rng)
    truth = {"log_expected_abundance": _draw(chosen["abundance"], n_periods, rng)}
    detection = chosen["detection"]
    if structure["occasion_effects"] and detection.dist != "Normal":
        raise ModelSpecError("occasion effects are simulated from a Normal detection prior.")
    if not structure["occasion_effects"]:
        truth["detection_logit"] = _draw(detection, n_periods, rng)
    if structure["heterogeneity"] == "normal":
        truth["heterogeneity_sd"] = _draw(chosen["heterogeneity_sd"], n_periods, rng)
    if structure["heterogeneity"] == "mixture":
        truth["mixture_gap"] = _draw(chosen["mixture_gap"], n_periods, rng)
        # Dirichlet(1, 1) weights of the classes (0, gap): (T, 2), as the model's
        weight = rng.uniform(size=n_periods)
        truth["mixture_weight"] = np.column_stack([weight, 1.0 - weight])
    if structure["behaviour"]:
        truth["behaviour"] = _draw(chosen["behaviour"], n_periods, rng)
    sims = []
    for t in range(n_periods):
        settings = {
            "abundance": float(np.exp(truth["log_expected_abundance"][t])),
            "behaviour": float(truth.get("behaviour", np.zeros(n_periods))[t]),
        }
        if structure["occasion_effects"]:
            settings["detection"] = float(expit(detection.params["mu"]))
            settings["occasion_sd"] = float(detection.params["sigma"])
        else:
            settings["detection"] = float(expit(truth["detection_logit"][t]))
        if structure["heterogeneity"] == "normal":
            settings["heterogeneity_sd"] = float(truth["heterogeneity_sd"][t])
        if structure["heterogeneity"] == "mixture":
            weight = float(truth["mixture_weight"][t, 0])
            settings.update(
                heterogeneity="mixture",
                heterogeneity_sd=1.0,
                mixture_support=(0.0, float(truth["mixture_gap"][t])),
                mixture_weights=(weight, 1.0 - weight),
            )
        sims.append(_simulate_period(t, n_occasions, settings, rng))
    if structure["occasion_effects"]:
        truth["detection_logit"] = np.stack([sim.truth["occasion_logit"].values[0] for sim in sims])
    return _periods_data(sims, truth)


def _simulate_period(t: int, n_occasions: int, settings: dict, rng):
    """Period t (labelled 2013 + t) simulated alone with the project's simulator."""
    settings = SimulationSettings(
        name="calibration", first_period=2013 + t, n_periods=1, n_occasions=n_occasions, **settings
    )
    return simulate(settings, seed=int(rng.integers(2**31)))


def _periods_data(sims: list, truth: dict) -> tuple[CaptureData, dict[str, np.ndarray]]:
    """The periods' records as one CaptureData, and ``truth`` with the realised N_t."""
    truth["N"] = np.asarray([sim.truth["N"].values[0] for sim in sims], dtype=float)
    table = pd.concat([sim.records for sim in sims], ignore_index=True)
    data = CaptureData.from_records(
        table, id="id", period="period", occasion="occasion", occasions="union"
    )
    return data, truth


def _draw_trend_dataset(
    chosen: dict[str, Prior], structure: dict, n_periods: int, n_occasions: int, rng
) -> tuple[CaptureData, dict[str, np.ndarray]]:
    """A trend model's parameters from ``chosen`` priors, and the records they generate."""
    from hiddenpop.modeling.trend import _walk_matrix

    def draw(name: str, size=None) -> np.ndarray:
        return _draw(chosen[name], size, rng)

    steps = _period_steps(n_periods)
    truth = {name: draw(name) for name in ("abundance_level", "abundance_slope")}
    log_lambda = truth["abundance_level"] + truth["abundance_slope"] * steps
    if structure["abundance_trend"] != "linear":
        truth["abundance_sd"] = draw("abundance_sd")
        walk = _walk_matrix(n_periods, structure["abundance_trend"])
        log_lambda = log_lambda + truth["abundance_sd"] * walk @ rng.normal(size=walk.shape[1])
    truth["log_expected_abundance"] = log_lambda
    expected = np.exp(log_lambda)
    if structure["abundance"] == "negative-binomial":
        truth["abundance_overdispersion"] = draw("abundance_overdispersion")
        shape = float(truth["abundance_overdispersion"]) ** -2
        expected = expected * rng.gamma(shape, 1.0 / shape, size=n_periods)
    truth |= {name: draw(name) for name in ("detection_level", "detection_slope")}
    reporting = truth["detection_level"] + truth["detection_slope"] * steps
    if structure["detection_trend"] == "random-walk":
        truth["detection_sd"] = draw("detection_sd")
        walk = _walk_matrix(n_periods, "random-walk")
        reporting = reporting + truth["detection_sd"] * walk @ rng.normal(size=walk.shape[1])
    heterogeneity = np.zeros(n_periods)
    if structure["heterogeneity"] == "normal":
        truth["heterogeneity_sd"] = draw("heterogeneity_sd")
        heterogeneity = heterogeneity + truth["heterogeneity_sd"]
        if structure["heterogeneity_pooling"] == "partial":
            truth["heterogeneity_spread"] = draw("heterogeneity_spread")
            spread = truth["heterogeneity_spread"] * rng.normal(size=n_periods)
            heterogeneity = heterogeneity * np.exp(spread)
    if structure["occasion_noise"]:
        truth["occasion_sd"] = draw("occasion_sd")
    if structure["behaviour"]:
        truth["behaviour"] = draw("behaviour")
    settings = [
        {
            "abundance": float(expected[t]),
            "detection": float(expit(reporting[t])),
            "heterogeneity_sd": float(heterogeneity[t]),
            "occasion_sd": float(truth.get("occasion_sd", 0.0)),
            "behaviour": float(truth.get("behaviour", 0.0)),
        }
        for t in range(n_periods)
    ]
    sims = [_simulate_period(t, n_occasions, settings[t], rng) for t in range(n_periods)]
    return _periods_data(sims, truth)


def _rank(draws: np.ndarray, value: float, rng: np.random.Generator) -> int:
    """Number of draws below ``value``, ties split at random (N is discrete)."""
    below = int(np.sum(draws < value))
    ties = int(np.sum(draws == value))
    return below + int(rng.integers(0, ties + 1))


@dataclass(frozen=True)
class CalibrationTask:
    """One SBC replicate: draw from ``generator``'s prior, fit ``model``, rank the truth."""

    model: str
    generator: str
    replicate: int
    seed: int
    priors: dict = field(default_factory=dict)
    n_periods: int = 2
    n_occasions: int = 5
    draws: int = 500
    tune: int = 500
    chains: int = 2
    thin_to: int = 99
    sampler: str = "nutpie"

    @property
    def label(self) -> str:
        return self.model if self.generator == self.model else f"{self.model}~{self.generator}"

    @property
    def key(self) -> str:
        return f"calibration/{self.label}/r{self.replicate:04d}"


def run_calibration_task(task: CalibrationTask) -> pd.DataFrame:
    """Rank rows ``model, generator, replicate, parameter, element, rank, max_rank``."""
    import warnings

    from hiddenpop.inference import fit
    from hiddenpop.study.compiled import worker_sampler

    priors = {name: Prior.from_dict(value) for name, value in task.priors.items()}
    seed = replicate_seed(task.seed, f"calibration:{task.generator}", task.replicate)
    data, truth = draw_dataset(task.generator, priors, task.n_periods, task.n_occasions, seed)
    spec, _ = calibration_spec(task.model, priors, task.n_periods)
    sampler = worker_sampler() if task.sampler == "nutpie" else task.sampler
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit(
            data,
            spec,
            draws=task.draws,
            tune=task.tune,
            chains=task.chains,
            seed=fit_seed(task.seed, "calibration", task.replicate, task.label),
            sampler=sampler,
            predictive=False,
        )
    posterior = result.posterior.stack(sample=("chain", "draw"))
    keep = np.unique(np.linspace(0, posterior.sizes["sample"] - 1, task.thin_to).astype(int))
    rng = np.random.default_rng(seed)
    rows = []
    for name in _RANKED:
        if name not in truth or name not in posterior:
            continue
        draws = posterior[name].transpose("sample", ...).values[keep]
        draws = draws.reshape(len(keep), -1)
        values = np.asarray(truth[name]).ravel()
        for element in range(draws.shape[1]):
            rows.append(
                {
                    "model": task.model,
                    "generator": task.generator,
                    "replicate": task.replicate,
                    "parameter": name,
                    "element": element,
                    "truth": float(values[element]),
                    "rank": _rank(draws[:, element], values[element], rng),
                    "max_rank": len(keep),
                    "divergences": result.diagnostics.divergences,
                }
            )
    return pd.DataFrame(rows)


def uniformity(ranks: pd.DataFrame, *, bins: int = 5, alpha: float = 0.01) -> pd.DataFrame:
    """Chi-square test of uniform ranks per model (and generator) and parameter."""
    records = []
    for (model, generator), group in ranks.groupby(["model", "generator"], sort=False):
        n_parameters = group["parameter"].nunique()
        for parameter, rows in group.groupby("parameter", sort=False):
            top = int(rows["max_rank"].iloc[0])
            counts = np.bincount((rows["rank"].to_numpy() * bins) // (top + 1), minlength=bins)
            chi2, p_value = scipy_stats.chisquare(counts)
            records.append(
                {
                    "model": model,
                    "generator": generator,
                    "parameter": parameter,
                    "n": len(rows),
                    "chi2": float(chi2),
                    "df": bins - 1,
                    "p_value": float(p_value),
                    "ok": bool(p_value >= alpha / n_parameters),
                    "counts": " ".join(map(str, counts)),
                }
            )
    return pd.DataFrame(records)


def rank_histograms(ranks: pd.DataFrame, path: str | os.PathLike, *, bins: int = 5) -> None:
    """One histogram per model and parameter, with the 99% band of a uniform count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(ranks.groupby(["model", "generator", "parameter"], sort=False))
    columns = min(4, len(groups))
    rows_n = -(-len(groups) // columns)
    figure, axes = plt.subplots(
        rows_n, columns, figsize=(3.2 * columns, 2.4 * rows_n), squeeze=False
    )
    for axis, ((model, generator, parameter), rows) in zip(axes.flat, groups, strict=False):
        top = int(rows["max_rank"].iloc[0])
        counts = np.bincount((rows["rank"].to_numpy() * bins) // (top + 1), minlength=bins)
        expected = len(rows) / bins
        low, high = scipy_stats.binom.ppf([0.005, 0.995], len(rows), 1.0 / bins)
        axis.axhspan(low, high, color="0.85")
        axis.axhline(expected, color="0.5", lw=1)
        axis.bar(np.arange(bins), counts, width=0.9, color="tab:blue")
        title = model if model == generator else f"{model} (data: {generator})"
        axis.set_title(f"{title}\n{parameter}", fontsize=8)
        axis.set_xticks([])
    for axis in axes.flat[len(groups) :]:
        axis.set_visible(False)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


@dataclass
class CalibrationOutcome:
    """Ranks (one row per replicate, parameter and element) and the uniformity tests."""

    ranks: pd.DataFrame
    tests: pd.DataFrame
    ran: int
    out: Path

    @property
    def ok(self) -> bool:
        return bool(self.tests["ok"].all())


@dataclass
class Calibration:
    """SBC of ``models``; ``generators`` maps a model to another model that makes the data.

    Writes ``DIR/ranks.csv``, ``DIR/calibration.csv`` (uniformity tests) and
    ``DIR/rank_histograms.png``; resumable and parallel like :class:`~hiddenpop.study.Study`.
    """

    models: list[str]
    replicates: int
    seed: int = 0
    generators: dict[str, str] = field(default_factory=dict)
    priors: dict[str, Prior] = field(default_factory=dict)
    n_periods: int = 2
    n_occasions: int = 5
    draws: int = 500
    tune: int = 500
    chains: int = 2
    thin_to: int = 99
    bins: int = 5
    alpha: float = 0.01
    sampler: str = "nutpie"

    def tasks(self) -> list[CalibrationTask]:
        priors = {name: prior.to_dict() for name, prior in self.priors.items()}
        return [
            CalibrationTask(
                model=model,
                generator=self.generators.get(model, model),
                replicate=replicate,
                seed=self.seed,
                priors=priors,
                n_periods=self.n_periods,
                n_occasions=self.n_occasions,
                draws=self.draws,
                tune=self.tune,
                chains=self.chains,
                thin_to=self.thin_to,
                sampler=self.sampler,
            )
            for replicate in range(1, self.replicates + 1)
            for model in self.models
        ]

    def settings(self) -> dict:
        return {
            "kind": "calibration",
            "seed": self.seed,
            "priors": {name: prior.to_dict() for name, prior in self.priors.items()},
            "n_periods": self.n_periods,
            "n_occasions": self.n_occasions,
            "draws": self.draws,
            "tune": self.tune,
            "chains": self.chains,
            "thin_to": self.thin_to,
            "sampler": self.sampler,
        }

    def run(
        self,
        out: str | os.PathLike,
        *,
        workers: int = 1,
        scheduler: str | None = None,
        client=None,
        progress: bool = True,
    ) -> CalibrationOutcome:
        """Run the missing replicates, test uniformity, write the tables and histograms."""
        for model in {*self.models, *self.generators.values()}:
            calibration_spec(model, self.priors, self.n_periods)
        out = Path(out)
        prepare_directory(out, self.settings())
        tasks = self.tasks()
        ran = execute(
            tasks,
            run_calibration_task,
            out,
            workers=workers,
            scheduler=scheduler,
            client=client,
            progress=progress,
            description="calibration fits",
        )
        ranks = collect(out, [task.key for task in tasks])
        tests = uniformity(ranks, bins=self.bins, alpha=self.alpha)
        _write_csv(ranks, out / "ranks.csv")
        _write_csv(tests, out / "calibration.csv")
        rank_histograms(ranks, out / "rank_histograms.png", bins=self.bins)
        return CalibrationOutcome(ranks, tests, ran, out)


def _draw_list_dataset(
    family: str, chosen: dict[str, Prior], structure: dict, n_periods: int, rng
) -> tuple[CaptureData, dict[str, np.ndarray]]:
    """A multiple-systems model's parameters from ``chosen`` priors, and its list records."""
    from itertools import product

    from hiddenpop.likelihood.lists import interaction_design, interaction_terms

    def draw(name: str, size=None) -> np.ndarray:
        return _draw(chosen[name], size, rng)

    n_lists = CALIBRATION_LISTS
    steps = _period_steps(n_periods)
    patterns = np.array(list(product((0, 1), repeat=n_lists)))[:, ::-1]  # row 0: unseen
    truth: dict[str, np.ndarray] = {}
    if n_periods > 1:
        truth |= {"abundance_level": draw("abundance"), "abundance_trend": draw("abundance_trend")}
        truth["abundance_sd"] = draw("abundance_sd")
        log_lambda = truth["abundance_level"] + truth["abundance_trend"] * steps
        log_lambda = log_lambda + truth["abundance_sd"] * rng.normal(size=n_periods)
        truth["source_trend"] = draw("source_trend", n_lists)
    else:
        log_lambda = draw("abundance", 1)
    truth["log_expected_abundance"] = log_lambda
    trend = np.outer(steps, truth.get("source_trend", np.zeros(n_lists)))  # (T, L)
    if family == "mse-loglinear":
        terms = interaction_terms(n_lists, structure["max_order"])
        if n_periods > 1:
            truth["source_level"] = draw("detection", n_lists)
            truth["source_sd"] = draw("source_sd")
            main = truth["source_level"] + trend
            main = main + truth["source_sd"] * rng.normal(size=main.shape)
        else:
            main = draw("detection", (1, n_lists))
        truth["source_effect"] = main
        gamma = _horseshoe_draw(chosen, structure, len(terms), draw, rng)
        truth["interaction"] = gamma
        gamma = np.broadcast_to(gamma, (n_periods, len(terms)))
        if n_periods > 1 and structure["interaction_pooling"] == "partial":
            truth["interaction_sd"] = draw("interaction_sd")
            gamma = gamma + truth["interaction_sd"] * rng.normal(size=gamma.shape)
        design = interaction_design(patterns, terms)
        log_weight = main @ patterns.T + gamma @ design.T  # (T, H)
        probabilities = np.exp(log_weight - log_weight.max(axis=1, keepdims=True))
    else:
        classes = structure["classes"]
        concentration = draw("class_concentration")
        breaks = rng.beta(1.0, float(concentration), size=classes - 1)
        rest = np.concatenate([[1.0], np.cumprod(1.0 - breaks)])
        weight = rest * np.concatenate([breaks, [1.0]])
        level = np.atleast_1d(draw("detection", classes))
        sigma = chosen["class_profile"].params["sigma"]
        profile = rng.normal(0.0, sigma, size=(classes, n_lists))
        profile = profile - profile.mean(axis=1, keepdims=True)  # ZeroSumNormal over lists
        # LCMCR's unordered model, then the classes relabelled by decreasing weight (as the
        # fit reports them)
        order = np.argsort(-weight, kind="stable")
        truth["class_weight"], truth["class_level"] = weight[order], level[order]
        profile = profile[order]
        logit_q = truth["class_level"][None, :, None] + profile[None] + trend[:, None, :]
        q = expit(logit_q)  # (T, C, L)
        per_class = np.prod(
            np.where(patterns[None, None], q[:, :, None, :], 1.0 - q[:, :, None, :]), axis=-1
        )  # (T, C, H)
        probabilities = np.einsum("c,tch->th", truth["class_weight"], per_class)
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
    labels = [chr(ord("A") + l) for l in range(n_lists)]
    rows, abundance, next_id = [], [], 0
    for t in range(n_periods):
        n_t = int(rng.poisson(np.exp(log_lambda[t])))
        abundance.append(n_t)
        counts = rng.multinomial(n_t, probabilities[t])
        for pattern, count in zip(patterns[1:], counts[1:], strict=True):
            ids = np.arange(next_id, next_id + count)
            next_id += count
            for l in np.flatnonzero(pattern):
                rows.append(pd.DataFrame({"id": ids, "period": 2013 + t, "source": labels[l]}))
    truth["N"] = np.asarray(abundance, dtype=float)
    table = pd.concat(rows, ignore_index=True)
    data = CaptureData.from_records(table, id="id", period="period", source="source")
    return data, truth


def _horseshoe_draw(chosen, structure, n_terms: int, draw, rng) -> np.ndarray:
    """gamma_S from the model's interaction prior (regularised horseshoe or its Normal)."""
    if structure["shrinkage"] != "horseshoe":
        return draw("interaction", n_terms)
    tau = draw("interaction_global_scale")
    local = draw("interaction_local_scale", n_terms)
    slab = 1.0 / draw("interaction_slab_precision")
    scale = np.sqrt(slab * local**2 / (slab + tau**2 * local**2))
    return rng.normal(size=n_terms) * tau * scale
