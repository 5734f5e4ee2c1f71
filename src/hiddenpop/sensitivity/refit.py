"""Refit-based sensitivity: the key quantities under changed priors or changed assumptions.

Each variant is a change to the fit's model spec; the model is refitted to the same data
(the data a saved fit carries) with the fit's sampler settings unless given, and the key
quantities of every variant are stacked in one tidy table, the fit itself first as
``baseline``::

    variant, change, quantity, period, mean, q05, q50, q95, prob_growth

:class:`PriorSensitivity` varies priors (by default each prior's scale halved and doubled,
one at a time). :class:`AssumptionSensitivity` varies the structure: heterogeneity
(none / logit-normal / two-class mixture), behavioural response off / on, Poisson vs
negative-binomial N (each where the model family has the option), and an invisible share
of the population with a prior (no refit: METHODS.md §7 D', the records carry no
information on it, so N_t / (1 - s) with s drawn from its prior).

The verdict (``robust``): the sign call on true growth (posterior median above or below 1)
is the same in every variant, and no variant moves a 90% interval of N_t or of true growth
entirely away from the baseline's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from hiddenpop.modeling import Prior, family_of
from hiddenpop.modeling.spec import ModelSpec
from hiddenpop.sensitivity.base import (
    SensitivityCheck,
    SensitivityResult,
    key_quantities,
    summarise_draws,
)

__all__ = [
    "ASSUMPTIONS",
    "AssumptionSensitivity",
    "PriorSensitivity",
    "default_prior_variants",
    "refit",
    "structure_variant",
]

_SCALES = ("sigma", "lam", "beta")


def _prior_text(prior: Prior) -> str:
    return json.dumps(prior.to_dict())


def default_prior_variants(result) -> dict[str, dict[str, Prior]]:
    """Each prior's scale parameter halved and doubled, one prior at a time."""
    family = family_of(result.spec)
    merged = {**family.default_priors(family.structure(result.spec)), **result.spec.priors}
    variants = {}
    for name, prior in merged.items():
        scale = next((p for p in _SCALES if p in prior.params), None)
        if scale is None or isinstance(prior.params[scale], str):
            continue
        for factor in (0.5, 2.0):
            params = {**prior.params, scale: float(prior.params[scale]) * factor}
            variants[f"{name} {scale} x{factor:g}"] = {name: Prior(prior.dist, params)}
    return variants


def _settings(result) -> dict:
    sampler = json.loads(result.idata.attrs.get("sampler", "{}"))
    return {
        "draws": int(sampler.get("draws", 1000)),
        "tune": int(sampler.get("tune", 1000)),
        "chains": int(sampler.get("chains", 4)),
        "sampler": sampler.get("sampler", "auto"),
    }


def refit(result, spec: ModelSpec, *, seed: int | None = None, **settings):
    """Fit ``spec`` to the fit's data with its sampler settings (overridden by ``settings``)."""
    from hiddenpop.inference import fit
    from hiddenpop.inference.fit import SAMPLERS

    chosen = {**_settings(result), **settings}
    if isinstance(chosen["sampler"], str) and chosen["sampler"] not in SAMPLERS:
        chosen["sampler"] = "auto"  # e.g. the study's compiled-model cache, recorded by name
    seed = int(result.idata.attrs.get("seed", 0)) if seed is None else seed
    denominator = result.denominator
    return fit(result.data, spec, seed=seed, denominator=denominator, predictive=False, **chosen)


def _verdict(table: pd.DataFrame) -> tuple[bool, str]:
    base = table[table["variant"] == "baseline"].set_index(["quantity", "period"])
    problems = []
    for variant, rows in table[table["variant"] != "baseline"].groupby("variant", sort=False):
        rows = rows.set_index(["quantity", "period"])
        for key in rows.index:
            if key[0] not in ("N", "true_growth") or key not in base.index:
                continue
            row, ref = rows.loc[key], base.loc[key]
            if row["q05"] > ref["q95"] or row["q95"] < ref["q05"]:
                problems.append(f"{variant}: {key[0]}[{key[1]}] interval moves off the baseline's")
            if key[0] == "true_growth" and (row["q50"] > 1) != (ref["q50"] > 1):
                problems.append(f"{variant}: true growth changes direction")
    if not problems:
        return True, "the key conclusions hold under every variant"
    return False, "; ".join(problems)


class _RefitCheck(SensitivityCheck):
    def __init__(self, *, seed: int | None = None, **settings) -> None:
        self.seed = seed
        self.settings = settings

    def _variants(self, result) -> list[tuple[str, str, ModelSpec | None]]:
        raise NotImplementedError

    def _table(self, result) -> pd.DataFrame:
        tables = [key_quantities(result).assign(change="as fitted")]
        for label, change, spec in self._variants(result):
            if spec is None:
                continue
            variant = refit(result, spec, seed=self.seed, **self.settings)
            tables.append(key_quantities(variant, label).assign(change=change))
        table = pd.concat(tables, ignore_index=True)
        first = ["variant", "change"]
        return table[first + [c for c in table.columns if c not in first]]

    def _judged(self, table: pd.DataFrame) -> pd.DataFrame:
        """The rows the verdict reads."""
        return table

    def run(self, result) -> SensitivityResult:
        table = self._table(result)
        robust, text = _verdict(self._judged(table))
        return SensitivityResult(self.name, table, robust, text)


class PriorSensitivity(_RefitCheck):
    """Refit under prior changes; one row per variant and key quantity.

    Parameters
    ----------
    variants
        ``{label: {prior name: Prior}}``; by default :func:`default_prior_variants`.
    seed, **settings
        Fit settings for the refits (``draws``, ``tune``, ``chains``, ``sampler``); the
        fit's own by default.
    """

    name = "prior"

    def __init__(
        self,
        variants: Mapping[str, Mapping[str, Prior]] | None = None,
        *,
        seed: int | None = None,
        **settings,
    ) -> None:
        super().__init__(seed=seed, **settings)
        self.variants = variants

    def _variants(self, result):
        variants = self.variants or default_prior_variants(result)
        for label, priors in variants.items():
            change = "; ".join(f"{k} = {_prior_text(p)}" for k, p in priors.items())
            yield label, change, result.spec.with_priors(**priors)


#: Structure changes tried by :class:`AssumptionSensitivity`: label -> options.
ASSUMPTIONS = {
    "no heterogeneity": {"heterogeneity": "none"},
    "logit-normal heterogeneity": {"heterogeneity": "normal"},
    "mixture heterogeneity": {"heterogeneity": "mixture"},
    "behavioural response": {"behaviour": True},
    "no behavioural response": {"behaviour": False},
    "Poisson N": {"abundance": "poisson"},
    "negative-binomial N": {"abundance": "negative-binomial"},
}


def structure_variant(spec: ModelSpec, options: Mapping) -> ModelSpec | None:
    """``spec`` with structure ``options``; None when the family lacks an option or value,
    or when nothing changes. Priors the new structure does not have are dropped."""
    family = family_of(spec)
    current = family.structure(spec)
    for key, value in options.items():
        if key not in family.structure_options:
            return None
        allowed = family.structure_options[key][1]
        if isinstance(allowed, tuple) and value not in allowed:
            return None
    if all(current[k] == v for k, v in options.items()):
        return None
    changed = spec.with_structure(**options)
    known = family.default_priors(family.structure(changed))
    priors = {k: p for k, p in changed.priors.items() if k in known}
    return dataclasses.replace(changed, priors=priors, name=f"{spec.name}*")


class AssumptionSensitivity(_RefitCheck):
    """Refit under other structural assumptions, plus an invisible share with a prior.

    Parameters
    ----------
    assumptions
        ``{label: structure options}``; by default :data:`ASSUMPTIONS` (those the family
        has and the fit does not already use).
    invisible_share
        Prior of the share of the population that can never be reported (a Beta), or None
        to leave it out. Applied to every period alike, it scales the levels and leaves
        growth unchanged; :class:`~hiddenpop.sensitivity.TippingPoint` asks how much it
        would have to change to cancel the growth.
    seed, **settings
        Fit settings for the refits.
    """

    name = "assumptions"

    def __init__(
        self,
        assumptions: Mapping[str, Mapping] | None = None,
        *,
        invisible_share: Prior | None = None,
        seed: int | None = None,
        **settings,
    ) -> None:
        super().__init__(seed=seed, **settings)
        self.assumptions = assumptions if assumptions is not None else ASSUMPTIONS
        self.invisible_share = invisible_share or Prior("Beta", {"alpha": 2.0, "beta": 8.0})

    def _variants(self, result):
        for label, options in self.assumptions.items():
            change = ", ".join(f"{k} = {v}" for k, v in options.items())
            yield label, change, structure_variant(result.spec, options)

    def _table(self, result) -> pd.DataFrame:
        table = super()._table(result)
        return pd.concat([table, self._invisible(result)], ignore_index=True)

    def _judged(self, table: pd.DataFrame) -> pd.DataFrame:
        # an invisible share raises every level by construction: only its growth is judged
        return table[~((table["variant"] == self._invisible_label) & (table["quantity"] == "N"))]

    @property
    def _invisible_label(self) -> str:
        return f"invisible share ~ {self.invisible_share}"

    def _invisible(self, result) -> pd.DataFrame:
        import pymc as pm

        n_draws = result.abundance.sizes["chain"] * result.abundance.sizes["draw"]
        seed = int(result.idata.attrs.get("seed", 0))
        share = pm.draw(self.invisible_share.dist_object(size=n_draws), random_seed=seed)
        rows = []
        base = key_quantities(result)
        label = self._invisible_label
        for period, index in zip(result.periods, range(len(result.periods)), strict=True):
            draws = result.abundance.isel(period=index).values.ravel() / (1.0 - share)
            label_period = period.item() if isinstance(period, np.generic) else period
            row = {"variant": label, "change": "N_t / (1 - s), s from its prior"}
            row.update({"quantity": "N", "period": label_period, **summarise_draws(draws)})
            rows.append(row)
        unchanged = base[base["quantity"] != "N"].assign(
            variant=label, change="growth unchanged (same share in every period)"
        )
        return pd.concat([pd.DataFrame(rows), unchanged], ignore_index=True)
