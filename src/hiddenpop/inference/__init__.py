"""Fitting: sampler dispatch and convergence diagnostics."""

from hiddenpop.inference.diagnostics import Diagnostics, diagnose
from hiddenpop.inference.fit import available_samplers, default_model_name, fit

__all__ = ["Diagnostics", "available_samplers", "default_model_name", "diagnose", "fit"]
