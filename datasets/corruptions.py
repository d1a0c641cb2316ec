"""Test-time corruptions of skeleton batches, each with a stated severity scale (issue 11, item 6).

None of the papers measures how a frozen encoder copes with the faults real skeleton data has:
sensor jitter, joints the tracker lost, a limb hidden behind furniture, dropped frames, another
speed of performing, the two persons' slots in the other order. :mod:`protocols.robustness`
scores the clean linear classifier on data corrupted by these functions, level by level, as
ImageNet-C does for images.

Every corruption is a pure function ``f(x, severity, rng)`` of a batch ``(N, 3, T, 25, 2)`` in
the preprocessed frame (metres, relative to the spine shoulder), vectorised over the batch, with
all randomness drawn from the explicit ``numpy.random.Generator``. It never changes its input,
returns float32, is the identity (an equal copy) at severity 0, and keeps an absent person slot
(all zeros, methods.md §1.3) all zeros. "Present" is decided per person slot: a slot with any
non-zero coordinate in the clip. It is not decided per joint, because the preprocessing's
centring makes the spine shoulder exactly zero in every frame of every present person.

The severity scales (what a level means, and what the tests check it does):

* ``gaussian_noise`` — σ in centimetres: N(0, (σ/100 m)²) added independently to every
  coordinate of every frame and joint of a present person. Levels 1, 2, 4, 8, 16 cm.
* ``joint_occlusion`` — probability p: each joint of each present person is zeroed for the whole
  clip, independently with probability p. Levels 0.1 … 0.5.
* ``limb_occlusion`` — a count k: k of the five body parts of :data:`datasets.skeleton.BODY_PARTS`
  (they cover all 25 joints), drawn per sample without replacement, are zeroed for the whole
  clip in both persons. Levels 1 … 5 (5 zeroes the whole skeleton: chance accuracy).
* ``frame_drop`` — a fraction f: ``round(f·T)`` frames per sample, drawn among frames 1 … T−1
  (frame 0 is always kept, so every gap has a frame before it), are replaced by the last kept
  frame before them; T is kept. Levels 0.1 … 0.5.
* ``speed`` — ``a = |log2 s|`` for a speed factor s: each sample is played ``2^a`` times faster or
  ``2^a`` times slower (either with probability ½) about the clip's centre: output frame t reads
  the input at ``c + (t − c)·s``, ``c = (T − 1)/2``, linearly interpolated and clamped to
  [0, T − 1] (a faster clip holds its first and last frames at the ends, a slower one shows the
  middle part of the action). Levels 0.2 … 1.0, i.e. speeds from 2^±0.2 ≈ 0.87×/1.15× to 0.5×/2×.
* ``body_swap`` — probability p: a two-person sample has its two person slots swapped with
  probability p; a one-person sample is unchanged. One level, 1.0. Every encoder of the suite
  runs both persons through one network and averages them (:mod:`methods.encoders.pooling`),
  so for them this is an invariance (retained accuracy 1.0 exactly): a check of the pipeline,
  not of the representation, and therefore left out of the summary number (``in_summary``).

Zeroing is how the Kinect SDK reports joints it lost; here it is applied after the
preprocessing, so a lost joint has the value an absent person has (a raw zero would instead
sit at minus the spine shoulder after the centring).

Other skeleton layouts (:mod:`datasets.layouts`): every corruption takes ``layout`` (default
``ntu25``; the robustness protocol passes the benchmark's). ``limb_occlusion`` draws from that
layout's body parts (Kinect v1 and COCO-17 have five too, so the levels 1 … 5 are kept), and
``gaussian_noise`` is added to the coordinate channels only: a 2D layout's score is not jittered,
and σ is in the data's units divided by 100 (centimetres for the 3D layouts; for 2D pixel data a
hundredth of a pixel per level, kept unscaled and stated rather than guessed at). Occlusion zeroes
the score with the coordinates, which is how pose estimators report a lost keypoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from datasets.layouts import Layout, get_layout
from datasets.skeleton import BODY_PARTS, NUM_JOINTS, check_layout

#: ``f(batch, severity, rng, layout=None) -> corrupted batch``
CorruptionFunction = Callable[..., np.ndarray]
LayoutLike = str | Layout | None


def present_persons(x: np.ndarray) -> np.ndarray:
    """Boolean ``(N, M)``: which person slots hold anyone (any non-zero coordinate in the clip)."""
    return np.any(x != 0, axis=(1, 2, 3))


def _start(x: np.ndarray, severity: float, what: str, high: float | None = None,
           high_inclusive: bool = True, layout: LayoutLike = None) -> np.ndarray:
    """Check the layout and the severity's range; return ``x`` as a float32 array (no copy when it is one)."""
    check_layout(x, f"{what} input", layout)
    low_ok = np.isfinite(severity) and severity >= 0
    high_ok = high is None or (severity <= high if high_inclusive else severity < high)
    if not (low_ok and high_ok):
        bound = "" if high is None else f" and {'at most' if high_inclusive else 'below'} {high:g}"
        raise ValueError(f"{what} severity must be a number ≥ 0{bound}, got {severity!r}")
    return np.asarray(x, dtype=np.float32)


def gaussian_noise(x: np.ndarray, severity: float, rng: np.random.Generator,
                   layout: LayoutLike = None) -> np.ndarray:
    """Sensor jitter: N(0, σ²) with σ = ``severity`` centimetres (``severity / 100`` in the data's
    metres) on every coordinate of every present person; absent slots get none (nor a score)."""
    x = _start(x, severity, "gaussian_noise", layout=layout)
    if severity == 0:
        return x.copy()
    noise = rng.normal(0.0, severity / 100.0, size=x.shape)
    noise[:, get_layout(layout).coordinate_channels:] = 0.0
    mask = present_persons(x)[:, None, None, None, :]
    return (x + noise * mask).astype(np.float32)


def joint_occlusion(x: np.ndarray, severity: float, rng: np.random.Generator,
                    layout: LayoutLike = None) -> np.ndarray:
    """Lost joints: each joint of each person zeroed for the whole clip with probability
    ``severity``, independently (an absent person is zero already)."""
    x = _start(x, severity, "joint_occlusion", high=1.0, layout=layout)
    if severity == 0:
        return x.copy()
    n, _, _, v, m = x.shape
    keep = rng.random((n, 1, 1, v, m)) >= severity
    return (x * keep).astype(np.float32)


def part_of_joint(body_parts: dict[str, tuple[int, ...]], num_joints: int) -> np.ndarray:
    """``(V,)``: the index (in ``body_parts``' order) of the body part each joint belongs to."""
    return np.array([next(i for i, joints in enumerate(body_parts.values()) if j in joints)
                     for j in range(num_joints)], dtype=np.int64)


#: Body part of each joint, in the order of :data:`datasets.skeleton.BODY_PARTS`.
PART_OF_JOINT = part_of_joint(BODY_PARTS, NUM_JOINTS)


def limb_occlusion(x: np.ndarray, severity: float, rng: np.random.Generator,
                   layout: LayoutLike = None) -> np.ndarray:
    """Hidden limbs: ``severity`` (an integer 0 … number of the layout's body parts, 5 for all four
    layouts) distinct body parts per sample, drawn uniformly, zeroed for the whole clip in both persons."""
    lay = get_layout(layout)
    parts = len(lay.body_parts)
    x = _start(x, severity, "limb_occlusion", high=parts, layout=lay)
    if severity != int(severity):
        raise ValueError(f"limb_occlusion severity is a number of body parts (0 … {parts}), got {severity!r}")
    k = int(severity)
    if k == 0:
        return x.copy()
    n = x.shape[0]
    chosen = np.zeros((n, parts), dtype=bool)
    picks = np.argsort(rng.random((n, parts)), axis=1)[:, :k]
    np.put_along_axis(chosen, picks, True, axis=1)
    hidden = chosen[:, part_of_joint(lay.body_parts, lay.num_joints)]  # (N, V)
    return (x * ~hidden[:, None, None, :, None]).astype(np.float32)


def dropped_frame_count(frames: int, severity: float) -> int:
    """How many of ``frames`` frames :func:`frame_drop` replaces: ``round(severity·frames)``, at most
    ``frames − 1`` (frame 0 is always kept)."""
    return min(int(round(severity * frames)), frames - 1)


def frame_drop(x: np.ndarray, severity: float, rng: np.random.Generator, layout: LayoutLike = None) -> np.ndarray:
    """Dropped frames: :func:`dropped_frame_count` frames per sample, drawn among frames 1 … T−1,
    each replaced by the last kept frame before it (a held frame), for both persons; T is kept."""
    x = _start(x, severity, "frame_drop", high=1.0, high_inclusive=False, layout=layout)
    n, _, t, _, _ = x.shape
    drop = dropped_frame_count(t, severity)
    if drop == 0:
        return x.copy()
    keep = np.ones((n, t), dtype=bool)
    dropped = np.argsort(rng.random((n, t - 1)), axis=1)[:, :drop] + 1
    np.put_along_axis(keep, dropped, False, axis=1)
    source = np.maximum.accumulate(np.where(keep, np.arange(t), 0), axis=1)  # last kept frame ≤ t
    return np.take_along_axis(x, source[:, None, :, None, None], axis=2).astype(np.float32)


def speed_factors(n: int, severity: float, rng: np.random.Generator) -> np.ndarray:
    """The ``(N,)`` speed factors of :func:`speed`: ``2^severity`` or ``2^−severity``, each with probability ½."""
    return 2.0 ** (severity * rng.choice(np.array([-1.0, 1.0]), size=n))


def speed_source_positions(frames: int, factors: np.ndarray) -> np.ndarray:
    """``(N, T)`` input positions output frames read: ``c + (t − c)·s`` clamped to [0, T − 1], ``c = (T − 1)/2``."""
    centre = (frames - 1) / 2.0
    t = np.arange(frames, dtype=np.float64)
    return np.clip(centre + (t[None, :] - centre) * factors[:, None], 0.0, frames - 1.0)


def speed(x: np.ndarray, severity: float, rng: np.random.Generator, layout: LayoutLike = None) -> np.ndarray:
    """Another speed of performing: each sample resampled in time by a factor ``2^±severity``
    (direction drawn per sample) about the clip's centre, linear interpolation, clamped at the
    ends, T kept (see :func:`speed_source_positions`)."""
    x = _start(x, severity, "speed", layout=layout)
    if severity == 0:
        return x.copy()
    n, _, t, _, _ = x.shape
    position = speed_source_positions(t, speed_factors(n, severity, rng))
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, t - 1)
    weight = (position - low)[:, None, :, None, None]
    x_low = np.take_along_axis(x, low[:, None, :, None, None], axis=2).astype(np.float64)
    x_high = np.take_along_axis(x, high[:, None, :, None, None], axis=2).astype(np.float64)
    return (x_low + (x_high - x_low) * weight).astype(np.float32)


def body_swap(x: np.ndarray, severity: float, rng: np.random.Generator, layout: LayoutLike = None) -> np.ndarray:
    """The persons in the other slots: each two-person sample has slots 0 and 1 swapped with
    probability ``severity``; one-person samples are left as they are."""
    x = _start(x, severity, "body_swap", high=1.0, layout=layout)
    out = x.copy()
    if severity == 0:
        return out
    present = present_persons(x)
    swap = present.all(axis=1) & (rng.random(x.shape[0]) < severity)
    out[swap] = x[swap][..., ::-1]
    return out


@dataclass(frozen=True)
class Corruption:
    """One corruption: its function, the severities the protocol measures, what a severity is,
    and whether it enters the protocol's one summary number."""

    name: str
    function: CorruptionFunction
    severities: tuple[float, ...]
    unit: str
    in_summary: bool = True

    def __call__(self, x: np.ndarray, severity: float, rng: np.random.Generator,
                 layout: LayoutLike = None) -> np.ndarray:
        return self.function(x, severity, rng, layout=layout)


#: Every corruption by name, in the order the protocol reports them.
CORRUPTIONS: dict[str, Corruption] = {c.name: c for c in (
    Corruption("gaussian_noise", gaussian_noise, (1, 2, 4, 8, 16), "σ of additive noise, cm"),
    Corruption("joint_occlusion", joint_occlusion, (0.1, 0.2, 0.3, 0.4, 0.5), "probability a joint is zeroed"),
    Corruption("limb_occlusion", limb_occlusion, (1, 2, 3, 4, 5), "number of body parts zeroed"),
    Corruption("frame_drop", frame_drop, (0.1, 0.2, 0.3, 0.4, 0.5), "fraction of frames held"),
    Corruption("speed", speed, (0.2, 0.4, 0.6, 0.8, 1.0), "|log2 speed factor|"),
    Corruption("body_swap", body_swap, (1.0,), "probability a two-person sample is swapped", in_summary=False),
)}


def get_corruption(name: str) -> Corruption:
    """The registered corruption ``name``, or a ValueError listing the names there are."""
    try:
        return CORRUPTIONS[name]
    except KeyError:
        raise ValueError(f"unknown corruption {name!r}; choose from {', '.join(CORRUPTIONS)}") from None
