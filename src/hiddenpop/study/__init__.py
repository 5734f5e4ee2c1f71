"""Simulation studies and simulation-based calibration, run in parallel and resumable.

- :class:`Study`: scenarios x models x replicates -> ``results.csv`` and ``summary.csv``
  (coverage, bias, RMSE, interval width, Pr(right sign)); ``hiddenpop study``.
- :class:`Calibration`: simulation-based calibration of a model (rank statistics, a
  uniformity test, rank histograms); ``hiddenpop study --calibration``.
- :class:`CompiledSampler`: compile a model once per worker and swap datasets in.
"""

from hiddenpop.study.calibration import Calibration, CalibrationOutcome, rank_histograms
from hiddenpop.study.compiled import CompiledSampler, worker_sampler
from hiddenpop.study.runner import Study, StudyOutcome, execute
from hiddenpop.study.summary import SUMMARY_COLUMNS, summarise
from hiddenpop.study.tasks import RESULT_COLUMNS, StudyTask, run_task

__all__ = [
    "RESULT_COLUMNS",
    "SUMMARY_COLUMNS",
    "Calibration",
    "CalibrationOutcome",
    "CompiledSampler",
    "Study",
    "StudyOutcome",
    "StudyTask",
    "execute",
    "rank_histograms",
    "run_task",
    "summarise",
    "worker_sampler",
]
