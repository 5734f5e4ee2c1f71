"""Model families: the small base class and the registry from ``family`` names to builders.

A family turns a :class:`~hiddenpop.modeling.spec.ModelSpec` and
:class:`~hiddenpop.data.CaptureData` into a PyMC model (``build``, pure: it never samples),
and after sampling adds the derived quantities that need random draws (``derive``).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pymc as pm
import xarray as xr

from hiddenpop.data import CaptureData
from hiddenpop.exceptions import ModelSpecError
from hiddenpop.modeling.priors import Prior
from hiddenpop.modeling.spec import ModelSpec

__all__ = ["ModelFamily", "family_of", "register_family"]

_FAMILIES: dict[str, type[ModelFamily]] = {}


def register_family(cls: type[ModelFamily]) -> type[ModelFamily]:
    _FAMILIES[cls.name] = cls
    return cls


def family_of(spec: ModelSpec) -> ModelFamily:
    """The family object that builds ``spec``."""
    _load_builtin_families()
    if spec.family not in _FAMILIES:
        raise ModelSpecError(
            f"{spec.origin or spec.name}: unknown family '{spec.family}'; known: "
            f"{', '.join(sorted(_FAMILIES))}."
        )
    return _FAMILIES[spec.family]()


#: Modules whose import registers the built-in families.
BUILTIN_FAMILY_MODULES = (
    "hiddenpop.modeling.closed",
    "hiddenpop.modeling.trend",
    "hiddenpop.modeling.mse",
    "hiddenpop.modeling.lcmcr",
)


def _load_builtin_families() -> None:
    for name in BUILTIN_FAMILY_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name != name:
                raise


class ModelFamily:
    """Base class: structure options with defaults, default priors, coords, build, derive.

    Subclasses set :attr:`name` and :attr:`structure_options` (option -> (default, allowed
    values or a type)), and implement :meth:`default_priors`, :meth:`coords`, :meth:`build`.
    """

    name: ClassVar[str] = ""
    structure_options: ClassVar[Mapping[str, tuple[Any, Any]]] = {}
    #: Sampled variables whose labels mean nothing (a mixture's stick-breaking breaks, whose
    #: classes may switch labels within and between chains): kept in the posterior, left out
    #: of the convergence diagnostics (with their unconstrained copies). ``derive`` returns
    #: the identified, relabelled versions of the quantities users read.
    label_dependent: ClassVar[tuple[str, ...]] = ()
    #: The sampler ``fit(sampler="auto")`` uses; None: NUTS (nutpie where installed).
    default_sampler: ClassVar[str | None] = None

    # ------------------------------------------------------------------ spec handling
    def structure(self, spec: ModelSpec) -> dict:
        """Structure options with defaults filled in."""
        return {
            k: spec.structure.get(k, default) for k, (default, _) in self.structure_options.items()
        }

    def validate(self, spec: ModelSpec) -> None:
        """Reject unknown options, bad option values and priors the model does not have."""
        where = spec.origin or spec.name
        for key, value in spec.structure.items():
            if key not in self.structure_options:
                raise ModelSpecError(
                    f"{where}: unknown structure option '{key}' for family '{self.name}'; "
                    f"known: {', '.join(self.structure_options)}."
                )
            _, allowed = self.structure_options[key]
            if isinstance(allowed, tuple):
                if value not in allowed:
                    raise ModelSpecError(
                        f"{where}: structure option {key} = {value!r} is not one of "
                        f"{', '.join(map(repr, allowed))}."
                    )
            elif allowed is int:
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise ModelSpecError(f"{where}: {key} must be a positive integer.")
            elif not isinstance(value, allowed):
                raise ModelSpecError(f"{where}: {key} must be {allowed.__name__}.")
        known = self.default_priors(self.structure(spec))
        for key in spec.priors:
            if key not in known:
                raise ModelSpecError(
                    f"{where}: model '{spec.name}' has no prior '{key}'; its priors are "
                    f"{', '.join(known)}."
                )

    def priors(self, spec: ModelSpec, data: CaptureData) -> dict[str, Prior]:
        """Priors merged user > data > default, with ``"data"`` parameters resolved."""
        merged = {**self.default_priors(self.structure(spec)), **spec.priors}
        centres = self.data_centres(data)
        return {k: p.resolve(**centres.get(k, {})) for k, p in merged.items()}

    # ------------------------------------------------------------------ to implement
    def default_priors(self, structure: dict) -> dict[str, Prior]:
        raise NotImplementedError

    def data_centres(self, data: CaptureData) -> dict[str, dict[str, float]]:
        """Values for ``"data"`` prior parameters, per prior name."""
        return {}

    def check_data(self, spec: ModelSpec, data: CaptureData) -> None:
        """Raise a clear error if the data cannot support the model."""

    def identifiability(self, spec: ModelSpec, data: CaptureData) -> list[str]:
        """Warnings about what these data cannot identify under this model (pre-fit).

        ``fit`` issues each as an IdentifiabilityWarning and records them in the result.
        """
        return []

    def posterior_warnings(
        self, posterior: xr.Dataset, spec: ModelSpec, data: CaptureData
    ) -> list[str]:
        """Warnings that need the posterior (derived quantities included); ``fit`` issues and
        records them like those of :meth:`identifiability`."""
        return []

    def coords(self, spec: ModelSpec, data: CaptureData) -> dict:
        raise NotImplementedError

    def build(self, spec: ModelSpec, data: CaptureData) -> pm.Model:
        raise NotImplementedError

    def initial_values(self, spec: ModelSpec, data: CaptureData, chains: int, rng) -> list | None:
        """Per-chain starting values for the Gibbs sampler (None: the model's initial point)."""
        return None

    def gibbs_step(self, model: pm.Model, spec: ModelSpec, data: CaptureData, thin: int):
        """A PyMC step method updating every variable of ``model`` (families whose
        :attr:`default_sampler` is ``"gibbs"``)."""
        raise NotImplementedError(f"family '{self.name}' has no Gibbs sampler.")

    def derive(
        self, posterior: xr.Dataset, spec: ModelSpec, data: CaptureData, rng: np.random.Generator
    ) -> xr.Dataset:
        """Derived quantities that need random draws (e.g. N = n + unseen).

        A returned variable of the same name as a posterior variable replaces it (a
        relabelling of mixture classes).
        """
        return xr.Dataset()

    def predict_statistics(
        self, posterior: xr.Dataset, spec: ModelSpec, data: CaptureData, rng: np.random.Generator
    ) -> xr.Dataset:
        """Posterior predictive draws of the sufficient statistics."""
        return xr.Dataset()
