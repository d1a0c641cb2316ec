"""The cache of the one feature extraction every protocol shares (``methods/encoders/features.py``).

Nothing on the frozen side is random (eval mode: dropout off, BN on its running statistics,
no augmentation — methods.md §3.1), so features are extracted once and cached, keyed by the
encoder's weights, the benchmark's files, the part, the stream and the frame count.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from datasets.integrity import verify_benchmark
from datasets.store import Split
from methods.checkpoint import is_disk_full
from methods.encoders.features import encoder_fingerprint, extract_features
from utils.files import atomic_write
from utils.paths import cache_dir

#: Cache folders already warned about as full in this process (one warning each, not one a part).
_WARNED: set[Path] = set()


def data_fingerprint(folder: Path) -> str:
    """SHA-256 over the manifest's checksums, of a folder verified against them (cached after the first time)."""
    return verify_benchmark(folder)


def cached_features(encoder: nn.Module, folder: Path, part: str, split: Split, stream: str,
                    device: torch.device) -> tuple[np.ndarray, bool]:
    """Features of one part, from the cache when present; returns (features, was_cached)."""
    key = hashlib.sha256(
        f"{encoder_fingerprint(encoder)}|{data_fingerprint(folder)}|{part}|{stream}|{split.data.shape}".encode()
    ).hexdigest()[:32]
    path = cache_dir("features") / f"{key}.npy"
    if path.is_file():
        feats = np.load(path)
        if feats.shape[0] == len(split):
            return feats, True
    feats = extract_features(encoder, split, stream, device, desc=f"features {part}")
    store_features(path, feats)
    return feats, False


def store_features(path: Path, feats: np.ndarray) -> bool:
    """Write ``feats`` to the cache file ``path`` atomically; whether it was written. A cache is an
    optimisation: on a full disk the run goes on with the features in memory, one warning naming
    the cache folder says why the next run extracts them again, and no partial file is left."""
    try:
        atomic_write(path, lambda f: np.save(f, feats))
    except OSError as err:
        if not is_disk_full(err):
            raise
        if path.parent in _WARNED:
            return False
        _WARNED.add(path.parent)
        print(f"warning: the disk of the feature cache {path.parent} is full ({feats.nbytes / 1e6:,.1f} MB "
              "needed); going on without caching these features", file=sys.stderr)
        return False
    return True
