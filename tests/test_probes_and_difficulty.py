"""The standardised probe, CrosSCLR's jointly trained 3-stream heads (``--stream all``) and the
difficulty report (issues 11 and 12)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from methods.pretrain import pretrain
from protocols import difficulty, linear
from protocols.difficulty import mean_sd, supervised_reference, time_pooled
from protocols.linear import LinearConfig, fit_probe, standardised_probe


def _blobs(n: int, d: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centres = rng.normal(0, 1, (classes, d))
    return ((centres[y] + rng.normal(0, 1.5, (n, d))) * rng.uniform(0.1, 10, d)).astype(np.float32), y


def test_standardised_probe_is_the_scikit_learn_pipeline_folded_into_one_layer():
    x, y = _blobs(300, 12, 5, 0)
    v, vy = _blobs(100, 12, 5, 1)
    fit = standardised_probe(x, y, v, vy, num_classes=5)
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x.astype(np.float64), y)
    np.testing.assert_allclose(fit.final_logits, reference.decision_function(v.astype(np.float64)), rtol=1e-4,
                               atol=1e-3)
    assert fit.metrics["top1"] == round(100 * float(np.mean(reference.predict(v) == vy)), 2)
    with torch.no_grad():  # the folded layer applies to raw features, as robustness uses it
        np.testing.assert_allclose(fit.layer(torch.from_numpy(v)).numpy(), fit.final_logits, rtol=1e-6)


def test_standardised_probe_never_predicts_a_class_absent_from_training():
    x, y = _blobs(200, 6, 3, 0)
    fit = standardised_probe(x, y, x, y, num_classes=5)  # classes 3 and 4 have no training sample
    assert fit.final_logits.shape == (200, 5) and set(fit.final_logits.argmax(1)) <= {0, 1, 2}
    x2, y2 = x[y < 2], y[y < 2]  # scikit-learn's binary case has one coefficient row
    two = standardised_probe(x2, y2, x2, y2, num_classes=2)
    reference = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x2.astype(np.float64), y2)
    np.testing.assert_array_equal(two.final_logits.argmax(1), reference.predict(x2))


def test_jointly_trained_heads_of_one_stream_are_the_single_head():
    x, y = _blobs(256, 8, 4, 0)
    v, vy = _blobs(64, 8, 4, 1)
    config = LinearConfig(epochs=10, lr=0.5)
    single, joint = fit_probe(x, y, v, vy, 4, config), fit_probe([x], y, [v], vy, 4, config)
    np.testing.assert_array_equal(single.final_logits, joint.final_logits)
    assert single.metrics == joint.metrics
    three = fit_probe([x, x * 0.5, -x], y, [v, v * 0.5, -v], vy, 4, config)
    assert three.final_logits.shape == (64, 4) and len(three.layer.heads) == 3


def test_time_pooled_features_cannot_tell_a_clip_from_its_reversal():
    x = np.random.default_rng(0).normal(size=(2, 3, 10, 25, 2)).astype(np.float32)
    np.testing.assert_allclose(time_pooled(x), time_pooled(x[:, :, ::-1]), rtol=1e-5, atol=1e-6)
    assert time_pooled(x).shape == (2, 2 * 3 * 25 * 2)


def test_mean_sd_by_hand():
    assert mean_sd([1.0, 2.0, 6.0]) == {"mean": 3.0, "sd": 2.65, "values": [1.0, 2.0, 6.0]}  # sd = √7
    assert mean_sd([4.0]) == {"mean": 4.0, "sd": 0.0, "values": [4.0]}


def test_supervised_reference_takes_the_newest_random_init_finetune_on_the_same_data():
    def rec(created, top1, source="random", fp="a", protocol="finetune"):
        return {"protocol": protocol, "method": "skeletonclr", "checkpoint": {"source": source}, "created": created,
                "data": {"fingerprint": fp}, "metrics": {"top1": top1}, "protocol_config": {"epochs": 3},
                "_path": f"/r/{created}.json"}
    records = [rec("1", 50.0), rec("3", 70.0, source="zoo"), rec("2", 60.0), rec("4", 80.0, fp="b"),
               rec("5", 90.0, protocol="linear")]
    assert supervised_reference(records, "a", "skeletonclr") == {"top1": 60.0, "epochs": 3, "record": "2.json"}
    assert supervised_reference(records, "c", "skeletonclr") is None
    transformer = dict(rec("6", 40.0), encoder="transformer")  # another network's ceiling
    assert supervised_reference([*records, transformer], "a", "skeletonclr")["top1"] == 60.0
    assert supervised_reference([*records, transformer], "a", "skeletonclr", "transformer")["top1"] == 40.0


def test_difficulty_report_end_to_end(tiny_root, tmp_path, capsys):
    argv = ["--data-root", str(tiny_root), "--seeds", "0,1", "--epochs", "2",
            "--logistic-iterations", "20", "--results-dir", str(tmp_path), "--json"]
    assert difficulty.main(argv) == 0
    out = capsys.readouterr()
    rec = json.loads(out.out.strip().splitlines()[-1])
    m = rec["metrics"]
    assert rec["protocol"] == "difficulty" and rec["synthetic"]
    for key in ("raw_logistic", "pooled_logistic", "raw_1nn"):
        assert 0 <= m[key] <= 100
    for key in ("random_linear", "random_linear_standardised", "random_knn"):
        assert len(m[key]["values"]) == 2
    assert m["supervised"] is None and "protocols.finetune" in out.err
    assert "max_iter=20" in rec["protocol_config"]["logistic"]
    assert rec["protocol_config"]["seeds"] == [0, 1] and len(set(rec["protocol_config"]["encoder_sha256"])) == 2


@pytest.mark.slow  # ~18 s; the report itself runs in test_difficulty_report_end_to_end
def test_difficulty_report_on_another_encoder_names_it(tiny_root, tmp_path, capsys):
    argv = ["--data-root", str(tiny_root), "--seeds", "0", "--epochs", "1", "--logistic-iterations", "5",
            "--encoder", "transformer", "--results-dir", str(tmp_path), "--json"]
    assert difficulty.main(argv) == 0
    out = capsys.readouterr()
    rec = json.loads(out.out.strip().splitlines()[-1])
    assert rec["encoder"] == "transformer" and "--checkpoint random --encoder transformer" in out.err
    stgcn = difficulty.run(difficulty.DifficultySpec(data_root=str(tiny_root), seeds=(0,), epochs=1, logistic_iterations=5,
                                                     results_dir=str(tmp_path), device="cpu"))
    assert stgcn["encoder"] == "stgcn"
    assert stgcn["protocol_config"]["encoder_sha256"] != rec["protocol_config"]["encoder_sha256"]


@pytest.fixture(scope="module")
def crossclr_run(tiny_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("crossclr-run")
    pretrain("crossclr", "synthetic-xsub", "quick", epochs=1, out=out, data_root=tiny_root, max_steps=1,
             knn_every=0)
    return out / "last.pt"


def test_crossclr_view_all_trains_three_heads_on_the_training_file(crossclr_run, tiny_root, tmp_path, capsys):
    argv = ["--method", "crossclr", "--stream", "all", "--checkpoint", str(crossclr_run), "--data-root",
            str(tiny_root), "--epochs", "5", "--results-dir", str(tmp_path), "--json"]
    assert linear.main(argv) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    cfg = rec["protocol_config"]
    assert rec["stream"] == "all" and set(cfg["streams"]) == {"joint", "motion", "bone"}
    assert len({s["sha256"] for s in cfg["streams"].values()}) == 3  # three different encoders
    assert "averaged logits" in cfg["fusion"] and (tmp_path / rec["logits"]).is_file()


def test_view_all_without_a_multi_stream_encoder_says_what_to_pass(tiny_root, tmp_path, capsys):
    argv = ["--method", "skeletonclr", "--stream", "all", "--data-root", str(tiny_root), "--results-dir",
            str(tmp_path)]
    assert linear.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--stream all needs an encoder per stream" in err[0] and "--checkpoint" in err[0]


def test_linear_standardised_probe_is_recorded_as_a_variant(tiny_root, tmp_path, capsys):
    argv = ["--method", "skeletonclr", "--checkpoint", "random", "--probe", "standardised", "--data-root",
            str(tiny_root), "--results-dir", str(tmp_path), "--json"]
    assert linear.main(argv) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["protocol_config"]["probe"] == "standardised" and 0 <= rec["metrics"]["top1"] <= 100
