"""Keep freed tensor memory in the process instead of handing it back to the kernel (glibc only).

PyTorch's CPU tensors come from ``malloc``. glibc serves blocks above its mmap threshold (at most
32 MiB, adapted at run time) with a fresh ``mmap`` and unmaps them on ``free``, so every batch's
activations (an ST-GCN layer at batch 256 is ~160 MiB) are new pages the kernel must zero and
fault in again. Measured on 2 cores (ST-GCN inference, batch 256, T 50): 2.65 M minor page
faults per batch, 10 s of system time against 8 s of user time, 26 samples/s; with the
threshold and the trim threshold raised, 14 k faults and 66 samples/s, 2.5× faster, the same
arithmetic (the features are bit-identical). The price: memory freed after the peak stays
reserved by the process, and the heap fragments: the README's main command ran in 2:36 instead
of 5:14 with the same top-1, but its peak resident memory rose from 2.6 to 6.9 GB. That price
is too high for a default on a laptop, so it is opt-in: ``SKELEBENCH_MALLOC=keep``. (Extracting
features in batches of 16 instead of 256 avoids the faults without it: 60 samples/s, 0.76 GB.)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

#: mallopt parameters of glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Blocks below this come from the heap and freed heap stays mapped up to it (2 GiB).
KEEP_BYTES = 1 << 31

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """With ``SKELEBENCH_MALLOC=keep``, raise glibc's mmap and trim thresholds once per process;
    True where that took effect."""
    global _applied
    if _applied is not None:
        return _applied
    _applied = False
    if os.environ.get("SKELEBENCH_MALLOC", "").lower() != "keep" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _applied = bool(libc.mallopt(M_MMAP_THRESHOLD, KEEP_BYTES)) and bool(libc.mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))
    except (OSError, AttributeError):
        _applied = False
    return _applied
