"""The parameters of one simulated surveillance system, as an immutable, validated dataclass.

Quantities that may change from period to period (abundance, detection, coverage, residence,
reporting effort, denominator) are *period paths*. A path is given as

- one number: constant over the periods;
- a pair ``(first, last)``: interpolated between the first and the last period, on the scale
  on which the quantity trends (log for abundance and residence, logit for detection, linear
  otherwise);
- ``n_periods`` numbers: one value per period, used as given.

Every field can be overridden one at a time, e.g. ``dataclasses.replace(settings, behaviour=-1)``
or ``simulate("hotline", n_occasions=12)``; the result is validated again.
"""

from __future__ import annotations

import dataclasses
import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hiddenpop.constants import MAX_SOURCES
from hiddenpop.detection import expit, logit
from hiddenpop.exceptions import ScenarioError

__all__ = ["HETEROGENEITY_KINDS", "PathLike", "SimulationSettings", "interpolate_path"]

#: A period path: one number, a (first, last) pair, or one number per period.
PathLike = float | tuple[float, ...]

#: Distributions of the persistent unit effect ``z_i``.
HETEROGENEITY_KINDS = ("logit-normal", "mixture")

#: The scale each path trends on (used to interpolate a (first, last) pair).
_PATH_SCALES = {
    "abundance": "log",
    "detection": "logit",
    "coverage": "linear",
    "residence": "log",
    "effort": "linear",
    "denominator": "linear",
}


def interpolate_path(value: PathLike, n_periods: int, scale: str = "linear") -> np.ndarray:
    """Expand a period path to one value per period.

    Parameters
    ----------
    value : float or tuple of float
        A constant, a ``(first, last)`` pair or ``n_periods`` values.
    n_periods : int
        Number of periods T.
    scale : {"linear", "log", "logit"}
        Scale on which a pair is interpolated: ``g(v_t) = g(first) + (g(last) - g(first)) * s_t``
        with ``s_t = (t - 1) / (T - 1)`` and ``g`` the identity, log or logit.

    Returns
    -------
    numpy.ndarray, shape (T,)
    """
    values = np.atleast_1d(np.asarray(value, dtype=float))
    if values.size == n_periods:
        return values.copy()
    if values.size == 1:
        return np.full(n_periods, values[0])
    if values.size != 2:
        raise ScenarioError(
            f"a period path needs 1, 2 (first, last) or {n_periods} values, got {values.size}"
        )
    share = np.linspace(0.0, 1.0, n_periods) if n_periods > 1 else np.zeros(1)
    if scale == "log":
        return np.exp(np.log(values[0]) + (np.log(values[1]) - np.log(values[0])) * share)
    if scale == "logit":
        ends = logit(values)
        return expit(ends[0] + (ends[1] - ends[0]) * share)
    return values[0] + (values[1] - values[0]) * share


def _as_path(name: str, value: Any) -> PathLike:
    if isinstance(value, bool):
        raise ScenarioError(f"setting {name!r} must be a number or a list of numbers")
    if isinstance(value, int | float | np.number):
        return float(value)
    if isinstance(value, Sequence) and not isinstance(value, str):
        try:
            return tuple(float(v) for v in value)
        except (TypeError, ValueError):
            pass
    raise ScenarioError(f"setting {name!r} must be a number or a list of numbers, got {value!r}")


@dataclass(frozen=True)
class SimulationSettings:
    """Parameters of the generating process (METHODS.md §5, §7).

    Population (robust design, T periods). Expected abundance ``lambda_t`` follows the
    ``abundance`` path; ``N_t ~ Poisson(lambda_t)`` (or ``N_t = round(lambda_t)`` without
    ``abundance_noise``). Of the ``N_{t-1}`` units of the previous period,
    ``S_t = min(Binomial(N_{t-1}, survival), N_t)`` persist (a uniformly chosen subset, keeping
    their ids and unit effects); the other ``N_t - S_t`` are new recruits.

    Detection. For unit i, period t and occasion (or source) k::

        tau[t, k] = mu_t + x_t * theta + omega[t, k] (+ source_effect[k])
        logit p[i, t, k] = tau[t, k] + sigma * z_i + b * seen_before[i, t, k]

    built with :mod:`hiddenpop.detection`, where ``mu_t = logit(detection_t)``,
    ``x_t = effort_t``, ``theta = effort_effect``, ``omega ~ N(0, occasion_sd)``,
    ``sigma = heterogeneity_sd``, ``b = behaviour``. The unit effect ``z_i`` is drawn once per
    unit and kept across periods: ``z_i ~ N(0, 1)`` (logit-normal) or ``z_i`` = one of
    ``mixture_support`` with probabilities ``mixture_weights`` (finite mixture).

    Reachability. Each unit carries a persistent ``r_i ~ Uniform(0, 1)`` and can be reported in
    period t only if ``r_i < coverage_t``; otherwise ``p = 0`` on every occasion. A constant
    coverage below 1 is an invisible class; a rising coverage is coverage expansion, and units
    once reachable stay reachable.

    Turnover. In period t a unit is active on a window of ``l_i`` consecutive occasions,
    ``l_i = 1 + Binomial(K - 1, (residence_t * K - 1) / (K - 1))`` (mean ``residence_t * K``),
    starting uniformly at random among the ``K - l_i + 1`` possible starts; ``p = 0`` outside.

    Sources. With ``n_sources = L > 0`` the occasions are L lists labelled ``A, B, ...``. Each
    entry ``(l, m, gamma)`` of ``source_dependence`` (with l before m) adds ``gamma`` to the logit
    of list m for units on list l: the behavioural term applied across lists, a log odds ratio
    ``gamma`` between the two lists. A common ``z_i`` is a shared latent factor that makes all
    lists positively dependent.

    Attributes
    ----------
    name : str
        Scenario name written to the truth.
    first_period : int
        Label of the first period (e.g. a year); periods are labelled consecutively.
    n_periods : int
        Number of primary periods T (at least 1).
    n_occasions : int
        Secondary occasions K per period (at least 2); ignored when ``n_sources > 0``.
    n_sources : int
        Number of lists L (0 for an occasion design; otherwise 2 to ``MAX_SOURCES``).
    abundance : path
        Expected abundance ``lambda_t`` (log-linear between a pair).
    abundance_noise : bool
        Draw ``N_t ~ Poisson(lambda_t)``; if False, ``N_t = round(lambda_t)`` exactly.
    survival : float
        Apparent survival ``phi`` of units from one period to the next.
    detection : path
        Per-occasion detection probability of a typical unit (``z = 0``, no effort, no
        occasion noise); logit-linear between a pair.
    occasion_sd : float
        Standard deviation ``sigma_omega`` of the occasion noise.
    effort : path
        Reporting-effort covariate ``x_t`` (e.g. reporting companies, standardised).
    effort_effect : float
        Its coefficient ``theta`` on the logit scale.
    heterogeneity : {"logit-normal", "mixture"}
        Distribution of ``z_i``.
    heterogeneity_sd : float
        Scale ``sigma`` of the unit effect on the logit scale (0: homogeneous).
    mixture_support, mixture_weights : tuple of float
        Support points of ``z_i`` and their probabilities (finite mixture only).
    coverage : path
        Share of units that can ever be reported in the period.
    residence : path
        Mean share of the period's occasions on which a unit is active (1: closed period);
        log-linear between a pair.
    behaviour : float
        Behavioural response ``b`` after the first detection in a period (< 0 trap-shy,
        > 0 trap-happy).
    source_effects : tuple of float
        Logit offset of each list (empty: all 0).
    source_dependence : tuple of (str, str, float)
        Pairwise list dependence ``(earlier list, later list, log odds ratio)``.
    denominator : path or None
        Size of the base population per period (e.g. IP addresses in use), if any.
    """

    name: str = "custom"
    first_period: int = 2013
    n_periods: int = 5
    n_occasions: int = 10
    n_sources: int = 0
    abundance: PathLike = 2000.0
    abundance_noise: bool = True
    survival: float = 0.5
    detection: PathLike = 0.15
    occasion_sd: float = 0.0
    effort: PathLike = 0.0
    effort_effect: float = 0.0
    heterogeneity: str = "logit-normal"
    heterogeneity_sd: float = 0.0
    mixture_support: tuple[float, ...] = (-1.0, 1.0)
    mixture_weights: tuple[float, ...] = (0.5, 0.5)
    coverage: PathLike = 1.0
    residence: PathLike = 1.0
    behaviour: float = 0.0
    source_effects: tuple[float, ...] = ()
    source_dependence: tuple[tuple[str, str, float], ...] = field(default=())
    denominator: PathLike | None = None

    def __post_init__(self) -> None:
        for name in _PATH_SCALES:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _as_path(name, value))
        for name in ("mixture_support", "mixture_weights", "source_effects"):
            value = _as_path(name, getattr(self, name))
            object.__setattr__(self, name, value if isinstance(value, tuple) else (value,))
        object.__setattr__(self, "source_dependence", _as_dependence(self.source_dependence))
        self._check_numbers()
        self._check_design()
        self._check_paths()

    # -- derived views ---------------------------------------------------------------------
    @property
    def is_list_design(self) -> bool:
        """True when occasions are lists (sources) rather than secondary occasions."""
        return self.n_sources > 0

    @property
    def periods(self) -> np.ndarray:
        """Period labels ``first_period, first_period + 1, ...``."""
        return np.arange(self.first_period, self.first_period + self.n_periods)

    @property
    def labels(self) -> list:
        """Occasion labels ``1..K`` or list labels ``A, B, ...``."""
        if self.is_list_design:
            return list(string.ascii_uppercase[: self.n_sources])
        return list(range(1, self.n_occasions + 1))

    @property
    def width(self) -> int:
        """Number of occasions K, or of lists L."""
        return self.n_sources if self.is_list_design else self.n_occasions

    def path(self, name: str) -> np.ndarray:
        """The period path ``name`` expanded to one value per period."""
        return interpolate_path(getattr(self, name), self.n_periods, _PATH_SCALES[name])

    def to_dict(self) -> dict[str, Any]:
        """Plain (JSON-serialisable) dictionary of every field."""
        out = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if item.name == "source_dependence":
                value = [list(entry) for entry in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[item.name] = value
        return out

    def updated(self, overrides: Mapping[str, Any]) -> SimulationSettings:
        """A copy with some fields replaced; unknown names raise :class:`ScenarioError`."""
        known = {item.name for item in dataclasses.fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ScenarioError(
                f"unknown simulation setting(s) {', '.join(unknown)}; "
                f"known settings: {', '.join(sorted(known))}"
            )
        try:
            return dataclasses.replace(self, **overrides)
        except TypeError as error:
            raise ScenarioError(f"invalid simulation setting: {error}") from error

    # -- validation ------------------------------------------------------------------------
    def _check_numbers(self) -> None:
        for name in ("first_period", "n_periods", "n_occasions", "n_sources"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ScenarioError(f"setting {name!r} must be an integer, got {value!r}")
        for name in (
            "survival",
            "occasion_sd",
            "effort_effect",
            "heterogeneity_sd",
            "behaviour",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ScenarioError(f"setting {name!r} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ScenarioError(f"setting {name!r} must be finite, got {value!r}")
        if not isinstance(self.abundance_noise, bool):
            raise ScenarioError("setting 'abundance_noise' must be true or false")
        if self.n_periods < 1:
            raise ScenarioError("n_periods must be at least 1")
        if not 0.0 <= self.survival <= 1.0:
            raise ScenarioError(f"survival must lie in [0, 1], got {self.survival}")
        if self.occasion_sd < 0 or self.heterogeneity_sd < 0:
            raise ScenarioError("occasion_sd and heterogeneity_sd must be non-negative")
        if self.heterogeneity not in HETEROGENEITY_KINDS:
            raise ScenarioError(
                f"heterogeneity must be one of {', '.join(HETEROGENEITY_KINDS)}, "
                f"got {self.heterogeneity!r}"
            )
        weights = np.asarray(self.mixture_weights)
        if len(self.mixture_support) != weights.size or weights.size == 0:
            raise ScenarioError("mixture_support and mixture_weights need the same length (>= 1)")
        if np.any(weights < 0) or not math.isclose(weights.sum(), 1.0, abs_tol=1e-9):
            raise ScenarioError("mixture_weights must be non-negative and sum to 1")

    def _check_design(self) -> None:
        if self.n_sources == 0:
            if self.n_occasions < 2:
                raise ScenarioError("n_occasions must be at least 2 (recaptures need two)")
            if self.source_effects or self.source_dependence:
                raise ScenarioError("source_effects and source_dependence need n_sources >= 2")
            return
        if not 2 <= self.n_sources <= MAX_SOURCES:
            raise ScenarioError(f"n_sources must be 0 or between 2 and {MAX_SOURCES}")
        if self.behaviour != 0.0:
            raise ScenarioError("behaviour applies to occasions; use source_dependence for lists")
        if self.source_effects and len(self.source_effects) != self.n_sources:
            raise ScenarioError(f"source_effects needs {self.n_sources} values (one per list)")
        labels = self.labels
        for earlier, later, _ in self.source_dependence:
            if earlier not in labels or later not in labels:
                raise ScenarioError(
                    f"source_dependence names lists {earlier!r}, {later!r}; "
                    f"lists are {', '.join(labels)}"
                )
            if labels.index(earlier) >= labels.index(later):
                raise ScenarioError(
                    f"source_dependence ({earlier!r}, {later!r}): the first list must come first"
                )

    def _check_paths(self) -> None:
        bounds = {
            "abundance": (0.0, math.inf, "non-negative"),
            "detection": (0.0, 1.0, "strictly between 0 and 1"),
            "coverage": (0.0, 1.0, "in [0, 1]"),
            "residence": (0.0, 1.0, "in (0, 1]"),
            "effort": (-math.inf, math.inf, "finite"),
            "denominator": (0.0, math.inf, "positive"),
        }
        for name, (low, high, wording) in bounds.items():
            if getattr(self, name) is None:
                continue
            with np.errstate(all="ignore"):
                values = self.path(name)
            inside = np.isfinite(values) & (values >= low) & (values <= high)
            if name in ("detection", "residence", "denominator"):
                inside &= values > low
            if name == "detection":
                inside &= values < high
            if not inside.all():
                raise ScenarioError(f"{name} must be {wording} in every period, got {values}")


def _as_dependence(value: Any) -> tuple[tuple[str, str, float], ...]:
    try:
        entries = tuple((str(a), str(b), float(gamma)) for a, b, gamma in value)
    except (TypeError, ValueError) as error:
        raise ScenarioError(
            "source_dependence must be a list of (list, list, log odds ratio) triples, "
            f"e.g. [['A', 'B', 2.0]]; got {value!r}"
        ) from error
    return entries
