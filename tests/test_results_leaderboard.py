"""Result records and the generated leaderboard."""

import json

import pytest

from leaderboard.build import bar_labels, build, records_frame, seed_summary, synthetic_table
from results import read_records, summary_line, write_record


def record(**over):
    r = {"method": "skeletonclr", "dataset": "synthetic-xsub", "split": "xsub", "stream": "joint",
         "protocol": "linear", "preset": "quick", "epochs": 36, "seed": 0, "frames": 50,
         "metrics": {"top1": 61.5, "top5": 90.0, "best_top1": 62.0, "best_epoch": 95},
         "preprocessing": "official", "commit": "abc", "wall_s": 12.0, "device": "cpu", "synthetic": True,
         "checkpoint": {"source": "zoo", "path": None, "sha256": "x"}, "created": "2026-11-25T10:00:00Z"}
    r.update(over)
    return r


def test_write_record_validates_and_never_overwrites(tmp_path):
    a = write_record(record(), tmp_path)
    b = write_record(record(), tmp_path)
    assert a != b and json.loads(a.read_text())["metrics"]["top1"] == 61.5
    assert not list(tmp_path.glob(".*"))
    bad = record()
    del bad["device"]
    with pytest.raises(ValueError, match="device"):
        write_record(bad, tmp_path)


def test_malformed_record_named(tmp_path):
    (tmp_path / "x.json").write_text("{")
    with pytest.raises(ValueError, match="x.json"):
        read_records(tmp_path)


def test_summary_line():
    line = summary_line(record())
    assert line == ("linear skeletonclr synthetic-xsub joint: top1 61.50 (best 62.00 @ 95) top5 90.00 | "
                    "checkpoint zoo | 12s on cpu [synthetic data]")
    assert summary_line(record(variant={"temperature": 0.07})).startswith("linear skeletonclr [temperature=0.07] synthetic")


def test_leaderboard_from_records(tmp_path):
    recs = tmp_path / "records"
    write_record(record(), recs)
    write_record(record(checkpoint={"source": "random", "path": None, "sha256": "y"}, preset=None, epochs=0,
                        metrics={"top1": 40.0, "top5": 80.0, "best_top1": 41.0, "best_epoch": 90}), recs)
    write_record(record(dataset="ntu60-xsub", synthetic=False, metrics={"top1": 67.1, "top5": 90.0}), recs)
    write_record(record(variant={"temperature": 0.2, "shared_head": False}, metrics={"top1": 50.0, "top5": 80.0}), recs)
    text = build(recs, tmp_path / "lb").read_text()
    syn = text.split("## Real benchmarks")[0]
    assert "| skeletonclr (random init) | synthetic-xsub |" in syn and "| 61.5 | 21.5 |" in syn  # top1, gain
    assert "ntu60" not in syn  # a real-data record never lands in the synthetic table
    assert "| skeletonclr [shared_head=False, temperature=0.2] | synthetic-xsub |" in syn  # a variant: its own row
    assert "| 50.0 | 10.0 |" in syn  # … with its gain over the method's random init
    real = text.split("## Real benchmarks")[1]
    assert "| SkeletonCLR | SkeletonCLR | linear | NTU60 | xsub | J | 50 | 68.3 | 67.1 | readme: README LinguoLi/CrosSCLR@792b70c |" in real
    assert (tmp_path / "lb" / "synthetic_linear.png").is_file()


def test_leaderboard_keeps_one_row_per_pretraining_seed(tmp_path):
    recs = tmp_path / "records"
    write_record(record(pretrain_seed=0, metrics={"top1": 61.5, "top5": 90.0}), recs)
    write_record(record(pretrain_seed=1, metrics={"top1": 55.0, "top5": 90.0}), recs)
    write_record(record(pretrain_seed=1, metrics={"top1": 56.0, "top5": 90.0}, created="2026-11-25T11:00:00Z"), recs)
    syn = build(recs, tmp_path / "lb").read_text().split("## Real benchmarks")[0]
    assert "| quick | training | 36 | 0 | 50 | 61.5 |" in syn and "| quick | training | 36 | 1 | 50 | 56.0 |" in syn
    assert "55.0" not in syn


def test_record_on_other_data_never_replaces_a_row(tmp_path):
    recs = tmp_path / "records"
    write_record(record(data={"fingerprint": "a" * 64}, metrics={"top1": 61.5, "top5": 90.0}), recs)
    # newer, same method/checkpoint/seed, but on other files (say NaN-corrupted or regenerated data)
    write_record(record(data={"fingerprint": "b" * 64}, metrics={"top1": 5.5, "top5": 20.0},
                        created="2026-11-25T11:00:00Z"), recs)
    df = records_frame(read_records(recs))
    assert sorted(zip(df.data, df.top1)) == [("aaaaaaaa", 61.5), ("bbbbbbbb", 5.5)]
    syn = build(recs, tmp_path / "lb").read_text().split("## Real benchmarks")[0]
    assert "| synthetic-xsub | aaaaaaaa | joint |" in syn and "| synthetic-xsub | bbbbbbbb | joint |" in syn


def test_plot_has_one_bar_per_row(tmp_path):
    recs = tmp_path / "records"
    write_record(record(pretrain_seed=0), recs)
    write_record(record(pretrain_seed=1), recs)
    write_record(record(pretrain_seed=0, stream="motion"), recs)
    write_record(record(pretrain_seed=1, bn_statistics="precise"), recs)  # the same weights, BN re-estimated
    write_record(record(stream="motion", checkpoint={"source": "random", "path": None, "sha256": "y"}), recs)
    labels = bar_labels(synthetic_table(records_frame(read_records(recs))))
    assert sorted(labels) == ["skeletonclr (random init) · motion", "skeletonclr · joint (zoo, seed 0)",
                              "skeletonclr · joint (zoo, seed 1)", "skeletonclr · joint (zoo, seed 1, precise BN)",
                              "skeletonclr · motion (zoo, seed 0)"]


def test_seed_summary_by_hand(tmp_path):
    recs = tmp_path / "records"
    random = {"source": "random", "path": None, "sha256": "y"}
    write_record(record(checkpoint=random, preset=None, epochs=0, metrics={"top1": 60.0, "top5": 90.0}), recs)
    for seed, top1 in ((0, 70.0), (1, 58.0), (2, 64.0)):
        write_record(record(pretrain_seed=seed, metrics={"top1": top1, "top5": 90.0}), recs)
    # the same seeds with precise BN are another recipe; a lone seed makes no spread
    write_record(record(pretrain_seed=0, bn_statistics="precise", metrics={"top1": 75.0, "top5": 90.0}), recs)
    summary = seed_summary(synthetic_table(records_frame(read_records(recs))))
    assert len(summary) == 1
    row = summary.iloc[0]
    assert (row.bn, row.seeds, row.n, row.mean_top1, row["min"], row["max"]) == ("training", "0,1,2", 3, 64.0, 58.0, 70.0)
    assert row.sd == pytest.approx(6.0)  # sqrt(((6² + 6² + 0²) / 2))
    assert (row.random_init, row.above_random_init) == (60.0, "2/3")
    text = build(recs, tmp_path / "lb").read_text()
    assert "| skeletonclr | synthetic-xsub | – | joint | linear |  | quick | training | 36 | 0,1,2 | 3 | 64.0 | 6.0 |" in text
    assert "| quick | precise | 36 | 0 | 50 | 75.0 | 15.0 |" in text  # its own row, gain over the same random init


def test_one_table_per_protocol_with_the_supervised_reference(tmp_path):
    recs = tmp_path / "records"
    write_record(record(), recs)
    write_record(record(protocol="knn", metrics={"top1": 50.0, "top5": 70.0, "knn_top1": {"20": 52.5}},
                        protocol_config={"features": "backbone"}), recs)
    for fraction, top1 in ((0.01, 20.0), (0.1, 40.0)):
        write_record(record(protocol="semi", metrics={"top1": top1, "top5": 60.0},
                            protocol_config={"fraction": fraction}), recs)
    write_record(record(protocol="finetune", checkpoint={"source": "random", "path": None, "sha256": "z"},
                        metrics={"top1": 90.0, "top5": 99.0}), recs)
    syn = build(recs, tmp_path / "lb").read_text().split("## Real benchmarks")[0]
    sections = {s.split("\n", 1)[0]: s for s in syn.split("\n### ")[1:]}
    assert {"linear", "knn", "semi", "finetune"} <= set(sections)
    for protocol in ("linear", "knn", "semi"):  # every table carries the supervised upper reference
        assert "| skeletonclr (supervised, from scratch) |" in sections[protocol]
    assert "| knn | backbone |" in sections["knn"] and "| 52.5 |" in sections["knn"]
    assert "| semi | 1% |" in sections["semi"] and "| semi | 10% |" in sections["semi"]  # two settings, two rows
