"""Every protocol end to end for every method, at the smallest setting (issue 11).

Each method pretrains one step on the tiny benchmark; its checkpoint then goes through the
linear, KNN, semi-supervised, finetune and robustness protocols (fusion and transfer have their
own end-to-end tests, tests/test_ensemble.py and tests/test_transfer.py). The unit tests of each protocol check its maths; this file checks that
no method's encoder (AGCN graph and 64 frames for SkeleMixCLR, three streams for CrosSCLR, the
AimCLR and SkeletonCLR heads) breaks a protocol's plumbing, and that every run ends in one record.
"""

from __future__ import annotations

import json

import pytest

from methods.pretrain import pretrain
from protocols import finetune, knn, linear, robustness, semi

# SkeletonCLR runs each protocol in that protocol's own tests; here it is in the slow set
METHODS = (pytest.param("skeletonclr", marks=pytest.mark.slow), "crossclr", "aimclr", "skelemixclr")


@pytest.fixture(scope="module", params=METHODS)
def pretrained(request, tiny_root, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"{request.param}-run")
    pretrain(request.param, "synthetic-xsub", "quick", epochs=1, out=out, data_root=tiny_root, max_steps=1,
             knn_every=0)
    return request.param, out / "last.pt"


def _record(main, argv, capsys) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_every_protocol_runs_for_every_method(pretrained, tiny_root, tmp_path, capsys):
    method, checkpoint = pretrained
    common = ["--method", method, "--checkpoint", str(checkpoint), "--data-root", str(tiny_root),
              "--results-dir", str(tmp_path), "--json"]
    runs = {
        "linear": _record(linear.main, common + ["--epochs", "1"], capsys),
        "knn": _record(knn.main, common, capsys),
        "semi": _record(semi.main, common + ["--fraction", "0.1", "--epochs", "1"], capsys),
        "finetune": _record(finetune.main, common + ["--epochs", "1"], capsys),
        "robustness": _record(robustness.main, common + ["--epochs", "1", "--corruptions", "body_swap"],
                              capsys),
    }
    for protocol, rec in runs.items():
        assert rec["protocol"] == protocol and rec["method"] == method and rec["checkpoint"]["source"] == "checkpoint"
        assert rec["synthetic"]
    for protocol in ("linear", "knn", "semi", "finetune"):
        assert 0 <= runs[protocol]["metrics"]["top1"] <= 100
    assert len(list(tmp_path.glob("*.json"))) == len(runs)  # one record per run, nothing else
