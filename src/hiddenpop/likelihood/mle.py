"""Maximum-likelihood fits of the closed-population models M0 ... Mtbh on one period.

The conditional log-likelihood (``closed.conditional_log_likelihood``) is maximised with
scipy's BFGS on the compiled PyTensor value and gradient; then N-hat = n / P*-hat, which is
also the Poisson-N maximum likelihood estimate that Rcapture reports (Cormack 1989;
Baillargeon & Rivest 2007). Parameters, all on the logit scale:

- ``tau_k``: occasion logits (one shared tau without a time effect ``t``);
- ``b``: behavioural effect after first capture (``b`` models; logit c_k = tau_k + b);
- ``sigma``: sd of the logit-normal unit effect (``h`` models, ``heterogeneity="normal"``),
  integrated by quadrature with ``n_nodes`` nodes (Gauss-Hermite, or trapezoid for large sigma);
- ``support``, ``weight``: a finite mixture (``heterogeneity="mixture"``, Pledger 2000) with
  class 1 at shift 0 and the other classes at free shifts.

Uncertainty, as in Rcapture: se(N-hat) = sqrt(mu0 + mu0^2 var(log mu0)), mu0 = N-hat - n the
expected number of unseen units, var(log mu0) by the delta method on the observed Poisson
information; interval ``"profile"``: the multinomial profile likelihood of N (Cormack 1992),
``"log-normal"``: Chao's (1987) log-transformed interval n + (N-hat - n) C^{+-1}.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd
import pytensor
import pytensor.tensor as pt
from scipy import optimize, special, stats

from hiddenpop.constants import CREDIBLE_INTERVAL
from hiddenpop.exceptions import IdentifiabilityWarning, ModelSpecError, UnsupportedDataError
from hiddenpop.likelihood.closed import (
    ClosedStatistics,
    Heterogeneity,
    history_log_likelihood,
    log_unseen_probability,
    normal_quadrature,
)

__all__ = ["MODELS", "ClosedFit", "fit_closed", "fit_closed_models"]

#: Otis et al. (1978) model names: t = time, b = behaviour, h = heterogeneity.
MODELS = ("M0", "Mt", "Mb", "Mh", "Mth", "Mtb", "Mbh", "Mtbh")
HETEROGENEITY = ("normal", "mixture")
INTERVALS = ("profile", "log-normal", None)
RULES = ("gauss-hermite", "trapezoid")
#: Fitted P* below this (N-hat above 1000 n) is taken as a fit at the boundary, N unidentified.
BOUNDARY_DETECTION = 1e-3


@dataclass(frozen=True)
class ClosedFit:
    """A maximum-likelihood fit of one closed model to one period.

    ``log_likelihood`` is the maximised Poisson-N log-likelihood without the data constant
    -sum_h log n_h!, so the deviance against the saturated model is
    2 (sum_h n_h log n_h - n) - 2 log_likelihood and Rcapture's AIC is ``aic`` + 2 sum_h log n_h!.
    ``converged`` is False when the gradient is not ~0 or the fit lies on the boundary where N
    is not identified (an :class:`~hiddenpop.exceptions.IdentifiabilityWarning` says so).
    ``parameters``: ``tau`` (logit scale), ``behaviour``, ``sigma`` or the mixture ``support``
    (class shifts, class 1 at 0: p_c = expit(tau + support_c)) and ``weight``.
    """

    model: str
    abundance: float
    stderr: float
    interval: tuple[float, float]
    interval_method: str | None
    level: float
    detected: float
    detection_probability: float
    parameters: dict[str, np.ndarray | float] = field(repr=False)
    log_likelihood: float
    n_parameters: int
    aic: float
    converged: bool


@cache
def _compiled(behaviour: bool, frequency_only: bool) -> pytensor.compile.Function:
    """(H, log A_0, dH/d inputs, dlogA_0/d inputs) for one period, compiled once per form."""
    tau = pt.matrix("tau", shape=(None, 1) if frequency_only else (None, None), dtype="float64")
    shift, log_weight = pt.dmatrix("shift"), pt.dmatrix("log_weight")
    b = pt.dvector("behaviour")
    data = {
        "detected": pt.dvector("detected"),
        "occasion_mask": pt.matrix("occasion_mask", dtype="bool"),
        "frequencies": pt.dmatrix("frequencies"),
    }
    if not frequency_only:
        data["captures"] = pt.dmatrix("captures")
    if behaviour:
        data["first_captures"] = pt.dmatrix("first_captures")
        data["recaptures"] = pt.dmatrix("recaptures")
        data["first_by_frequency"] = pt.dtensor3("first_by_frequency")
    statistics = ClosedStatistics(**data)
    heterogeneity = Heterogeneity(shift, log_weight)
    history = history_log_likelihood(tau, statistics, heterogeneity, b if behaviour else None).sum()
    log_a0 = log_unseen_probability(tau, statistics.occasion_mask, heterogeneity).sum()
    wrt = [tau, shift, log_weight] + ([b] if behaviour else [])
    gradients = [
        *pytensor.grad(history, wrt),
        *pytensor.grad(log_a0, wrt, disconnected_inputs="ignore"),
    ]
    inputs = [*wrt, *data.values()]
    return pytensor.function(inputs, [history, log_a0, *gradients], on_unused_input="ignore")


class _Layout:
    """Maps the free parameter vector theta to the likelihood inputs and pulls gradients back.

    theta = [tau (K_t, or 1 without time effect), b (behaviour), sigma (normal) or
    shifts of classes 2..C then their weight logits (mixture)].
    """

    def __init__(
        self,
        model: str,
        heterogeneity: str,
        occasions: np.ndarray,
        n_nodes,
        n_classes,
        frequency_only,
        quadrature,
    ):
        self.frequency_only = frequency_only
        self.time = "t" in model[1:]
        self.behaviour = "b" in model[1:]
        self.kind = heterogeneity if "h" in model[1:] else None
        self.occasions = occasions
        self.n_tau = int(occasions.sum()) if self.time else 1
        self.n_classes = n_classes
        if self.kind == "normal":
            self.nodes, self.node_log_weight = normal_quadrature(n_nodes, quadrature)
            n_het = 1
        elif self.kind == "mixture":
            n_het = 2 * (n_classes - 1)
        else:
            n_het = 0
        self.size = self.n_tau + int(self.behaviour) + n_het

    def unpack(self, theta: np.ndarray) -> list[np.ndarray]:
        tau = np.zeros((1, self.occasions.size))
        tau[0, self.occasions] = theta[: self.n_tau]  # one shared value without time effect
        rest = theta[self.n_tau + int(self.behaviour) :]
        if self.kind == "normal":
            shift, log_weight = rest[0] * self.nodes, self.node_log_weight
        elif self.kind == "mixture":
            shift = np.concatenate([[0.0], rest[: self.n_classes - 1]])
            logits = np.concatenate([[0.0], rest[self.n_classes - 1 :]])
            log_weight = logits - special.logsumexp(logits)
        else:
            shift, log_weight = np.zeros(1), np.zeros(1)
        inputs = [tau[:, :1] if self.frequency_only else tau, shift[None, :], log_weight[None, :]]
        if self.behaviour:
            inputs.append(theta[self.n_tau : self.n_tau + 1])
        return inputs

    def pullback(self, theta: np.ndarray, gradients: Sequence[np.ndarray]) -> np.ndarray:
        g_tau, g_shift, g_log_weight = (np.asarray(g)[0] for g in gradients[:3])
        out = [g_tau[self.occasions] if self.time else [g_tau.sum()]]
        if self.behaviour:
            out.append(np.atleast_1d(gradients[3]))
        rest = theta[self.n_tau + int(self.behaviour) :]
        if self.kind == "normal":
            out.append([g_shift @ self.nodes])
        elif self.kind == "mixture":
            logits = np.concatenate([[0.0], rest[self.n_classes - 1 :]])
            weight = special.softmax(logits)
            out += [g_shift[1:], (g_log_weight - weight * g_log_weight.sum())[1:]]
        return np.concatenate([np.ravel(x) for x in out])

    def starts(self, statistics: ClosedStatistics) -> list[np.ndarray]:
        n = float(statistics.detected[0])
        k = self.occasions.sum()
        frequencies = statistics.frequencies[0]
        mean_p = (frequencies * np.arange(1, frequencies.size + 1)).sum() / (k * n)
        if self.time:
            rate = statistics.captures[0, self.occasions] / n
        else:
            rate = np.array([mean_p])
        tau = special.logit(np.clip(0.8 * rate, 0.02, 0.95))
        head = np.concatenate([tau, [0.0] * int(self.behaviour)])
        if self.kind == "normal":
            return [np.concatenate([head, [1.0]])]
        if self.kind == "mixture":
            others = self.n_classes - 1
            return [np.concatenate([head, [-gap] * others, [0.0] * others]) for gap in (1.0, 2.5)]
        return [head]

    def summary(self, theta: np.ndarray) -> dict[str, np.ndarray | float]:
        _, shift, log_weight, *_ = self.unpack(theta)
        tau = theta[: self.n_tau]
        out: dict[str, np.ndarray | float] = {"tau": tau.copy() if self.time else float(tau[0])}
        if self.behaviour:
            out["behaviour"] = float(theta[self.n_tau])
        if self.kind == "normal":
            out["sigma"] = abs(float(theta[-1]))
        elif self.kind == "mixture":
            out["support"], out["weight"] = shift[0], np.exp(log_weight[0])
        return out


class _Objective:
    """H(theta) and log A_0(theta) with their gradients, for one period."""

    def __init__(self, layout: _Layout, statistics: ClosedStatistics):
        frequency_only = layout.frequency_only
        self.function = _compiled(layout.behaviour, frequency_only)
        names = ["detected", "occasion_mask", "frequencies"]
        names += [] if frequency_only else ["captures"]
        names += ["first_captures", "recaptures", "first_by_frequency"] if layout.behaviour else []
        self.data = [getattr(statistics, name) for name in names]
        self.layout = layout
        self.detected = float(statistics.detected[0])

    def __call__(self, theta: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        out = self.function(*self.layout.unpack(theta), *self.data)
        n_wrt = (len(out) - 2) // 2
        g_history = self.layout.pullback(theta, out[2 : 2 + n_wrt])
        g_log_a0 = self.layout.pullback(theta, out[2 + n_wrt :])
        return float(out[0]), float(out[1]), g_history, g_log_a0

    def negative_conditional(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        history, log_a0, g_history, g_log_a0 = self(theta)
        odds_unseen = np.exp(log_a0 - np.log(-np.expm1(log_a0)))
        value = history - self.detected * np.log(-np.expm1(log_a0))
        return -value, -(g_history + self.detected * odds_unseen * g_log_a0)

    def negative_multinomial(self, theta: np.ndarray, abundance: float) -> tuple[float, np.ndarray]:
        history, log_a0, g_history, g_log_a0 = self(theta)
        unseen = abundance - self.detected
        return -(history + unseen * log_a0), -(g_history + unseen * g_log_a0)

    def poisson_gradient(self, phi: np.ndarray) -> np.ndarray:
        """Gradient of the Poisson log-likelihood in (log lambda, theta)."""
        _, log_a0, g_history, g_log_a0 = self(phi[1:])
        expected = np.exp(phi[0])
        return np.concatenate(
            [
                [self.detected + expected * np.expm1(log_a0)],
                g_history + expected * np.exp(log_a0) * g_log_a0,
            ]
        )


def _minimise(function, starts: Sequence[np.ndarray], *args) -> optimize.OptimizeResult:
    best = None
    for start in starts:
        result = optimize.minimize(
            function, start, args=args, jac=True, method="BFGS", options={"gtol": 1e-7}
        )
        if best is None or result.fun < best.fun:
            best = result
    return best


def _stationary(result: optimize.OptimizeResult, detected: float) -> bool:
    """Whether the gradient is ~0 on the scale of the log-likelihood (about n).

    BFGS's own success flag also trips on harmless precision loss at the optimum.
    """
    return bool(np.all(np.isfinite(result.x))) and np.max(np.abs(result.jac)) <= 1e-5 * max(
        1.0, detected
    )


def _observed_information(gradient, phi: np.ndarray) -> np.ndarray:
    """Minus the Hessian by central differences of the analytic gradient."""
    steps = 1e-5 * np.maximum(1.0, np.abs(phi))
    columns = []
    for j, step in enumerate(steps):
        e = np.zeros_like(phi)
        e[j] = step
        columns.append((gradient(phi + e) - gradient(phi - e)) / (2 * step))
    hessian = np.column_stack(columns)
    return -(hessian + hessian.T) / 2


def _profile_interval(objective: _Objective, theta: np.ndarray, abundance: float, level: float):
    """Multinomial profile-likelihood interval for N (continuous N, exact log-factorials)."""
    n = objective.detected
    state = {"theta": theta}

    def profile(size: float) -> float:
        result = _minimise(objective.negative_multinomial, [state["theta"]], size)
        state["theta"] = result.x
        return special.gammaln(size + 1) - special.gammaln(size - n + 1) - result.fun

    best = optimize.minimize_scalar(
        lambda s: -profile(s), bounds=(n, 3 * abundance), method="bounded"
    )
    target = -best.fun - stats.chi2.ppf(level, 1) / 2
    lower = n
    if profile(n) < target:
        lower = optimize.brentq(lambda s: profile(s) - target, n, best.x, xtol=1e-6)
    upper, limit = np.inf, best.x
    for factor in (3, 10, 30):
        if profile(factor * abundance) < target:
            upper = optimize.brentq(
                lambda s: profile(s) - target, limit, factor * abundance, xtol=1e-6
            )
            break
        limit = factor * abundance
    return lower, upper


def fit_closed(
    statistics: ClosedStatistics | Mapping,
    model: str = "M0",
    *,
    heterogeneity: str = "normal",
    n_nodes: int = 40,
    quadrature: str = "gauss-hermite",
    n_classes: int = 2,
    period: int = 0,
    interval: str | None = "profile",
    level: float = CREDIBLE_INTERVAL,
) -> ClosedFit:
    """Maximum-likelihood fit of a closed model to one period.

    Parameters
    ----------
    statistics
        :class:`ClosedStatistics`, or ``CaptureData.stats`` (any mapping of the statistics).
    model
        One of :data:`MODELS`.
    heterogeneity
        ``"normal"`` (logit-normal, Rcapture's ``h="Normal"`` with ``n_nodes=20``) or
        ``"mixture"`` (``n_classes`` classes) for models with ``h``.
    n_nodes, quadrature
        Nodes and rule (``closed.normal_quadrature``) for the logit-normal integral; for
        sigma above ~1.5 use ``quadrature="trapezoid"`` with ~121 nodes.
    period
        Index of the period to fit.
    interval, level
        ``"profile"``, ``"log-normal"`` or None; confidence level (default the project's 90%).
    """
    if model not in MODELS:
        raise ModelSpecError(f"unknown closed model {model!r}; choose one of {', '.join(MODELS)}.")
    if heterogeneity not in HETEROGENEITY or interval not in INTERVALS or quadrature not in RULES:
        raise ModelSpecError(
            f"heterogeneity must be one of {HETEROGENEITY}, interval one of {INTERVALS} and "
            f"quadrature one of {RULES}."
        )
    if not isinstance(statistics, ClosedStatistics):
        statistics = ClosedStatistics.from_stats(statistics)
    statistics = statistics.period(period)
    if statistics.captures is None and ("t" in model[1:] or "b" in model[1:]):
        raise UnsupportedDataError(
            f"{model} needs per-occasion counts; frequency-only data support M0 and Mh only."
        )
    if statistics.first_by_frequency is None and "b" in model[1:]:
        raise UnsupportedDataError(f"{model} needs first captures, which list data do not have.")

    occasions = np.asarray(statistics.occasion_mask[0], dtype=bool)
    layout = _Layout(
        model, heterogeneity, occasions, n_nodes, n_classes, statistics.captures is None, quadrature
    )
    objective = _Objective(layout, statistics)
    result = _minimise(objective.negative_conditional, layout.starts(statistics))
    n = objective.detected
    _, log_a0, _, g_log_a0 = objective(result.x)
    p_star = -np.expm1(log_a0)
    abundance = n / p_star
    unseen = abundance - n

    phi = np.concatenate([[np.log(abundance)], result.x])
    information = _observed_information(objective.poisson_gradient, phi)
    direction = np.concatenate([[1.0], g_log_a0])
    try:
        variance = unseen + unseen**2 * (direction @ np.linalg.solve(information, direction))
    except np.linalg.LinAlgError:
        variance = np.nan
    stderr = float(np.sqrt(variance)) if variance >= 0 else np.nan
    name = f"{model} {heterogeneity}" if "h" in model[1:] else model
    # Heterogeneity models can have no interior maximum: the likelihood keeps rising as a
    # share of units with detection probability -> 0 grows (Link 2003), and N-hat runs off.
    boundary = p_star < BOUNDARY_DETECTION or not np.isfinite(stderr)
    if boundary:
        warnings.warn(
            f"{name}: the likelihood has no interior maximum or is flat in N (fitted "
            f"P* = {p_star:.2g}, N-hat = {abundance:.4g} for n = {n:.0f}, se {stderr:.3g}); "
            "these data do not identify N under this model, so N-hat is not an estimate.",
            IdentifiabilityWarning,
            stacklevel=2,
        )

    if interval is not None and boundary:
        bounds = (n, np.inf)
    elif interval == "profile":
        bounds = _profile_interval(objective, result.x, abundance, level)
    elif interval == "log-normal":
        spread = np.exp(stats.norm.ppf(0.5 + level / 2) * np.sqrt(np.log1p((stderr / unseen) ** 2)))
        bounds = (n + unseen / spread, n + unseen * spread)
    else:
        bounds = (np.nan, np.nan)

    log_likelihood = -result.fun + n * np.log(n) - n
    return ClosedFit(
        model=name,
        abundance=float(abundance),
        stderr=stderr,
        interval=(float(bounds[0]), float(bounds[1])),
        interval_method=interval,
        level=level,
        detected=n,
        detection_probability=float(p_star),
        parameters=layout.summary(result.x),
        log_likelihood=float(log_likelihood),
        n_parameters=layout.size + 1,
        aic=float(-2 * log_likelihood + 2 * (layout.size + 1)),
        converged=_stationary(result, n) and not boundary,
    )


def fit_closed_models(
    statistics: ClosedStatistics | Mapping,
    models: Sequence[str] = ("M0", "Mt", "Mb", "Mh", "Mth"),
    **options,
) -> pd.DataFrame:
    """Fit several closed models to one period; one row per model (like Rcapture's closedp).

    ``options`` are passed to :func:`fit_closed`.
    """
    if not isinstance(statistics, ClosedStatistics):
        statistics = ClosedStatistics.from_stats(statistics)
    rows = []
    for model in models:
        fit = fit_closed(statistics, model, **options)
        rows.append(
            {
                "model": fit.model,
                "abundance": fit.abundance,
                "stderr": fit.stderr,
                "lower": fit.interval[0],
                "upper": fit.interval[1],
                "detection_probability": fit.detection_probability,
                "log_likelihood": fit.log_likelihood,
                "n_parameters": fit.n_parameters,
                "aic": fit.aic,
                "converged": fit.converged,
            }
        )
    return pd.DataFrame(rows).set_index("model")
