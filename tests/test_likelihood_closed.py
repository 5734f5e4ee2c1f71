"""Exact tests of the closed-population log-likelihoods (METHODS.md §8, rung 1).

Every log-likelihood must equal brute-force enumeration on tiny data: P(h) computed unit by
unit from the definition (occasions in order, behaviour switched on after the first capture),
heterogeneity integrated with scipy.integrate.quad (not Gauss-Hermite) or summed over mixture
classes, and N marginalised by summing over the latent population size N itself.
One batched call covers three periods with 3, 5 and 4 occasions (masked cells hold NaN
logits, which must not leak). One PyTensor function is compiled for the whole module.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, special, stats

from hiddenpop.detection import gauss_hermite_normal
from hiddenpop.exceptions import UnsupportedDataError
from hiddenpop.likelihood import (
    ClosedStatistics,
    Heterogeneity,
    conditional_log_likelihood,
    history_log_likelihood,
    log_detection_probability,
    log_unseen_probability,
    mixture_heterogeneity,
    negative_binomial_log_likelihood,
    normal_heterogeneity,
    poisson_log_likelihood,
)

OCCASIONS = (3, 5, 4)
K_MAX = max(OCCASIONS)
HETEROGENEITY = ("homogeneous", "normal", "mixture")
FORMS = ("rasch", "behaviour")


def _histories(k: int) -> list[tuple[int, ...]]:
    return [h for h in itertools.product((0, 1), repeat=k) if any(h)]


def _period_statistics(histories, counts, k_max):
    """Sufficient statistics of one period, computed directly from the history table."""
    histories = np.asarray(histories)
    k = histories.shape[1]
    seen = histories.sum(axis=1)
    first = histories.argmax(axis=1)
    captures = np.zeros(k_max)
    captures[:k] = counts @ histories
    frequencies = np.bincount(seen - 1, weights=counts, minlength=k_max)
    first_captures = np.bincount(first, weights=counts, minlength=k_max)
    first_by_frequency = np.zeros((k_max, k_max))
    np.add.at(first_by_frequency, (first, seen - 1), counts)
    return {
        "detected": counts.sum(),
        "occasion_mask": np.arange(k_max) < k,
        "frequencies": frequencies,
        "captures": captures,
        "first_captures": first_captures,
        "recaptures": captures - first_captures,
        "first_by_frequency": first_by_frequency,
    }


@pytest.fixture(scope="module")
def data():
    """Random counts of every history in three periods, and parameters to evaluate at."""
    rng = np.random.default_rng(20240611)
    counts = [rng.integers(0, 5, size=2**k - 1).astype(float) for k in OCCASIONS]
    periods = [
        _period_statistics(_histories(k), c, K_MAX) for k, c in zip(OCCASIONS, counts, strict=True)
    ]
    statistics = {name: np.stack([p[name] for p in periods]) for name in periods[0]}
    tau = rng.normal(-0.6, 0.6, size=(len(OCCASIONS), K_MAX))
    tau[~statistics["occasion_mask"]] = np.nan
    values = {
        "tau": tau,
        "tau_constant": np.array([[-0.4], [-1.1], [0.2]]),
        "sigma": np.array([0.8, 1.3, 0.5]),
        "support": np.array([[0.0, -1.5], [0.4, -2.0], [0.0, 1.0]]),
        "weight": np.array([[0.6, 0.4], [0.3, 0.7], [0.5, 0.5]]),
        "behaviour": np.array([0.5, -0.7, 0.9]),
        "log_lambda": np.log([45.0, 80.0, 60.0]),
        "shape": np.array([3.0, 12.0, 1.5]),
    }
    return {"counts": counts, "statistics": statistics, "values": values}


@pytest.fixture(scope="module")
def compiled():
    """One compiled function: every form of every log-likelihood, plus one gradient.

    The unit-shift distribution is an input (support and log-weights), so the same graph
    serves Gauss-Hermite nodes and mixture classes; ``None`` (no quadrature) is its own path.
    """
    parameters = {
        "tau": pt.dmatrix("tau"),
        "tau_constant": pt.matrix("tau_constant", shape=(None, 1), dtype="float64"),
        "shift": pt.dmatrix("shift"),
        "log_weight": pt.dmatrix("log_weight"),
        "behaviour": pt.dvector("behaviour"),
        "log_lambda": pt.dvector("log_lambda"),
        "shape": pt.dvector("shape"),
    }
    data = {
        "detected": pt.dvector("detected"),
        "occasion_mask": pt.matrix("occasion_mask", dtype="bool"),
        "frequencies": pt.dmatrix("frequencies"),
        "captures": pt.dmatrix("captures"),
        "first_captures": pt.dmatrix("first_captures"),
        "recaptures": pt.dmatrix("recaptures"),
        "first_by_frequency": pt.dtensor3("first_by_frequency"),
    }
    statistics = ClosedStatistics(**data)
    frequency_only = ClosedStatistics(data["detected"], data["occasion_mask"], data["frequencies"])
    heterogeneity = {
        "homogeneous": None,
        "heterogeneous": Heterogeneity(parameters["shift"], parameters["log_weight"]),
    }
    tau, log_lambda, shape = parameters["tau"], parameters["log_lambda"], parameters["shape"]
    outputs = {}
    for het_name, het in heterogeneity.items():
        mask = data["occasion_mask"]
        outputs[f"unseen/{het_name}"] = log_unseen_probability(tau, mask, het)
        outputs[f"detection/{het_name}"] = log_detection_probability(tau, mask, het)
        outputs[f"frequency/{het_name}"] = history_log_likelihood(
            parameters["tau_constant"], frequency_only, het
        )
        for form in FORMS:
            b = parameters["behaviour"] if form == "behaviour" else None
            key = f"{het_name}/{form}"
            outputs[f"history/{key}"] = history_log_likelihood(tau, statistics, het, b)
            outputs[f"poisson/{key}"] = poisson_log_likelihood(log_lambda, tau, statistics, het, b)
            outputs[f"negative_binomial/{key}"] = negative_binomial_log_likelihood(
                log_lambda, shape, tau, statistics, het, b
            )
            outputs[f"conditional/{key}"] = conditional_log_likelihood(tau, statistics, het, b)
    # One scalar whose gradient runs through every code path.
    total = sum(
        outputs[key].sum()
        for key in (
            "poisson/heterogeneous/behaviour",
            "negative_binomial/heterogeneous/rasch",
            "conditional/homogeneous/behaviour",
            "poisson/homogeneous/rasch",
            "frequency/heterogeneous",
        )
    )
    gradients = pytensor.grad(total, list(parameters.values()))
    names = list(outputs)
    function = pytensor.function(
        [*parameters.values(), *data.values()], [*outputs.values(), total, *gradients]
    )

    def evaluate(values, statistics_values, het_name):
        """Outputs for heterogeneity ``het_name`` ("homogeneous", "normal", "mixture")."""
        if "shift" in values:
            shift, log_weight = values["shift"], values["log_weight"]
        elif het_name == "normal":
            nodes, log_weight = gauss_hermite_normal(40)
            shift = values["sigma"][:, None] * nodes
            log_weight = np.broadcast_to(log_weight, shift.shape)
        else:
            shift, log_weight = values["support"], np.log(values["weight"])
        inputs = dict(values, shift=shift, log_weight=log_weight)
        out = function(*(inputs[p] for p in parameters), *(statistics_values[d] for d in data))
        kind = "homogeneous" if het_name == "homogeneous" else "heterogeneous"
        result = {
            name.replace(kind, het_name): value
            for name, value in zip(names, out[: len(names)], strict=True)
            if kind in name
        }
        result["total"] = float(out[len(names)])
        result["gradient"] = dict(zip(parameters, out[len(names) + 1 :], strict=True))
        return result

    return evaluate


def _history_probabilities(histories, tau, behaviour, shift):
    """P(h | unit shift) for each row h: occasions in order, behaviour after first capture."""
    probability = np.ones(len(histories))
    seen = np.zeros(len(histories), dtype=bool)
    for k in range(histories.shape[1]):
        p = special.expit(tau[k] + shift + np.where(seen, behaviour, 0.0))
        captured = histories[:, k] == 1
        probability *= np.where(captured, p, 1.0 - p)
        seen |= captured
    return probability


def _probabilities(histories, tau, behaviour, het_name, values, t):
    """Marginal P(h): adaptive quadrature over the normal, sum over mixture classes."""
    if het_name == "homogeneous":
        return _history_probabilities(histories, tau, behaviour, 0.0)
    if het_name == "mixture":
        return sum(
            w * _history_probabilities(histories, tau, behaviour, s)
            for s, w in zip(values["support"][t], values["weight"][t], strict=True)
        )
    sigma = values["sigma"][t]
    return integrate.quad_vec(
        lambda z: _history_probabilities(histories, tau, behaviour, sigma * z) * stats.norm.pdf(z),
        -np.inf,
        np.inf,
        epsabs=1e-15,
        epsrel=1e-12,
    )[0]


@pytest.fixture(scope="module")
def brute_force(data):
    """``_brute_force`` with its results kept for the module (quad is the slow part)."""
    results = {}

    def lookup(het_name, form, t, constant_logit=False):
        key = (het_name, form, t, constant_logit)
        if key not in results:
            tau = None
            if constant_logit:
                tau = np.full(OCCASIONS[t], data["values"]["tau_constant"][t, 0])
            results[key] = _brute_force(data, het_name, form, t, tau)
        return results[key]

    return lookup


def _brute_force(data, het_name, form, t, tau=None):
    """History term, log A_0, and the Poisson / NB / conditional log-likelihoods of period t."""
    values, counts = data["values"], data["counts"][t]
    k = OCCASIONS[t]
    tau = values["tau"][t, :k] if tau is None else tau
    behaviour = values["behaviour"][t] if form == "behaviour" else 0.0
    histories = np.array(_histories(k))
    p = _probabilities(histories, tau, behaviour, het_name, values, t)
    p_unseen = _probabilities(np.zeros((1, k)), tau, 0.0, het_name, values, t)[0]
    n = counts.sum()
    history = counts @ np.log(p)
    # What every hiddenpop log-likelihood leaves out: -sum_h log n_h!.
    omitted = -special.gammaln(counts + 1).sum()
    lam, shape = np.exp(values["log_lambda"][t]), values["shape"][t]
    size = n + np.arange(4000)
    given_size = (
        special.gammaln(size + 1)
        - special.gammaln(size - n + 1)
        + history
        + (size - n) * np.log(p_unseen)
        + omitted
    )
    poisson = special.logsumexp(stats.poisson.logpmf(size, lam) + given_size)
    negative_binomial = special.logsumexp(
        stats.nbinom.logpmf(size, shape, shape / (shape + lam)) + given_size
    )
    conditional = stats.multinomial.logpmf(counts, n, p / (1 - p_unseen))
    return {
        "history": history,
        "unseen": np.log(p_unseen),
        "detection": np.log1p(-p_unseen),
        "poisson": poisson - omitted,
        "negative_binomial": negative_binomial - omitted,
        "conditional": conditional - special.gammaln(n + 1) - omitted,
    }


@pytest.fixture(scope="module")
def evaluated(compiled, data):
    return {h: compiled(data["values"], data["statistics"], h) for h in HETEROGENEITY}


@pytest.mark.parametrize("het_name", HETEROGENEITY)
@pytest.mark.parametrize("form", FORMS)
def test_log_likelihoods_equal_brute_force(evaluated, brute_force, het_name, form):
    for t in range(len(OCCASIONS)):
        expected = brute_force(het_name, form, t)
        for quantity in ("history", "poisson", "negative_binomial", "conditional"):
            value = evaluated[het_name][f"{quantity}/{het_name}/{form}"][t]
            # 40 Gauss-Hermite nodes against adaptive quadrature: agreement to ~1e-9.
            assert value == pytest.approx(expected[quantity], rel=1e-8, abs=1e-7), (quantity, t)


@pytest.mark.parametrize("het_name", HETEROGENEITY)
def test_unseen_and_detection_probability_equal_brute_force(evaluated, brute_force, het_name):
    for t in range(len(OCCASIONS)):
        expected = brute_force(het_name, "rasch", t)
        for quantity in ("unseen", "detection"):
            value = evaluated[het_name][f"{quantity}/{het_name}"][t]
            assert value == pytest.approx(expected[quantity], rel=1e-8), (quantity, t)


@pytest.mark.parametrize("het_name", HETEROGENEITY)
def test_frequency_only_form_equals_brute_force_with_constant_logit(
    evaluated, brute_force, het_name
):
    for t in range(len(OCCASIONS)):
        expected = brute_force(het_name, "rasch", t, constant_logit=True)
        assert evaluated[het_name][f"frequency/{het_name}"][t] == pytest.approx(
            expected["history"], rel=1e-9
        )


def test_masked_occasions_contribute_nothing(compiled, data, evaluated):
    """NaN logits in masked cells change nothing and get zero gradient."""
    mask = data["statistics"]["occasion_mask"]
    for het_name in HETEROGENEITY:
        reference = evaluated[het_name]
        assert np.isfinite(reference["total"])
        assert np.all(reference["gradient"]["tau"][~mask] == 0.0)
        values = dict(data["values"], tau=np.where(mask, data["values"]["tau"], 50.0))
        again = compiled(values, data["statistics"], het_name)
        assert again["total"] == pytest.approx(reference["total"], rel=1e-12)


def test_gradient_is_finite_and_matches_finite_differences(compiled, data):
    values = dict(data["values"], shift=data["values"]["support"])
    values["log_weight"] = np.log(data["values"]["weight"])
    mask = data["statistics"]["occasion_mask"]
    gradients = compiled(values, data["statistics"], "mixture")["gradient"]
    for name, gradient in gradients.items():
        assert np.all(np.isfinite(gradient)), name
        flat = values[name].ravel()
        for j in range(flat.size):
            if name == "tau" and not mask.ravel()[j]:
                continue
            step = 1e-6 * max(1.0, abs(flat[j]))
            totals = []
            for sign in (1, -1):
                moved = flat.copy()
                moved[j] += sign * step
                shifted = dict(values, **{name: moved.reshape(values[name].shape)})
                totals.append(compiled(shifted, data["statistics"], "mixture")["total"])
            numeric = (totals[0] - totals[1]) / (2 * step)
            assert gradient.ravel()[j] == pytest.approx(numeric, rel=1e-5, abs=1e-5), (name, j)


def test_negative_binomial_tends_to_poisson(compiled, data):
    values = dict(data["values"], shape=np.full(3, 1e9))
    out = compiled(values, data["statistics"], "normal")
    np.testing.assert_allclose(
        out["negative_binomial/normal/behaviour"], out["poisson/normal/behaviour"], rtol=1e-6
    )


def test_heterogeneity_constructors():
    nodes, log_weight = gauss_hermite_normal(40)
    normal = normal_heterogeneity(np.array([0.5, 2.0]), n_nodes=40)
    np.testing.assert_allclose(normal.shift.eval(), np.outer([0.5, 2.0], nodes))
    np.testing.assert_allclose(normal.log_weight.eval(), log_weight)
    assert special.logsumexp(log_weight) == pytest.approx(0.0, abs=1e-12)
    mixture = mixture_heterogeneity([0.0, -2.0], [0.25, 0.75])
    np.testing.assert_allclose(mixture.log_weight.eval(), np.log([0.25, 0.75]))


def test_frequency_only_data_need_a_constant_logit(data):
    s = data["statistics"]
    frequency_only = ClosedStatistics(s["detected"], s["occasion_mask"], s["frequencies"])
    with pytest.raises(UnsupportedDataError, match="constant over occasions"):
        history_log_likelihood(np.zeros((3, K_MAX)), frequency_only)
    with pytest.raises(UnsupportedDataError, match="first captures"):
        history_log_likelihood(np.zeros((3, 1)), frequency_only, behaviour=0.5)


def test_behaviour_with_heterogeneity_needs_first_by_frequency(data):
    s = dict(data["statistics"])
    del s["first_by_frequency"]
    statistics = ClosedStatistics.from_stats(s)
    assert statistics.first_by_frequency is None
    with pytest.raises(UnsupportedDataError, match="first_by_frequency"):
        history_log_likelihood(
            np.zeros((3, K_MAX)), statistics, normal_heterogeneity(1.0), behaviour=0.5
        )
