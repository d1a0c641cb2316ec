"""Official split rules, applied to the full shipped sample lists (data.md §1, §6)."""

from __future__ import annotations

import numpy as np
import pytest

from datasets.splits import (
    NTU60_XSUB_TRAIN_SUBJECTS,
    NTU120_XSUB_TRAIN_SUBJECTS,
    available_samples,
    expected_split_sizes,
    missing_skeletons,
    ntu_in_dataset,
    ntu_is_train,
    parse_ntu_name,
    read_pku_split,
    read_sample_list,
    split_ntu,
)

OFFICIAL_SIZES = {
    ("ntu60", "xsub"): (40_091, 16_487),
    ("ntu60", "xview"): (37_646, 18_932),
    ("ntu120", "xsub"): (63_026, 50_919),
    ("ntu120", "xset"): (54_468, 59_477),
}


@pytest.mark.parametrize(("dataset", "split"), list(OFFICIAL_SIZES))
def test_full_split_sizes_match_the_official_counts(dataset: str, split: str) -> None:
    assert expected_split_sizes(dataset, split) == OFFICIAL_SIZES[(dataset, split)]


def test_sample_lists_are_complete_and_consistent() -> None:
    ntu60, ntu120 = available_samples("ntu60"), available_samples("ntu120")
    assert len(ntu60) == 56_578 and len(ntu120) == 113_945
    assert len(missing_skeletons("ntu60")) == 302 and len(missing_skeletons("ntu120")) == 535
    assert missing_skeletons("ntu60") <= missing_skeletons("ntu120")
    assert set(ntu60) == {s for s in ntu120 if ntu_in_dataset(s, "ntu60")}
    assert len(ntu60) + 302 == 56_880 and len(ntu120) + 535 == 114_480
    assert not set(ntu120) & missing_skeletons("ntu120")


def test_subject_lists() -> None:
    assert len(NTU60_XSUB_TRAIN_SUBJECTS) == 20 and len(NTU120_XSUB_TRAIN_SUBJECTS) == 53
    assert NTU60_XSUB_TRAIN_SUBJECTS < NTU120_XSUB_TRAIN_SUBJECTS


def test_rules_on_single_names() -> None:
    assert ntu_is_train("S001C002P001R001A001.skeleton", "ntu60", "xsub")
    assert not ntu_is_train("S001C002P003R001A001", "ntu60", "xsub")
    assert ntu_is_train("S001C002P003R001A001", "ntu60", "xview")
    assert not ntu_is_train("S001C001P001R001A001", "ntu60", "xview")
    assert ntu_is_train("S018C001P045R001A061", "ntu120", "xsub")  # 45 is an NTU-120 training subject
    assert not ntu_is_train("S018C001P045R001A061", "ntu60", "xsub")
    assert ntu_is_train("S002C001P001R001A001", "ntu120", "xset") and not ntu_is_train(
        "S001C001P001R001A001", "ntu120", "xset"
    )
    n = parse_ntu_name("/data/S017C003P020R002A060.skeleton")
    assert (n.setup, n.camera, n.performer, n.replication, n.action, n.label) == (17, 3, 20, 2, 60, 59)
    with pytest.raises(ValueError, match="not an NTU sample name"):
        parse_ntu_name("S01C001P001R001A001")
    with pytest.raises(ValueError, match="no NTU split rule"):
        ntu_is_train("S001C001P001R001A001", "ntu120", "xview")
    train, val = split_ntu(["S001C001P001R001A001", "S001C002P001R001A001"], "ntu60", "xview")
    assert (train, val) == (["S001C002P001R001A001"], ["S001C001P001R001A001"])


def test_missing_list_with_and_without_the_official_header(tmp_path) -> None:
    names = ["S001C002P005R002A008", "S001C002P006R001A008", "S017C003P020R002A060"]
    official = tmp_path / "NTU_RGBD_samples_with_missing_skeletons.txt"
    official.write_text(
        "The following 302 samples have missing or incomplete skeletons.\r\n"
        "Please ignore them in your experiments.\r\n\r\n" + "\r\n".join(names)
    )
    bare = tmp_path / "bare.txt"
    bare.write_text("\n".join(n + ".skeleton" for n in names) + "\n\n")
    assert read_sample_list(official) == names
    assert read_sample_list(bare) == names
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_sample_list(tmp_path / "nope.txt")


def test_pku_split_file(tmp_path) -> None:
    f = tmp_path / "cross-subject.txt"
    f.write_text("Training videos: \n0002-L, 0002-M, 0003-R,\nValidataion videos: \n0004-L , 0004-M\n")
    assert read_pku_split(f) == (["0002-L", "0002-M", "0003-R"], ["0004-L", "0004-M"])
    f.write_text("Training videos:\nA01N01-L, A01N02-M\nValidation videos:\nA01N01-L\n")
    with pytest.raises(ValueError, match="both training and test"):
        read_pku_split(f)
    f.write_text("Training videos:\n0002-L, banana\nValidation videos:\n0004-L\n")
    with pytest.raises(ValueError, match=r"cross-subject.txt:2: 'banana'"):
        read_pku_split(f)
    f.write_text("Training videos:\n0002-L\n")
    with pytest.raises(ValueError, match="needs 4 lines"):
        read_pku_split(f)


def test_the_knn_monitor_holds_out_every_fifth_training_performer_and_never_a_test_sample():
    from datasets.splits import monitor_holdout
    names = [f"S001C001P{p:03d}R001A{a:03d}.skeleton" for p in (1, 2, 4, 5, 8, 9, 13, 14, 15, 16) for a in (1, 2)]
    held = monitor_holdout(names)
    assert sorted({n[9:12] for n, h in zip(names, held) if h}) == ["008", "016"]  # 5th and 10th of the sorted ids
    two = monitor_holdout(["S001C001P001R001A001", "S001C001P002R001A001", "S001C001P002R001A002"])
    assert two.tolist() == [False, True, True]  # fewer than five performers: the last one
    videos = [f"0{i:03d}-L" for i in range(12)]  # PKU-MMD style: every 5th sample
    assert np.flatnonzero(monitor_holdout(videos)).tolist() == [4, 9]


def test_the_knn_monitor_holds_out_nwucla_subjects_not_every_fifth_clip():
    from datasets.splits import monitor_holdout
    names = [f"a{a:02d}_s{s:02d}_e00_v0{v}" for s in range(1, 11) for a in (1, 2) for v in (1, 2)]
    held = monitor_holdout(names)
    assert sorted({n[5:7] for n, h in zip(names, held) if h}) == ["05", "10"]  # two of ten subjects: a fifth
    assert held.sum() == 8


def test_the_knn_monitor_holds_out_a_utdmhad_subject():
    from datasets.splits import monitor_holdout, performer
    assert performer("a27_s7_t4_skeleton") == 7
    names = [f"a{a}_s{s}_t{t}_skeleton" for s in (1, 3, 5, 7) for a in (1, 2) for t in (1, 2)]  # the training subjects
    held = monitor_holdout(names)
    assert {performer(n) for n, h in zip(names, held) if h} == {7} and held.sum() == 4  # four subjects: the last
