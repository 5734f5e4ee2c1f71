"""CaptureData: statistics from records against brute force, every input error, round trips."""

from __future__ import annotations

import warnings
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hiddenpop.data import CaptureData, histories_from_records
from hiddenpop.datasets import dataset_info, dataset_names, load_dataset
from hiddenpop.exceptions import (
    ColumnError,
    CountError,
    DataWarning,
    DuplicateRecordsWarning,
    EmptyHistoryError,
    EmptyTableError,
    FileFormatError,
    HiddenpopError,
    HistoryValueError,
    MissingValueError,
    OccasionOrderError,
    TooFewOccasionsError,
    TooFewSourcesError,
)


# ---------------------------------------------------------------- brute force
def brute_force(records: pd.DataFrame):
    """Statistics by plain Python loops over units, straight from the definitions."""
    periods = sorted(records["period"].unique())
    seen = {t: defaultdict(set) for t in periods}
    for row in records.itertuples():
        seen[row.period][row.id].add(row.occasion)
    occasions = {t: sorted(set().union(*seen[t].values())) for t in periods}
    out = []
    for t in periods:
        occ = occasions[t]
        k = len(occ)
        n_k = [sum(o in s for s in seen[t].values()) for o in occ]
        f = [sum(len(s) == m for s in seen[t].values()) for m in range(1, k + 1)]
        u = [sum(min(s) == o for s in seen[t].values()) for o in occ]
        joint = np.zeros((k, k), dtype=int)
        for s in seen[t].values():
            joint[occ.index(min(s)), len(s) - 1] += 1
        before = seen[periods[periods.index(t) - 1]] if periods.index(t) else {}
        linked_f = [
            sum(len(s) == m for i, s in seen[t].items() if i in before) for m in range(1, k + 1)
        ]
        out.append(dict(n=len(seen[t]), occ=occ, n_k=n_k, f=f, u=u, joint=joint, linked=linked_f))
    return periods, out


records_strategy = st.lists(
    st.tuples(
        st.integers(0, 12),  # id
        st.sampled_from([2014, 2015, 2017]),  # period
        st.integers(1, 5),  # occasion
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=60, deadline=None)
@given(records_strategy)
def test_statistics_from_records_match_brute_force(rows):
    records = pd.DataFrame(rows, columns=["id", "period", "occasion"])
    periods, expected = brute_force(records)
    too_few = any(len(e["occ"]) < 2 for e in expected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        if too_few:
            with pytest.raises(TooFewOccasionsError):
                CaptureData.from_records(records, id="id", period="period", occasion="occasion")
            return
        data = CaptureData.from_records(records, id="id", period="period", occasion="occasion")
    assert data.periods == periods
    s = data.stats
    for t, e in enumerate(expected):
        k = len(e["occ"])
        assert data.detected[t] == e["n"]
        assert data.n_occasions[t] == k
        assert data.labels(t) == [str(o) for o in e["occ"]]
        assert s["captures"].values[t, :k].tolist() == e["n_k"]
        assert s["frequencies"].values[t, :k].tolist() == e["f"]
        assert s["first_captures"].values[t, :k].tolist() == e["u"]
        np.testing.assert_array_equal(s["first_by_frequency"].values[t, :k, :k], e["joint"])
        if len(periods) > 1:  # units of period t also seen in the data's previous period
            assert data.linked_frequencies()[t, :k].tolist() == e["linked"]
            assert data.linked_frequencies()[t, k:].sum() == 0
        else:
            assert data.count_histories is None
        # masked cells hold zero, and the identities between statistics hold
        assert s["captures"].values[t, k:].sum() == 0
        assert s["frequencies"].values[t].sum() == e["n"]
        assert (s["captures"].values[t] - s["first_captures"].values[t] >= 0).all()
        assert (
            s["recaptures"].values[t].sum()
            == sum((m + 1) * c for m, c in enumerate(e["f"])) - e["n"]
        )
    assert s.attrs["n_duplicate_records"] == len(records) - len(records.drop_duplicates())


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 15), st.sampled_from(["a", "b"]), st.sampled_from("XYZW")),
        min_size=1,
        max_size=60,
    )
)
def test_source_patterns_match_brute_force(rows):
    records = pd.DataFrame(rows, columns=["id", "year", "list"])
    sources = sorted(records["list"].unique())
    per_period_sources = records.groupby("year")["list"].nunique()
    if len(sources) < 2 or (per_period_sources < 2).any():
        with pytest.raises(TooFewSourcesError):
            CaptureData.from_records(records, id="id", period="year", source="list")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DuplicateRecordsWarning)
        data = CaptureData.from_records(records, id="id", period="year", source="list")
    inclusion = data.stats["inclusion"].values
    for t, year in enumerate(data.periods):
        units = defaultdict(set)
        for row in records[records["year"] == year].itertuples():
            units[row.id].add(row.list)
        expected = np.zeros(len(inclusion), dtype=int)
        for s in units.values():
            h = [int(src in s) for src in sources]
            expected[[list(r) for r in inclusion].index(h)] += 1
        np.testing.assert_array_equal(data.stats["pattern_counts"].values[t], expected)
        assert data.mask[t].tolist() == [src in set().union(*units.values()) for src in sources]


def test_string_labels_sort_naturally_and_mixed_labels_fail():
    records = pd.DataFrame(
        {"id": ["a", "b", "a", "c"], "wk": ["week2", "week10", "week10", "week1"]}
    )
    data = CaptureData.from_records(records, id="id", occasion="wk")
    assert data.labels(0) == ["week1", "week2", "week10"]
    records.loc[3, "wk"] = "7"
    with pytest.raises(OccasionOrderError, match="mixes numbers and text"):
        CaptureData.from_records(records, id="id", occasion="wk")


def test_occasion_gaps_warn_and_union_fills_them():
    records = pd.DataFrame(
        {"id": [1, 2, 1, 3, 3, 4], "year": [1, 1, 1, 2, 2, 2], "wk": [1, 1, 3, 1, 2, 3]}
    )
    with pytest.warns(DataWarning, match="occasion"):
        data = CaptureData.from_records(records, id="id", period="year", occasion="wk")
    assert data.n_occasions.tolist() == [2, 3]
    union = CaptureData.from_records(
        records, id="id", period="year", occasion="wk", occasions="union"
    )
    assert union.n_occasions.tolist() == [3, 3]
    assert union.stats["captures"].values[0].tolist() == [2, 0, 1]
    explicit = CaptureData.from_records(
        records, id="id", period="year", occasion="wk", occasions=[1, 2, 3, 4]
    )
    assert explicit.n_occasions.tolist() == [4, 4]


def test_duplicates_count_once_and_are_reported():
    records = pd.DataFrame({"id": [1, 1, 1, 2], "wk": [1, 1, 2, 2]})
    with pytest.warns(DuplicateRecordsWarning, match="1 duplicate"):
        data = CaptureData.from_records(records, id="id", occasion="wk")
    assert data.stats["captures"].values.tolist() == [[1, 2]]
    assert data.stats.attrs["n_duplicate_records"] == 1


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("table", "kwargs", "error", "message"),
    [
        (pd.DataFrame({"id": [], "wk": []}), {}, EmptyTableError, "no rows"),
        (pd.DataFrame({"id": [1], "wk": [1]}), {"id": "ip"}, ColumnError, "no column 'ip'"),
        (pd.DataFrame({"id": [1, None], "wk": [1, 2]}), {}, MissingValueError, "rows 2"),
        (
            pd.DataFrame({"id": [1, 2], "wk": [1, None]}),
            {},
            MissingValueError,
            "'wk'",
        ),
        (pd.DataFrame({"id": [1, 2], "wk": [1, 1]}), {}, TooFewOccasionsError, "fewer than 2"),
        (pd.DataFrame({"id": [1, 2], "wk": ["1", "x"]}), {}, OccasionOrderError, "mixes"),
    ],
)
def test_record_errors(table, kwargs, error, message):
    options = {"id": "id", "occasion": "wk", **kwargs}
    with pytest.raises(error, match=message):
        CaptureData.from_records(table, **options)


def test_record_errors_need_one_of_occasion_or_source():
    table = pd.DataFrame({"id": [1, 2], "wk": [1, 2]})
    with pytest.raises(ColumnError, match="exactly one"):
        CaptureData.from_records(table, id="id")
    with pytest.raises(ColumnError, match="exactly one"):
        CaptureData.from_records(table, id="id", occasion="wk", source="wk")


def test_too_few_sources():
    table = pd.DataFrame({"id": [1, 2], "list": ["A", "A"]})
    with pytest.raises(TooFewSourcesError, match="at least 2"):
        CaptureData.from_records(table, id="id", source="list")


@pytest.mark.parametrize(
    ("table", "error", "message"),
    [
        (pd.DataFrame({"a": [1, 2], "b": [0, 1], "count": [3, 1]}), HistoryValueError, "row 2"),
        (pd.DataFrame({"a": [1, 0], "b": [0, 0], "count": [3, 1]}), EmptyHistoryError, "row"),
        (pd.DataFrame({"a": [1, 0], "b": [0, 1], "count": [3, -1]}), CountError, "negative"),
        (pd.DataFrame({"a": [1, 0], "b": [0, 1], "count": [3, 1.5]}), CountError, "non-integer"),
        (pd.DataFrame({"a": [1, 0], "b": [0, 1], "count": [3, None]}), CountError, "missing"),
        (pd.DataFrame({"a": [1, 1], "count": [3, 1]}), TooFewOccasionsError, "fewer than 2"),
        (pd.DataFrame({"a": [1], "b": [1], "count": [0]}), EmptyTableError, "count 0"),
    ],
)
def test_history_errors(table, error, message):
    with pytest.raises(error, match=message):
        CaptureData.from_histories(table)


def test_history_layout_errors():
    table = pd.DataFrame({"a": [1, 0], "b": [0, 1], "c": [1, 1], "count": [1, 1]})
    with pytest.raises(ColumnError, match="adds up to 4"):
        CaptureData.from_histories(table, layout=[2, 2])
    with pytest.raises(ColumnError, match="cannot read periods"):
        CaptureData.from_histories(table, layout="auto")
    with pytest.raises(TooFewSourcesError):
        CaptureData.from_histories(table[["c", "count"]], kind="source")


def test_frequency_errors():
    table = pd.DataFrame({"n_captures": [1, 2, 7], "count": [5, 3, 1]})
    with pytest.raises(ColumnError, match="number of occasions"):
        CaptureData.from_frequencies(table, n_occasions=None)
    with pytest.raises(CountError, match="seen 7 times"):
        CaptureData.from_frequencies(table, n_occasions=5)
    with pytest.raises(EmptyHistoryError):
        CaptureData.from_frequencies(
            pd.DataFrame({"n_captures": [0, 1], "count": [5, 3]}), n_occasions=5
        )


def test_file_errors(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        CaptureData.from_records(tmp_path / "missing.csv", id="id", occasion="wk")
    with pytest.raises(FileFormatError, match="directory"):
        CaptureData.from_records(tmp_path, id="id", occasion="wk")
    binary = tmp_path / "records.csv"
    binary.write_bytes(b"id,wk\n\x00\x01\x02\xff")
    with pytest.raises(FileFormatError, match="binary"):
        CaptureData.from_records(binary, id="id", occasion="wk")
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"id,wk\n\xe9\xe9\xe9,1\nb,2\n" * 3)
    with pytest.raises(FileFormatError, match="UTF-8"):
        CaptureData.from_records(latin, id="id", occasion="wk")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(EmptyTableError):
        CaptureData.from_records(empty, id="id", occasion="wk")
    header_only = tmp_path / "header.csv"
    header_only.write_text("id,wk\n")
    with pytest.raises(EmptyTableError):
        CaptureData.from_records(header_only, id="id", occasion="wk")
    odd = tmp_path / "records.xlsx"
    odd.write_text("id,wk\n1,2\n")
    with pytest.raises(FileFormatError, match="unknown file type"):
        CaptureData.from_records(odd, id="id", occasion="wk")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(FileFormatError, match="Parquet"):
        CaptureData.from_records(broken, id="id", occasion="wk")


def test_every_error_is_a_hiddenpop_error():
    with pytest.raises(HiddenpopError):
        CaptureData.from_histories(pd.DataFrame({"a": [2], "b": [0]}))


# ---------------------------------------------------------------- round trips and files
def test_csv_and_parquet_give_the_same_statistics(tmp_path):
    rng = np.random.default_rng(1)
    records = pd.DataFrame(
        {
            "ip": [f"10.0.{i % 40}.{i % 7}" for i in rng.integers(0, 500, 900)],
            "year": rng.choice([2016, 2017], 900),
            "week": rng.integers(1, 9, 900),
        }
    ).drop_duplicates()
    records.to_csv(tmp_path / "r.csv", index=False)
    records.to_parquet(tmp_path / "r.parquet")
    options = dict(id="ip", period="year", occasion="week")
    from_csv = CaptureData.from_records(tmp_path / "r.csv", **options)
    from_parquet = CaptureData.from_records(tmp_path / "r.parquet", **options)
    from_frame = CaptureData.from_records(records, **options)
    assert from_csv == from_parquet == from_frame
    assert from_csv.data_hash == from_frame.data_hash


@settings(max_examples=30, deadline=None)
@given(records_strategy)
def test_records_histories_frequencies_round_trip(rows):
    records = pd.DataFrame(rows, columns=["id", "period", "occasion"]).drop_duplicates()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        try:
            direct = CaptureData.from_records(
                records, id="id", period="period", occasion="occasion"
            )
        except TooFewOccasionsError:
            return
    table, layout = histories_from_records(records, id="id", period="period", occasion="occasion")
    via_histories = CaptureData.from_histories(table, layout=layout, period_labels=direct.periods)
    for name in ("detected", "captures", "frequencies", "first_captures", "first_by_frequency"):
        np.testing.assert_array_equal(via_histories.stats[name], direct.stats[name])
    assert [via_histories.labels(t) for t in range(direct.n_periods)] == [
        [f"{p}:{o}" for o in direct.labels(t)] for t, p in enumerate(direct.periods)
    ]
    for t in range(direct.n_periods):
        via_frequencies = CaptureData.from_frequencies(
            direct.frequency_table(t), n_occasions=int(direct.n_occasions[t])
        )
        np.testing.assert_array_equal(
            via_frequencies.frequencies[0], direct.frequencies[t, : direct.n_occasions[t]]
        )
    # histories expanded back to one record per detection give the same statistics again
    expanded = []
    unit = 0
    for row in table.itertuples(index=False):
        *cells, count = row
        for _ in range(count):
            expanded += [(unit, c) for c, v in zip(table.columns[:-1], cells, strict=True) if v]
            unit += 1
    back = pd.DataFrame(expanded, columns=["id", "cell"])
    back[["period", "occasion"]] = back["cell"].str.split(":", expand=True).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        again = CaptureData.from_records(back, id="id", period="period", occasion="occasion")
    assert again == direct


def test_robust_design_with_unequal_occasions_is_masked():
    data = load_dataset("mark_robust_example")
    assert data.n_occasions.tolist() == [2, 2, 4, 5, 2]
    assert data.mask.sum(axis=1).tolist() == [2, 2, 4, 5, 2]
    captures = data.stats["captures"].values
    assert (captures[~data.mask] == 0).all()
    assert data.labels(3) == ["p4s1", "p4s2", "p4s3", "p4s4", "p4s5"]
    # a unit seen in period 1 only is not counted in period 2
    raw = pd.read_csv(
        __import__("importlib.resources").resources.files("hiddenpop.datasets")
        / "mark_robust_example.csv"
    )
    seen_in_p2 = (raw[["p2s1", "p2s2"]].sum(axis=1) > 0) * raw["count"]
    assert data.detected[1] == seen_in_p2.sum()


def test_select_periods_trims_the_occasion_dim():
    data = load_dataset("mark_robust_example").select_periods([1, 2, 5])
    assert data.periods == [1, 2, 5]
    assert data.stats.sizes["occasion"] == 2


PUBLISHED_N_OBSERVED = {
    "hare": 68,
    "cottontail_rabbit": 76,
    "hiv_rome": 1896,
    "lesbian": 2185,
    "diabetes_italy": 2069,
    "hepatitis_a_taiwan": 271,
    "congenital_anomaly_ma": 537,
    "kosovo": 4400,
    "uk_modern_slavery_2013": 2744,
    "uk_modern_slavery_2013_5list": 2744,
    "new_orleans_trafficking": 185,
    "new_orleans_trafficking_5list": 185,
    "us_western_trafficking": 345,
    "netherlands_trafficking": 8234,
    "netherlands_trafficking_5list": 8234,
    "dipper": 294,
    "eider_duck": 896,
    "lazuli_bunting": 1681,
    "bbs2001_species": 71,
    "catbird_occupancy": 19,
    "meadow_vole_robust": 171,
    "redbacked_vole_robust": 560,
    "mark_robust_example": 991,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_N_OBSERVED))
def test_bundled_datasets_load_with_their_documented_size(name):
    data = load_dataset(name)
    info = dataset_info(name)
    assert info["description"] and info["source"] and info["occasions"]
    if data.n_periods == 1:
        assert data.detected[0] == PUBLISHED_N_OBSERVED[name]
    else:  # robust designs: distinct animals over all periods, from the raw table
        from hiddenpop.datasets import dataset_table

        assert dataset_table(name)["count"].sum() == PUBLISHED_N_OBSERVED[name]
    assert data.kind == info["kind"]


def test_every_dataset_is_documented_and_loadable():
    assert set(dataset_names()) == set(PUBLISHED_N_OBSERVED) | {"illegal_immigrants_nl"}
    with pytest.raises(ColumnError, match="number of occasions"):
        load_dataset("illegal_immigrants_nl")
    assert load_dataset("illegal_immigrants_nl", n_occasions=6).detected[0] == 1880


def test_capture_data_is_immutable():
    data = load_dataset("hare")
    with pytest.raises(AttributeError):
        data.origin = "x"
    with pytest.raises(ValueError):
        data.stats["captures"].values[0, 0] = 5
