"""The official preprocessing from raw camera-space sequences to fixed-length arrays.

CrosSCLR, AimCLR and SkeleMixCLR all train on arrays made by ``NTUMotionProcessor``
(``LinguoLi/CrosSCLR : feeder/NTUDatasets.py``, run by ``feeder/preprocess_ntu.py`` with
``data_type='relative', t_length=50, y_rotation=True, sampling='resize'``; methods.md §4
step 2, data.md §3). Per sample, in this order:

1. valid length = number of frames in which person 0, joint 0 (spine base) is non-zero —
   a *count*, so a zero frame inside the sequence shortens the window taken in step 3;
2. relative coordinates: subtract joint 21 (spine shoulder) of each frame and each person;
3. resize frames ``[0, length)`` to T (50, or 64 for SkeleMixCLR) with ``cv2.resize`` INTER_LINEAR
   over the (time, joint) grid, each person separately, person 1 with person 0's length
   (reproduced without OpenCV by :func:`linear_resize_time`, both of cv2's computations);
4. ``parallel_skeleton`` per person: each frame is rotated about y so that the shoulder vector
   (joint 9 − joint 5, y dropped) lies along +x, by ``arccos(v_x / (|v| + 1e-4))``; the
   direction of all of a person's rotations is chosen once, from the sum of ``v_z`` over frames.

The arithmetic follows the official dtypes: float32 data, the resize rounded as cv2 rounds it,
the rotation angle in float32 (with its degree round trip) and the 3×3 product in float64
rounded back to float32. No OpenCV is needed; ``tests/test_preprocess.py`` checks
:func:`linear_resize_time` against literal per-element re-derivations of cv2's two computations
(and against cv2 itself where it happens to be installed).
The motion array the official script also writes is not produced: training never reads it
(methods.md §4).

Other skeleton layouts (:mod:`datasets.layouts`; ``layout`` argument, default ``ntu25``, whose
arrays are unchanged) get the same four steps where they mean something:

* ``kinect20`` (Kinect v1): valid length from joint 0, the hip centre (NTU's spine base plays
  that role); centred on its centre joint, the shoulder centre (NTU's spine shoulder); rotated
  about y onto its shoulders (5 and 9 1-based, the same indices as NTU's).
* ``coco17`` / ``openpose18`` (2D with a score): a frame is valid when *any* keypoint of person 0
  is non-zero, since pose estimators drop single keypoints (the face ones most of all) and a
  missing joint 0 (COCO's nose) must not shorten the clip; only x and y are centred, on the
  layout's centre (COCO: the nose, OpenPose: the neck), the score is kept; no rotation (there is
  no depth to rotate in; the layout has no ``shoulders``). The resize is the same.
"""

from __future__ import annotations

import numpy as np

from datasets.layouts import Layout, get_layout

LEFT_SHOULDER = 4
RIGHT_SHOULDER = 8
#: ``parallel_skeleton`` adds this to |v| before the arccos (so zero vectors give 90°).
ROTATION_EPS = 0.0001


def valid_length(sample: np.ndarray, layout: str | Layout | None = None) -> int:
    """Number of frames where person 0's spine base is non-zero, for a ``(C, T, V, M)`` sample.

    ``NTUMotionProcessor.get_length``: ``(abs(x[:, :, 0, 0]).sum(axis=0) != 0).sum()``. On a 3D
    layout joint 0 is the root (Kinect v1's hip centre); on a 2D one a frame counts when any
    keypoint of person 0 is non-zero (module docstring).
    """
    if get_layout(layout).is_3d:
        return int(np.count_nonzero(np.abs(sample[:, :, 0, 0]).sum(axis=0) != 0))
    return int(np.count_nonzero(np.abs(sample[:, :, :, 0]).sum(axis=(0, 2)) != 0))


RESIZE_VARIANTS = ("ipp", "generic")


def linear_resize_time(x: np.ndarray, frames: int, variant: str = "ipp") -> np.ndarray:
    """Resize axis 0 of float32 ``x`` (``(T_in, ...)``) to ``frames`` as ``cv2.resize`` INTER_LINEAR.

    The official ``real_resize`` calls ``cv2.resize(x[:length], (25, T), INTER_LINEAR)`` on a
    float32 ``(T_in, 25, 3)`` image, so only the time axis is resampled (the joint axis has
    weights 1 and 0, an exact copy), and equal sizes are a plain copy. Two computations exist:

    * ``"ipp"`` (default): what the stock ``opencv-python`` wheels compute on x86, where
      ``cv::resize`` hands float32 INTER_LINEAR to Intel IPP — and so what the published
      arrays hold. Source coordinate ``c = (d + 0.5)·(T_in/T_out) − 0.5`` in double,
      ``s = floor(c)``, ``f = float32(c − s)``, rows ``s``, ``s + 1`` clamped to
      ``[0, T_in − 1]``, blended as one fused multiply-add ``x[s] + (x[s+1] − x[s])·f``
      rounded once to float32. IPP's code is closed; this form was fitted to cv2 4.5.5 and
      4.14 (``tests/test_preprocess.py`` documents the check): it is bit-identical on 99.98 %
      of the values and 1 float32 ulp off where ``c`` is an exact integer.
    * ``"generic"``: OpenCV's own C++ path (``imgproc/src/resize.cpp``), used when IPP is off
      (``cv2.ipp.setUseIPP(False)``) or absent (e.g. ARM builds): ``scale = 1 / (T_out / T_in)``;
      ``f = float32((d + 0.5)·scale − 0.5)``; ``s = floor(f)``; ``f −= s`` in float32; blend
      ``x[s]·(1 − f) + x[s+1]·f`` in float32 (each product rounded, then the sum).
      Bit-identical to cv2 with IPP off.

    The two differ by up to ~8e-5 (metres) on 300-frame inputs, because ``generic`` rounds the
    source coordinate to float32.
    """
    t_in = x.shape[0]
    if t_in == 0:
        raise ValueError("cannot resize a sequence of zero valid frames")
    if variant not in RESIZE_VARIANTS:
        raise ValueError(f"unknown resize variant {variant!r}; choose one of {', '.join(RESIZE_VARIANTS)}")
    x = np.asarray(x, dtype=np.float32)
    if t_in == frames:
        return x.copy()
    shape = (frames,) + (1,) * (x.ndim - 1)
    dst = np.arange(frames, dtype=np.float64) + 0.5
    if variant == "ipp":
        coord = dst * (t_in / frames) - 0.5
        floor = np.floor(coord)
        frac = (coord - floor).astype(np.float32)
    else:
        coord32 = (dst * (1.0 / (frames / t_in)) - 0.5).astype(np.float32)
        floor = np.floor(coord32)
        frac = coord32 - floor
    row = floor.astype(np.int64)
    lo = x[np.clip(row, 0, t_in - 1)]
    hi = x[np.clip(row + 1, 0, t_in - 1)]
    if variant == "ipp":
        step = (hi - lo).astype(np.float64)  # float32 difference, then an exact product in double
        return (step * frac.astype(np.float64).reshape(shape) + lo).astype(np.float32)
    return lo * (np.float32(1.0) - frac).reshape(shape) + hi * frac.reshape(shape)


def y_rotation(sample: np.ndarray, shoulders: tuple[int, int] = (LEFT_SHOULDER, RIGHT_SHOULDER)) -> np.ndarray:
    """``parallel_skeleton`` on every person of a float32 ``(C, T, V, M)`` sample.

    Per person: ``v = joint 9 − joint 5`` with ``v_y = 0``; per frame
    ``θ = arccos(v_x / (|v| + 1e-4))``, negated for every frame if ``Σ_t v_z ≥ 0``; then
    ``x' = cos θ·x − sin θ·z``, ``z' = sin θ·x + cos θ·z``. The net effect turns the shoulders
    onto +x. Frames with coincident shoulders (e.g. an absent person) get θ = ±90°, which
    leaves zeros zero, as in the official code. ``shoulders`` are the (left, right) joints of the
    layout (NTU's and Kinect v1's are both 5 and 9 1-based).
    """
    sample = np.asarray(sample, dtype=np.float32)
    left, right = shoulders
    v = sample[:, :, right, :] - sample[:, :, left, :]  # (C, T, M) float32
    v[1] = 0
    norm = np.sqrt(np.sum(np.square(v), axis=0))  # (T, M)
    cos_arg = v[0] / (norm + np.float32(ROTATION_EPS))
    degrees = np.arccos(cos_arg) * np.float32(180 / np.pi)
    # one sum per person over a contiguous 1-D array, as the official per-person call does
    flip = np.array([np.sum(np.ascontiguousarray(v[2, :, m])) >= 0 for m in range(v.shape[2])])
    degrees = np.where(flip[None, :], -degrees, degrees)
    radians = degrees * np.float32(np.pi) / np.float32(180)
    cos = np.cos(radians).astype(np.float64)[:, None, :]  # (T, 1, M)
    sin = np.sin(radians).astype(np.float64)[:, None, :]
    x = sample[0].astype(np.float64)
    z = sample[2].astype(np.float64)
    out = sample.copy()
    out[0] = cos * x - sin * z
    out[2] = sin * x + cos * z
    return out


#: ``frame``: the official processor, every frame centred and turned on its own; ``clip``: one
#: origin for the whole clip, no turn (:func:`clip_normalise`).
NORMALISATIONS = ("frame", "clip")


def clip_normalise(x: np.ndarray, layout: str | Layout | None = None) -> np.ndarray:
    """Centre a ``(C, T, V, M)`` clip once, on person 0's centre joint in its first frame.

    The official processor centres every frame on its own centre joint and turns every frame so
    its shoulders lie along x, which erases where the body goes and how it turns — the cues of
    NW-UCLA's *walk around*, *sit down* and *stand up*. Here one origin serves every frame and
    person, as in CTR-GCN's NW-UCLA feeder and 2s-AGCN's NTU pre-normalisation, and nothing is
    turned: turning the clip once onto its first frame's shoulders scored lower on held-out
    training views (docs/nwucla.md). Joints that are exactly zero (an absent person) stay zero.
    """
    lay = get_layout(layout)
    x = np.array(x, dtype=np.float32)
    coords = lay.coordinate_channels
    present = np.any(x[:coords] != 0, axis=0)  # (T, V, M)
    x[:coords] -= x[:coords, 0, lay.center, 0][:, None, None, None] * present
    return x


def preprocess_sample(sample: np.ndarray, frames: int, rotate: bool = True, resize: str = "ipp",
                      layout: str | Layout | None = None, normalise: str = "frame") -> np.ndarray:
    """One raw ``(C, T_raw, V, M)`` sample → float32 ``(C, frames, V, M)`` as the official processor.

    ``resize`` picks the cv2 computation (see :func:`linear_resize_time`). ``layout`` (default
    ``ntu25``) gives the valid-length rule, the centre joint, the channels centred and whether
    the y-rotation applies (module docstring); ``rotate`` is ignored where it does not.
    ``normalise="clip"`` replaces steps 2 and 4 by :func:`clip_normalise` before the resize
    (``rotate`` does not apply).

    A sample whose person 0 never appears (valid length 0) becomes zeros; the official code
    would crash in ``cv2.resize`` there.
    """
    if normalise not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {normalise!r}; choose one of {', '.join(NORMALISATIONS)}")
    lay = get_layout(layout)
    sample = np.asarray(sample, dtype=np.float32)
    length = valid_length(sample, lay)
    c, _, v, m = sample.shape
    if length == 0:
        return np.zeros((c, frames, v, m), dtype=np.float32)
    x = sample[:, :length]
    if normalise == "clip":
        x = clip_normalise(x, lay)
        return np.ascontiguousarray(linear_resize_time(x.transpose(1, 0, 2, 3), frames, resize).transpose(1, 0, 2, 3))
    center = lay.center
    if lay.coordinate_channels == c:
        x = x - x[:, :, center : center + 1, :]
    else:  # 2D: centre x and y, keep the score
        x = x.copy()
        coords = lay.coordinate_channels
        x[:coords] = x[:coords] - x[:coords, :, center : center + 1, :]
    x = linear_resize_time(x.transpose(1, 0, 2, 3), frames, resize).transpose(1, 0, 2, 3)
    if rotate and lay.is_3d and lay.shoulders is not None:
        x = y_rotation(x, lay.shoulders)
    return np.ascontiguousarray(x, dtype=np.float32)


def preprocess_batch(data: np.ndarray, frames: int, rotate: bool = True,
                     layout: str | Layout | None = None) -> np.ndarray:
    """``(N, C, T_raw, V, M)`` → ``(N, C, frames, V, M)`` float32 (``layout`` as :func:`preprocess_sample`)."""
    out = np.empty((data.shape[0], data.shape[1], frames, data.shape[3], data.shape[4]), dtype=np.float32)
    for i in range(data.shape[0]):
        out[i] = preprocess_sample(data[i], frames, rotate, layout=layout)
    return out
