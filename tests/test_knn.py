"""The KNN protocol: FAISS against scikit-learn, the weighted vote against a hand computation,
the edge cases (k past the bank, zero rows), and tiny end-to-end runs of ``protocols.knn``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from methods.neighbours import (
    knn_metrics,
    nearest_neighbour_predict,
    search,
    votes_from_search,
    weighted_knn_predict,
    weighted_vote,
)
from methods.pretrain import pretrain
from protocols import knn

# Six 2-D unit vectors (Pythagorean, so every cosine to the query (1, 0) is a short decimal) and
# their classes. Query (2, 0): its cosines are the x coordinates 1, .96, .96, .8, 0, -1.
HAND_BANK = np.array([[1.0, 0.0], [0.96, 0.28], [0.96, -0.28], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]], np.float32)
HAND_LABELS = np.array([0, 1, 1, 0, 2, 2])
HAND_QUERY = np.array([[2.0, 0.0]], np.float32)


def test_faiss_1nn_equals_scikit_learn_brute_force_cosine():
    rng = np.random.default_rng(0)
    bank = rng.normal(size=(500, 64)).astype(np.float32) * rng.uniform(0.1, 10, size=(500, 1)).astype(np.float32)
    labels = rng.integers(0, 7, 500)
    queries = rng.normal(size=(200, 64)).astype(np.float32)
    query_labels = rng.integers(0, 7, 200)
    ref = KNeighborsClassifier(n_neighbors=1, metric="cosine", algorithm="brute").fit(bank, labels).predict(queries)
    ours = nearest_neighbour_predict(bank, labels, queries)
    assert np.array_equal(ours, ref)
    metrics = knn_metrics(bank, labels, queries, query_labels, 7)
    assert metrics["top1"] == round(100 * float(np.mean(ref == query_labels)), 2)
    assert set(metrics["knn_top1"]) == {"10", "20", "40"}
    # the weighted vote against a plain numpy brute force over the full similarity matrix
    b = bank / np.linalg.norm(bank, axis=1, keepdims=True)
    q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    sims = q.astype(np.float64) @ b.T.astype(np.float64)
    order = np.argsort(-sims, axis=1)[:, :20]
    scores = np.zeros((200, 7))
    for i in range(200):
        for j in order[i]:
            scores[i, labels[j]] += np.exp(sims[i, j] / 0.1)
    assert np.array_equal(weighted_knn_predict(bank, labels, queries, 7, ks=(20,))[20], scores.argmax(axis=1))


def test_weighted_vote_by_hand():
    # top-3 of the query: index 0 (cos 1.0, class 0), 1 and 2 (cos 0.96, class 1); t = 0.1:
    #   class 0: exp(1.0 / 0.1)            = exp(10)  = 22026.4658
    #   class 1: 2 · exp(0.96 / 0.1)       = 2·exp(9.6) = 29529.5631
    #   class 2: nothing among the top 3   = 0
    # so the vote says class 1 where the 1-NN says class 0.
    sims, idx = search(HAND_BANK, HAND_QUERY, 3)
    assert idx[0, 0] == 0 and set(idx[0, 1:]) == {1, 2}
    assert sims[0] == pytest.approx([1.0, 0.96, 0.96], abs=1e-6)
    scores = weighted_vote(sims, HAND_LABELS[idx], 3, t=0.1)
    assert scores[0] == pytest.approx([22026.465794806718, 29529.563131154533, 0.0], rel=1e-5)
    exact = weighted_vote(np.array([[1.0, 0.96, 0.96]]), np.array([[0, 1, 1]]), 3, t=0.1)
    assert exact[0] == pytest.approx([22026.465794806718, 29529.563131154533, 0.0], rel=1e-12)
    assert nearest_neighbour_predict(HAND_BANK, HAND_LABELS, HAND_QUERY).tolist() == [0]
    predictions = weighted_knn_predict(HAND_BANK, HAND_LABELS, HAND_QUERY, 3, ks=(1, 3), t=0.1)
    assert predictions[1].tolist() == [0] and predictions[3].tolist() == [1]
    # a tie between classes goes to the lowest class index, as numpy's and torch's argmax
    assert votes_from_search(np.array([[0.5, 0.5]]), np.array([[2, 1]]), 3, (2,), 0.1)[2].tolist() == [1]
    with pytest.raises(ValueError, match="positive"):
        weighted_vote(sims, HAND_LABELS[idx], 3, t=0.0)


def test_k_is_clipped_to_the_bank_and_zero_rows_give_no_nan():
    sims, idx = search(HAND_BANK, HAND_QUERY, 40)
    assert sims.shape == idx.shape == (1, 6) and idx.min() >= 0
    # all six vote: class 0 exp(10) + exp(8), class 1 2·exp(9.6), class 2 exp(0) + exp(-10)
    scores = weighted_vote(sims, HAND_LABELS[idx], 3, t=0.1)
    assert scores[0] == pytest.approx([25007.423781848447, 29529.563131154533, 1.0000453999297625], rel=1e-5)
    assert weighted_knn_predict(HAND_BANK, HAND_LABELS, HAND_QUERY, 3, ks=(40,))[40].tolist() == [1]
    bank = np.vstack([HAND_BANK, np.zeros((1, 2), np.float32)])
    queries = np.vstack([HAND_QUERY, np.zeros((1, 2), np.float32)])
    sims, idx = search(bank, queries, 7)
    assert np.isfinite(sims).all() and np.allclose(sims[1], 0.0)
    metrics = knn_metrics(bank, np.append(HAND_LABELS, 2), queries, np.array([0, 2]), 3, ks=(3,))
    assert all(np.isfinite(v) for v in (metrics["top1"], metrics["top5"], metrics["knn_top1"]["3"]))


@pytest.fixture(scope="module")
def training_run(tiny_root, tmp_path_factory):
    """A one-step SkeletonCLR run: its encoder-only ``encoder.pt`` and its training state ``last.pt``."""
    out = tmp_path_factory.mktemp("knn-run")
    encoder = pretrain("skeletonclr", "synthetic-xsub", "quick", epochs=1, out=out, data_root=tiny_root, max_steps=1)
    return encoder, out / "last.pt"


def run_knn(capsys, *argv: str) -> tuple[int, str, str]:
    code = knn.main(["--method", "skeletonclr", *argv])
    captured = capsys.readouterr()
    return code, captured.out.strip(), captured.err.strip()


def test_random_init_backbone_record(tiny_root, tmp_path, capsys):
    code, out, _ = run_knn(capsys, "--checkpoint", "random", "--data-root", str(tiny_root),
                           "--results-dir", str(tmp_path), "--json")
    assert code == 0
    record = json.loads(out.splitlines()[-1])
    m, pc = record["metrics"], record["protocol_config"]
    assert record["protocol"] == "knn" and record["bn_statistics"] == "precise"
    assert 0 <= m["top1"] <= 100 and m["top1"] <= m["top5"] <= 100 and set(m["knn_top1"]) == {"10", "20", "40"}
    assert pc["features"] == "backbone" and pc["augmented_bank"] is False and pc["ks"] == [10, 20, 40]
    assert pc["index"] == "faiss-cpu IndexFlatIP" and pc["feature_dim"] == 256
    assert pc["bank_size"] == 216 and pc["query_size"] == 72
    assert len(list(tmp_path.glob("*.json"))) == 1


def test_projection_features_need_a_training_state(training_run, tiny_root, tmp_path, capsys):
    encoder_pt, _ = training_run
    for checkpoint in ("random", str(encoder_pt)):
        code, _, err = run_knn(capsys, "--checkpoint", checkpoint, "--features", "projection", "--data-root",
                               str(tiny_root), "--results-dir", str(tmp_path))
        assert code == 2 and len(err.splitlines()) == 1 and err.startswith("error: ")
        assert ("holds no projection head; pass the run's last.pt (training state) with --checkpoint, "
                "or use --features backbone") in err
    assert not any(tmp_path.iterdir())


def test_projection_features_of_a_training_state(training_run, tiny_root, tmp_path, capsys):
    _, last = training_run
    code, out, _ = run_knn(capsys, "--checkpoint", str(last), "--features", "projection", "--augmented-bank",
                           "--k", "5", "300", "--t", "0.07", "--data-root", str(tiny_root),
                           "--results-dir", str(tmp_path))
    assert code == 0
    assert out.splitlines()[-1].startswith("knn skeletonclr synthetic-xsub joint: top1")
    (path,) = tmp_path.glob("*.json")
    record = json.loads(path.read_text())
    pc = record["protocol_config"]
    assert record["checkpoint"]["layout"] == "skelebench-training"
    assert pc["features"] == "projection" and pc["feature_dim"] == 128 and pc["augmented_bank"] is True
    assert pc["augmentation"]["shear_amplitude"] == 0.5 and pc["augmentation"]["temporal_padding_ratio"] == 6
    assert pc["ks"] == [5, 300] and pc["t"] == 0.07 and pc["features_cached"] is False
    assert set(record["metrics"]["knn_top1"]) == {"5", "300"}  # 300 > 216 bank samples: clipped, not an error


@pytest.mark.parametrize("argv,message", [
    (["--k", "0"], "argument --k: must be at least 1"),
    (["--t", "0"], "argument --t: must be a positive number"),
    (["--t", "nan"], "argument --t: must be a positive number"),
    (["--features", "head"], "argument --features: invalid choice"),
])
def test_cli_errors(argv, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        knn.main(["--method", "skeletonclr", *argv, "--results-dir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2 and err.startswith("error: ") and message in err and len(err.splitlines()) == 1
    assert not any(tmp_path.iterdir())


def test_seeds_run_the_body_once_per_seed(capsys):
    from protocols.cli import run_cli

    seen = []
    assert run_cli(knn.build_parser, knn.KnnSpec, lambda spec, device: seen.append((spec.seed, spec.run_seeds)),
                   ["--method", "skeletonclr", "--seeds", "4,0"]) == 0
    assert seen == [(4, None), (0, None)] and "seed 0 (2 of 2)" in capsys.readouterr().err  # each spec one run
    seen.clear()
    assert run_cli(knn.build_parser, knn.KnnSpec, lambda spec, device: seen.append(spec.seed),
                   ["--method", "skeletonclr", "--seed", "7"]) == 0
    assert seen == [7]


@pytest.mark.slow  # two real KNN runs (~25 s); the loop itself is tested just above
def test_seeds_run_the_protocol_once_per_seed_each_with_its_record(tiny_root, tmp_path, capsys):
    code, _, err = run_knn(capsys, "--checkpoint", "random", "--data-root", str(tiny_root),
                           "--results-dir", str(tmp_path), "--seeds", "0,3")
    assert code == 0 and "seed 3 (2 of 2)" in err
    records = [json.loads(p.read_text()) for p in sorted(tmp_path.glob("*.json"))]
    assert sorted(r["seed"] for r in records) == [0, 3]
    # the random-init encoder is drawn from the seed: two seeds, two different encoders
    assert records[0]["checkpoint"]["sha256"] != records[1]["checkpoint"]["sha256"]


def test_seed_and_seeds_exclude_each_other_and_seeds_must_not_repeat(capsys):
    for argv in (["--seed", "1", "--seeds", "0,1"], ["--seeds", "0,0"], ["--seeds", "0,-1"]):
        with pytest.raises(SystemExit) as exit_:
            knn.main(["--method", "skeletonclr", *argv])
        assert exit_.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
