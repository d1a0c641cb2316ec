"""Transfer: an encoder resolved on the source benchmark, the protocol run on the target's data and labels."""

from __future__ import annotations

import json

import numpy as np
import pytest

from datasets import synthetic
from datasets.store import BenchmarkWriter
from methods.zoo import zoo_entry
from protocols import transfer
from results import portable


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
    out = capsys.readouterr()
    rec = json.loads(out.out.strip().splitlines()[-1])
    assert rec["protocol"] == "transfer" and rec["dataset"] == "synthetic-xview" and rec["split"] == "xview"
    assert rec["checkpoint"]["source"] == "zoo"
    assert rec["checkpoint"]["path"] == portable(str(zoo_entry("skeletonclr", "synthetic-xsub", "joint")))  # the source's
    cfg = rec["protocol_config"]
    # by hand: the tiny xsub trains on subjects 1, 2 and 4 (of 1-4), all cameras; xview tests camera 1 of all
    # four subjects, 24 classes each: 3 x 24 = 72 of its 96 test clips were pretrained on (by construction)
    assert (cfg["eval"], cfg["source"], cfg["target"], cfg["overlap"], cfg["test_clips"]) == (
        "linear", "synthetic-xsub", "synthetic-xview", 72, 96)
    assert rec["data"]["root"].endswith(f"synthetic-xview-f50-v{synthetic.GENERATOR_VERSION}")
    warnings = [line for line in out.err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "72 of synthetic-xview's 96 test clips" in warnings[0]


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


#: Two tiny real-named benchmarks whose names partly overlap: NTU-120 X-Sub (source) holds every
#: NTU-60 clip, so NTU-60 X-View (target) test clips can sit in its training (pretraining) part.
SOURCE = {"train": [f"S001C001P001R001A00{a}.skeleton" for a in range(1, 7)],
          "val": ["S001C001P002R001A001.skeleton", "S001C001P002R001A002.skeleton"]}
TARGET = {"train": [f"S002C002P{p:03d}R001A{a:03d}.skeleton" for p in (1, 2, 3) for a in range(1, 45)],  # a batch
          "val": ["S001C001P001R001A002.skeleton",   # in the source's training part: overlap
                  "S001C001P002R001A001.skeleton",   # in the source's test part only: never pretrained on
                  "S001C001P001R001A005.skeleton",   # overlap
                  "S001C001P003R001A001.skeleton", "S001C001P003R001A002.skeleton"]}
#: By hand: two of the five target test clips are in the source's six training clips.
OVERLAP = ["S001C001P001R001A002.skeleton", "S001C001P001R001A005.skeleton"]


def write_benchmark(folder, parts: dict[str, list[str]], seed: int) -> None:
    """A prepared-looking NTU benchmark of a few random clips (3 classes, 50 frames) with these names."""
    rng = np.random.default_rng(seed)
    writer = BenchmarkWriter(folder)
    for part, names in parts.items():
        data = np.zeros((len(names), 3, 50, 25, 2), np.float32)
        data[..., 0] = rng.normal(0, 0.2, size=(len(names), 3, 50, 25))
        writer.write_part(part, data, names, [i % 3 for i in range(len(names))])
    writer.commit({"dataset": folder.name.split("-")[0], "split": folder.name.split("-")[1], "format": "stgcn",
                   "source": "test", "frames": 50, "num_classes": 3, "body_selection": "stgcn",
                   "preprocessing": "official: centre on joint 21, linear resize, shoulder y-rotation"})


@pytest.fixture(scope="module")
def ntu_pair(tmp_path_factory):
    root = tmp_path_factory.mktemp("ntu-pair")
    write_benchmark(root / "ntu120-xsub", SOURCE, 0)
    write_benchmark(root / "ntu60-xview", TARGET, 1)
    return root


def real_pair_argv(root, results, *extra: str, checkpoint: str | None = None) -> list[str]:
    """Transfer of a trained encoder (the zoo's file, as a checkpoint: its pretraining is what counts)."""
    return ["--method", "skeletonclr", "--source", "ntu120-xsub", "--target", "ntu60-xview", "--data-root", str(root),
            "--checkpoint", checkpoint or str(zoo_entry("skeletonclr", "synthetic-xsub", "joint")), "--epochs", "1",
            "--results-dir", str(results), "--json", *extra]


def test_overlap_is_counted_by_sample_name():
    """``.skeleton`` or not, a path or not: one clip is one name (datasets.splits.sample_stem)."""
    pretraining = ["S001C001P001R001A001.skeleton", "S001C001P001R001A002", "nturgb+d/S017C003P020R002A060.skeleton"]
    test = ["S001C001P001R001A002.skeleton", "S001C001P001R001A003.skeleton", "S017C003P020R002A060",
            "S001C001P001R001A001"]
    assert transfer.overlapping_clips(pretraining, test) == ["S001C001P001R001A002.skeleton", "S017C003P020R002A060",
                                                             "S001C001P001R001A001"]
    assert transfer.overlapping_clips(pretraining, ["S002C001P001R001A001.skeleton"]) == []


def test_a_real_pair_whose_test_clips_were_pretrained_on_is_refused(ntu_pair, tmp_path, capsys):
    assert transfer.main(real_pair_argv(ntu_pair, tmp_path)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: 2 of ntu60-xview's 5 test clips are in ntu120-xsub's"), err
    assert "--drop-overlap" in err[0] and "--keep-overlap" in err[0]
    assert not any(tmp_path.iterdir())


def test_drop_overlap_evaluates_on_the_other_test_clips(ntu_pair, tmp_path, capsys):
    assert transfer.main(real_pair_argv(ntu_pair, tmp_path, "--drop-overlap")) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    cfg = rec["protocol_config"]
    assert (cfg["overlap"], cfg["overlap_dropped"], cfg["test_clips"]) == (0, 2, 3)
    with np.load(tmp_path / rec["logits"]) as z:
        assert z["names"].tolist() == [n for n in TARGET["val"] if n not in OVERLAP]
        assert z["final"].shape == (3, 3)


def test_keep_overlap_records_the_count(ntu_pair, tmp_path, capsys):
    assert transfer.main(real_pair_argv(ntu_pair, tmp_path, "--keep-overlap")) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    cfg = rec["protocol_config"]
    assert (cfg["overlap"], cfg["test_clips"]) == (2, 5) and "overlap_dropped" not in cfg
    with np.load(tmp_path / rec["logits"]) as z:
        assert z["names"].tolist() == TARGET["val"]


def test_an_untrained_encoder_saw_no_clips(ntu_pair, tmp_path, capsys):
    assert transfer.main(real_pair_argv(ntu_pair, tmp_path, checkpoint="random")) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (rec["protocol_config"]["overlap"], rec["protocol_config"]["test_clips"]) == (0, 5)


def test_an_absent_source_cannot_be_counted(ntu_pair, tmp_path, capsys):
    """The source's names are what the count needs; without them the run is refused, or with
    --keep-overlap runs with the overlap recorded as unknown."""
    lone = tmp_path / "data"
    lone.mkdir()
    (lone / "ntu60-xview").symlink_to(ntu_pair / "ntu60-xview")
    results = tmp_path / "records"
    assert transfer.main(real_pair_argv(lone, results)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "ntu120-xsub" in err[0]
    assert "--source-root" in err[0] and "--keep-overlap" in err[0]
    assert transfer.main(real_pair_argv(lone, results, "--keep-overlap")) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["protocol_config"]["overlap"] is None and rec["protocol_config"]["overlap_checked"] is False


def test_drop_and_keep_exclude_each_other(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        transfer.main(["--method", "skeletonclr", "--drop-overlap", "--keep-overlap", "--results-dir", str(tmp_path)])
    assert caught.value.code == 2 and "not allowed with argument" in capsys.readouterr().err
