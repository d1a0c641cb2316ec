"""PKU-MMD Part I / II raw files: long skeleton videos cut into action clips as AimCLR does.

Raw layout (data.md §6):

* skeleton: one text file per video (Part I ``0002-L.txt``, Part II ``A01N01-L.txt``), one line
  per frame with 150 numbers: person 1's x y z of the 25 Kinect v2 joints, then person 2's
  (zeros when absent); whitespace separated (real files start most lines with a space);
* label: a file of the same name per video, rows ``action,start,end,confidence`` with 1-based
  inclusive frame numbers;
* splits: ``cross-subject.txt`` / ``cross-view.txt`` (Part II ``cross_subject_v2.txt`` /
  ``cross_view_v2.txt``), read by :func:`datasets.splits.read_pku_split`.

AimCLR's ``tools/pku_part{1,2}_skeleton.py`` writes each label row as an NTU-style file that
``pku_read_skeleton.read_xyz`` reads back; :func:`cut_clip` does both steps in memory:
frames ``[start-1:end]``, person 2 kept in a frame only if its 75 values do not sum to zero,
clips longer than 300 frames centre-cropped to 300. The numbers go through ``str(float64)``
and back in AimCLR, which is exact, so parsing to float64 and storing float32 is identical.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.files import require_regular_file
from datasets.ntu import SkeletonFormatError
from datasets.skeleton import NUM_JOINTS, NUM_PERSONS

PKU_VALUES_PER_FRAME = 150
MAX_CLIP_FRAMES = 300
VIEW_CODES = {"L": 1, "M": 2, "R": 3}

PART_PATTERNS = {
    "pku1": re.compile(r"^(\d{4})-([LMR])$"),
    "pku2": re.compile(r"^A(\d{2})N(\d{2})-([LMR])$"),
}
SKELETON_DIRS = ("PKU_Skeleton_Renew", "skeleton", "skeletons", "Skeleton", "Data/PKU_Skeleton_Renew")
LABEL_DIRS = ("Train_Label_PKU_final", "label", "labels", "Label", "Label/Train_Label_PKU_final")
SPLIT_FILES = {
    "pku1": {"xsub": ("cross-subject.txt", "cross_subject.txt"), "xview": ("cross-view.txt", "cross_view.txt")},
    "pku2": {
        "xsub": ("cross_subject_v2.txt", "cross-subject_v2.txt", "cross-subject.txt"),
        "xview": ("cross_view_v2.txt", "cross-view_v2.txt", "cross-view.txt"),
    },
}


@dataclass(frozen=True)
class PKULabel:
    """One label row: class (1-based), first and last frame (1-based, inclusive)."""

    action: int
    start: int
    end: int
    confidence: int
    line: int  # line number in the label file, for error messages
    index: int  # 1-based row index among the file's rows (the ``L`` of the clip name)


def read_pku_skeleton(path: Path | str) -> np.ndarray:
    """Read a raw PKU-MMD skeleton video → float64 ``(frames, 150)``.

    Blank lines are skipped (as ``np.loadtxt`` does in AimCLR); a line with another number of
    values, or a value that is not a number, raises :class:`SkeletonFormatError` naming the
    file and line.
    """
    path = require_regular_file(path, "PKU-MMD skeleton file")
    try:
        text = path.read_bytes().decode("latin-1")
    except FileNotFoundError:
        raise FileNotFoundError(f"PKU-MMD skeleton file {path} does not exist") from None
    lines = text.split("\n")
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(text, sep=" ")
        except (ValueError, DeprecationWarning):
            values = None
    if values is not None and values.size == len(nonblank) * PKU_VALUES_PER_FRAME:
        return values.reshape(len(nonblank), PKU_VALUES_PER_FRAME)
    for i in nonblank:  # slow path: find the offending line
        parts = lines[i].split()
        if len(parts) != PKU_VALUES_PER_FRAME:
            raise SkeletonFormatError(
                str(path),
                i + 1,
                f"expected {PKU_VALUES_PER_FRAME} values (2 persons × 25 joints × xyz), found {len(parts)}",
            )
        for p in parts:
            try:
                float(p)
            except ValueError:
                raise SkeletonFormatError(str(path), i + 1, f"{p[:40]!r} is not a number") from None
    raise SkeletonFormatError(str(path), 1, "could not be read as rows of 150 numbers")


def read_pku_labels(path: Path | str) -> list[PKULabel]:
    """Read a PKU-MMD label file (rows ``action,start,end,confidence``)."""
    path = require_regular_file(path, "PKU-MMD label file")
    try:
        text = path.read_text(encoding="latin-1")
    except FileNotFoundError:
        raise FileNotFoundError(f"PKU-MMD label file {path} does not exist") from None
    rows: list[PKULabel] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",") if p.strip()]
        if len(parts) < 3:
            raise ValueError(f"{path}:{lineno}: expected action,start,end,confidence; found {line.strip()[:60]!r}")
        try:
            nums = [float(p) for p in parts[:4]]
        except ValueError:
            raise ValueError(
                f"{path}:{lineno}: expected numbers action,start,end,confidence; found {line.strip()[:60]!r}"
            ) from None
        if any(v != int(v) for v in nums):
            raise ValueError(f"{path}:{lineno}: action, start and end must be integers; found {line.strip()[:60]!r}")
        action, start, end = int(nums[0]), int(nums[1]), int(nums[2])
        confidence = int(nums[3]) if len(nums) > 3 else 0
        if action < 1 or start < 1 or end < start:
            raise ValueError(
                f"{path}:{lineno}: need action ≥ 1 and 1 ≤ start ≤ end (1-based frames); found {action},{start},{end}"
            )
        rows.append(PKULabel(action, start, end, confidence, lineno, len(rows) + 1))
    return rows


def cut_clip(frames: np.ndarray, label: PKULabel, label_file: str = "<labels>") -> np.ndarray:
    """One action clip of a video → float32 ``(3, T, 25, 2)``, T ≤ 300 (AimCLR's two steps)."""
    if label.end > frames.shape[0]:
        raise ValueError(
            f"{label_file}:{label.line}: the action ends at frame {label.end} but the skeleton "
            f"file has {frames.shape[0]} frames"
        )
    clip = frames[label.start - 1 : label.end, :PKU_VALUES_PER_FRAME]
    if clip.shape[0] > MAX_CLIP_FRAMES:
        first = (clip.shape[0] - MAX_CLIP_FRAMES) // 2
        clip = clip[first : first + MAX_CLIP_FRAMES]
    t = clip.shape[0]
    persons = clip.reshape(t, NUM_PERSONS, NUM_JOINTS, 3).copy()
    second = persons[:, 1].reshape(t, -1).sum(axis=1) != 0  # body count 2 iff the sum is non-zero
    persons[~second, 1] = 0
    return np.ascontiguousarray(persons.transpose(3, 0, 2, 1), dtype=np.float32)


def clip_name(dataset: str, video: str, label: PKULabel) -> str:
    """AimCLR's clip file name: ``F002V001C012L003.skeleton`` (Part I) or
    ``A001N001V001C012L003.skeleton`` (Part II)."""
    m = PART_PATTERNS[dataset].match(video)
    if m is None:
        raise ValueError(f"{video!r} is not a {dataset} video name")
    view = VIEW_CODES[m.groups()[-1]]
    tail = f"V{view:03d}C{label.action:03d}L{label.index:03d}.skeleton"
    if dataset == "pku1":
        return f"F{int(m.group(1)):03d}" + tail
    return f"A0{m.group(1)}N0{m.group(2)}" + tail


def clip_video(dataset: str, name: str) -> str:
    """Split ID of a clip (``0002-L`` / ``A01N01-L``), as AimCLR's gendata derives it."""
    views = {1: "L", 2: "M", 3: "R"}
    if dataset == "pku1":
        m = re.match(r"^F(\d{3})V(\d{3})", name)
        if m is None:
            raise ValueError(f"{name!r} is not a PKU-MMD Part I clip name")
        return f"0{m.group(1)}-{views[int(m.group(2))]}"
    m = re.match(r"^A0(\d{2})N0(\d{2})V(\d{3})", name)
    if m is None:
        raise ValueError(f"{name!r} is not a PKU-MMD Part II clip name")
    return f"A{m.group(1)}N{m.group(2)}-{views[int(m.group(3))]}"


@dataclass(frozen=True)
class PKUInput:
    """Where the pieces of a raw PKU-MMD download are."""

    skeleton_dir: Path
    label_dir: Path
    split_files: dict[str, Path]  # benchmark → split file (only those found)
    ignore_list: Path | None


def _first_existing(root: Path, names: tuple[str, ...], kind: str) -> Path | None:
    for name in names:
        p = root / name
        if p.is_dir() if kind == "dir" else p.is_file():
            return p
    return None


def discover_pku(root: Path | str, dataset: str) -> PKUInput:
    """Find the skeleton folder, label folder and split files under ``root``.

    Accepted folder names: skeletons in one of ``PKU_Skeleton_Renew/``, ``skeleton/``,
    ``skeletons/``; labels in ``Train_Label_PKU_final/``, ``label/`` or ``labels/``. Split files
    may sit in ``root`` or in ``root/Split/``. An optional ``samples_with_missing_skeletons*.txt``
    (clip names, AimCLR's ignore list) is honoured.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"PKU-MMD input {root} is not a folder")
    skel = _first_existing(root, SKELETON_DIRS, "dir")
    labels = _first_existing(root, LABEL_DIRS, "dir")
    if skel is None or labels is None:
        raise FileNotFoundError(
            f"{root} must hold a skeleton folder ({' or '.join(SKELETON_DIRS[:3])}) and a label folder "
            f"({' or '.join(LABEL_DIRS[:3])}) of the PKU-MMD download"
        )
    splits: dict[str, Path] = {}
    for bench, names in SPLIT_FILES[dataset].items():
        found = _first_existing(root, names, "file") or _first_existing(root / "Split", names, "file")
        if found is not None:
            splits[bench] = found
    ignore = sorted(root.glob("samples_with_missing_skeletons*.txt"))
    return PKUInput(skel, labels, splits, ignore[0] if ignore else None)
