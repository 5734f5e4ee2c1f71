"""The scenario catalogue: documented presets of :class:`SimulationSettings` (METHODS.md §7).

Each scenario isolates one way in which observed counts can grow, or one way in which
identification fails. All but ``hotline`` are small (5 periods 2013-2017, 10 occasions or 4
lists, N in the low thousands, per-occasion detection 0.04-0.25) so that model tests on them
are fast and carry real recapture information. ``hotline`` is the motivating case at full
scale. Unless a scenario says otherwise, half of the units persist from one period to the
next (``survival = 0.5``), N is Poisson around its path and detection is homogeneous.

Override any setting by name: ``get_scenario("hotline").updated({"n_occasions": 12})`` or
``simulate("hotline", seed=1, n_occasions=12)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from hiddenpop.exceptions import ScenarioError
from hiddenpop.simulation.settings import SimulationSettings

__all__ = ["DEFAULT_SCENARIO", "describe_scenario", "get_scenario", "scenario_names"]

#: The scenario used when none is named (CONTRACT.md).
DEFAULT_SCENARIO = "hotline"

_CATALOGUE: dict[str, Callable[[], SimulationSettings]] = {}


def _scenario(name: str) -> Callable:
    def register(preset: Callable[[], SimulationSettings]) -> Callable[[], SimulationSettings]:
        _CATALOGUE[name] = preset
        return preset

    return register


@_scenario("hotline")
def hotline() -> SimulationSettings:
    """Hotline reports 2010-2017: N grows ~16x (5,000 to 82,000) while reporting triples.

    The motivating case (METHODS.md §1): 8 yearly periods of 52 weekly occasions; weekly
    detection of a typical unit rises from 0.0008 to 0.0025 (logit-linear), so 4-13% of units
    are reported in a year and most of them only once: thin recaptures. Mild logit-normal
    heterogeneity (sigma 0.5), weekly noise (sd 0.2), 30% of units persist into the next year,
    denominator 5.48 million (prevalence about 9 to 150 per 10,000).
    """
    return SimulationSettings(
        name="hotline",
        first_period=2010,
        n_periods=8,
        n_occasions=52,
        abundance=(5_000.0, 82_000.0),
        survival=0.3,
        detection=(0.0008, 0.0025),
        occasion_sd=0.2,
        heterogeneity_sd=0.5,
        denominator=5.48e6,
    )


@_scenario("true-growth")
def true_growth() -> SimulationSettings:
    """A: the population grows 3.5x (1,000 to 3,500) while detection stays at 0.12.

    All observed growth is real; a robust-design model with a trend on log N recovers it.
    """
    return SimulationSettings(name="true-growth", abundance=(1_000.0, 3_500.0), detection=0.12)


@_scenario("reporting-growth")
def reporting_growth() -> SimulationSettings:
    """B: the population is constant (2,000) while reporting effort triples detection.

    Detection rises from 0.06 to about 0.18 through the reporting-effort covariate (effort 0 to
    1, effect 1.24 on the logit scale), e.g. more companies reporting. All observed growth is
    reporting growth; a detection trend or the effort covariate separates it.
    """
    return SimulationSettings(
        name="reporting-growth",
        abundance=2_000.0,
        detection=0.06,
        effort=(0.0, 1.0),
        effort_effect=1.24,
    )


@_scenario("both")
def both() -> SimulationSettings:
    """C: the population grows 3.5x (1,000 to 3,500) and detection triples (0.06 to 0.18).

    Observed growth is the product of the two; homogeneous detection keeps them separable.
    """
    return SimulationSettings(name="both", abundance=(1_000.0, 3_500.0), detection=(0.06, 0.18))


@_scenario("coverage-expansion")
def coverage_expansion() -> SimulationSettings:
    """B': the population is constant (2,000); the share that can be reported grows 40% to 100%.

    Reachable units are detected with 0.15 per occasion throughout, so recaptures among the
    detected look the same every year while detections grow 2.5x. Not identifiable from one
    source: a closed fit attributes the growth to N.
    """
    return SimulationSettings(
        name="coverage-expansion", abundance=2_000.0, detection=0.15, coverage=(0.4, 1.0)
    )


@_scenario("heterogeneity")
def heterogeneity() -> SimulationSettings:
    """D: strong logit-normal heterogeneity (sigma 1.5); N doubles and detection doubles.

    N 1,500 to 3,000; detection of a typical unit 0.05 to 0.10. Unit effects persist across
    periods. A model without heterogeneity puts the level 2-4x too low and biases the trend;
    Mth with sigma shared across periods is the correct structure.
    """
    return SimulationSettings(
        name="heterogeneity",
        abundance=(1_500.0, 3_000.0),
        detection=(0.05, 0.10),
        heterogeneity_sd=1.5,
    )


@_scenario("invisible-class")
def invisible_class() -> SimulationSettings:
    """D': a class that is never reported grows from 20% to 40% of units; N doubles.

    N 1,500 to 3,000; visible units are detected with 0.15 per occasion. The invisible share
    is not identifiable from the records: levels are too low and the trend too flat unless an
    informative prior on the share is given.
    """
    return SimulationSettings(
        name="invisible-class",
        abundance=(1_500.0, 3_000.0),
        detection=0.15,
        coverage=(0.8, 0.6),
    )


@_scenario("turnover")
def turnover() -> SimulationSettings:
    """E: units stay active for a shrinking part of the year (100% to 40% of occasions).

    About 1,500 units are active at any time, but as residence shortens more distinct units
    pass through a year (N = 1,500 / residence, 1,500 to 3,750; both log-linear), like IP
    addresses reassigned more often: growth in N without growth in the standing population
    (``active_per_occasion`` in the truth). A closed model within the period is wrong; an open
    (Jolly-Seber/POPAN) model is right.
    """
    return SimulationSettings(
        name="turnover",
        abundance=(1_500.0, 3_750.0),
        detection=0.15,
        residence=(1.0, 0.4),
    )


@_scenario("trap-shy")
def trap_shy() -> SimulationSettings:
    """F: a reported unit is less likely to be reported again (odds x0.22, b = -1.5).

    N 1,500 to 3,000; first detection 0.15 per occasion. Few recaptures make a closed M0 fit
    put N too high; Mb / Mbh is the correct structure.
    """
    return SimulationSettings(
        name="trap-shy", abundance=(1_500.0, 3_000.0), detection=0.15, behaviour=-1.5
    )


@_scenario("list-dependence")
def list_dependence() -> SimulationSettings:
    """G: four lists (A-D); B is much more likely for units on A (log odds ratio 2), D for C (1).

    N 2,000 to 4,000; list detection about 0.2 (list offsets 0, -0.4, 0.3, -0.2). Positive
    dependence inflates overlaps, so a model of independent lists puts N too low; log-linear
    interactions or latent classes are the correct structure.
    """
    return SimulationSettings(
        name="list-dependence",
        n_sources=4,
        abundance=(2_000.0, 4_000.0),
        detection=0.2,
        source_effects=(0.0, -0.4, 0.3, -0.2),
        source_dependence=(("A", "B", 2.0), ("C", "D", 1.0)),
    )


@_scenario("declining-population")
def declining_population() -> SimulationSettings:
    """The population halves (4,000 to 2,000) while reports rise: detection 0.04 to 0.25.

    Observed counts grow about 40% although N falls: reporting growth can hide a decline.
    """
    return SimulationSettings(
        name="declining-population", abundance=(4_000.0, 2_000.0), detection=(0.04, 0.25)
    )


def scenario_names() -> list[str]:
    """Names of the scenarios in the catalogue, the default first."""
    return list(_CATALOGUE)


def get_scenario(name: str) -> SimulationSettings:
    """Settings of a named scenario.

    Raises
    ------
    ScenarioError
        If ``name`` is not in the catalogue.
    """
    try:
        return _CATALOGUE[name]()
    except KeyError:
        raise ScenarioError(
            f"unknown scenario {name!r}; choose one of {', '.join(_CATALOGUE)} "
            "(hiddenpop scenarios lists them)"
        ) from None


def describe_scenario(name: str) -> str:
    """One-line description of a scenario (the first line of its docstring)."""
    if name not in _CATALOGUE:
        get_scenario(name)
    return inspect.getdoc(_CATALOGUE[name]).splitlines()[0]
