"""Protocols are functions of frozen specs (issue 27): ``linear.run(linear.LinearSpec(...))`` runs
from Python as ``python -m protocols.linear`` does from a command line, the command line builds
the very spec Python would, a bad field is refused when the spec is built, and specs compose
without mutating one another (transfer)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from protocols import cli, difficulty, ensemble, finetune, knn, linear, robustness, semi, transfer
from protocols.common import ProtocolSpec, each_seed, recast
from results import read_records

#: Every protocol's parser and spec type.
PROTOCOLS = {"linear": (linear.build_parser, linear.LinearSpec), "knn": (knn.build_parser, knn.KnnSpec),
             "semi": (semi.build_parser, semi.SemiSpec), "finetune": (finetune.build_parser, finetune.FinetuneSpec),
             "transfer": (transfer.build_parser, transfer.TransferSpec),
             "robustness": (robustness.build_parser, robustness.RobustnessSpec),
             "difficulty": (difficulty.build_parser, difficulty.DifficultySpec),
             "ensemble": (ensemble.build_parser, ensemble.EnsembleSpec)}


def from_cli(protocol: str, argv: list[str]):
    build, spec_type = PROTOCOLS[protocol]
    return cli.spec_from_args(build().parse_args(argv), spec_type)


def test_linear_runs_from_python_and_writes_its_record(tiny_root, tmp_path, capsys):
    spec = linear.LinearSpec(method="skelemixclr", checkpoint="random", data_root=tiny_root, epochs=1,
                             results_dir=tmp_path, device="cpu", json=True)
    record = linear.run(spec)
    assert (record["method"], record["protocol"], record["stream"], record["frames"]) == (
        "skelemixclr", "linear", "joint", 64)  # SkeleMixCLR's 64 frames, from the tiny root
    assert record["checkpoint"]["source"] == "random" and record["protocol_config"]["epochs"] == 1
    assert 0 <= record["metrics"]["top1"] <= 100 and "standardised_top1" in record["metrics"]
    (written,) = read_records(tmp_path)
    assert Path(record["record_path"]) == Path(written["_path"]) and written["metrics"] == record["metrics"]
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("{")  # json=True printed the record
    assert spec == linear.LinearSpec(method="skelemixclr", checkpoint="random", data_root=str(tiny_root), epochs=1,
                                     results_dir=str(tmp_path), device="cpu", json=True)  # the run changed nothing


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
def test_defaults_of_a_spec_are_its_command_line_defaults(protocol):
    argv = [] if protocol == "difficulty" else ["--method", "skeletonclr"]
    spec_type = PROTOCOLS[protocol][1]
    assert from_cli(protocol, argv) == spec_type(**({} if protocol == "difficulty" else {"method": "skeletonclr"}))


@pytest.mark.parametrize("protocol,argv,fields", [
    ("linear", ["--method", "aimclr", "--stream", "all", "--epochs", "3", "--probe", "standardised", "--seeds", "2,1",
                "--data-root", "data", "--results-dir", "out", "--json", "--bn", "precise", "--checkpoint", "random"],
     {"method": "aimclr", "stream": "all", "epochs": 3, "probe": "standardised", "run_seeds": [2, 1],
      "data_root": "data", "results_dir": Path("out"), "json": True, "bn": "precise", "checkpoint": "random"}),
    ("knn", ["--method", "skeletonclr", "--k", "5", "1", "--t", "0.2", "--features", "projection", "--augmented-bank"],
     {"method": "skeletonclr", "k": [5, 1], "t": 0.2, "features": "projection", "augmented_bank": True}),
    ("semi", ["--method", "skeletonclr", "--fraction", "0.1", "--subset-seed", "3", "--clip", "off", "--epochs", "2",
              "--run-dir", "runs/a", "--restart"],
     {"method": "skeletonclr", "fraction": 0.1, "subset_seed": 3, "clip": "off", "epochs": 2, "run_dir": "runs/a",
      "restart": True}),
    ("finetune", ["--method", "skeletonclr", "--bn-mode", "train", "--batch-size", "16", "--augment", "normal",
                  "--eval-every", "2", "--allow-mismatch", "--pretrain", "--seed", "9"],
     {"method": "skeletonclr", "bn_mode": "train", "batch_size": 16, "augment": "normal", "eval_every": 2,
      "allow_mismatch": True, "pretrain": True, "seed": 9}),
    ("transfer", ["--method", "skeletonclr", "--source", "ntu120-xsub", "--target", "pku2", "--source-root", "src",
                  "--eval", "finetune", "--drop-overlap"],
     {"method": "skeletonclr", "source": "ntu120-xsub", "target": "pku2", "source_root": "src", "eval": "finetune",
      "drop_overlap": True}),
    ("robustness", ["--method", "skeletonclr", "--corruptions", "body_swap,gaussian_noise,body_swap"],
     {"method": "skeletonclr", "corruptions": ("body_swap", "gaussian_noise")}),
    ("difficulty", ["--seeds", "4,5", "--logistic-iterations", "7", "--epochs", "2", "--dataset", "nwucla-xview"],
     {"seeds": "4,5", "logistic_iterations": 7, "epochs": 2, "dataset": "nwucla-xview"}),
    ("ensemble", ["--method", "aimclr", "--records", "a.json", "b.json", "--weights", "1,2", "--logits", "best",
                  "--source", "zoo", "--protocol", "finetune"],
     {"method": "aimclr", "records": ["a.json", Path("b.json")], "weights": "1,2", "logits": "best",
      "source": "zoo", "protocol": "finetune"}),
])
def test_a_spec_from_the_command_line_equals_the_one_built_in_python(protocol, argv, fields):
    """Python values are normalised as the options' types parse them: a list is a tuple, text a Path."""
    assert from_cli(protocol, argv) == PROTOCOLS[protocol][1](**fields)


@pytest.mark.parametrize("spec_type,fields,message", [
    (linear.LinearSpec, {"method": "simclr"}, "unknown method 'simclr'; available: aimclr"),
    (linear.LinearSpec, {"method": 3}, "LinearSpec.method: a method is named by a string, got 3"),
    (linear.LinearSpec, {"method": "skeletonclr", "epochs": 0}, "LinearSpec.epochs: must be at least 1, got 0"),
    (linear.LinearSpec, {"method": "skeletonclr", "probe": "sgd"}, "LinearSpec.probe: invalid choice 'sgd'"),
    (knn.KnnSpec, {"method": "skeletonclr", "stream": "all"}, "KnnSpec.stream: invalid choice 'all'"),
    (knn.KnnSpec, {"method": "skeletonclr", "k": (10, 0)}, "KnnSpec.k: must be at least 1, got 0"),
    (knn.KnnSpec, {"method": "skeletonclr", "t": float("nan")}, "KnnSpec.t: must be a positive number, got nan"),
    (semi.SemiSpec, {"method": "skeletonclr", "fraction": 1.0}, "SemiSpec.fraction: must be a fraction strictly"),
    (finetune.FinetuneSpec, {"method": "skeletonclr", "clip": "always"}, "FinetuneSpec.clip: invalid choice"),
    (finetune.FinetuneSpec, {"method": "skeletonclr", "seed": 2**32}, "FinetuneSpec.seed: a seed must be 0 to"),
    (robustness.RobustnessSpec, {"method": "skeletonclr", "corruptions": ("nope",)}, "unknown corruption"),
    (transfer.TransferSpec, {"method": "skeletonclr", "drop_overlap": True, "keep_overlap": True},
     "drop_overlap and keep_overlap exclude each other"),
    (difficulty.DifficultySpec, {"seeds": (1, 1)}, "DifficultySpec.seeds: seeds repeat"),
    (ensemble.EnsembleSpec, {"method": "aimclr", "logits": "worst"}, "EnsembleSpec.logits: invalid choice 'worst'"),
])
def test_an_invalid_field_is_refused_when_the_spec_is_built(spec_type, fields, message):
    with pytest.raises(ValueError) as refused:
        spec_type(**fields)
    assert message in str(refused.value)


def test_a_spec_is_frozen_and_keyword_only():
    spec = linear.LinearSpec(method="skeletonclr")
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.epochs = 5  # type: ignore[misc]
    with pytest.raises(TypeError):
        linear.LinearSpec("skeletonclr")  # type: ignore[misc]
    with pytest.raises(ValueError, match="LinearSpec.epochs"):
        dataclasses.replace(spec, epochs=-1)  # a changed copy is checked as a new spec is


def test_transfer_composes_specs_and_leaves_its_own_unchanged(monkeypatch, tmp_path):
    """The source's and the target's specs are new values; the transfer spec stays what it was."""
    spec = transfer.TransferSpec(method="skeletonclr", data_root=tmp_path / "data", source_root=str(tmp_path / "src"),
                                 epochs=2, eval="linear", drop_overlap=True, results_dir=tmp_path, device="cpu")
    before = dataclasses.replace(spec)
    seen = {}

    def resolve_encoder(source, device):
        seen["source"] = source
        return "encoder"

    def run_linear(target, device, encoder, t0, protocol, config, dropped):
        seen.update(target=target, encoder=encoder, protocol=protocol, dropped=dropped)
        return {}

    monkeypatch.setattr(transfer, "overlap_config", lambda s, frames: ({"overlap": 0}, frozenset({"clip"})))
    monkeypatch.setattr(transfer, "resolve_encoder", resolve_encoder)
    monkeypatch.setattr(transfer, "run_linear", run_linear)
    assert transfer.run(spec) == {}
    assert spec == before and spec.dataset is None
    source, target = seen["source"], seen["target"]
    assert (source.dataset, source.data_root) == ("synthetic-xsub", tmp_path / "src")
    assert type(target) is linear.LinearSpec and (target.dataset, target.data_root) == ("synthetic-xview",
                                                                                         tmp_path / "data")
    assert (target.epochs, target.probe, target.method, target.results_dir) == (2, "official", "skeletonclr", tmp_path)
    assert (seen["encoder"], seen["protocol"], seen["dropped"]) == ("encoder", "transfer", frozenset({"clip"}))
    finetune_target = transfer.target_spec(dataclasses.replace(spec, eval="finetune", clip="off"))
    assert type(finetune_target) is finetune.FinetuneSpec and finetune_target.clip == "off"


def test_recast_carries_the_shared_fields():
    spec = difficulty.DifficultySpec(seeds=(3, 4), data_root="d", json=True)
    record_spec = recast(spec, ProtocolSpec, stream="joint", seed=3)
    assert (record_spec.method, record_spec.data_root, record_spec.json, record_spec.seed) == (
        "skeletonclr", Path("d"), True, 3)


def test_one_run_is_one_seed(tmp_path):
    spec = knn.KnnSpec(method="skeletonclr", run_seeds=(4, 0), results_dir=tmp_path)
    assert [(s.seed, s.run_seeds) for s in each_seed(spec)] == [(4, None), (0, None)]
    with pytest.raises(ValueError, match="one seed"):
        knn.run(spec, device="cpu")
    assert not any(tmp_path.iterdir())


def test_a_parser_and_a_spec_that_disagree_are_a_programming_error():
    args = linear.build_parser().parse_args(["--method", "skeletonclr"])
    with pytest.raises(TypeError, match=r"options without a field \['epochs', 'probe'\]"):
        cli.spec_from_args(args, ProtocolSpec)


def test_only_the_command_line_code_sees_a_namespace():
    """No function of the protocols but the CLI module's takes an ``argparse.Namespace``."""
    root = Path(__file__).resolve().parents[1] / "protocols"
    found = []
    for path in sorted(root.glob("*.py")):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                found += [f"{path.name}:{node.name}" for a in args
                          if a.annotation is not None and "Namespace" in ast.unparse(a.annotation)]
    assert found == []


def test_a_protocol_without_an_encoder_pretrains_through_the_trainer(monkeypatch):
    """No checkpoint and no zoo entry (``--pretrain``): the protocol asks the trainer for the
    dataset's default recipe, continuing an interrupted run (resume) but never requiring one."""
    import torch

    from methods.train import TrainConfig
    from protocols import common

    asked = []

    class Stop(Exception):
        pass

    def fake_train(config: TrainConfig):
        asked.append(config)
        raise Stop

    monkeypatch.setattr(common, "train", fake_train)
    spec = linear.LinearSpec(method="aimclr", pretrain=True, seed=3, stream="bone")
    with pytest.raises(Stop):
        common.resolve_encoder(spec, torch.device("cpu"))
    (config,) = asked
    assert (config.method, config.dataset, config.preset, config.seed, config.stream) == \
        ("aimclr", "synthetic-xsub", "quick", 3, "bone")
    assert config.resume and not config.require_run and config.epochs is None and config.out is None
