"""SkeleMixCLR: SkeleMix regions, the mask, mask pooling, the regional losses, and a tiny run."""

import math

import numpy as np
import pytest
import torch

from datasets.skelemix import MixRegion, mix, sample_region
from datasets.skeleton import BODY_PARTS
from methods import get_method, load_encoder
from methods.base import MethodConfig
from methods.encoders.pooling import global_pool, mask_pool
from methods.losses import info_nce_extra_negative
from methods.presets import quick_preset
from methods.pretrain import pretrain

PARTS = [set(p) for p in BODY_PARTS.values()]


def test_regions_are_whole_body_parts_and_aligned_blocks():
    rng = np.random.default_rng(0)
    shifts, counts, lengths, starts = set(), set(), set(), set()
    for _ in range(400):
        r = sample_region(8, 64, rng)
        joints = set(r.joints)
        used = [p for p in PARTS if p & joints]
        assert all(p <= joints for p in used), "a body part was only partly mixed"
        assert set().union(*used) == joints and list(r.joints) == sorted(r.joints)
        counts.add(len(used))
        assert 7 <= r.blocks <= 11 and 0 <= r.start and r.start + r.blocks <= 16
        assert r.frames == slice(4 * r.start, 4 * (r.start + r.blocks))
        shifts.add(r.shift)
        lengths.add(r.blocks)
        starts.add(r.start)
    assert counts == {2, 3}
    assert lengths == set(range(7, 12))
    assert shifts == set(range(1, 7))  # torch.randint(1, N-1): never 0 (itself) and never N-1
    assert starts == set(range(0, 10))  # 16 - 7 = 9 is the last start


def test_mix_takes_the_batch_roll_donor_in_both_persons_and_mask_matches():
    n, t, v = 5, 64, 25
    x = torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1, 1).expand(n, 3, t, v, 2).clone()
    x[:, :, :, :, 1] += 100  # second person distinct
    region = MixRegion(shift=2, joints=tuple(sorted(BODY_PARTS["trunk"] + BODY_PARTS["left_leg"])), start=3, blocks=8)
    out = mix(x, region)
    donors = torch.tensor([(i + 2) % n for i in range(n)])
    torch.testing.assert_close(region.donors(n), donors)
    rolled = torch.roll(x, shifts=-2, dims=0)  # the donor of i is i + shift
    inside = torch.zeros(t, v, dtype=torch.bool)
    inside[12:44, list(region.joints)] = True
    torch.testing.assert_close(out[:, :, inside], rolled[:, :, inside])  # all channels, both persons
    torch.testing.assert_close(out[:, :, ~inside], x[:, :, ~inside])
    changed = (out != x).any(dim=(0, 1, 4))  # (T, V)
    mask = region.mask(t, v)
    assert mask.shape == (16, 25)
    torch.testing.assert_close(changed.view(16, 4, v).all(dim=1), mask)
    torch.testing.assert_close(changed.view(16, 4, v).any(dim=1), mask)  # block-aligned
    assert torch.equal(x, torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1, 1).expand(n, 3, t, v, 2)
                       + torch.tensor([0.0, 100.0]))  # input untouched


def test_mask_pool_is_the_mean_over_masked_cells_then_persons():
    torch.manual_seed(0)
    fmap = torch.randn(2 * 2, 3, 4, 5)  # N=2, M=2
    mask = torch.zeros(4, 5, dtype=torch.bool)
    mask[1:3, [0, 4]] = True
    trimmed, truncated = mask_pool(fmap, mask, persons=2)
    cells = mask.nonzero().tolist()
    rest = (~mask).nonzero().tolist()
    for i in range(2):
        for c in range(3):
            p = [sum(fmap[2 * i + m, c, a, b] for a, b in cells) / len(cells) for m in range(2)]
            r = [sum(fmap[2 * i + m, c, a, b] for a, b in rest) / len(rest) for m in range(2)]
            assert trimmed[i, c].item() == pytest.approx(float(sum(p) / 2), abs=1e-5)
            assert truncated[i, c].item() == pytest.approx(float(sum(r) / 2), abs=1e-5)
    # the two parts weighted by their cell counts give the global pool back
    torch.testing.assert_close((trimmed * 4 + truncated * 16) / 20, global_pool(fmap, 2))
    with pytest.raises(ValueError, match="does not match"):
        mask_pool(fmap, torch.zeros(3, 5, dtype=torch.bool), persons=2)


def test_extra_negative_loss_hand_computation():
    q = torch.tensor([[1.0, 0.0]])
    k = torch.tensor([[0.0, 1.0]])
    queue = torch.tensor([[1.0, -1.0], [0.0, 0.0]])
    neg = torch.tensor([[0.6, 0.8]])
    t = 0.2
    logits = [0.0, 5.0, -5.0, 3.0]  # [q·k, q·queue, q·neg] / T
    expected = math.log(sum(math.exp(v) for v in logits)) - logits[0]
    assert info_nce_extra_negative(q, k, queue, neg, t).item() == pytest.approx(expected, rel=1e-6)


def test_config_and_parameter_count():
    cls = get_method("skelemixclr")
    model = cls(queue_size=64)
    c = model.config
    assert (c.frames, c.graph, c.head, c.temperature) == (64, "agcn", "mlp_bn", 0.2)
    assert c.extra["mixes"] == 3 and c.extra["reduce"] == "sum"
    assert sum(p.numel() for p in model.encoder_q.parameters()) + sum(p.numel() for p in model.head_q.parameters()) \
        == 920_580
    assert cls.presets["paper"].milestones == (300,) and cls.presets["paper"].lr == 0.1  # constant LR
    v1 = get_method("skelemixclr-v1")(queue_size=64).config.extra
    assert v1["mixes"] == 1


def _model(name: str, **extra) -> torch.nn.Module:
    cls = get_method(name)
    config = MethodConfig(**{**cls.default_config.to_dict(), "dropout": 0.0, "key_init": "copy",
                             "extra": {**cls.default_config.extra, **extra}})
    torch.manual_seed(0)
    return cls(config, queue_size=16, key_momentum=0.9)


def test_training_step_pairs_trimmed_with_donor_key_and_truncated_with_own_key(monkeypatch):
    import methods.skelemixclr as sm

    model = _model("skelemixclr")
    model.set_epoch(1)
    calls = []
    real = sm.info_nce_extra_negative

    def spy(q, k, queue, negative, t):
        calls.append((q.detach(), k.detach(), negative.detach(), negative.requires_grad))
        return real(q, k, queue, negative, t)

    monkeypatch.setattr(sm, "info_nce_extra_negative", spy)
    regions = model.regions(4, 64)
    model.set_epoch(1)  # the step draws the same regions again
    x_q, x_k = torch.randn(4, 3, 64, 25, 2), torch.randn(4, 3, 64, 25, 2)
    q0 = [p.detach().clone() for p in model.encoder_q.parameters()]
    k0 = [p.detach().clone() for p in model.encoder_k.parameters()]
    loss, logs = model.training_step([x_q, x_k], epoch=1)
    assert len(calls) == 6  # 3 mixes × (trimmed, truncated)
    keys = model.queue[:, :4].T  # the enqueued keys = this step's k
    for r, (trim, trunc) in zip(regions, zip(calls[0::2], calls[1::2])):
        torch.testing.assert_close(trim[1], keys[r.donors(4)])  # trimmed view ↔ donor's key
        torch.testing.assert_close(trunc[1], keys)  # truncated view ↔ own key
        torch.testing.assert_close(trim[2], trunc[0])  # each is the other's extra negative …
        torch.testing.assert_close(trunc[2], trim[0])
        assert not trim[3] and not trunc[3]  # … with the gradient stopped
    assert int(model.queue_ptr) == 4
    assert logs["loss"] == pytest.approx(logs["loss_ins"] + logs["loss_reg"], rel=1e-5)
    loss.backward()
    for pq, pk, kk in zip(q0, k0, model.encoder_k.parameters()):  # key encoder follows the EMA
        torch.testing.assert_close(kk, 0.9 * pk + 0.1 * pq)


def test_v2_sums_and_v1_uses_one_mix():
    x_q, x_k = torch.randn(4, 3, 64, 25, 2), torch.randn(4, 3, 64, 25, 2)
    plus = _model("skelemixclr")
    plus.set_epoch(1)
    _, logs = plus.training_step([x_q, x_k], 1)
    mean = _model("skelemixclr", reduce="mean")
    mean.set_epoch(1)
    _, logs_mean = mean.training_step([x_q, x_k], 1)
    assert logs["loss_reg"] == pytest.approx(3 * logs_mean["loss_reg"], rel=1e-4)
    assert logs["loss_ins"] == pytest.approx(logs_mean["loss_ins"], rel=1e-5)
    v1 = _model("skelemixclr-v1")
    v1.set_epoch(1)
    assert len(v1.regions(4, 64)) == 1


def test_sample_region_refuses_what_cannot_be_mixed():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="at least 3"):
        sample_region(2, 64, rng)
    with pytest.raises(ValueError, match="divisible by 4"):
        sample_region(8, 50, rng)


@pytest.mark.slow  # covered in the default run by tests/test_protocols_all_methods.py (SkeleMixCLR pretrains there)
def test_tiny_pretraining_run(tiny_root, tmp_path):
    path = pretrain("skelemixclr", "synthetic-xsub", "quick", epochs=1, out=tmp_path, data_root=tiny_root,
                    max_steps=1)
    encoder = load_encoder(path)
    assert encoder.graph == "agcn"
    assert encoder(torch.zeros(2, 3, 64, 25, 2)).shape == (2, 256)
    assert quick_preset().queue_size % quick_preset().batch_size == 0
