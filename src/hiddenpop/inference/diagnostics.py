"""Convergence diagnostics after every fit: R-hat, bulk and tail ESS, divergences, BFMI, depth.

Problems become :class:`~hiddenpop.exceptions.ConvergenceWarning` messages recorded in the
result (and printed by the CLI); nothing is hidden.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import arviz as az
import numpy as np

from hiddenpop.exceptions import ConvergenceWarning

__all__ = ["ESS_MIN", "RHAT_MAX", "Diagnostics", "diagnose", "is_variable_or_copy"]

RHAT_MAX = 1.01
ESS_MIN = 400
BFMI_MIN = 0.3


@dataclass
class Diagnostics:
    """Summary of sampler health. ``ok`` is False when any check fails."""

    rhat_max: float
    ess_bulk_min: float
    ess_tail_min: float
    divergences: int
    bfmi_min: float
    max_treedepth_hits: int
    draws: int
    chains: int
    messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.messages

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def is_variable_or_copy(name, bases) -> bool:
    """Whether ``name`` is one of ``bases`` or the sampler's unconstrained copy of one
    (``<base>_<transform>__``)."""
    name = str(name)
    return any(
        name == base or (name.startswith(f"{base}_") and name.endswith("__")) for base in bases
    )


def _sampled_variables(idata, exclude: tuple[str, ...] = ()) -> list[str]:
    """Free parameters and the derived quantities users read (skip per-cell bookkeeping and
    the variables in ``exclude``, with their unconstrained copies)."""
    return [
        name
        for name in idata.posterior.data_vars
        if name != "log_likelihood_period" and not is_variable_or_copy(name, exclude)
    ]


def _extreme(dataset, reduce) -> tuple[float, str]:
    """The extreme finite value over every variable, and the variable that holds it.

    On a tie the user's name wins over the sampler's unconstrained copy (``x_log__``).
    """
    best, where = float("nan"), ""
    for name in sorted(dataset.data_vars, key=lambda n: str(n).endswith("__")):
        variable = dataset[name]
        values = np.asarray(variable.values, dtype=float).ravel()
        values = values[np.isfinite(values)]
        if values.size:
            value = float(reduce(values))
            if not np.isfinite(best) or (value != best and reduce([value, best]) == value):
                best, where = value, str(name)
    return best, where


def diagnose(
    idata,
    *,
    var_names: list[str] | None = None,
    exclude: tuple[str, ...] = (),
    warn: bool = True,
) -> Diagnostics:
    """Compute diagnostics and, with ``warn``, issue one ConvergenceWarning per problem.

    ``exclude`` names variables left out (labels that may switch, e.g. a mixture's breaks).
    """
    posterior = idata.posterior[var_names or _sampled_variables(idata, exclude)]
    chains, draws = posterior.sizes["chain"], posterior.sizes["draw"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rhat = az.rhat(posterior) if chains > 1 else None
        ess_bulk = az.ess(posterior, method="bulk")
        ess_tail = az.ess(posterior, method="tail")

    stats = idata.get("sample_stats")
    divergences = int(stats["diverging"].sum()) if stats is not None and "diverging" in stats else 0
    depth_hits = 0
    if stats is not None:
        for name in ("reached_max_treedepth", "maxdepth_reached"):
            if name in stats:
                depth_hits = int(stats[name].sum())
    try:
        bfmi = float(np.min(az.bfmi(idata))) if stats is not None and "energy" in stats else np.nan
    except (ValueError, KeyError):
        bfmi = float("nan")

    rhat_max, rhat_where = _extreme(rhat, np.max) if rhat is not None else (float("nan"), "")
    bulk_min, bulk_where = _extreme(ess_bulk, np.min)
    tail_min, tail_where = _extreme(ess_tail, np.min)
    result = Diagnostics(
        rhat_max=rhat_max,
        ess_bulk_min=bulk_min,
        ess_tail_min=tail_min,
        divergences=divergences,
        bfmi_min=bfmi,
        max_treedepth_hits=depth_hits,
        draws=draws,
        chains=chains,
    )
    if result.rhat_max > RHAT_MAX:
        result.messages.append(
            f"R-hat up to {rhat_max:.3f} (> {RHAT_MAX}, {rhat_where}): chains disagree."
        )
    if result.ess_bulk_min < ESS_MIN:
        result.messages.append(
            f"bulk ESS down to {bulk_min:.0f} (< {ESS_MIN}, {bulk_where}): run more draws."
        )
    if result.ess_tail_min < ESS_MIN:
        result.messages.append(
            f"tail ESS down to {tail_min:.0f} (< {ESS_MIN}, {tail_where}): interval ends are noisy."
        )
    if divergences:
        result.messages.append(
            f"{divergences} divergent transition(s): the posterior may be biased."
        )
    if np.isfinite(bfmi) and bfmi < BFMI_MIN:
        result.messages.append(f"BFMI {bfmi:.2f} (< {BFMI_MIN}): poor energy exploration.")
    if depth_hits:
        result.messages.append(f"{depth_hits} draw(s) hit the maximum tree depth.")
    if warn:
        for message in result.messages:
            warnings.warn(message, ConvergenceWarning, stacklevel=3)
    return result
