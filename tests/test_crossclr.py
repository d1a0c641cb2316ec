"""CrosSCLR (3 views): CVC-KM against hand computations, the official shared heads and stale key
encoders (and their corrected modes), the switch epoch, the three queues, and a tiny pretraining run
that exports one encoder per stream (methods.md §2.2)."""

import json
import math
from dataclasses import replace

import pytest
import torch

from datasets.skeleton import STREAMS, to_stream
from methods import get_method, load_encoder
from methods.crossclr import CrosSCLR, cross_view_logits, cross_view_losses, cross_view_mask
from methods.losses import info_nce
from methods.presets import QUICK_EPOCHS
from methods.pretrain import pretrain

CORRECTED = {"shared_head": False, "stale_keys": False}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny ST-GCN passes are ~50x slower with two OpenMP threads on a loaded 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def make(mining_epoch: int = 2, key_momentum: float = 0.5, **extra) -> CrosSCLR:
    config = replace(CrosSCLR.default_config, extra=extra)
    return CrosSCLR(config, queue_size=8, key_momentum=key_momentum, mining_epoch=mining_epoch)


def lse(row):
    return math.log(sum(math.exp(v) for v in row))


def cols(*columns):
    """A (D, K) queue from its columns."""
    return torch.tensor(columns).T


# Hand-computable streams (N=1, D=2, K=4, T=0.5):
#   a: q [1, 0], k [0.6, 0.8] → l_pos 0.6, l_neg [1, 0, -1, 0.6]   (own top-1: index 0)
#   b: q [0, 1], k [0, 1]     → l_pos 1,   l_neg [0, 0.8, -1, 0.6] (top-1: index 1, top-2: 1 and 3)
#   c: q [1, 0], k [1, 0]     → l_pos 1,   l_neg [0, 0, -1, 1]     (top-1: index 3)
Q = {"a": torch.tensor([[1.0, 0.0]]), "b": torch.tensor([[0.0, 1.0]]), "c": torch.tensor([[1.0, 0.0]])}
K = {"a": torch.tensor([[0.6, 0.8]]), "b": torch.tensor([[0.0, 1.0]]), "c": torch.tensor([[1.0, 0.0]])}
QUEUES = {"a": cols([1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.6, -0.8]),
          "b": cols([1.0, 0.0], [0.6, 0.8], [0.0, -1.0], [0.8, 0.6]),
          "c": cols([0.0, 1.0], [0.0, -1.0], [-1.0, 0.0], [1.0, 0.0])}
# (a ← b): [0.6, 1, 0, -1, 0.6, context 0, 0, 1, 0.36] / 0.5; positives: 0 and b's top-1 (index 1) in both blocks
ROW_AB = [1.2, 2.0, 0.0, -2.0, 1.2, 0.0, 0.0, 2.0, 0.72]
MASK_AB = [1, 0, 1, 0, 0, 0, 1, 0, 0]
LOSS_AB = lse(ROW_AB) - (1.2 + 0.0 + 0.0) / 3
# (b ← a): [1, 0, 0.8, -1, 0.6, 0, 0, 1, 0.36] / 0.5; a's top-1 is index 0
LOSS_BA = lse([2.0, 0.0, 1.6, -2.0, 1.2, 0.0, 0.0, 2.0, 0.72]) - (2.0 + 0.0 + 0.0) / 3
# (a ← c): [0.6, 1, 0, -1, 0.6, 0, 0, 1, 0.6] / 0.5; c's top-1 is index 3
LOSS_AC = lse([1.2, 2.0, 0.0, -2.0, 1.2, 0.0, 0.0, 2.0, 1.2]) - (1.2 + 1.2 + 1.2) / 3


def l_neg(s):
    return Q[s] @ QUEUES[s]


def test_cvc_km_logits_and_mask_hand_computation():
    l_pos_a = (Q["a"] * K["a"]).sum(1, keepdim=True)
    torch.testing.assert_close(cross_view_logits(l_pos_a, l_neg("a"), l_neg("b"), 0.5), torch.tensor([ROW_AB]))
    torch.testing.assert_close(cross_view_mask(l_neg("b"), topk=1), torch.tensor([MASK_AB], dtype=torch.float))
    # topk 2: b's two nearest queue entries (indices 1 and 3), again in both blocks
    torch.testing.assert_close(cross_view_mask(l_neg("b"), topk=2),
                               torch.tensor([[1, 0, 1, 0, 1, 0, 1, 0, 1]], dtype=torch.float))
    # context off: the plain MoCo logits, with the mined positive in the l_neg block only
    torch.testing.assert_close(cross_view_logits(l_pos_a, l_neg("a"), l_neg("b"), 0.5, context=False),
                               torch.tensor([ROW_AB[:5]]))
    torch.testing.assert_close(cross_view_mask(l_neg("b"), 1, context=False), torch.tensor([MASK_AB[:5]]).float())


def test_cvc_km_loss_hand_computation():
    two = cross_view_losses({s: Q[s] for s in "ab"}, K, QUEUES, temperature=0.5)
    assert two["a"].item() == pytest.approx(LOSS_AB, rel=1e-6)
    assert two["b"].item() == pytest.approx(LOSS_BA, rel=1e-6)
    three = cross_view_losses(Q, K, QUEUES, temperature=0.5)
    assert three["a"].item() == pytest.approx((LOSS_AB + LOSS_AC) / 2, rel=1e-6)  # mean of its two pair losses


def test_mask_takes_the_other_streams_topk_in_both_blocks():
    torch.manual_seed(0)
    l_neg_a, l_neg_b = torch.randn(6, 16), torch.randn(6, 16)
    mask = cross_view_mask(l_neg_b, topk=3)
    assert mask.shape == (6, 33) and (mask[:, 0] == 1).all()
    torch.testing.assert_close(mask[:, 1:17], mask[:, 17:])
    expected = torch.zeros(6, 16).scatter_(1, l_neg_b.topk(3, dim=1).indices, 1.0)
    torch.testing.assert_close(mask[:, 1:17], expected)
    assert not torch.equal(expected, torch.zeros(6, 16).scatter_(1, l_neg_a.topk(3, dim=1).indices, 1.0))


def ids(module):
    return {id(p) for p in module.parameters()}


def test_shared_head_is_the_joint_head_by_default():
    model = make()
    for side in ("q", "k"):
        joint = getattr(model, f"head_{side}")
        for stream in ("motion", "bone"):
            head = getattr(model, f"head_{side}_{stream}")
            assert head[2] is joint and ids(joint) < ids(head)
            # official key layout: encoder_q_motion.fc.0.* and encoder_q_motion.fc.2.{0,2}.* (the joint head)
            assert {k.rsplit(".", 1)[0] for k in head.state_dict()} == {"0", "2.0", "2.2"}
    # the joint head learns from the motion stream too
    model.stream_query("motion", torch.randn(2, 3, 12, 25, 2)).sum().backward()
    assert model.head_q[0].weight.grad is not None and model.encoder_q.data_bn.weight.grad is None
    # trainable parameters: three backbones, one joint head, two extra Linear(256, 256)
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 3 * 821_380 + 98_688 + 2 * 65_792


def test_corrected_mode_has_separate_heads():
    model = make(**CORRECTED)
    for side in ("q", "k"):
        for stream in ("motion", "bone"):
            assert not ids(getattr(model, f"head_{side}")) & ids(getattr(model, f"head_{side}_{stream}"))
    model.stream_query("motion", torch.randn(2, 3, 12, 25, 2)).sum().backward()
    assert model.head_q[0].weight.grad is None
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == 3 * 920_068


def test_query_encoder_with_joint_head_has_official_parameter_count():
    model = make()
    assert sum(p.numel() for m in (model.encoder_q, model.head_q) for p in m.parameters()) == 920_068


def snapshot(model):
    return {name: p.detach().clone() for name, p in model.named_parameters(remove_duplicate=False)}


def assert_ema(model, before, prefix_k, prefix_q, updates, m=0.5):
    """Every parameter under ``prefix_k`` is ``updates`` EMA steps from its value towards the query's."""
    names = [n for n in before if n.startswith(prefix_k)]
    assert names
    for name in names:
        q = before[prefix_q + name[len(prefix_k):]]
        expected = m**updates * before[name] + (1 - m**updates) * q
        torch.testing.assert_close(dict(model.named_parameters(remove_duplicate=False))[name], expected)


def step(model, epoch):
    torch.manual_seed(1)
    x = torch.randn(4, 3, 12, 25, 2)
    model.train()
    before = snapshot(model)
    loss, logs = model.training_step([x, x + 0.01], epoch)
    return before, loss, logs


def test_before_the_switch_every_key_encoder_moves_and_the_shared_key_head_three_times():
    model = make()
    before, _, logs = step(model, epoch=2)  # == mining_epoch: still plain InfoNCE
    assert logs["mining"] == 0.0
    for s in ("", "_motion", "_bone"):
        assert_ema(model, before, f"encoder_k{s}.", f"encoder_q{s}.", updates=1)
    assert_ema(model, before, "head_k.", "head_q.", updates=3)  # once per stream (methods.md §2.2)
    assert_ema(model, before, "head_k_motion.0.", "head_q_motion.0.", updates=1)


def test_after_the_switch_only_the_motion_key_encoder_moves_by_default():
    model = make()
    before, _, logs = step(model, epoch=3)  # mining_epoch + 1
    assert logs["mining"] == 1.0
    assert_ema(model, before, "encoder_k_motion.", "encoder_q_motion.", updates=1)
    assert_ema(model, before, "head_k_motion.", "head_q_motion.", updates=1)
    assert_ema(model, before, "head_k.", "head_q.", updates=1)  # the shared joint key head, through motion
    assert_ema(model, before, "encoder_k.", "encoder_q.", updates=0)  # stale (methods.md §7 item 5)
    assert_ema(model, before, "encoder_k_bone.", "encoder_q_bone.", updates=0)
    assert_ema(model, before, "head_k_bone.0.", "head_q_bone.0.", updates=0)


def test_after_the_switch_every_key_encoder_moves_in_corrected_mode():
    model = make(**CORRECTED)
    before, _, logs = step(model, epoch=3)
    assert logs["mining"] == 1.0
    for s in ("", "_motion", "_bone"):
        assert_ema(model, before, f"encoder_k{s}.", f"encoder_q{s}.", updates=1)
        assert_ema(model, before, f"head_k{s}.", f"head_q{s}.", updates=1)


@pytest.mark.parametrize("epoch", [2, 3])
def test_switch_epoch_loss_and_three_queues(epoch):
    """In eval mode (deterministic) the step's loss is recomputed from the enqueued keys: plain
    InfoNCE per stream up to ``mining_epoch``, CVC-KM from ``mining_epoch + 1``."""
    torch.manual_seed(0)
    model = make(key_momentum=0.9).eval()
    x_q, x_k = torch.randn(4, 3, 12, 25, 2), torch.randn(4, 3, 12, 25, 2)
    queues = {s: model.queue_of(suffix) for s, suffix in zip(STREAMS, ("", "_motion", "_bone"))}
    loss, logs = model.training_step([x_q, x_k], epoch)
    q, k = {}, {}
    for s, suffix in zip(STREAMS, ("", "_motion", "_bone")):
        k[s] = getattr(model, f"queue{suffix}")[:, :4].T
        torch.testing.assert_close(k[s], model.stream_key(s, to_stream(x_k, s)))  # its own stream's keys
        torch.testing.assert_close(getattr(model, f"queue{suffix}")[:, 4:], queues[s][:, 4:])
        assert int(getattr(model, f"queue_ptr{suffix}")) == 4
        q[s] = model.stream_query(s, to_stream(x_q, s))
    assert not torch.allclose(k["joint"], k["motion"]) and not torch.allclose(k["motion"], k["bone"])
    plain = {s: info_nce(q[s], k[s], queues[s], 0.07) for s in STREAMS}
    mined = cross_view_losses(q, k, queues, 0.07, topk=1, context=True)
    expected, other = (plain, mined) if epoch == 2 else (mined, plain)
    assert loss.item() == pytest.approx(sum(v.item() for v in expected.values()), rel=1e-5)
    assert loss.item() != pytest.approx(sum(v.item() for v in other.values()), rel=1e-5)
    assert logs["loss"] == pytest.approx(logs["loss_joint"] + logs["loss_motion"] + logs["loss_bone"], rel=1e-6)


def test_state_dict_has_official_queue_names_and_backbones():
    model = make()
    state = model.state_dict()
    for name in ("queue", "queue_ptr", "queue_motion", "queue_ptr_motion", "queue_bone", "queue_ptr_bone"):
        assert name in state
    assert state["queue_bone"].shape == (128, 8)
    assert {p for p in ("encoder_q", "encoder_k", "encoder_q_motion", "encoder_k_motion", "encoder_q_bone",
                        "encoder_k_bone")} <= {k.split(".")[0] for k in state}
    backbones = model.backbones()
    assert list(backbones) == ["joint", "motion", "bone"] and backbones["motion"] is model.encoder_q_motion
    assert model.backbone() is model.encoder_q


def test_options_presets_and_registry():
    cls = get_method("crossclr")
    assert cls is CrosSCLR and cls.streams == ("joint", "motion", "bone")
    paper, quick = cls.presets["paper"], cls.presets["quick"]
    assert (paper.epochs, paper.mining_epoch, paper.milestones, paper.queue_size) == (300, 150, (250,), 32768)
    official = cls.from_preset(replace(paper, queue_size=64))  # cross_epoch 150, 1-based `epoch <= 150`
    assert not official.mining(150) and official.mining(151)
    assert (quick.epochs, quick.mining_epoch) == (QUICK_EPOCHS, QUICK_EPOCHS // 2)
    # the one per-method override of the small-real-data recipe: both official quirks off (docs/nwucla.md)
    assert dict(cls.presets["cpu"].options) == {"shared_head": False, "stale_keys": False}
    assert paper.options == quick.options == () and cls.presets["cpu"].options_with({"topk": 2}) == {
        "shared_head": False, "stale_keys": False, "topk": 2}
    assert all(not get_method(m).presets["cpu"].options for m in ("skeletonclr", "aimclr", "skelemixclr"))
    model = cls.from_preset(replace(quick, queue_size=64), extra={"shared_head": False})
    assert model.config.extra == {"shared_head": False, "stale_keys": True, "topk": 1, "context": True}
    half = QUICK_EPOCHS // 2
    assert model.mining_epoch == half and not model.mining(half) and model.mining(half + 1)
    with pytest.raises(ValueError, match="unknown CrosSCLR option"):
        make(shared_heads=False)
    with pytest.raises(ValueError, match="topk"):
        make(topk=0)
    with pytest.raises(ValueError, match="own stream is joint"):
        CrosSCLR(replace(CrosSCLR.default_config, stream="motion"), queue_size=8)


def test_pretrain_exports_one_encoder_per_stream(tiny_root, tmp_path, monkeypatch):
    # batch 8 instead of 32: a step runs six ST-GCN passes, ~30 s at batch 32 on a loaded 2-core CPU
    quick = CrosSCLR.presets["quick"]
    # a recipe's own option reaches the trained config (as the cpu recipe's do), the others stay official
    monkeypatch.setitem(CrosSCLR.presets, "quick", replace(quick, batch_size=8, queue_size=64,
                                                           options=(("shared_head", False),)))
    path = pretrain("crossclr", "synthetic-xsub", "quick", epochs=1, out=tmp_path, data_root=tiny_root, max_steps=2)
    assert path == tmp_path / "encoder.pt"
    files = {s: tmp_path / name for s, name in
             (("joint", "encoder.pt"), ("motion", "encoder-motion.pt"), ("bone", "encoder-bone.pt"))}
    assert pretrain("crossclr", "synthetic-xsub", "quick", epochs=1, out=tmp_path, data_root=tiny_root,
                    stream="motion") == files["motion"]
    meta = json.loads((tmp_path / "run.json").read_text())
    assert meta["streams"] == ["joint", "motion", "bone"] and meta["config"]["extra"]["stale_keys"] is True
    assert meta["config"]["extra"]["shared_head"] is False
    weights = []
    for stream, file in files.items():
        assert torch.load(file, weights_only=True)["meta"]["stream"] == stream
        encoder = load_encoder(file)
        assert not encoder.training and encoder(torch.zeros(1, 3, 50, 25, 2)).shape == (1, 256)
        weights.append(encoder.blocks[0].gcn.conv.weight)
    assert not torch.equal(weights[0], weights[1]) and not torch.equal(weights[1], weights[2])
