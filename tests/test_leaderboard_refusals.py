"""The leaderboard refuses what it cannot build from, and never wipes itself (issue 24, items 2 and 4).

A ``--records`` folder that does not exist, is a file or holds no record is an error before anything
is written; a record the leaderboard cannot use (an impossible accuracy, a string where a number
belongs, a JSON list) is left out with one warning naming its file, so the tables stay exactly what
the usable records make; a broken ``reported.csv`` is an error naming the file and line.
"""

from __future__ import annotations

import json
import math
import shutil

import pytest

from leaderboard.build import build, main
from leaderboard.ranking import METHODS_CSV
from leaderboard.reported import REPORTED
from results import RECORDS_DIR, record_problems, write_record
from tests.test_leaderboard_output import record


def snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Three seeds of one recipe and its random init, built into ``lb/`` beside ``records/``: the
    leaderboard a bad input must leave byte for byte as it is."""
    root = tmp_path_factory.mktemp("built")
    for seed, top1 in ((0, 29.5), (1, 29.7), (2, 29.9)):
        write_record(record(pretrain_seed=seed, checkpoint={"source": "checkpoint", "path": None, "sha256": f"s{seed}"},
                            metrics={"top1": top1, "top5": 70.0, "best_top1": top1, "best_epoch": 95},
                            created=f"2026-11-25T10:00:0{seed}Z"), root / "records")
    write_record(record(checkpoint={"source": "random", "path": None, "sha256": "r"}, preset=None, epochs=0,
                        pretrain_seed=None, metrics={"top1": 5.0, "top5": 20.0}), root / "records")
    build(root / "records", root / "lb")
    assert "29.70 ± 0.20 (n=3)" in (root / "lb" / "README.md").read_text()
    return root


@pytest.fixture
def work(built, tmp_path):
    """A private copy of the built leaderboard and its records, at the same relative layout."""
    shutil.copytree(built, tmp_path / "w")
    return tmp_path / "w"


def stderr_lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.strip()]


# ------------------------------------------------------------------------------- --records refusals
@pytest.mark.parametrize("case", ["typo", "empty", "file", "only-unusable"])
def test_records_that_are_not_a_folder_of_records_are_refused_and_nothing_is_written(work, capsys, case):
    target = work / "record"  # the typo of the issue: results/record for results/records
    if case == "empty":
        target.mkdir()
    elif case == "file":
        target.write_text("not a folder\n")
    elif case == "only-unusable":
        target.mkdir()
        (target / "a.json").write_text(json.dumps(record(metrics={"top1": 250.0})))
    before = snapshot(work / "lb")
    assert main(["--records", str(target), "--out", str(work / "lb")]) == 2
    lines = stderr_lines(capsys)
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and str(target) in errors[0] and "--records" in errors[0], lines
    assert lines[-1] == errors[0]  # the error comes last (after any warning about an unusable record)
    assert snapshot(work / "lb") == before


def test_an_out_that_is_a_file_is_refused(work, capsys):
    out = work / "lb.txt"
    out.write_text("x\n")
    assert main(["--records", str(work / "records"), "--out", str(out)]) == 2
    lines = stderr_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(out) in lines[0] and "--out" in lines[0]
    assert out.read_text() == "x\n"


# ------------------------------------------------------------------------------- unusable records
BAD_RECORDS = {
    "top1 250": (record(seed=3, metrics={"top1": 250.0, "top5": 90.0}), "top1"),
    "top1 string": (record(seed=3, metrics={"top1": "99.5", "top5": 90.0}), "top1"),
    "top1 inf": (record(seed=3, metrics={"top1": math.inf, "top5": 90.0}), "top1"),
    "top1 nan": (record(seed=3, metrics={"top1": math.nan, "top5": 90.0}), "top1"),
    "top1 abc": (record(seed=3, metrics={"top1": "abc", "top5": 90.0}), "top1"),
    "no metrics": ({k: v for k, v in record(seed=3).items() if k != "metrics"}, "metrics"),
    "empty metrics": (record(seed=3, metrics={}), "top1"),
    "method 123": (record(seed=3, method=123), "method"),
    "json list": ([record(seed=3)], "object"),
}


@pytest.mark.parametrize("case", sorted(BAD_RECORDS))
def test_an_unusable_record_is_left_out_with_one_warning_naming_it(work, capsys, case):
    bad, field = BAD_RECORDS[case]
    name = "20261125T100009-skeletonclr-linear-synthetic-xsub-joint.json"
    (work / "records" / name).write_text(json.dumps(bad))  # json writes NaN and Infinity as Python reads them
    before = snapshot(work / "lb")
    assert main(["--records", str(work / "records"), "--out", str(work / "lb")]) == 0
    lines = stderr_lines(capsys)
    assert len(lines) == 1 and lines[0].startswith("warning: ") and name in lines[0] and field in lines[0], lines
    assert snapshot(work / "lb") == before  # the tables are what the usable records make, byte for byte


def test_valid_records_build_the_same_tables_again(work, capsys):
    before = snapshot(work / "lb")
    assert main(["--records", str(work / "records"), "--out", str(work / "lb")]) == 0
    assert stderr_lines(capsys) == []
    assert snapshot(work / "lb") == before


# ------------------------------------------------------------------------------- the schema itself
def test_record_problems_by_hand():
    assert record_problems(record()) == []
    assert record_problems(record(epochs=None, preset=None, pretrain_seed=None, data=None, variant=None)) == []
    difficulty = record(protocol="difficulty", metrics={"raw_1nn": 40.0, "random_knn": {"mean": 15.0, "sd": 1.0,
                                                                                          "values": [14.0, 16.0]},
                                                        "supervised": {"top1": 28.0, "epochs": 150, "record": "x.json"}})
    assert record_problems(difficulty) == []  # no top1 of its own; epochs are a count, not an accuracy
    assert record_problems(record(protocol="difficulty", metrics={"raw_1nn": -3.0}))
    assert record_problems(record(metrics={"top1": True})) != []  # a flag is not an accuracy
    assert record_problems(record(metrics={"top1": 50.0, "top5": 101.0})) != []
    assert record_problems(record(metrics={"top1": 50.0, "best_top1": math.nan})) != []
    assert record_problems(record(protocol="knn", metrics={"top1": 50.0, "knn_top1": {"20": 500.0}})) != []
    assert record_problems(record(protocol="robustness", metrics={"top1": 50.0, "mean_relative": math.inf})) != []
    assert record_problems(record(frames="50")) != [] and record_problems(record(seed=1.5)) != []
    assert record_problems(record(synthetic="false")) != []
    assert record_problems([record()]) == ["the record is a JSON list, not an object"]
    problems = record_problems(record(method=123, metrics={"top1": 250.0}))
    assert len(problems) == 2 and "method" in problems[0] and "250" in problems[1]


def test_write_record_refuses_an_impossible_record(tmp_path):
    with pytest.raises(ValueError, match="top1"):
        write_record(record(metrics={"top1": 250.0, "top5": 90.0}), tmp_path)
    assert not tmp_path.exists() or list(tmp_path.iterdir()) == []


def test_every_shipped_record_passes_the_schema():
    paths = sorted(RECORDS_DIR.glob("*.json"))
    assert paths, f"{RECORDS_DIR} ships no records: the published leaderboard is built from them"
    bad = {p.name: record_problems(json.loads(p.read_text())) for p in paths}
    assert {k: v for k, v in bad.items() if v} == {}


# ------------------------------------------------------------------------------- reported.csv
def test_a_truncated_reported_csv_is_an_error_naming_the_file_and_nothing_is_written(work):
    broken = work / "reported.csv"
    text = REPORTED.read_text()
    cut = text.index("\n", text.index("\n") + 1) + 1  # the header and the first claim, then an unterminated quote
    broken.write_text(text[:cut] + 'SkeletonCLR,"SkeletonCLR,skeletonclr,linear\n')
    before = snapshot(work / "lb")
    with pytest.raises(ValueError, match=str(broken)) as err:
        build(work / "records", work / "lb", reported_path=broken)
    assert "line" in str(err.value)
    assert snapshot(work / "lb") == before


# ------------------------------------------------------------------------------- methods.csv
def test_a_methods_csv_that_misses_a_method_is_an_error_naming_it_and_nothing_is_written(work):
    broken = work / "methods.csv"
    lines = METHODS_CSV.read_text().splitlines()
    broken.write_text("\n".join(line for line in lines if not line.startswith("ISC,")) + "\n")
    before = snapshot(work / "lb")
    with pytest.raises(ValueError, match=str(broken)) as err:
        build(work / "records", work / "lb", methods_path=broken)
    assert "reported.csv's method 'ISC' has no row" in str(err.value)
    assert snapshot(work / "lb") == before
