"""The official preprocessing (methods.md §4 step 2) against literal re-derivations.

The references below are written element by element, in the order the original code
computes: cv2's generic ``resize`` (``imgproc/src/resize.cpp``: per-column offsets and weights,
a horizontal pass, then a vertical pass, all in float32), the IPP computation the stock
``opencv-python`` wheels use for float32 INTER_LINEAR, and CrosSCLR's ``parallel_skeleton``
(a 3×3 matrix per frame, angles in degrees). If OpenCV happens to be installed, the last test
compares with it directly (it is not a dependency and the test is skipped otherwise).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from datasets.preprocess import clip_normalise, linear_resize_time, preprocess_sample, valid_length, y_rotation

F32 = np.float32


def cv2_generic_resize(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """cv2.resize(img, (width, height), INTER_LINEAR) for a float32 (H, W, C) image, IPP off."""
    src_h, src_w, cn = img.shape
    if (src_h, src_w) == (height, width):
        return img.copy()
    scale_x = 1.0 / (width / src_w)
    scale_y = 1.0 / (height / src_h)
    xofs, alpha = [], []
    for dx in range(width):
        fx = F32((dx + 0.5) * scale_x - 0.5)
        sx = math.floor(fx)
        fx = F32(fx - F32(sx))
        if sx < 0:
            fx, sx = F32(0), 0
        if sx >= src_w - 1:
            fx, sx = F32(0), src_w - 1
        xofs.append(sx)
        alpha.append((F32(1) - fx, fx))
    rows = np.zeros((src_h, width, cn), dtype=F32)
    for y in range(src_h):
        for dx in range(width):
            sx, (a0, a1) = xofs[dx], alpha[dx]
            for c in range(cn):
                right = img[y, sx + 1, c] if sx + 1 < src_w else F32(0)
                rows[y, dx, c] = F32(img[y, sx, c] * a0) + F32(right * a1) if sx + 1 < src_w else img[y, sx, c] * a0
    out = np.zeros((height, width, cn), dtype=F32)
    for dy in range(height):
        fy = F32((dy + 0.5) * scale_y - 0.5)
        sy = math.floor(fy)
        fy = F32(fy - F32(sy))
        b0, b1 = F32(1) - fy, fy
        r0 = min(max(sy, 0), src_h - 1)
        r1 = min(max(sy + 1, 0), src_h - 1)
        for dx in range(width):
            for c in range(cn):
                out[dy, dx, c] = F32(rows[r0, dx, c] * b0) + F32(rows[r1, dx, c] * b1)
    return out


def ipp_resize_rows(img: np.ndarray, height: int) -> np.ndarray:
    """The IPP float32 linear resize along rows (columns unchanged), element by element."""
    src_h = img.shape[0]
    if src_h == height:
        return img.copy()
    out = np.zeros((height,) + img.shape[1:], dtype=F32)
    for dy in range(height):
        c = (dy + 0.5) * (src_h / height) - 0.5
        s = math.floor(c)
        f = F32(c - s)
        r0 = img[min(max(s, 0), src_h - 1)]
        r1 = img[min(max(s + 1, 0), src_h - 1)]
        for idx in np.ndindex(img.shape[1:]):
            step = F32(r1[idx] - r0[idx])
            out[(dy,) + idx] = F32(float(step) * float(f) + float(r0[idx]))  # one fused rounding
    return out


def parallel_skeleton_reference(person: np.ndarray) -> np.ndarray:
    """CrosSCLR feeder/NTUDatasets.py ``parallel_skeleton`` for one (C, T, V) person."""
    vec = (person[:, :, 8] - person[:, :, 4]).astype(F32)
    vec[1, :] = 0
    norm = np.sqrt(np.sum(np.square(vec), axis=0))
    cos_arg = vec[0, :] / (norm + F32(0.0001))
    thetas = np.arccos(cos_arg) * F32(180 / np.pi)
    if np.sum(vec[2, :]) >= 0:
        thetas = -thetas
    out = np.zeros_like(person)
    for t in range(person.shape[1]):
        theta = thetas[t] * F32(np.pi) / F32(180)
        tm = np.zeros((3, 3))
        tm[0, 0] = np.cos(theta)
        tm[0, 2] = -np.sin(theta)
        tm[1, 1] = 1
        tm[2, 0] = np.sin(theta)
        tm[2, 2] = np.cos(theta)
        out[:, t, :] = np.dot(tm, person[:, t, :].astype(np.float64))
    return out


def motion_processor_reference(sample: np.ndarray, frames: int, resize) -> np.ndarray:
    """NTUMotionProcessor.__getitem__ (relative, resize, y-rotation) for one (3, T, 25, 2) sample."""
    x = sample.astype(F32)
    length = int((np.abs(x[:, :, 0, 0]).sum(axis=0) != 0).sum())
    x = x - x[:, :, 20:21, :]
    out = np.zeros((3, frames, 25, 2), dtype=F32)
    for m in range(2):
        out[:, :, :, m] = resize(x[:, :length, :, m].transpose(1, 2, 0), frames).transpose(2, 0, 1)
    for m in range(2):
        out[:, :, :, m] = parallel_skeleton_reference(out[:, :, :, m])
    return out


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize(
    ("t_in", "frames"), [(1, 50), (7, 50), (50, 50), (64, 50), (103, 50), (300, 50), (37, 64), (120, 300)]
)
def test_generic_resize_is_bit_exact(t_in: int, frames: int) -> None:
    x = _rng(t_in).normal(size=(t_in, 25, 3)).astype(F32)
    ref = cv2_generic_resize(x, 25, frames)
    got = linear_resize_time(x, frames, "generic")
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize(("t_in", "frames"), [(1, 50), (7, 50), (50, 50), (103, 50), (300, 64), (58, 50)])
def test_ipp_resize_is_bit_exact_to_its_formula(t_in: int, frames: int) -> None:
    x = _rng(t_in + 1).normal(size=(t_in, 25, 3)).astype(F32)
    np.testing.assert_array_equal(linear_resize_time(x, frames), ipp_resize_rows(x, frames))


def test_resize_keeps_constant_and_linear_signals() -> None:
    ramp = np.arange(10, dtype=F32)[:, None] * np.ones((1, 4), F32)
    up = linear_resize_time(ramp, 50)
    assert up.dtype == F32 and up.shape == (50, 4)
    assert up[0, 0] == 0 and up[-1, 0] == 9  # clamped at both ends
    assert np.all(np.diff(up[:, 0]) >= 0)
    np.testing.assert_array_equal(linear_resize_time(np.full((33, 5), 2.5, F32), 50), np.full((50, 5), 2.5, F32))
    with pytest.raises(ValueError, match="zero valid frames"):
        linear_resize_time(np.zeros((0, 3), F32), 50)
    with pytest.raises(ValueError, match="unknown resize variant"):
        linear_resize_time(ramp, 50, "cubic")


def test_valid_length_counts_nonzero_frames_of_person0_joint0() -> None:
    s = np.zeros((3, 300, 25, 2), F32)
    s[:, :40, :, 0] = 1.0
    s[:, 10, 0, 0] = 0.0  # an interior zero frame shortens the count (official get_length)
    s[:, :80, :, 1] = 1.0  # person 1 does not count
    assert valid_length(s) == 39


def test_y_rotation_matches_parallel_skeleton() -> None:
    x = _rng(3).normal(size=(3, 50, 25, 2)).astype(F32)
    x[..., 1] *= 0  # absent second person stays zero
    got = y_rotation(x)
    for m in range(2):
        np.testing.assert_allclose(got[..., m], parallel_skeleton_reference(x[..., m]), rtol=0, atol=1e-6)
    assert not got[..., 1].any()


def test_y_rotation_turns_the_shoulders_onto_plus_x() -> None:
    t = 20
    a = np.linspace(0.2, 1.2, t).astype(F32)  # all z > 0: one sign for the whole sequence
    s = np.zeros((3, t, 25, 2), F32)
    s[0, :, 8, 0], s[2, :, 8, 0] = 0.2 * np.cos(a), 0.2 * np.sin(a)
    s[1, :, 3, 0] = 0.5  # the head stays up
    r = y_rotation(s)
    v = r[:, :, 8, 0] - r[:, :, 4, 0]
    assert np.all(v[0] > 0.199) and np.all(np.abs(v[2]) < 1e-3)  # +x, up to the 1e-4 of the official angle
    np.testing.assert_array_equal(r[1], s[1])


def test_y_rotation_sign_is_chosen_once_per_person() -> None:
    # a frame whose shoulders point to -z in a sequence whose z sum is positive is rotated the
    # "wrong" way, as in the official code: it lands at angle 2a, not on +x
    a = F32(0.3)
    s = np.zeros((3, 3, 25, 2), F32)
    s[0, :, 8, 0] = np.cos(a)
    s[2, :, 8, 0] = [np.sin(a), np.sin(a), -np.sin(a)]
    r = y_rotation(s)
    assert r[2, 0, 8, 0] == pytest.approx(0, abs=1e-3)
    assert r[0, 2, 8, 0] == pytest.approx(math.cos(2 * a), abs=1e-3)


@pytest.mark.parametrize("frames", [50, 64])
def test_preprocess_sample_matches_the_official_processor(frames: int) -> None:
    rng = _rng(frames)
    s = np.zeros((3, 300, 25, 2), F32)
    s[:, :93, :, 0] = rng.normal(size=(3, 93, 25)) + 2
    s[:, 20:120, :, 1] = rng.normal(size=(3, 100, 25)) - 1  # person 1 outlives person 0: cut at 93
    got = preprocess_sample(s, frames)
    ref = motion_processor_reference(s, frames, lambda img, h: ipp_resize_rows(img, h))
    assert got.shape == (3, frames, 25, 2) and got.dtype == F32
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6)
    np.testing.assert_array_equal(got[:, :, 20], 0)  # centred on joint 21
    generic = motion_processor_reference(s, frames, lambda img, h: cv2_generic_resize(img, 25, h))
    np.testing.assert_allclose(preprocess_sample(s, frames, resize="generic"), generic, rtol=0, atol=2e-6)


def test_preprocess_sample_edge_cases() -> None:
    assert not preprocess_sample(np.zeros((3, 300, 25, 2), F32), 50).any()
    s = np.zeros((3, 300, 25, 2), F32)
    s[:, :60] = 1.0
    # padding length does not matter: the valid frames are what is resized
    np.testing.assert_array_equal(preprocess_sample(s, 50), preprocess_sample(s[:, :60], 50))


def test_clip_normalise_keeps_the_path_and_the_turn() -> None:
    """Hand computation on NTU's layout (centre joint 21, shoulders 5 and 9 1-based): a body walks
    1 m along z and turns by 90°. Frame normalisation erases both; clip normalisation moves the
    first frame's centre to the origin and keeps the walk and the turn."""
    s = np.zeros((3, 2, 25, 2), F32)
    s[:, 0, 20, 0] = (1.0, 1.0, 3.0)  # spine shoulder, the centre
    s[:, 0, 4, 0] = (1.0, 1.0, 2.8)  # left shoulder: shoulders along z in frame 0
    s[:, 0, 8, 0] = (1.0, 1.0, 3.2)
    s[:, 1, 20, 0] = (1.0, 1.0, 4.0)  # frame 1: 1 m further along z, turned to face along x (shoulders along x)
    s[:, 1, 4, 0] = (0.8, 1.0, 4.0)
    s[:, 1, 8, 0] = (1.2, 1.0, 4.0)
    s[:, :, 0, 0] = s[:, :, 20, 0] - np.array([[0], [0.5], [0]], F32)  # spine base, 0.5 m below: a valid frame
    x = clip_normalise(s)
    np.testing.assert_allclose(x[:, 0, 20, 0], (0, 0, 0), atol=1e-7)
    np.testing.assert_allclose(x[:, 0, 4, 0], (0, 0, -0.2), atol=1e-6)
    np.testing.assert_allclose(x[:, 1, 20, 0], (0, 0, 1.0), atol=1e-6)  # the walk
    np.testing.assert_allclose(x[:, 1, 8, 0] - x[:, 1, 4, 0], (0.4, 0, 0), atol=1e-6)  # the turn
    np.testing.assert_allclose(x[:, 1, 0, 0], (0, -0.5, 1.0), atol=1e-6)
    assert not x[:, :, :, 1].any()  # the absent second person stays zero
    assert not x[:, :, 1:4, 0].any()  # so do absent joints
    # the official processor keeps neither: every frame's centre at 0, every frame's shoulders along x
    frame = preprocess_sample(s, 2, resize="generic")
    np.testing.assert_allclose(frame[:, 1, 20, 0], (0, 0, 0), atol=1e-7)
    assert abs(frame[2, 0, 8, 0] - frame[2, 0, 4, 0]) < 0.01  # along x but for the official 1e-4 in the arccos
    # through preprocess_sample: normalised on the valid frames, then resized as before
    np.testing.assert_array_equal(preprocess_sample(s, 2, normalise="clip"), x)
    with pytest.raises(ValueError, match="unknown normalisation 'body'; choose one of frame, clip"):
        preprocess_sample(s, 2, normalise="body")


def test_against_opencv_when_installed() -> None:
    cv2 = pytest.importorskip("cv2")
    rng = _rng(9)
    use_ipp = cv2.ipp.useIPP()
    try:
        for t_in in (1, 7, 58, 103, 300):
            x = rng.normal(size=(t_in, 25, 3)).astype(F32)
            cv2.ipp.setUseIPP(False)
            np.testing.assert_array_equal(
                linear_resize_time(x, 50, "generic"), cv2.resize(x, (25, 50), interpolation=cv2.INTER_LINEAR)
            )
            cv2.ipp.setUseIPP(True)
            ref = cv2.resize(x, (25, 50), interpolation=cv2.INTER_LINEAR)
            np.testing.assert_allclose(linear_resize_time(x, 50), ref, rtol=0, atol=3e-7)
    finally:
        cv2.ipp.setUseIPP(use_ipp)
