"""Data checked before it is trusted: checksums, finite values, the cached verdict, safe pickles."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from datasets import benchmark_folder, data_provenance, integrity, synthetic
from datasets.formats import read_pyskl
from datasets.safe_pickle import safe_load
from datasets.store import read_label_pkl, read_manifest, sha256_file, write_label_pkl

NAME = f"synthetic-xsub-f50-v{synthetic.GENERATOR_VERSION}"


@pytest.fixture
def folder(tiny_root: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny benchmark (the session's folder is shared by other tests)."""
    return Path(shutil.copytree(tiny_root / NAME, tmp_path / "root" / NAME))


def _touch_later(path: Path) -> None:
    """Move the mtime on by a second, so the change is seen even where timestamps are coarse."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _write_manifest(folder: Path, manifest: dict) -> None:
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


class Evil:
    """A pickle that would run a shell command when loaded by ``pickle.load``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def test_clean_folder_verifies_with_the_manifest_fingerprint(folder: Path) -> None:
    from protocols.feature_cache import data_fingerprint

    checksums = read_manifest(folder)["sha256"]
    before = hashlib.sha256(repr(sorted(checksums.items())).encode()).hexdigest()  # the formula features.py had
    assert integrity.verify_benchmark(folder) == before
    assert data_fingerprint(folder) == before
    provenance = data_provenance(folder, read_manifest(folder))
    assert provenance == {"fingerprint": before, "root": str(folder.resolve()), "format": "generated",
                          "source": read_manifest(folder)["source"], "generator_version": synthetic.GENERATOR_VERSION,
                          "identity": integrity.data_identity(read_manifest(folder))}


def test_second_call_costs_a_stat_and_a_change_is_hashed_again(folder: Path, monkeypatch) -> None:
    first = integrity.verify_benchmark(folder)

    def no_hashing(*args, **kwargs):
        raise AssertionError("hashed again")

    monkeypatch.setattr(integrity, "sha256_file", no_hashing)
    assert integrity.verify_benchmark(folder) == first
    _touch_later(folder / "val_label.pkl")
    with pytest.raises(AssertionError, match="hashed again"):
        integrity.verify_benchmark(folder)


def test_nan_is_refused_naming_file_and_sample(folder: Path) -> None:
    integrity.verify_benchmark(folder)  # cached as clean before the corruption
    data = np.load(folder / "train_data.npy", mmap_mode="r+")
    data[137, 1, 20, 3, 0] = np.nan
    data.flush()
    del data
    manifest = read_manifest(folder)
    manifest["sha256"]["train_data.npy"] = sha256_file(folder / "train_data.npy")  # only finiteness can catch it
    _write_manifest(folder, manifest)
    with pytest.raises(ValueError, match=r"train_data\.npy holds non-finite values .* sample 137;"):
        integrity.verify_benchmark(folder)
    with pytest.raises(ValueError, match="sample 137; delete .* generated again"):
        benchmark_folder("synthetic-xsub", 50, folder.parent)


def test_changed_file_is_a_checksum_mismatch(folder: Path) -> None:
    integrity.verify_benchmark(folder)
    data = np.load(folder / "val_data.npy", mmap_mode="r+")
    data[3, 0, 0, 0, 0] += 0.5  # same size, still finite
    data.flush()
    del data
    _touch_later(folder / "val_data.npy")
    with pytest.raises(ValueError, match=r"val_data\.npy does not match its checksum"):
        integrity.verify_benchmark(folder)


@pytest.mark.parametrize("damage, message", [
    ("drop-entry", r"val_label\.pkl is not listed in the checksums"),
    ("drop-checksums", "lists no checksums"),
    ("drop-file", r"val_label\.pkl is listed in .* but does not exist"),
])
def test_incomplete_manifest_or_folder_is_refused(folder: Path, damage: str, message: str) -> None:
    manifest = read_manifest(folder)
    if damage == "drop-entry":
        del manifest["sha256"]["val_label.pkl"]
    elif damage == "drop-checksums":
        del manifest["sha256"]
    else:
        (folder / "val_label.pkl").unlink()
    _write_manifest(folder, manifest)
    with pytest.raises(ValueError, match=message):
        integrity.verify_benchmark(folder)


def test_crafted_label_pickle_is_refused_without_running(folder: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with open(folder / "train_label.pkl", "wb") as f:
        pickle.dump(Evil(marker), f)
    with pytest.raises(ValueError, match=r"label file .*train_label\.pkl holds objects beyond its format \(\w+\.system\)"):
        read_label_pkl(folder / "train_label.pkl")
    assert not marker.exists()


def test_crafted_pyskl_file_is_refused_without_running(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with open(tmp_path / "ntu60_3danno.pkl", "wb") as f:
        pickle.dump({"split": {"xsub_train": []}, "annotations": [Evil(marker)]}, f)
    with pytest.raises(ValueError, match=r"pyskl annotation file .* holds objects beyond its format \(\w+\.system\)"):
        read_pyskl(tmp_path, "ntu60")
    assert not marker.exists()


def test_legitimate_label_pickles_load(tmp_path: Path) -> None:
    write_label_pkl(tmp_path / "a.pkl", ["S001C001P001R001A001.skeleton"], [0])
    assert read_label_pkl(tmp_path / "a.pkl")[0] == ["S001C001P001R001A001.skeleton"]
    with open(tmp_path / "b.pkl", "wb") as f:  # numpy labels, as some forks write them
        pickle.dump((np.array(["x", "y"]), np.array([3, 4], dtype=np.int64)), f, protocol=2)
    names, labels = read_label_pkl(tmp_path / "b.pkl")
    assert names == ["x", "y"] and labels.tolist() == [3, 4]


@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_pyskl_like_dict_with_float16_arrays_loads(tmp_path: Path, protocol: int) -> None:
    rng = np.random.default_rng(0)
    ann = {"frame_dir": "S001C001P001R001A001", "label": np.int64(0), "total_frames": 7, "img_shape": (1080, 1920),
           "keypoint": rng.normal(size=(2, 7, 25, 3)).astype(np.float16), "score": np.float16(0.5)}
    obj = {"split": {"xsub_train": ["S001C001P001R001A001"]}, "annotations": [ann, None]}
    blob = pickle.dumps(obj, protocol=protocol)
    blobs = [blob]
    if protocol == 2:  # GLOBAL opcodes are text here: spell the module as numpy 1 does (and back)
        blobs += [blob.replace(b"numpy._core.", b"numpy.core."), blob.replace(b"numpy.core.", b"numpy._core.")]
    for k, data in enumerate(blobs):
        (tmp_path / f"{k}.pkl").write_bytes(data)
        back = safe_load(tmp_path / f"{k}.pkl", "pyskl annotation file")
        assert back["split"] == obj["split"] and back["annotations"][1] is None
        got = back["annotations"][0]
        assert got["keypoint"].dtype == np.float16 and np.array_equal(got["keypoint"], ann["keypoint"])
        assert got["label"] == 0 and got["img_shape"] == (1080, 1920) and got["score"] == np.float16(0.5)


def test_synthetic_data_root_must_exist(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-dir does not exist; synthetic data is generated into"):
        benchmark_folder("synthetic-xsub", 50, tmp_path / "no-such-dir")
    assert list(tmp_path.iterdir()) == []


def test_generated_data_are_named_by_their_parameters_real_data_by_their_bytes():
    from datasets.integrity import data_identity, fingerprint
    from results import data_key
    manifest = {"format": "generated", "dataset": "synthetic-xsub", "generator_version": 3, "frames": 50,
                "layout": "ntu25", "seed": 0, "subjects": 40, "num_classes": 50, "sha256": {"train_data.npy": "a"}}
    other_bytes = {**manifest, "sha256": {"train_data.npy": "b"}}  # another CPU's last float bits
    assert data_identity(manifest) == data_identity(other_bytes) != data_identity({**manifest, "subjects": 4})
    assert fingerprint(manifest) != fingerprint(other_bytes)
    real = {"format": "raw", "sha256": {"train_data.npy": "a"}}
    assert data_identity(real) == fingerprint(real)
    # a record written before identities: the default benchmark, computed from the record
    old = {"dataset": "synthetic-xsub", "frames": 50, "layout": "ntu25",
           "data": {"format": "generated", "generator_version": 3, "fingerprint": "ddae"}}
    assert data_key(old) == data_identity(manifest)
    assert data_key({"data": {"identity": "x", "fingerprint": "y"}}) == "x"
    assert data_key({"data": {"format": "raw", "fingerprint": "y"}}) == "y"
