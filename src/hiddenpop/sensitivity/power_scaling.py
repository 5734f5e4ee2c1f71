"""Refit-free prior and likelihood sensitivity by power-scaling (Kallioinen et al. 2024).

``arviz.psens`` raises the prior (or the likelihood) to a power alpha near 1 by importance
weighting the posterior draws, and measures how far each quantity's posterior moves (the
derivative of the cumulative Jensen-Shannon distance). Values above 0.05 count as
sensitive: a quantity sensitive to the prior and not to the likelihood leans on the prior
(weak data); sensitive to both is a prior-data conflict.

It needs the prior log-density of every posterior draw, which sampling does not store.
:func:`log_prior_draws` computes it generically for any family: it **rebuilds the model
from the fit's spec and data** (``family.build``; the same graph, because a build is pure)
and evaluates, per draw, the log-density of every free random variable on its constrained
scale (no Jacobian) plus every Potential except ``likelihood`` (families put priors on
derived quantities such as log lambda_t in Potentials, e.g. ``abundance_prior``). The
likelihood side is the fit's ``log_likelihood`` group (per period).
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from hiddenpop.modeling import family_of
from hiddenpop.sensitivity.base import SensitivityCheck, SensitivityResult, key_quantity_draws

__all__ = ["LIKELIHOOD_POTENTIAL", "PowerScaling", "log_prior_draws", "with_log_prior"]

#: Name of the Potential holding the data likelihood in every family.
LIKELIHOOD_POTENTIAL = "likelihood"
#: psens values above this count as sensitive (the priorsense convention).
THRESHOLD = 0.05


def log_prior_draws(result) -> xr.Dataset:
    """Prior log-density of each posterior draw, one variable per prior term.

    Terms: each free random variable (summed over its dims, constrained scale, no Jacobian)
    and each prior Potential. Dims ``chain, draw``.
    """
    from pymc.model.transform.conditioning import remove_value_transforms

    from hiddenpop.study.compiled import release_initial_values

    model = family_of(result.spec).build(result.spec, result.data)
    release_initial_values(model)
    plain = remove_value_transforms(model)
    terms = list(plain.free_RVs) + [
        potential for potential in plain.potentials if potential.name != LIKELIHOOD_POTENTIAL
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        function = plain.compile_fn(
            inputs=plain.value_vars,
            outs=[density.sum() for density in plain.logp(vars=terms, sum=False)],
            on_unused_input="ignore",
            point_fn=False,
        )
    posterior = result.posterior
    values = [posterior[rv.name].values for rv in plain.free_RVs]
    n_chains, n_draws = posterior.sizes["chain"], posterior.sizes["draw"]
    out = np.empty((len(terms), n_chains, n_draws))
    for chain in range(n_chains):
        for draw in range(n_draws):
            out[:, chain, draw] = function(*(value[chain, draw] for value in values))
    coords = {"chain": posterior["chain"].values, "draw": posterior["draw"].values}
    return xr.Dataset(
        {term.name: (("chain", "draw"), out[i]) for i, term in enumerate(terms)}, coords=coords
    )


def with_log_prior(result, quantities: bool = True) -> az.InferenceData:
    """A copy of the fit's InferenceData with a ``log_prior`` group (and, with
    ``quantities``, the key quantities as posterior variables ``N``, ``true_growth``, ...)."""
    idata = result.idata.copy()
    idata.add_groups(log_prior=log_prior_draws(result))
    if quantities and result.growth is not None:
        growth = result.growth
        extra = {
            "true_growth": growth["true"],
            "reporting_growth": growth["reporting"],
            "reporting_share": growth["reporting_share"],
        }
        idata.posterior = idata.posterior.assign(extra)
    return idata


def _diagnosis(prior: float, likelihood: float) -> str:
    if prior >= THRESHOLD and likelihood >= THRESHOLD:
        return "prior-data conflict"
    if prior >= THRESHOLD:
        return "prior dominates (weak likelihood)"
    return "-"


class PowerScaling(SensitivityCheck):
    """Refit-free power-scaling sensitivity of the key quantities (``arviz.psens``).

    The table has one row per key quantity and period, with columns ``quantity``,
    ``period``, ``prior_sensitivity``, ``likelihood_sensitivity`` and ``diagnosis``.

    Parameters
    ----------
    prior_terms
        Power-scale only these prior terms (names from :func:`log_prior_draws`, e.g.
        ``["abundance_prior"]``); all of them by default.
    delta
        Half-width of the power range, alpha in [1 / (1 + delta), 1 + delta].
    """

    name = "power-scaling"

    def __init__(self, prior_terms: list[str] | None = None, delta: float = 0.01) -> None:
        self.prior_terms = prior_terms
        self.delta = delta

    def run(self, result) -> SensitivityResult:
        idata = with_log_prior(result)
        names = ["N"] + [n for n in ("true_growth", "reporting_growth") if n in idata.posterior]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prior = az.psens(
                idata,
                component="prior",
                component_var_names=self.prior_terms,
                var_names=names,
                delta=self.delta,
            )
            likelihood = az.psens(idata, component="likelihood", var_names=names, delta=self.delta)
        # with one quantity (a one-period fit: N alone) psens returns a DataArray
        prior, likelihood = (
            x.to_dataset(name=names[0]) if isinstance(x, xr.DataArray) else x
            for x in (prior, likelihood)
        )
        rows = []
        for quantity, period in key_quantity_draws(result):
            if quantity not in names:
                continue
            select = {"period": period} if quantity == "N" else {}
            p = float(prior[quantity].sel(select).values)
            lik = float(likelihood[quantity].sel(select).values)
            rows.append(
                {
                    "quantity": quantity,
                    "period": period,
                    "prior_sensitivity": p,
                    "likelihood_sensitivity": lik,
                    "diagnosis": _diagnosis(p, lik),
                }
            )
        table = pd.DataFrame(rows)
        flagged = table[table["diagnosis"] != "-"]
        robust = bool(flagged.empty)
        text = (
            "no key quantity is sensitive to power-scaling the prior (threshold 0.05)"
            if robust
            else "sensitive: "
            + "; ".join(
                f"{r.quantity}[{r.period}] {r.diagnosis} (prior {r.prior_sensitivity:.3f})"
                for r in flagged.itertuples()
            )
        )
        terms = list(idata.log_prior.data_vars)
        return SensitivityResult(
            self.name, table, robust, text, {"prior_terms": self.prior_terms or terms}
        )
