"""NW-UCLA (Northwestern-UCLA Multiview Action 3D) as the CTR-GCN release ships it (data.md §7).

The release (``all_sqe.zip``, linked from ``Uason-Chen/CTR-GCN``'s README) is one JSON file per
clip, ``all_sqe/a{AA}_s{SS}_e{EE}_v{VV}.json`` — action, subject, episode, view — holding

* ``skeletons``: a list of T frames of 20 joints × (x, y, z), one person, Kinect v1 in the SDK
  joint order (layout ``kinect20``; CTR-GCN's ``graph/ucla.py`` edges);
* ``label``: the class, 1-based (1–10). The ten actions have the codes 01–06, 08, 09, 11, 12,
  so class = position of the code in :data:`ACTION_CODES` + 1 (CTR-GCN's feeder lists
  ``a08`` as 7, ``a12`` as 10). The reader stores it 0-based and refuses a file whose label and
  name disagree.

The standard cross-view protocol (CTR-GCN's ``feeders/feeder_ucla.py``: every ``_v03`` clip in
the validation list, views 1 and 2 in the training list) is the benchmark ``nwucla-xview``.
CTR-GCN's lists hold 1,484 clips (data.md §7); a download with fewer is prepared with a warning.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.benchmarks import prepared_by
from datasets.clipset import ClipSet, FileSource, require_finite
from datasets.files import require_regular_file

NAME = re.compile(r"^a(\d{2})_s(\d{2})_e(\d{2})_v(\d{2})$")
#: The action codes of the ten classes, in class order (class k+1 is code ACTION_CODES[k]).
ACTION_CODES: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
TRAIN_VIEWS = frozenset({1, 2})
TEST_VIEWS = frozenset({3})
#: Clips in CTR-GCN's training and validation lists together (data.md §7).
RELEASE_CLIPS = 1484
NUM_JOINTS = 20
(BENCHMARK,) = prepared_by("nwucla", "nwucla")
SPLIT_RULE = "NW-UCLA cross-view: views 1 and 2 train, view 3 tests (CTR-GCN feeders/feeder_ucla.py)"


@dataclass(frozen=True)
class ClipName:
    action: int
    subject: int
    episode: int
    view: int

    @property
    def label(self) -> int:
        """0-based class."""
        return ACTION_CODES.index(self.action)


def parse_clip_name(stem: str) -> ClipName | None:
    """``a08_s02_e01_v03`` → its fields; None for a name that is not an NW-UCLA clip of the ten actions."""
    m = NAME.fullmatch(stem)
    if m is None:
        return None
    clip = ClipName(*(int(g) for g in m.groups()))
    return clip if clip.action in ACTION_CODES else None


def read_clip(path: Path | str, expected_label: int | None = None) -> np.ndarray:
    """One clip's JSON → float32 ``(3, T, 20, 1)``; a ValueError naming the file for anything else.

    A file that is truncated or not JSON, lacks ``skeletons``, holds another shape, non-numbers or
    non-finite values, or whose ``label`` disagrees with ``expected_label`` (0-based, from the
    file name) is refused.
    """
    path = require_regular_file(path, "NW-UCLA clip file")  # a FIFO would block the open
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err.msg} at line {err.lineno} column {err.colno}); "
                         "the file is truncated or damaged") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text (JSON) file") from None
    if not isinstance(obj, dict) or "skeletons" not in obj:
        raise ValueError(f"{path}: expected a JSON object with the key 'skeletons' (the NW-UCLA release format)")
    if expected_label is not None and "label" in obj:
        label = obj["label"]
        if not isinstance(label, int) or isinstance(label, bool) or label - 1 != expected_label:
            raise ValueError(
                f"{path}: label {label!r} disagrees with the file name, whose action code is class "
                f"{expected_label + 1} (1-based)"
            )
    try:
        x = np.asarray(obj["skeletons"], dtype=np.float64)
    except (ValueError, TypeError):
        raise ValueError(f"{path}: 'skeletons' must be T frames of 20 joints x 3 numbers") from None
    if x.ndim != 3 or x.shape[0] < 1 or x.shape[1:] != (NUM_JOINTS, 3):
        raise ValueError(f"{path}: 'skeletons' has shape {x.shape}; expected (T >= 1, 20, 3)")
    require_finite(x, str(path))
    return np.ascontiguousarray(x.transpose(2, 0, 1)[..., None], dtype=np.float32)


def clip_folder(root: Path) -> Path:
    """The folder holding the clip files: ``root/all_sqe`` if there is one, else ``root`` itself."""
    return root / "all_sqe" if (root / "all_sqe").is_dir() else root


def absent_views(clips: Sequence[ClipName]) -> list[str]:
    """Names of the clips missing from the views of an episode that another view has.

    The three Kinect cameras filmed every episode at once, so an episode found in one view and
    not in another names a clip that the download lacks. This is all a reader can name without
    CTR-GCN's hard-coded list; an episode absent from every view is only counted."""
    views: dict[tuple[int, int, int], set[int]] = {}
    for c in clips:
        views.setdefault((c.action, c.subject, c.episode), set()).add(c.view)
    return sorted(f"a{a:02d}_s{s:02d}_e{e:02d}_v{v:02d}" for (a, s, e), seen in views.items()
                  for v in sorted(TRAIN_VIEWS | TEST_VIEWS) if v not in seen)


def read_nwucla(inputs: Sequence[Path]) -> ClipSet:
    """Find the clips under the input folder and assign each to the cross-view benchmark."""
    if len(inputs) != 1:
        raise ValueError("NW-UCLA input is one folder: the all_sqe/ folder of the release, or the folder holding it")
    root = Path(inputs[0])
    if not root.is_dir():
        raise FileNotFoundError(f"NW-UCLA input {root} is not a folder")
    folder = clip_folder(root)
    clips: dict[str, tuple[Path, ClipName]] = {}
    other = 0
    for p in sorted(folder.glob("*.json")):
        clip = parse_clip_name(p.stem)
        if clip is None or clip.view not in TRAIN_VIEWS | TEST_VIEWS:
            other += 1
        else:
            clips[p.stem] = (p, clip)
    if not clips:
        raise FileNotFoundError(
            f"no NW-UCLA clip files (aAA_sSS_eEE_vVV.json) in {folder}; give the all_sqe/ folder of the "
            "CTR-GCN release or the folder that holds it"
        )
    names = sorted(clips)
    train = [i for i, n in enumerate(names) if clips[n][1].view in TRAIN_VIEWS]
    val = [i for i, n in enumerate(names) if clips[n][1].view in TEST_VIEWS]
    labels = [clips[n][1].label for n in names]
    missing = {"count": max(0, RELEASE_CLIPS - len(names)), "expected": RELEASE_CLIPS,
               "by_view": {f"v{v:02d}": sum(clips[n][1].view == v for n in names) for v in (1, 2, 3)},
               "examples": absent_views([clips[n][1] for n in names])[:50]}
    return ClipSet(
        dataset="nwucla",
        layout="kinect20",
        source=FileSource([str(clips[n][0]) for n in names], read_clip, labels),
        names=names,
        labels=labels,
        parts={BENCHMARK: {"train": train, "val": val}},
        split_rules={BENCHMARK: SPLIT_RULE},
        num_classes=len(ACTION_CODES),
        body_selection="nwucla",
        origin=[str(folder.resolve())],
        coordinates="as released: Kinect v1 camera space, one person",
        notes={"files_outside_dataset_ignored": other},
        missing=missing,
    )
