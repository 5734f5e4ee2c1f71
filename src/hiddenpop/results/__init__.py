"""Fitted models: ``FitResult`` and posterior summaries."""

from hiddenpop.results.result import FitResult

__all__ = ["FitResult"]
