"""A frozen encoder over a split: its pooled features, and a fingerprint of its weights.

This is the one feature extraction of the suite. It lives with the encoders, below the
protocols, because the pretraining loop's online KNN monitor uses it as well as every
protocol; the protocols' on-disk cache of its output is ``protocols/feature_cache.py``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch
from torch import nn

from datasets.skeleton import to_stream
from datasets.store import Split
from utils.progress import progress


def encoder_fingerprint(encoder: nn.Module) -> str:
    """SHA-256 over the names, shapes and values of the encoder's state (params + buffers)."""
    h = hashlib.sha256()
    for name, tensor in sorted(encoder.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(name.encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


#: Samples read from the (memory-mapped) data at a time; also the unit of the progress bar.
READ_CHUNK = 256


def inference_batch(device: torch.device) -> int:
    """Samples per forward pass of the frozen encoder: 256 on a GPU, 16 on a CPU.

    On a CPU a batch of 256 allocates activations far above glibc's mmap threshold, so every
    forward pass maps and unmaps fresh pages: 2.65 M minor page faults and 28.7 samples/s for the
    ST-GCN over 512 synthetic-xsub clips on 2 cores, against 71.6 at 16, 61.2 at 8 and 44 at 32–64
    (measured for issue 15; the same features to the bit). The README's main command went from
    5:14 and 2.6 GB peak to 2:12 and 1.8 GB. (Raising glibc's mmap and trim thresholds, tried
    before, removed the faults too but held 6.9 GB; the small batch fixes it where it arises.)
    """
    return 256 if device.type == "cuda" else 16


@torch.no_grad()
def extract_features(encoder: nn.Module, split: Split, stream: str, device: torch.device,
                     batch_size: int | None = None, desc: str = "features") -> np.ndarray:
    """Pooled ``(N, 256)`` features of every sample of ``split`` with the encoder in eval mode.

    The data are read in chunks of :data:`READ_CHUNK` samples (so a reader that builds its slices,
    as the robustness protocol's corrupted view, builds each once) and passed through the encoder
    in batches of ``batch_size`` (default :func:`inference_batch`); eval mode makes the features
    independent of the batching.
    """
    encoder = encoder.to(device).eval()
    batch_size = batch_size or inference_batch(device)
    out = []
    n = len(split)
    for start in progress(range(0, n, READ_CHUNK), desc=desc, unit="chunk"):
        chunk = torch.from_numpy(np.array(split.data[start : start + READ_CHUNK], dtype=np.float32))
        for sub in chunk.split(batch_size):
            out.append(encoder(to_stream(sub.to(device), stream)).float().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def feature_spectrum(features: np.ndarray) -> dict[str, float]:
    """How many directions a set of features spreads over: the effective rank (Roy & Vetterli,
    2007: exp of the entropy of the centred features' normalised variance spectrum; d for d equal
    directions, 1 for one) and the share of the variance in the first principal component.

    A collapsed encoder puts nearly everything into one direction. On synthetic-xsub v3 the three
    pretrained encoders that ended below their untrained network held 93-94 % in the top component,
    every other one 56-84 % (docs/synthetic-v3.md); the official linear probe (SGD at LR 3.0 on raw
    features) is the probe such a spectrum misleads.
    """
    centred = np.asarray(features, dtype=np.float64)
    centred = centred - centred.mean(axis=0)
    variance = np.linalg.svd(centred, compute_uv=False) ** 2
    total = variance.sum()
    if total <= 0:
        return {"effective_rank": 0.0, "top_component_share": 1.0}
    share = variance / total
    nonzero = share[share > 0]
    return {"effective_rank": float(np.exp(-(nonzero * np.log(nonzero)).sum())),
            "top_component_share": float(share[0])}
