"""KNN at NTU-60 xsub scale: FAISS 1-NN against scikit-learn's brute-force cosine KNN.

Run: ``python -m pytest tests/bench_knn.py --benchmark-enable -m "slow or not slow" -p no:cacheprovider``
(it is marked slow and not collected by the default run). A 40,091 × 256 random L2-normalised bank
(the xsub training set), 16,487 queries (its test set), 60 classes; both sides build their index
and predict the 1-NN of every query (perf.md, "KNN evaluation cost", measured ~3× on 2 cores).
Few rounds: the scikit-learn side takes several seconds each.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsClassifier

from methods.neighbours import nearest_neighbour_predict

BANK, QUERIES, DIM, CLASSES = 40_091, 16_487, 256, 60
ROUNDS = 3


@pytest.fixture(scope="module")
def features() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    bank = rng.normal(size=(BANK, DIM)).astype(np.float32)
    queries = rng.normal(size=(QUERIES, DIM)).astype(np.float32)
    bank /= np.linalg.norm(bank, axis=1, keepdims=True)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    return bank, rng.integers(0, CLASSES, BANK), queries


@pytest.mark.slow
@pytest.mark.benchmark(group="knn-ntu60-xsub")
def test_faiss_1nn(benchmark, features) -> None:
    bank, labels, queries = features
    predictions = benchmark.pedantic(nearest_neighbour_predict, args=(bank, labels, queries, False),
                                     rounds=ROUNDS, iterations=1)
    assert predictions.shape == (QUERIES,)
    benchmark.extra_info["queries_per_s"] = round(QUERIES / benchmark.stats.stats.median)


@pytest.mark.slow
@pytest.mark.benchmark(group="knn-ntu60-xsub")
def test_sklearn_brute_cosine_1nn(benchmark, features) -> None:
    bank, labels, queries = features

    def fit_predict() -> np.ndarray:
        model = KNeighborsClassifier(n_neighbors=1, metric="cosine", algorithm="brute", n_jobs=2)
        return model.fit(bank, labels).predict(queries)

    predictions = benchmark.pedantic(fit_predict, rounds=ROUNDS, iterations=1)
    assert predictions.shape == (QUERIES,)
    benchmark.extra_info["queries_per_s"] = round(QUERIES / benchmark.stats.stats.median)
    # the two agree on (almost) every query; float32 near-ties may differ in a handful
    agree = np.mean(predictions == nearest_neighbour_predict(bank, labels, queries, False))
    assert agree > 0.999
