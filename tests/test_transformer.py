"""The skeleton transformer (issue 28): shapes on every layout, its grid under SkeleMix's mask
pooling, checkpoints that say which encoder they hold, the refusal across encoders, its recipe,
and one pretraining step of every method on it."""

import json
import math
from dataclasses import replace

import pytest
import torch

from datasets.layouts import LAYOUTS, get_layout
from methods import get_method, load_encoder
from methods.checkpoint import encoder_checkpoint, load_checkpoint
from methods.encoders import ENCODERS, build_encoder, encoder_class
from methods.encoders.pooling import mask_pool
from methods.presets import ENCODER_OPTIMISATION, for_encoder, quick_preset
from methods.pretrain import pretrain
from methods.train.config import TrainConfig
from methods.train.folder import check_run_folder, run_name
from methods.train.loop import build_optimizer, epoch_lrs
from protocols.common import refuse_other_encoder


def count(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def test_registered_beside_stgcn_and_sized_like_it():
    assert set(ENCODERS) >= {"stgcn", "transformer", "transformer-large"}
    stgcn, transformer = build_encoder("stgcn"), build_encoder("transformer")
    assert count(transformer) == 840_982  # ntu25; ST-GCN 821,380
    assert abs(count(transformer) / count(stgcn) - 1) < 0.05
    assert count(build_encoder("transformer-large")) > 6 * count(transformer)
    with pytest.raises(ValueError, match="transformer"):
        encoder_class("vit")


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("frames,t_out", [(50, 13), (64, 16)])
@pytest.mark.parametrize("persons", [1, 2])
def test_shapes_on_every_layout(layout, frames, t_out, persons):
    lay = get_layout(layout)
    enc = build_encoder("transformer", layout=layout).eval()
    x = torch.randn(3, lay.num_channels, frames, lay.num_joints, persons)
    fmap = enc.feature_map(x)
    assert fmap.shape == (3 * persons, 256, t_out, lay.num_joints)  # ST-GCN's grid: T/4 rounded up
    assert enc(x).shape == (3, 256)
    assert fmap.shape == build_encoder("stgcn", layout=layout).eval().feature_map(x).shape


def test_a_clip_longer_than_the_time_embedding_is_refused():
    enc = build_encoder("transformer").eval()
    with pytest.raises(ValueError, match="300 frames"):
        enc(torch.zeros(1, 3, 304, 25, 1))


def test_attention_alternates_between_joints_and_time():
    """Block 0 mixes only the joints of one time patch: changing one patch's input leaves every
    other patch's tokens after block 0 unchanged; block 1 then carries it along time."""
    torch.manual_seed(0)
    enc = build_encoder("transformer", layout="kinect20").eval()
    x = torch.randn(1, 3, 16, 20, 1)
    y = x.clone()
    y[:, :, 0:4] += 1.0  # time patch 0 only
    with torch.no_grad():
        a, b = enc.tokens(x), enc.tokens(y)
        after_space = enc.attend(0, a), enc.attend(0, b)
        after_time = enc.attend(1, after_space[0]), enc.attend(1, after_space[1])
    assert not torch.allclose(after_space[0][:, 0], after_space[1][:, 0])
    torch.testing.assert_close(after_space[0][:, 1:], after_space[1][:, 1:])
    assert not torch.allclose(after_time[0][:, 1:], after_time[1][:, 1:])


def test_mask_pooling_on_its_feature_map_by_hand():
    torch.manual_seed(1)
    enc = build_encoder("transformer", layout="kinect20").eval()
    x = torch.randn(2, 3, 64, 20, 2)
    with torch.no_grad():
        fmap = enc.feature_map(x)  # (4, 256, 16, 20)
    mask = torch.zeros(16, 20, dtype=torch.bool)
    mask[3:7, [0, 4, 5, 11]] = True
    trimmed, truncated = mask_pool(fmap, mask, persons=2)
    for n in range(2):
        inside = [fmap[2 * n + m, :, t, v] for m in range(2) for t in range(16) for v in range(20) if mask[t, v]]
        outside = [fmap[2 * n + m, :, t, v] for m in range(2) for t in range(16) for v in range(20) if not mask[t, v]]
        torch.testing.assert_close(trimmed[n], torch.stack(inside).mean(0), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(truncated[n], torch.stack(outside).mean(0), rtol=1e-5, atol=1e-6)


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(2)
    enc = build_encoder("transformer", layout="coco17")
    with torch.no_grad():
        enc.data_bn.running_mean.normal_()
    path = tmp_path / "encoder.pt"
    torch.save(encoder_checkpoint(enc, "transformer", {"out_channels": 256, "layout": "coco17"}, {"stream": "joint"}),
               path)
    loaded = load_checkpoint(path, layout="coco17")
    assert loaded.name == "transformer" and loaded.skeleton == "coco17"
    x = torch.randn(2, 3, 50, 17, 1)
    with torch.no_grad():
        torch.testing.assert_close(loaded.encoder(x), enc.eval()(x))
    assert type(load_encoder(path)).__name__ == "SkeletonTransformer"


def test_a_checkpoint_of_one_encoder_refuses_another(tmp_path):
    with pytest.raises(ValueError, match="holds a transformer encoder, not stgcn: pass --encoder transformer"):
        refuse_other_encoder(tmp_path / "encoder.pt", "transformer", "stgcn")
    refuse_other_encoder(tmp_path / "encoder.pt", "transformer", None)  # evaluated as what it holds
    refuse_other_encoder(tmp_path / "encoder.pt", "stgcn", "stgcn")
    final = tmp_path / "encoder.pt"
    final.write_bytes(b"")
    (tmp_path / "run.json").write_text(json.dumps({"epochs": 2, "config": {"encoder": "transformer"}}))
    with pytest.raises(ValueError, match="finished run of the transformer encoder, not stgcn"):
        check_run_folder(tmp_path, final, replace(quick_preset(), epochs=2), False, encoder="stgcn")
    assert check_run_folder(tmp_path, final, replace(quick_preset(), epochs=2), False, encoder="transformer")


def test_the_encoder_names_the_run_and_its_own_name_is_the_default():
    quick = quick_preset()
    assert run_name("aimclr", "nwucla-xview", "joint", quick, 0, encoder="transformer") == \
        "aimclr-nwucla-xview-joint-transformer-quick-e8-s0"
    assert run_name("aimclr", "nwucla-xview", "joint", quick, 0) == "aimclr-nwucla-xview-joint-quick-e8-s0"
    assert TrainConfig("aimclr", encoder="stgcn").encoder is None  # the same run as without --encoder
    with pytest.raises(ValueError, match="unknown encoder"):
        TrainConfig("aimclr", encoder="vit")


def test_recipe_adamw_warmup_then_cosine_by_hand():
    sgd = quick_preset()
    assert for_encoder(sgd, "stgcn") is sgd
    p = for_encoder(sgd, "transformer")
    assert (p.optimizer, p.schedule, p.warmup_epochs) == ("adamw", "cosine", 1)
    assert p.lr == ENCODER_OPTIMISATION["transformer"]["lr"] and p.epochs == sgd.epochs and p.queue_size == sgd.queue_size
    model = get_method("skeletonclr").from_preset(p, encoder="transformer")
    opt = build_optimizer(model, p)
    assert type(opt).__name__ == "AdamW"
    decayed = {id(t) for g in opt.param_groups if g["weight_decay"] > 0 for t in g["params"]}
    assert id(model.encoder_q.embed.weight) in decayed and id(model.encoder_q.embed.bias) not in decayed
    assert id(model.encoder_q.norm.weight) not in decayed
    assert not any(id(t) in decayed or t.requires_grad for t in model.encoder_k.parameters())
    lr = epoch_lrs(opt, p)
    assert lr(1) == pytest.approx(p.lr / 100)  # warm-up starts at 1 % of the LR
    for epoch in range(2, p.epochs + 1):  # then timm's cosine over the whole schedule
        assert lr(epoch) == pytest.approx(0.5 * p.lr * (1 + math.cos(math.pi * (epoch - 1) / p.epochs)))
    assert lr(3) == lr(3)  # a function of the epoch alone: a resumed run gets the same LR


@pytest.mark.parametrize("method", ["skeletonclr", "aimclr", "crossclr", "skelemixclr"])
def test_one_pretraining_step_of_each_method(method, tiny_root, tmp_path):
    path = pretrain(method, "synthetic-xsub", "quick", epochs=1, out=tmp_path, data_root=tiny_root, max_steps=1,
                    encoder="transformer", knn_every=0)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["config"]["encoder"] == "transformer" and run["preset"]["optimizer"] == "adamw"
    assert math.isfinite(run["history"][0]["loss"])
    loaded = load_checkpoint(path)
    assert loaded.name == "transformer"
    frames = get_method(method).default_config.frames
    assert loaded.encoder(torch.zeros(2, 3, frames, 25, 2)).shape == (2, 256)
