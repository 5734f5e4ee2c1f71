"""Run a simulation study: scenarios x models x replicates, in parallel, resumable.

::

    from hiddenpop.study import Study

    study = Study(["true-growth"], ["M0", "Mt"], replicates=20, seed=1,
                  overrides={"n_periods": 2, "n_occasions": 5})
    outcome = study.run("out/", workers=2)          # or scheduler="tcp://host:8786"
    outcome.summary                                 # coverage, bias, RMSE, width, Pr(right sign)

Execution. Tasks run serially in this process (``workers=1``), in ``workers`` local
processes (spawned), or on an existing Dask distributed cluster (``scheduler=ADDRESS`` or
``client=``). Each worker keeps one compiled-model cache
(:mod:`hiddenpop.study.compiled`), so a model is compiled once per worker and shape,
not once per task. Results come back to this process, which writes them; workers need no
shared file system.

Storage and resuming. ``DIR/study.json`` holds the settings; each finished task is one CSV
under ``DIR/tasks/`` written atomically, and is never recomputed: re-running with the same
``DIR`` runs only the missing tasks (more replicates, scenarios or models may be added; other
fit settings are refused). ``DIR/results.csv`` and ``DIR/summary.csv`` are rewritten from the
stored tasks at the end.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from hiddenpop.exceptions import InputError
from hiddenpop.modeling import ModelSpec, family_of, load_model
from hiddenpop.simulation import get_scenario
from hiddenpop.study.summary import summarise
from hiddenpop.study.tasks import StudyTask, model_label, replicate_data, run_task

__all__ = ["Study", "StudyOutcome", "execute", "task_path"]


def task_path(out: Path, key: str) -> Path:
    """Where the result of the task named ``key`` is stored."""
    return out / "tasks" / f"{key}.csv"


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".csv")
    os.close(handle)
    try:
        table.to_csv(tmp, index=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def execute(
    tasks: Sequence,
    function: Callable,
    out: Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    client=None,
    progress: bool = True,
    description: str = "fits",
) -> int:
    """Run ``function(task)`` for every task whose result is not stored yet; return how many.

    Each task needs a ``key``; ``function`` must be importable by the workers and return a
    DataFrame, which is stored at :func:`task_path`.
    """
    pending = [task for task in tasks if not task_path(out, task.key).exists()]
    if not pending:
        return 0
    bar = tqdm(total=len(pending), desc=description, disable=not progress, unit="fit")
    try:
        for task, table in _results(pending, function, workers, scheduler, client):
            _write_csv(table, task_path(out, task.key))
            bar.update()
    finally:
        bar.close()
    return len(pending)


def _results(pending, function, workers, scheduler, client) -> Iterable:
    if scheduler is not None or client is not None:
        yield from _dask_results(pending, function, scheduler, client)
    elif workers <= 1:
        for task in pending:
            yield task, function(task)
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(function, task): task for task in pending}
            try:
                for future in as_completed(futures):
                    yield futures[future], future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


def _dask_results(pending, function, scheduler, client) -> Iterable:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:
        raise InputError(
            "--scheduler needs Dask distributed: pip install 'hiddenpop[dask]'."
        ) from None
    own = client is None
    if own:
        try:
            client = Client(scheduler, timeout="30s")
        except OSError as error:
            raise InputError(f"cannot reach the Dask scheduler {scheduler}: {error}") from None
    try:
        futures = {client.submit(function, task, pure=False): task for task in pending}
        try:
            for future in dask_completed(futures):
                yield futures[future], future.result()
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        if own:
            client.close()


@dataclass
class StudyOutcome:
    """What a study run leaves: all stored rows, the summary, and how many fits ran now."""

    results: pd.DataFrame
    summary: pd.DataFrame
    ran: int
    out: Path


@dataclass
class Study:
    """A simulation study: every scenario x model x replicate (see the module docstring).

    Parameters
    ----------
    scenarios, models
        Scenario names (``hiddenpop scenarios``); model names, TOML paths or
        :class:`~hiddenpop.modeling.ModelSpec` objects (named by ``spec.name`` in the tables).
    replicates
        Replicates per scenario; every model is fitted to the same replicates.
    seed
        Study seed; each task's seeds derive from it and the task's names.
    overrides
        Simulation settings applied to every scenario (e.g. smaller ``n_occasions``).
    draws, tune, chains, sampler
        Fit settings: ``sampler="nutpie"`` reuses one compilation per worker and model
        structure; ``"pymc"`` compiles per fit.
    """

    scenarios: list[str]
    models: list[str | ModelSpec]
    replicates: int
    seed: int = 0
    overrides: dict = field(default_factory=dict)
    draws: int = 500
    tune: int = 500
    chains: int = 2
    sampler: str = "nutpie"

    def settings(self) -> dict:
        """Settings that must match when a study directory is resumed."""
        return {
            "kind": "study",
            "seed": self.seed,
            "overrides": self.overrides,
            "draws": self.draws,
            "tune": self.tune,
            "chains": self.chains,
            "sampler": self.sampler,
        }

    def tasks(self) -> list[StudyTask]:
        """Every task, replicate-major so early results cover every model."""
        return [
            StudyTask(
                scenario=scenario,
                model=model,
                replicate=replicate,
                seed=self.seed,
                overrides=dict(self.overrides),
                draws=self.draws,
                tune=self.tune,
                chains=self.chains,
                sampler=self.sampler,
            )
            for replicate in range(1, self.replicates + 1)
            for scenario in self.scenarios
            for model in self.models
        ]

    def check(self) -> None:
        """Fail early, in this process, on unknown names and model-data mismatches."""
        if self.replicates < 1:
            raise InputError("--replicates must be at least 1.")
        specs = [load_model(model) for model in self.models]
        labels = [model_label(model) for model in self.models]
        if len(set(labels)) < len(labels):
            raise InputError(f"two models of the study have the same name: {', '.join(labels)}.")
        for scenario in self.scenarios:
            get_scenario(scenario).updated(self.overrides)
            data, _ = replicate_data(scenario, self.seed, self.overrides)
            for spec in specs:
                family_of(spec).check_data(spec, data)

    def run(
        self,
        out: str | os.PathLike,
        *,
        workers: int = 1,
        scheduler: str | None = None,
        client=None,
        progress: bool = True,
    ) -> StudyOutcome:
        """Run the missing tasks and write ``results.csv`` and ``summary.csv`` to ``out``."""
        self.check()
        out = Path(out)
        prepare_directory(out, self.settings())
        tasks = self.tasks()
        ran = execute(
            tasks,
            run_task,
            out,
            workers=workers,
            scheduler=scheduler,
            client=client,
            progress=progress,
        )
        results = collect(out, [task.key for task in tasks])
        summary = summarise(results)
        _write_csv(results, out / "results.csv")
        _write_csv(summary, out / "summary.csv")
        return StudyOutcome(results, summary, ran, out)


def prepare_directory(out: Path, settings: dict) -> None:
    """Create ``out`` with its settings, or check that a resumed study has the same ones."""
    path = out / "study.json"
    if path.exists():
        stored = json.loads(path.read_text(encoding="utf-8"))
        if stored != json.loads(json.dumps(settings)):
            changed = sorted(k for k in settings if stored.get(k) != settings[k])
            raise InputError(
                f"{out} holds a study with other settings ({', '.join(changed)}); resume "
                "with the same settings or use another --out."
            )
        return
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2), encoding="utf-8")


def collect(out: Path, keys: Sequence[str]) -> pd.DataFrame:
    """The stored rows of the tasks ``keys``, in task order."""
    tables = [pd.read_csv(task_path(out, key), keep_default_na=True) for key in keys]
    table = pd.concat(tables, ignore_index=True)
    if "error" in table:
        table["error"] = table["error"].astype(object).fillna("")
    return table
