"""3-stream fusion: AimCLR's weighted sum of raw logits, on the logits protocols save."""

from __future__ import annotations

import json

import numpy as np
import pytest

from protocols import ensemble, linear
from results import read_logits, read_records, write_record
from tests.test_results_leaderboard import record


def saved(tmp_path, stream, logits, names=("a", "b", "c"), labels=(0, 1, 2), created="2026-11-25T10:00:00Z",
          **fields):
    arrays = {"final": np.asarray(logits, np.float32), "best": np.asarray(logits, np.float32) * 2,
              "labels": np.asarray(labels), "names": np.asarray(names)}
    return write_record(record(stream=stream, created=created, **fields), tmp_path, arrays)


def test_fuse_by_hand():
    j, m, b = np.array([[1.0, 0.0]]), np.array([[0.0, 3.0]]), np.array([[1.0, 0.0]])
    fused = ensemble.fuse([j, m, b], [0.6, 0.4, 0.6])
    assert fused.tolist() == [[pytest.approx(1.2), pytest.approx(1.2)]]  # 0.6+0.6 vs 0.4*3
    with pytest.raises(ValueError, match="one weight per stream"):
        ensemble.fuse([j, m], [1.0])


def test_three_identical_streams_equal_the_single_stream(tmp_path, capsys):
    logits = [[3.0, 1.0, 0.0], [0.0, 2.0, 5.0], [1.0, 0.0, 4.0]]  # top-1: 0, 2, 2 against labels 0, 1, 2
    for stream in ("joint", "motion", "bone"):
        saved(tmp_path, stream, logits)
    assert ensemble.main(["--method", "skeletonclr", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "ensemble skeletonclr synthetic-xsub joint+motion+bone: top1 66.67" in out
    fused = [r for r in read_records(tmp_path) if r["protocol"] == "ensemble"][0]
    assert fused["protocol_config"]["weights"] == [0.6, 0.4, 0.6] and fused["protocol_config"]["logits"] == "final"


@pytest.mark.parametrize("names,labels,message", [
    (("a", "c", "b"), (0, 2, 1), "other samples or another order"),
    (("a", "b"), (0, 1), "other samples or another order"),
    (("a", "b", "c"), (0, 1, 1), "labels of"),
])
def test_misaligned_streams_are_refused(names, labels, message, tmp_path, capsys):
    saved(tmp_path, "joint", np.eye(3))
    saved(tmp_path, "motion", np.eye(3))
    saved(tmp_path, "bone", np.eye(len(names), 3), names=names, labels=labels)
    assert ensemble.main(["--method", "skeletonclr", "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]
    assert not [r for r in read_records(tmp_path) if r["protocol"] == "ensemble"]


def test_missing_stream_says_how_to_make_it(tmp_path, capsys):
    saved(tmp_path, "joint", np.eye(3))
    assert ensemble.main(["--method", "skeletonclr", "--results-dir", str(tmp_path)]) == 2
    assert "no motion-stream record with saved logits" in capsys.readouterr().err


@pytest.mark.slow  # three random-init linear runs (~45 s); the fusion maths and refusals stay in the default run
def test_linear_saves_the_logits_fusion_reads(tiny_root, tmp_path, capsys):
    for stream in ("joint", "motion", "bone"):
        assert linear.main(["--method", "skeletonclr", "--checkpoint", "random", "--data-root", str(tiny_root),
                            "--stream", stream, "--epochs", "5", "--results-dir", str(tmp_path), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    logits = read_logits({**rec, "_path": rec["record_path"]})
    assert logits["final"].shape == (72, 24) and len(logits["names"]) == 72
    assert ensemble.main(["--method", "skeletonclr", "--results-dir", str(tmp_path), "--logits", "best"]) == 0
    assert "joint+motion+bone" in capsys.readouterr().out


def test_untrained_and_trained_streams_are_not_fused_together(tmp_path):
    """A random-init baseline of a stream, run after the method's own, does not slip into its fusion."""
    random = {"checkpoint": {"source": "random", "path": None, "sha256": "r"}}
    for stream in ("joint", "motion", "bone"):
        saved(tmp_path, stream, np.eye(3), created="2026-11-25T10:00:00Z")
    saved(tmp_path, "motion", np.eye(3), created="2026-11-26T10:00:00Z", **random)
    chosen = ensemble.select_records(read_records(tmp_path), "skeletonclr", "synthetic-xsub", "linear", None)
    assert [r["checkpoint"]["source"] for r in chosen] == ["zoo"] * 3
    saved(tmp_path, "joint", np.eye(3), created="2026-11-27T10:00:00Z", **random)
    with pytest.raises(ValueError, match="no bone-stream record .* made as the joint one was .an untrained encoder"):
        ensemble.select_records(read_records(tmp_path), "skeletonclr", "synthetic-xsub", "linear", None)


def test_streams_of_another_seed_or_probe_are_not_fused_together(tmp_path, capsys):
    """The newest bone record of another pretraining seed, or of the standardised probe, is passed
    over for the one made as the joint was; named records that differ are refused, saying how."""
    def seed(s):
        return {"pretrain_seed": s, "seed": s}
    standardised = {"protocol_config": {"probe": "standardised"}}
    for stream in ("joint", "motion", "bone"):
        saved(tmp_path, stream, np.eye(3), created="2026-11-25T10:00:00Z", **seed(0))
    saved(tmp_path, "bone", np.eye(3), created="2026-11-26T10:00:00Z", **seed(1))
    saved(tmp_path, "bone", np.eye(3), created="2026-11-27T10:00:00Z", **seed(0), **standardised)
    chosen = ensemble.select_records(read_records(tmp_path), "skeletonclr", "synthetic-xsub", "linear", None)
    assert [r["created"] for r in chosen] == ["2026-11-25T10:00:00Z"] * 3
    by_created = {(r["stream"], r["created"]): r["_path"] for r in read_records(tmp_path)}
    joint, other = by_created["joint", "2026-11-25T10:00:00Z"], by_created["bone", "2026-11-26T10:00:00Z"]
    assert ensemble.main(["--method", "skeletonclr", "--results-dir", str(tmp_path), "--records", joint, other,
                          "--weights", "1,1"]) == 2
    err = capsys.readouterr().err
    assert "pretraining seed 1 against 0" in err and "seed 1 against 0" in err
    probe = by_created["bone", "2026-11-27T10:00:00Z"]
    assert ensemble.main(["--method", "skeletonclr", "--results-dir", str(tmp_path), "--records", joint, probe,
                          "--weights", "1,1"]) == 2
    assert "probe 'standardised' against 'official'" in capsys.readouterr().err
    assert not [r for r in read_records(tmp_path) if r["protocol"] == "ensemble"]
