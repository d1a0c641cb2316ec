"""Where the suite's files live: the checkout, and the cache of what it can rebuild (generated
data, checkpoints, feature caches): ``$SKELEBENCH_CACHE`` if set, else ``.cache/`` in the
repository root (git-ignored).
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def cache_root() -> Path:
    """``$SKELEBENCH_CACHE``, else ``.cache/`` of the checkout (not created here)."""
    return Path(os.environ.get("SKELEBENCH_CACHE", REPO_ROOT / ".cache"))


def cache_dir(*parts: str) -> Path:
    """A folder under the cache root, created on demand."""
    path = cache_root().joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
