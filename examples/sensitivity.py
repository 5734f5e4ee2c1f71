"""A sensitivity-analysis workflow: how much do the conclusions depend on the assumptions?

No capture–recapture estimate is assumption-free. Heterogeneity in particular is judged
almost entirely by its assumed form (Link 2003). The honest workflow is to fit the same data
under several defensible assumptions and report how much each conclusion moves:

1. fit the main model (here Mth with its default prior on the heterogeneity sd);
2. refit under alternatives: a prior that believes in little heterogeneity, a different shape
   of heterogeneity (a two-class mixture), no heterogeneity at all (M0);
3. put the quantities that matter side by side — the level of N and the growth — and compare
   how far the medians move with how wide the intervals are.

Priors are changed with `ModelSpec.with_priors`, never by editing the catalogue. The data are
the `heterogeneity` scenario of the previous example. `HIDDENPOP_QUICK=1` (or `--quick`)
compares only the first two assumptions, with few draws.
"""

import os
import sys
import warnings
from pathlib import Path

import numpy as np

from hiddenpop.data import CaptureData
from hiddenpop.inference import fit
from hiddenpop.modeling import Prior, load_model
from hiddenpop.plots import new_figure, plot_sensitivity
from hiddenpop.simulation import simulate

QUICK = os.environ.get("HIDDENPOP_QUICK") == "1" or "--quick" in sys.argv
SAMPLER = dict(draws=200, tune=200, chains=2) if QUICK else dict(draws=1000, tune=1000, chains=4)
OUT = Path(os.environ.get("HIDDENPOP_EXAMPLE_OUTPUT", "."))

simulation = simulate("heterogeneity", seed=11, n_occasions=5)
data = CaptureData.from_records(simulation.records, id="id", period="period", occasion="occasion")

main_model = load_model("Mth")
assumptions = {
    "Mth, sd ~ HalfNormal(1.5) (main)": main_model,
    "Mth, sd ~ HalfNormal(0.3)": main_model.with_priors(
        heterogeneity_sd=Prior("HalfNormal", {"sigma": 0.3})
    ),
    "two-class mixture": load_model("Mh-mixture"),
    "no heterogeneity (M0)": load_model("M0"),
}
if QUICK:
    assumptions = dict(list(assumptions.items())[:2])

results = {}
for label, spec in assumptions.items():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quick mode: too few draws for the ESS checks
        results[label] = fit(data, spec, seed=21, **SAMPLER)

last = data.periods[-1]
print(f"{'assumption':36} {'N in ' + str(last):>24}   {'true growth':>22}   Pr(grew)")
medians = {"N": [], "growth": []}
widths = {"N": [], "growth": []}
for label, result in results.items():
    s = result.summary()
    n = {k: v[-1] for k, v in s["N"].items()}
    g = s["growth"]["true"]
    grew = s["growth"]["prob_true_growth"]
    medians["N"].append(n["q50"])
    medians["growth"].append(g["q50"])
    widths["N"].append(n["q95"] - n["q05"])
    widths["growth"].append(g["q95"] - g["q05"])
    print(
        f"{label:36} {n['q50']:7,.0f} ({n['q05']:6,.0f} - {n['q95']:6,.0f})   "
        f"x{g['q50']:.2f} (x{g['q05']:.2f} - x{g['q95']:.2f})   {grew:.2f}"
    )

print("\nspread of the medians across assumptions, relative to the typical 90% interval:")
for quantity in ("N", "growth"):
    spread = np.ptp(medians[quantity]) / np.mean(widths[quantity])
    verdict = "robust" if spread < 0.5 else "sensitive: report the range, not one number"
    print(f"  {quantity:7} {spread:5.2f}  -> {verdict}")
print(
    f"\ntruth: N in {last} = {int(simulation.truth['N'].values[-1]):,}, "
    f"growth x{float(simulation.truth['true_growth']):.2f}"
)

figure, (left, right) = new_figure(1, 2, height=3.6)
plot_sensitivity(results, quantity="N", ax=left, title="level: N in the last period")
left.axvline(simulation.truth["N"].values[-1], color="#d62728", label="truth")
plot_sensitivity(results, quantity="true_growth", ax=right, title="trend: true growth")
right.axvline(float(simulation.truth["true_growth"]), color="#d62728", label="truth")
for ax in (left, right):
    ax.legend(loc="best", fontsize="small")
right.set_yticklabels([])
figure.savefig(OUT / "sensitivity.png", dpi=90)
