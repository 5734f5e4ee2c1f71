"""Heterogeneity: why levels are fragile and trends less so.

When some units are much easier to report than others, the units seen once or never are not
a random sample of the population: they are the hard-to-see ones. A model that assumes every
unit has the same detection probability (M0) reads the many repeat sightings of the easy
units as thorough reporting, and puts the population far too low. A model with logit-normal
heterogeneity (Mth) does better, but its level still rests on the assumed shape of the
heterogeneity distribution, which the data can barely check (Link 2003).

A *ratio* of two periods is sturdier: if the same kind of heterogeneity is present in both
periods, much of the bias cancels. This example simulates the `heterogeneity` scenario (N
doubles, the detection of a typical unit doubles, heterogeneity sd 1.5 on the logit scale;
five occasions per period)
and compares the levels and the growth estimated by M0 and Mth with the truth.
"""

import os
import sys
import warnings
from pathlib import Path

from hiddenpop.data import CaptureData
from hiddenpop.inference import fit
from hiddenpop.plots import new_figure, plot_sensitivity, plot_trend
from hiddenpop.simulation import simulate

QUICK = os.environ.get("HIDDENPOP_QUICK") == "1" or "--quick" in sys.argv
SAMPLER = dict(draws=200, tune=200, chains=2) if QUICK else dict(draws=1000, tune=1000, chains=4)
OUT = Path(os.environ.get("HIDDENPOP_EXAMPLE_OUTPUT", "."))

simulation = simulate("heterogeneity", seed=11, n_occasions=5)
truth = simulation.truth
data = CaptureData.from_records(simulation.records, id="id", period="period", occasion="occasion")
true_n = truth["N"].values
print(f"periods {data.periods}; true N {true_n.tolist()}; reported {data.detected.tolist()}")

results = {}
for model in ("M0", "Mth"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quick mode: too few draws for the ESS checks
        results[model] = fit(data, model, seed=3, **SAMPLER)

print("\nlevel: estimated N / true N, per period (posterior median)")
for model, result in results.items():
    ratios = result.summary()["N"]["q50"] / true_n
    print(f"  {model:4} " + "  ".join(f"{r:5.2f}" for r in ratios))

print(
    f"\ngrowth {data.periods[0]} -> {data.periods[-1]} (truth x{float(truth['true_growth']):.2f})"
)
for model, result in results.items():
    g = result.summary()["growth"]["true"]
    print(f"  {model:4} x{g['q50']:.2f}  (90% interval x{g['q05']:.2f} - x{g['q95']:.2f})")

level_error = {m: abs(r.summary()["N"]["q50"][-1] / true_n[-1] - 1) for m, r in results.items()}
growth_error = {
    m: abs(r.summary()["growth"]["true"]["q50"] / float(truth["true_growth"]) - 1)
    for m, r in results.items()
}
print("\nrelative error        level (last period)   growth")
for model in results:
    print(
        f"  {model:4}                {level_error[model]:6.0%}           {growth_error[model]:6.0%}"
    )

figure, axes = new_figure(1, 2)
for ax, (model, result) in zip(axes, results.items(), strict=True):
    plot_trend(result, truth=simulation, ax=ax, title=f"{model}: N_t against the truth")
figure.savefig(OUT / "levels.png", dpi=90)
growth = plot_sensitivity(results, quantity="true_growth")
growth.axes[0].axvline(float(truth["true_growth"]), color="#d62728", label="truth")
growth.axes[0].legend(loc="lower right", fontsize="small")
growth.savefig(OUT / "growth.png", dpi=90)
