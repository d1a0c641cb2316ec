"""Issue 24 (items 3, 6-data, 7): the data readers and the prepared benchmarks never accept bad data
silently. Each case writes a small file in the real format (or damages a copy of the tiny benchmark)
and checks the one-line refusal, the skipped file, or the permuted joints."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from datasets import benchmark_folder, synthetic
from datasets.integrity import verify_benchmark
from datasets.ntu import SkeletonFormatError, format_skeleton, read_skeleton
from datasets.prepare import PrepareError, PrepareWarning, main, prepare
from datasets.store import load_split, read_manifest, sha256_file
from protocols import linear

NAME = f"synthetic-xsub-f50-v{synthetic.GENERATOR_VERSION}"
# NTU-60 samples from the official list (xsub: P001 trains, P003 tests)
NTU_FILES = ("S001C001P001R001A001", "S001C002P003R001A002", "S001C001P001R001A003")


# --------------------------------------------------------------------------- helpers


def standing_ntu(frames: int, seed: int) -> list[np.ndarray]:
    """A one-person NTU clip: one ``(1, 25, 3)`` body per frame, finite and roughly upright."""
    rng = np.random.default_rng(seed)
    body = np.stack([rng.uniform(-0.2, 0.2, 25), np.linspace(-0.8, 0.7, 25), rng.uniform(2.9, 3.1, 25)], axis=1)
    return [(body + 0.01 * t)[None] for t in range(frames)]


def write_ntu(root: Path) -> dict[str, Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for k, name in enumerate(NTU_FILES):
        paths[name] = root / f"{name}.skeleton"
        paths[name].write_text(format_skeleton(standing_ntu(30 + 5 * k, k), [[7]] * (30 + 5 * k)))
    return paths


def quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrepareWarning)
        return prepare(*args, **kwargs)


def refused(argv: list[str], records: Path, capsys) -> str:
    """Run the linear protocol expecting a refusal: exit 2, one ``error:`` line, no record."""
    code = linear.main(argv + ["--results-dir", str(records)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert not records.exists() or not any(records.iterdir())
    return err[0]


def linear_argv(root: Path) -> list[str]:
    return ["--method", "skeletonclr", "--checkpoint", "random", "--data-root", str(root), "--epochs", "1"]


@pytest.fixture
def root(tiny_root: Path, tmp_path: Path) -> Path:
    """A private copy of the tiny 50-frame benchmark, to damage."""
    shutil.copytree(tiny_root / NAME, tmp_path / "data" / NAME)
    return tmp_path / "data"


def reseal(folder: Path, name: str) -> None:
    """Rewrite the manifest's checksum of ``name`` as an editor would, so only a check of the content can tell."""
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["sha256"][name] = sha256_file(folder / name)
    (folder / "manifest.json").write_text(json.dumps(manifest))


# --------------------------------------------------------------------------- NTU .skeleton files


def test_nan_in_an_ntu_skeleton_names_file_and_line(tmp_path: Path) -> None:
    paths = write_ntu(tmp_path / "raw")
    bad = paths[NTU_FILES[1]]
    lines = bad.read_text().split("\n")
    # line 5 (1-based) is joint 1 of the first body: x y z and nine more fields
    assert len(lines[4].split()) == 12
    lines[4] = "nan inf " + " ".join(lines[4].split()[2:])
    bad.write_text("\n".join(lines))
    with pytest.raises(SkeletonFormatError, match=r":5: .*not finite"):
        read_skeleton(bad)
    with pytest.raises(PrepareError, match=rf"{NTU_FILES[1]}\.skeleton:5: "):
        quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", workers=1)
    assert not (tmp_path / "out" / "ntu60-xsub").exists()
    outs = quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", workers=1, skip_bad=True)
    m = read_manifest(outs[0])
    assert len(m["bad_files"]) == 1 and f"{NTU_FILES[1]}.skeleton:5:" in m["bad_files"][0]
    for out in outs:
        for part in ("train", "val"):
            assert np.isfinite(load_split(out, part).data).all()


def test_a_fifo_named_skeleton_is_skipped_with_a_warning(tmp_path: Path) -> None:
    write_ntu(tmp_path / "raw")
    os.mkfifo(tmp_path / "raw" / "S001C001P001R002A004.skeleton")

    def stuck(signum, frame):
        raise TimeoutError("datasets.prepare blocked on the FIFO")

    old = signal.signal(signal.SIGALRM, stuck)
    signal.setitimer(signal.ITIMER_REAL, 20)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            outs = prepare("ntu60", "raw", tmp_path / "raw", tmp_path / "out", workers=1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    said = [str(w.message) for w in caught if "S001C001P001R002A004.skeleton" in str(w.message)]
    assert len(said) == 1 and "not a regular file" in said[0]
    assert sum(read_manifest(o)["counts"]["train"] + read_manifest(o)["counts"]["val"] for o in outs[:1]) == 3
    with pytest.raises(ValueError, match="not a regular file"):
        read_skeleton(tmp_path / "raw" / "S001C001P001R002A004.skeleton")


def test_prepare_bad_input_path_exits_2(tmp_path: Path, capsys) -> None:
    rc = main(["ntu60", "--format", "raw", "--input", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and err.startswith("error: input") and "nowhere" in err
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- prepared benchmarks


def test_zero_byte_data_file_is_one_line(root: Path, tmp_path: Path, capsys) -> None:
    folder = root / NAME
    (folder / "train_data.npy").write_bytes(b"")
    line = refused(linear_argv(root), tmp_path / "rec", capsys)
    assert "train_data.npy" in line and f"delete {folder}" in line
    reseal(folder, "train_data.npy")
    line = refused(linear_argv(root), tmp_path / "rec", capsys)
    assert "train_data.npy" in line and "not a valid .npy" in line and f"delete {folder}" in line


def test_truncated_manifest_names_the_file(root: Path, tmp_path: Path, capsys) -> None:
    manifest = root / NAME / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])
    line = refused(linear_argv(root), tmp_path / "rec", capsys)
    assert str(manifest) in line and "not valid JSON" in line and str(root / NAME) in line
    manifest.write_text("[1, 2]")
    line = refused(linear_argv(root), tmp_path / "rec", capsys)
    assert str(manifest) in line


def test_truncated_manifest_of_a_prepared_benchmark_names_the_file(tmp_path: Path, capsys) -> None:
    write_ntu(tmp_path / "raw")
    out = quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", frames=50, workers=1)[0]
    manifest = out / "manifest.json"
    manifest.write_text(manifest.read_text()[:40])
    argv = linear_argv(tmp_path / "out") + ["--dataset", "ntu60-xsub"]
    capsys.readouterr()  # the progress bars of prepare
    line = refused(argv, tmp_path / "rec", capsys)
    assert str(manifest) in line and "not valid JSON" in line and "prepare it again" in line


@pytest.mark.parametrize("damage, said", [
    (lambda a: np.ascontiguousarray(a[:, :, :40]), "40 frames"),
    (lambda a: np.asarray(a).astype(np.int64), "int64"),
    (lambda a: np.asarray(a)[:-1].copy(), "215 samples"),
])
def test_resealed_arrays_of_the_wrong_shape_or_type_are_refused(root, tmp_path, capsys, damage, said) -> None:
    folder = root / NAME
    path = folder / "train_data.npy"
    np.save(path, damage(np.load(path)))
    reseal(folder, "train_data.npy")
    line = refused(linear_argv(root), tmp_path / "rec", capsys)
    assert str(path) in line and said in line and f"delete {folder}" in line


def test_resealed_manifest_and_arrays_of_other_frames_disagree_with_the_name(root, tmp_path, capsys) -> None:
    folder = root / NAME
    for part in ("train", "val"):
        path = folder / f"{part}_data.npy"
        np.save(path, np.ascontiguousarray(np.load(path)[:, :, :40]))
        reseal(folder, f"{part}_data.npy")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "frames": 40}))
    line = refused(linear_argv(root), tmp_path / "rec", capsys)
    assert str(folder) in line and "40 frames" in line and "50" in line and f"delete {folder}" in line


@pytest.mark.parametrize("labels, said", [
    (lambda n: [1014] + [0] * (n - 1), "label 1014 of sample 0"),
    (lambda n: [-1] + [0] * (n - 1), "label -1 of sample 0"),
    (lambda n: [0.5] * n, "not an integer"),
])
def test_resealed_labels_out_of_range_are_refused(root, tmp_path, capsys, labels, said) -> None:
    folder = root / NAME
    names, _ = pickle.loads((folder / "train_label.pkl").read_bytes())
    (folder / "train_label.pkl").write_bytes(pickle.dumps((names, labels(len(names)))))
    reseal(folder, "train_label.pkl")
    line = refused(linear_argv(root), tmp_path / "rec", capsys)
    assert str(folder / "train_label.pkl") in line and said in line and f"delete {folder}" in line


def test_load_split_checks_shape_and_type_too(root: Path) -> None:
    folder = root / NAME
    verify_benchmark(folder)
    path = folder / "val_data.npy"
    np.save(path, np.load(path).astype(np.float64))
    with pytest.raises(ValueError, match=r"val_data\.npy holds float64 values; .*float32"):
        load_split(folder, "val")


def test_content_replaced_under_the_same_size_and_mtime_is_verified_again(root: Path) -> None:
    folder = root / NAME
    verify_benchmark(folder)
    path = folder / "train_data.npy"
    before = path.stat()
    time.sleep(0.05)  # past the file system's timestamp granularity
    data = np.load(path, mmap_mode="r+")
    data[:] = np.nan
    data.flush()
    del data
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with pytest.raises(ValueError, match=r"train_data\.npy does not match its checksum"):
        verify_benchmark(folder)
    reseal(folder, "train_data.npy")
    with pytest.raises(ValueError, match=r"train_data\.npy holds non-finite values"):
        verify_benchmark(folder)


def test_renamed_benchmark_folder_is_refused(tmp_path: Path) -> None:
    paths = write_ntu(tmp_path / "raw")
    del paths
    outs = quiet("ntu60", "raw", tmp_path / "raw", tmp_path / "out", frames=50, workers=1)
    assert [o.name for o in outs] == ["ntu60-xsub", "ntu60-xview"]
    shutil.rmtree(outs[0])
    outs[1].rename(outs[0])
    with pytest.raises(ValueError, match=r"ntu60-xsub.*holds ntu60-xview"):
        benchmark_folder("ntu60-xsub", 50, tmp_path / "out")


# --------------------------------------------------------------------------- UTD-MHAD joint order

# A person standing 3 m from the sensor, in UTD-MHAD's own joint order (1-based in its documentation):
# head, shoulder_center, spine, hip_center, left arm (shoulder, elbow, wrist, hand), right arm, left leg
# (hip, knee, ankle, foot), right leg. Kinect v1 camera space: y up, metres.
UTD_STANDING = np.array([
    [0.00, 0.75, 3.00], [0.00, 0.50, 3.00], [0.00, 0.15, 3.00], [0.00, 0.00, 3.00],
    [-0.20, 0.45, 3.00], [-0.25, 0.20, 3.00], [-0.27, -0.02, 3.00], [-0.28, -0.10, 3.00],
    [0.20, 0.45, 3.00], [0.25, 0.20, 3.00], [0.27, -0.02, 3.00], [0.28, -0.10, 3.00],
    [-0.10, -0.05, 3.00], [-0.10, -0.45, 3.00], [-0.10, -0.85, 3.00], [-0.10, -0.90, 2.90],
    [0.10, -0.05, 3.00], [0.10, -0.45, 3.00], [0.10, -0.85, 3.00], [0.10, -0.90, 2.90],
])


def test_utdmhad_is_read_in_its_own_joint_order(tmp_path: Path) -> None:
    from scipy.io import savemat

    from datasets.layouts import get_layout

    folder = tmp_path / "utd"
    folder.mkdir()
    t = np.arange(40)
    sway = 0.02 * np.sin(t / 5.0)
    for a, s in ((1, 1), (2, 2)):
        clip = UTD_STANDING[:, :, None] + np.stack([sway, 0 * sway, 0 * sway])[None]  # (20, 3, T)
        savemat(folder / f"a{a}_s{s}_t1_skeleton.mat", {"d_skel": clip})
    (out,) = quiet("utdmhad", None, folder, tmp_path / "out", frames=50, workers=1)
    names = get_layout("kinect20").joint_names
    j = {n: names.index(n) for n in names}
    x = load_split(out, "train").data[0, :, :, :, 0]  # (3, T, 20), after the suite's preprocessing
    y = x[1]
    assert (y[:, j["head"]] > y[:, j["shoulder_center"]]).all()
    assert (y[:, j["shoulder_center"]] > y[:, j["spine"]]).all() and (y[:, j["spine"]] > y[:, j["hip_center"]]).all()
    for foot in ("left_foot", "right_foot"):
        assert (y[:, j["head"]] > y[:, j[foot]]).all()
        dist = np.linalg.norm(x[:, :, j["head"]] - x[:, :, j[foot]], axis=0)
        assert 1.4 < dist.min() and dist.max() < 2.1, dist
    assert (y[:, j["left_hand"]] < y[:, j["left_elbow"]]).all()
    assert (y[:, j["right_knee"]] > y[:, j["right_ankle"]]).all()
    m = read_manifest(out)
    assert "not verified" not in m["notes"]["joint_order"] and m["reader_version"] >= 2


def test_stale_utdmhad_benchmark_is_refused(tmp_path: Path) -> None:
    from scipy.io import savemat

    folder = tmp_path / "utd"
    folder.mkdir()
    savemat(folder / "a1_s1_t1_skeleton.mat", {"d_skel": UTD_STANDING[:, :, None].repeat(30, axis=2)})
    savemat(folder / "a2_s2_t1_skeleton.mat", {"d_skel": UTD_STANDING[:, :, None].repeat(30, axis=2)})
    (out,) = quiet("utdmhad", None, folder, tmp_path / "out", frames=50, workers=1)
    assert benchmark_folder("utdmhad-xsub", 50, tmp_path / "out") == out
    manifest = read_manifest(out)
    del manifest["reader_version"]  # a folder written by the reader that took the SDK order
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match=r"utdmhad-xsub.*older reader.*prepare it again"):
        benchmark_folder("utdmhad-xsub", 50, tmp_path / "out")


def test_a_benchmark_that_does_not_fit_on_the_disk_is_refused_before_writing(tmp_path, monkeypatch, capsys):
    """The arrays are memory-mapped: a write into a full disk would kill the process (SIGBUS)
    half-way, so room for every array is checked before it is created, and nothing is left."""
    from tests.test_layout_prepare import write_ucla
    from utils import files as cache

    write_ucla(tmp_path / "ucla")
    monkeypatch.setattr(cache, "free_bytes", lambda folder: 10_000)
    code = main(["nwucla", "--input", str(tmp_path / "ucla"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("error:")]  # after the partial-download warning
    assert code == 2 and len(errors) == 1 and errors[0].startswith("error: the disk of ")
    assert "train_data.npy of nwucla-xview needs about" in errors[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
