"""Test-time corruptions (datasets.corruptions) do what their severity says, and the robustness
protocol (protocols.robustness) runs end to end and refuses what it cannot measure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from datasets.corruptions import (
    CORRUPTIONS,
    PART_OF_JOINT,
    body_swap,
    dropped_frame_count,
    frame_drop,
    gaussian_noise,
    joint_occlusion,
    limb_occlusion,
    speed,
    speed_source_positions,
)
from datasets.skeleton import BODY_PARTS
from protocols import robustness


def batch(n: int = 64, t: int = 50, seed: int = 0, two_person_every: int = 2) -> np.ndarray:
    """Random skeletons with no zero coordinate in present slots; every ``two_person_every``-th
    sample has a second person, the others an all-zero slot 1."""
    x = np.random.default_rng(seed).normal(0.0, 0.3, size=(n, 3, t, 25, 2)).astype(np.float32)
    x[np.abs(x) < 1e-3] = 1e-3
    x[np.arange(n) % two_person_every != 0, ..., 1] = 0.0
    return x


def rng(seed: int = 1) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_severity_zero_is_the_identity_and_the_input_is_untouched(name):
    x = batch()
    before = x.copy()
    out = CORRUPTIONS[name](x, 0, rng())
    assert out.dtype == np.float32 and out is not x and np.array_equal(out, x)
    top = CORRUPTIONS[name].severities[-1]
    CORRUPTIONS[name](x, top, rng())
    assert np.array_equal(x, before)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_absent_persons_stay_zero_and_seeds_reproduce(name):
    x = batch()
    absent = ~np.any(x != 0, axis=(1, 2, 3))
    for severity in CORRUPTIONS[name].severities:
        out = CORRUPTIONS[name](x, severity, rng(7))
        assert out.shape == x.shape and out.dtype == np.float32
        assert not np.any(out.transpose(0, 4, 1, 2, 3)[absent]), (name, severity)
        assert np.array_equal(out, CORRUPTIONS[name](x, severity, rng(7)))
    if name != "body_swap":  # one level, swapped exactly: the same for any seed
        assert not np.array_equal(CORRUPTIONS[name](x, CORRUPTIONS[name].severities[0], rng(7)),
                                  CORRUPTIONS[name](x, CORRUPTIONS[name].severities[0], rng(8)))


@pytest.mark.parametrize("sigma_cm", [1, 4, 16])
def test_gaussian_noise_std_is_sigma_in_centimetres(sigma_cm):
    x = batch(n=128)
    present = np.any(x != 0, axis=(1, 2, 3))
    diff = (gaussian_noise(x, sigma_cm, rng()) - x).transpose(0, 4, 1, 2, 3)
    assert diff[present].std() == pytest.approx(sigma_cm / 100, rel=0.02)
    assert abs(diff[present].mean()) < 0.01 * sigma_cm / 100


@pytest.mark.parametrize("p", [0.1, 0.3, 0.5])
def test_joint_occlusion_zeroes_a_fraction_p_of_joints_for_the_whole_clip(p):
    x = batch(n=256)
    out = joint_occlusion(x, p, rng())
    present = np.any(x != 0, axis=(1, 2, 3))  # (N, M)
    zeroed = ~np.any(out != 0, axis=(1, 2))  # (N, V, M): joint zero in every frame
    changed = np.any(out != x, axis=(1, 2))
    assert np.array_equal(zeroed & present[:, None, :], changed)  # a joint is either kept whole or zeroed whole
    fraction = zeroed.transpose(0, 2, 1)[present].mean()
    assert fraction == pytest.approx(p, abs=0.02)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_limb_occlusion_zeroes_exactly_k_body_parts(k):
    x = batch()
    out = limb_occlusion(x, k, rng())
    for i in range(len(x)):
        zero_parts = 0
        for part, joints in enumerate(BODY_PARTS.values()):
            joints = list(joints)
            if not np.any(out[i][:, :, joints]):
                zero_parts += 1
            else:
                assert np.array_equal(out[i][:, :, joints], x[i][:, :, joints]), (i, part)
        assert zero_parts == k
    assert sorted(set(PART_OF_JOINT.tolist())) == list(range(5))


def test_limb_occlusion_draws_every_part_and_refuses_a_fraction():
    x = batch(n=200)
    out = limb_occlusion(x, 1, rng())
    hidden = [int(np.argmax([not np.any(out[i][:, :, list(j)]) for j in BODY_PARTS.values()])) for i in range(len(x))]
    assert set(hidden) == set(range(5))
    with pytest.raises(ValueError, match="number of body parts"):
        limb_occlusion(x, 1.5, rng())
    with pytest.raises(ValueError, match="at most 5"):
        limb_occlusion(x, 6, rng())


@pytest.mark.parametrize("t", [50, 64])
@pytest.mark.parametrize("f", [0.1, 0.3, 0.5])
def test_frame_drop_holds_the_stated_fraction_of_frames(f, t):
    x = batch(t=t)
    out = frame_drop(x, f, rng())
    held = np.all(out[:, :, 1:] == out[:, :, :-1], axis=(1, 3, 4))  # (N, T-1): frame t+1 repeats frame t
    assert np.all(held.sum(axis=1) == dropped_frame_count(t, f)) and dropped_frame_count(t, f) == round(f * t)
    assert np.array_equal(out[:, :, 0], x[:, :, 0])
    for i in range(4):  # every frame is an input frame no later than itself, the kept ones in place
        kept = np.flatnonzero(~np.concatenate([[False], held[i]]))
        assert np.array_equal(out[i][:, kept], x[i][:, kept])
        for s in range(t):
            source = kept[kept <= s].max()
            assert np.array_equal(out[i][:, s], x[i][:, source])
    with pytest.raises(ValueError, match="below 1"):
        frame_drop(x, 1.0, rng())


@pytest.mark.parametrize("a", [0.2, 0.6, 1.0])
def test_speed_resamples_time_by_two_to_the_plus_or_minus_severity(a):
    t = 50
    x = np.zeros((40, 3, t, 25, 2), np.float32)
    x[:, 0] = np.arange(t, dtype=np.float32)[None, :, None, None]  # x coordinate = frame index
    x[:, 1:] = 1.0
    out = speed(x, a, rng())
    faster, slower = (speed_source_positions(t, np.array([s]))[0] for s in (2.0 ** a, 2.0 ** -a))
    seen = set()
    for i in range(len(x)):
        read = out[i, 0, :, 0, 0]
        if np.allclose(read, faster, atol=1e-4):
            seen.add("faster")
        else:
            assert np.allclose(read, slower, atol=1e-4)
            seen.add("slower")
        assert np.array_equal(out[i, 1:], x[i, 1:])
    assert seen == {"faster", "slower"}
    assert faster[0] == 0 and faster[-1] == t - 1 and np.isclose(faster[1] - faster[0], 0)  # held at both ends
    assert np.allclose(np.diff(slower), 2.0 ** -a)


def test_body_swap_swaps_two_person_samples_only():
    x = batch()
    two = np.arange(len(x)) % 2 == 0
    out = body_swap(x, 1.0, rng())
    assert np.array_equal(out[two], x[two][..., ::-1]) and np.array_equal(out[~two], x[~two])
    y = batch(n=400)
    two400 = np.arange(400) % 2 == 0
    out = body_swap(y, 0.5, rng())
    moved = np.array([not np.array_equal(out[i], y[i]) for i in np.flatnonzero(two400)])
    assert moved.mean() == pytest.approx(0.5, abs=0.1)


@pytest.mark.parametrize("name", list(CORRUPTIONS))
def test_negative_or_non_finite_severities_are_refused(name):
    for bad in (-0.1, float("nan")):
        with pytest.raises(ValueError, match=f"{name} severity"):
            CORRUPTIONS[name](batch(n=2), bad, rng())


def test_corrupted_data_do_not_depend_on_how_they_are_read():
    x = batch(n=robustness.BLOCK + 40)
    data = robustness.CorruptedData(x, CORRUPTIONS["joint_occlusion"], 0.3, seed=0)
    whole = data[0 : len(x)]
    pieces = np.concatenate([data[s : s + 100] for s in range(0, len(x), 100)])
    assert np.array_equal(whole, pieces) and whole.shape == x.shape and not np.array_equal(whole, x)
    other = robustness.CorruptedData(x, CORRUPTIONS["joint_occlusion"], 0.3, seed=1)[0 : len(x)]
    assert not np.array_equal(whole, other)


def test_metrics_by_hand():
    m = robustness.robustness_metrics(80.0, 95.0, {"a": {"1": 40.0, "2": 20.0}, "b": {"1": 80.0}, "c": {"1": 80.0}},
                                      summary=["a", "b"])
    assert m["relative"] == {"a": 0.375, "b": 1.0, "c": 1.0} and m["mean_relative"] == 0.6875
    assert m["top1"] == 80.0 and m["top5"] == 95.0
    zero = robustness.robustness_metrics(0.0, 10.0, {"a": {"1": 0.0}}, summary=["a"])
    assert zero["relative"] == {"a": None} and zero["mean_relative"] is None


def test_end_to_end_record(tiny_root, tmp_path, capsys):
    code = robustness.main(["--method", "skeletonclr", "--checkpoint", "random", "--data-root", str(tiny_root),
                            "--epochs", "2", "--corruptions", "gaussian_noise,frame_drop", "--results-dir",
                            str(tmp_path), "--json"])
    assert code == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["protocol"] == "robustness" and record["bn_statistics"] == "precise"
    m = record["metrics"]
    assert set(m) == {"top1", "top5", "robustness", "relative", "mean_relative"}
    assert set(m["robustness"]) == set(m["relative"]) == {"gaussian_noise", "frame_drop"}  # records sort keys
    assert set(m["robustness"]["gaussian_noise"]) == {"1", "2", "4", "8", "16"}
    assert set(m["robustness"]["frame_drop"]) == {"0.1", "0.2", "0.3", "0.4", "0.5"}
    assert all(0 <= v <= 100 for levels in m["robustness"].values() for v in levels.values())
    for name, levels in m["robustness"].items():
        assert m["relative"][name] == pytest.approx(np.mean(list(levels.values())) / m["top1"], abs=1e-3)
    assert m["mean_relative"] == pytest.approx(np.mean(list(m["relative"].values())), abs=1e-4)
    assert record["protocol_config"]["epochs"] == 2
    assert set(record["protocol_config"]["corruptions"]) == {"gaussian_noise", "frame_drop"}
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_unknown_corruption_is_refused(tiny_root, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        robustness.main(["--method", "skeletonclr", "--checkpoint", "random", "--data-root", str(tiny_root),
                         "--corruptions", "gaussian_noise,fog", "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and len(err.splitlines()) == 1
    assert err.startswith("error: ") and "unknown corruption 'fog'" in err
    assert not list(tmp_path.iterdir())
