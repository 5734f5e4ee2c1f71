"""Simulation studies: Dask LocalCluster, per-task seeds, resuming, the CLI, calibration.

Every fit here (and in test_sensitivity.py) is model M0 with the calibration priors on
two-period, five-occasion data: one model structure, so the compiled-model cache (one per
process; the LocalCluster runs in this process) compiles it once for the whole suite.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from hiddenpop.cli import main
from hiddenpop.exceptions import InputError, ModelSpecError
from hiddenpop.modeling import Prior, load_model
from hiddenpop.study import SUMMARY_COLUMNS, Calibration, Study, worker_sampler
from hiddenpop.study.calibration import calibration_spec
from hiddenpop.study.runner import task_path
from hiddenpop.study.tasks import replicate_seed

TINY = {"n_periods": 2, "n_occasions": 5, "abundance": (300.0, 550.0)}
FIT = {"draws": 200, "tune": 200, "chains": 1}
M0, _ = calibration_spec("M0", {}, n_periods=2)


def _study(replicates: int, **changes) -> Study:
    return Study(["true-growth"], [M0], replicates, seed=3, overrides=TINY, **{**FIT, **changes})


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial")
    return _study(3).run(out, progress=False)


def test_seeds_depend_on_names_only():
    assert replicate_seed(1, "both", 2) == replicate_seed(1, "both", 2)
    assert replicate_seed(1, "both", 2) != replicate_seed(1, "both", 3)
    assert replicate_seed(1, "both", 2) != replicate_seed(1, "true-growth", 2)


def test_study_tables(serial):
    assert serial.ran == 3
    assert list(serial.summary.columns) == SUMMARY_COLUMNS
    assert set(serial.summary["quantity"]) == {"N", "true_growth", "reporting_growth"}
    n_row = serial.summary.set_index("quantity").loc["N"]
    assert n_row["n"] == 6  # 3 replicates x 2 periods, pooled
    assert 0.0 <= n_row["coverage_90"] <= 1.0
    assert (serial.results["error"] == "").all()
    growth = serial.results[serial.results["quantity"] == "true_growth"]
    assert (growth["truth"] > 1.0).all()
    assert growth["prob_right_sign"].between(0.0, 1.0).all()
    on_disk = pd.read_csv(serial.out / "summary.csv")
    assert list(on_disk.columns[:8]) == [
        *("scenario", "model", "quantity", "coverage_90", "bias", "rmse", "mean_width", "n")
    ]


def test_local_cluster_gives_the_serial_results(serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    compilations = worker_sampler().compilations
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        # by address, as `hiddenpop study --scheduler ADDRESS` connects
        outcome = _study(3).run(tmp_path, scheduler=cluster.scheduler_address, progress=False)
    assert outcome.ran == 3
    # compiled once per worker: the cluster's worker shares this process's cache
    assert worker_sampler().compilations == compilations
    columns = ["scenario", "model", "replicate", "quantity", "period", "truth", "mean", "q05"]
    pd.testing.assert_frame_equal(outcome.results[columns], serial.results[columns])


def test_resume_runs_only_missing_replicates(serial):
    stored = task_path(serial.out, "true-growth/M0/r0001")
    before = stored.stat().st_mtime_ns
    again = _study(3).run(serial.out, progress=False)
    assert again.ran == 0
    more = _study(4).run(serial.out, progress=False)
    assert more.ran == 1
    assert stored.stat().st_mtime_ns == before
    assert more.summary.set_index("quantity").loc["N", "n"] == 8
    with pytest.raises(InputError, match="other settings"):
        _study(4, draws=300).run(serial.out, progress=False)


def test_study_command(serial, tmp_path, capsys):
    # the command resumes a copy of the serial study: it fits nothing and writes the tables
    out = tmp_path / "cli"
    shutil.copytree(serial.out, out)
    (out / "summary.csv").unlink()
    argv = ["study", "--scenarios", "true-growth", "--models", "M0", "--replicates", "3"]
    argv += ["--seed", "3", "--draws", "200", "--tune", "200", "--chains", "1", "--quiet"]
    argv += ["--set", "n_periods=2", "--set", "n_occasions=5", "--set", "abundance=[300,550]"]
    assert main([*argv, "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv")
    assert {"coverage_90", "prob_right_sign"} <= set(summary.columns)
    assert len(pd.read_csv(out / "results.csv")) == 3 * 4
    captured = capsys.readouterr()
    assert "true_growth" in captured.out and "(0 new fits)" in captured.err
    argv = ["study", "--scenarios", "nope", "--models", "M0", "--replicates", "1"]
    assert main([*argv, "--out", str(tmp_path / "bad")]) == 2
    assert "unknown scenario" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_calibration_fails_for_a_wrong_model(tmp_path):
    # data from a strongly trap-shy Mb, fitted by M0: N is overestimated in every replicate,
    # so the true log lambda and N sit at the bottom of the posterior draws
    calibration = Calibration(
        ["M0"],
        replicates=6,
        seed=5,
        generators={"M0": "Mb"},
        priors={"behaviour": Prior("Normal", {"mu": -2.5, "sigma": 0.2})},
        thin_to=49,
        **FIT,
    )
    outcome = calibration.run(tmp_path, progress=False)
    assert not outcome.ok
    tests = outcome.tests.set_index("parameter")
    assert not tests.loc["log_expected_abundance", "ok"]
    ranks = outcome.ranks[outcome.ranks["parameter"] == "N"]
    assert np.mean(ranks["rank"] <= 5) > 0.8
    assert (tmp_path / "rank_histograms.png").stat().st_size > 0


@pytest.mark.parametrize(
    ("scenario", "overrides", "model"),
    [
        ("true-growth", {}, "robust-trend"),
        ("hotline", {}, "robust-trend"),
        ("true-growth", {}, "robust-trend-rw"),
        ("true-growth", {}, "Mth"),
        # one period: n_t is a one-element integer array, still data
        ("true-growth", {"n_periods": 1}, "Mh"),
        ("list-dependence", {}, "mse-loglinear"),
        ("list-dependence", {}, "mse-latent-class"),
    ],
)
def test_replicates_share_one_compiled_model(scenario, overrides, model):
    # Two replicates (as a study simulates them) build graphs that differ only in numeric
    # array constants (the data slots), so a study worker compiles the model once. A
    # data-derived scalar left in the graph (a prior centre, a starting value) would change
    # the fingerprint and recompile every fit.
    from pymc.model.fgraph import fgraph_from_model

    from hiddenpop.modeling.families import family_of
    from hiddenpop.modeling.spec import load_model
    from hiddenpop.study.compiled import _data_slots, release_initial_values
    from hiddenpop.study.tasks import replicate_data

    spec = load_model(model)
    fingerprints, slot_values = [], []
    for seed in (1, 2):
        data, _ = replicate_data(scenario, seed, overrides)
        built = family_of(spec).build(spec, data)
        release_initial_values(built)
        slots, fingerprint = _data_slots(fgraph_from_model(built)[0])
        fingerprints.append(fingerprint)
        slot_values.append([np.asarray(slot.data) for slot in slots])
    assert fingerprints[0] == fingerprints[1]
    # and the data do reach the compiled model through the slots
    assert any(not np.array_equal(a, b) for a, b in zip(*slot_values, strict=True))


@pytest.mark.parametrize(
    "model", ["robust-trend", "robust-trend-rw", "Mh-mixture", "mse-loglinear", "mse-latent-class"]
)
def test_calibration_draws_every_parameter_it_ranks(model):
    # SBC: the generator draws the model's parameters from the calibration priors and
    # simulates records; every drawn value must be a variable of the fitted model (or the
    # derived N) of the same size, so no parameter drops out of the rank tests unnoticed.
    from hiddenpop.modeling.families import family_of
    from hiddenpop.study.calibration import _RANKED as RANKED
    from hiddenpop.study.calibration import draw_dataset

    data, truth = draw_dataset(model, {}, n_periods=4, n_occasions=6, seed=11)
    spec, _ = calibration_spec(model, {}, n_periods=4)
    built = family_of(spec).build(spec, data)
    sizes = {v.name: int(np.prod(v.shape.eval())) for v in built.free_RVs + built.deterministics}
    sizes["N"] = data.n_periods
    if model.startswith("mse"):
        # the abundance line is integrated out of the graph and drawn after sampling
        sizes |= {"abundance_level": 1, "abundance_trend": 1}
    assert {name: np.size(value) for name, value in truth.items()} == {
        name: sizes[name] for name in truth
    }
    if model == "Mh-mixture":
        expected = {"mixture_gap", "mixture_weight"}
        centre = spec.priors["abundance"].params["mu"]
    elif model.startswith("mse"):
        expected = {"abundance_level", "abundance_trend", "source_trend"}
        expected |= {"source_effect", "interaction"} if model == "mse-loglinear" else set()
        centre = spec.priors["abundance"].params["mu"]
    else:
        expected = {"abundance_level", "abundance_slope", "detection_level", "detection_slope"}
        centre = spec.priors["abundance_level"].params["mu"]
    assert expected | {"N", "log_expected_abundance"} <= set(truth)
    assert set(truth) <= set(RANKED)  # and every drawn value is ranked
    assert data.n_periods == 4 and truth["N"].shape == (4,)
    assert np.all(truth["N"] >= data.detected)
    # the calibration priors replace the data-centred catalogue priors
    assert np.all(np.asarray(centre) == pytest.approx(np.log(400.0)))


def test_calibration_refuses_what_it_cannot_simulate():
    spec = load_model("mse-loglinear").with_structure(source_trend="independent")
    with pytest.raises(ModelSpecError, match="linear abundance and list trends"):
        calibration_spec(spec, {}, n_periods=2)
    spec = load_model("robust-trend").with_structure(reporting_covariates=["effort"])
    with pytest.raises(ModelSpecError, match="covariates"):
        calibration_spec(spec, {}, n_periods=2)
