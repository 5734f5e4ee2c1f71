"""Plots: what each figure shows (lines, bands, labels, values), not only that it draws.

The fit is a real saved fit (``tests/data/fit_both_mth.nc``, written by
``tests/data/make_plot_fixture.py``): no sampling happens here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PolyCollection

from hiddenpop.cli import main
from hiddenpop.constants import PERIOD_DIM
from hiddenpop.plots import (
    PlotError,
    growth_indices,
    plot_decomposition,
    plot_detection,
    plot_ppc,
    plot_sensitivity,
    plot_study,
    plot_trend,
    read_truth,
)
from hiddenpop.results import FitResult

DATA = Path(__file__).parent / "data"
FIT_PATH = DATA / "fit_both_mth.nc"
TRUTH_PATH = DATA / "truth_both.json"


@pytest.fixture(scope="module")
def result() -> FitResult:
    return FitResult.load(FIT_PATH)


@pytest.fixture(scope="module")
def truth() -> dict:
    return json.loads(TRUTH_PATH.read_text(encoding="utf-8"))


def lines_by_label(ax) -> dict:
    return {line.get_label(): line for line in ax.get_lines()}


def bands_by_label(ax) -> dict:
    return {c.get_label(): c for c in ax.collections if isinstance(c, PolyCollection)}


def band_range(band: PolyCollection) -> tuple[float, float]:
    y = band.get_paths()[0].vertices[:, 1]
    return float(y.min()), float(y.max())


def test_trend_shows_median_bands_counts_and_truth(result, truth):
    figure = plot_trend(result, truth=truth)
    (ax,) = figure.axes
    lines = lines_by_label(ax)
    assert {"posterior median", "reported (n_t)", "truth"} <= set(lines)
    summary = result.summary()["N"]
    np.testing.assert_allclose(lines["posterior median"].get_ydata(), summary["q50"])
    np.testing.assert_array_equal(lines["reported (n_t)"].get_ydata(), result.data.detected)
    np.testing.assert_array_equal(lines["truth"].get_ydata(), truth["N"])
    bands = bands_by_label(ax)
    assert set(bands) == {"90% interval", "50% interval"}
    low, high = band_range(bands["90% interval"])
    assert low == pytest.approx(min(summary["q05"])) and high == pytest.approx(max(summary["q95"]))
    inner_low, inner_high = band_range(bands["50% interval"])
    assert low <= inner_low and inner_high <= high
    assert ax.get_ylabel() == "population size N_t"
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(p) for p in truth["periods"]]
    assert {t.get_text() for t in ax.get_legend().get_texts()} >= {"truth", "90% interval"}


def test_prevalence_trend_is_on_the_per_10k_scale(result, truth):
    (ax,) = plot_trend(result, quantity="prevalence", truth=truth).axes
    lines = lines_by_label(ax)
    scale = 1e4 / result.denominator
    np.testing.assert_allclose(lines["reported (n_t)"].get_ydata(), result.data.detected * scale)
    np.testing.assert_allclose(
        lines["posterior median"].get_ydata(), result.summary()["prevalence_per_10k"]["q50"]
    )
    np.testing.assert_allclose(lines["truth"].get_ydata(), np.array(truth["N"]) * scale)
    assert ax.get_ylabel() == "prevalence per 10,000"


def test_trend_draws_into_given_axes_and_rejects_bad_requests(result, truth):
    from hiddenpop.plots import new_figure

    figure, (ax,) = new_figure()
    assert plot_trend(result, ax=ax, show_counts=False) is figure
    assert "reported (n_t)" not in lines_by_label(ax)
    with pytest.raises(PlotError, match="unknown quantity"):
        plot_trend(result, quantity="density")
    wrong = dict(truth, periods=[1990, 1991, 1992, 1993, 1994])
    with pytest.raises(PlotError, match="no period"):
        plot_trend(result, truth=wrong)
    with pytest.raises(PlotError, match="Simulation"):
        plot_trend(result, truth=[1, 2, 3])


def test_growth_identity_holds_in_every_draw(result):
    indices = growth_indices(result)
    product = indices["true"] * indices["reporting"]
    np.testing.assert_allclose(product.values, np.broadcast_to(indices["observed"], product.shape))


def test_decomposition_steps_add_up_to_the_observed_change(result, truth):
    figure = plot_decomposition(result, truth=truth)
    left, right = figure.axes
    assert left.get_yscale() == "log"
    lines = lines_by_label(left)
    observed = np.asarray(result.data.detected, dtype=float)
    np.testing.assert_allclose(lines["observed n_t/n_1"].get_ydata(), observed / observed[0])
    np.testing.assert_allclose(
        lines["truth: true growth"].get_ydata(), np.array(truth["N"]) / truth["N"][0]
    )
    assert {"true growth N_t/N_1", "reporting growth"} <= set(lines)
    true_bars, reporting_bars = (c.patches for c in right.containers)
    steps = np.diff(np.log(observed))
    heights = np.array([b.get_height() for b in true_bars]) + [
        b.get_height() for b in reporting_bars
    ]
    np.testing.assert_allclose(heights, steps)
    np.testing.assert_allclose(lines_by_label(right)["observed (log n change)"].get_ydata(), steps)
    assert len(true_bars) == len(result.periods) - 1
    assert right.get_xticklabels()[0].get_text() == "2013→2014"


def test_detection_shows_p_star_and_one_line_per_period(result, truth):
    left, right = plot_detection(result, truth=truth).axes
    lines = lines_by_label(left)
    np.testing.assert_allclose(
        lines["P*_t (posterior median)"].get_ydata(),
        result.summary()["detection_fraction"]["q50"],
    )
    np.testing.assert_allclose(lines["truth"].get_ydata(), truth["reporting_probability"])
    bottom, top = left.get_ylim()
    upper = max(result.summary()["detection_fraction"]["q95"] + truth["reporting_probability"])
    assert bottom == 0.0 and upper < top <= 1.0
    per_period = lines_by_label(right)
    assert list(per_period) == [str(p) for p in result.periods]
    occasions = result.data.stats["n_occasions"].values
    assert [len(line.get_xdata()) for line in per_period.values()] == list(occasions)
    first = per_period[str(result.periods[0])].get_ydata()
    shares = result.data.stats["captures"].isel({PERIOD_DIM: 0}).values[: occasions[0]]
    np.testing.assert_allclose(
        first,
        np.median(
            shares[None, :] / result.abundance.isel({PERIOD_DIM: 0}).values.reshape(-1, 1), axis=0
        ),
    )
    assert right.get_xlabel() == "occasion"


def test_ppc_panels_show_observed_frequencies_and_p_values(result):
    figure = plot_ppc(result)
    panels = [ax for ax in figure.axes if ax.axison]
    assert len(panels) == len(result.periods)
    p_values = result.idata.posterior_predictive.attrs["ppc_p_value"]
    observed = result.idata.observed_data["frequencies"].values
    for t, ax in enumerate(panels):
        assert ax.get_title() == f"{result.periods[t]}: p = {p_values[t]:.2f}"
        points = [line for line in ax.get_lines() if line.get_linestyle() == "None"]
        shown = points[0].get_ydata()
        np.testing.assert_array_equal(shown, observed[t, : len(shown)])
        assert ax.get_yscale() == "function"
    assert {"observed", "90% interval"} <= {
        t.get_text() for t in panels[0].get_legend().get_texts()
    }


def test_sensitivity_forest_rows_match_the_posteriors(result):
    figure = plot_sensitivity({"first": result, "second": result}, quantity="true_growth")
    (ax,) = figure.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["first", "second"]
    outer = next(c for c in ax.collections if isinstance(c, LineCollection))
    segment = outer.get_segments()[0]
    growth = result.growth["true"].values.ravel()
    assert segment[0, 0] == pytest.approx(np.quantile(growth, 0.05))
    assert segment[1, 0] == pytest.approx(np.quantile(growth, 0.95))
    assert ax.get_xscale() == "log"
    assert any(
        line.get_xdata()[0] == 1.0 for line in ax.get_lines() if line.get_linestyle() == "--"
    )
    table = pd.DataFrame({"label": ["a"], "q05": [1.0], "q50": [2.0]})
    with pytest.raises(PlotError, match="q95"):
        plot_sensitivity(table)
    with pytest.raises(PlotError, match="unknown quantity"):
        plot_sensitivity({"a": result}, quantity="speed")


def test_study_plot_marks_nominal_coverage(tmp_path):
    table = pd.DataFrame(
        {
            "scenario": ["A", "A", "B", "B", "A"],
            "model": ["M0", "Mth", "M0", "Mth", "M0"],
            "quantity": ["true_growth"] * 4 + ["N"],
            "coverage_90": [0.9, 0.7, 0.85, 0.95, 0.1],
            "bias": [0.1, -0.2, 0.0, 0.3, 9.0],
            "rmse": [1, 2, 3, 4, 5],
            "mean_width": [1, 2, 1, 2, 3],
            "n": [100] * 5,
        }
    )
    table.to_csv(tmp_path / "summary.csv", index=False)
    coverage, bias, width = plot_study(tmp_path).axes
    assert [t.get_text() for t in coverage.get_yticklabels()] == ["A", "B"]
    m0 = lines_by_label(coverage)["M0"]
    np.testing.assert_allclose(sorted(m0.get_xdata()), [0.85, 0.9])
    assert any(np.allclose(line.get_xdata(), 0.9) for line in coverage.get_lines())
    band = next(p for p in coverage.patches)
    assert band.get_label() == "±2 Monte Carlo s.e."
    assert bias.get_xlabel() == "bias (estimate - truth)"
    assert width.get_xlabel() == "mean interval width"
    with pytest.raises(PlotError, match="no rows for quantity"):
        plot_study(table, quantity="rmse_of_nothing")
    with pytest.raises(PlotError, match="lacks column"):
        plot_study(table.drop(columns="bias"))


def test_read_truth_accepts_the_simulation_dataset(truth):
    from hiddenpop.simulation import simulate

    simulation = simulate("true-growth", seed=2, n_occasions=3)
    known = read_truth(simulation)
    np.testing.assert_array_equal(known.N, simulation.truth["N"].values)
    assert read_truth(truth).periods == truth["periods"]


def test_single_period_fits_cannot_be_decomposed(result):
    one = FitResult(
        result.idata.isel(**{PERIOD_DIM: [0]}),
        spec=result.spec,
        data=type(result.data)(result.data.stats.isel({PERIOD_DIM: [0]}), "one period"),
        diagnostics=result.diagnostics,
    )
    with pytest.raises(PlotError, match="only one"):
        plot_decomposition(one)
    (ax,) = plot_trend(one).axes
    low, high = band_range(bands_by_label(ax)["90% interval"])
    assert low < high


@pytest.mark.parametrize(
    ("kind", "extra"),
    [("trend", []), ("decomposition", ["--truth", str(TRUTH_PATH)]), ("ppc", [])],
)
def test_plot_command_writes_a_figure(tmp_path, kind, extra):
    out = tmp_path / f"{kind}.png"
    assert main(["plot", str(FIT_PATH), "--kind", kind, "--out", str(out), *extra]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_command_errors_leave_nothing(tmp_path, capsys):
    out = tmp_path / "figure.png"
    assert main(["plot", str(tmp_path / "missing.nc"), "--out", str(out)]) == 2
    assert "no such fit file" in capsys.readouterr().err
    assert main(["plot", str(FIT_PATH), "--out", str(tmp_path / "figure.jpg")]) == 2
    assert main(["plot", str(FIT_PATH), str(FIT_PATH), "--out", str(out)]) == 2
    assert not out.exists()
    svg = tmp_path / "sensitivity.svg"
    args = ["plot", str(FIT_PATH), str(FIT_PATH), "--kind", "sensitivity", "--out", str(svg)]
    assert main([*args, "--labels", "one"]) == 2
    assert main([*args, "--labels", "a,b"]) == 0
    assert svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")
