"""Raw NTU RGB+D ``.skeleton`` files: the parser and the two body-selection rules.

File format (data.md §1, from ``shahroudy/NTURGB-D : Matlab/read_skeleton_file.m``), one item
a line, whitespace separated::

    numFrames
    per frame:  numBodies                    (may be 0: the frame has no body record)
      per body: bodyID clipedEdges handLeftConfidence handLeftState handRightConfidence
                handRightState isResticted leanX leanY trackingState      (10 fields)
                numJoints                                                 (always 25)
                25 × "x y z depthX depthY colorX colorY orientationW orientationX
                      orientationY orientationZ trackingState"            (12 values)

:func:`read_skeleton` keeps everything (the full 12-value joint record, the body fields and
the 64-bit body ID). Two rules turn a parsed file into the ``(3, T, 25, 2)`` array the suite
stores:

* ``stgcn`` — :func:`select_stgcn`: the first two bodies *as listed in each frame*, frame
  by frame, with no tracking and no denoising; frames with zero bodies stay zero. This is
  ST-GCN's ``ntu_gendata.py``/``read_xyz`` that CrosSCLR, AimCLR and SkeleMixCLR use
  (methods.md §4 step 1), hence the default.
* ``pyskl`` — :func:`select_pyskl`: bodies tracked by bodyID, short tracks (≤ 11 frames) and
  "spread" noise (x-extent > 0.8 × y-extent in ≥ 69.754 % of the frames) dropped, the rest
  ordered by motion, two slots filled by non-overlapping tracks, zero frames trimmed at both
  ends (pyskl ``tools/data/ntu_preproc.py``; data.md §1 and §4). CTR-GCN's
  ``get_raw_denoised_data.py`` applies the same thresholds; see :func:`select_pyskl` for the
  small differences.

Parsing is the hot loop of ``datasets.prepare`` (114,480 files for NTU-120), so a fast path
walks only the frame and body header lines and converts every number of the file in one
``np.fromstring`` call; any inconsistency re-parses the text with a strict line-by-line reader
whose error names the file and line. NaN or inf in a joint's x, y, z (the values the suite stores)
makes the file malformed like any other error: ``datasets.prepare`` stops on it, or lists it under
``bad_files`` with ``--skip-bad``. The other fields are kept as written.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from datasets.files import require_regular_file
from datasets.skeleton import NUM_JOINTS, NUM_PERSONS

JOINT_FIELDS: tuple[str, ...] = (
    "x",
    "y",
    "z",
    "depthX",
    "depthY",
    "colorX",
    "colorY",
    "orientationW",
    "orientationX",
    "orientationY",
    "orientationZ",
    "trackingState",
)
#: Body fields after ``bodyID`` (which is kept apart, as an exact 64-bit integer).
BODY_FIELDS: tuple[str, ...] = (
    "clipedEdges",
    "handLeftConfidence",
    "handLeftState",
    "handRightConfidence",
    "handRightState",
    "isResticted",
    "leanX",
    "leanY",
    "trackingState",
)
_JOINT_VALUES = NUM_JOINTS * len(JOINT_FIELDS)  # 300 numbers per body record
BODY_SELECTIONS = ("stgcn", "pyskl")

# pyskl / CTR-GCN denoising thresholds (data.md §1)
NOISE_LENGTH = 11
SPREAD_RATIO = 0.8
SPREAD_NOISE_FRACTION = 0.69754
_PYSKL_EPS = 1e-3


class SkeletonFormatError(ValueError):
    """A malformed or truncated skeleton file; the message is ``file:line: what is wrong``."""

    def __init__(self, source: str, line: int, message: str) -> None:
        super().__init__(f"{source}:{line}: {message}")
        self.source = source
        self.line = line


@dataclass(frozen=True)
class SkeletonSequence:
    """Every body record of one ``.skeleton`` file, in file order.

    ``B`` is the number of body records over all frames. ``body_frame[b]`` is the frame of
    record ``b`` and ``body_slot[b]`` its position among that frame's bodies (0 = listed first).
    """

    num_frames: int
    body_frame: np.ndarray  # (B,) int64
    body_slot: np.ndarray  # (B,) int64
    body_id: np.ndarray  # (B,) uint64, Kinect tracking IDs such as 72057594037931101
    body_info: np.ndarray  # (B, 9) float64, columns BODY_FIELDS
    joints: np.ndarray  # (B, 25, 12) float32, columns JOINT_FIELDS

    @property
    def num_records(self) -> int:
        return int(self.body_frame.shape[0])

    @property
    def bodies_per_frame(self) -> np.ndarray:
        """Number of bodies listed in each frame, ``(num_frames,)``; zeros are real."""
        return np.bincount(self.body_frame, minlength=self.num_frames)

    @property
    def xyz(self) -> np.ndarray:
        """Camera-space joint positions in metres, ``(B, 25, 3)``."""
        return self.joints[:, :, :3]


# --------------------------------------------------------------------------- parsing


def read_skeleton(path: Path | str) -> SkeletonSequence:
    """Parse one ``.skeleton`` file; raises :class:`SkeletonFormatError` naming file and line."""
    path = require_regular_file(path, "skeleton file")  # a FIFO would block the read
    try:
        text = path.read_bytes().decode("latin-1")
    except FileNotFoundError:
        raise FileNotFoundError(f"skeleton file {path} does not exist") from None
    return parse_skeleton_text(text, str(path))


def parse_skeleton_text(text: str, source: str = "<text>") -> SkeletonSequence:
    """Parse the text of a ``.skeleton`` file (see the module docstring for the format)."""
    fast = _parse_fast(text)
    if fast is not None:
        return fast
    return _parse_strict(text, source)


def _parse_fast(text: str) -> SkeletonSequence | None:
    """Header walk plus one vectorised number conversion; ``None`` if anything looks off."""
    lines = text.split("\n")
    try:
        num_frames = int(lines[0])
        if num_frames < 0:
            return None
        i, tok = 1, 1  # next line, number of whitespace tokens before it
        frames: list[int] = []
        slots: list[int] = []
        ids: list[int] = []
        infos: list[list[str]] = []
        joint_tok: list[int] = []
        for f in range(num_frames):
            nb = int(lines[i])
            if nb < 0:
                return None
            i += 1
            tok += 1
            for b in range(nb):
                info = lines[i].split()
                if len(info) != 10 or int(lines[i + 1]) != NUM_JOINTS:
                    return None
                ids.append(int(info[0]))
                infos.append(info[1:])
                joint_tok.append(tok + 11)
                frames.append(f)
                slots.append(b)
                i += 2 + NUM_JOINTS
                tok += 11 + _JOINT_VALUES
    except (ValueError, IndexError):
        return None
    if i > len(lines) or any(line.strip() for line in lines[i:]):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            values = np.fromstring(text, sep=" ")
        except (ValueError, DeprecationWarning):
            return None
    if values.size != tok:
        return None
    offsets = np.asarray(joint_tok, dtype=np.int64)
    joints = values[offsets[:, None] + np.arange(_JOINT_VALUES)].reshape(-1, NUM_JOINTS, len(JOINT_FIELDS))
    state = joints[:, :, 11]
    if not ((state == 0) | (state == 1) | (state == 2)).all():
        return None  # a shifted record would put a coordinate here; let the strict reader judge
    if not np.isfinite(joints[:, :, :3]).all():
        return None  # NaN or inf in x, y, z: the strict reader names the line
    try:
        body_id = np.asarray(ids, dtype=np.uint64)
        body_info = np.asarray(infos, dtype=np.float64).reshape(-1, len(BODY_FIELDS))
    except (ValueError, OverflowError):
        return None
    return SkeletonSequence(
        num_frames=num_frames,
        body_frame=np.asarray(frames, dtype=np.int64),
        body_slot=np.asarray(slots, dtype=np.int64),
        body_id=body_id,
        body_info=body_info,
        joints=joints.astype(np.float32),
    )


class _StrictLines:
    """A skeleton file's lines read one by one, every value checked: each refusal names its line."""

    def __init__(self, text: str, source: str) -> None:
        self.lines = text.split("\n")
        while self.lines and not self.lines[-1].strip():
            self.lines.pop()
        self.source, self.i = source, 0

    def fail(self, message: str) -> SkeletonFormatError:
        return SkeletonFormatError(self.source, self.i + 1, message)

    def need(self, what: str) -> str:
        if self.i >= len(self.lines):
            raise self.fail(f"unexpected end of file: expected {what}")
        return self.lines[self.i]

    def integer(self, what: str, minimum: int = 0) -> int:
        raw = self.need(what).strip()
        try:
            value = int(raw)
        except ValueError:
            raise self.fail(f"expected {what} (an integer), found {raw[:40]!r}") from None
        if value < minimum:
            raise self.fail(f"expected {what} (an integer ≥ {minimum}), found {value}")
        return value

    def numbers(self, count: int, what: str) -> list[float]:
        parts = self.need(what).split()
        if len(parts) != count:
            raise self.fail(f"expected {what}: {count} values, found {len(parts)}")
        try:
            return [float(p) for p in parts]
        except ValueError:
            bad = next(p for p in parts if not _is_float(p))
            raise self.fail(f"{bad[:40]!r} in {what} is not a number") from None

    def body(self, where: str) -> tuple[int, list[float], list[float]]:
        """One body record: its id, its 9 info fields and its joints' values, flat."""
        parts = self.need(f"the body record of {where}").split()
        if len(parts) != 10:
            raise self.fail(f"expected the 10 fields of {where} (bodyID {' '.join(BODY_FIELDS)}), found {len(parts)}")
        try:
            body_id = int(parts[0])
            if not 0 <= body_id < 2**64:
                raise ValueError
        except ValueError:
            raise self.fail(f"bodyID {parts[0][:40]!r} of {where} is not a 64-bit unsigned integer") from None
        info = self.numbers(10, f"the body record of {where}")[1:]
        self.i += 1
        nj = self.integer(f"the joint count of {where}")
        if nj != NUM_JOINTS:
            raise self.fail(f"{where} has {nj} joints; NTU RGB+D records always have {NUM_JOINTS}")
        self.i += 1
        record: list[float] = []
        for j in range(NUM_JOINTS):
            values = self.numbers(len(JOINT_FIELDS), f"joint {j + 1} of {where} ({' '.join(JOINT_FIELDS)})")
            if not all(math.isfinite(v) for v in values[:3]):
                found = " ".join(self.lines[self.i].split()[:3])
                raise self.fail(f"x y z of joint {j + 1} of {where} are not finite numbers ({found[:40]!r})")
            record += values
            self.i += 1
        return body_id, info, record


def _parse_strict(text: str, source: str) -> SkeletonSequence:
    """Line-by-line reader that validates every line; the reference for the fast path."""
    reader = _StrictLines(text, source)
    num_frames = reader.integer("the number of frames")
    reader.i = 1
    frames: list[int] = []
    slots: list[int] = []
    ids: list[int] = []
    infos: list[list[float]] = []
    joints: list[list[float]] = []
    for f in range(num_frames):
        nb = reader.integer(f"the number of bodies of frame {f + 1} of {num_frames}")
        reader.i += 1
        for b in range(nb):
            body_id, info, record = reader.body(f"body {b + 1} of {nb} in frame {f + 1}")
            frames.append(f)
            slots.append(b)
            ids.append(body_id)
            infos.append(info)
            joints.append(record)
    if reader.i < len(reader.lines):
        raise reader.fail(f"unexpected content after the last of the {num_frames} frames")
    return SkeletonSequence(
        num_frames=num_frames,
        body_frame=np.asarray(frames, dtype=np.int64),
        body_slot=np.asarray(slots, dtype=np.int64),
        body_id=np.asarray(ids, dtype=np.uint64),
        body_info=np.asarray(infos, dtype=np.float64).reshape(-1, len(BODY_FIELDS)),
        joints=np.asarray(joints, dtype=np.float64).reshape(-1, NUM_JOINTS, len(JOINT_FIELDS)).astype(np.float32),
    )


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- body selection


def select_stgcn(seq: SkeletonSequence, max_bodies: int = NUM_PERSONS) -> np.ndarray:
    """ST-GCN ``read_xyz``: body ``m < 2`` as listed in frame ``t`` goes to slot ``m``.

    Returns float32 ``(3, num_frames, 25, 2)``; frames without bodies are zeros and the
    length is the header's frame count (no trimming, no resampling).
    """
    out = np.zeros((3, seq.num_frames, NUM_JOINTS, NUM_PERSONS), dtype=np.float32)
    keep = seq.body_slot < max_bodies
    # advanced indices split by a slice put the record axis first: (K, 3, 25)
    out[:, seq.body_frame[keep], :, seq.body_slot[keep]] = seq.xyz[keep].transpose(0, 2, 1)
    return out


@dataclass
class BodyTrack:
    """All records of one bodyID, as pyskl's ``parse_skeleton_file`` collects them."""

    body_id: int
    start: int  # index among the frames that have at least one body
    kpt: np.ndarray  # (n, 25, 3) float32, consecutive appearances (gaps are not kept)
    motion: float


def body_tracks(seq: SkeletonSequence) -> list[BodyTrack]:
    """Group records by bodyID in order of first appearance.

    As in pyskl, frames with zero bodies are dropped from the time axis (``start`` counts
    only non-empty frames) and a body that disappears and returns is concatenated without a
    gap. ``motion`` is the sum over x, y, z of the variance of all its joint positions.
    """
    nonempty = np.flatnonzero(seq.bodies_per_frame > 0)
    compact = np.full(seq.num_frames, -1, dtype=np.int64)
    compact[nonempty] = np.arange(nonempty.size)
    tracks: list[BodyTrack] = []
    seen: dict[int, int] = {}
    for b, body_id in enumerate(seq.body_id.tolist()):
        if body_id not in seen:
            seen[body_id] = len(tracks)
            tracks.append(BodyTrack(body_id, int(compact[seq.body_frame[b]]), np.empty(0), 0.0))
    ids = seq.body_id
    for t in tracks:
        kpt = np.ascontiguousarray(seq.xyz[ids == np.uint64(t.body_id)])
        t.kpt = kpt
        t.motion = float(np.sum(np.var(kpt.reshape(-1, 3), axis=0)))
    return tracks


def _spread_valid_frames(kpt: np.ndarray) -> np.ndarray:
    """Frames whose x-extent is at most 0.8 × the y-extent (a standing person is taller
    than wide). The product is taken in float64 as the official numpy-1 code did."""
    x, y = kpt[:, :, 0], kpt[:, :, 1]
    x_spread = (x.max(axis=1) - x.min(axis=1)).astype(np.float64)
    y_spread = (y.max(axis=1) - y.min(axis=1)).astype(np.float64)
    return np.flatnonzero(x_spread <= SPREAD_RATIO * y_spread)


def _by_motion(tracks: list[BodyTrack]) -> list[BodyTrack]:
    return sorted(tracks, key=lambda t: -t.motion)  # stable, like list.sort in pyskl


def select_pyskl(seq: SkeletonSequence) -> np.ndarray:
    """pyskl's ``gen_keypoint_array``: denoised bodies, float32 ``(M, T, 25, 3)``, M ∈ {1, 2}.

    Steps (pyskl ``tools/data/ntu_preproc.py``):

    1. tracks by bodyID (:func:`body_tracks`), ordered by motion, largest first;
       a single track is returned as it is (M = 1, no trimming);
    2. drop tracks of ≤ 11 frames; one left → return it;
    3. spread denoising: drop a track if ≥ 69.754 % of its frames are wider than 0.8 × their
       height, otherwise lower its motion to that of its valid frames; re-order by motion;
       one left → return it;
    4. slot 0 takes the most moving track, then every further track goes to slot 0 if it
       does not overlap slot 0's span, else to slot 1 if it does not overlap slot 1's span,
       else it is dropped; frames that are zero in both slots are trimmed at both ends;
       if slot 0 starts empty and slot 1 does not, the slots are swapped.

    Where pyskl would crash (no track survives step 2 or 3) the tracks from before that step
    are kept. CTR-GCN (``get_raw_denoised_data.py``) uses the same thresholds; it differs in
    treating tracks that share exactly one frame as non-overlapping, in stopping the spread
    step once one track is left, and in dropping all-zero frames inside the sequence too.
    """
    tracks = _by_motion(body_tracks(seq))
    if not tracks:
        raise ValueError("the file has no body records")
    if len(tracks) == 1:
        return tracks[0].kpt[None]
    long_enough = [t for t in tracks if t.kpt.shape[0] > NOISE_LENGTH]
    tracks = long_enough or tracks
    if len(tracks) == 1:
        return tracks[0].kpt[None]
    kept: list[BodyTrack] = []
    for t in tracks:
        valid = _spread_valid_frames(t.kpt)
        n = t.kpt.shape[0]
        if valid.size == n:
            kept.append(t)
            continue
        if 1 - valid.size / n >= SPREAD_NOISE_FRACTION:
            continue
        motion = float(np.sum(np.var(t.kpt[valid].reshape(-1, 3), axis=0)))
        kept.append(BodyTrack(t.body_id, t.start, t.kpt, min(t.motion, motion)))
    tracks = _by_motion(kept or tracks)
    if len(tracks) == 1:
        return tracks[0].kpt[None]

    length = max(t.start + t.kpt.shape[0] for t in tracks)
    keypoint = np.zeros((NUM_PERSONS, length, NUM_JOINTS, 3), dtype=np.float32)
    first = tracks[0]
    s1, e1 = first.start, first.start + first.kpt.shape[0]
    s2 = e2 = 0
    keypoint[0, s1:e1] = first.kpt
    for t in tracks[1:]:
        s, e = t.start, t.start + t.kpt.shape[0]
        if max(s1, s) >= min(e1, e):
            keypoint[0, s:e] = t.kpt
            s1, e1 = min(s, s1), max(e, e1)
        elif max(s2, s) >= min(e2, e):
            keypoint[1, s:e] = t.kpt
            s2, e2 = min(s, s2), max(e, e2)
    energy = np.abs(keypoint).sum(axis=(0, 2, 3))
    nonzero = np.flatnonzero(energy >= _PYSKL_EPS)
    if nonzero.size:
        keypoint = keypoint[:, nonzero[0] : nonzero[-1] + 1]
    if np.abs(keypoint[0, 0, 1]).sum() < _PYSKL_EPS and np.abs(keypoint[1, 0, 1]).sum() > _PYSKL_EPS:
        keypoint = keypoint[::-1]
    return np.ascontiguousarray(keypoint)


def keypoint_to_array(keypoint: np.ndarray) -> np.ndarray:
    """pyskl ``(M, T, 25, 3)`` (M ≤ 2) → the suite's float32 ``(3, T, 25, 2)``."""
    m, t, v, c = keypoint.shape
    if v != NUM_JOINTS or c != 3 or not 1 <= m <= NUM_PERSONS:
        raise ValueError(f"keypoint has shape {keypoint.shape}; expected (M ≤ 2, T, 25, 3)")
    out = np.zeros((3, t, NUM_JOINTS, NUM_PERSONS), dtype=np.float32)
    out[..., :m] = keypoint.transpose(3, 1, 2, 0)
    return out


def select_bodies(seq: SkeletonSequence, bodies: str = "stgcn") -> np.ndarray:
    """Apply a body-selection rule by name → float32 ``(3, T, 25, 2)``."""
    if bodies == "stgcn":
        return select_stgcn(seq)
    if bodies == "pyskl":
        return keypoint_to_array(select_pyskl(seq))
    raise ValueError(f"unknown body selection {bodies!r}; choose one of {', '.join(BODY_SELECTIONS)}")


def read_ntu_sample(path: Path | str, bodies: str = "stgcn") -> np.ndarray:
    """Parse a ``.skeleton`` file and select bodies → float32 ``(3, T, 25, 2)``."""
    return select_bodies(read_skeleton(path), bodies)


# --------------------------------------------------------------------------- writing (tests, tools)


def format_skeleton(
    joints: np.ndarray,
    body_ids: list[list[int]] | None = None,
    body_info: str = "0 1 0 1 0 0 0.1 0.2 2",
) -> str:
    """Write a ``.skeleton`` text from per-frame lists of ``(25, 12)`` or ``(25, 3)`` bodies.

    ``joints`` is a list (one item per frame) of arrays ``(bodies, 25, 12|3)``; xyz-only
    bodies get zeros for the other fields and trackingState 2. Used by the tests and the
    synthetic round trips; it writes what the Kinect SDK writes, field for field.
    """
    out = [str(len(joints))]
    for f, frame in enumerate(joints):
        frame = np.asarray(frame, dtype=np.float64).reshape(-1, NUM_JOINTS, np.shape(frame)[-1])
        out.append(str(frame.shape[0]))
        for b, body in enumerate(frame):
            bid = body_ids[f][b] if body_ids is not None else 72057594037927936 + b
            out.append(f"{bid} {body_info}")
            out.append(str(NUM_JOINTS))
            for joint in body:
                if joint.shape[0] == 3:
                    joint = np.concatenate([joint, np.zeros(8), [2.0]])
                vals = [repr(float(x)) for x in joint[:11]] + [str(int(joint[11]))]
                out.append(" ".join(vals))
    return "\n".join(out) + "\n"
