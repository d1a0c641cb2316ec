"""UTD-MHAD skeletons: one MATLAB file per clip, ``a{X}_s{Y}_t{Z}_skeleton.mat`` (action 1–27,
subject 1–8, trial 1–4), with the variable ``d_skel`` of shape ``(20, 3, T)`` — 20 Kinect v1
joints × (x, y, z) × frames, one person.

* Label: X − 1 (27 classes). Split (the standard cross-subject protocol of the dataset's
  paper, Chen et al., ICIP 2015): subjects 1, 3, 5, 7 train, 2, 4, 6, 8 test — benchmark
  ``utdmhad-xsub``.
* Joint order: UTD-MHAD's own, as the joint-order figure distributed with the dataset numbers
  it — 1 head, 2 shoulder_center, 3 spine, 4 hip_center, then the left arm (shoulder, elbow,
  wrist, hand), the right arm, the left leg (hip, knee, ankle, foot) and the right leg. That is
  the Kinect SDK order of layout ``kinect20`` with the four trunk joints reversed, so
  :data:`JOINT_ORDER` swaps head ↔ hip_center and shoulder_center ↔ spine and keeps the limbs
  (both orders list the left limb first, and both name sides as the Kinect SDK does). Measured
  on the real files: head to each foot is 1.50 m in this order, 0.92 m read as SDK order (which
  puts the head at the hips). Benchmarks written before this (``reader_version`` below
  :data:`READER_VERSION` in the manifest) are refused when loaded.
* ``.mat`` files are read with ``scipy.io.loadmat`` (MAT v5; scipy is imported here only).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from datasets.benchmarks import prepared_by
from datasets.clipset import ClipSet, FileSource, require_finite
from datasets.files import require_regular_file

NAME = re.compile(r"^a(\d+)_s(\d+)_t(\d+)_skeleton$")
NUM_CLASSES = 27
NUM_JOINTS = 20
TRAIN_SUBJECTS = frozenset({1, 3, 5, 7})
TEST_SUBJECTS = frozenset({2, 4, 6, 8})
#: file joint j → kinect20 joint JOINT_ORDER[j]: the trunk reversed, the limbs kept (module docstring).
JOINT_ORDER: tuple[int, ...] = (3, 2, 1, 0) + tuple(range(4, NUM_JOINTS))
JOINT_ORDER_NOTE = ("UTD-MHAD's own order (head, shoulder_center, spine, hip_center, left arm, right arm, left leg, "
                    "right leg) permuted into the Kinect SDK order of layout kinect20")
#: Version of what this reader writes; 2 since the joint order above (1 took the files as SDK order).
READER_VERSION = 2
(BENCHMARK,) = prepared_by("utdmhad", "utdmhad")
SPLIT_RULE = "UTD-MHAD cross-subject: subjects 1, 3, 5, 7 train, 2, 4, 6, 8 test"


def read_mat(path: Path | str) -> np.ndarray:
    """One ``.mat`` clip → float32 ``(3, T, 20, 1)`` in kinect20 order; a ValueError naming the file otherwise."""
    from scipy.io import loadmat  # only this reader needs scipy

    path = require_regular_file(path, "UTD-MHAD file")  # a FIFO would block the read
    try:
        mat = loadmat(str(path), variable_names=["d_skel"])
    except Exception as err:  # noqa: BLE001 - scipy fails on damaged files with IndexError, zlib errors, …
        detail = str(err) or type(err).__name__
        raise ValueError(f"{path}: not a readable MATLAB file ({detail}); the file is truncated or damaged") from None
    if "d_skel" not in mat:
        raise ValueError(f"{path}: no variable d_skel (the UTD-MHAD skeleton file format)")
    try:
        x = np.asarray(mat["d_skel"], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: d_skel is not a numeric array") from None
    if x.ndim == 2 and x.shape == (NUM_JOINTS, 3):  # a one-frame clip loses its last axis in MATLAB
        x = x[..., None]
    if x.ndim != 3 or x.shape[:2] != (NUM_JOINTS, 3) or x.shape[2] < 1:
        raise ValueError(f"{path}: d_skel has shape {x.shape}; expected (20, 3, T)")
    require_finite(x, str(path))
    out = np.zeros_like(x)
    out[list(JOINT_ORDER)] = x
    return np.ascontiguousarray(out.transpose(1, 2, 0)[..., None], dtype=np.float32)


def read_utdmhad(inputs: Sequence[Path]) -> ClipSet:
    """Every ``a*_s*_t*_skeleton.mat`` under the input folder (searched recursively)."""
    if len(inputs) != 1:
        raise ValueError("UTD-MHAD input is one folder of aX_sY_tZ_skeleton.mat files")
    root = Path(inputs[0])
    if not root.is_dir():
        raise FileNotFoundError(f"UTD-MHAD input {root} is not a folder")
    found: dict[str, tuple[Path, int, int]] = {}
    other = 0
    for p in sorted(root.rglob("*.mat")):
        m = NAME.fullmatch(p.stem)
        action, subject = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        if m is None or not 1 <= action <= NUM_CLASSES or subject not in TRAIN_SUBJECTS | TEST_SUBJECTS:
            other += 1
        elif p.stem not in found:
            found[p.stem] = (p, action - 1, subject)
    if not found:
        raise FileNotFoundError(f"no UTD-MHAD skeleton files (aX_sY_tZ_skeleton.mat) under {root}")
    names = sorted(found, key=lambda n: tuple(int(g) for g in NAME.fullmatch(n).groups()))
    labels = [found[n][1] for n in names]
    train = [i for i, n in enumerate(names) if found[n][2] in TRAIN_SUBJECTS]
    val = [i for i, n in enumerate(names) if found[n][2] in TEST_SUBJECTS]
    return ClipSet(
        dataset="utdmhad",
        layout="kinect20",
        source=FileSource([str(found[n][0]) for n in names], read_mat),
        names=names,
        labels=labels,
        parts={BENCHMARK: {"train": train, "val": val}},
        split_rules={BENCHMARK: SPLIT_RULE},
        num_classes=NUM_CLASSES,
        body_selection="utdmhad",
        origin=[str(root.resolve())],
        coordinates="as released: Kinect v1 camera space, one person",
        notes={"files_outside_dataset_ignored": other, "joint_order": JOINT_ORDER_NOTE},
        reader_version=READER_VERSION,
    )
