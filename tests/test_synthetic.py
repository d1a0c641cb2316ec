"""The embedded synthetic dataset: deterministic, NTU-like, split by NTU's rules."""

import numpy as np
import pytest

from datasets import synthetic
from datasets.store import is_complete, load_split, read_manifest


@pytest.fixture(scope="module")
def small():
    return synthetic.generate(50, seed=0, subjects=3)


def test_deterministic_and_shaped(small):
    data, names, labels = small
    assert data.shape == (3 * synthetic.NUM_CLASSES * 3, 3, 50, 25, 2) and data.dtype == np.float32
    again = synthetic.generate(50, seed=0, subjects=3)
    np.testing.assert_array_equal(again[0], data)
    assert synthetic.generate(50, seed=1, subjects=3)[0].tobytes() != data.tobytes()
    assert sorted(set(labels.tolist())) == list(range(synthetic.NUM_CLASSES)) and synthetic.NUM_CLASSES >= 20


def test_preprocessed_like_ntu(small):
    data, names, labels = small
    assert np.all(data[:, :, :, 20, 0] == 0)  # centred on the spine shoulder (joint 21)
    v = data[:, :, :, 8, 0] - data[:, :, :, 4, 0]  # shoulders along x after the y-rotation
    # official quirks: |v| + 1e-4 in the arccos and one rotation sign per sequence, so a few
    # frames keep a z part (methods.md §4)
    assert np.abs(v[:, 2]).mean() < 0.005 and (v[:, 0] > 0).mean() > 0.99
    two = np.array([synthetic.CLASSES[label].partner is not None for label in labels])
    assert np.all(np.abs(data[two, :, :, :, 1]).sum(axis=(1, 2, 3)) > 0)
    assert np.all(data[~two, :, :, :, 1] == 0)


def test_body_in_metres_in_camera_space():
    rng = np.random.default_rng(0)
    subject = synthetic.make_subject(rng)
    bodies = synthetic.generate_performance(0, subject, subject, rng)
    upper_arm = np.linalg.norm(bodies[:, 5, :, 0] - bodies[:, 4, :, 0], axis=-1)
    assert 0.2 < upper_arm.mean() < 0.36
    height = bodies[0, 3, 1, 0] - bodies[0, 15, 1, 0]
    assert 1.2 < height < 2.0
    cam = synthetic.to_camera(bodies, 2, rng)
    assert 1.5 < cam[2, :, 0, 0].mean() < 5.0  # depth of the spine base: the camera stands 2-4.5 m away


def test_splits_follow_ntu_rules(small):
    _, names, _ = small
    train, val = synthetic.split_indices(names, "xsub")
    assert {names[i][9:12] for i in train} == {"001", "002"} and {names[i][9:12] for i in val} == {"003"}
    train, val = synthetic.split_indices(names, "xview")
    assert {names[i][5:8] for i in train} == {"002", "003"} and {names[i][5:8] for i in val} == {"001"}


def test_benchmark_folder_is_complete_and_labelled(tiny_root):
    folder = tiny_root / f"synthetic-xsub-f50-v{synthetic.GENERATOR_VERSION}"
    assert is_complete(folder)
    manifest = read_manifest(folder)
    assert manifest["counts"] == {"train": 216, "val": 72} and "not NTU" in manifest["source"]
    train = load_split(folder, "train")
    assert train.names[0].endswith(".skeleton") and len(train) == 216


def test_a_clip_does_not_depend_on_how_many_classes_are_generated():
    few, few_names, few_labels = synthetic.generate(50, seed=0, subjects=2, classes=4)
    full, names, _ = synthetic.generate(50, seed=0, subjects=2)
    per_subject = 3 * synthetic.NUM_CLASSES
    keep = [s * per_subject + i for s in range(2) for i in range(4 * 3)]
    np.testing.assert_array_equal(few, full[keep])
    assert few_names == [names[i] for i in keep] and sorted(set(few_labels.tolist())) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="classes must be in"):
        synthetic.generate(50, classes=0)


def test_confusable_groups_are_built_in():
    groups: dict[str, list[str]] = {}
    for c in synthetic.CLASSES:
        groups.setdefault(c.group, []).append(c.name)
    assert synthetic.NUM_CLASSES >= 30 and sum(c.partner is not None for c in synthetic.CLASSES) >= 5
    assert groups["reversal: sit down"] == ["sit down", "stand up", "sit down and stand up"]
    assert len([g for g in groups if g.startswith("reversal")]) >= 3
    assert all(len(names) >= 2 for names in groups.values())
