"""What ``python -m leaderboard`` writes: byte-identical on the same records, a self-contained web
page, the difficulty and robustness tables and curves, and a page that renders in Chromium."""

from __future__ import annotations

import html
import json
import re
import shutil

import pytest

from leaderboard.build import build, main, write_if_changed
from leaderboard.frame import records_frame
from leaderboard.plots import curves_frame
from leaderboard.screenshot import screenshot
from results import RECORDS_DIR, read_records, write_record
from tests.test_page_chromium import require_chromium

OUTPUTS = ("README.md", "index.html", "records.csv")


def record(**over):
    r = {"method": "skeletonclr", "dataset": "synthetic-xsub", "split": "xsub", "stream": "joint", "protocol": "linear",
         "preset": "quick", "epochs": 3, "seed": 0, "frames": 50, "pretrain_seed": 0,
         "metrics": {"top1": 61.5, "top5": 90.0, "best_top1": 62.0, "best_epoch": 95},
         "preprocessing": "official", "commit": "abc", "wall_s": 12.0, "device": "cpu", "synthetic": True,
         "checkpoint": {"source": "zoo", "path": None, "sha256": "x"}, "created": "2026-11-25T10:00:00Z",
         "data": {"fingerprint": "f" * 64, "generator_version": 3}, "command": "python -m protocols.linear --method x"}
    r.update(over)
    return r


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def checkout_copy(tmp_path_factory):
    """The checkout's records (real ones: the suite's own history), copied so two builds can sit
    at the same relative path to them."""
    root = tmp_path_factory.mktemp("lb")
    for side in ("a", "b"):
        if RECORDS_DIR.is_dir():
            shutil.copytree(RECORDS_DIR, root / side / "records")
        else:  # a checkout whose records were removed: two made-up ones keep the checks meaningful
            for seed, top1 in ((0, 61.5), (1, 58.0)):
                write_record(record(seed=seed, metrics={"top1": top1, "top5": 90.0}, created=f"2026-11-25T10:00:0{seed}Z"),
                             root / side / "records")
    return root


def test_same_records_give_byte_identical_files_and_a_rebuild_changes_nothing(checkout_copy):
    a, b = checkout_copy / "a", checkout_copy / "b"
    build(a / "records", a / "lb")
    build(b / "records", b / "lb")
    first = snapshot(a / "lb")
    assert set(OUTPUTS) <= set(first) and any(n.startswith("plot-") and n.endswith(".png") for n in first)
    assert first == snapshot(b / "lb")  # Markdown, HTML, CSV and every PNG
    stamps = {p.name: p.stat().st_mtime_ns for p in (a / "lb").iterdir()}
    build(a / "records", a / "lb")
    assert snapshot(a / "lb") == first
    assert {p.name: p.stat().st_mtime_ns for p in (a / "lb").iterdir()} == stamps  # nothing even rewritten
    for name, data in first.items():
        if name.endswith(".png"):
            assert b"Software" not in data and b"matplotlib" not in data, name  # no tool/version stamp


def test_the_page_is_self_contained(checkout_copy):
    page = (checkout_copy / "a" / "lb" / "index.html").read_text()
    assert not re.search(r"""src\s*=\s*["']?(https?:)?//""", page)  # nothing fetched at view time
    assert "<link" not in page and "<script src" not in page and "@import" not in page
    images = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert "table.sortable thead th" in page and page.count('class="sortable') >= 5
    # every link works from the published page: into the page itself, or to the web (papers, code,
    # sources); none is a path into the checkout, which breaks when index.html is opened alone
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all(h.startswith(("#", "https://")) for h in hrefs), [h for h in hrefs if h[:1] not in "#h"][:5]
    readme = (checkout_copy / "a" / "lb" / "README.md").read_text()
    # every run (a rerun of the same run supersedes the older record, e.g. after the README's main
    # command in this checkout): a row with an anchor and the exact command on the page, and in
    # the README a link to its JSON file in the repository
    for name in sorted(records_frame(read_records(checkout_copy / "a" / "records"))["record"])[-3:]:
        rec = json.loads((checkout_copy / "a" / "records" / name).read_text())
        assert f'href="../records/{name}"' not in page and f"(../records/{name})" in readme
        assert f"<code>{html.escape(rec['command'], quote=False)}</code>" in page.replace("&#x27;", "'")
    assert 'id="rec-' in page and 'href="#rec-' in page
    # the two long tables are collapsed; the records table shows top-1 among its first columns
    assert re.search(r'<details><summary>All \d+ claims</summary>', page)
    records_head = re.search(r'<details><summary>All \d+ runs</summary>.*?<thead><tr>(.*?)</tr>', page).group(1)
    assert re.findall(r"<th[^>]*>([^<]+)</th>", records_head).index("top1") < 5


def test_write_if_changed_leaves_an_equal_file_alone(tmp_path):
    path = tmp_path / "x.txt"
    assert write_if_changed(path, b"a") and not write_if_changed(path, b"a") and write_if_changed(path, b"b")
    assert path.read_bytes() == b"b"


def test_difficulty_tables_read_whatever_metrics_their_records_hold(tmp_path):
    recs = tmp_path / "records"
    write_record(record(), recs)
    text = build(recs, tmp_path / "none").read_text()
    assert "Difficulty" not in text  # none: skipped, no empty table
    for seed, ece in ((0, 0.10), (1, 0.20)):
        write_record(record(protocol="difficulty", seed=seed, checkpoint={"source": "random", "path": None, "sha256": "r"},
                            metrics={"top1": 50.0 + seed, "top5": 80.0, "calibration": {"ece": ece},
                                     "random_linear": {"mean": 41.0, "sd": 1.41, "values": [40.0 + seed, 42.0 + seed]},
                                     "supervised": None, "curve": [1, 2], "flag": True}), recs)
    text = build(recs, tmp_path / "lb").read_text()
    section = text.split("#### Difficulty — synthetic v3")[1].split("####")[0]
    # a row per figure, the named ones first; nested keys flattened; a summary's values are its
    # samples; lists, flags and None left out; a column per benchmark
    assert "| baseline | synthetic xsub |" in section
    rows = [line for line in section.splitlines() if line.startswith("| ") and "baseline" not in line]
    assert [r.split(" | ")[0] for r in rows] == ["| untrained encoder, linear (official probe)", "| calibration.ece",
                                                   "| top1", "| top5"]
    # random_linear: 40, 42, 41, 43 → mean 41.5, sd 1.29, n 4
    assert "| untrained encoder, linear (official probe) | 41.50 ± 1.29 (n=4) |" in section
    assert "| calibration.ece | 0.150 ± 0.071 (n=2) |" in section
    # a record that gives several samples is listed once under the cell
    links = [line for line in section.splitlines() if line.startswith("- untrained encoder")]
    assert len(links) == 1 and links[0].count("](") == 2


def test_the_difficulty_table_names_the_supervised_epochs_in_a_note(tmp_path):
    recs = tmp_path / "records"
    write_record(record(protocol="difficulty", checkpoint={"source": "random", "path": None, "sha256": "r"},
                        metrics={"raw_logistic": 30.0, "supervised": {"top1": 81.0, "epochs": 110}}), recs)
    section = build(recs, tmp_path / "lb").read_text().split("#### Difficulty — synthetic v3")[1].split("####")[0]
    assert "| logistic regression, raw coordinates | 30.00 (n=1) |" in section
    assert "| supervised encoder (fine-tune from random init) | 81.00 (n=1) |" in section
    assert "synthetic xsub: the supervised encoder trained 110 epochs." in section and "epochs |" not in section


def test_a_remeasured_difficulty_record_supersedes_the_older_one(tmp_path):
    """The same benchmark and seed measured again (here: the supervised row run to the full
    schedule, on another machine whose untrained encoder has another checksum) replaces the older
    figures instead of averaging with them."""
    recs = tmp_path / "records"
    for created, sha, top1, epochs in (("2026-12-03T10:00:00Z", "a", 28.0, 10), ("2026-12-04T10:00:00Z", "b", 66.5, 110)):
        write_record(record(protocol="difficulty", created=created, checkpoint={"source": "random", "path": None, "sha256": sha},
                            metrics={"raw_logistic": 55.0, "supervised": {"top1": top1, "epochs": epochs}}), recs)
    section = build(recs, tmp_path / "lb").read_text().split("#### Difficulty — synthetic v3")[1].split("####")[0]
    assert "| supervised encoder (fine-tune from random init) | 66.50 (n=1) |" in section
    assert "| logistic regression, raw coordinates | 55.00 (n=1) |" in section
    assert "trained 110 epochs." in section and "10, 110" not in section


def test_difficulty_records_of_two_encoders_are_two_columns(tmp_path):
    """An untrained transformer is not an untrained ST-GCN: the same benchmark and seed measured
    on each encoder keeps both, a column each, the encoder named."""
    recs = tmp_path / "records"
    for encoder, top1 in (("stgcn", 45.0), ("transformer", 28.0)):
        write_record(record(protocol="difficulty", encoder=encoder,
                            checkpoint={"source": "random", "path": None, "sha256": encoder},
                            metrics={"raw_logistic": 55.0, "random_knn": {"mean": top1, "sd": 0.0, "values": [top1]}}),
                     recs)
    section = build(recs, tmp_path / "lb").read_text().split("#### Difficulty — synthetic v3")[1].split("####")[0]
    assert "| baseline | synthetic xsub, ST-GCN | synthetic xsub, Transformer |" in section
    assert "| untrained encoder, cosine 1-NN | 45.00 (n=1) | 28.00 (n=1) |" in section


def test_robustness_records_make_a_table_and_curves(tmp_path):
    recs = tmp_path / "records"
    write_record(record(protocol="robustness", metrics={
        "top1": 80.0, "top5": 95.0, "mean_relative": 0.75, "relative": {"gaussian_noise": 0.75},
        "robustness": {"gaussian_noise": {"1": 70.0, "2": 50.0}}},
        protocol_config={"corruptions": {"gaussian_noise": {"unit": "σ of additive noise, cm"}}}), recs)
    text = build(recs, tmp_path / "lb").read_text()
    assert "80.00 (n=1), kept 0.750" in text
    assert (tmp_path / "lb" / "plot-robustness.png").is_file()
    write_record(record(created="2026-11-26T10:00:00Z", metrics={"top1": 61.5, "top5": 90.0}), recs)
    for path in recs.glob("*robustness*"):
        path.unlink()
    build(recs, tmp_path / "lb")
    assert not (tmp_path / "lb" / "plot-robustness.png").exists()  # a plot whose records are gone goes too


def test_curves_read_the_zoo_and_the_online_knn():
    zoo = [{"_name": "skeletonclr-synthetic-xsub-joint", "method": "skeletonclr", "preset": {"name": "quick"},
            "dataset": "synthetic-xsub", "generator_version": 3, "epochs": 2,
            "curve": [{"epoch": 0, "top1": 60.0}, {"epoch": 2, "top1": 70.0}],
            "loss_history": [{"epoch": 1, "loss": 4.0, "knn_top1": 40.0}, {"epoch": 2, "loss": 3.0}]}]
    records = [{"_path": "r.json", "method": "aimclr", "dataset": "synthetic-xsub", "synthetic": True,
                "data": {"generator_version": 3}, "stream": "joint", "preset": "quick", "epochs": 1,
                "pretraining_curve": {"metric": "knn", "every": 1, "epochs": [1], "top1": [33.0]}}]
    df = curves_frame(zoo, records)
    assert sorted(zip(df.curve, df.epoch, df.top1)) == [("KNN monitor", 1, 33.0), ("KNN monitor", 1, 40.0),
                                                        ("linear probe", 0, 60.0), ("linear probe", 2, 70.0)]


def test_cli_from_the_checkout(tmp_path, capsys):
    assert main(["--records", str(RECORDS_DIR), "--out", str(tmp_path / "lb")]) == 0
    assert "leaderboard written to" in capsys.readouterr().out
    assert main(["--records", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x")]) == 2  # refused: no records
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "r.json").write_text("{")
    assert main(["--records", str(tmp_path / "bad"), "--out", str(tmp_path / "y")]) == 2


def test_the_page_renders_in_headless_chromium(checkout_copy, tmp_path):
    browser = require_chromium("the screenshot check")
    png = screenshot(checkout_copy / "a" / "lb" / "index.html", tmp_path / "shot.png", 1400, 1200, browser)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a page with tables, not a blank one


def test_a_method_is_compared_with_the_untrained_network_it_shares(tmp_path):
    """AimCLR's encoder is SkeletonCLR's ST-GCN: a random-init run made as either is its Δinit."""
    recs = tmp_path / "records"
    write_record(record(method="aimclr", preset="quick", epochs=4, metrics={"top1": 30.0, "top5": 60.0}), recs)
    write_record(record(checkpoint={"source": "random", "path": None, "sha256": "r"}, preset=None, epochs=None,
                        pretrain_seed=None, metrics={"top1": 20.0, "top5": 50.0}), recs)
    section = build(recs, tmp_path / "lb").read_text().split("#### Linear evaluation — synthetic v3")[1]
    aim = [line for line in section.split("</details>")[0].splitlines() if line.startswith("| 1 | AimCLR |")]
    assert len(aim) == 1 and "| joint | 30.00 (n=1), Δinit +10.00 |" in aim[0], aim


def test_a_cell_whose_run_warned_is_marked_and_the_records_say_why(tmp_path):
    recs = tmp_path / "records"
    write_record(record(method="aimclr", preset="quick", epochs=4, metrics={"top1": 30.0, "top5": 60.0},
                        pretraining_warning="the held-out KNN monitor did not rise"), recs)
    readme = build(recs, tmp_path / "lb").read_text()
    section = readme.split("#### Linear evaluation — synthetic v3")[1]
    aim = [line for line in section.split("</details>")[0].splitlines() if line.startswith("| 1 | AimCLR |")]
    assert len(aim) == 1 and "| joint | 30.00 (n=1, 1 ⚠) |" in aim[0], aim
    rows = (tmp_path / "lb" / "records.csv").read_text()
    assert "pretraining: the held-out KNN monitor did not rise" in rows
    assert "⚠" in (tmp_path / "lb" / "index.html").read_text()
