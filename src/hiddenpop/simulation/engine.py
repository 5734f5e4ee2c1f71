"""The seeded generator of detection records with known truth.

:func:`simulate` turns a scenario (a name from the catalogue or a :class:`SimulationSettings`)
and a seed into a :class:`Simulation`: the detection records, the truth and the population
table. The generating equations are stated on :class:`SimulationSettings`; every detection
logit is built with :func:`hiddenpop.detection.occasion_logit` and
:func:`hiddenpop.detection.unit_logit`, the parameterisation the likelihoods use.

Scale. Units are processed in chunks of about ``CHUNK_CELLS`` unit-occasion cells, so memory is
bounded by the chunk and by the number of detections, never by a dense units x occasions
matrix. Without a behavioural response or list dependence a chunk is one vectorised Bernoulli
draw; with one, the draw is sequential over the K occasions (vector operations over units).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from hiddenpop.detection import expit, logit, occasion_logit, unit_logit
from hiddenpop.simulation.scenarios import get_scenario
from hiddenpop.simulation.settings import SimulationSettings
from hiddenpop.simulation.truth import build_truth, truth_summary

__all__ = ["CHUNK_CELLS", "Simulation", "simulate"]

#: Unit-occasion cells drawn at once (about 8 MB per float array); fixed, so that a seed
#: reproduces the same records on every machine.
CHUNK_CELLS = 1 << 20


@dataclass(frozen=True, eq=False)
class Simulation:
    """Simulated detection records and the truth behind them.

    Attributes
    ----------
    settings : SimulationSettings
        The parameters used.
    seed : int
        The seed; ``simulate(settings, seed=seed)`` reproduces everything.
    records : pandas.DataFrame
        One row per detection: ``id`` (int, kept by a unit across periods), ``period`` (int
        label) and ``occasion`` (int 1..K) or ``source`` (list label), sorted.
    truth : xarray.Dataset
        Abundance, detections, detection fractions, growth ratios and every parameter used
        (see :func:`hiddenpop.simulation.truth.build_truth`).
    population : pandas.DataFrame
        One row per unit present in a period: ``id``, ``period``, ``heterogeneity_shift``
        (``sigma * z_i``), ``reachable``, ``first_active`` and ``last_active`` (occasion labels
        of the unit's activity window; occasion designs only) and ``reporting_probability``
        (probability of being reported at least once in the period).
    """

    settings: SimulationSettings
    seed: int
    records: pd.DataFrame
    truth: xr.Dataset
    population: pd.DataFrame

    def summary(self) -> dict[str, Any]:
        """The truth as a JSON-ready dictionary (CONTRACT.md, ``simulate --truth``)."""
        return truth_summary(self.truth)

    def denominator_table(self) -> pd.DataFrame | None:
        """``period, denominator`` table for ``--denominator``, or None without a denominator."""
        if "denominator" not in self.truth:
            return None
        return pd.DataFrame(
            {
                "period": self.truth["period"].to_numpy(),
                "denominator": self.truth["denominator"].to_numpy(),
            }
        )


def simulate(
    scenario: str | SimulationSettings = "hotline",
    *,
    seed: int | None = None,
    **overrides: Any,
) -> Simulation:
    """Simulate detection records from a scenario.

    Parameters
    ----------
    scenario : str or SimulationSettings
        A name from :func:`hiddenpop.simulation.scenario_names` or explicit settings.
    seed : int, optional
        Seed of :func:`numpy.random.default_rng`. Without one a fresh seed is drawn and recorded
        in the result, so every simulation can be reproduced.
    **overrides
        Settings to replace, e.g. ``n_occasions=12`` or ``behaviour=-1.0``.

    Returns
    -------
    Simulation

    Raises
    ------
    ScenarioError
        Unknown scenario name, unknown setting or invalid value.

    Examples
    --------
    >>> sim = simulate("trap-shy", seed=1, n_occasions=12)
    >>> sim.records.columns.tolist()
    ['id', 'period', 'occasion']
    """
    settings = get_scenario(scenario) if isinstance(scenario, str) else scenario
    if overrides:
        settings = settings.updated(overrides)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    population_rng, occasion_rng, detection_rng = (
        np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(3)
    )
    members, units, tally = _draw_population(settings, population_rng)
    tau, parameters = _occasion_logits(settings, occasion_rng)
    records, population = _detect(settings, members, units, tau, detection_rng, tally)
    truth = build_truth(settings, seed, tally, parameters)
    return Simulation(settings, seed, records, truth, population)


def _draw_population(
    settings: SimulationSettings, rng: np.random.Generator
) -> tuple[list[np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Units present in each period (ids), persistent unit effects and population counts."""
    expected = settings.path("abundance")
    if settings.abundance_noise:
        abundance = rng.poisson(expected)
    else:
        abundance = np.rint(expected).astype(np.int64)
    survivors = np.zeros(settings.n_periods, dtype=np.int64)
    members: list[np.ndarray] = []
    n_units = 0
    for t, size in enumerate(abundance):
        kept = np.empty(0, dtype=np.int64)
        if t > 0:
            n_kept = min(rng.binomial(abundance[t - 1], settings.survival), size)
            kept = np.sort(rng.choice(members[-1], size=n_kept, replace=False))
        recruits = np.arange(n_units, n_units + size - kept.size, dtype=np.int64)
        n_units += recruits.size
        survivors[t] = kept.size
        members.append(np.concatenate([kept, recruits]))
    if settings.heterogeneity == "mixture":
        z = rng.choice(
            np.asarray(settings.mixture_support), size=n_units, p=settings.mixture_weights
        )
    else:
        z = rng.standard_normal(n_units)
    units = {"shift": settings.heterogeneity_sd * z, "reach": rng.random(n_units)}
    tally = {
        "expected_abundance": expected,
        "N": abundance,
        "survivors": survivors,
        "recruits": abundance - survivors,
    }
    return members, units, tally


def _occasion_logits(
    settings: SimulationSettings, rng: np.random.Generator
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``tau[t, k]`` and the parameters it is made of."""
    shape = (settings.n_periods, settings.width)
    level = logit(settings.path("detection"))
    effort = settings.path("effort")
    noise = settings.occasion_sd * rng.standard_normal(shape)
    effect = noise.copy()
    if settings.source_effects:
        effect += np.asarray(settings.source_effects)[None, :]
    covariates = np.broadcast_to(effort[:, None, None], (*shape, 1))
    tau = np.broadcast_to(
        occasion_logit(level, effect, covariates, np.array([settings.effort_effect])), shape
    )
    parameters = {
        "reporting_level": level,
        "effort": effort,
        "occasion_noise": noise,
        "occasion_logit": tau,
    }
    if settings.is_list_design:
        parameters["source_effect"] = (
            np.asarray(settings.source_effects)
            if settings.source_effects
            else np.zeros(settings.n_sources)
        )
        parameters["source_dependence"] = _dependence_matrix(settings)
    return tau, parameters


def _dependence_matrix(settings: SimulationSettings) -> np.ndarray:
    """``gamma[l, m]``: log odds ratio added to list m's logit for units on list l (l < m)."""
    labels = settings.labels
    gamma = np.zeros((settings.n_sources, settings.n_sources))
    for earlier, later, value in settings.source_dependence:
        gamma[labels.index(earlier), labels.index(later)] += value
    return gamma


def _activity_windows(
    settings: SimulationSettings, residence: float, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """First active occasion (0-based) and window length of each unit in one period."""
    k = settings.width
    if settings.is_list_design or residence >= 1.0:
        return np.zeros(size, dtype=np.int64), np.full(size, k, dtype=np.int64)
    share = np.clip((residence * k - 1.0) / (k - 1.0), 0.0, 1.0)
    length = 1 + rng.binomial(k - 1, share, size=size)
    start = rng.integers(0, k - length + 1)
    return start, length


def _detect(
    settings: SimulationSettings,
    members: list[np.ndarray],
    units: dict[str, np.ndarray],
    tau: np.ndarray,
    rng: np.random.Generator,
    tally: dict[str, np.ndarray],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Draw detections period by period; fill ``tally`` with per-period truth."""
    coverage = settings.path("coverage")
    residence = settings.path("residence")
    gamma = _dependence_matrix(settings) if settings.is_list_design else None
    width = settings.width
    chunk = max(1, CHUNK_CELLS // width)
    hit_ids, hit_occasions, hit_periods, rows = [], [], [], []
    reachable_count = np.zeros(settings.n_periods, dtype=np.int64)
    reporting = np.zeros(settings.n_periods)
    active = np.zeros(settings.n_periods)
    for t, ids in enumerate(members):
        start, length = _activity_windows(settings, residence[t], ids.size, rng)
        shift = units["shift"][ids]
        reachable = units["reach"][ids] < coverage[t]
        p_star = np.zeros(ids.size)
        found_units = [np.empty(0, dtype=np.int64)]
        found_occasions = [np.empty(0, dtype=np.int64)]
        for lo in range(0, ids.size, chunk):
            sl = slice(lo, lo + chunk)
            index = np.flatnonzero(reachable[sl]) + lo
            unit_hits, occasion_hits, p_star[index] = _detect_chunk(
                tau[t], shift[index], start[index], length[index], settings.behaviour, gamma, rng
            )
            found_units.append(index[unit_hits])
            found_occasions.append(occasion_hits)
        found_ids = ids[np.concatenate(found_units)]
        found_occasion = np.concatenate(found_occasions)
        order = np.lexsort((found_ids, found_occasion))
        hit_ids.append(found_ids[order])
        hit_occasions.append(found_occasion[order])
        hit_periods.append(np.full(order.size, settings.periods[t]))
        reachable_count[t] = reachable.sum()
        reporting[t] = p_star.mean() if ids.size else np.nan
        active[t] = length.sum() / width
        rows.append(_population_rows(settings, t, ids, shift, reachable, start, length, p_star))
    tally["reachable"] = reachable_count
    tally["reporting_probability"] = reporting
    tally["active_per_occasion"] = active
    occasions = np.concatenate(hit_occasions)
    label_name = "source" if settings.is_list_design else "occasion"
    labels = np.asarray(settings.labels, dtype=object if settings.is_list_design else np.int64)
    records = pd.DataFrame(
        {
            "id": np.concatenate(hit_ids),
            "period": np.concatenate(hit_periods).astype(np.int64),
            label_name: labels[occasions],
        }
    )
    tally["detected"] = (
        records.groupby("period")["id"].nunique().reindex(settings.periods, fill_value=0).to_numpy()
    )
    return records, pd.concat(rows, ignore_index=True)


def _detect_chunk(
    tau: np.ndarray,
    shift: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    behaviour: float,
    gamma: np.ndarray | None,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Detections of one chunk of reachable units in one period.

    Returns the row (unit within the chunk) and occasion index of every detection and each
    unit's probability of being detected at least once, ``1 - prod_k (1 - p[i, k])`` with the
    first-detection probabilities (a behavioural response acts only after a detection).
    """
    width = tau.size
    first = expit(unit_logit(tau[None, :], shift[:, None]))
    window = None
    if (length < width).any():
        occasion = np.arange(width)
        window = (occasion >= start[:, None]) & (occasion < (start + length)[:, None])
        first *= window
    p_star = -np.expm1(np.log1p(-first).sum(axis=1))
    dependent = gamma is not None and np.any(gamma != 0.0)
    if behaviour == 0.0 and not dependent:
        return (*np.nonzero(rng.random(first.shape) < first), p_star)
    hits = np.zeros(first.shape, dtype=bool)
    seen = np.zeros(shift.size, dtype=bool)
    for k in range(width):
        if dependent:
            # seen_before carries the summed log odds ratios of the earlier lists the unit is on
            logit_k = unit_logit(tau[k], shift, 1.0, hits[:, :k] @ gamma[:k, k])
        else:
            logit_k = unit_logit(tau[k], shift, behaviour, seen)
        p = expit(logit_k) if window is None else expit(logit_k) * window[:, k]
        hits[:, k] = rng.random(shift.size) < p
        seen |= hits[:, k]
    return (*np.nonzero(hits), p_star)


def _population_rows(
    settings: SimulationSettings,
    t: int,
    ids: np.ndarray,
    shift: np.ndarray,
    reachable: np.ndarray,
    start: np.ndarray,
    length: np.ndarray,
    p_star: np.ndarray,
) -> pd.DataFrame:
    columns: Mapping[str, np.ndarray] = {
        "id": ids,
        "period": np.full(ids.size, settings.periods[t], dtype=np.int64),
        "heterogeneity_shift": shift,
        "reachable": reachable,
    }
    if not settings.is_list_design:
        columns = {**columns, "first_active": start + 1, "last_active": start + length}
    return pd.DataFrame({**columns, "reporting_probability": p_star})
