"""What the readers of non-NTU skeletons (issue 14) hand to ``datasets.prepare``, and the one
step that turns a raw clip of any layout into the stored ``frames``-long sample.

A reader (:mod:`datasets.nwucla`, :mod:`datasets.kinetics`, :mod:`datasets.utdmhad`,
:mod:`datasets.pyskl2d`) finds the clips, their labels and the benchmark each belongs to, and
returns a :class:`ClipSet` whose :class:`~datasets.formats.Source` yields one *raw* float32
``(C, T, V, M)`` array per clip in the clip's :class:`~datasets.layouts.Layout` (T its own
length). Parsing happens in the worker processes of ``datasets.prepare``, so an error there
names the file at fault exactly as the NTU readers' errors do.

:func:`layout_frames` makes the stored sample. It is the only place that depends on the
preprocessing module, so that when :func:`datasets.preprocess.preprocess_sample` learns about
layouts (a ``layout`` argument) this call follows it without any reader changing.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from datasets import preprocess
from datasets.formats import Source
from datasets.layouts import Layout, get_layout

#: Whether :func:`datasets.preprocess.preprocess_sample` already takes the layout itself.
_PREPROCESS_TAKES_LAYOUT = "layout" in inspect.signature(preprocess.preprocess_sample).parameters


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


def require_finite(sample: np.ndarray, where: str) -> np.ndarray:
    """Refuse NaN and inf with the file's name: the integrity scan of ``load_split`` would refuse
    the whole benchmark later, far from the file that caused it."""
    if not np.isfinite(sample).all():
        bad = int(np.count_nonzero(~np.isfinite(sample)))
        raise ValueError(f"{where}: holds {bad} non-finite values (NaN or inf); a skeleton must be finite numbers")
    return sample


def _valid_length_any(sample: np.ndarray) -> int:
    """Frames up to the last one in which any value is non-zero (2D: a frame in which no person
    was detected is all zeros; trailing ones are padding, inner ones stay as they are)."""
    busy = np.flatnonzero(np.abs(sample).reshape(sample.shape[0], sample.shape[1], -1).sum(axis=(0, 2)) != 0)
    return int(busy[-1]) + 1 if busy.size else 0


def _official_3d(sample: np.ndarray, frames: int, lay: Layout) -> np.ndarray:
    """``NTUMotionProcessor`` (methods.md §4 step 2) with the layout's centre joint and shoulders:
    relative to the centre joint of each frame, the valid frames resized to ``frames`` as cv2
    does, then the per-frame rotation about y that puts the shoulders along +x.

    Used until :func:`datasets.preprocess.preprocess_sample` takes a layout itself; it reuses
    that module's resize and rotation, whose shoulder joints (4, 8) are kinect20's as well.
    """
    length = preprocess.valid_length(sample)
    c, _, v, m = sample.shape
    if length == 0:
        return np.zeros((c, frames, v, m), dtype=np.float32)
    x = sample[:, :length]
    x = x - x[:, :, lay.center : lay.center + 1, :]
    x = preprocess.linear_resize_time(x.transpose(1, 0, 2, 3), frames).transpose(1, 0, 2, 3)
    if lay.shoulders == (preprocess.LEFT_SHOULDER, preprocess.RIGHT_SHOULDER):
        x = preprocess.y_rotation(x)
    return np.ascontiguousarray(x, dtype=np.float32)


def layout_frames(sample: np.ndarray, frames: int, layout: str | Layout) -> np.ndarray:
    """One raw ``(C, T, V, M)`` clip of ``layout`` → the stored float32 ``(C, frames, V, M)``.

    The official processor of the contrastive methods (methods.md §4 step 2) with the layout's
    valid-length rule, centre joint and shoulders, so a method sees NW-UCLA as it sees NTU:
    :func:`datasets.preprocess.preprocess_sample` with ``layout`` where it takes one (3D:
    centred per frame, resized, rotated about y; 2D: x and y centred on the layout's centre,
    the score kept, no rotation). Without that argument (an older preprocessing module) 3D
    clips get :func:`_official_3d` and 2D clips are only resized (no centring: the readers
    already normalised them as their official code does).
    """
    lay = get_layout(layout)
    sample = np.asarray(sample, dtype=np.float32)
    if _PREPROCESS_TAKES_LAYOUT:
        return preprocess.preprocess_sample(sample, frames, layout=lay)
    if lay.is_3d:
        return _official_3d(sample, frames, lay)
    length = _valid_length_any(sample)
    c, _, v, m = sample.shape
    if length == 0:
        return np.zeros((c, frames, v, m), dtype=np.float32)
    x = preprocess.linear_resize_time(sample[:, :length].transpose(1, 0, 2, 3), frames).transpose(1, 0, 2, 3)
    return np.ascontiguousarray(x, dtype=np.float32)


def layout_preprocessing_text(frames: int, layout: str | Layout, raw_frames: int) -> str:
    """The manifest's ``preprocessing`` line for a layout benchmark."""
    lay = get_layout(layout)
    if frames == raw_frames:
        return f"none: raw values, zero-padded to {raw_frames} frames after the last frame, no resampling"
    if lay.is_3d:
        return (
            f"NTUMotionProcessor (methods.md §4 step 2) on layout {lay.name}: relative to joint "
            f"{lay.center + 1} ({lay.joint_names[lay.center]}), cv2 INTER_LINEAR resize of the valid frames to "
            f"{frames}, per-frame y-rotation of the shoulders"
        )
    if _PREPROCESS_TAKES_LAYOUT:
        return (
            f"NTUMotionProcessor steps on 2D layout {lay.name}: x and y relative to joint {lay.center + 1} "
            f"({lay.joint_names[lay.center]}), score kept, cv2 INTER_LINEAR resize of the valid frames to {frames}, "
            "no rotation"
        )
    return (
        f"2D layout {lay.name}: the frames up to the last non-empty one resized to {frames} (cv2 INTER_LINEAR, "
        "scores with the coordinates); no centring or rotation"
    )
