"""The real-benchmark tables: records placed beside the claims they reproduce, checked against
each claim's tolerance; every other recipe of the same method a row of its own, never averaged in."""

from __future__ import annotations

import pytest

from leaderboard.frame import records_frame
from leaderboard.reported import read_reported
from leaderboard.tables import cell_text, check, checks, real_tables
from results import read_records, write_record

OFFICIAL_FILE = {"source": "checkpoint", "path": "/x/aimclr.pt", "sha256": "a", "layout": "moco-pretrain"}
NTU = {"fingerprint": "d" * 64, "format": "raw"}


def record(**over):
    r = {"method": "aimclr", "dataset": "ntu60-xsub", "split": "xsub", "stream": "joint", "protocol": "linear",
         "preset": None, "epochs": None, "seed": 0, "frames": 50, "synthetic": False, "data": NTU,
         "metrics": {"top1": 73.9, "top5": 95.0, "best_top1": 74.0, "best_epoch": 90},
         "preprocessing": "official", "commit": "abc", "wall_s": 600.0, "device": "cpu", "checkpoint": OFFICIAL_FILE,
         "bn_statistics": "training", "created": "2026-12-01T10:00:00Z", "command": "python -m protocols.linear x"}
    r.update(over)
    return r


def rows_of(reported, recs, title="Linear evaluation"):
    table = next(t for t in real_tables(reported, records_frame(read_records(recs))) if t.title == title)
    return {" · ".join(r.labels): {c: cell_text(x) for c, x in r.cells.items()} for r in table.rows}


@pytest.fixture(scope="module")
def reported():
    return read_reported()


def test_check_is_inclusive_and_unchecked_without_tolerance():
    assert check(74.34, 75.34, 1.0) == (pytest.approx(1.0), "pass")
    assert check(74.34, 75.35, 1.0)[1] == "fail" and check(74.34, 60.0, None)[1] == "unchecked"


def test_released_file_runs_reproduce_the_released_claim(reported, tmp_path):
    recs = tmp_path / "records"
    write_record(record(), recs)
    write_record(record(seed=1, metrics={"top1": 74.1, "top5": 95.0, "best_top1": 74.6, "best_epoch": 95}), recs)
    chk = checks(reported, records_frame(read_records(recs)))
    [row] = chk.itertuples()
    # best_top1 (the official show_best) over the two probe seeds: mean 74.3, sd 0.42; Δ −0.04 within ±1.0
    assert (row.variant, row.stream, row.benchmark, row.metric, row.n) == ("AimCLR (released model)", "J", "NTU60",
                                                                          "best_top1", 2)
    assert row.reproduced == pytest.approx(74.3) and row.sd == pytest.approx(0.4243, abs=1e-4)
    assert row.delta == pytest.approx(-0.04) and row.passed and row.tolerance == 1.0
    rows = rows_of(reported, recs)
    assert rows["AimCLR · AimCLR (released model) · J · ST-GCN · ST-GCN(h16) · 50"]["ntu60-xsub"] == \
        "74.34 / 74.30 ± 0.42 (n=2) Δ −0.04 ✓"
    assert rows["AimCLR · AimCLR (paper) · J · ST-GCN · ST-GCN(h16) · 50"]["ntu60-xsub"] == "74.3* / –"  # not its evidence
    assert not chk.passed.eq(False).any()


def test_variants_are_rows_of_their_own_never_checked(reported, tmp_path):
    recs = tmp_path / "records"
    write_record(record(), recs)
    write_record(record(bn_statistics="precise", metrics={"top1": 70.0, "top5": 95.0, "best_top1": 71.0}), recs)
    write_record(record(variant={"normalise_blur": True}, checkpoint={**OFFICIAL_FILE, "sha256": "b"},
                        metrics={"top1": 60.0, "top5": 95.0, "best_top1": 61.0}), recs)
    rows = rows_of(reported, recs)
    assert rows["AimCLR · AimCLR (released model) · J · ST-GCN · ST-GCN(h16) · 50"]["ntu60-xsub"] == \
        "74.34 / 74.00 (n=1) Δ −0.34 ✓"
    assert rows["↳ AimCLR · AimCLR (released model): precise BN · J · ST-GCN · ST-GCN(h16) · 50"]["ntu60-xsub"] == "71.00 (n=1) Δ −3.34 ·"
    assert rows["↳ AimCLR · AimCLR (released model): [normalise_blur=True] · J · ST-GCN · ST-GCN(h16) · 50"]["ntu60-xsub"] == \
        "61.00 (n=1) Δ −13.34 ·"
    assert len(checks(reported, records_frame(read_records(recs)))) == 1  # only the official recipe is tested


def test_a_failing_claim_is_marked(reported, tmp_path):
    recs = tmp_path / "records"
    write_record(record(metrics={"top1": 70.0, "top5": 95.0, "best_top1": 72.0}), recs)
    chk = checks(reported, records_frame(read_records(recs)))
    assert not chk.passed.iloc[0] and chk.delta.iloc[0] == pytest.approx(-2.34)
    assert rows_of(reported, recs)["AimCLR · AimCLR (released model) · J · ST-GCN · ST-GCN(h16) · 50"]["ntu60-xsub"].endswith("✗")


def test_paper_preset_runs_go_to_the_paper_claim(reported, tmp_path):
    recs = tmp_path / "records"
    write_record(record(preset="paper", epochs=300, pretrain_seed=0,
                        checkpoint={"source": "checkpoint", "path": "r/encoder.pt", "sha256": "p", "layout": "skelebench"},
                        metrics={"top1": 73.0, "top5": 95.0, "best_top1": 73.5}), recs)
    chk = checks(reported, records_frame(read_records(recs)))
    assert chk.variant.tolist() == ["AimCLR (paper)"] and chk.tolerance.tolist() == [2.0] and chk.passed.all()


def test_fusions_of_best_logits_reproduce_the_3s_claim(reported, tmp_path):
    recs = tmp_path / "records"
    for logits, top1 in (("best", 79.0), ("final", 78.0)):
        write_record(record(protocol="ensemble", stream="joint+motion+bone", metrics={"top1": top1, "top5": 96.0},
                            protocol_config={"fused_protocol": "linear", "logits": logits}), recs)
    rows = rows_of(reported, recs)
    assert rows["AimCLR · 3s-AimCLR (released models) · J+M+B · ST-GCN · ST-GCN(h16) · 50"]["ntu60-xsub"] == \
        "79.18 / 79.00 (n=1) Δ −0.18 ✓"
    assert rows["↳ AimCLR · 3s-AimCLR (released models): final logits · J+M+B · ST-GCN · ST-GCN(h16) · 50"]["ntu60-xsub"] == "78.00 (n=1) Δ −1.18 ·"


def test_two_preparations_of_one_benchmark_never_mix(reported, tmp_path):
    recs = tmp_path / "records"
    write_record(record(), recs)
    write_record(record(data={"fingerprint": "e" * 64}, checkpoint={**OFFICIAL_FILE, "sha256": "c"},
                        metrics={"top1": 50.0, "top5": 90.0, "best_top1": 52.0}), recs)
    rows = rows_of(reported, recs)
    cells = {k: v["ntu60-xsub"] for k, v in rows.items() if "released model" in k and "(n=1)" in v.get("ntu60-xsub", "")}
    assert "↳ AimCLR · AimCLR (released model): data eeeeeeee · J · ST-GCN · ST-GCN(h16) · 50" in cells
    assert sorted(cells.values()) == ["52.00 (n=1) Δ −22.34 ✗", "74.34 / 74.00 (n=1) Δ −0.34 ✓"]
    assert len(checks(reported, records_frame(read_records(recs)))) == 2  # both are checked, separately


def test_flags_of_the_reported_numbers(reported, tmp_path):
    rows = rows_of(reported, tmp_path)  # no records at all
    assert rows["ISC · ISC · J · – · – · –"]["ntu60-xview"] == "85.2‡"  # the authors' README; a later paper disagrees
    assert rows["HiCLR · 3s-HiCLR (paper) · J+M+B · – · – · –"]["ntu60-xsub"] == "80.4*"  # only a later paper's table
    assert rows["AimCLR · 3s-AimCLR (paper) · J+M+B · ST-GCN · ST-GCN(h16) · 50"]["pku1-xsub"] == "87.8‡* / –"
    assert rows["SkeleMixCLR · SkeleMixCLR+ · J · ST-GCN · ST-GCN(h16) · 64"]["ntu60-xsub"] == "80.7 / –"


def test_a_run_on_another_encoder_never_reproduces_a_claim(reported, tmp_path):
    """AimCLR's paper ran ST-GCN: a paper-preset AimCLR run on the transformer is another network,
    so it neither fills nor sits under the claim, is never checked, and is a row of its own named
    by its encoder; the same run on ST-GCN (a record without the field) still is the reproduction."""
    recs = tmp_path / "records"
    paper = dict(preset="paper", epochs=300, pretrain_seed=0,
                 checkpoint={"source": "checkpoint", "path": "r/encoder.pt", "sha256": "p", "layout": "skelebench"})
    write_record(record(**paper, encoder="transformer", metrics={"top1": 73.0, "top5": 95.0, "best_top1": 73.5}), recs)
    assert checks(reported, records_frame(read_records(recs))).empty
    rows = rows_of(reported, recs)
    assert rows["AimCLR · AimCLR (paper) · J · ST-GCN · ST-GCN(h16) · 50"]["ntu60-xsub"] == "74.3* / –"
    assert rows["AimCLR · paper preset, 300 ep · J · Transformer · Transformer · 50"] == {"ntu60-xsub": "73.00 (n=1)"}
    assert not any(k.startswith("↳") for k in rows)
    write_record(record(**{**paper, "checkpoint": {**paper["checkpoint"], "sha256": "s"}},
                        metrics={"top1": 72.0, "top5": 95.0, "best_top1": 72.5}), recs)
    chk = checks(reported, records_frame(read_records(recs)))
    assert chk.variant.tolist() == ["AimCLR (paper)"] and chk.reproduced.tolist() == [72.5]


def test_the_suites_own_rows_keep_each_preparation_and_each_data_apart(reported, tmp_path):
    """NW-UCLA prepared twice (``--normalise frame`` and ``clip``): a row each; and a run on other
    bytes of the same preparation (another CPU's arrays, its records naming ``frame``) a row of its
    own named by its data, where it used to be hidden behind the most-run recipe's cell."""
    recs = tmp_path / "records"
    ucla = {"dataset": "nwucla-xview", "split": "xview", "method": "skeletonclr", "preset": "cpu", "epochs": 50,
            "checkpoint": {"source": "pretrained", "path": None, "sha256": "p"}}
    for seed, top1 in ((0, 70.0), (1, 72.0)):
        write_record(record(**ucla, pretrain_seed=seed, metrics={"top1": top1, "top5": 95.0}), recs)
    write_record(record(**ucla, pretrain_seed=0, data={"fingerprint": "c" * 64, "normalisation": "clip"},
                        metrics={"top1": 41.0, "top5": 80.0}, created="2026-12-02T10:00:00Z"), recs)
    write_record(record(**ucla, pretrain_seed=0, data={"fingerprint": "f" * 64, "normalisation": "frame"},
                        metrics={"top1": 10.0, "top5": 50.0}, created="2026-12-03T10:00:00Z"), recs)  # other bytes
    rows = {k: v["nwucla-xview"] for k, v in rows_of(reported, recs).items() if "nwucla-xview" in v}
    assert rows == {"SkeletonCLR · cpu preset, 50 ep, data dddddddd · J · ST-GCN · ST-GCN(h16) · 50": "71.00 ± 1.41 (n=2)",
                    "SkeletonCLR · cpu preset, 50 ep, data ffffffff · J · ST-GCN · ST-GCN(h16) · 50": "10.00 (n=1)",
                    "SkeletonCLR · cpu preset, 50 ep, clip-normalised data · J · ST-GCN · ST-GCN(h16) · 50": "41.00 (n=1)"}
