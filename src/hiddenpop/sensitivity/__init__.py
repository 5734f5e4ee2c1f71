"""Sensitivity analyses: checks as objects that return a result table (and a figure).

::

    from hiddenpop.sensitivity import PowerScaling, PriorSensitivity, TippingPoint

    PowerScaling().run(result).table        # refit-free (arviz.psens), per key quantity
    PriorSensitivity().run(result).table    # refits: each prior's scale halved and doubled
    AssumptionSensitivity().run(result)     # heterogeneity, behaviour, NB N, invisible share
    TippingPoint().run(result).details      # coverage growth that cancels the true growth

Key quantities everywhere: N_t, true growth N_T / N_1, reporting growth P*_T / P*_1 and the
share of observed growth due to reporting (``hiddenpop.sensitivity.base``).
"""

from hiddenpop.sensitivity.base import (
    SensitivityCheck,
    SensitivityResult,
    key_quantities,
)
from hiddenpop.sensitivity.power_scaling import PowerScaling, log_prior_draws, with_log_prior
from hiddenpop.sensitivity.refit import (
    ASSUMPTIONS,
    AssumptionSensitivity,
    PriorSensitivity,
    default_prior_variants,
    structure_variant,
)
from hiddenpop.sensitivity.tipping import TippingPoint

__all__ = [
    "ASSUMPTIONS",
    "AssumptionSensitivity",
    "PowerScaling",
    "PriorSensitivity",
    "SensitivityCheck",
    "SensitivityResult",
    "TippingPoint",
    "default_prior_variants",
    "key_quantities",
    "log_prior_draws",
    "structure_variant",
    "with_log_prior",
]
