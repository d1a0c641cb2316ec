"""Cosine nearest neighbours on frozen features, with FAISS: the maths of the KNN protocol.

Pure functions of arrays (numpy or torch in, numpy out), importing only numpy, torch and faiss.
They sit below the protocols because pretraining's online KNN monitor uses them as well as
``protocols.knn``: a method's training loop must not import the protocols that judge it.

Two read-outs (methods.md §3.2):

* **1-NN** ("action retrieval"): the label of the single most similar bank sample, unweighted —
  what later papers report as KNN accuracy.
* **weighted vote**: SkeleMixCLR's monitor — each of the top-k neighbours adds ``exp(sim / t)``
  to its class; the prediction is the argmax; k in {10, 20, 40}, t = 0.1.

Cosine similarity is the inner product of L2-normalised float32 rows in an exact (flat) index,
``IndexFlatIP``: no approximation, so it agrees with a brute-force scikit-learn search. FAISS is
used for speed (perf.md, "KNN evaluation cost": ~3× scikit-learn on 2 cores at NTU-60 size) with
its own default thread count.
"""

from __future__ import annotations

from collections.abc import Sequence

import faiss
import numpy as np
import torch

#: Added to every row norm before dividing, so an all-zero feature row becomes the zero vector
#: (cosine 0 to everything) instead of 0/0 = NaN.
NORM_EPS = 1e-12
#: The largest k a FAISS GPU flat index can return; larger searches run on the CPU.
GPU_MAX_K = 2048


#: SkeleMixCLR's monitor: the neighbour counts of the weighted vote and its temperature (methods.md §3.2).
VOTE_KS = (10, 20, 40)
VOTE_TEMPERATURE = 0.1


def as_features(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """``x`` as a C-contiguous float32 ``(N, D)`` array (FAISS takes nothing else)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"features must be a 2-D (samples, dims) array, got shape {x.shape}")
    return x


def l2_normalise(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """Rows of ``x`` divided by their L2 norm (+ :data:`NORM_EPS`): zero rows stay zero, never NaN."""
    x = as_features(x)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.ascontiguousarray(x / (norms + NORM_EPS), dtype=np.float32)


def gpu_index_available() -> bool:
    """Whether a FAISS GPU index can be built here: torch sees a GPU and faiss was built with CUDA
    (faiss-gpu; the faiss-cpu wheel has no ``StandardGpuResources``)."""
    return (torch.cuda.is_available() and hasattr(faiss, "StandardGpuResources")
            and hasattr(faiss, "get_num_gpus") and faiss.get_num_gpus() > 0)


def use_gpu_index(use_gpu: bool | None = None) -> bool:
    """The index the search will use: GPU when asked for (``True``) or not forbidden (``None``)
    and :func:`gpu_index_available`; CPU otherwise (``False`` always means CPU)."""
    return use_gpu is not False and gpu_index_available()


def index_name(use_gpu: bool | None = None) -> str:
    """What :func:`cosine_index` builds, for a record: ``faiss-gpu IndexFlatIP`` or ``faiss-cpu IndexFlatIP``."""
    return f"faiss-{'gpu' if use_gpu_index(use_gpu) else 'cpu'} IndexFlatIP"


def cosine_index(bank: np.ndarray | torch.Tensor, use_gpu: bool | None = None) -> faiss.Index:
    """An exact inner-product index over the L2-normalised ``bank``: searching it with normalised
    queries ranks by cosine similarity. On a GPU when :func:`use_gpu_index` says so."""
    bank = l2_normalise(bank)
    index = faiss.IndexFlatIP(bank.shape[1])
    index.add(bank)
    if not use_gpu_index(use_gpu):
        return index
    resources = faiss.StandardGpuResources()
    gpu = faiss.index_cpu_to_gpu(resources, 0, index)
    gpu.referenced_objects = [resources, index]  # the GPU index must not outlive its resources
    return gpu


def search(bank: np.ndarray | torch.Tensor, queries: np.ndarray | torch.Tensor, k: int,
           use_gpu: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` cosine neighbours in ``bank`` of each query: ``(similarities, indices)``, both
    ``(Q, k)``, most similar first. ``k`` larger than the bank is clipped to the bank size (FAISS
    would pad with index -1); a zero-norm row has similarity 0 to everything."""
    bank, queries = as_features(bank), as_features(queries)
    if len(bank) == 0:
        raise ValueError("the KNN bank is empty")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if queries.shape[1] != bank.shape[1]:
        raise ValueError(f"queries have {queries.shape[1]} dims, the bank {bank.shape[1]}")
    k = min(int(k), len(bank))
    index = cosine_index(bank, use_gpu=use_gpu_index(use_gpu) and k <= GPU_MAX_K)
    similarities, indices = index.search(l2_normalise(queries), k)
    return similarities, indices.astype(np.int64)


def nearest_neighbour_predict(bank: np.ndarray | torch.Tensor, bank_labels: np.ndarray,
                              queries: np.ndarray | torch.Tensor, use_gpu: bool | None = None) -> np.ndarray:
    """Labels of the unweighted cosine 1-NN of each query ("action retrieval", methods.md §3.2)."""
    _, indices = search(bank, queries, 1, use_gpu)
    return np.asarray(bank_labels, dtype=np.int64)[indices[:, 0]]


def euclidean_nearest(bank: np.ndarray | torch.Tensor, queries: np.ndarray | torch.Tensor) -> np.ndarray:
    """Index into ``bank`` of each query's Euclidean nearest neighbour (exact, ``IndexFlatL2``):
    the raw-input 1-NN of the difficulty report, where no cosine normalisation is wanted."""
    bank, queries = as_features(bank), as_features(queries)
    index = faiss.IndexFlatL2(bank.shape[1])
    index.add(bank)
    return index.search(queries, 1)[1][:, 0].astype(np.int64)


def weighted_vote(similarities: np.ndarray, neighbour_labels: np.ndarray, num_classes: int,
                  t: float = VOTE_TEMPERATURE) -> np.ndarray:
    """Per-class scores ``(Q, num_classes)``: each neighbour adds ``exp(sim / t)`` to its class
    (SkeleMixCLR's monitor, methods.md §3.2). Computed in float64; the caller that only needs the
    argmax may shift ``similarities`` by a per-row constant first (:func:`weighted_knn_predict`)."""
    if t <= 0:
        raise ValueError(f"the vote temperature t must be positive, got {t}")
    sims = np.asarray(similarities, dtype=np.float64)
    labels = np.asarray(neighbour_labels, dtype=np.int64)
    if sims.shape != labels.shape or sims.ndim != 2:
        raise ValueError(f"similarities {sims.shape} and neighbour labels {labels.shape} must be the same (Q, k)")
    weights = np.exp(sims / t)
    scores = np.zeros((len(sims), num_classes), dtype=np.float64)
    rows = np.arange(len(sims))
    for j in range(sims.shape[1]):  # k ≤ a few dozen columns; each is one vectorised scatter
        np.add.at(scores, (rows, labels[:, j]), weights[:, j])
    return scores


def check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    """``ks`` as a non-empty tuple of positive ints, or a ValueError."""
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"every k must be at least 1, got {list(ks)}")
    return ks


def votes_from_search(similarities: np.ndarray, neighbour_labels: np.ndarray, num_classes: int,
                      ks: Sequence[int], t: float) -> dict[int, np.ndarray]:
    """``{k: weighted-vote predictions}`` from one top-K list (K ≥ every k, or the bank size): the
    top-k of a top-K list is its first k columns. Ties go to the lowest class index (numpy's
    argmax returns the first maximum, as torch's does in the official monitor)."""
    # exp((s - max) / t) = exp(s / t) · exp(-max / t): the same argmax, without overflow at small t
    similarities = np.asarray(similarities, dtype=np.float64)
    shifted = similarities - similarities.max(axis=1, keepdims=True)
    return {k: weighted_vote(shifted[:, :k], neighbour_labels[:, :k], num_classes, t).argmax(axis=1)
            for k in check_ks(ks)}


def weighted_knn_predict(bank: np.ndarray | torch.Tensor, bank_labels: np.ndarray,
                         queries: np.ndarray | torch.Tensor, num_classes: int, ks: Sequence[int] = VOTE_KS,
                         t: float = VOTE_TEMPERATURE, use_gpu: bool | None = None) -> dict[int, np.ndarray]:
    """``{k: predictions}`` of the weighted vote for every k, from ONE search at ``max(ks)``
    (clipped to the bank size). Ties: the lowest class index (:func:`votes_from_search`)."""
    ks = check_ks(ks)
    similarities, indices = search(bank, queries, max(ks), use_gpu)
    return votes_from_search(similarities, np.asarray(bank_labels, dtype=np.int64)[indices], num_classes, ks, t)


def accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Percentage of correct predictions, rounded to 2 decimals."""
    labels = np.asarray(labels)
    if len(labels) == 0:
        raise ValueError("no queries to score")
    return round(100.0 * float(np.mean(np.asarray(predictions) == labels)), 2)


def knn_metrics(bank: np.ndarray | torch.Tensor, bank_labels: np.ndarray, queries: np.ndarray | torch.Tensor,
                query_labels: np.ndarray, num_classes: int, ks: Sequence[int] = VOTE_KS, t: float = VOTE_TEMPERATURE,
                use_gpu: bool | None = None) -> dict:
    """Every KNN figure from one search at ``max(ks + (5,))``, in %, rounded to 2 decimals:

    * ``top1``: unweighted cosine 1-NN accuracy, the headline (what later papers report);
    * ``top5``: retrieval top-5 — the share of queries whose label is among the labels of their
      5 nearest neighbours (KNN has no class ranking of its own; this is the retrieval analogue);
    * ``knn_top1``: ``{"10": .., "20": .., "40": ..}``, the weighted vote of SkeleMixCLR's monitor
      (methods.md §3.2) for each k.
    """
    ks = check_ks(ks)
    bank_labels = np.asarray(bank_labels, dtype=np.int64)
    query_labels = np.asarray(query_labels, dtype=np.int64)
    similarities, indices = search(bank, queries, max(*ks, 5), use_gpu)
    neighbour_labels = bank_labels[indices]
    votes = votes_from_search(similarities, neighbour_labels, num_classes, ks, t)
    top5_hit = (neighbour_labels[:, :5] == query_labels[:, None]).any(axis=1)
    return {"top1": accuracy(neighbour_labels[:, 0], query_labels), "top5": accuracy(top5_hit, np.ones_like(top5_hit)),
            "knn_top1": {str(k): accuracy(votes[k], query_labels) for k in ks}}
