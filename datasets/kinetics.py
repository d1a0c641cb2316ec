"""ST-GCN's Kinetics-skeleton: OpenPose 18-joint poses per video as JSON (layout ``openpose18``).

The download (``kinetics-skeleton/`` of ST-GCN's data) holds ``kinetics_train/`` and
``kinetics_val/``, one ``<video id>.json`` per video, and the official label lists
``kinetics_train_label.json`` / ``kinetics_val_label.json`` mapping each id to
``{"has_skeleton", "label", "label_index"}``. A video file is::

    {"data": [{"frame_index": k, "skeleton": [{"pose": [x0, y0, x1, y1, ...], "score": [s0, ...]}, ...]}, ...],
     "label": "...", "label_index": c}

with coordinates already divided by the frame size (0..1). What the official feeder does
(``open-mmlab/mmskeleton : feeder/feeder_kinetics.py``, the ST-GCN ``Feeder_kinetics``, read for
this module) and this reader therefore does:

* 300 frames; frame ``frame_index`` goes to slot ``frame_index`` as written (the feeder indexes
  with it directly); the first 5 skeletons listed in a frame are read;
* channels x, y, score; x and y minus 0.5, so [-0.5, 0.5], and set to 0 where the score is 0;
* the persons of *each frame* ordered by the frame's score sum, largest first, the top 2 kept
  (a per-frame sort, not one choice per clip);
* videos whose label list says ``has_skeleton: false`` are left out (``ignore_empty_sample``);
  the ``label_index`` inside a file must equal its list's.

The benchmark ``kinetics-skeleton`` keeps the official train/val lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from datasets.benchmarks import prepared_by
from datasets.clipset import ClipSet, FileSource, require_finite

FRAMES = 300
NUM_JOINTS = 18
PERSONS_IN = 5
PERSONS_OUT = 2
NUM_CLASSES = 400
(BENCHMARK,) = prepared_by("kinetics", "kinetics")
PART_FOLDERS = {"train": "kinetics_train", "val": "kinetics_val"}
#: The folder the ST-GCN release unpacks to (named like the benchmark, but a download's name).
RELEASE_FOLDER = "kinetics-skeleton"
LABEL_FILES = {"train": "kinetics_train_label.json", "val": "kinetics_val_label.json"}
SPLIT_RULE = "Kinetics-skeleton official lists: kinetics_train (train) and kinetics_val (val), has_skeleton only"


def _bad(path: Path, what: str) -> ValueError:
    return ValueError(f"{path}: {what}")


def read_video(path: Path | str, expected_label: int | None = None) -> np.ndarray:
    """One video's JSON → float32 ``(3, 300, 18, 2)`` as ST-GCN's feeder builds it (module docstring)."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except json.JSONDecodeError as err:
        raise _bad(path, f"not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); "
                         "the file is truncated or damaged") from None
    except UnicodeDecodeError:
        raise _bad(path, "not a text (JSON) file") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("data"), list):
        raise _bad(path, "expected a JSON object with a 'data' list of frames (Kinetics-skeleton format)")
    if expected_label is not None and obj.get("label_index", expected_label) != expected_label:
        raise _bad(path, f"label_index {obj.get('label_index')!r} differs from the label list's {expected_label}")
    x = np.zeros((3, FRAMES, NUM_JOINTS, PERSONS_IN), dtype=np.float64)
    for k, frame in enumerate(obj["data"]):
        try:
            t = frame["frame_index"]
            skeletons = frame["skeleton"]
        except (TypeError, KeyError):
            raise _bad(path, f"frame {k} of 'data' lacks 'frame_index' or 'skeleton'") from None
        if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t < FRAMES:
            raise _bad(path, f"frame {k} has frame_index {t!r}; the ST-GCN layout has slots 0..{FRAMES - 1}")
        for m, person in enumerate(skeletons[:PERSONS_IN]):
            try:
                pose = np.asarray(person["pose"], dtype=np.float64)
                score = np.asarray(person["score"], dtype=np.float64)
            except (TypeError, KeyError, ValueError):
                raise _bad(path, f"frame {k} person {m}: needs numeric 'pose' and 'score' lists") from None
            if pose.shape != (2 * NUM_JOINTS,) or score.shape != (NUM_JOINTS,):
                raise _bad(path, f"frame {k} person {m}: pose has {pose.size} values and score {score.size}; "
                                 f"expected {2 * NUM_JOINTS} and {NUM_JOINTS} (OpenPose 18 joints)")
            x[0, t, :, m] = pose[0::2]
            x[1, t, :, m] = pose[1::2]
            x[2, t, :, m] = score
    require_finite(x, str(path))
    x[0:2] -= 0.5
    undetected = x[2] == 0
    x[0][undetected] = 0
    x[1][undetected] = 0
    order = np.argsort(-x[2].sum(axis=1), axis=1, kind="stable")  # (T, M): persons by score, per frame
    x = np.take_along_axis(x, order[None, :, None, :], axis=3)
    return np.ascontiguousarray(x[..., :PERSONS_OUT], dtype=np.float32)


def _read_label_list(path: Path) -> dict[str, dict]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno}); the label list is damaged") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected an object mapping video ids to {{has_skeleton, label, label_index}}")
    for vid, info in obj.items():
        if not (isinstance(info, dict) and isinstance(info.get("label_index"), int)):
            raise ValueError(f"{path}: entry {vid!r} has no integer label_index")
        if not 0 <= info["label_index"] < NUM_CLASSES:
            raise ValueError(f"{path}: entry {vid!r} has label_index {info['label_index']}, outside 0..399")
    return obj


def _root(inputs: Sequence[Path]) -> Path:
    if len(inputs) != 1:
        raise ValueError("Kinetics-skeleton input is one folder (kinetics_train/, kinetics_val/ and the label lists)")
    root = Path(inputs[0])
    if (root / RELEASE_FOLDER).is_dir() and not (root / LABEL_FILES["train"]).is_file():
        root = root / RELEASE_FOLDER
    return root


def read_kinetics(inputs: Sequence[Path]) -> ClipSet:
    """Both official parts: the videos listed with a skeleton whose file is present."""
    root = _root(inputs)
    names: list[str] = []
    labels: list[int] = []
    paths: list[str] = []
    parts: dict[str, list[int]] = {"train": [], "val": []}
    absent: list[str] = []
    listed = empty = 0
    for part in ("train", "val"):
        label_path, folder = root / LABEL_FILES[part], root / PART_FOLDERS[part]
        if not label_path.is_file() or not folder.is_dir():
            raise FileNotFoundError(
                f"{root} must hold {PART_FOLDERS[part]}/ and {LABEL_FILES[part]} (ST-GCN's kinetics-skeleton download)"
            )
        entries = _read_label_list(label_path)
        for vid in sorted(entries):
            listed += 1
            if not entries[vid].get("has_skeleton", True):
                empty += 1
                continue
            p = folder / f"{vid}.json"
            if not p.is_file():
                absent.append(f"{PART_FOLDERS[part]}/{vid}.json")
                continue
            parts[part].append(len(names))
            names.append(vid)
            labels.append(int(entries[vid]["label_index"]))
            paths.append(str(p))
    if not names:
        raise FileNotFoundError(f"no Kinetics-skeleton video files listed with a skeleton under {root}")
    return ClipSet(
        dataset="kinetics",
        layout="openpose18",
        source=FileSource(paths, read_video, labels),
        names=names,
        labels=labels,
        parts={BENCHMARK: parts},
        split_rules={BENCHMARK: SPLIT_RULE},
        num_classes=NUM_CLASSES,
        body_selection="stgcn-kinetics",
        origin=[str(root.resolve())],
        coordinates="ST-GCN feeder_kinetics: x, y - 0.5 (0 where the score is 0), per-frame top-2 persons by score",
        notes={"listed_without_skeleton_skipped": empty},
        missing={"count": len(absent), "expected": listed - empty, "examples": absent[:50]},
    )
