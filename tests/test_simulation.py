"""Tests of the simulator, the scenario catalogue and the ``simulate``/``scenarios`` commands."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from hiddenpop.cli import main
from hiddenpop.data import CaptureData
from hiddenpop.detection import expit, gauss_hermite_normal, logit, occasion_logit
from hiddenpop.exceptions import HiddenpopError, ScenarioError
from hiddenpop.simulation import (
    SimulationSettings,
    describe_scenario,
    get_scenario,
    interpolate_path,
    scenario_names,
    simulate,
)

CONTRACT_NAMES = [
    "hotline",
    "true-growth",
    "reporting-growth",
    "both",
    "coverage-expansion",
    "heterogeneity",
    "invisible-class",
    "turnover",
    "trap-shy",
    "list-dependence",
]
SMALL = [name for name in scenario_names() if name != "hotline"]


def capture_counts(records: pd.DataFrame) -> pd.Series:
    """Number of occasions on which each (period, id) was seen."""
    return records.groupby(["period", "id"]).size()


def recapture_share(records: pd.DataFrame) -> float:
    """Share of detected unit-periods seen on two or more occasions."""
    return float((capture_counts(records) >= 2).mean())


# -- catalogue and settings ----------------------------------------------------------------
def test_catalogue_holds_contract_names_and_declining_population():
    names = scenario_names()
    assert names[0] == "hotline"
    assert set(CONTRACT_NAMES) <= set(names)
    assert "declining-population" in names
    for name in names:
        assert get_scenario(name).name == name
        assert describe_scenario(name)


def test_small_scenarios_are_small_and_informative():
    for name in SMALL:
        settings = get_scenario(name)
        assert 4 <= settings.n_periods <= 6
        assert settings.path("abundance").max() <= 5_000
        if settings.is_list_design:
            assert 3 <= settings.n_sources <= 5
        else:
            assert 8 <= settings.n_occasions <= 12
            assert settings.path("detection").min() >= 0.03


def test_hotline_preset_matches_the_motivating_case():
    settings = get_scenario("hotline")
    assert list(settings.periods) == list(range(2010, 2018))
    assert settings.n_occasions == 52
    assert settings.path("abundance")[[0, -1]] == pytest.approx([5_000, 82_000])
    assert settings.path("detection")[[0, -1]] == pytest.approx([0.0008, 0.0025])
    assert settings.path("denominator") == pytest.approx(np.full(8, 5.48e6))


def test_unknown_scenario_and_bad_settings_raise_scenario_error():
    assert issubclass(ScenarioError, HiddenpopError)
    assert issubclass(ScenarioError, ValueError)
    with pytest.raises(ScenarioError, match="unknown scenario"):
        simulate("no-such-scenario", seed=1)
    with pytest.raises(ScenarioError, match="unknown simulation setting"):
        simulate("both", seed=1, n_ocasions=12)
    bad = [
        {"detection": 1.5},
        {"abundance": (100.0, 200.0, 300.0)},
        {"n_occasions": 1},
        {"n_periods": 2.5},
        {"survival": 2.0},
        {"heterogeneity": "gamma"},
        {"mixture_weights": (0.2, 0.2)},
        {"residence": 0.0},
        {"behaviour": "shy"},
    ]
    for override in bad:
        with pytest.raises(ScenarioError):
            simulate("both", seed=1, **override)
    with pytest.raises(ScenarioError, match="source_dependence"):
        simulate("list-dependence", seed=1, source_dependence=(("B", "A", 1.0),))
    with pytest.raises(ScenarioError, match="behaviour"):
        simulate("list-dependence", seed=1, behaviour=-1.0)


def test_interpolate_path():
    assert interpolate_path(3.0, 4) == pytest.approx([3, 3, 3, 3])
    assert interpolate_path((1.0, 4.0), 4) == pytest.approx([1, 2, 3, 4])
    assert interpolate_path((1.0, 8.0), 4, "log") == pytest.approx([1, 2, 4, 8])
    ends = interpolate_path((0.1, 0.3), 5, "logit")
    assert np.diff(logit(ends)) == pytest.approx(np.full(4, np.diff(logit(ends))[0]))
    assert interpolate_path((5.0, 1.0, 2.0), 3) == pytest.approx([5, 1, 2])
    with pytest.raises(ScenarioError):
        interpolate_path((1.0, 2.0, 3.0), 5)


def test_overrides_by_keyword_and_by_replace():
    sim = simulate("hotline", seed=1, n_occasions=12, abundance=(500.0, 900.0), detection=0.02)
    assert sim.records["occasion"].between(1, 12).all()
    assert sim.truth.sizes["occasion"] == 12
    settings = dataclasses.replace(get_scenario("trap-shy"), behaviour=-0.5)
    assert simulate(settings, seed=1).truth["behaviour"] == -0.5
    with pytest.raises(ScenarioError):
        dataclasses.replace(get_scenario("trap-shy"), detection=0.0)


# -- determinism and truth -------------------------------------------------------------------
@pytest.mark.parametrize("name", scenario_names())
def test_seed_reproduces_records_and_truth(name):
    first, second = simulate(name, seed=11), simulate(name, seed=11)
    pd.testing.assert_frame_equal(first.records, second.records)
    xr.testing.assert_identical(first.truth, second.truth)
    assert not simulate(name, seed=12).records.equals(first.records)


def test_seed_is_drawn_and_recorded_when_absent():
    sim = simulate("both")
    again = simulate("both", seed=sim.seed)
    pd.testing.assert_frame_equal(sim.records, again.records)


@pytest.mark.parametrize("name", scenario_names())
def test_truth_agrees_with_records(name):
    sim = simulate(name, seed=3)
    truth, records, population = sim.truth, sim.records, sim.population
    periods = truth["period"].to_numpy()
    distinct = records.groupby("period")["id"].nunique().reindex(periods, fill_value=0)
    assert truth["detected"].to_numpy().tolist() == distinct.tolist()
    assert population.groupby("period").size().reindex(periods).tolist() == (
        truth["N"].to_numpy().tolist()
    )
    fraction = truth["detected"].to_numpy() / truth["N"].to_numpy()
    assert truth["detection_fraction"].to_numpy() == pytest.approx(fraction)
    assert not records.duplicated().any()
    present = records.merge(
        population[["id", "period"]], on=["id", "period"], how="left", indicator=True
    )
    assert (present["_merge"] == "both").all()
    column = "source" if sim.settings.is_list_design else "occasion"
    assert list(records.columns) == ["id", "period", column]
    assert set(records[column]) <= set(sim.settings.labels)


@pytest.mark.parametrize("name", scenario_names())
def test_growth_ratios_and_the_detection_fraction_identity(name):
    truth = simulate(name, seed=4).truth
    abundance, detected = truth["N"].to_numpy(), truth["detected"].to_numpy()
    assert float(truth["true_growth"]) == pytest.approx(abundance[-1] / abundance[0])
    assert float(truth["observed_growth"]) == pytest.approx(detected[-1] / detected[0])
    assert float(truth["observed_growth"]) == pytest.approx(
        float(truth["true_growth"]) * float(truth["reporting_growth"])
    )


def test_truth_carries_the_parameters_used():
    truth = simulate("reporting-growth", seed=2).truth
    settings = get_scenario("reporting-growth")
    assert truth.attrs["scenario"] == "reporting-growth"
    assert json.loads(truth.attrs["settings"]) == settings.to_dict()
    expected = occasion_logit(
        truth["reporting_level"].to_numpy(),
        truth["occasion_noise"].to_numpy(),
        truth["effort"].to_numpy()[:, None, None] * np.ones((1, 10, 1)),
        np.array([settings.effort_effect]),
    )
    assert truth["occasion_logit"].to_numpy() == pytest.approx(expected)
    assert truth["occasion_label"].to_numpy().tolist() == list(range(1, 11))
    hotline = simulate("hotline", seed=1, abundance=(500.0, 800.0), detection=0.02).truth
    assert hotline["prevalence_per_10k"].to_numpy() == pytest.approx(
        1e4 * hotline["N"].to_numpy() / 5.48e6
    )


def test_capture_data_reads_the_records():
    sim = simulate("heterogeneity", seed=5)
    data = CaptureData.from_records(
        sim.records,
        id="id",
        period="period",
        occasion="occasion",
        occasions=sim.settings.labels,
    )
    assert data.detected.tolist() == sim.truth["detected"].to_numpy().tolist()
    lists = simulate("list-dependence", seed=5)
    data = CaptureData.from_records(lists.records, id="id", period="period", source="source")
    assert data.detected.tolist() == lists.truth["detected"].to_numpy().tolist()


def test_reporting_probability_is_the_expected_detection_fraction():
    truth = simulate("both", seed=6, abundance=20_000.0).truth
    assert truth["detection_fraction"].to_numpy() == pytest.approx(
        truth["reporting_probability"].to_numpy(), abs=0.015
    )


def test_poisson_and_fixed_abundance():
    fixed = simulate(
        "true-growth",
        seed=1,
        abundance=(1_000.0, 3_000.0, 2_000.0, 500.0, 10.0),
        abundance_noise=False,
    )
    assert fixed.truth["N"].to_numpy().tolist() == [1000, 3000, 2000, 500, 10]
    noisy = simulate("true-growth", seed=1, abundance=1_000.0)
    assert not (noisy.truth["N"].to_numpy() == 1000).all()


def test_empty_periods_give_empty_records_and_undefined_growth():
    sim = simulate("both", seed=1, abundance=(0.0, 5.0, 0.0, 4.0, 0.0), abundance_noise=False)
    assert sim.truth["N"].to_numpy().tolist() == [0, 5, 0, 4, 0]
    assert sim.summary()["growth"]["true"] is None
    assert sim.summary()["detection_fraction"][0] is None
    empty = simulate("list-dependence", seed=1, abundance=0.0)
    assert empty.records.empty and list(empty.records.columns) == ["id", "period", "source"]


# -- mechanisms ------------------------------------------------------------------------------
def test_units_persist_across_periods_with_their_effects():
    sim = simulate("heterogeneity", seed=7)
    population = sim.population
    by_period = [set(group["id"]) for _, group in population.groupby("period")]
    overlaps = [len(a & b) for a, b in itertools.pairwise(by_period)]
    assert overlaps == sim.truth["survivors"].to_numpy()[1:].tolist()
    assert all(o > 0 for o in overlaps)
    assert population.groupby("id")["heterogeneity_shift"].nunique().max() == 1
    assert sim.records.groupby("id")["period"].nunique().max() > 1
    closed = simulate("heterogeneity", seed=7, survival=0.0).population
    assert not closed["id"].duplicated().any()


def test_trap_shy_lowers_and_trap_happy_raises_recaptures():
    neutral = recapture_share(simulate("trap-shy", seed=8, behaviour=0.0).records)
    shy = recapture_share(simulate("trap-shy", seed=8).records)
    happy = recapture_share(simulate("trap-shy", seed=8, behaviour=1.0).records)
    assert shy < neutral - 0.2
    assert happy > neutral + 0.05


def test_turnover_shortens_the_span_between_first_and_last_detection():
    def mean_span(records):
        seen = records.groupby(["period", "id"])["occasion"].agg(["min", "max", "size"])
        seen = seen[seen["size"] >= 2]
        return float((seen["max"] - seen["min"]).mean())

    closed = simulate("turnover", seed=9, residence=1.0, abundance=2_000.0)
    short = simulate("turnover", seed=9, residence=0.3, abundance=2_000.0)
    assert mean_span(short.records) < 0.6 * mean_span(closed.records)
    windows = short.records.merge(short.population, on=["id", "period"])
    assert windows["occasion"].between(windows["first_active"], windows["last_active"]).all()
    assert short.truth["active_per_occasion"].to_numpy() == pytest.approx(
        0.3 * short.truth["N"].to_numpy(), rel=0.05
    )
    story = simulate("turnover", seed=9).truth
    standing = story["active_per_occasion"].to_numpy()
    assert standing.max() / standing.min() < 1.15
    assert simulate("turnover", seed=9, n_periods=7).truth.sizes["period"] == 7
    assert float(story["true_growth"]) > 2


def test_coverage_expansion_raises_detection_but_not_recaptures():
    sim = simulate("coverage-expansion", seed=10, abundance=20_000.0)
    fraction = sim.truth["detection_fraction"].to_numpy()
    assert np.all(np.diff(fraction) > 0)
    assert fraction[-1] / fraction[0] == pytest.approx(2.5, rel=0.1)
    shares = [recapture_share(group) for _, group in sim.records.groupby("period")]
    assert max(shares) - min(shares) < 0.03
    reachable = sim.truth["reachable"].to_numpy() / sim.truth["N"].to_numpy()
    assert reachable == pytest.approx(sim.truth["coverage"].to_numpy(), abs=0.02)


def test_heterogeneity_raises_f2_over_f1_at_the_same_mean_detection():
    # sparse regime (as at a hotline): f2 / f1 ~ (K - 1) / 2 * E[p^2] / E[p] grows with Var(p)
    sigma, detection = 1.5, 0.01
    z, log_w = gauss_hermite_normal(60)
    mean_p = float(np.sum(np.exp(log_w) * expit(logit(detection) + sigma * z)))
    common = {"n_periods": 1, "abundance": 50_000.0, "survival": 0.0}
    varied = simulate("heterogeneity", seed=11, detection=detection, **common)
    same = simulate("heterogeneity", seed=11, detection=mean_p, heterogeneity_sd=0.0, **common)

    def f2_over_f1(records):
        counts = capture_counts(records).value_counts()
        return counts.get(2, 0) / counts[1]

    assert f2_over_f1(varied.records) > 1.3 * f2_over_f1(same.records)
    captures = len(varied.records) / len(same.records)
    assert captures == pytest.approx(1.0, rel=0.05)


def test_finite_mixture_uses_the_support_points():
    sim = simulate(
        "heterogeneity",
        seed=12,
        heterogeneity="mixture",
        heterogeneity_sd=1.0,
        mixture_support=(-2.0, 1.0),
        mixture_weights=(0.3, 0.7),
    )
    shifts = sim.population.drop_duplicates("id")["heterogeneity_shift"]
    assert set(shifts.unique()) == {-2.0, 1.0}
    assert (shifts == -2.0).mean() == pytest.approx(0.3, abs=0.03)
    assert sim.truth["mixture_weights"].to_numpy().tolist() == [0.3, 0.7]


def test_invisible_class_is_never_detected():
    sim = simulate("invisible-class", seed=13)
    seen = sim.records.merge(sim.population, on=["id", "period"])
    assert seen["reachable"].all()
    hidden = ~sim.population["reachable"]
    assert hidden.mean() == pytest.approx(0.3, abs=0.05)
    assert (sim.population.loc[hidden, "reporting_probability"] == 0).all()
    share = 1 - sim.truth["reachable"].to_numpy() / sim.truth["N"].to_numpy()
    assert share[0] == pytest.approx(0.2, abs=0.04)
    assert share[-1] == pytest.approx(0.4, abs=0.04)


def test_list_dependence_raises_overlap_above_independence():
    sim = simulate("list-dependence", seed=14, n_periods=1, abundance=20_000.0)
    wide = pd.crosstab(sim.records["id"], sim.records["source"]).clip(upper=1)
    total = float(sim.truth["N"][0])

    def overlap_ratio(a, b):
        return (wide[a] & wide[b]).sum() * total / (wide[a].sum() * wide[b].sum())

    assert overlap_ratio("A", "B") > 2.0
    assert overlap_ratio("C", "D") > 1.4
    assert overlap_ratio("A", "C") == pytest.approx(1.0, abs=0.1)
    assert sim.truth["source_dependence"].sel(source="A", later_source="B") == 2.0


def test_occasion_noise_and_effort_move_detection():
    truth = simulate("both", seed=15, occasion_sd=0.5, n_occasions=12).truth
    assert float(truth["occasion_noise"].std()) == pytest.approx(0.5, rel=0.3)
    effort = simulate("reporting-growth", seed=15).truth
    p = effort["reporting_probability"].to_numpy()
    assert np.all(np.diff(p) > 0)
    assert float(effort["true_growth"]) == pytest.approx(1.0, abs=0.1)


def test_scenario_stories():
    def growth(name):
        truth = simulate(name, seed=16).truth
        return tuple(
            float(truth[k]) for k in ("true_growth", "reporting_growth", "observed_growth")
        )

    true, reporting, _ = growth("true-growth")
    assert true == pytest.approx(3.5, rel=0.1) and reporting == pytest.approx(1.0, abs=0.05)
    true, reporting, _ = growth("reporting-growth")
    assert true == pytest.approx(1.0, abs=0.1) and reporting > 1.6
    true, reporting, _ = growth("both")
    assert true == pytest.approx(3.5, rel=0.1) and reporting > 1.6
    true, _, observed = growth("declining-population")
    assert true < 0.6 and observed > 1.2
    true, reporting, _ = growth("invisible-class")
    assert reporting < 0.85


def test_hotline_has_thin_recaptures_and_is_fast():
    start = time.perf_counter()
    sim = simulate("hotline", seed=1)
    assert time.perf_counter() - start < 10
    fraction = sim.truth["detection_fraction"].to_numpy()
    assert 0.03 < fraction[0] < 0.07 and 0.10 < fraction[-1] < 0.16
    assert recapture_share(sim.records) < 0.15
    assert sim.truth["N"].to_numpy()[[0, -1]] == pytest.approx([5_000, 82_000], rel=0.05)


@pytest.mark.slow
def test_a_million_units_over_52_occasions_in_bounded_memory():
    settings = SimulationSettings(
        n_periods=1,
        n_occasions=52,
        abundance=1e6,
        abundance_noise=False,
        detection=0.0025,
        heterogeneity_sd=0.5,
        behaviour=-0.5,
    )
    tracemalloc.start()
    start = time.perf_counter()
    sim = simulate(settings, seed=1)
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 60
    assert peak < 1.5e9
    assert int(sim.truth["N"][0]) == 1_000_000


# -- command line ------------------------------------------------------------------------------
def test_scenarios_command_lists_every_name(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == scenario_names()


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_simulate_command_writes_records_and_truth(tmp_path, capsys, suffix):
    out, truth_path = tmp_path / f"records{suffix}", tmp_path / "truth.json"
    code = main(
        [
            "simulate",
            "--scenario",
            "trap-shy",
            "--seed",
            "5",
            "--out",
            str(out),
            "--truth",
            str(truth_path),
            "--set",
            "n_occasions=12",
        ]
    )
    assert code == 0
    assert "trap-shy" in capsys.readouterr().out
    records = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    truth = json.loads(truth_path.read_text())
    for key in ("scenario", "seed", "periods", "N", "detected", "detection_fraction", "growth"):
        assert key in truth
    assert set(truth["growth"]) >= {"true", "reporting", "observed"}
    assert truth["scenario"] == "trap-shy" and truth["seed"] == 5
    assert truth["parameters"]["n_occasions"] == 12
    distinct = records.groupby("period")["id"].nunique().reindex(truth["periods"], fill_value=0)
    assert truth["detected"] == distinct.tolist()
    assert truth["detection_fraction"] == pytest.approx(
        [d / n for d, n in zip(truth["detected"], truth["N"], strict=True)]
    )
    expected = simulate("trap-shy", seed=5, n_occasions=12).records
    assert records["id"].tolist() == expected["id"].tolist()


def test_simulate_command_lists_and_denominator(tmp_path):
    out, denominator = tmp_path / "lists.csv", tmp_path / "denominator.csv"
    assert (
        main(["simulate", "--scenario", "list-dependence", "--seed", "1", "--out", str(out)]) == 0
    )
    assert set(pd.read_csv(out)["source"]) == {"A", "B", "C", "D"}
    assert (
        main(
            [
                "simulate",
                "--seed",
                "1",
                "--out",
                str(tmp_path / "hotline.csv"),
                "--denominator",
                str(denominator),
                "--set",
                "abundance=[500,800]",
            ]
        )
        == 0
    )
    table = pd.read_csv(denominator)
    assert table.columns.tolist() == ["period", "denominator"]
    assert table["denominator"].tolist() == [5.48e6] * 8


@pytest.mark.parametrize(
    "arguments",
    [
        ["--scenario", "no-such-scenario"],
        ["--scenario", "both", "--set", "no_such_setting=1"],
        ["--scenario", "both", "--set", "detection=[0.1,0.2,0.3]"],
        ["--scenario", "both", "--set", "detection"],
        ["--scenario", "both", "--denominator", "denominator.csv"],
    ],
)
def test_simulate_command_fails_cleanly(tmp_path, capsys, monkeypatch, arguments):
    monkeypatch.chdir(tmp_path)
    code = main(["simulate", "--out", "records.csv", "--truth", "truth.json", *arguments])
    assert code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("hiddenpop: error:")
    assert list(tmp_path.iterdir()) == []


def test_simulate_command_rejects_unknown_record_format(tmp_path, capsys):
    assert main(["simulate", "--scenario", "both", "--out", str(tmp_path / "r.txt")]) == 2
    assert ".csv or .parquet" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_simulate_command_writes_nothing_when_an_output_fails(tmp_path, capsys):
    blocked = tmp_path / "file"
    blocked.write_text("not a directory")
    out = tmp_path / "records.csv"
    code = main(
        [
            "simulate",
            "--scenario",
            "both",
            "--out",
            str(out),
            "--truth",
            str(blocked / "truth.json"),
        ]
    )
    assert code == 2
    assert "cannot be written" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
