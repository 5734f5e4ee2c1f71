"""One ``fit()`` for every model: build the graph, sample, derive, diagnose, record provenance.

Samplers (``sampler=``): ``"nutpie"`` (Rust NUTS on a Numba-compiled PyMC graph; the default
when installed: compiling takes longer than PyMC's C backend, 7-16 CPU s against 2-4 s on the
closed models, but sampling is 10-60 times faster per effective draw, and studies reuse one
compilation across datasets), ``"pymc"`` (PyMC's own NUTS) and ``"numpyro"`` (JAX; needs
``jax`` and ``numpyro``: ``pip install 'hiddenpop[jax]'``). ``benchmarks/closed.py`` measures
them; docs/performance.md has the figures.
"""

from __future__ import annotations

import importlib.util
import json
import os
import warnings
from collections.abc import Callable
from datetime import UTC, datetime

import arviz as az
import numpy as np
import pymc as pm
import xarray as xr

from hiddenpop import __version__
from hiddenpop.constants import PERIOD_DIM
from hiddenpop.data import CaptureData
from hiddenpop.exceptions import HiddenpopError, IdentifiabilityWarning, ModelSpecError
from hiddenpop.inference.diagnostics import diagnose, is_variable_or_copy
from hiddenpop.modeling.families import family_of
from hiddenpop.modeling.spec import ModelSpec, load_model, model_names

__all__ = ["SAMPLERS", "available_samplers", "default_model_name", "fit"]

#: sampler name -> modules it needs
SAMPLERS = {"pymc": (), "nutpie": ("nutpie",), "numpyro": ("jax", "numpyro"), "gibbs": ()}
#: NUTS's target acceptance rate where neither the call nor the model file sets one
DEFAULT_TARGET_ACCEPT = 0.9
#: sampler name -> the hiddenpop extra that installs those modules
EXTRAS = {"nutpie": "fast", "numpyro": "jax"}


def available_samplers() -> list[str]:
    """Samplers whose dependencies are installed, fastest first."""
    order = ["nutpie", "numpyro", "pymc"]
    return [
        name for name in order if all(importlib.util.find_spec(module) for module in SAMPLERS[name])
    ]


def _check_sampler(sampler: str, family) -> str:
    if sampler == "auto":
        if family.default_sampler is not None:
            return family.default_sampler
        return "nutpie" if "nutpie" in available_samplers() else "pymc"
    if sampler == "gibbs" and family.default_sampler != "gibbs":
        raise ModelSpecError(
            f"sampler 'gibbs' is LCMCR's Gibbs sampler, for the mse-lcmcr family only; model "
            f"family '{family.name}' is sampled by NUTS (auto, nutpie, pymc or numpyro)."
        )
    if sampler not in SAMPLERS:
        raise ModelSpecError(f"unknown sampler '{sampler}'; choose one of {', '.join(SAMPLERS)}.")
    missing = [m for m in SAMPLERS[sampler] if importlib.util.find_spec(m) is None]
    if missing:
        raise ModelSpecError(
            f"sampler '{sampler}' needs {', '.join(missing)}; install it "
            f"(pip install 'hiddenpop[{EXTRAS[sampler]}]') or use sampler='pymc'."
        )
    return sampler


def default_model_name(data: CaptureData) -> str:
    """robust-trend for multi-period data, Mth (Mh for frequency tables) for one period,
    mse-loglinear for lists."""
    names = model_names()
    if data.kind == "source" and "mse-loglinear" in names:
        return "mse-loglinear"
    if data.n_periods > 1 and data.kind == "occasion" and "robust-trend" in names:
        return "robust-trend"
    return "Mh" if data.kind == "frequency" else "Mth"


def _denominator_array(denominator, data: CaptureData) -> np.ndarray | None:
    if denominator is None:
        return None
    if isinstance(denominator, dict):
        missing = [p for p in data.periods if p not in denominator]
        if missing:
            raise HiddenpopError(f"the denominator has no value for period(s) {missing}.")
        values = np.array([denominator[p] for p in data.periods], dtype=float)
    else:
        values = np.asarray(denominator, dtype=float)
    if values.shape != (data.n_periods,) or not np.all(values > 0):
        raise HiddenpopError(
            f"the denominator needs one positive value per period ({data.n_periods})."
        )
    return values


def fit(
    data: CaptureData,
    model: str | os.PathLike | ModelSpec = "auto",
    *,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = None,
    sampler: str | Callable[..., az.InferenceData] = "auto",
    target_accept: float | None = None,
    denominator=None,
    progressbar: bool = False,
    predictive: bool = True,
):
    """Fit a model to capture data and return a :class:`~hiddenpop.results.FitResult`.

    Parameters
    ----------
    data
        :class:`~hiddenpop.data.CaptureData`.
    model
        Catalogue name, path of a TOML model file, a :class:`ModelSpec`, or ``"auto"``
        (:func:`default_model_name`).
    draws, tune, chains, seed
        Sampler settings; the seed (drawn and recorded when None) also seeds the derived
        draws (N = n + unseen) and the posterior predictive check.
    sampler
        ``"auto"``, ``"nutpie"``, ``"pymc"``, ``"numpyro"``, or ``"gibbs"`` (LCMCR's Gibbs
        sampler, for ``mse-lcmcr``, whose "auto" it is; the model file's ``[sampler] thin``
        sweeps per draw); or a callable
        ``sampler(pymc_model, *, draws, tune, chains, random_seed, target_accept, progressbar)``
        returning InferenceData in place of ``pm.sample`` (e.g. the compiled-model cache of
        ``hiddenpop.study``, which reuses one compilation across datasets); its ``name``
        attribute is recorded as the sampler. A family sampled by Gibbs (``mse-lcmcr``) uses
        its Gibbs sampler in place of a callable.
    target_accept
        NUTS's target acceptance rate; None takes the model file's ``[sampler]`` setting,
        else 0.9 (mse-loglinear sets 0.99: its horseshoe needs small steps).
    denominator
        Base population per period (array in period order, or ``{period: value}``): adds
        prevalence per 10,000.
    predictive
        Draw the posterior predictive capture frequencies (cheap; on by default).
    """
    from hiddenpop.results import FitResult

    if model == "auto":
        model = default_model_name(data)
    spec = load_model(model)
    family = family_of(spec)
    family.validate(spec)
    if target_accept is None:
        target_accept = spec.sampler.get("target_accept", DEFAULT_TARGET_ACCEPT)
    if callable(sampler) and family.default_sampler == "gibbs":
        sampler = "gibbs"  # a NUTS cache (hiddenpop.study) has nothing to compile here
    sample = sampler if callable(sampler) else None
    sampler = getattr(sampler, "name", "custom") if sample else _check_sampler(sampler, family)
    thin = int(spec.sampler.get("thin", 1)) if sampler == "gibbs" else None
    denominator_values = _denominator_array(denominator, data)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    sample_seed, derive_seed = np.random.SeedSequence(seed).generate_state(2)

    model_warnings = family.identifiability(spec, data)
    for message in model_warnings:
        warnings.warn(message, IdentifiabilityWarning, stacklevel=2)
    pymc_model = family.build(spec, data)
    with pymc_model, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*The effect of Potentials.*")
        warnings.filterwarnings("ignore", category=FutureWarning)
        settings = {
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "random_seed": int(sample_seed),
            "target_accept": target_accept,
            "progressbar": progressbar,
        }
        if sample is not None:
            idata = sample(pymc_model, **settings)
        elif sampler == "gibbs":
            del settings["target_accept"]
            starts = np.random.default_rng(sample_seed)
            idata = pm.sample(
                **settings,
                step=family.gibbs_step(pymc_model, spec, data, thin),
                initvals=family.initial_values(spec, data, chains, starts),
                cores=min(chains, os.cpu_count() or 1),
                compute_convergence_checks=False,
            )
        else:
            idata = pm.sample(
                **settings,
                cores=min(chains, os.cpu_count() or 1),
                nuts_sampler=sampler,
                compute_convergence_checks=False,
            )
    rng = np.random.default_rng(derive_seed)
    posterior = idata.posterior
    if "log_likelihood_period" in posterior:
        idata.add_groups(
            log_likelihood=xr.Dataset({"detections": posterior["log_likelihood_period"]})
        )
        posterior = posterior.drop_vars("log_likelihood_period")
    derived = family.derive(posterior, spec, data, rng)
    # a replaced variable (relabelled classes) loses its sampler copy in the old labels too
    replaced = [
        name for name in posterior.data_vars if is_variable_or_copy(name, list(derived.data_vars))
    ]
    posterior = posterior.drop_vars(replaced).merge(derived)
    idata.posterior = posterior
    late_warnings = family.posterior_warnings(posterior, spec, data)
    for message in late_warnings:
        warnings.warn(message, IdentifiabilityWarning, stacklevel=2)
    model_warnings = model_warnings + late_warnings
    if predictive:
        replicated = family.predict_statistics(posterior, spec, data, rng)
        if replicated.data_vars:
            idata.add_groups(posterior_predictive=replicated)
    observed = {"detected": data.stats["detected"], "frequencies": data.stats["frequencies"]}
    if "captures" in data.stats:
        observed["captures"] = data.stats["captures"]
    idata.add_groups(
        observed_data=xr.Dataset(observed),
        constant_data=_constant_data(data, denominator_values),
    )
    diagnostics = diagnose(idata, exclude=family.label_dependent)
    idata.attrs.update(
        {
            "hiddenpop_version": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "model_name": spec.name,
            "model_spec": json.dumps(spec.to_dict()),
            "model_text": spec.text,
            "priors": json.dumps({k: p.to_dict() for k, p in family.priors(spec, data).items()}),
            "sampler": json.dumps(
                {
                    "sampler": sampler,
                    "draws": draws,
                    "tune": tune,
                    "chains": chains,
                    "target_accept": target_accept,
                    **({"thin": thin} if thin is not None else {}),
                }
            ),
            "seed": int(seed),
            "data_hash": data.data_hash,
            "data_origin": data.origin,
            "data_kind": data.kind,
            "diagnostics": json.dumps(diagnostics.to_dict()),
            "model_warnings": json.dumps(model_warnings),
        }
    )
    return FitResult(idata, spec=spec, data=data, diagnostics=diagnostics)


def _constant_data(data: CaptureData, denominator: np.ndarray | None) -> xr.Dataset:
    """The data's statistics (renamed ``data_*``) so a saved fit carries its data."""
    stats = data.stats.rename({name: f"data_{name}" for name in data.stats.data_vars})
    stats = stats.copy()
    stats.attrs = {"kind": data.kind, "origin": data.origin}
    if denominator is not None:
        stats["denominator"] = (PERIOD_DIM, denominator)
    return stats
