"""``python -m datasets.prepare`` end to end on small raw NTU and PKU-MMD trees built here."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from datasets import prepare as prep
from datasets.ntu import format_skeleton, read_ntu_sample
from datasets.prepare import PrepareError, PrepareWarning, benchmark_ids, main, prepare
from datasets.preprocess import preprocess_sample
from datasets.store import is_complete, load_split, read_manifest, sha256_file

# NTU-60 samples from the official list: xsub train P001/P002, test P003; xview test C001
SOLO = ["S001C001P001R001A001", "S001C002P003R001A002", "S002C003P008R001A010"]
PAIR = "S001C003P001R002A050"  # a two-person action
HOLE = "S002C001P003R001A059"  # has a frame without bodies
MISSING_SKELETON = "S001C002P005R002A008"  # on the official missing list: skipped
NTU120_ONLY = "S018C001P045R001A061"


def standing(t: int, rng: np.random.Generator, dx: float = 0.0) -> np.ndarray:
    base = np.stack([rng.uniform(-0.2, 0.2, 25) + dx, np.linspace(-0.8, 0.7, 25), rng.uniform(2.9, 3.1, 25)], axis=1)
    return base[None] + 0.1 * np.sin(np.linspace(0, 5, t))[:, None, None] * rng.normal(size=(1, 25, 3))


def write_ntu_tree(root: Path, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Small raw download: three one-person files, a two-person file with a noise body, a file
    with a zero-body frame, a missing-skeleton sample and an NTU-120 file."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    frames: dict[str, list[np.ndarray]] = {}
    for k, name in enumerate(SOLO + [MISSING_SKELETON, NTU120_ONLY]):
        p = standing(60 + 20 * k, rng)
        frames[name] = [p[t][None] for t in range(len(p))]
    a, b = standing(100, rng, -0.5), standing(100, rng, 0.5)
    noise = standing(6, rng, 1.5)  # a 6-frame "body": pyskl drops it, ST-GCN keeps it where listed
    pair = [np.stack([a[t], b[t]]) for t in range(100)]
    for t in range(6):
        pair[40 + t] = np.stack([noise[t], a[40 + t], b[40 + t]])
    frames[PAIR] = pair
    p = standing(80, rng)
    hole = [p[t][None] for t in range(80)]
    hole[30] = np.zeros((0, 25, 3))
    frames[HOLE] = hole
    ids = {}
    for name, fr in frames.items():
        if name == PAIR:
            ids[name] = [[3, 1, 2] if len(f) == 3 else [1, 2] for f in fr]
        else:
            ids[name] = [[7] * len(f) for f in fr]
        (root / f"{name}.skeleton").write_text(format_skeleton(fr, ids[name]))
    return frames


def run_quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrepareWarning)
        return prepare(*args, **kwargs)


def test_benchmark_ids() -> None:
    assert benchmark_ids() == [
        "ntu60-xsub",
        "ntu60-xview",
        "ntu120-xsub",
        "ntu120-xset",
        "pku1-xsub",
        "pku1-xview",
        "pku2-xsub",
        "pku2-xview",
    ]


def test_raw_ntu_to_300_frames(tmp_path: Path) -> None:
    frames = write_ntu_tree(tmp_path / "raw")
    with pytest.warns(PrepareWarning, match=r"56,573 of the 56,578 NTU-60 samples are missing .* preparing the 5"):
        outs = prepare("ntu60", "raw", tmp_path / "raw", tmp_path / "out", frames=300, workers=1)
    assert [o.name for o in outs] == ["ntu60-xsub", "ntu60-xview"]
    xsub_train = load_split(outs[0], "train")
    assert xsub_train.names == [f"{n}.skeleton" for n in sorted([SOLO[0], SOLO[2], PAIR])]
    assert xsub_train.labels.tolist() == [0, 49, 9]
    assert xsub_train.data.shape == (3, 3, 300, 25, 2)
    val = load_split(outs[0], "val")
    assert val.names == [f"{SOLO[1]}.skeleton", f"{HOLE}.skeleton"]
    hole = val.data[1]
    assert not hole[:, 30].any() and hole[:, 29].any() and hole[:, 31].any() and not hole[:, 80:].any()
    k = xsub_train.names.index(f"{PAIR}.skeleton")
    pair = xsub_train.data[k]
    np.testing.assert_allclose(
        pair[:, 40, :, 0].T, np.asarray(frames[PAIR][40][0]), atol=1e-6
    )  # ST-GCN: noise listed first
    np.testing.assert_allclose(pair[:, 39, :, 1].T, np.asarray(frames[PAIR][39][1]), atol=1e-6)
    m = read_manifest(outs[0])
    assert m["body_selection"] == "stgcn" and m["frames"] == 300 and m["counts"] == {"train": 3, "val": 2}
    assert m["notes"]["missing_skeleton_files_skipped"] == 1 and m["notes"]["files_outside_dataset_ignored"] == 1
    assert m["split_rule"].startswith("NTU-60 cross-subject: performers 1,2,4,5,8")
    for name, digest in m["sha256"].items():
        assert sha256_file(outs[0] / name) == digest
    xview = load_split(outs[1], "train")
    assert xview.names == [f"{n}.skeleton" for n in sorted([SOLO[1], SOLO[2], PAIR])]
    with open(outs[0] / "train_label.pkl", "rb") as f:  # exactly ST-GCN's pair of lists
        names, labels = pickle.load(f)
    assert isinstance(names, list) and isinstance(labels, list) and labels == [0, 49, 9]


def test_round_trip_raw_to_300_to_50_equals_raw_to_50(tmp_path: Path) -> None:
    write_ntu_tree(tmp_path / "raw")
    run_quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "o300", frames=300, workers=2)
    direct = run_quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "o50", frames=50, workers=1)
    via = run_quiet("ntu60", "stgcn", tmp_path / "o300", tmp_path / "via", frames=50, workers=2)
    for a, b in zip(direct, via, strict=True):
        for part in ("train", "val"):
            x, y = load_split(a, part), load_split(b, part)
            assert x.names == y.names
            np.testing.assert_array_equal(x.data, y.data)
    one = load_split(direct[0], "train")
    raw = read_ntu_sample(tmp_path / "raw" / one.names[0])
    np.testing.assert_array_equal(one.data[0], preprocess_sample(raw, 50))


def test_pyskl_body_selection_is_recorded(tmp_path: Path) -> None:
    frames = write_ntu_tree(tmp_path / "raw")
    outs = run_quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", frames=300, bodies="pyskl", workers=1)
    m = read_manifest(outs[0])
    assert m["body_selection"] == "pyskl"
    tr = load_split(outs[0], "train")
    pair = tr.data[tr.names.index(f"{PAIR}.skeleton")]
    a = np.asarray([f[-2] for f in frames[PAIR]])  # the noise body is gone: slots hold a and b
    b = np.asarray([f[-1] for f in frames[PAIR]])
    slots = {0: pair[:, :100, :, 0].transpose(1, 2, 0), 1: pair[:, :100, :, 1].transpose(1, 2, 0)}
    assert any(np.allclose(slots[s], a, atol=1e-6) and np.allclose(slots[1 - s], b, atol=1e-6) for s in (0, 1))
    hole = load_split(outs[0], "val").data[1]
    assert np.abs(hole[:, :79]).sum(axis=(0, 2, 3)).all() and not hole[:, 79:].any()  # the empty frame is dropped


def test_bad_file_stops_cleanly_or_is_skipped(tmp_path: Path) -> None:
    write_ntu_tree(tmp_path / "raw")
    bad = tmp_path / "raw" / f"{SOLO[1]}.skeleton"
    lines = bad.read_text().split("\n")
    lines[12] = "0.1 0.2"
    bad.write_text("\n".join(lines))
    with pytest.raises(PrepareError, match=rf"{SOLO[1]}\.skeleton:13: expected joint 9 of body 1"):
        run_quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", workers=1)
    assert not (tmp_path / "out" / "ntu60-xsub").exists()
    assert not list((tmp_path / "out").glob(".*partial*"))
    outs = run_quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", workers=2, skip_bad=True)
    m = read_manifest(outs[1])
    assert len(m["bad_files"]) == 1 and f"{SOLO[1]}.skeleton:13:" in m["bad_files"][0]
    xview = load_split(outs[1], "train")
    assert f"{SOLO[1]}.skeleton" not in xview.names and xview.data.shape[0] == 2 and m["counts"]["train"] == 2
    good = load_split(
        run_quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "ref", workers=1, skip_bad=True)[1], "train"
    )
    np.testing.assert_array_equal(xview.data, good.data)


def test_interrupted_run_leaves_no_complete_looking_folder(tmp_path: Path, monkeypatch) -> None:
    write_ntu_tree(tmp_path / "raw")
    first = run_quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", frames=300, workers=1)
    before = read_manifest(first[0])["sha256"]

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(prep, "run_job", boom)
    with pytest.raises(KeyboardInterrupt):
        run_quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", frames=50, workers=1)
    assert read_manifest(first[0])["sha256"] == before and read_manifest(first[0])["frames"] == 300
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ntu60-xsub", "ntu60-xview"]
    assert all(is_complete(p) for p in first)


def test_frames_over_300_do_not_fit_the_raw_layout(tmp_path: Path) -> None:
    (tmp_path / "raw").mkdir()
    p = standing(310, np.random.default_rng(1))
    (tmp_path / "raw" / f"{SOLO[0]}.skeleton").write_text(format_skeleton([f[None] for f in p]))
    with pytest.raises(PrepareError, match="has 310 frames, more than the 300"):
        run_quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", frames=300, workers=1)
    (out, _) = run_quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", frames=64, workers=1)
    assert load_split(out, "train").data.shape == (1, 3, 64, 25, 2)


# --------------------------------------------------------------------------- PKU-MMD


def write_pku_tree(root: Path, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Part I layout: two videos with labels and both split files."""
    (root / "PKU_Skeleton_Renew").mkdir(parents=True)
    (root / "Train_Label_PKU_final").mkdir()
    videos = {}
    for video, n in (("0002-L", 420), ("0003-M", 200)):
        v = rng.normal(size=(n, 150)).round(6)
        v[:, 75:][np.arange(n) % 3 == 0] = 0  # person 2 absent in every third frame
        videos[video] = v
        text = "\n".join(("" if i == 0 else " ") + " ".join(repr(float(x)) for x in row) for i, row in enumerate(v))
        (root / "PKU_Skeleton_Renew" / f"{video}.txt").write_text(text + "\n")
    (root / "Train_Label_PKU_final" / "0002-L.txt").write_text("3,10,59,1\n12,61,400,2\n")  # second clip: 340 frames
    (root / "Train_Label_PKU_final" / "0003-M.txt").write_text("51,1,120,1\n")
    (root / "cross-subject.txt").write_text("Training videos:\n0002-L, 0002-M,\nValidataion videos:\n0003-M, 0004-L\n")
    (root / "cross-view.txt").write_text("Training videos:\n0003-M, 0002-M\nValidataion videos:\n0002-L\n")
    return videos


def test_raw_pku_clips_as_aimclr_cuts_them(tmp_path: Path) -> None:
    videos = write_pku_tree(tmp_path / "pku", np.random.default_rng(2))
    with pytest.warns(PrepareWarning, match=r"2 of the 4 PKU-MMD I videos in the split files are missing"):
        outs = prepare("pku1", "raw", tmp_path / "pku", tmp_path / "out", frames=300, workers=1)
    assert [o.name for o in outs] == ["pku1-xsub", "pku1-xview"]
    tr = load_split(outs[0], "train")
    assert tr.names == ["F002V001C003L001.skeleton", "F002V001C012L002.skeleton"]
    assert tr.labels.tolist() == [2, 11]
    first = videos["0002-L"][9:59].reshape(50, 2, 25, 3).transpose(3, 0, 2, 1).astype(np.float32)
    first[..., 1][:, (np.arange(9, 59) % 3 == 0)] = 0
    np.testing.assert_array_equal(tr.data[0, :, :50], first)
    assert not tr.data[0, :, 50:].any()
    long = videos["0002-L"][60:400]  # 340 frames → centre 300: [20, 320)
    np.testing.assert_array_equal(tr.data[1, 0, :, 0, 0], long[20:320, 0].astype(np.float32))
    val = load_split(outs[0], "val")
    assert val.names == ["F003V002C051L001.skeleton"] and val.labels.tolist() == [50]
    xview = load_split(outs[1], "train")
    assert xview.names == ["F003V002C051L001.skeleton"]
    m = read_manifest(outs[0])
    assert m["body_selection"] == "pku" and m["split_rule"].startswith("PKU-MMD I cross-subject")
    assert m["missing_samples"]["count_videos"] == 2
    outs50 = run_quiet("pku1", "raw", tmp_path / "pku", tmp_path / "o50", frames=50, workers=2)
    np.testing.assert_array_equal(load_split(outs50[0], "train").data[1], preprocess_sample(tr.data[1], 50))


def test_raw_pku_errors_name_file_and_line(tmp_path: Path) -> None:
    write_pku_tree(tmp_path / "pku", np.random.default_rng(3))
    label = tmp_path / "pku" / "Train_Label_PKU_final" / "0003-M.txt"
    label.write_text("51,1,120,1\n51,x,3,1\n")
    with pytest.raises(PrepareError, match=r"0003-M\.txt:2: expected numbers"):
        run_quiet("pku1", "raw", tmp_path / "pku", tmp_path / "out", workers=1)
    label.write_text("51,1,999,1\n")
    with pytest.raises(
        PrepareError, match=r"0003-M\.txt:1: the action ends at frame 999 but the skeleton file has 200"
    ):
        run_quiet("pku1", "raw", tmp_path / "pku", tmp_path / "out", workers=1)
    label.write_text("51,1,120,1\n")
    skel = tmp_path / "pku" / "PKU_Skeleton_Renew" / "0002-L.txt"
    lines = skel.read_text().split("\n")
    lines[6] = lines[6].rsplit(" ", 1)[0]
    skel.write_text("\n".join(lines))
    with pytest.raises(PrepareError, match=r"0002-L\.txt:7: expected 150 values"):
        run_quiet("pku1", "raw", tmp_path / "pku", tmp_path / "out", workers=1)
    outs = run_quiet("pku1", "raw", tmp_path / "pku", tmp_path / "out", workers=1, skip_bad=True)
    assert load_split(outs[0], "train").data.shape[0] == 0
    assert "0002-L.txt:7" in read_manifest(outs[0])["bad_files"][0]


# --------------------------------------------------------------------------- the command line


def test_cli_help_explains_every_option(capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--format",
        "--input",
        "--out",
        "--frames",
        "--bodies",
        "--skip-bad",
        "--workers",
        "raw",
        "stgcn",
        "crossclr",
        "pyskl",
        "ctrgcn",
        "ntu120-xset",
        "zero-padded",
    ):
        assert option in text


def test_cli_runs_and_reports(tmp_path: Path, capsys) -> None:
    write_ntu_tree(tmp_path / "raw")
    rc = main(
        [
            "ntu60",
            "--format",
            "raw",
            "--input",
            str(tmp_path / "raw"),
            "--out",
            str(tmp_path / "out"),
            "--frames",
            "64",
            "--workers",
            "1",
        ]
    )
    out, err = capsys.readouterr()
    assert rc == 0
    assert "ntu60-xsub: train 3 / val 2 samples, 64 frames, bodies stgcn" in out
    assert err.startswith("warning: 56,573 of the 56,578 NTU-60 samples are missing")
    assert json.loads((tmp_path / "out" / "ntu60-xview" / "manifest.json").read_text())["frames"] == 64


def test_cli_errors_are_one_line(tmp_path: Path, capsys) -> None:
    rc = main(["ntu120", "--format", "raw", "--input", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("error: input") and "does not exist" in err
    (tmp_path / "empty").mkdir()
    assert main(["ntu120", "--format", "raw", "--input", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no NTU-120 .skeleton files" in capsys.readouterr().err
    assert (
        main(["ntu60", "--format", "pyskl", "--bodies", "stgcn", "--input", str(tmp_path), "--out", str(tmp_path)]) == 2
    )
    assert "--bodies applies to raw files" in capsys.readouterr().err
