"""``hiddenpop describe``: the contract's JSON keys, and one clear line for bad input."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from hiddenpop.cli import main
from hiddenpop.exceptions import DuplicateRecordsWarning


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_describe_records_json(tmp_path, capsys):
    records = pd.DataFrame(
        {
            "ip": ["a", "b", "a", "c", "c", "d", "a", "a"],
            "year": [2014, 2014, 2014, 2015, 2015, 2015, 2015, 2015],
            "week": [1, 1, 2, 1, 2, 2, 1, 1],
        }
    )
    path = tmp_path / "records.csv"
    records.to_csv(path, index=False)
    argv = ["describe", str(path), "--id", "ip", "--period", "year", "--occasion", "week"]
    with pytest.warns(DuplicateRecordsWarning, match="1 duplicate"):
        code, out, _ = run(capsys, *argv, "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["periods"] == [2014, 2015]
    assert summary["occasions"] == [["1", "2"], ["1", "2"]]
    assert summary["detected"] == [2, 3]
    assert summary["captures_per_occasion"] == [[2, 1], [2, 2]]
    assert summary["capture_frequencies"] == [[1, 1], [2, 1]]
    # Chao: 2014 f1=1, f2=1 -> 2 + 1/2; Chapman (two occasions): 2015 (3*3/2 - 1)
    assert summary["chao_lower_bound"] == pytest.approx([2.5, 3 + 4 / 2])
    assert summary["chapman"] == pytest.approx([3 * 2 / 2 - 1, 3 * 3 / 2 - 1])
    assert summary["duplicate_records"] == 1


def test_describe_bundled_dataset_and_table(capsys):
    code, out, _ = run(capsys, "describe", "hare")
    assert code == 0
    assert "82.2" in out  # Chao lower bound 68 + 25^2 / 44
    code, out, _ = run(capsys, "describe", "kosovo", "--json")
    assert json.loads(out)["occasions"] == [["EXH", "ABA", "OSCE", "HRW"]]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["describe", "missing.csv", "--id", "x", "--occasion", "y"], "no such file"),
        (["describe", "{records}", "--id", "nope", "--occasion", "week"], "no column 'nope'"),
        (["describe", "{records}"], "--id and --occasion"),
        (["describe", "{records}", "--histories"], "must be 0 or 1"),
        (["describe", "{binary}", "--id", "ip", "--occasion", "week"], "binary"),
        (["describe", "hare", "--id", "x"], "bundled dataset"),
        (["describe", "{records}", "--histories", "--layout", "2,x"], "--layout"),
        (["fit", "hare", "--target-accept", "1.5", "--out", "{fit}"], "--target-accept"),
    ],
)
def test_bad_input_is_one_line_and_status_2(tmp_path, capsys, argv, message):
    records = tmp_path / "records.csv"
    records.write_text("ip,week\na,1\nb,2\n")
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x00\x01\x02")
    argv = [a.format(records=records, binary=binary, fit=tmp_path / "fit.nc") for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hiddenpop: error:")
    assert message in lines[0]
    assert "Traceback" not in err
    assert not (tmp_path / "fit.nc").exists()
