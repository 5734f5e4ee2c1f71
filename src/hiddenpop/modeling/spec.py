"""Model specifications: structure + priors, read from the TOML model catalogue.

A :class:`ModelSpec` is a plain description. Constructing one never touches PyMC; the model
family (``hiddenpop.modeling.families``) turns it into a graph with ``build(data)``.

Model file form (``models/Mth.toml``)::

    name = "Mth"
    family = "closed"
    description = "Time effects and logit-normal individual heterogeneity."

    [structure]
    occasion_effects = true
    heterogeneity = "normal"

    [priors]
    heterogeneity_sd = { dist = "HalfNormal", sigma = 1.5 }

    [sampler]             # optional: the model's own sampler defaults
    target_accept = 0.99
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import cache
from importlib import resources
from pathlib import Path

from hiddenpop.exceptions import ModelSpecError
from hiddenpop.modeling.priors import Prior

__all__ = ["ModelSpec", "catalog_dir", "load_model", "model_names", "parse_model"]

_TOP_KEYS = {"name", "family", "description", "structure", "priors", "sampler"}

#: ``[sampler]`` settings a model file may set (its defaults; a ``fit()`` argument wins)
SAMPLER_KEYS = {
    "target_accept": (0.5, 1.0),
    # Gibbs samplers (mse-lcmcr): sweeps per recorded draw, as LCMCR's ``thinning``
    "thin": (0, 1001),
}
_INTEGER_SAMPLER_KEYS = {"thin"}


@dataclass(frozen=True)
class ModelSpec:
    """A named model: family, structure options and prior overrides.

    Attributes
    ----------
    name, family, description
    structure : dict
        Options of the family (validated by the family when the model is built).
    priors : dict[str, Prior]
        Prior overrides; the family's defaults fill the rest (user > data > default).
    sampler : dict
        Sampler defaults for this model (``target_accept``); ``fit()`` arguments win.
    text : str
        The TOML text the spec was read from (kept for provenance).
    origin : str
        Catalogue name or file path.
    """

    name: str
    family: str
    description: str = ""
    structure: dict = field(default_factory=dict)
    priors: dict[str, Prior] = field(default_factory=dict)
    sampler: dict = field(default_factory=dict)
    text: str = field(default="", repr=False)
    origin: str = ""

    def with_priors(self, **priors: Prior) -> ModelSpec:
        """A copy with some priors replaced (for sensitivity analyses)."""
        return replace(self, priors={**self.priors, **priors}, text="")

    def with_structure(self, **options) -> ModelSpec:
        """A copy with some structure options replaced."""
        return replace(self, structure={**self.structure, **options}, text="")

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "family": self.family,
            "description": self.description,
            "structure": dict(self.structure),
            "priors": {k: p.to_dict() for k, p in self.priors.items()},
            **({"sampler": dict(self.sampler)} if self.sampler else {}),
        }

    @classmethod
    def from_dict(cls, value: dict, *, origin: str = "", text: str = "") -> ModelSpec:
        return _from_table(value, origin=origin, text=text)


def _line_of(text: str, key: str) -> str:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line) or re.match(
            rf"\s*\[\s*{re.escape(key)}\s*\]", line
        ):
            return f" (line {number})"
    return ""


def _from_table(table: dict, *, origin: str, text: str) -> ModelSpec:
    unknown = set(table) - _TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise ModelSpecError(
            f"{origin}{_line_of(text, key)}: unknown key '{key}'; a model file has "
            f"{', '.join(sorted(_TOP_KEYS))}."
        )
    for key in ("name", "family"):
        if not isinstance(table.get(key), str) or not table[key]:
            raise ModelSpecError(f"{origin}: the model file needs a '{key}' (text).")
    structure = table.get("structure", {})
    priors_table = table.get("priors", {})
    if not isinstance(structure, dict) or not isinstance(priors_table, dict):
        raise ModelSpecError(f"{origin}: [structure] and [priors] must be tables.")
    priors = {
        key: Prior.from_dict(value, where=f"{origin}{_line_of(text, key)}: prior '{key}'")
        for key, value in priors_table.items()
    }
    sampler = _sampler_table(table.get("sampler", {}), origin=origin, text=text)
    return ModelSpec(
        name=table["name"],
        family=table["family"],
        description=str(table.get("description", "")),
        structure=dict(structure),
        priors=priors,
        sampler=sampler,
        text=text,
        origin=origin,
    )


def _sampler_table(table, *, origin: str, text: str) -> dict:
    if not isinstance(table, dict):
        raise ModelSpecError(f"{origin}: [sampler] must be a table.")
    for key, value in table.items():
        if key not in SAMPLER_KEYS:
            raise ModelSpecError(
                f"{origin}{_line_of(text, key)}: unknown sampler setting '{key}'; a model file "
                f"may set {', '.join(sorted(SAMPLER_KEYS))}."
            )
        low, high = SAMPLER_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low < value < high:
            raise ModelSpecError(
                f"{origin}{_line_of(text, key)}: sampler setting {key} must be a number "
                f"between {low:g} and {high:g} (exclusive), got {value!r}."
            )
        if key in _INTEGER_SAMPLER_KEYS and value != int(value):
            raise ModelSpecError(
                f"{origin}{_line_of(text, key)}: sampler setting {key} must be a whole number, "
                f"got {value!r}."
            )
    return {
        key: int(value) if key in _INTEGER_SAMPLER_KEYS else float(value)
        for key, value in table.items()
    }


def parse_model(text: str, *, origin: str = "model file") -> ModelSpec:
    """Parse the TOML text of a model file; errors name the line."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ModelSpecError(f"{origin}: not valid TOML ({error}).") from None
    spec = _from_table(table, origin=origin, text=text)
    from hiddenpop.modeling.families import family_of

    family_of(spec).validate(spec)
    return spec


def catalog_dir():
    """The folder of shipped model files (inside the wheel, or the source tree's models/)."""
    shipped = resources.files("hiddenpop").joinpath("models")
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[3] / "models"


@cache
def _catalog() -> dict[str, str]:
    folder = catalog_dir()
    return {
        entry.name[: -len(".toml")]: entry.read_text(encoding="utf-8")
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    }


def model_names() -> list[str]:
    """Names of the models in the catalogue."""
    return list(_catalog())


def load_model(name_or_path: str | Path | ModelSpec) -> ModelSpec:
    """A catalogue model by name, or a model file by path."""
    if isinstance(name_or_path, ModelSpec):
        return name_or_path
    catalog = _catalog()
    if str(name_or_path) in catalog:
        return parse_model(catalog[str(name_or_path)], origin=f"model '{name_or_path}'")
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ModelSpecError(f"{path}: no such model file.")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ModelSpecError(f"{path}: cannot be read as text ({error}).") from None
        return parse_model(text, origin=str(path))
    raise ModelSpecError(
        f"unknown model '{name_or_path}'; choose one of {', '.join(catalog)} or give a "
        "path to a .toml model file."
    )
