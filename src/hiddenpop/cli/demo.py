"""``hiddenpop demo``: simulate the hotline scenario, fit ``robust-trend``, explain the growth.

::

    hiddenpop demo [--out DIR] [--scenario NAME] [--seed S] [--draws N] [--tune N] [--chains N]

Simulates detection records with known truth (default: ``hotline``, 8 years of 52 weekly
occasions, N from ~5,000 to ~82,000), fits the hierarchical trend model with the scenario's
denominator, prints a per-period table (reports, estimated N with its 90% interval,
prevalence per 10,000, detection fraction, and the true N) and the decomposition of the
observed growth in words, and writes to ``--out``: ``records.csv``, ``truth.json``,
``fit.nc`` (readable by ``hiddenpop summary``), ``summary.json`` and the plots ``trend.png``,
``decomposition.png`` and ``detection.png``. Nothing is written when anything fails.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from hiddenpop.cli.options import dump_json
from hiddenpop.exceptions import InputError
from hiddenpop.simulation import DEFAULT_SCENARIO

__all__ = ["decomposition_sentence", "period_table", "register", "run"]

#: 2 x 1000 draws: at hotline scale min bulk ESS ~580 and no divergences; sampling takes a
#: few CPU seconds, so the Numba compilation sets the demo's time (docs/trend_model.md).
DEMO_DRAWS = 1000
DEMO_TUNE = 1000
DEMO_CHAINS = 2


def register(subparsers) -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo",
        help="simulate the hotline scenario, fit robust-trend, print and plot the result",
        description="Simulate hotline-like reports with known truth, fit the hierarchical "
        "trend model and say how much of the rise in reports is a rise in the population.",
    )
    parser.add_argument(
        "--out", default="hiddenpop-demo", help="output folder (default %(default)s)"
    )
    parser.add_argument(
        "--scenario", default=DEFAULT_SCENARIO, help="scenario (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
    parser.add_argument("--draws", type=int, default=DEMO_DRAWS, help="draws per chain")
    parser.add_argument("--tune", type=int, default=DEMO_TUNE, help="tuning steps per chain")
    parser.add_argument("--chains", type=int, default=DEMO_CHAINS, help="number of chains")
    parser.set_defaults(handler=run)


def _fmt(value: float) -> str:
    return f"{value:,.0f}"


def period_table(summary: dict, truth_n=None) -> str:
    """The per-period table as aligned text: reports, N (90% interval), prevalence, P*."""
    header = ["period", "reports", "N (90% interval)", "per 10,000", "detection fraction"]
    if truth_n is not None:
        header.append("true N")
    rows = [header]
    prevalence = summary.get("prevalence_per_10k")
    for t, period in enumerate(summary["periods"]):
        n = summary["N"]
        row = [
            str(period),
            _fmt(summary["detected"][t]),
            f"{_fmt(n['q50'][t])} ({_fmt(n['q05'][t])}-{_fmt(n['q95'][t])})",
            f"{prevalence['q50'][t]:.1f}" if prevalence else "-",
            f"{summary['detection_fraction']['q50'][t]:.3f}",
        ]
        if truth_n is not None:
            row.append(_fmt(truth_n[t]))
        rows.append(row)
    widths = [max(len(r[c]) for r in rows) for c in range(len(header))]
    return "\n".join("  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def decomposition_sentence(summary: dict) -> str:
    """'reports rose x a: population x b, reporting x c; Pr(population grew) = p'."""
    growth = summary["growth"]
    first, last = summary["periods"][0], summary["periods"][-1]
    true, reporting = growth["true"], growth["reporting_realised"]
    verb = "rose" if growth["observed"] >= 1 else "fell"
    return (
        f"{first}-{last}: reports {verb} x{growth['observed']:.1f}: population "
        f"x{true['q50']:.1f} (90%: {true['q05']:.1f}-{true['q95']:.1f}), reporting "
        f"x{reporting['q50']:.1f} (90%: {reporting['q05']:.1f}-{reporting['q95']:.1f}); "
        f"Pr(population grew) = {growth['prob_true_growth']:.2f}"
    )


def run(args: argparse.Namespace) -> int:
    """Simulate, fit, print, write; exit status 0."""
    for name in ("draws", "tune", "chains"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name} must be a positive integer.")
    import matplotlib

    matplotlib.use("Agg")
    from hiddenpop.data import CaptureData
    from hiddenpop.inference import fit
    from hiddenpop.plots import plot_decomposition, plot_detection, plot_trend
    from hiddenpop.simulation import simulate, truth_summary

    start = time.perf_counter()
    simulation = simulate(args.scenario, seed=args.seed)
    data = CaptureData.from_records(
        simulation.records, id="id", period="period", occasion="occasion", occasions="union"
    )
    truth = simulation.truth
    denominator = truth["denominator"].values if "denominator" in truth else None
    print(
        f"simulated '{args.scenario}' (seed {args.seed}): {len(simulation.records):,} reports "
        f"of {int(data.detected.sum()):,} units in {data.n_periods} periods; fitting "
        f"robust-trend ({args.chains} chains x {args.draws} draws)...",
        flush=True,
    )
    result = fit(
        data,
        "robust-trend",
        draws=args.draws,
        tune=args.tune,
        chains=args.chains,
        seed=args.seed,
        denominator=denominator,
    )
    summary = result.summary()
    print()
    print(period_table(summary, truth["N"].values))
    print()
    print(decomposition_sentence(summary))
    print(
        f"truth: population x{float(truth['true_growth']):.1f}, "
        f"reporting x{float(truth['reporting_growth']):.1f}"
    )
    diagnostics = summary["diagnostics"]
    print(
        f"diagnostics: R-hat max {diagnostics['rhat_max']:.3f}, bulk ESS min "
        f"{diagnostics['ess_bulk_min']:.0f}, divergences {diagnostics['divergences']}"
    )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".hiddenpop-demo-", dir=out.parent) as tmp:
        folder = Path(tmp)
        simulation.records.to_csv(folder / "records.csv", index=False)
        (folder / "truth.json").write_text(dump_json(truth_summary(truth)) + "\n")
        result.save(folder / "fit.nc")
        (folder / "summary.json").write_text(dump_json(summary) + "\n")
        figures = {
            "trend.png": plot_trend(result, truth=simulation),
            "decomposition.png": plot_decomposition(result, truth=simulation),
            "detection.png": plot_detection(result, truth=simulation),
        }
        for name, figure in figures.items():
            figure.savefig(folder / name, dpi=110)
        out.mkdir(exist_ok=True)
        for path in sorted(folder.iterdir()):
            os.replace(path, out / path.name)
    print(f"wrote {out}/ (fit.nc, summary.json, plots) in {time.perf_counter() - start:.0f} s")
    return 0
