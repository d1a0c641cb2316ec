"""AimCLR (methods.md §2.3): extreme augmentations, EADM, D³M and NNM against hand computations,
one training step, the switch to mining, and a tiny end-to-end run."""

import json
import math

import numpy as np
import pytest
import torch

import methods.aimclr as aimclr
from datasets.augment import (
    DEFAULT_EXTREME_CHAIN,
    EXTREME_CHAIN_WITH_TIME_FLIP,
    FIRST_RELEASE_CHAIN,
    ExtremeView,
    axis_mask,
    axis_rotation,
    blur_along_time,
    extreme_view,
    gaussian_blur,
    gaussian_kernel,
    gaussian_noise,
    make_extreme_view,
    normal_view,
    rotate,
    rotation_angles,
    rotation_matrix,
    spatial_flip,
    temporal_flip,
)
from datasets.skeleton import FLIP_PERMUTATION, bone_stream
from methods import get_method, load_encoder
from methods.aimclr import (
    AimCLR,
    attention_drop,
    d3m_loss,
    nnm_mask,
    simam_attention,
    spatial_drop,
    temporal_drop,
)
from methods.base import MethodConfig
from methods.presets import PAPER_MINING_150, QUICK_EPOCHS
from methods.pretrain import pretrain


def sample(seed=0, t=20):
    return np.random.default_rng(seed).normal(size=(3, t, 25, 2))


# ------------------------------------------------------------------ extreme augmentation
def test_spatial_flip_permutes_joints_and_never_negates():
    x = sample()
    y = spatial_flip(x, np.random.default_rng(0), p=1.0)
    np.testing.assert_array_equal(y, x[:, :, list(FLIP_PERMUTATION)])
    np.testing.assert_array_equal(y[:, :, 4], x[:, :, 8])  # left shoulder <- right shoulder
    np.testing.assert_array_equal(y[:, :, 21], x[:, :, 23])  # left hand tip <- right hand tip
    np.testing.assert_array_equal(y[:, :, [0, 1, 2, 3, 20]], x[:, :, [0, 1, 2, 3, 20]])  # spine stays
    np.testing.assert_array_equal(np.sort(y, axis=2), np.sort(x, axis=2))  # same values per frame: no sign flip
    assert spatial_flip(x, np.random.default_rng(0), p=0.0) is x


def test_rotation_angles_axes_and_orthonormality():
    rng = np.random.default_rng(0)
    mains = []
    for _ in range(300):
        main, angles = rotation_angles(rng)
        mains.append(main)
        others = np.delete(angles, main)
        assert 0 <= angles[main] <= 30 and np.all((others >= 0) & (others <= 1))
        r = rotation_matrix(angles)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)
    assert set(mains) == {0, 1, 2} and max(np.bincount(mains)) < 130  # roughly uniform
    x = sample(1)
    _, angles = rotation_angles(np.random.default_rng(4))
    expected = np.einsum("ij,jtvm->itvm", rotation_matrix(angles), x)
    np.testing.assert_allclose(rotate(x, np.random.default_rng(4)), expected)


def test_rotation_official_sign_and_sequential_order():
    e_y = np.array([0.0, 1.0, 0.0])
    # official x matrix [[1,0,0],[0,c,s],[0,-s,c]]: 90 degrees takes y to -z
    np.testing.assert_allclose(axis_rotation(0, math.pi / 2) @ e_y, [0, 0, -1], atol=1e-12)
    # x first, then y: Ry(90)·Rx(90)·e_y = Ry(90)·(-e_z) = +e_x (the other order would leave -e_z)
    np.testing.assert_allclose(rotation_matrix(np.array([90.0, 90.0, 0.0])) @ e_y, [1, 0, 0], atol=1e-12)
    np.testing.assert_allclose(rotation_matrix(np.array([0.0, 0.0, 90.0])) @ np.array([1.0, 0, 0]), [0, -1, 0],
                               atol=1e-12)


def test_gaussian_noise_std_and_probability():
    x = np.zeros((3, 100, 25, 2))
    y = gaussian_noise(x, np.random.default_rng(0), p=1.0)
    assert abs(y.mean()) < 1e-3 and y.std() == pytest.approx(0.01, rel=0.03)  # 0.01 is the std
    assert gaussian_noise(x, np.random.default_rng(0), p=0.0) is x


def test_blur_is_the_hand_convolution_with_unnormalised_gain():
    x = np.random.default_rng(2).normal(size=(1, 10, 1, 1))
    w = gaussian_kernel(1.3)
    assert len(w) == 15 and w[7] == 1.0 and w[0] == pytest.approx(math.exp(-49 / (2 * 1.3**2)))
    hand = [sum(w[j + 7] * x[0, t + j, 0, 0] for j in range(-7, 8) if 0 <= t + j < 10) for t in range(10)]
    np.testing.assert_allclose(blur_along_time(x, w)[0, :, 0, 0], hand)
    # the random blur draws sigma ~ U(0.1, 2) first, then the coin
    sigma = np.random.default_rng(5).uniform(0.1, 2.0)
    np.testing.assert_allclose(gaussian_blur(x, np.random.default_rng(5), p=1.0),
                               blur_along_time(x, gaussian_kernel(sigma)))
    # gain on a constant signal (away from the zero-padded ends) is the kernel sum: ≈1 … ≈5
    const = np.ones((3, 40, 25, 2))
    for s in (0.1, 1.0, 2.0):
        mid = blur_along_time(const, gaussian_kernel(s))[:, 10:30]
        np.testing.assert_allclose(mid, gaussian_kernel(s).sum())
    assert gaussian_kernel(0.1).sum() == pytest.approx(1.0) and gaussian_kernel(2.0).sum() == pytest.approx(
        2 * math.sqrt(2 * math.pi), rel=1e-3)


def test_normalised_blur_preserves_a_constant():
    const = np.full((3, 40, 25, 2), 2.5)
    for s in (0.1, 1.0, 2.0):
        np.testing.assert_allclose(blur_along_time(const, gaussian_kernel(s, normalise=True))[:, 8:32], 2.5)
    y = gaussian_blur(const, np.random.default_rng(0), p=1.0, normalise=True)
    np.testing.assert_allclose(y[:, 8:32], 2.5)


def test_axis_mask_zeroes_exactly_one_axis():
    x = sample(3)
    for seed in range(6):
        y = axis_mask(x, np.random.default_rng(seed), p=1.0)
        zero = [a for a in range(3) if not y[a].any()]
        assert len(zero) == 1
        kept = [a for a in range(3) if a != zero[0]]
        np.testing.assert_array_equal(y[kept], x[kept])
    assert axis_mask(x, np.random.default_rng(0), p=0.0) is x


def test_temporal_flip_is_off_by_default_and_available_as_options():
    x = sample(4)
    np.testing.assert_array_equal(temporal_flip(x, np.random.default_rng(0), p=1.0), x[:, ::-1])
    assert DEFAULT_EXTREME_CHAIN == "12345" and "6" not in DEFAULT_EXTREME_CHAIN
    assert make_extreme_view() == ExtremeView("12345", False)
    assert get_method("aimclr")(queue_size=8).views()[0] == ExtremeView("12345", False)
    assert EXTREME_CHAIN_WITH_TIME_FLIP == "123456" and FIRST_RELEASE_CHAIN == "126345"
    for chain in (EXTREME_CHAIN_WITH_TIME_FLIP, FIRST_RELEASE_CHAIN):
        assert make_extreme_view(chain, normalise_blur=True)(x, np.random.default_rng(0)).shape == x.shape
    for bad in ("127", "112"):
        with pytest.raises(ValueError, match="digits 1-6"):
            make_extreme_view(bad)


def test_extreme_view_is_crop_shear_then_chain_as_float32():
    x = sample(5, t=50).astype(np.float32)
    y = extreme_view(x, np.random.default_rng(0))
    assert y.dtype == np.float32 and y.shape == x.shape and y.flags.c_contiguous
    # with an empty chain the extreme view is exactly the normal view (same draws)
    np.testing.assert_array_equal(make_extreme_view("")(x, np.random.default_rng(3)),
                                  normal_view(x, np.random.default_rng(3)))


# ------------------------------------------------------------------------------------ EADM
def test_simam_attention_hand_formula():
    x = torch.randn(3, 4, 5, 6, dtype=torch.float64)
    a = x.numpy()
    d = (a - a.mean(axis=(2, 3), keepdims=True)) ** 2
    y = d / (4 * (d.sum(axis=(2, 3), keepdims=True) / (5 * 6 - 1) + 1e-4)) + 0.5
    np.testing.assert_allclose(simam_attention(x).numpy(), 1 / (1 + np.exp(-y)))
    assert simam_attention(x).min() >= 1 / (1 + math.exp(-0.5))


def test_spatial_and_element_drop_threshold_and_rescale():
    x = torch.ones(2, 1, 1, 3)
    att = torch.tensor([0.65, 0.7, 0.75, 0.6, 0.6, 0.6]).view(2, 1, 1, 3)  # 0.7 itself is dropped
    keep = torch.tensor([1.0, 0, 0, 1, 1, 1]).view(2, 1, 1, 3)
    torch.testing.assert_close(spatial_drop(x, att), keep * 6 / 4)  # batch-global numel / sum
    # the joint mean is over (C, T'): one high element does not drop a joint with a low mean
    att2 = torch.full((1, 2, 2, 2), 0.64)
    att2[0, 0, 0, 0] = 0.78  # joint 0 mean = 0.675 < 0.7
    att2[0, :, :, 1] = 0.71
    torch.testing.assert_close(spatial_drop(torch.ones(1, 2, 2, 2), att2)[0, :, :, 0], torch.full((2, 2), 2.0))
    assert not spatial_drop(torch.ones(1, 2, 2, 2), att2)[0, :, :, 1].any()
    # element drop: every element with attention >= 0.7, whatever the (C·V, T') reshape
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 3, 4, 5, generator=g)
    att = 0.62 + 0.38 * torch.rand(2, 3, 4, 5, generator=g)
    att[0, 1, 2, 3] = 0.7
    kept = (att < 0.7).float()
    torch.testing.assert_close(temporal_drop(x, att), x * kept * kept.numel() / kept.sum())
    assert temporal_drop(x, att)[0, 1, 2, 3] == 0


def test_eadm_on_a_feature_map_with_known_attention():
    # per (sample, channel): a constant 1 plus a spike of +1 on one joint in both frames. Then
    # mu = 1.25, energies 9/16 (spike) and 1/16, sum/(T'V-1) = 1.5/7, so the attention is
    # sigmoid(0.5625/(4*(1.5/7+1e-4))+0.5) = 0.761 on the spike and 0.639 elsewhere.
    x = torch.ones(2, 3, 2, 4)
    x[0, :, :, 0] += 1
    x[1, :, :, 2] += 1
    att = simam_attention(x)
    assert att[0, 0, 0, 0].item() == pytest.approx(0.761, abs=1e-3) and att[0, 0, 0, 1].item() == pytest.approx(
        0.639, abs=1e-3)
    out = attention_drop(x)
    # spatial drop keeps 6 of 8 joints (x 8/6); the element drop then keeps 36 of 48 elements (x 4/3)
    expected = torch.full_like(x, 16 / 9)
    expected[0, :, :, 0] = 0
    expected[1, :, :, 2] = 0
    torch.testing.assert_close(out, expected)


def test_eadm_guard_when_everything_is_dropped():
    x = torch.randn(2, 3, 4, 5)
    out = spatial_drop(x, torch.full_like(x, 0.9))
    assert torch.isfinite(out).all() and not out.any()  # the official code would give NaN
    assert not temporal_drop(x, torch.full_like(x, 0.9)).any()
    torch.testing.assert_close(attention_drop(x, threshold=math.inf), x)  # the pre-fix no-op EADM option


def test_eadm_gradient_flows_only_through_the_kept_elements():
    x = torch.ones(2, 3, 2, 4)
    x[0, :, :, 0] += 1
    x[1, :, :, 2] += 1
    x.requires_grad_(True)
    attention_drop(x).sum().backward()
    expected = torch.full_like(x, 16 / 9)
    expected[0, :, :, 0] = 0
    expected[1, :, :, 2] = 0
    torch.testing.assert_close(x.grad, expected)


# ----------------------------------------------------------------------------- D³M and NNM
def test_d3m_loss_hand_computation():
    target = torch.tensor([[1.0, 0.0, -1.0], [0.0, 2.0, 0.0]], requires_grad=True)
    logits = torch.tensor([[0.5, 0.5, 0.0], [1.0, 0.0, -1.0]], requires_grad=True)

    def hand(t, lg):
        zt, zl = sum(math.exp(v) for v in t), sum(math.exp(v) for v in lg)
        return -sum(math.exp(a) / zt * math.log(math.exp(b) / zl) for a, b in zip(t, lg))

    expected = (hand([1, 0, -1], [0.5, 0.5, 0]) + hand([0, 2, 0], [1, 0, -1])) / 2
    loss = d3m_loss(target, logits)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert d3m_loss(target, logits, use_log_softmax=True).item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert target.grad is None and logits.grad is not None  # the target distribution is detached
    # the official log(softmax) underflows where log_softmax does not (methods.md §7.6)
    far = torch.tensor([[0.0, -200.0]])
    assert torch.isinf(d3m_loss(torch.tensor([[0.0, 0.0]]), far))
    assert torch.isfinite(d3m_loss(torch.tensor([[0.0, 0.0]]), far, use_log_softmax=True))


def test_nnm_mask_is_own_key_plus_top1_of_each_query_view():
    # logits [l_pos, l_neg over K=4]; top-1 queue entries: view a (2, 0), view b (2, 3), view c (1, 3)
    a = torch.tensor([[9.0, 0.1, 0.2, 0.9, 0.3], [0.0, 0.8, 0.1, 0.2, 0.3]])
    b = torch.tensor([[9.0, 0.1, 0.2, 0.5, 0.3], [9.0, 0.1, 0.2, 0.3, 0.7]])
    c = torch.tensor([[0.0, 0.1, 0.6, 0.5, 0.3], [0.0, 0.1, 0.2, 0.3, 0.4]])
    mask = nnm_mask((a, b, c), k=1)
    expected = torch.tensor([[1.0, 0, 1, 1, 0], [1.0, 1, 0, 0, 1]])
    torch.testing.assert_close(mask, expected)


# ---------------------------------------------------------------------------------- method
def test_parameter_count_and_registry():
    model = get_method("AimCLR")(queue_size=8)
    n = sum(p.numel() for m in (model.encoder_q, model.head_q) for p in m.parameters())
    assert n == 920_068  # methods.md §1.1: CR/AIM query encoder with its MLP head
    assert model.config.temperature == 0.07 and model.config.frames == 50 and model.config.head == "mlp"
    assert AimCLR.presets["paper"] == PAPER_MINING_150 and PAPER_MINING_150.mining_epoch == 150
    quick = AimCLR.presets["quick"]
    assert (quick.epochs, quick.mining_epoch, quick.queue_size % quick.batch_size) == (QUICK_EPOCHS, QUICK_EPOCHS // 2, 0)
    paper_model = AimCLR.from_preset(PAPER_MINING_150)
    assert not paper_model.mining(150) and paper_model.mining(151)
    with pytest.raises(ValueError, match="unknown AimCLR options"):
        AimCLR(MethodConfig(extra={"blur": True}), queue_size=8)
    assert AimCLR(MethodConfig(extra={"normalise_blur": True}), queue_size=8).views()[0] == ExtremeView("12345", True)


@pytest.fixture
def step_model():
    torch.manual_seed(0)
    return AimCLR(queue_size=8, key_momentum=0.9, mining_epoch=2).train()


def views(seed=0, n=4, t=12):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, 3, t, 25, 2, generator=g) for _ in range(3)]


def test_training_step_enqueues_exactly_the_key_and_follows_the_ema(step_model):
    model = step_model
    q0 = [p.detach().clone() for m in (model.encoder_q, model.head_q) for p in m.parameters()]
    k0 = [p.detach().clone() for m in (model.encoder_k, model.head_k) for p in m.parameters()]
    queue0 = model.queue.clone()
    keys = []
    key = model.key
    model.key = lambda x: keys.append(key(x)) or keys[-1]
    loss, logs = model.training_step(views(), epoch=1)
    assert torch.isfinite(loss) and loss.requires_grad and logs["loss"] == pytest.approx(loss.item())
    assert logs["loss"] == pytest.approx(logs["nce"] + (logs["d3m_e"] + logs["d3m_ed"]) / 2, rel=1e-5)
    k1 = [p for m in (model.encoder_k, model.head_k) for p in m.parameters()]
    for pq, pk, pk1 in zip(q0, k0, k1):
        torch.testing.assert_close(pk1, 0.9 * pk + 0.1 * pq)  # EMA before the keys
    assert len(keys) == 1 and int(model.queue_ptr) == 4
    torch.testing.assert_close(model.queue[:, :4], keys[0].T)
    torch.testing.assert_close(model.queue[:, 4:], queue0[:, 4:])
    assert [n for n, _ in model.named_buffers() if n.startswith("queue")] == ["queue", "queue_ptr"]
    loss.backward()
    assert model.encoder_q.edge_importance[-1].grad is not None and model.head_q[0].weight.grad is not None


def test_mining_starts_at_mining_epoch_plus_one(step_model, monkeypatch):
    calls = []
    real = aimclr.nnm_mask
    monkeypatch.setattr(aimclr, "nnm_mask", lambda logits, k=1: calls.append(k) or real(logits, k))
    _, logs = step_model.training_step(views(1), epoch=2)
    assert logs["mining"] == 0.0 and logs["positives"] == 1.0 and not calls
    _, logs = step_model.training_step(views(2), epoch=3)
    assert logs["mining"] == 1.0 and calls == [1] and 2.0 <= logs["positives"] <= 4.0


def test_stream_is_computed_after_augmentation_for_each_view():
    torch.manual_seed(0)
    model = AimCLR(MethodConfig(stream="bone"), queue_size=8).train()
    seen = {"q": [], "k": []}
    for side, enc in (("q", model.encoder_q), ("k", model.encoder_k)):
        fm = enc.feature_map
        enc.feature_map = lambda x, fm=fm, side=side: seen[side].append(x) or fm(x)
    x_e, x_q, x_k = views(3)
    model.training_step([x_e, x_q, x_k], epoch=1)
    torch.testing.assert_close(seen["q"][0], bone_stream(x_q))
    torch.testing.assert_close(seen["q"][1], bone_stream(x_e))
    torch.testing.assert_close(seen["k"][0], bone_stream(x_k))


@pytest.mark.slow  # covered in the default run by tests/test_protocols_all_methods.py (AimCLR pretrains there)
def test_pretrain_end_to_end(tiny_root, tmp_path):
    path = pretrain("aimclr", "synthetic-xsub", "quick", epochs=1, out=tmp_path, data_root=tiny_root, max_steps=2)
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["method"] == "aimclr" and meta["config"]["extra"]["extreme_chain"] == "12345"
    assert meta["preset"]["mining_epoch"] == 2 and np.isfinite(meta["history"][0]["loss"])
    encoder = load_encoder(path)
    with torch.no_grad():
        assert encoder(torch.randn(2, 3, 50, 25, 2)).shape == (2, 256)
