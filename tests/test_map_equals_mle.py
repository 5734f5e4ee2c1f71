"""With flat priors the posterior mode is the maximum-likelihood estimate (METHODS.md §3).

The PyMC model samples log m = log(lambda P*) with the prior placed on log lambda; with flat
priors its joint mode must coincide with the scipy MLE of ``hiddenpop.likelihood.mle`` (which
reproduces Rcapture, see test_likelihood_closed / docs/validation_closed.md) on the same model.
"""

from __future__ import annotations

import numpy as np
import pytensor
import pytest
from scipy import optimize

from hiddenpop.datasets import load_dataset
from hiddenpop.likelihood.mle import fit_closed
from hiddenpop.modeling import Prior, family_of, load_model

FLAT = {
    "abundance": Prior("Flat"),
    "detection": Prior("Flat"),
    "behaviour": Prior("Flat"),
    "heterogeneity_sd": Prior("HalfFlat"),
}


def posterior_mode_abundance(spec, data) -> np.ndarray:
    """exp(log lambda) at the joint posterior mode (density in the model's own space)."""
    family = family_of(spec)
    known = family.default_priors(family.structure(spec))
    spec = spec.with_priors(**{k: v for k, v in FLAT.items() if k in known})
    model = family.build(spec, data)
    values = model.value_vars
    logp = model.logp(jacobian=False)
    function = pytensor.function(
        values, [-logp, *pytensor.grad(-logp, values)], mode="FAST_COMPILE"
    )
    (log_lambda,) = model.replace_rvs_by_values([model["log_expected_abundance"]])
    abundance = pytensor.function(values, log_lambda, mode="FAST_COMPILE", on_unused_input="ignore")
    point = model.initial_point()
    shapes = [np.shape(point[v.name]) for v in values]
    sizes = [int(np.prod(s)) for s in shapes]

    def unpack(x):
        parts = np.split(x, np.cumsum(sizes)[:-1])
        return [p.reshape(s) for p, s in zip(parts, shapes, strict=True)]

    def objective(x):
        value, *grads = function(*unpack(x))
        return value, np.concatenate([np.ravel(g) for g in grads])

    x0 = np.concatenate([np.ravel(point[v.name]) for v in values])
    result = optimize.minimize(objective, x0, jac=True, method="BFGS", options={"gtol": 1e-8})
    assert result.success or np.linalg.norm(result.jac) < 1e-4, result.message
    return np.exp(abundance(*unpack(result.x)))


@pytest.mark.parametrize(
    ("dataset", "model", "mle_model"),
    [
        ("hare", "M0", "M0"),
        ("hare", "Mt", "Mt"),
        ("hare", "Mb", "Mb"),
        ("hare", "Mh", "Mh"),
        ("hare", "Mth", "Mth"),
        ("kosovo", "Mt", "Mt"),
        ("diabetes_italy", "Mth", "Mth"),
    ],
)
def test_flat_prior_mode_equals_mle(dataset, model, mle_model):
    data = load_dataset(dataset)
    spec = load_model(model)
    mode = posterior_mode_abundance(spec, data)
    options = {k: v for k, v in family_of(spec).structure(spec).items() if k.startswith("quad")}
    mle = fit_closed(
        data.stats,
        mle_model,
        n_nodes=options["quadrature_nodes"],
        quadrature=options["quadrature"],
        interval=None,
    )
    assert mode[0] == pytest.approx(mle.abundance, rel=1e-4)
