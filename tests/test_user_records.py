"""A user's runs stay the user's: records go to the cache by default, name no machine path, enter
the shipped set only through ``python -m leaderboard publish``, and ``--mine`` builds their own
leaderboard."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from leaderboard.build import main as leaderboard_main
from leaderboard.publish import main as publish_main
from leaderboard.publish import publish
from results import RECORDS_DIR, portable, read_records, records_dir, write_record
from utils.paths import REPO_ROOT


def a_shipped_record() -> dict:
    path = sorted(RECORDS_DIR.glob("*-knn-nwucla-xview-joint.json"))[0]
    return json.loads(path.read_text())


def test_records_go_to_the_cache_by_default_never_to_the_shipped_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SKELEBENCH_RESULTS", raising=False)
    monkeypatch.setenv("SKELEBENCH_CACHE", str(tmp_path / "cache"))
    assert records_dir() == tmp_path / "cache" / "records" != RECORDS_DIR
    monkeypatch.setenv("SKELEBENCH_RESULTS", str(tmp_path / "mine"))
    assert records_dir() == tmp_path / "mine" and records_dir(tmp_path / "x") == tmp_path / "x"


def test_portable_names_the_places_and_leaves_lookalike_paths_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("SKELEBENCH_CACHE", str(tmp_path / "cache"))
    value = {"a": f"{tmp_path}/cache/runs/x/encoder.pt", "b": [f"{REPO_ROOT}/methods/zoo/m.pt", f"{REPO_ROOT}2/y"],
             "c": f"python -m p --data-root {tmp_path}/data --out {tmp_path}/cache/runs/r", "d": 3}
    assert portable(value, tmp_path / "data") == {
        "a": "<cache>/runs/x/encoder.pt", "b": ["<repo>/methods/zoo/m.pt", f"{REPO_ROOT}2/y"],
        "c": "python -m p --data-root <data-root> --out <cache>/runs/r", "d": 3}


def test_a_written_record_names_no_path_of_this_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("SKELEBENCH_CACHE", str(tmp_path / "cache"))
    record = a_shipped_record()
    record.pop("logits", None)
    record["data"] = {**record["data"], "root": str(tmp_path / "mydata" / "nwucla-xview"),
                      "source": [str(tmp_path / "download" / "all_sqe")]}
    record["command"] = f"python -m protocols.knn --method skeletonclr --data-root {tmp_path / 'mydata'}"
    record["checkpoint"] = {**record["checkpoint"], "path": str(tmp_path / "cache" / "runs" / "r" / "encoder.pt")}
    path = write_record(record, tmp_path / "records")
    text = path.read_text()
    assert str(tmp_path) not in text
    written = json.loads(text)
    assert written["data"]["root"] == "<data-root>/nwucla-xview" and written["data"]["source"] == ["<download>/all_sqe"]
    assert written["command"].endswith("--data-root <data-root>")
    assert written["checkpoint"]["path"] == "<cache>/runs/r/encoder.pt"


def test_no_shipped_record_names_a_machine_path():
    absolute = re.compile(r'"(/[^"<]+)"')
    found = {p.name: m.group(1) for p in RECORDS_DIR.glob("*.json") for m in absolute.finditer(p.read_text())}
    assert found == {}
    assert all(str(REPO_ROOT) not in p.read_text() for p in RECORDS_DIR.glob("*.json"))


def test_publish_copies_a_checked_record_and_its_logits_and_leaves_the_shipped_ones(tmp_path):
    mine, shipped = tmp_path / "mine", tmp_path / "shipped"
    record = a_shipped_record()
    record.pop("logits", None)
    path = write_record(record, mine, arrays={"logits": np.zeros((2, 3), np.float32)})
    copied, present = publish([mine], shipped)
    assert [p.name for p in copied] == [path.name] and present == []
    assert (shipped / path.name.replace(".json", ".logits.npz")).is_file()
    assert read_records(shipped)[0]["metrics"] == record["metrics"]
    again, present = publish([path], shipped)
    assert again == [] and [p.name for p in present] == [path.name]  # already there: left alone


def test_publish_refuses_an_unusable_record_and_copies_nothing(tmp_path, capsys):
    mine, shipped = tmp_path / "mine", tmp_path / "shipped"
    good = write_record({k: v for k, v in a_shipped_record().items() if k != "logits"}, mine)
    bad = mine / "zzz-bad.json"
    bad.write_text(json.dumps({**json.loads(good.read_text()), "metrics": {"top1": 250}}))
    with pytest.raises(ValueError, match="zzz-bad.json is not a usable record"):
        publish([mine], shipped)
    assert not shipped.exists()
    assert publish_main([str(tmp_path / "nothing-here")]) == 2
    assert "neither a record" in capsys.readouterr().err


def test_mine_builds_the_users_leaderboard_from_the_users_records(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SKELEBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SKELEBENCH_RESULTS", str(tmp_path / "cache" / "records"))
    write_record({k: v for k, v in a_shipped_record().items() if k != "logits"})
    assert leaderboard_main(["--mine"]) == 0
    page = (tmp_path / "cache" / "leaderboard" / "README.md").read_text()
    assert "NW-UCLA" in page
    assert str(tmp_path / "cache" / "leaderboard") in capsys.readouterr().out
    assert Path(RECORDS_DIR).is_dir()  # the shipped set is untouched by a user's build
