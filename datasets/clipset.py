"""What the readers of non-NTU skeletons (issue 14) hand to ``datasets.prepare``, and the one
step that turns a raw clip of any layout into the stored ``frames``-long sample.

A reader (:mod:`datasets.nwucla`, :mod:`datasets.kinetics`, :mod:`datasets.utdmhad`,
:mod:`datasets.pyskl2d`) finds the clips, their labels and the benchmark each belongs to, and
returns a :class:`ClipSet` whose :class:`~datasets.formats.Source` yields one *raw* float32
``(C, T, V, M)`` array per clip in the clip's :class:`~datasets.layouts.Layout` (T its own
length). Parsing happens in the worker processes of ``datasets.prepare``, so an error there
names the file at fault exactly as the NTU readers' errors do.

:func:`layout_frames` makes the stored sample with the layout-aware preprocessing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from datasets import preprocess
from datasets.formats import Source
from datasets.layouts import Layout, get_layout


@dataclass
class FileSource(Source):
    """One clip per file, parsed by ``read(path, expected_label)``, or ``read(path)`` where
    ``labels`` is None (a module-level function, so the source pickles to worker processes)."""

    paths: list[str]
    read: Callable[..., np.ndarray]
    labels: list[int] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def describe(self, i: int) -> str:
        return self.paths[i]

    def load(self, i: int) -> list[np.ndarray]:
        path = self.paths[i]
        return [self.read(path) if self.labels is None else self.read(path, self.labels[i])]


@dataclass
class ClipSet:
    """Every clip a reader found, and which benchmark part each one goes to.

    ``parts[benchmark_id][part]`` lists unit indices into ``names`` / ``labels`` / ``source``
    (one clip per unit) in the order the part is written. ``coordinates`` says in words what
    the reader did to the raw values (normalisation, person selection), for the manifest.
    """

    dataset: str
    layout: str
    source: Source
    names: list[str]
    labels: list[int]
    parts: dict[str, dict[str, list[int]]]
    split_rules: dict[str, str]
    num_classes: int
    body_selection: str
    origin: list[str]
    coordinates: str
    notes: dict = field(default_factory=dict)
    missing: dict = field(default_factory=dict)
    #: Recorded in the manifest; raised when a reader fix changes what it writes, so a folder the
    #: old reader wrote is refused (``datasets.MIN_READER_VERSION``) rather than silently reused.
    reader_version: int = 1


def require_finite(sample: np.ndarray, where: str) -> np.ndarray:
    """Refuse NaN and inf with the file's name: the integrity scan of ``load_split`` would refuse
    the whole benchmark later, far from the file that caused it."""
    if not np.isfinite(sample).all():
        bad = int(np.count_nonzero(~np.isfinite(sample)))
        raise ValueError(f"{where}: holds {bad} non-finite values (NaN or inf); a skeleton must be finite numbers")
    return sample


def layout_frames(sample: np.ndarray, frames: int, layout: str | Layout, normalise: str = "frame") -> np.ndarray:
    """One raw ``(C, T, V, M)`` clip of ``layout`` → the stored float32 ``(C, frames, V, M)``: the
    official processor of the contrastive methods (methods.md §4 step 2) with the layout's
    valid-length rule, centre joint and shoulders (:func:`datasets.preprocess.preprocess_sample`),
    so a method sees NW-UCLA as it sees NTU; ``normalise="clip"`` centres the clip once instead
    of every frame and does not turn it (:func:`datasets.preprocess.clip_normalise`)."""
    return preprocess.preprocess_sample(np.asarray(sample, dtype=np.float32), frames, layout=get_layout(layout),
                                        normalise=normalise)


def layout_preprocessing_text(frames: int, layout: str | Layout, raw_frames: int, normalise: str = "frame") -> str:
    """The manifest's ``preprocessing`` line for a layout benchmark."""
    lay = get_layout(layout)
    if frames == raw_frames:
        return f"none: raw values, zero-padded to {raw_frames} frames after the last frame, no resampling"
    if normalise == "clip":
        return (f"clip normalisation on layout {lay.name}: every frame relative to joint {lay.center + 1} "
                f"({lay.joint_names[lay.center]}) of the first frame, no rotation, then cv2 INTER_LINEAR resize of "
                f"the valid frames to {frames}")
    if lay.is_3d:
        return (
            f"NTUMotionProcessor (methods.md §4 step 2) on layout {lay.name}: relative to joint "
            f"{lay.center + 1} ({lay.joint_names[lay.center]}), cv2 INTER_LINEAR resize of the valid frames to "
            f"{frames}, per-frame y-rotation of the shoulders"
        )
    return (
        f"NTUMotionProcessor steps on 2D layout {lay.name}: x and y relative to joint {lay.center + 1} "
        f"({lay.joint_names[lay.center]}), score kept, cv2 INTER_LINEAR resize of the valid frames to {frames}, "
        "no rotation"
    )
