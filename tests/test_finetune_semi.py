"""Fine-tune and semi-supervised protocols: the official subset, the recipe, clipping, bit-identical
resume of the whole-network loop, and tiny end-to-end runs (methods.md §3.3, §3.4, §7)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from datasets import synthetic
from datasets.store import Split, load_split
from methods import get_method
from methods.base import build_backbone
from protocols import finetune, semi
from protocols.supervised import (
    LOG_FILE,
    Classifier,
    StoppedEarly,
    SupervisedConfig,
    chance_warning,
    epoch_batches,
    optimisation_step,
    scale_schedule,
    train_supervised,
)
from results import local_path

FOLDER = f"synthetic-xsub-f50-v{synthetic.GENERATOR_VERSION}"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: on a shared 2-core machine small ST-GCN steps run several times faster
    than with two contending threads (resume is bit-identical for any fixed thread count)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _exit_code(main, argv: list[str]) -> int:
    """A CLI's exit status, whether it returns it or argparse exits with it."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code)


# --- the subset ------------------------------------------------------------------------------

def test_balanced_subset_takes_the_official_counts_per_class():
    # classes in order of first appearance 2, 0, 1, 3 with 5, 3, 1, 4 samples; at p = 0.5 Python's
    # round gives round(2.5) = 2, round(1.5) = 2, round(0.5) = 0, round(2.0) = 2
    labels = np.array([2, 0, 2, 1, 0, 2, 3, 2, 0, 3, 2, 3, 3])
    idx = semi.balanced_subset(labels, 0.5, seed=0)
    assert idx.dtype == np.int64 and list(idx) == sorted(set(idx.tolist()))
    assert semi.subset_counts(labels, idx) == {0: 2, 1: 0, 2: 2, 3: 2}
    assert np.array_equal(idx, semi.balanced_subset(labels, 0.5, seed=0))
    big = np.repeat(np.arange(24), 9)
    a, b = semi.balanced_subset(big, 0.5, 0), semi.balanced_subset(big, 0.5, 1)
    assert len(a) == len(b) == 24 * 4 and not np.array_equal(a, b)  # round(4.5) = 4 per class


def test_recipes_and_schedule():
    ft = finetune.FINETUNE
    assert [ft.lr_at(e) for e in (1, 9, 10, 50, 51, 71, 91)] == pytest.approx([0.01, 0.09, 0.1, 0.1, 0.01, 1e-3, 1e-4])
    assert (ft.epochs, ft.nesterov, ft.clip, ft.max_grad, ft.bn_mode) == (110, True, "norm", 5.0, "eval")
    assert scale_schedule(ft, None) == (ft, False)
    scaled, was = scale_schedule(ft, 55)
    assert was and (scaled.milestones, scaled.warmup_epochs) == ((25, 35, 45), 5)
    one, ten = semi.recipe_for(0.01)[1], semi.recipe_for(0.1)[1]
    assert (one.lr, one.weight_decay, one.milestones, one.clip) == (0.05, 0.0, (40,), "off")
    assert (ten.lr, ten.weight_decay, ten.milestones, ten.clip) == (0.1, 1e-4, (80,), "norm")
    assert semi.recipe_for(0.02)[0] == 0.01 and semi.recipe_for(0.05)[0] == 0.1


def test_epoch_order_is_a_pure_function_and_small_sets_are_one_batch():
    a, b = epoch_batches(10, 4, seed=0, epoch=3), epoch_batches(10, 4, seed=0, epoch=3)
    assert [len(x) for x in a] == [4, 4] and all(torch.equal(x, y) for x, y in zip(a, b))  # drop_last
    assert not torch.equal(torch.cat(a), torch.cat(epoch_batches(10, 4, seed=0, epoch=4)))
    small = epoch_batches(3, 128, seed=0, epoch=1)
    assert len(small) == 1 and sorted(small[0].tolist()) == [0, 1, 2]


# --- clipping ------------------------------------------------------------------------------

def _toy_model(seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    return Classifier(nn.Sequential(nn.Flatten(), nn.Linear(12, 256)), num_classes=5)


@pytest.mark.parametrize("clip", ["norm", "official", "off"])
def test_clipping_bounds_the_norm_and_the_official_call_does_not(clip):
    model = _toy_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(8, 3, 4) * 10, torch.arange(8) % 5
    norm = optimisation_step(model, opt, nn.functional.cross_entropy(model(x), y), clip, max_grad=1e-3)
    if clip == "norm":
        assert norm <= 1e-3 + 1e-6
    else:
        assert norm > 1e-2  # the official call ran before backward(), so nothing was clipped
    if clip == "official":  # and the step is exactly the unclipped one
        ref = _toy_model()
        ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
        optimisation_step(ref, ref_opt, nn.functional.cross_entropy(ref(x), y), "off", 1e-3)
        assert all(torch.equal(p, q) for p, q in zip(model.parameters(), ref.parameters()))


# --- the loop: weights change, resume is bit-identical --------------------------------------

@pytest.fixture(scope="module")
def tiny_parts(tiny_root):
    train, val = load_split(tiny_root / FOLDER, "train"), load_split(tiny_root / FOLDER, "val")
    cut = lambda s, n: Split(np.asarray(s.data[:n]), s.names[:n], s.labels[:n])  # noqa: E731
    return cut(train, 16), cut(val, 8)


def test_supervised_loop_trains_and_resumes_bit_identically(tiny_parts, tmp_path):
    train, val = tiny_parts
    torch.manual_seed(0)
    backbone = build_backbone(get_method("skeletonclr").default_config).eval()
    start = {k: v.clone() for k, v in backbone.state_dict().items()}
    # train mode: dropout draws from torch's generator, which the state must carry over
    config = SupervisedConfig(epochs=2, lr=0.1, milestones=(1,), warmup_epochs=0, batch_size=8, eval_every=1,
                              bn_mode="train")
    run = dict(train=train, val=val, num_classes=24, stream="joint", device=torch.device("cpu"), config=config,
               max_steps=1)
    whole = train_supervised(backbone, run_dir=tmp_path / "whole", **run)
    assert not torch.equal(whole.model.backbone.state_dict()["data_bn.weight"], start["data_bn.weight"])
    assert all(torch.equal(v, start[k]) for k, v in backbone.state_dict().items())  # the caller's copy untouched
    with pytest.raises(StoppedEarly):
        train_supervised(backbone, run_dir=tmp_path / "cut", stop_after=1, **run)
    resumed = train_supervised(backbone, run_dir=tmp_path / "cut", **run)
    assert resumed.resumed and not resumed.reused
    assert resumed.metrics == whole.metrics and len(whole.metrics["curve"]) == 2
    assert np.array_equal(resumed.logits.final, whole.logits.final)
    a, b = whole.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    again = train_supervised(backbone, run_dir=tmp_path / "cut", **run)  # finished: reused, nothing trained
    assert again.reused and again.metrics == whole.metrics
    with pytest.raises(ValueError, match="belongs to another run"):
        train_supervised(backbone, run_dir=tmp_path / "cut", seed=1, **run)
    fresh = train_supervised(backbone, run_dir=tmp_path / "cut", restart=True, **run)  # the old folder moved aside
    assert not fresh.resumed and not fresh.reused and fresh.metrics == whole.metrics
    assert len(list(tmp_path.glob("cut.old-*"))) == 1


# --- end to end ------------------------------------------------------------------------------

def _last_json(capsys) -> dict:
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


@pytest.mark.slow  # ~33 s; the default run trains the same random-init fine-tune in test_the_chance_warning_...
def test_finetune_supervised_baseline_end_to_end(tiny_root, tmp_path, capsys):
    argv = ["--method", "skeletonclr", "--data-root", str(tiny_root), "--checkpoint", "random", "--epochs", "1",
            "--results-dir", str(tmp_path), "--json"]
    assert finetune.main(argv) == 0
    rec = _last_json(capsys)
    cfg = rec["protocol_config"]
    assert rec["protocol"] == "finetune" and rec["checkpoint"]["source"] == "random"
    assert (cfg["bn_mode"], cfg["clip"], cfg["schedule_scaled"], cfg["resumed"]) == ("train", "norm", True, False)
    assert "warning" not in rec  # one epoch is too short to call chance (test_the_chance_warning_reaches_...)
    assert (tmp_path / rec["logits"]).is_file() and set(rec["metrics"]) >= {"top1", "top5", "best_top1", "curve"}
    with np.load(tmp_path / rec["logits"]) as z:
        assert z["final"].shape == (72, 24) and z["best"].shape == (72, 24)


def test_semi_end_to_end_saves_and_reuses_its_subset(tiny_root, tmp_path, capsys):
    base = ["--method", "skeletonclr", "--data-root", str(tiny_root), "--epochs", "1", "--json"]
    assert semi.main(base + ["--fraction", "0.1", "--results-dir", str(tmp_path / "a")]) == 0
    rec = _last_json(capsys)
    cfg = rec["protocol_config"]
    assert rec["protocol"] == "semi" and cfg["fraction"] == 0.1 and cfg["bn_mode"] == "eval"
    assert cfg["subset_size"] == 24 and set(cfg["subset_per_class"].values()) == {1}  # round(0.1 · 9) = 1
    assert cfg["single_batch"] and cfg["empty_classes"] == []
    assert cfg["subset_file"].startswith("<cache>/subsets/")  # named by place; --subset takes it as it is
    doc = json.loads(local_path(cfg["subset_file"]).read_text())
    assert doc["indices"] == sorted(doc["indices"]) and len(doc["names"]) == 24
    # the saved file trains the same subset again; the finished run is reused
    assert semi.main(base + ["--subset", cfg["subset_file"], "--results-dir", str(tmp_path / "b")]) == 0
    again = _last_json(capsys)["protocol_config"]
    assert again["subset_sha256"] == cfg["subset_sha256"] and again["reused"]
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({**doc, "data_fingerprint": "0" * 64}))
    assert semi.main(base + ["--subset", str(foreign), "--results-dir", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "drawn from other files" in err[0] and not (tmp_path / "c").exists()


@pytest.mark.parametrize("argv,message", [
    (["--fraction", "0"], "must be a fraction strictly between 0 and 1"),
    (["--fraction", "1.5"], "must be a fraction strictly between 0 and 1"),
    (["--fraction", "0.01"], "subset of synthetic-xsub is empty"),  # round(0.01 · 9) = 0 for every class
])
def test_semi_refusals(argv, message, tiny_root, tmp_path, capsys):
    argv = ["--method", "skeletonclr", "--data-root", str(tiny_root), "--results-dir", str(tmp_path / "r")] + argv
    assert _exit_code(semi.main, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and not (tmp_path / "r").exists()


@pytest.mark.parametrize("argv,field,expected", [([], "eval_every", 5), (["--eval-every", "25"], "eval_every", 25),
                                                  ([], "augment", "none"), (["--augment", "normal"], "augment", "normal"),
                                                  (["--augment", "rotate"], "augment", "rotate"),
                                                  ([], "batch_size", 128), (["--batch-size", "16"], "batch_size", 16)])
def test_training_options_reach_both_recipes(argv, field, expected):
    """The evaluation cadence, the augmentation and the batch size are options of both recipes alike."""
    from types import SimpleNamespace

    from protocols.cli import spec_from_args
    encoder = SimpleNamespace(source="zoo")
    spec = spec_from_args(semi.build_parser().parse_args(["--method", "skeletonclr", "--fraction", "0.01", *argv]),
                          semi.SemiSpec)
    assert getattr(semi.semi_config(spec, encoder, 0.01)[0], field) == expected
    spec = spec_from_args(finetune.build_parser().parse_args(["--method", "skeletonclr", *argv]), finetune.FinetuneSpec)
    assert getattr(finetune.finetune_config(spec, encoder)[0], field) == expected


def test_augmented_training_draws_views_by_position_and_resumes_bit_identically(tiny_parts, tmp_path):
    """``augment="normal"`` trains on other inputs than the clips (the loss moves), draws each
    step's views from the step's position (two runs and an interrupted-then-resumed run agree)."""
    train, val = tiny_parts
    torch.manual_seed(0)
    backbone = build_backbone(get_method("skeletonclr").default_config).eval()
    config = SupervisedConfig(epochs=2, lr=0.1, milestones=(1,), warmup_epochs=0, batch_size=8, eval_every=1,
                              bn_mode="train")
    run = dict(train=train, val=val, num_classes=24, stream="joint", device=torch.device("cpu"), max_steps=2)
    plain = train_supervised(backbone, run_dir=tmp_path / "plain", config=config, **run)
    augmented = SupervisedConfig(**{**config.__dict__, "augment": "normal"})
    whole = train_supervised(backbone, run_dir=tmp_path / "whole", config=augmented, **run)
    assert whole.metrics["curve"][0]["loss"] != plain.metrics["curve"][0]["loss"]
    with pytest.raises(StoppedEarly):
        train_supervised(backbone, run_dir=tmp_path / "cut", config=augmented, stop_after=1, **run)
    resumed = train_supervised(backbone, run_dir=tmp_path / "cut", config=augmented, **run)
    assert resumed.resumed and resumed.metrics == whole.metrics
    assert np.array_equal(resumed.logits.final, whole.logits.final)
    with pytest.raises(ValueError, match="unknown augmentation 'mirror'"):
        SupervisedConfig(augment="mirror")


def test_camera_rotation_moves_the_loss_and_refuses_a_2d_layout(tiny_parts, tmp_path):
    """``augment="rotate"`` trains on turned clips (the loss moves); a 2D layout (coordinates and
    a score) is refused before a run folder is made, with the options that fit it."""
    train, val = tiny_parts
    torch.manual_seed(0)
    backbone = build_backbone(get_method("skeletonclr").default_config).eval()
    config = SupervisedConfig(epochs=1, lr=0.1, milestones=(1,), warmup_epochs=0, batch_size=8, bn_mode="train")
    run = dict(train=train, val=val, num_classes=24, stream="joint", device=torch.device("cpu"), max_steps=2)
    plain = train_supervised(backbone, run_dir=tmp_path / "plain", config=config, **run)
    rotate = SupervisedConfig(**{**config.__dict__, "augment": "rotate"})
    turned = train_supervised(backbone, run_dir=tmp_path / "turned", config=rotate, **run)
    assert turned.metrics["curve"][0]["loss"] != plain.metrics["curve"][0]["loss"]
    with pytest.raises(ValueError, match="2D.*--augment normal or none"):
        train_supervised(backbone, run_dir=tmp_path / "2d", config=rotate, coordinates=2, **run)
    assert not (tmp_path / "2d").exists()



def test_a_fit_that_ends_at_chance_is_flagged():
    """ln 10 = 2.3026: a 10-class fit whose last training loss is within 2 % of it guessed a constant
    (NW-UCLA semi-supervised in eval-mode BN ended at 2.3040, top-1 10.56)."""
    def curve(last: float, epochs: int = 12) -> list[dict]:
        return [{"epoch": e, "loss": 2.31} for e in range(1, epochs)] + [{"epoch": epochs, "loss": last}]

    warning = chance_warning(curve(2.3040), 10, "eval")
    assert warning.startswith("the training loss ended at 2.3040, the chance level of 10 classes (ln 10 = 2.3026)")
    assert "--bn-mode train" in warning
    assert "lower the LR" in chance_warning(curve(2.2600), 10, "train")  # 1.8 % under ln 10: still chance
    assert chance_warning(curve(2.2500), 10, "eval") is None  # 2.3 % under: it learnt something
    assert chance_warning(curve(0.7), 10, "eval") is None
    assert chance_warning(curve(2.3040, epochs=9), 10, "eval") is None  # too short to tell


def test_the_chance_warning_reaches_the_terminal_and_the_record(tiny_root, tmp_path, capsys, monkeypatch):
    from protocols import supervised

    argv = ["--method", "skeletonclr", "--data-root", str(tiny_root), "--checkpoint", "random", "--epochs", "1",
            "--results-dir", str(tmp_path), "--json"]
    monkeypatch.setattr(supervised, "CHANCE_MIN_EPOCHS", 1)
    monkeypatch.setattr(supervised, "CHANCE_MARGIN", 100.0)  # every loss is "at chance"
    assert finetune.main(argv) == 0
    out = capsys.readouterr()
    rec = json.loads(out.out.strip().splitlines()[-1])
    assert rec["warning"].startswith("the training loss ended at")  # where a pretraining's run.json keeps its own
    assert "warning: the training loss ended at" in out.err
    assert "warning: the training loss ended at" in (local_path(rec["protocol_config"]["run_dir"]) / LOG_FILE).read_text()
