"""Closed models on the snowshoe hares, against the classical estimates.

The snowshoe hare data (Otis et al. 1978) are the classic test of closed-population models:
68 hares live-trapped on 6 consecutive days. This example computes the classical estimates
(Chao's lower bound, Zelterman's estimator and the maximum-likelihood estimate of each of the
models M0, Mt, Mb, Mh and Mth, as Rcapture's `closedp` gives them) and sets the Bayesian
posteriors beside them.

With weakly informative priors the posterior median sits close to the MLE when the data are
informative (M0, Mt) and the intervals are similar; under heterogeneity (Mh, Mth) the
posterior has a long right tail, as the profile-likelihood interval does: the hares never
caught are exactly the ones the data say least about.

`HIDDENPOP_QUICK=1` (or `--quick`) fits only M0 and Mth, with few draws.
"""

import os
import sys
import warnings
from pathlib import Path

import numpy as np

from hiddenpop.classical import chao_lower_bound, zelterman
from hiddenpop.datasets import dataset_info, load_dataset
from hiddenpop.inference import fit
from hiddenpop.likelihood.mle import fit_closed
from hiddenpop.plots import plot_sensitivity

QUICK = os.environ.get("HIDDENPOP_QUICK") == "1" or "--quick" in sys.argv
SAMPLER = dict(draws=200, tune=200, chains=2) if QUICK else dict(draws=1000, tune=1000, chains=4)
MODELS = ["M0", "Mth"] if QUICK else ["M0", "Mt", "Mb", "Mh", "Mth"]
OUT = Path(os.environ.get("HIDDENPOP_EXAMPLE_OUTPUT", "."))

data = load_dataset("hare")
print(dataset_info("hare")["title"])
frequencies = data.stats["frequencies"].values
print(f"hares caught: {int(data.detected[0])}; seen exactly 1..6 times: {frequencies[0].tolist()}")
print(f"Chao's lower bound: {chao_lower_bound(frequencies)[0]:.1f}")
print(f"Zelterman:          {zelterman(frequencies)[0]:.1f}")
print()

results = {}
print("model   MLE N  (90% profile interval)   posterior median  (90% interval)")
for model in MODELS:
    mle = fit_closed(data.stats, model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quick mode: too few draws for the ESS checks
        result = fit(data, model, seed=7, **SAMPLER)
    results[model] = result
    n = result.summary()["N"]
    low, high = mle.interval
    print(
        f"{model:5} {mle.abundance:7.1f}  ({low:6.1f} - {high:6.1f})          "
        f"{n['q50'][0]:6.0f}          ({n['q05'][0]:.0f} - {n['q95'][0]:.0f})"
    )

figure = plot_sensitivity(
    results, quantity="N", title="Snowshoe hares: posterior of N by model, with the MLE"
)
ax = figure.axes[0]
rows = np.arange(len(results))[::-1]
mles = [fit_closed(data.stats, model, interval=None).abundance for model in results]
ax.plot(mles, rows, "x", color="#d62728", markersize=9, label="maximum likelihood")
ax.axvline(data.detected[0], color="#7f7f7f", linestyle=":", label="hares caught")
ax.legend(loc="lower right", fontsize="small")
figure.savefig(OUT / "hares.png", dpi=90)
