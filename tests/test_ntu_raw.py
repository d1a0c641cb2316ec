"""Raw NTU ``.skeleton`` parsing and the two body-selection rules (data.md §1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datasets.ntu import (
    SkeletonFormatError,
    _parse_strict,
    body_tracks,
    format_skeleton,
    parse_skeleton_text,
    read_ntu_sample,
    read_skeleton,
    select_bodies,
    select_pyskl,
    select_stgcn,
)

BIG_ID = 72057594037931101  # a real Kinect tracking ID: more than float64 can hold exactly


def joint_line(j: int, b: int, f: int, state: int = 2) -> str:
    """A hand-written 12-value joint record whose values encode (frame, body, joint)."""
    x, y, z = 0.01 * j + b, -0.02 * j + f * 0.001, 3.5 + 0.001 * j
    return (
        f"{x:.7f} {y:.7f} {z:.6f} {200 + j}.5 {100 + f}.25 {900 + j}.75 {500 + b}.5 "
        f"-0.2059419 0.05349901 0.9692109 -0.1239193 {state}"
    )


def literal_file() -> str:
    """3 frames: one body; no body; two bodies (listed second-ID first). Written by hand."""
    lines = ["3", "1", f"{BIG_ID} 0 1 1 1 1 0 0.02764709 0.05745083 2", "25"]
    lines += [joint_line(j, 0, 0) for j in range(25)]
    lines += ["0"]
    lines += ["2", "72057594037931102 1 0 0 1 1 0 -0.437266 -0.117168 2", "25"]
    lines += [joint_line(j, 1, 2, state=1) for j in range(25)]
    lines += [f"{BIG_ID} 0 1 1 1 1 0 0.02764709 0.05745083 2", "25"]
    lines += [joint_line(j, 0, 2) for j in range(25)]
    return "\n".join(lines) + "\n"


def test_parses_every_field_of_a_literal_file() -> None:
    seq = parse_skeleton_text(literal_file(), "x.skeleton")
    assert seq.num_frames == 3
    assert seq.bodies_per_frame.tolist() == [1, 0, 2]
    assert seq.body_frame.tolist() == [0, 2, 2] and seq.body_slot.tolist() == [0, 0, 1]
    assert seq.body_id.tolist() == [BIG_ID, BIG_ID + 1, BIG_ID]  # exact 64-bit IDs
    np.testing.assert_array_equal(seq.body_info[1], [1, 0, 0, 1, 1, 0, -0.437266, -0.117168, 2])
    assert seq.joints.shape == (3, 25, 12) and seq.joints.dtype == np.float32
    np.testing.assert_array_equal(
        seq.joints[1, 7],
        np.array(
            [1.07, -0.138, 3.507, 207.5, 102.25, 907.75, 501.5, -0.2059419, 0.05349901, 0.9692109, -0.1239193, 1],
            dtype=np.float64,
        ).astype(np.float32),
    )
    assert np.array_equal(seq.xyz[0, :, 2], (3.5 + 0.001 * np.arange(25)).astype(np.float32))


def test_fast_and_strict_readers_agree() -> None:
    rng = np.random.default_rng(0)
    frames = [rng.normal(size=(rng.integers(0, 4), 25, 12)) for _ in range(40)]
    for fr in frames:
        fr[..., 11] = rng.integers(0, 3, size=fr.shape[:2])
    text = format_skeleton(frames)
    fast = parse_skeleton_text(text)
    strict = _parse_strict(text, "s")
    for field in ("body_frame", "body_slot", "body_id", "body_info", "joints"):
        np.testing.assert_array_equal(getattr(fast, field), getattr(strict, field))
    assert fast.num_frames == strict.num_frames == 40
    expected = np.concatenate([f for f in frames if len(f)]).astype(np.float32)
    np.testing.assert_array_equal(fast.joints, expected)


def test_crlf_and_unusual_tracking_states_are_read() -> None:
    text = literal_file().replace("\n", "\r\n")
    assert parse_skeleton_text(text).num_records == 3
    odd = literal_file().replace(" 1\n", " 7\n")  # a trackingState outside 0..2: strict reader accepts it
    seq = parse_skeleton_text(odd)
    assert 7 in seq.joints[:, :, 11]


def test_stgcn_selection_keeps_listed_order_and_zero_body_frames() -> None:
    seq = parse_skeleton_text(literal_file())
    x = select_stgcn(seq)
    assert x.shape == (3, 3, 25, 2) and x.dtype == np.float32
    assert not x[:, 1].any()  # the frame without bodies stays zero
    np.testing.assert_array_equal(x[:, 0, :, 0], seq.xyz[0].T)
    assert not x[:, 0, :, 1].any()
    np.testing.assert_array_equal(x[:, 2, :, 0], seq.xyz[1].T)  # listed first → slot 0, whatever its ID
    np.testing.assert_array_equal(x[:, 2, :, 1], seq.xyz[2].T)


def test_stgcn_selection_drops_a_third_body() -> None:
    bodies = np.random.default_rng(1).normal(size=(3, 25, 3))
    seq = parse_skeleton_text(format_skeleton([bodies]))
    x = select_stgcn(seq)
    np.testing.assert_array_equal(x[:, 0, :, 0], bodies[0].T.astype(np.float32))
    np.testing.assert_array_equal(x[:, 0, :, 1], bodies[1].T.astype(np.float32))


# --------------------------------------------------------------------------- pyskl denoising


def person(t: int, dx: float, motion: float, seed: int, wide: bool = False) -> np.ndarray:
    """A standing person (taller than wide) at x offset ``dx``, moving with amplitude ``motion``."""
    rng = np.random.default_rng(seed)
    base = np.stack([rng.uniform(-0.2, 0.2, 25), np.linspace(-0.8, 0.7, 25), rng.uniform(2.9, 3.1, 25)], axis=1)
    if wide:  # furniture-like "body": much wider than tall
        base[:, 0], base[:, 1] = np.linspace(-1.0, 1.0, 25), rng.uniform(-0.1, 0.1, 25)
    phase = np.sin(np.linspace(0, 6, t))[:, None, None]
    out = base[None] + motion * phase * np.array([1.0, 0.2, 0.5]) + np.array([dx, 0, 0])
    return out


def frames_from_tracks(num_frames: int, tracks: list[tuple[int, int, np.ndarray]]) -> tuple[list, list]:
    """(body_id, first_frame, positions) tracks → per-frame body lists in track order."""
    frames: list[list[np.ndarray]] = [[] for _ in range(num_frames)]
    ids: list[list[int]] = [[] for _ in range(num_frames)]
    for bid, start, pos in tracks:
        for k in range(len(pos)):
            frames[start + k].append(pos[k])
            ids[start + k].append(bid)
    arrays = [np.array(f).reshape(-1, 25, 3) for f in frames]
    return arrays, ids


def test_pyskl_drops_short_and_spread_noise_and_orders_by_motion() -> None:
    calm = person(60, -0.5, 0.02, 1)
    lively = person(60, 0.5, 0.3, 2)
    blip = person(8, 1.0, 0.5, 3)  # ≤ 11 frames: noise
    sofa = person(60, 0.0, 0.9, 4, wide=True)  # wide in every frame: spread noise, though it moves most
    frames, ids = frames_from_tracks(60, [(11, 0, calm), (12, 0, sofa), (13, 0, lively), (14, 30, blip)])
    seq = parse_skeleton_text(format_skeleton(frames, ids))
    tracks = body_tracks(seq)
    assert [t.body_id for t in tracks] == [11, 12, 13, 14] and [t.kpt.shape[0] for t in tracks] == [60, 60, 60, 8]
    kp = select_pyskl(seq)
    assert kp.shape == (2, 60, 25, 3)
    np.testing.assert_allclose(kp[0], lively, atol=1e-6)  # most motion first
    np.testing.assert_allclose(kp[1], calm, atol=1e-6)
    x = select_bodies(seq, "pyskl")
    assert x.shape == (3, 60, 25, 2)
    # the ST-GCN rule, by contrast, keeps the first two listed: calm and the sofa
    st = select_stgcn(seq)
    np.testing.assert_allclose(st[:, :, :, 1].transpose(1, 2, 0), sofa, atol=1e-6)


def test_pyskl_single_body_and_zero_body_frames() -> None:
    p = person(30, 0.0, 0.1, 5)
    frames, ids = frames_from_tracks(34, [(7, 2, p)])  # frames 0, 1, 32, 33 have no body
    seq = parse_skeleton_text(format_skeleton(frames, ids))
    kp = select_pyskl(seq)
    assert kp.shape == (1, 30, 25, 3)  # zero-body frames leave the time axis
    st = select_stgcn(seq)
    assert st.shape[1] == 34 and not st[:, :2].any() and not st[:, 32:].any()


def test_pyskl_fills_slot0_with_a_non_overlapping_track_and_trims() -> None:
    first = person(20, -0.3, 0.3, 6)  # frames 0..19
    later = person(20, -0.3, 0.25, 7)  # frames 25..44: same actor re-detected with a new ID
    other = person(45, 0.6, 0.1, 8)  # frames 0..44
    frames, ids = frames_from_tracks(45, [(1, 0, first), (2, 0, other), (3, 25, later)])
    kp = select_pyskl(parse_skeleton_text(format_skeleton(frames, ids)))
    assert kp.shape == (2, 45, 25, 3)
    np.testing.assert_allclose(kp[0, :20], first, atol=1e-6)
    assert not kp[0, 20:25].any()
    np.testing.assert_allclose(kp[0, 25:], later, atol=1e-6)
    np.testing.assert_allclose(kp[1], other, atol=1e-6)


def test_pyskl_swaps_when_slot0_starts_empty() -> None:
    late_mover = person(20, 0.0, 0.5, 9)  # most motion, but starts at frame 10
    early = person(30, 0.8, 0.05, 10)
    frames, ids = frames_from_tracks(30, [(1, 10, late_mover), (2, 0, early)])
    kp = select_pyskl(parse_skeleton_text(format_skeleton(frames, ids)))
    np.testing.assert_allclose(kp[0], early, atol=1e-6)
    np.testing.assert_allclose(kp[1, 10:], late_mover, atol=1e-6)


# --------------------------------------------------------------------------- errors


def _error(text: str) -> str:
    with pytest.raises(SkeletonFormatError) as info:
        parse_skeleton_text(text, "S001C001P001R001A001.skeleton")
    return str(info.value)


def test_errors_name_the_file_and_line() -> None:
    good = literal_file().split("\n")
    assert _error("\n".join(good[:20])).startswith("S001C001P001R001A001.skeleton:21: unexpected end of file")
    bad = list(good)
    bad[9] = " ".join(bad[9].split()[:11])  # joint 6 of the first body loses a value
    assert _error("\n".join(bad)).startswith(
        "S001C001P001R001A001.skeleton:10: expected joint 6 of body 1 of 1 in frame 1"
    )
    bad = list(good)
    bad[5] = bad[5].replace("0.9692109", "0.96x2109")
    assert "S001C001P001R001A001.skeleton:6: '0.96x2109'" in _error("\n".join(bad))
    bad = list(good)
    bad[1] = "one"
    assert _error("\n".join(bad)).startswith(
        "S001C001P001R001A001.skeleton:2: expected the number of bodies of frame 1"
    )
    bad = list(good)
    bad[3] = "24"
    assert ":4: body 1 of 1 in frame 1 has 24 joints" in _error("\n".join(bad))
    assert ":86: unexpected content after the last" in _error("\n".join(good[:-1]) + "\n0\n")
    assert ":3: expected the 10 fields" in _error("\n".join(good[:2] + ["1 2 3"] + good[3:]))
    assert ":1: unexpected end of file" in _error("")


def test_read_from_disk(tmp_path: Path) -> None:
    f = tmp_path / "S001C001P001R001A001.skeleton"
    f.write_text(literal_file())
    assert read_skeleton(f).num_frames == 3
    assert read_ntu_sample(f).shape == (3, 3, 25, 2)
    assert read_ntu_sample(f, "pyskl").shape == (3, 2, 25, 2)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_skeleton(tmp_path / "missing.skeleton")
    with pytest.raises(ValueError, match="unknown body selection"):
        read_ntu_sample(f, "best")
