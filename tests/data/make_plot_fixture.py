"""Write the small saved fit that the plot and report tests read (run once, commit the output).

    .venv/bin/python tests/data/make_plot_fixture.py

Scenario ``both`` (population x3.5 and reporting x3 over 5 periods), fitted period by period
with Mth and a denominator, few draws: a real fit file, small enough to commit, so the tests
of plots and reports need no sampling. The truth is written beside it as the JSON that
``hiddenpop simulate --truth`` writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from hiddenpop.data import CaptureData
from hiddenpop.inference.fit import fit
from hiddenpop.simulation import simulate

HERE = Path(__file__).parent
FIT_PATH = HERE / "fit_both_mth.nc"
TRUTH_PATH = HERE / "truth_both.json"
DENOMINATOR = 50_000.0


def main() -> None:
    simulation = simulate("both", seed=3, n_occasions=5)
    data = CaptureData.from_records(
        simulation.records, id="id", period="period", occasion="occasion"
    )
    result = fit(data, "Mth", draws=100, tune=150, chains=2, seed=11, denominator=[DENOMINATOR] * 5)
    result.save(FIT_PATH)
    TRUTH_PATH.write_text(json.dumps(simulation.summary(), indent=1), encoding="utf-8")
    print(f"{FIT_PATH}: {FIT_PATH.stat().st_size / 1e3:.0f} kB; {result}")


if __name__ == "__main__":
    main()
