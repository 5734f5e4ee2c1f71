"""Was it real growth? The hotline case, end to end.

A hotline's reports of IP addresses used for online exploitation rose steeply over eight
years (about sixty-fold in this simulation). Did the number of such addresses grow, or did
the hotline get better at finding them? The counts alone cannot say: the number reported
is n_t = N_t · P*_t, the population times the probability of being reported at least once,
and both factors may have grown.

This example simulates the motivating case (`simulate("hotline")`: 52 weekly occasions a
year, weekly detection rising from 0.08% to 0.25%, the population from 5,000 to 82,000 in a
base of 5.48 million addresses) so that the truth is known, fits the hierarchical trend model
`robust-trend`, and reads the decomposition: how much of the rise is the population and how
much is reporting. Weekly overlap — the same address reported in two different weeks of a
year — is what separates the two.

Run it with `python examples/real_growth.py` (add `--quick`, or set `HIDDENPOP_QUICK=1`, for
few draws); figures and a report go to `HIDDENPOP_EXAMPLE_OUTPUT` (default: here).
"""

import os
import sys
import textwrap
import warnings
from pathlib import Path

from hiddenpop.data import CaptureData
from hiddenpop.inference import fit
from hiddenpop.modeling import model_names
from hiddenpop.plots import plot_decomposition, plot_detection, plot_trend
from hiddenpop.report import decomposition_sentences, write_report
from hiddenpop.simulation import simulate

QUICK = os.environ.get("HIDDENPOP_QUICK") == "1" or "--quick" in sys.argv
SAMPLER = dict(draws=200, tune=300, chains=2) if QUICK else dict(draws=1000, tune=1000, chains=4)
OUT = Path(os.environ.get("HIDDENPOP_EXAMPLE_OUTPUT", "."))

if "robust-trend" not in model_names():
    print("SKIPPED: this example needs the robust-trend model, not in this installation.")
    sys.exit(0)

# 1. The data: one row per report (IP address, year, week), with the truth kept aside.
simulation = simulate("hotline", seed=2020)
truth = simulation.truth
data = CaptureData.from_records(
    simulation.records, id="id", period="period", occasion="occasion", occasions="union"
)
print(f"{len(simulation.records):,} reports of {int(data.detected.sum()):,} address-years")

# 2. The naive reading: reports as if they were the population.
detected = data.detected
print(
    f"reports rose x{detected[-1] / detected[0]:.1f} from {data.periods[0]} to {data.periods[-1]}"
)
seen_twice = data.stats["frequencies"].sel(n_captures=slice(2, None)).sum("n_captures").values
for period, n, again in zip(data.periods, detected, seen_twice, strict=True):
    print(f"  {period}: {n:6,} addresses reported, {again:5,} of them in two or more weeks")

# 3. The model: population trend and reporting trend, separated by the weekly overlap.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # few draws in quick mode: the diagnostics say so below
    result = fit(
        data,
        "robust-trend",
        seed=1,
        denominator=truth["denominator"].values,
        **SAMPLER,
    )
print()
print(result.table().round(3).to_string(index=False))
print()
for paragraph in decomposition_sentences(result.summary()):
    print(textwrap.fill(paragraph, 92))

# 4. Against the truth (known only because the data are simulated).
growth = result.summary()["growth"]
print()
print("                 truth   posterior median (90% interval)")
for name, key in (("true growth", "true"), ("reporting growth", "reporting_realised")):
    known = float(truth["true_growth" if key == "true" else "reporting_growth"])
    g = growth[key]
    inside = "covered" if g["q05"] <= known <= g["q95"] else "MISSED"
    print(
        f"{name:>16}  x{known:5.2f}   x{g['q50']:.2f} (x{g['q05']:.2f} - x{g['q95']:.2f}) {inside}"
    )
diagnostics = result.summary()["diagnostics"]
print(f"\ndiagnostics ok: {diagnostics['ok']} (R-hat max {diagnostics['rhat_max']:.3f})")

plot_trend(result, quantity="prevalence", truth=simulation).savefig(OUT / "prevalence.png", dpi=90)
plot_decomposition(result, truth=simulation).savefig(OUT / "decomposition.png", dpi=90)
plot_detection(result, truth=simulation).savefig(OUT / "detection.png", dpi=90)
write_report(result, OUT / "report.html", truth=simulation, title="Hotline: was it real growth?")
