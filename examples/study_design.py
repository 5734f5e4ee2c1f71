"""Designing a study: how many occasions, and how much overlap, to separate the two growths?

Before collecting data — or before deciding to split a year of reports into weeks rather than
quarters — simulate. The question is practical: with K occasions per period and a given
detection level, will the posterior tell true growth from reporting growth, or will both
intervals straddle "no change"?

This example simulates the `both` scenario (the population grows 3.5-fold while detection
triples, homogeneous detection) under several designs, fits a closed model per period, and
reports for each design the overlap (the share of reported units seen on two or more
occasions), the width of the 90% interval of true growth, and whether each growth is
detected (its interval excludes 1). The hierarchical trend model pools the periods and does
somewhat better than these per-period fits; the ranking of designs is the same.

`HIDDENPOP_QUICK=1` (or `--quick`) runs two designs with few draws; a real study design uses
several replicates per design (`hiddenpop study`).
"""

import os
import sys
import warnings
from pathlib import Path

import numpy as np

from hiddenpop.data import CaptureData
from hiddenpop.inference import fit
from hiddenpop.plots import new_figure
from hiddenpop.simulation import simulate

QUICK = os.environ.get("HIDDENPOP_QUICK") == "1" or "--quick" in sys.argv
SAMPLER = dict(draws=200, tune=200, chains=2) if QUICK else dict(draws=1000, tune=1000, chains=4)
OUT = Path(os.environ.get("HIDDENPOP_EXAMPLE_OUTPUT", "."))
#: (occasions per period, detection per occasion in the first and last period)
DESIGNS = (
    [(2, (0.06, 0.18)), (8, (0.06, 0.18))]
    if QUICK
    else [(k, p) for p in ((0.02, 0.06), (0.06, 0.18)) for k in (2, 4, 8, 12)]
)

rows = []
print("K   detection     overlap   true growth (90%)        width   population?  reporting?")
for occasions, detection in DESIGNS:
    simulation = simulate("both", seed=8, n_occasions=occasions, detection=detection)
    data = CaptureData.from_records(
        simulation.records, id="id", period="period", occasion="occasion"
    )
    frequencies = data.stats["frequencies"].values
    overlap = float(frequencies[:, 1:].sum() / frequencies.sum())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quick mode: too few draws for the ESS checks
        growth = fit(data, "M0", seed=4, **SAMPLER).summary()["growth"]
    true, reporting = growth["true"], growth["reporting_realised"]
    width = np.log(true["q95"] / true["q05"])
    rows.append((occasions, detection, overlap, width))
    print(
        f"{occasions:<3} {detection[0]:.2f}-{detection[1]:.2f}   {overlap:7.0%}   "
        f"x{true['q50']:.2f} (x{true['q05']:.2f}-x{true['q95']:.2f})   {width:5.2f}   "
        f"{'yes' if true['q05'] > 1 else 'no':>11}  {'yes' if reporting['q05'] > 1 else 'no':>10}"
    )
truth = simulate("both", seed=8, n_occasions=2).truth
print(f"\ntruth: population x{float(truth['true_growth']):.2f}, reporting about x3")
print("width = log(q95 / q05) of true growth: 0.5 means the interval spans a factor of 1.6")

figure, (ax,) = new_figure(height=3.6)
for low in sorted({d[0] for _, d, _, _ in rows}):
    chosen = [(k, o, w) for k, d, o, w in rows if d[0] == low]
    ax.plot(
        [o for _, o, _ in chosen],
        [w for _, _, w in chosen],
        marker="o",
        label=f"detection {low:.2f} rising x3",
    )
    for k, o, w in chosen:
        ax.annotate(f"K={k}", (o, w), textcoords="offset points", xytext=(4, 4))
ax.set_xlabel("overlap: share of reported units seen on 2+ occasions")
ax.set_ylabel("width of the 90% interval of log true growth")
ax.set_title("More occasions, more overlap, sharper growth")
ax.set_ylim(bottom=0)
ax.legend(fontsize="small")
figure.savefig(OUT / "design.png", dpi=90)
