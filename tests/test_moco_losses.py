"""MoCo core and losses against hand computations."""

import math

import pytest
import torch

from methods import available, get_method
from methods.base import MethodConfig, MoCoMethod
from methods.losses import info_nce, moco_logits, multi_positive_nce


def test_info_nce_hand_computation():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    k = torch.tensor([[0.6, 0.8], [0.0, 1.0]])
    queue = torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # (D=2, K=3)
    t = 0.5
    # sample 0: logits [0.6, 1, 0, -1] / 0.5 ; sample 1: [1, 0, 1, 0] / 0.5
    rows = [[1.2, 2.0, 0.0, -2.0], [2.0, 0.0, 2.0, 0.0]]
    expected = sum(math.log(sum(math.exp(v) for v in r)) - r[0] for r in rows) / 2
    assert info_nce(q, k, queue, t).item() == pytest.approx(expected, rel=1e-6)
    torch.testing.assert_close(moco_logits(q, k, queue, t), torch.tensor(rows))


def test_multi_positive_nce():
    logits = torch.tensor([[2.0, 1.0, 0.0, 1.0]])
    one_hot = torch.tensor([[1.0, 0.0, 0.0, 0.0]])
    ce = torch.nn.functional.cross_entropy(logits, torch.tensor([0]))
    torch.testing.assert_close(multi_positive_nce(logits, one_hot), ce)
    two = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    lse = math.log(math.exp(2) + 2 * math.exp(1) + 1)
    assert multi_positive_nce(logits, two).item() == pytest.approx(((lse - 2) + (lse - 1)) / 2, rel=1e-6)


def test_queue_enqueue_wraps_and_checks_batch():
    model = get_method("skeletonclr")(queue_size=8)
    keys = torch.nn.functional.normalize(torch.randn(4, 128), dim=1)
    model.enqueue(keys)
    torch.testing.assert_close(model.queue[:, :4], keys.T)
    assert int(model.queue_ptr) == 4
    model.enqueue(keys * -1)
    assert int(model.queue_ptr) == 0
    torch.testing.assert_close(model.queue[:, 4:], -keys.T)
    with pytest.raises(ValueError, match="multiple of the batch"):
        model.enqueue(keys[:3])


def test_momentum_update_is_ema():
    model = get_method("skeletonclr")(queue_size=8, key_momentum=0.9)
    q0 = [p.detach().clone() for p in model.encoder_q.parameters()]
    k0 = [p.detach().clone() for p in model.encoder_k.parameters()]
    model.momentum_update()
    for pq, pk, kk in zip(q0, k0, model.encoder_k.parameters()):
        torch.testing.assert_close(kk, 0.9 * pk + 0.1 * pq)


def test_key_encoder_init_official_vs_copy():
    torch.manual_seed(0)
    official = get_method("skeletonclr")(queue_size=8)
    w_q = official.encoder_q.blocks[3].gcn.conv.weight
    w_k = official.encoder_k.blocks[3].gcn.conv.weight
    assert not torch.allclose(w_q, w_k)  # independent re-init after the copy (methods.md §7.1)
    assert abs(w_q.std().item() - 0.02) < 0.005
    copied = get_method("skeletonclr")(MethodConfig(key_init="copy"), queue_size=8)
    torch.testing.assert_close(copied.encoder_q.blocks[3].gcn.conv.weight, copied.encoder_k.blocks[3].gcn.conv.weight)


def test_key_side_has_no_gradients():
    model = get_method("skeletonclr")(queue_size=8)
    assert not any(p.requires_grad for p in model.encoder_k.parameters())
    assert not any(p.requires_grad for p in model.head_k.parameters())


def test_skeletonclr_step_uses_queue_then_enqueues_key():
    torch.manual_seed(0)
    model = get_method("skeletonclr")(queue_size=8, key_momentum=0.99).train()
    before = model.queue.clone()
    x = torch.randn(4, 3, 12, 25, 2)
    loss, logs = model.training_step([x, x + 0.01], epoch=1)
    assert loss.requires_grad and logs["loss"] == pytest.approx(loss.item())
    assert int(model.queue_ptr) == 4 and not torch.allclose(model.queue[:, :4], before[:, :4])
    torch.testing.assert_close(model.queue[:, 4:], before[:, 4:])


def test_registry():
    assert "skeletonclr" in available()
    assert issubclass(get_method("SkeletonCLR"), MoCoMethod)
    with pytest.raises(ValueError, match="available: .*skeletonclr"):
        get_method("simclr")


def test_presets():
    cls = get_method("skeletonclr")
    paper, quick = cls.presets["paper"], cls.presets["quick"]
    assert (paper.epochs, paper.batch_size, paper.lr, paper.milestones) == (300, 128, 0.1, (250,))
    assert (paper.queue_size, paper.key_momentum, paper.weight_decay, paper.nesterov) == (32768, 0.999, 1e-4, False)
    assert [paper.lr_at(e) for e in (1, 250, 251, 300)] == [0.1, 0.1, pytest.approx(0.01), pytest.approx(0.01)]
    assert cls.from_preset(paper, stream="joint").config.key_init == "official"
    assert cls.from_preset(quick).config.key_init == "copy"  # the documented small-data deviation
    assert quick.queue_size % quick.batch_size == 0


@pytest.mark.parametrize("name", ["skeletonclr", "skelemixclr", "aimclr", "crossclr"])
def test_the_cpu_preset_is_the_quick_recipe_for_fifty_epochs(name):
    quick, cpu = get_method(name).presets["quick"], get_method(name).presets["cpu"]
    assert (cpu.name, cpu.epochs, cpu.milestones) == ("cpu", 50, ())
    assert cpu.mining_epoch == (25 if quick.mining_epoch else 0)  # half the schedule, as the paper's 150 of 300
    same = ("batch_size", "lr", "queue_size", "key_momentum", "key_init", "temperature", "weight_decay")
    assert [getattr(cpu, f) for f in same] == [getattr(quick, f) for f in same]


def test_small_real_benchmarks_default_to_the_cpu_preset():
    from methods.train.config import default_preset

    assert [default_preset(d) for d in ("synthetic-xsub", "nwucla-xview", "utdmhad-xsub", "ntu60-xsub")] == [
        "quick", "cpu", "cpu", "paper"]


def test_a_method_must_define_views_and_training_step():
    class Incomplete(MoCoMethod):
        name = "incomplete"

    with pytest.raises(TypeError, match="abstract"):
        Incomplete(queue_size=8)


def test_step_decay_by_hand() -> None:
    from methods.base import step_decay

    # ×0.1 once the 1-based epoch is past a milestone: epoch 80 still runs at the base LR
    assert [step_decay(3.0, e, (80,)) for e in (1, 80, 81)] == [3.0, 3.0, pytest.approx(0.3)]
    assert step_decay(0.1, 91, (50, 70, 90)) == pytest.approx(1e-4)
    assert step_decay(0.1, 5, ()) == 0.1
