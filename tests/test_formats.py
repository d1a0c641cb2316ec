"""Readers of the preprocessed forms (data.md §2–5), on small files written here in each format."""

from __future__ import annotations

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest

from datasets.formats import (
    FormatError,
    is_duplicate_actor,
    npz_member,
    read_crossclr,
    read_ctrgcn,
    read_pyskl,
    read_stgcn,
)
from datasets.prepare import PrepareWarning, prepare
from datasets.preprocess import preprocess_sample
from datasets.store import load_split, read_manifest

# a few NTU-60 names on both sides of both splits (xsub: P001/P002 train, P003 test; xview: C001 test)
NAMES = [
    "S001C001P001R001A001",
    "S001C002P003R001A002",
    "S001C003P002R002A050",
    "S002C001P003R001A060",
    "S002C002P008R002A010",
]


def sample(rng: np.random.Generator, t: int, two: bool = False) -> np.ndarray:
    x = np.zeros((3, 300, 25, 2), np.float32)
    x[:, :t, :, 0] = rng.normal(size=(3, t, 25)) + np.array([0, 0, 3])[:, None, None]
    if two:
        x[:, :t, :, 1] = rng.normal(size=(3, t, 25)) + np.array([1, 0, 3])[:, None, None]
    return x


def write_stgcn(
    root: Path, bench: str, data: dict[str, np.ndarray], names: dict[str, list[str]], suffix: str = "data"
) -> None:
    folder = root / bench
    folder.mkdir(parents=True, exist_ok=True)
    for part in ("train", "val"):
        np.save(folder / f"{part}_{suffix}.npy", data[part])
        with open(folder / f"{part}_label.pkl", "wb") as f:
            pickle.dump(([n + ".skeleton" for n in names[part]], [int(n[-3:]) - 1 for n in names[part]]), f)


def xsub_parts() -> dict[str, list[str]]:
    return {
        "train": [n for n in NAMES if n[9:12] in ("001", "002", "008")],
        "val": [n for n in NAMES if n[9:12] == "003"],
    }


def quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrepareWarning)
        return fn(*args, **kwargs)


def test_stgcn_arrays_copied_and_preprocessed(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    names = xsub_parts()
    data = {p: np.stack([sample(rng, 40 + 10 * i, two=i == 1) for i in range(len(names[p]))]) for p in names}
    write_stgcn(tmp_path / "st", "xsub", data, names)
    found = read_stgcn(tmp_path / "st", "ntu60")
    assert list(found) == ["xsub"] and found["xsub"].stored_frames == 300
    with pytest.warns(PrepareWarning, match="no xview benchmark"):
        (out300,) = quiet_missing(prepare, "ntu60", "stgcn", tmp_path / "st", tmp_path / "o300", frames=300, workers=1)
    (out50,) = quiet(prepare, "ntu60", "stgcn", tmp_path / "st", tmp_path / "o50", frames=50, workers=1)
    for part in ("train", "val"):
        s300, s50 = load_split(out300, part), load_split(out50, part)
        np.testing.assert_array_equal(s300.data, data[part])
        np.testing.assert_array_equal(s50.data, np.stack([preprocess_sample(x, 50) for x in data[part]]))
        assert s50.names == [n + ".skeleton" for n in names[part]]
        assert s50.labels.tolist() == [int(n[-3:]) - 1 for n in names[part]]
    m = read_manifest(out50)
    assert (m["format"], m["body_selection"], m["frames"], m["benchmark"]) == ("stgcn", "stgcn", 50, "ntu60-xsub")
    assert m["missing_samples"]["count"] == 40_091 + 16_487 - len(NAMES)


def quiet_missing(fn, *args, **kwargs):
    """Let only the warnings other than the partial-download one through."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*samples are missing", category=PrepareWarning)
        return fn(*args, **kwargs)


def test_stgcn_refuses_arrays_in_the_wrong_split(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    names = xsub_parts()
    names = {"train": names["val"], "val": names["train"]}
    data = {p: np.stack([sample(rng, 30) for _ in names[p]]) for p in names}
    write_stgcn(tmp_path, "xsub", data, names)
    with pytest.raises(FormatError, match="belongs to the test part of ntu60 xsub, not to train"):
        read_stgcn(tmp_path, "ntu60")


def test_crossclr_position_with_the_stgcn_label_pickle(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    names = xsub_parts()
    pos = {p: rng.normal(size=(len(names[p]), 3, 50, 25, 2)).astype(np.float32) for p in names}
    write_stgcn(tmp_path / "frame50", "xsub", pos, names, suffix="position")
    for part in ("train", "val"):  # labels live in the 300-frame folder, as in CrosSCLR's configs
        (tmp_path / "frame50" / "xsub" / f"{part}_label.pkl").rename(tmp_path / f"{part}_label.pkl")
    with pytest.raises(FormatError, match="pass that folder as a second --input"):
        read_crossclr(tmp_path / "frame50", "ntu60")
    (tmp_path / "st" / "xsub").mkdir(parents=True)
    for part in ("train", "val"):
        (tmp_path / f"{part}_label.pkl").rename(tmp_path / "st" / "xsub" / f"{part}_label.pkl")
    found = read_crossclr([tmp_path / "frame50", tmp_path / "st"], "ntu60")
    assert found["xsub"].stored_frames == 50 and found["xsub"].body_selection == "stgcn"
    (out,) = quiet(
        prepare, "ntu60", "crossclr", [tmp_path / "frame50", tmp_path / "st"], tmp_path / "out", frames=50, workers=1
    )
    np.testing.assert_array_equal(load_split(out, "train").data, pos["train"])
    assert len(read_manifest(out)["source"]) == 2
    with pytest.raises(FormatError, match="holds 50-frame arrays, not 64"):
        quiet(prepare, "ntu60", "crossclr", [tmp_path / "frame50", tmp_path / "st"], tmp_path / "o64", frames=64)
    assert not (tmp_path / "o64" / "ntu60-xsub").exists()


def test_pyskl_annotations(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    anns = []
    for k, n in enumerate(NAMES):
        m, t = (2 if k == 2 else 1), 30 + 7 * k
        anns.append(
            {
                "frame_dir": n,
                "label": int(n[-3:]) - 1,
                "total_frames": t,
                "keypoint": rng.normal(size=(m, t, 25, 3)).astype(np.float16),
            }
        )
    anns.append(None)  # pyskl leaves None for files without bodies
    parts = xsub_parts()
    view = {"train": [n for n in NAMES if "C001" not in n], "val": [n for n in NAMES if "C001" in n]}
    split = {
        "xsub_train": parts["train"],
        "xsub_val": parts["val"],
        "xview_train": view["train"],
        "xview_val": view["val"],
    }
    with open(tmp_path / "ntu60_3danno.pkl", "wb") as f:
        pickle.dump({"split": split, "annotations": anns}, f)
    found = read_pyskl(tmp_path, "ntu60")
    assert set(found) == {"xsub", "xview"} and found["xsub"].stored_frames is None
    assert found["xsub"].notes == {"pyskl_empty_annotations": 1}
    outs = quiet(prepare, "ntu60", "pyskl", tmp_path / "ntu60_3danno.pkl", tmp_path / "out", frames=300, workers=1)
    xsub = load_split(outs[0], "train")
    k = xsub.names.index("S001C003P002R002A050.skeleton")
    kp = anns[2]["keypoint"].astype(np.float32)
    np.testing.assert_array_equal(xsub.data[k, :, : kp.shape[1]], kp.transpose(3, 1, 2, 0))
    assert not xsub.data[k, :, kp.shape[1] :].any()
    k1 = xsub.names.index("S001C001P001R001A001.skeleton")
    assert not xsub.data[k1, ..., 1].any()  # a single person leaves slot 1 empty
    assert read_manifest(outs[0])["body_selection"] == "pyskl"
    outs50 = quiet(prepare, "ntu60", "pyskl", tmp_path, tmp_path / "out50", frames=50, workers=1)
    np.testing.assert_array_equal(load_split(outs50[0], "train").data[k], preprocess_sample(xsub.data[k], 50))


def write_ctrgcn(path: Path, x: dict[str, np.ndarray], y: dict[str, np.ndarray], compressed: bool = False) -> None:
    save = np.savez_compressed if compressed else np.savez
    save(path, x_train=x["train"], y_train=y["train"], x_test=x["val"], y_test=y["val"])


def ctrgcn_data(names: dict[str, list[str]], num_class: int, duplicate: bool, rng: np.random.Generator):
    x, y = {}, {}
    for part, ns in names.items():
        arr = np.zeros((len(ns), 300, 150), np.float32)
        for i in range(len(ns)):
            t = 20 + i
            arr[i, :t, :75] = rng.normal(size=(t, 75))
            if duplicate and i % 2 == 0:
                arr[i, :t, 75:] = arr[i, :t, :75]  # CTR-GCN NTU-120: lone actor in both slots
            elif i % 2 == 1:
                arr[i, :t, 75:] = rng.normal(size=(t, 75))
        x[part] = arr
        y[part] = np.eye(num_class)[[int(n[-3:]) - 1 for n in ns]]
    return x, y


def test_ctrgcn_npz_rebuilds_names_and_removes_duplicate_actors(tmp_path: Path, monkeypatch) -> None:
    small = (
        "S001C001P001R001A001",
        "S001C002P045R001A002",
        "S018C001P003R001A061",
        "S019C003P046R002A120",
        "S020C002P008R001A005",
    )
    monkeypatch.setattr("datasets.formats.available_samples", lambda dataset: small)
    monkeypatch.setattr("datasets.plans.available_samples", lambda dataset: small)
    names = {
        "train": [n for n in small if n[9:12] in ("001", "045", "046", "008")],
        "val": [n for n in small if n[9:12] == "003"],
    }
    rng = np.random.default_rng(4)
    x, y = ctrgcn_data(names, 120, duplicate=True, rng=rng)
    write_ctrgcn(tmp_path / "NTU120_CSub.npz", x, y)
    assert npz_member(tmp_path / "NTU120_CSub.npz", "x_train") is not None  # memory-mapped, not loaded
    found = read_ctrgcn(tmp_path, "ntu120")
    assert list(found) == ["xsub"] and found["xsub"].body_selection == "ctrgcn"
    (out,) = quiet(prepare, "ntu120", "ctrgcn", tmp_path, tmp_path / "out", frames=300, workers=1)
    tr = load_split(out, "train")
    assert tr.names == [n + ".skeleton" for n in names["train"]]
    assert tr.labels.tolist() == [int(n[-3:]) - 1 for n in names["train"]]
    want0 = x["train"][0].reshape(300, 2, 25, 3).transpose(3, 0, 2, 1)
    np.testing.assert_array_equal(tr.data[0, ..., 0], want0[..., 0])
    assert not tr.data[0, ..., 1].any()  # the duplicated actor is gone
    want1 = x["train"][1].reshape(300, 2, 25, 3).transpose(3, 0, 2, 1)
    np.testing.assert_array_equal(tr.data[1], want1)  # a real second person stays
    assert is_duplicate_actor(want0) and not is_duplicate_actor(want1)
    # compressed files are read whole, with a warning
    (tmp_path / "z").mkdir()
    write_ctrgcn(tmp_path / "z" / "NTU120_CSub.npz", x, y, compressed=True)
    with pytest.warns(UserWarning, match="compressed"):
        found = read_ctrgcn(tmp_path / "z", "ntu120")
    np.testing.assert_array_equal(found["xsub"].parts["train"].source.load(1)[0], want1)


def test_ctrgcn_refuses_a_partial_or_reordered_file(tmp_path: Path, monkeypatch) -> None:
    small = ("S001C001P001R001A001", "S001C002P002R001A002", "S001C001P003R001A003")
    monkeypatch.setattr("datasets.formats.available_samples", lambda dataset: small)
    rng = np.random.default_rng(5)
    names = {"train": list(small[:2]), "val": list(small[2:])}
    x, y = ctrgcn_data(names, 60, duplicate=False, rng=rng)
    y["train"] = y["train"][::-1]
    write_ctrgcn(tmp_path / "NTU60_CS.npz", x, y)
    with pytest.raises(FormatError, match="not in CTR-GCN's sample order"):
        read_ctrgcn(tmp_path, "ntu60")
    x["train"], y["train"] = x["train"][:1], y["train"][:1]
    write_ctrgcn(tmp_path / "NTU60_CS.npz", x, y)
    with pytest.raises(FormatError, match="can only be rebuilt for the complete dataset"):
        read_ctrgcn(tmp_path, "ntu60")


def test_formats_refuse_what_they_cannot_read(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no stgcn files for NTU-60"):
        prepare("ntu60", "stgcn", tmp_path, tmp_path / "out")
    with pytest.raises(FormatError, match="NTU only"):
        read_pyskl(tmp_path, "pku1")
    with pytest.raises(ValueError, match="--bodies applies to raw files"):
        prepare("ntu60", "ctrgcn", tmp_path, tmp_path / "out", bodies="pyskl")
    (tmp_path / "xsub").mkdir()
    np.save(tmp_path / "xsub" / "train_data.npy", np.zeros((2, 3, 300, 25, 1), np.float32))
    np.save(tmp_path / "xsub" / "val_data.npy", np.zeros((0, 3, 300, 25, 2), np.float32))
    with open(tmp_path / "xsub" / "train_label.pkl", "wb") as f:
        pickle.dump((["S001C001P001R001A001.skeleton", "S001C001P002R001A001.skeleton"], [0, 0]), f)
    with pytest.raises(FormatError, match=r"expected \(N, 3, T, 25, 2\)"):
        read_stgcn(tmp_path, "ntu60")


def test_stgcn_refuses_samples_of_another_dataset(tmp_path: Path) -> None:
    names = {"train": ["S018C001P045R001A061"], "val": ["S001C001P003R001A001"]}
    rng = np.random.default_rng(6)
    write_stgcn(tmp_path, "xsub", {p: np.stack([sample(rng, 20)]) for p in names}, names)
    with pytest.raises(FormatError, match="S018C001P045R001A061.skeleton is not part of ntu60"):
        read_stgcn(tmp_path, "ntu60")
    assert set(read_stgcn(tmp_path, "ntu120")) == {"xsub"}
