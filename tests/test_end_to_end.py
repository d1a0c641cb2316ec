"""Tiny end-to-end runs: pretrain → checkpoint → linear protocol → record → leaderboard, and the
errors a user meets on bad input."""

import json

import pytest
import torch

from methods import load_encoder
from methods.checkpoint import atomic_save, encoder_checkpoint
from methods.encoders import build_encoder
from methods.pretrain import pretrain
from protocols import linear
from results import REQUIRED, read_records


@pytest.fixture(scope="module")
def tiny_checkpoint(tiny_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    path = pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=2, out=out, data_root=tiny_root, max_steps=2)
    return path


def test_pretrain_writes_checkpoints_and_resumes(tiny_checkpoint, tiny_root):
    run = tiny_checkpoint.parent
    assert (run / "last.pt").is_file() and (run / "run.json").is_file()
    meta = json.loads((run / "run.json").read_text())
    assert meta["epochs"] == 2 and len(meta["history"]) == 2 and meta["preset"]["name"] == "quick"
    assert not list(run.glob("*.tmp"))  # nothing half-written
    encoder = load_encoder(tiny_checkpoint)
    assert not encoder.training and encoder(torch.zeros(1, 3, 50, 25, 2)).shape == (1, 256)
    # resuming a finished 2-epoch run for 3 epochs trains exactly one more epoch
    path = pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=3, out=run, resume=True, data_root=tiny_root,
                    max_steps=2)
    assert [h["epoch"] for h in json.loads((path.parent / "run.json").read_text())["history"]] == [1, 2, 3]


def test_linear_protocol_record_and_feature_cache(tiny_checkpoint, tiny_root, tmp_path, capsys):
    args = ["--method", "skeletonclr", "--data-root", str(tiny_root), "--checkpoint", str(tiny_checkpoint),
            "--epochs", "5", "--results-dir", str(tmp_path), "--json"]
    assert linear.main(args) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert all(k in first for k in REQUIRED)
    assert first["synthetic"] and first["protocol_config"]["features_cached"] is False
    assert first["checkpoint"]["layout"] == "skelebench-encoder" and first["pretrain_wall_s"] > 0
    assert first["pretrain_seed"] == 0  # the pretraining run's seed, read from the checkpoint
    assert first["bn_statistics"] == "training"  # the statistics pretraining ended with (official)
    assert first["variant"] == {}  # the quick preset's own changes (key init, LR) are not a variant
    assert 0 <= first["metrics"]["top1"] <= 100 and first["metrics"]["best_top1"] >= first["metrics"]["top1"]
    assert linear.main(args) == 0
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert second["protocol_config"]["features_cached"] is True
    assert second["metrics"] == first["metrics"]  # deterministic given features and seed
    assert len(read_records(tmp_path)) == 2
    assert linear.main(args + ["--bn", "precise"]) == 0  # the same encoder, statistics re-estimated first
    precise = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert precise["bn_statistics"] == "precise" and precise["protocol_config"]["features_cached"] is False
    assert precise["checkpoint"]["sha256"] != first["checkpoint"]["sha256"]


def test_random_init_baseline(tiny_root, tmp_path, capsys):
    args = ["--method", "skeletonclr", "--data-root", str(tiny_root), "--checkpoint", "random", "--epochs", "5",
            "--results-dir", str(tmp_path)]
    assert linear.main(args) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("linear skeletonclr synthetic-xsub joint: top1") and "checkpoint random" in line
    assert "[synthetic data]" in line
    # the official probe's record carries the standardised probe's figure on the same features, and
    # the output puts each beside its own random-init reference, with a line on how to read them
    assert linear.main(args + ["--probe", "standardised"]) == 0
    standardised = read_records(tmp_path)[-1]["metrics"]["top1"]
    assert linear.main(args) == 0
    out = capsys.readouterr().out.strip().splitlines()
    official = read_records(tmp_path)[-1]
    assert official["metrics"]["standardised_top1"] == pytest.approx(standardised)
    assert out[-3].startswith(f"standardised probe on the same features: top1 {standardised:.2f}; references on these "
                              "data:")  # (a random-init run is its own floor: the supervised reference only)
    assert out[-2].startswith("how to read: the headline top1 is the official probe")


@pytest.mark.parametrize("argv,message", [
    (["--method", "simclr"], "unknown method 'simclr'; available: aimclr, crossclr, skelemixclr, skelemixclr-v1, skeletonclr"),
    (["--method", "skeletonclr", "--checkpoint", "/nonexistent/model.pt"], "does not exist"),
    (["--method", "skeletonclr", "--dataset", "ntu60-xsub"], "needs --data-root"),
    (["--method", "skeletonclr", "--dataset", "kinetics"], "unknown dataset 'kinetics'"),
])
def test_cli_errors(argv, message, tmp_path, capsys):
    assert linear.main(argv + ["--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert not any(tmp_path.iterdir())  # no record for a failed run


def test_encoder_of_another_stream_is_refused(tiny_checkpoint, tiny_root, tmp_path, capsys):
    assert linear.main(["--method", "skeletonclr", "--data-root", str(tiny_root), "--checkpoint", str(tiny_checkpoint),
                        "--stream", "motion", "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds the joint-stream encoder, not motion; evaluate it with --stream joint" in err


def test_wrong_shape_checkpoint_is_refused(tiny_root, tmp_path, capsys):
    small = build_encoder("stgcn", hidden_channels=8)
    bad = atomic_save(encoder_checkpoint(small, "stgcn", {"hidden_channels": 16}, {}), tmp_path / "bad.pt")
    assert linear.main(["--method", "skeletonclr", "--data-root", str(tiny_root), "--checkpoint", str(bad),
                        "--results-dir", str(tmp_path / "rec")]) == 2
    err = capsys.readouterr().err
    assert "does not fit the encoder" in err and "shape" in err
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    assert linear.main(["--method", "skeletonclr", "--data-root", str(tiny_root), "--checkpoint", str(junk),
                        "--results-dir", str(tmp_path / "rec")]) == 2
    assert "could not be read" in capsys.readouterr().err
    assert not (tmp_path / "rec").exists()


def test_method_options_from_the_command_line():
    from methods import get_method
    from methods.presets import quick_preset
    from methods.train.config import method_config_overrides, parse_options
    from methods.train.folder import run_name

    opts = parse_options(["normalise_blur=true", "topk=2", "extreme_chain=123456"])
    assert opts == {"normalise_blur": True, "topk": 2, "extreme_chain": 123456}
    assert parse_options(["spatial_mode=random"]) == {"spatial_mode": "random"}
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_options(["normalise_blur"])
    extra = method_config_overrides(get_method("crossclr"), "joint", {"stale_keys": False})["extra"]
    assert extra["stale_keys"] is False and extra["shared_head"] is True  # merged with the defaults
    chain = method_config_overrides(get_method("aimclr"), "joint", opts)["extra"]["extreme_chain"]
    assert chain == "123456"  # the option's default is a string, so it stays one
    with pytest.raises(ValueError, match="no option stale_key; its options"):
        method_config_overrides(get_method("crossclr"), "joint", {"stale_key": False})
    # a value of the wrong kind is refused before training, not deep inside the first step
    aimclr = get_method("aimclr")
    threshold = parse_options(["drop_threshold=Infinity"])
    assert method_config_overrides(aimclr, "joint", threshold)["extra"]["drop_threshold"] == float("inf")
    with pytest.raises(ValueError, match="drop_threshold takes a number .default 0.7., got 'inf'.*Infinity"):
        method_config_overrides(aimclr, "joint", parse_options(["drop_threshold=inf"]))
    with pytest.raises(ValueError, match="normalise_blur takes true or false"):
        method_config_overrides(aimclr, "joint", {"normalise_blur": 1})
    with pytest.raises(ValueError, match="topk takes a whole number, got 1.5"):
        method_config_overrides(aimclr, "joint", {"topk": 1.5})
    assert method_config_overrides(aimclr, "joint", {"drop_threshold": 1})["extra"]["drop_threshold"] == 1
    assert run_name("crossclr", "synthetic-xsub", "joint", quick_preset(), 0, {"stale_keys": False}).endswith(
        "+stale_keys=False")
    cpu = get_method("crossclr").presets["cpu"]  # a recipe's own options name its runs too, below --option
    assert run_name("crossclr", "nwucla-xview", "joint", cpu, 0, data="ab" * 32).endswith(
        "-s0-dabababababab+shared_head=False+stale_keys=False")
    assert run_name("crossclr", "nwucla-xview", "joint", cpu, 0, {"shared_head": True}).endswith(
        "-s0+shared_head=True+stale_keys=False")


def test_method_variant_names_what_departs_from_the_defaults():
    from methods import get_method
    from protocols.common import method_variant

    cls = get_method("crossclr")
    config = cls.default_config.to_dict()
    assert method_variant(cls, config) == {} and method_variant(cls, None) == {}
    config = {**config, "temperature": 0.2, "key_init": "copy", "extra": {**config["extra"], "stale_keys": False}}
    assert method_variant(cls, config) == {"temperature": 0.2, "stale_keys": False}



def test_method_variant_names_recipe_numbers_that_depart_from_the_named_preset():
    """A run of a patched ``cpu`` recipe (another LR) must not be recorded as the ``cpu`` recipe;
    another length (``--epochs``) is recorded apart, and a run.json written before the optimiser
    fields existed reads as the SGD recipe it trained with."""
    from dataclasses import asdict

    from methods import get_method
    from protocols.common import method_variant

    cls = get_method("aimclr")
    config = cls.default_config.to_dict()
    cpu = asdict(cls.presets["cpu"])
    assert method_variant(cls, config, cpu) == {}
    assert method_variant(cls, config, {**cpu, "epochs": 7}) == {}
    old = {k: v for k, v in cpu.items() if k not in ("optimizer", "schedule", "warmup_epochs")}
    assert method_variant(cls, config, json.loads(json.dumps(old))) == {}
    assert method_variant(cls, config, {**cpu, "lr": cpu["lr"] / 3}) == {"lr": cpu["lr"] / 3}
    transformer = {**config, "encoder": "transformer"}
    assert method_variant(cls, transformer, cpu)["optimizer"] == "sgd"  # an SGD run is not the transformer's recipe
