"""Transfer: an encoder resolved on the source benchmark, the protocol run on the target's data and labels."""

from __future__ import annotations

import json

import pytest

from datasets import synthetic
from methods.zoo import zoo_entry
from protocols import transfer


@pytest.fixture(scope="module")
def two_benchmarks(tiny_root, tmp_path_factory):
    """A data root with the tiny synthetic-xsub (source) and synthetic-xview (target)."""
    root = tmp_path_factory.mktemp("transfer-data")
    for bench in ("xsub", "xview"):
        synthetic.build_benchmark(bench, 50, root / f"synthetic-{bench}-f50-v{synthetic.GENERATOR_VERSION}", subjects=4,
                                  classes=24)
    return root


def test_linear_transfer_uses_the_source_encoder_on_the_target(two_benchmarks, tmp_path, capsys):
    argv = ["--method", "skeletonclr", "--source", "synthetic-xsub", "--target", "synthetic-xview",
            "--data-root", str(two_benchmarks), "--epochs", "2", "--results-dir", str(tmp_path), "--json"]
    assert transfer.main(argv) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["protocol"] == "transfer" and rec["dataset"] == "synthetic-xview" and rec["split"] == "xview"
    assert rec["checkpoint"]["source"] == "zoo"
    assert rec["checkpoint"]["path"] == str(zoo_entry("skeletonclr", "synthetic-xsub", "joint"))  # the source's
    cfg = rec["protocol_config"]
    assert (cfg["eval"], cfg["source"], cfg["target"], cfg["overlap"]) == ("linear", "synthetic-xsub",
                                                                         "synthetic-xview", True)
    assert rec["data"]["root"].endswith(f"synthetic-xview-f50-v{synthetic.GENERATOR_VERSION}")


@pytest.mark.parametrize("argv,message", [
    (["--source", "synthetic-xsub", "--target", "synthetic-xsub"], "that is the linear protocol itself"),
    (["--source", "kinetics"], "unknown dataset 'kinetics' for --source"),
])
def test_transfer_refusals(argv, message, tmp_path, capsys):
    assert transfer.main(["--method", "skeletonclr", "--results-dir", str(tmp_path)] + argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and not any(tmp_path.iterdir())


@pytest.mark.slow  # the linear transfer stays in the default run; finetune has its own end-to-end test
def test_finetune_transfer_runs(two_benchmarks, tmp_path, capsys):
    argv = ["--method", "skeletonclr", "--eval", "finetune", "--checkpoint", "random", "--data-root",
            str(two_benchmarks), "--epochs", "1", "--results-dir", str(tmp_path), "--json"]
    assert transfer.main(argv) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["protocol"] == "transfer" and rec["protocol_config"]["eval"] == "finetune"
    assert rec["logits"]  # a trained classifier: its logits are saved for fusion
