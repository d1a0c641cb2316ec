"""pyskl's 2D NTU annotations (``ntu60_hrnet.pkl`` / ``ntu120_hrnet.pkl``): COCO-17 keypoints of
an HRNet pose estimator with their scores (layout ``coco17``).

The file has the form of the 3D one (data.md §4): ``{'split': {...}, 'annotations': [...]}``,
read with the data-only unpickler. Each annotation holds ``frame_dir``, ``label`` (0-based),
``keypoint`` float ``(M, T, 17, 2)`` in pixels, ``keypoint_score`` ``(M, T, 17)`` and
``img_shape`` ``(h, w)``. The ``split`` lists (``xsub_train``, ``xsub_val``, ``xview_*`` for
NTU-60, ``xset_*`` for NTU-120) give the benchmarks ``ntu60-2d-xsub``, ``ntu60-2d-xview``,
``ntu120-2d-xsub``, ``ntu120-2d-xset``.

Stored channels: x, y, score. x and y are normalised as pyskl's ``PreNormalize2D`` does,
``(x - w/2) / (w/2)`` and ``(y - h/2) / (h/2)`` with the annotation's ``img_shape`` (pyskl's
default 1080 × 1920 where it is absent), so [-1, 1] over the frame; scores unchanged. More than two
persons: the first two are kept, as pyskl's ``FormatGCNInput(num_person=2)`` truncates.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.clipset import ClipSet, require_finite
from datasets.formats import FormatError, Source
from datasets.safe_pickle import safe_load
from datasets.splits import BENCHMARKS, NUM_CLASSES, SPLIT_RULES, ntu_in_dataset, ntu_is_train

NUM_JOINTS = 17
PERSONS = 2
DEFAULT_IMG_SHAPE = (1080, 1920)  # (h, w), pyskl PreNormalize2D's default


def benchmark_id(dataset: str, bench: str) -> str:
    return f"{dataset}-2d-{bench}"


def annotation_array(ann: dict, where: str) -> np.ndarray:
    """One annotation → float32 ``(3, T, 17, 2)``: normalised x, y and the score."""
    try:
        kp = np.asarray(ann["keypoint"], dtype=np.float64)
        score = np.asarray(ann["keypoint_score"], dtype=np.float64)
    except KeyError as err:
        raise ValueError(f"{where}: no {err.args[0]!r}; a pyskl 2D annotation has keypoint and keypoint_score") from None
    if kp.ndim != 4 or kp.shape[2:] != (NUM_JOINTS, 2) or kp.shape[0] < 1:
        raise ValueError(f"{where}: keypoint has shape {kp.shape}; expected (M, T, 17, 2)")
    if score.shape != kp.shape[:3]:
        raise ValueError(f"{where}: keypoint_score has shape {score.shape}; expected {kp.shape[:3]}")
    h, w = (float(s) for s in ann.get("img_shape", DEFAULT_IMG_SHAPE)[:2])
    if h <= 0 or w <= 0:
        raise ValueError(f"{where}: img_shape {ann.get('img_shape')!r} is not a frame size")
    require_finite(kp, where)
    require_finite(score, where)
    m = min(kp.shape[0], PERSONS)
    out = np.zeros((3, kp.shape[1], NUM_JOINTS, PERSONS), dtype=np.float32)
    out[0, ..., :m] = ((kp[:m, ..., 0] - w / 2) / (w / 2)).transpose(1, 2, 0)
    out[1, ..., :m] = ((kp[:m, ..., 1] - h / 2) / (h / 2)).transpose(1, 2, 0)
    out[2, ..., :m] = score[:m].transpose(1, 2, 0)
    return out


@dataclass
class AnnotationSource(Source):
    """The annotations of the pickle, held as it gave them (it is read whole anyway)."""

    annotations: list[dict]
    origin: str

    def __len__(self) -> int:
        return len(self.annotations)

    def describe(self, i: int) -> str:
        return f"{self.origin} annotation {self.annotations[i].get('frame_dir')}"

    def load(self, i: int) -> list[np.ndarray]:
        return [annotation_array(self.annotations[i], self.describe(i))]


def find_file(roots: Sequence[Path], dataset: str) -> Path | None:
    for root in roots:
        if root.is_file():
            return root
        for name in (f"{dataset}_hrnet.pkl", f"{dataset}_2d.pkl"):
            if (root / name).is_file():
                return root / name
    return None


def read_pyskl2d(inputs: Sequence[Path], dataset: str) -> ClipSet:
    """Every benchmark of ``dataset`` whose two split lists are in the file."""
    if dataset not in ("ntu60", "ntu120"):
        raise FormatError(f"pyskl 2D annotation files exist for NTU-60 and NTU-120, not for {dataset}")
    path = find_file(inputs, dataset)
    if path is None:
        raise FileNotFoundError(f"no {dataset}_hrnet.pkl in {', '.join(map(str, inputs))}")
    try:
        obj = safe_load(path, "pyskl annotation file")
    except (pickle.UnpicklingError, EOFError) as err:
        raise FormatError(f"{path} is not a readable pickle ({err}); the file is truncated or damaged") from None
    if not (isinstance(obj, dict) and isinstance(obj.get("split"), dict) and isinstance(obj.get("annotations"), list)):
        raise FormatError(f"{path} is not a pyskl annotation file: expected a dict with 'split' and 'annotations'")
    annotations = [a for a in obj["annotations"] if a is not None]
    if annotations and "keypoint_score" not in annotations[0]:
        raise FormatError(f"{path} has no keypoint_score: it is a 3D file; use --format pyskl")
    unit: dict[str, int] = {}
    for k, ann in enumerate(annotations):
        if not isinstance(ann, dict) or "frame_dir" not in ann or "label" not in ann:
            raise FormatError(f"{path}: annotation {k} lacks frame_dir or label")
        unit.setdefault(str(ann["frame_dir"]), k)
    parts: dict[str, dict[str, list[int]]] = {}
    rules: dict[str, str] = {}
    unlisted = 0
    for bench in BENCHMARKS[dataset]:
        keys = {"train": f"{bench}_train", "val": f"{bench}_val"}
        if not all(key in obj["split"] for key in keys.values()):
            continue
        bid = benchmark_id(dataset, bench)
        parts[bid] = {}
        for part, key in keys.items():
            rows = []
            for name in obj["split"][key]:
                name = str(name)
                if name not in unit:
                    unlisted += 1
                    continue
                if not ntu_in_dataset(name, dataset) or ntu_is_train(name, dataset, bench) != (part == "train"):
                    raise FormatError(f"{path}: sample {name} of split {key} breaks the official {dataset} {bench} rule")
                rows.append(unit[name])
            parts[bid][part] = rows
        rules[bid] = SPLIT_RULES[(dataset, bench)] + " (pyskl 2D split lists)"
    if not parts:
        raise FormatError(f"{path}: its split dict has none of {', '.join(b + '_train/_val' for b in BENCHMARKS[dataset])}")
    names = [str(a["frame_dir"]) for a in annotations]
    labels = [int(a["label"]) for a in annotations]
    bad = next((k for k, lab in enumerate(labels) if not 0 <= lab < NUM_CLASSES[dataset]), None)
    if bad is not None:
        raise FormatError(f"{path}: annotation {names[bad]} has label {labels[bad]}, outside 0..{NUM_CLASSES[dataset] - 1}")
    return ClipSet(
        dataset=dataset,
        layout="coco17",
        source=AnnotationSource(annotations, str(path)),
        names=names,
        labels=labels,
        parts=parts,
        split_rules=rules,
        num_classes=NUM_CLASSES[dataset],
        body_selection="pyskl-2d",
        origin=[str(path.resolve())],
        coordinates="pyskl PreNormalize2D: (x - w/2)/(w/2), (y - h/2)/(h/2) by img_shape; first 2 persons",
        notes={"split_names_without_annotation": unlisted} if unlisted else {},
    )
