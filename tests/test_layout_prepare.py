"""``datasets.prepare`` for the skeletons beyond NTU (issue 14): NW-UCLA JSON, pyskl 2D
annotations, Kinetics-skeleton JSON and UTD-MHAD ``.mat``, each on small files written here in
the real format."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from datasets import benchmark_folder, load_benchmark
from datasets.clipset import layout_frames
from datasets.prepare import PrepareError, PrepareWarning, layout_benchmark_ids, main, prepare
from datasets.store import load_split, read_manifest

# --------------------------------------------------------------------------- NW-UCLA

UCLA = {  # name → frames; views 1 and 2 train, view 3 tests; a08 is class 7 (1-based), a12 class 10
    "a01_s01_e00_v01": 30,
    "a08_s02_e01_v02": 41,
    "a12_s03_e02_v01": 25,
    "a05_s04_e00_v02": 12,
    "a01_s01_e00_v03": 28,
    "a12_s09_e03_v03": 33,
}


def ucla_clip(t: int, rng: np.random.Generator) -> np.ndarray:
    """A standing Kinect v1 body in metres, (T, 20, 3), moving a little."""
    base = np.stack([rng.uniform(-0.2, 0.2, 20), np.linspace(-0.8, 0.7, 20), rng.uniform(2.5, 3.0, 20)], axis=1)
    return base[None] + 0.05 * np.sin(np.linspace(0, 4, t))[:, None, None] * rng.normal(size=(1, 20, 3))


def write_ucla(root: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """The CTR-GCN release layout: ``root/all_sqe/<name>.json`` with ``skeletons`` and a 1-based ``label``."""
    rng = np.random.default_rng(seed)
    (root / "all_sqe").mkdir(parents=True)
    clips = {}
    for name, t in UCLA.items():
        clips[name] = ucla_clip(t, rng).round(6)
        label = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12).index(int(name[1:3])) + 1
        obj = {"file_name": name, "skeletons": clips[name].tolist(), "label": label}
        (root / "all_sqe" / f"{name}.json").write_text(json.dumps(obj))
    (root / "all_sqe" / "readme.json").write_text("{}")  # not a clip: ignored
    return clips


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrepareWarning)
        return prepare(*args, **kwargs)


def test_nwucla_cross_view_split_labels_and_layout(tmp_path: Path) -> None:
    clips = write_ucla(tmp_path / "ucla")
    with pytest.warns(PrepareWarning, match=r"1,478 of the 1,484 NW-UCLA clips are missing .*\(e\.g\. a01_s01_e00_v02, a05_s04_e00_v01, a05_s04_e00_v03; "
                      r"found by view: .*v03 2.* preparing the 6"):
        (out,) = prepare("nwucla", None, tmp_path / "ucla", tmp_path / "out", frames=300, workers=1)
    assert out.name == "nwucla-xview"
    train, val = load_split(out, "train"), load_split(out, "val")
    assert train.names == ["a01_s01_e00_v01", "a05_s04_e00_v02", "a08_s02_e01_v02", "a12_s03_e02_v01"]
    assert train.labels.tolist() == [0, 4, 6, 9]  # 0-based; a08 → 6, a12 → 9
    assert val.names == ["a01_s01_e00_v03", "a12_s09_e03_v03"] and val.labels.tolist() == [0, 9]
    assert train.data.shape == (4, 3, 300, 20, 1) and val.data.shape == (2, 3, 300, 20, 1)
    k = train.names.index("a08_s02_e01_v02")
    np.testing.assert_allclose(train.data[k, :, :41, :, 0], clips["a08_s02_e01_v02"].transpose(2, 0, 1), atol=1e-6)
    assert not train.data[k, :, 41:].any()
    m = read_manifest(out)
    assert m["layout"] == "kinect20" and m["num_classes"] == 10 and m["split"] == "xview"
    assert m["split_rule"].startswith("NW-UCLA cross-view") and m["missing_samples"]["count"] == 1478
    # each episode was filmed by the three cameras at once: a view that lacks it names a missing clip
    assert m["missing_samples"]["examples"][:4] == ["a01_s01_e00_v02", "a05_s04_e00_v01", "a05_s04_e00_v03",
                                                    "a08_s02_e01_v01"]
    assert m["notes"]["files_outside_dataset_ignored"] == 1
    # all_sqe/ itself as the input, 50 frames: the official processor on the raw clip
    (o50,) = quiet("nwucla", "nwucla", tmp_path / "ucla" / "all_sqe", tmp_path / "o50", frames=50, workers=2)
    x = load_split(o50, "train")
    assert x.data.shape == (4, 3, 50, 20, 1)
    np.testing.assert_array_equal(x.data[k], layout_frames(train.data[k, :, :41], 50, "kinect20"))
    centre = x.data[k][:, :, 2, 0]  # kinect20's centre, the shoulder centre, is the origin of every frame
    assert np.abs(centre).max() < 1e-6


def test_nwucla_resolves_as_a_dataset_for_every_protocol(tmp_path: Path) -> None:
    write_ucla(tmp_path / "ucla")
    quiet("nwucla", None, tmp_path / "ucla", tmp_path / "root", frames=50, workers=1)
    assert "nwucla-xview" in layout_benchmark_ids()
    folder = benchmark_folder("nwucla-xview", 50, tmp_path / "root")
    train, val, manifest = load_benchmark("nwucla-xview", 50, tmp_path / "root")
    assert folder.name == "nwucla-xview" and train.data.shape[1:] == (3, 50, 20, 1) and len(val) == 2
    assert manifest["layout"] == "kinect20"


def test_nwucla_bad_files_are_named(tmp_path: Path) -> None:
    write_ucla(tmp_path / "ucla")
    clip = tmp_path / "ucla" / "all_sqe" / "a08_s02_e01_v02.json"
    good = clip.read_text()
    clip.write_text(good[: len(good) // 2])  # truncated download
    with pytest.raises(PrepareError, match=r"a08_s02_e01_v02\.json: not valid JSON .*truncated"):
        quiet("nwucla", None, tmp_path / "ucla", tmp_path / "out", workers=1)
    assert not (tmp_path / "out" / "nwucla-xview").exists()  # nothing half-written in place
    obj = json.loads(good)
    obj["skeletons"][3][7][1] = float("nan")
    clip.write_text(json.dumps(obj))  # Python writes NaN, which JSON readers accept
    with pytest.raises(PrepareError, match=r"a08_s02_e01_v02\.json: holds 1 non-finite values"):
        quiet("nwucla", None, tmp_path / "ucla", tmp_path / "out", workers=1)
    obj = json.loads(good)
    obj["label"] = 3
    clip.write_text(json.dumps(obj))
    with pytest.raises(PrepareError, match=r"a08_s02_e01_v02\.json: label 3 disagrees with the file name"):
        quiet("nwucla", None, tmp_path / "ucla", tmp_path / "out", workers=1)
    obj["label"], obj["skeletons"] = 7, [[[0.0, 1.0]] * 20]
    clip.write_text(json.dumps(obj))
    with pytest.raises(PrepareError, match=r"'skeletons' has shape \(1, 20, 2\); expected \(T >= 1, 20, 3\)"):
        quiet("nwucla", None, tmp_path / "ucla", tmp_path / "out", workers=1)
    (out,) = quiet("nwucla", None, tmp_path / "ucla", tmp_path / "out", workers=1, skip_bad=True)
    assert load_split(out, "train").names == ["a01_s01_e00_v01", "a05_s04_e00_v02", "a12_s03_e02_v01"]
    assert "a08_s02_e01_v02.json" in read_manifest(out)["bad_files"][0]


def test_nwucla_command_line(tmp_path: Path, capsys) -> None:
    write_ucla(tmp_path / "ucla")
    rc = main(["nwucla", "--input", str(tmp_path / "ucla"), "--out", str(tmp_path / "out"), "--workers", "1"])
    out, err = capsys.readouterr()
    assert rc == 0 and "nwucla-xview: train 4 / val 2 samples, 50 frames" in out
    assert err.startswith("warning: 1,478 of the 1,484 NW-UCLA clips are missing")
    assert main(["ntu60", "--input", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "--format is required for ntu60" in capsys.readouterr().err
    assert main(["nwucla", "--format", "stgcn", "--input", str(tmp_path / "ucla"), "--out", str(tmp_path / "o")]) == 2
    assert "nwucla cannot be read from --format stgcn" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["nwucla", "--input", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "no NW-UCLA clip files" in capsys.readouterr().err


def test_nwucla_clip_normalisation(tmp_path: Path, capsys) -> None:
    clips = write_ucla(tmp_path / "ucla")
    rc = main(["nwucla", "--input", str(tmp_path / "ucla"), "--out", str(tmp_path / "out"), "--workers", "1",
               "--normalise", "clip"])
    capsys.readouterr()
    out = tmp_path / "out" / "nwucla-xview"
    m, train = read_manifest(out), load_split(out, "train")
    assert rc == 0 and m["normalisation"] == "clip" and m["preprocessing"].startswith("clip normalisation")
    k = train.names.index("a08_s02_e01_v02")
    raw = clips["a08_s02_e01_v02"].astype(np.float32).transpose(2, 0, 1)[..., None]
    np.testing.assert_array_equal(train.data[k], layout_frames(raw, 50, "kinect20", normalise="clip"))
    assert np.abs(train.data[k, :, 0, 2, 0]).max() < 1e-6  # the first frame's shoulder centre is the origin
    assert np.abs(train.data[k, :, -1, 2, 0]).max() > 1e-3  # later frames keep where it moved
    (frame,) = quiet("nwucla", None, tmp_path / "ucla", tmp_path / "frame", workers=1)
    assert read_manifest(frame)["normalisation"] == "frame"
    assert main(["ntu60", "--format", "raw", "--input", str(tmp_path), "--out", str(tmp_path / "o"),
                 "--normalise", "clip"]) == 2
    assert "--normalise clip applies to nwucla, kinetics, utdmhad and pyskl2d" in capsys.readouterr().err
    with pytest.raises(ValueError, match="--normalise clip applies to .* 300 frames stores raw values"):
        prepare("nwucla", None, tmp_path / "ucla", tmp_path / "o300", frames=300, normalise="clip")


# --------------------------------------------------------------------------- pyskl 2D (COCO-17)

NTU2D = {  # frame_dir → (label, persons, frames); xsub test performer P003, xview test camera C001
    "S001C001P001R001A001": (0, 1, 20),
    "S001C002P003R001A002": (1, 3, 15),  # three detected persons: pyskl keeps the first two
    "S002C003P008R001A010": (9, 2, 18),
}


def write_pyskl2d(path: Path, rng: np.random.Generator) -> dict[str, dict]:
    anns = []
    for name, (label, m, t) in NTU2D.items():
        kp = rng.uniform(0, 1, size=(m, t, 17, 2)) * np.array([1920, 1080])
        anns.append({"frame_dir": name, "label": label, "img_shape": (1080, 1920), "original_shape": (1080, 1920),
                     "total_frames": t, "keypoint": kp.astype(np.float16),
                     "keypoint_score": rng.uniform(0, 1, size=(m, t, 17)).astype(np.float16)})
    anns[2]["img_shape"] = (480, 640)  # per-annotation frame size
    split = {"xsub_train": [a for a in NTU2D if "P003" not in a], "xsub_val": ["S001C002P003R001A002"],
             "xview_train": [a for a in NTU2D if "C001" not in a], "xview_val": ["S001C001P001R001A001"]}
    with open(path, "wb") as f:
        pickle.dump({"split": split, "annotations": anns}, f)
    return {a["frame_dir"]: a for a in anns}


def test_pyskl_2d_annotations(tmp_path: Path) -> None:
    anns = write_pyskl2d(tmp_path / "ntu60_hrnet.pkl", np.random.default_rng(4))
    outs = quiet("ntu60", "pyskl2d", tmp_path, tmp_path / "out", frames=300, workers=1)
    assert [o.name for o in outs] == ["ntu60-2d-xsub", "ntu60-2d-xview"]
    tr = load_split(outs[0], "train")
    assert tr.names == ["S001C001P001R001A001", "S002C003P008R001A010"] and tr.labels.tolist() == [0, 9]
    assert tr.data.shape == (2, 3, 300, 17, 2)
    a = anns["S002C003P008R001A010"]
    kp = a["keypoint"].astype(np.float64)
    np.testing.assert_allclose(tr.data[1, 0, :18].transpose(2, 0, 1), (kp[..., 0] - 320) / 320, atol=1e-6)
    np.testing.assert_allclose(tr.data[1, 1, :18].transpose(2, 0, 1), (kp[..., 1] - 240) / 240, atol=1e-6)
    np.testing.assert_allclose(tr.data[1, 2, :18].transpose(2, 0, 1), a["keypoint_score"], atol=1e-6)
    val = load_split(outs[0], "val")
    assert val.names == ["S001C002P003R001A002"]
    three = anns["S001C002P003R001A002"]["keypoint"].astype(np.float64)
    np.testing.assert_allclose(val.data[0, 0, :15, :, 1], (three[1, ..., 0] - 960) / 960, atol=1e-6)
    m = read_manifest(outs[0])
    assert m["layout"] == "coco17" and m["split"] == "xsub" and m["num_classes"] == 60
    assert "PreNormalize2D" in m["coordinates"]
    (o50,) = quiet("ntu60", "pyskl2d", tmp_path / "ntu60_hrnet.pkl", tmp_path / "o50", frames=50, workers=1)[:1]
    x = load_split(o50, "train")
    assert x.data.shape == (2, 3, 50, 17, 2)
    np.testing.assert_array_equal(x.data[1], layout_frames(tr.data[1, :, :18], 50, "coco17"))


def test_pyskl_2d_refuses_3d_files_and_wrong_splits(tmp_path: Path) -> None:
    path = tmp_path / "ntu60_hrnet.pkl"
    anns = write_pyskl2d(path, np.random.default_rng(5))
    obj = {"split": {"xsub_train": list(anns), "xsub_val": []}, "annotations": list(anns.values())}
    path.write_bytes(pickle.dumps(obj))
    with pytest.raises(ValueError, match=r"S001C002P003R001A002 of split xsub_train breaks the official ntu60 xsub"):
        quiet("ntu60", "pyskl2d", path, tmp_path / "out", workers=1)
    for a in obj["annotations"]:
        del a["keypoint_score"]
    path.write_bytes(pickle.dumps(obj))
    with pytest.raises(ValueError, match=r"no keypoint_score: it is a 3D file; use --format pyskl"):
        quiet("ntu60", "pyskl2d", path, tmp_path / "out", workers=1)
    path.write_bytes(pickle.dumps(obj)[:50])
    with pytest.raises(ValueError, match=r"ntu60_hrnet\.pkl is not a readable pickle"):
        quiet("ntu60", "pyskl2d", path, tmp_path / "out", workers=1)


# --------------------------------------------------------------------------- Kinetics-skeleton (OpenPose-18)


def kinetics_video(label: int, frames: list[tuple[int, list[float]]], rng: np.random.Generator) -> dict:
    """``frames``: (frame_index, per-person mean score) — one skeleton per listed score."""
    data = []
    for t, scores in frames:
        skel = []
        for s in scores:
            pose = rng.uniform(0, 1, 36).round(3)
            score = np.full(18, s).round(3)
            score[5] = 0.0  # an undetected joint
            skel.append({"pose": pose.tolist(), "score": score.tolist()})
        data.append({"frame_index": t, "skeleton": skel})
    return {"data": data, "label": "some action", "label_index": label}


def write_kinetics(root: Path, rng: np.random.Generator) -> dict[str, dict]:
    for part in ("train", "val"):
        (root / f"kinetics_{part}").mkdir(parents=True)
    videos = {
        ("train", "vidA"): kinetics_video(3, [(1, [0.2, 0.9, 0.5]), (2, [0.7]), (4, [0.1, 0.3, 0.2, 0.4, 0.6, 0.95])], rng),
        ("train", "vidB"): kinetics_video(399, [(t, [0.5, 0.6]) for t in range(1, 30)], rng),
        ("val", "vidC"): kinetics_video(0, [(0, [0.8])], rng),
    }
    for (part, vid), obj in videos.items():
        (root / f"kinetics_{part}" / f"{vid}.json").write_text(json.dumps(obj))
    labels = {
        "train": {"vidA": {"has_skeleton": True, "label": "a", "label_index": 3},
                  "vidB": {"has_skeleton": True, "label": "b", "label_index": 399},
                  "vidE": {"has_skeleton": False, "label": "e", "label_index": 7},
                  "vidGone": {"has_skeleton": True, "label": "g", "label_index": 1}},
        "val": {"vidC": {"has_skeleton": True, "label": "c", "label_index": 0}},
    }
    for part, obj in labels.items():
        (root / f"kinetics_{part}_label.json").write_text(json.dumps(obj))
    return {vid: obj for (_, vid), obj in videos.items()}


def test_kinetics_skeleton_as_stgcn_feeds_it(tmp_path: Path) -> None:
    videos = write_kinetics(tmp_path / "kinetics-skeleton", np.random.default_rng(6))
    with pytest.warns(PrepareWarning, match=r"1 of the 4 Kinetics-skeleton clips are missing .*vidGone\.json"):
        (out,) = prepare("kinetics", None, tmp_path, tmp_path / "out", frames=300, workers=1)
    assert out.name == "kinetics-skeleton"
    tr, val = load_split(out, "train"), load_split(out, "val")
    assert tr.names == ["vidA", "vidB"] and tr.labels.tolist() == [3, 399]  # vidE: no skeleton, left out
    assert val.names == ["vidC"] and tr.data.shape == (2, 3, 300, 18, 2)
    a = tr.data[0]
    frame1 = videos["vidA"]["data"][0]["skeleton"]
    best = np.asarray(frame1[1]["pose"])  # score 0.9 → slot 0, then 0.5 → slot 1; 0.2 dropped
    np.testing.assert_allclose(a[0, 1, :, 0], np.where(np.arange(18) == 5, 0, best[0::2] - 0.5), atol=1e-6)
    np.testing.assert_allclose(a[1, 1, :, 1], np.where(np.arange(18) == 5, 0, np.asarray(frame1[2]["pose"])[1::2] - 0.5),
                               atol=1e-6)
    np.testing.assert_allclose(a[2, 1, 0], [0.9, 0.5], atol=1e-6)
    np.testing.assert_allclose(a[2, 4, 0], [0.6, 0.4], atol=1e-6)  # only the first 5 listed are read (0.95 is 6th)
    assert not a[:, 0].any() and not a[:, 3].any()  # slot = frame_index as written
    m = read_manifest(out)
    assert m["layout"] == "openpose18" and m["num_classes"] == 400 and m["notes"]["listed_without_skeleton_skipped"] == 1
    vid = tmp_path / "kinetics-skeleton" / "kinetics_val" / "vidC.json"
    vid.write_text(json.dumps({**videos["vidC"], "label_index": 5}))
    with pytest.raises(PrepareError, match=r"vidC\.json: label_index 5 differs from the label list's 0"):
        quiet("kinetics", None, tmp_path / "kinetics-skeleton", tmp_path / "o2", workers=1)


# --------------------------------------------------------------------------- UTD-MHAD (.mat)


def test_utdmhad_mat_files(tmp_path: Path) -> None:
    from scipy.io import savemat

    from datasets.utdmhad import JOINT_ORDER

    rng = np.random.default_rng(7)
    (tmp_path / "utd" / "Skeleton").mkdir(parents=True)
    clips = {}
    for a, s, t, n in ((1, 1, 1, 40), (27, 2, 4, 33), (5, 7, 2, 51), (5, 8, 1, 29)):
        clips[f"a{a}_s{s}_t{t}"] = d = rng.normal(size=(20, 3, n))
        savemat(tmp_path / "utd" / "Skeleton" / f"a{a}_s{s}_t{t}_skeleton.mat", {"d_skel": d})
    (out,) = prepare("utdmhad", None, tmp_path / "utd", tmp_path / "out", frames=300, workers=1)
    assert out.name == "utdmhad-xsub"
    tr, val = load_split(out, "train"), load_split(out, "val")
    assert tr.names == ["a1_s1_t1_skeleton", "a5_s7_t2_skeleton"] and tr.labels.tolist() == [0, 4]
    assert val.names == ["a5_s8_t1_skeleton", "a27_s2_t4_skeleton"] and val.labels.tolist() == [4, 26]
    assert tr.data.shape == (2, 3, 300, 20, 1)
    kinect20 = np.empty_like(clips["a5_s7_t2"])
    kinect20[list(JOINT_ORDER)] = clips["a5_s7_t2"]  # UTD-MHAD's order → SDK's (semantics: test_refusals_data.py)
    np.testing.assert_allclose(tr.data[1, :, :51, :, 0], kinect20.transpose(1, 2, 0), atol=1e-6)
    m = read_manifest(out)
    assert m["layout"] == "kinect20" and m["num_classes"] == 27 and "permuted into" in m["notes"]["joint_order"]
    bad = tmp_path / "utd" / "Skeleton" / "a5_s7_t2_skeleton.mat"
    bad.write_bytes(bad.read_bytes()[:100])
    with pytest.raises(PrepareError, match=r"a5_s7_t2_skeleton\.mat: not a readable MATLAB file"):
        quiet("utdmhad", None, tmp_path / "utd", tmp_path / "o2", workers=1)


def script_on_prepared_ucla(name: str, tmp_path: Path):
    """A file of scripts/ loaded as a module, with a small NW-UCLA prepared at ``tmp_path/data``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(Path(name).stem, Path(__file__).parents[1] / "scripts" / name)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    write_ucla(tmp_path / "ucla")
    quiet("nwucla", None, tmp_path / "ucla", tmp_path / "data", workers=1)
    return script


def test_the_heldout_view_script_trains_on_view_1_and_scores_view_2_only(tmp_path: Path, capsys) -> None:
    script = script_on_prepared_ucla("nwucla_heldout_view.py", tmp_path)
    train = load_split(tmp_path / "data" / "nwucla-xview", "train")
    assert script.view_split(train, 2).names == ["a05_s04_e00_v02", "a08_s02_e01_v02"]
    assert script.main(["--data-root", str(tmp_path / "data"), "--seeds", "0", "--epochs", "2", "--batch-size", "2",
                        "--eval-every", "1"]) == 0
    out = capsys.readouterr().out
    assert "seed 0, view-2 top-1 every 1 epochs: [" in out and "mean last top-1" in out
    # two clips of view 2: every score is 0, 50 or 100
    scores = [float(s) for s in out.split("[")[1].split("]")[0].split(",")]
    assert len(scores) == 2 and set(scores) <= {0.0, 50.0, 100.0}


def test_the_heldout_probe_script_scores_an_encoder_on_training_clips_only(tmp_path: Path, capsys) -> None:
    import re

    script = script_on_prepared_ucla("nwucla_heldout_probe.py", tmp_path)
    train = load_split(tmp_path / "data" / "nwucla-xview", "train")
    bank, queries = script.bank_and_queries(train, "subjects")  # four performers: the last one is held out
    assert queries.names == ["a05_s04_e00_v02"] and len(bank) == 3 and "a05_s04_e00_v02" not in bank.names
    bank, queries = script.bank_and_queries(train, "view")
    assert bank.names == ["a01_s01_e00_v01", "a12_s03_e02_v01"] and all(n.endswith("_v02") for n in queries.names)
    assert script.main(["--method", "skeletonclr", "--checkpoint", "random", "--data-root",
                        str(tmp_path / "data"), "--probe-batch-size", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["subjects (bank 3, queries 1)", "view (bank 2, queries 2)"]
    scores = [float(x) for line in lines for x in re.findall(r"(?:probe|1-NN) ([0-9.]+)", line)]
    assert len(scores) == 6 and set(scores) <= {0.0, 50.0, 100.0}
    assert all("random init seed 0" in line and "(raw, batch 1;" in line for line in lines)
    # 100 epochs of the official probe on three bank clips: a linear layer fits them
    assert all(re.search(r"; 100\.0 on its bank\)", line) for line in lines), lines
    # the conditioning question: the probe's input centred or standardised with the bank's statistics
    bank_x, query_x = np.array([[1.0, 10.0], [3.0, 30.0]]), np.array([[2.0, 50.0]])
    centred, query_c = script.probe_input(bank_x, query_x, "centred")
    np.testing.assert_allclose(centred, [[-1.0, -10.0], [1.0, 10.0]])
    np.testing.assert_allclose(query_c, [[0.0, 30.0]])
    standard, query_s = script.probe_input(bank_x, query_x, "standardised")
    np.testing.assert_allclose(standard, [[-1.0, -1.0], [1.0, 1.0]])
    np.testing.assert_allclose(query_s, [[0.0, 3.0]])
    assert script.probe_input(bank_x, query_x, "raw")[0] is bank_x
