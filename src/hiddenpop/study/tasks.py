"""One unit of work of a simulation study: simulate a replicate, fit a model, score it.

A :class:`StudyTask` is plain data (picklable, sent to local processes or Dask workers).
Its seeds are derived from the study seed and the task's names only
(:func:`replicate_seed`, :func:`fit_seed`), so a task gives the same rows whichever worker
runs it and in whatever order; every model of a study sees the same simulated replicate.

Scored quantities, each against the simulation's truth (one row per quantity and period):

========================  ====================================================  ============
quantity                  posterior draws                                       truth
========================  ====================================================  ============
``N``                     N_t = n_t + unseen, per period                        N_t
``true_growth``           N_T / N_1 (multi-period data)                         N_T / N_1
``reporting_growth``      P*_T / P*_1 (multi-period data)                       P*_T / P*_1
========================  ====================================================  ============
"""

from __future__ import annotations

import time
import traceback
import zlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from hiddenpop.constants import INTERVAL_QUANTILES, PERIOD_DIM
from hiddenpop.data import CaptureData
from hiddenpop.modeling import ModelSpec
from hiddenpop.simulation import simulate

__all__ = [
    "RESULT_COLUMNS",
    "StudyTask",
    "fit_seed",
    "model_label",
    "replicate_data",
    "replicate_seed",
    "run_task",
    "score_quantities",
]

#: Columns of ``results.csv`` (one row per replicate, model, quantity and period).
RESULT_COLUMNS = [
    "scenario",
    "model",
    "replicate",
    "quantity",
    "period",
    "truth",
    "mean",
    "q05",
    "q50",
    "q95",
    "covered_90",
    "width_90",
    "prob_right_sign",
    "rhat_max",
    "ess_bulk_min",
    "divergences",
    "seconds",
    "data_seed",
    "fit_seed",
    "error",
]


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


def replicate_seed(seed: int, scenario: str, replicate: int) -> int:
    """Seed of the simulated replicate: a function of the study seed and names only."""
    state = np.random.SeedSequence([seed, _name_key(scenario), replicate]).generate_state(1)
    return int(state[0])


def fit_seed(seed: int, scenario: str, replicate: int, model: str) -> int:
    """Seed of one fit (sampler and derived draws)."""
    entropy = [seed, _name_key(scenario), replicate, _name_key(model)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def model_label(model: str | ModelSpec) -> str:
    """The name a model goes by in a study's tables: its catalogue name, path or spec name."""
    return model.name if isinstance(model, ModelSpec) else str(model)


@dataclass(frozen=True)
class StudyTask:
    """Fit ``model`` to replicate ``replicate`` of ``scenario`` (plus the fit settings)."""

    scenario: str
    model: str | ModelSpec
    replicate: int
    seed: int
    overrides: dict = field(default_factory=dict)
    draws: int = 500
    tune: int = 500
    chains: int = 2
    sampler: str = "nutpie"

    @property
    def key(self) -> str:
        """A name unique within a study, used for the stored result and as the Dask key."""
        return f"{self.scenario}/{model_label(self.model)}/r{self.replicate:04d}"

    @property
    def data_seed(self) -> int:
        return replicate_seed(self.seed, self.scenario, self.replicate)

    @property
    def fit_seed(self) -> int:
        return fit_seed(self.seed, self.scenario, self.replicate, model_label(self.model))


def replicate_data(scenario: str, seed: int, overrides: dict) -> tuple[CaptureData, xr.Dataset]:
    """Simulate a replicate and turn its records into capture data (every occasion kept)."""
    sim = simulate(scenario, seed=seed, **overrides)
    if sim.truth.attrs["design"] == "source":
        data = CaptureData.from_records(sim.records, id="id", period="period", source="source")
    else:
        data = CaptureData.from_records(
            sim.records, id="id", period="period", occasion="occasion", occasions="union"
        )
    return data, sim.truth


def _row(quantity: str, period, truth: float, draws: np.ndarray, sign: bool) -> dict:
    q05, q50, q95 = np.quantile(draws, INTERVAL_QUANTILES)
    right = np.nan
    # no growth at all (a ratio of exactly 1) has no sign to get right
    if sign and np.isfinite(truth) and truth > 0 and abs(np.log(truth)) > 1e-9:
        right = float(np.mean(np.sign(np.log(draws)) == np.sign(np.log(truth))))
    return {
        "quantity": quantity,
        "period": period,
        "truth": float(truth),
        "mean": float(np.mean(draws)),
        "q05": float(q05),
        "q50": float(q50),
        "q95": float(q95),
        "covered_90": bool(q05 <= truth <= q95),
        "width_90": float(q95 - q05),
        "prob_right_sign": right,
    }


def score_quantities(result, truth: xr.Dataset) -> list[dict]:
    """Rows comparing a fit's posterior with the truth (see the module docstring)."""
    rows = []
    abundance = result.abundance
    for index, period in enumerate(result.periods):
        draws = abundance.isel({PERIOD_DIM: index}).values.ravel()
        label = period.item() if isinstance(period, np.generic) else period
        rows.append(_row("N", label, float(truth["N"].values[index]), draws, sign=False))
    growth = result.growth
    if growth is not None:
        pairs = (
            ("true_growth", "true", "true_growth"),
            ("reporting_growth", "reporting", "reporting_probability_growth"),
        )
        for quantity, name, truth_name in pairs:
            draws = growth[name].values.ravel()
            rows.append(_row(quantity, "all", float(truth[truth_name]), draws, sign=True))
    return rows


def run_task(task: StudyTask) -> pd.DataFrame:
    """Simulate, fit and score one task; errors become one row with the message.

    Runs in a worker. With ``sampler="nutpie"`` the worker's compiled-model cache
    (:func:`~hiddenpop.study.compiled.worker_sampler`) compiles each model structure once.
    """
    import warnings

    from hiddenpop.inference import fit
    from hiddenpop.study.compiled import worker_sampler

    start = time.perf_counter()
    base = {
        "scenario": task.scenario,
        "model": model_label(task.model),
        "replicate": task.replicate,
        "data_seed": task.data_seed,
        "fit_seed": task.fit_seed,
    }
    try:
        data, truth = replicate_data(task.scenario, task.data_seed, task.overrides)
        sampler = worker_sampler() if task.sampler == "nutpie" else task.sampler
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit(
                data,
                task.model,
                draws=task.draws,
                tune=task.tune,
                chains=task.chains,
                seed=task.fit_seed,
                sampler=sampler,
                predictive=False,
            )
        rows = score_quantities(result, truth)
        diagnostics = result.diagnostics
        extra = {
            "rhat_max": diagnostics.rhat_max,
            "ess_bulk_min": diagnostics.ess_bulk_min,
            "divergences": diagnostics.divergences,
            "error": "",
        }
    except Exception as error:  # a failed fit is a result of the study, not a crash
        message = "".join(traceback.format_exception_only(error)).strip()
        rows = [{"quantity": "error", "period": "", "covered_90": False}]
        extra = {"error": " ".join(message.split())}
    seconds = time.perf_counter() - start
    table = pd.DataFrame([{**base, **row, **extra, "seconds": seconds} for row in rows])
    return table.reindex(columns=RESULT_COLUMNS)
