"""Model specifications, priors, families and the model catalogue."""

from hiddenpop.modeling.families import ModelFamily, family_of
from hiddenpop.modeling.priors import Prior
from hiddenpop.modeling.spec import ModelSpec, load_model, model_names, parse_model

__all__ = [
    "ModelFamily",
    "ModelSpec",
    "Prior",
    "family_of",
    "load_model",
    "model_names",
    "parse_model",
]
