"""Priors as small declarative objects: a distribution name and numeric parameters.

Model files write a prior as a TOML inline table, ``{ dist = "Normal", mu = 0, sigma = 1.5 }``.
Only the distributions listed in :data:`DISTRIBUTIONS` are known, every parameter must be a
number (or, where the model allows it, the token ``"data"``: centred on the data's scale), and
nothing is ever evaluated as code. Priors merge in the order user > data > default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from hiddenpop.exceptions import ModelSpecError

__all__ = ["DATA", "DISTRIBUTIONS", "Prior", "data_scalar"]

#: Token for a parameter that the model sets from the data (e.g. a level's centre).
DATA = "data"

#: Allowed distributions and their parameters (all required).
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "Normal": ("mu", "sigma"),
    "StudentT": ("nu", "mu", "sigma"),
    "HalfNormal": ("sigma",),
    "HalfStudentT": ("nu", "sigma"),
    "Exponential": ("lam",),
    "Gamma": ("alpha", "beta"),
    "LogNormal": ("mu", "sigma"),
    "Beta": ("alpha", "beta"),
    "Uniform": ("lower", "upper"),
    "Flat": (),
    "HalfFlat": (),
}

_POSITIVE = {"sigma", "nu", "lam", "alpha", "beta"}


@dataclass(frozen=True)
class Prior:
    """A prior distribution: ``Prior("Normal", mu=0.0, sigma=1.5)``.

    Parameters may be the token ``"data"`` until :meth:`resolve` fills them from the data.
    """

    dist: str
    params: Mapping[str, float | str] = field(default_factory=dict)

    def __post_init__(self):
        # per-period values come back from to_dict() (saved fits, JSON) as lists
        params = {k: _as_array(k, v) if isinstance(v, list) else v for k, v in self.params.items()}
        object.__setattr__(self, "params", params)
        if self.dist not in DISTRIBUTIONS:
            raise ModelSpecError(
                f"unknown prior distribution '{self.dist}'; use one of {', '.join(DISTRIBUTIONS)}."
            )
        expected = DISTRIBUTIONS[self.dist]
        unknown = set(self.params) - set(expected)
        missing = set(expected) - set(self.params)
        if unknown or missing:
            raise ModelSpecError(
                f"prior {self.dist} takes parameters {', '.join(expected) or 'none'}"
                + (f"; unknown: {', '.join(sorted(unknown))}" if unknown else "")
                + (f"; missing: {', '.join(sorted(missing))}" if missing else "")
                + "."
            )
        for name, value in self.params.items():
            if isinstance(value, str) and value == DATA:
                continue
            if isinstance(value, np.ndarray):  # a per-period value resolved from the data
                if not np.all(np.isfinite(value)):
                    raise ModelSpecError(f"prior {self.dist}: parameter {name} is not finite.")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ModelSpecError(
                    f"prior {self.dist}: parameter {name} must be a number, got {value!r}."
                )
            if name in _POSITIVE and value <= 0:
                raise ModelSpecError(f"prior {self.dist}: parameter {name} must be positive.")
        if self.dist == "Uniform" and not _is_data(self.params):
            if self.params["lower"] >= self.params["upper"]:
                raise ModelSpecError("prior Uniform: lower must be below upper.")
        object.__setattr__(self, "params", dict(self.params))

    @classmethod
    def from_dict(cls, value: Mapping, *, where: str = "prior") -> Prior:
        """Parse ``{"dist": "Normal", "mu": 0, "sigma": 1}``; errors name ``where``."""
        if not isinstance(value, Mapping) or "dist" not in value:
            raise ModelSpecError(
                f"{where}: a prior is a table with 'dist' and numeric parameters, "
                f'e.g. {{ dist = "Normal", mu = 0, sigma = 1 }}; got {value!r}.'
            )
        params = {k: v for k, v in value.items() if k != "dist"}
        try:
            return cls(str(value["dist"]), params)
        except ModelSpecError as error:
            raise ModelSpecError(f"{where}: {error}") from None

    def to_dict(self) -> dict:
        """Plain form for TOML and provenance (arrays become lists)."""
        return {
            "dist": self.dist,
            **{k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in self.params.items()},
        }

    def resolve(self, **data_values) -> Prior:
        """Replace ``"data"`` parameters with values computed from the data (floats or arrays)."""
        params = dict(self.params)
        for name, value in params.items():
            if isinstance(value, str) and value == DATA:
                if name not in data_values:
                    raise ModelSpecError(
                        f"prior {self.dist}: parameter {name} cannot be set from the data here."
                    )
                params[name] = np.asarray(data_values[name], dtype=float)
        return Prior(self.dist, params)

    def _checked(self) -> dict:
        if _is_data(self.params):
            raise ModelSpecError(f"prior {self.dist} still has unresolved 'data' parameters.")
        return self.params

    def _graph_params(self) -> dict:
        """Parameters for PyMC; a scalar resolved from the data becomes a :func:`data_scalar`."""
        return {
            k: data_scalar(v) if isinstance(v, np.ndarray) and v.ndim == 0 else v
            for k, v in self._checked().items()
        }

    def create(self, name: str, **kwargs) -> pm.Distribution:
        """A PyMC random variable inside the current model context."""
        return getattr(pm, self.dist)(name, **self._graph_params(), **kwargs)

    def dist_object(self, **kwargs):
        """An unnamed PyMC distribution (for ``pm.logp`` of a derived quantity)."""
        return getattr(pm, self.dist).dist(**self._graph_params(), **kwargs)

    def __str__(self) -> str:
        inside = ", ".join(
            f"{k}={v:g}" if isinstance(v, int | float) else f"{k}={v}"
            for k, v in self.params.items()
        )
        return f"{self.dist}({inside})"


def _as_array(name: str, values: list) -> np.ndarray:
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        raise ModelSpecError(f"prior parameter {name} must be a number or a list of numbers.")
    return np.asarray(values, dtype=float)


def data_scalar(value) -> pt.TensorVariable:
    """A scalar computed from the data, put in the graph as the element of a 1-d array.

    PyTensor folds it back into a scalar when a model is compiled for one fit, so this costs
    nothing there; but before compilation it is an array constant, which
    :class:`hiddenpop.study.compiled.CompiledSampler` treats as data and swaps between
    datasets, where a bare scalar constant is structure and forces a new compilation for
    every dataset.
    """
    return pt.as_tensor_variable(np.asarray(value, dtype=float).reshape(1))[0]


def _is_data(params: Mapping) -> bool:
    return any(isinstance(v, str) and v == DATA for v in params.values())
