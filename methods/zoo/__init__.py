"""The suite's own model zoo for the embedded synthetic data.

Each entry is ``<method>-<dataset>-<stream>.pt`` (backbone weights only, a few MB) with a
``.json`` beside it recording the exact command, preset, seed, epochs, wall time, commit, the
linear top-1 it reproduces and the curve of linear top-1 against pretraining epochs. Anyone can
regenerate an entry with its recorded command (``--pretrain`` on a protocol does the same).
"""

from __future__ import annotations

import json
from pathlib import Path

from datasets import synthetic

ZOO_DIR = Path(__file__).resolve().parent


def zoo_entry(method: str, dataset: str, stream: str, layout: str = "ntu25") -> Path | None:
    """Path of the zoo checkpoint for (method, dataset, stream) pretrained on the data this checkout
    generates, or None: an entry of another generator version learned other data and is never
    used for this one (issue 12), nor is one of another skeleton ``layout`` than the data's (the
    entries are ``ntu25``; a recipe without the key predates layouts and is ``ntu25``)."""
    path = ZOO_DIR / f"{method}-{dataset}-{stream}.pt"
    if not path.is_file():
        return None
    recipe = zoo_recipe(path)
    if recipe.get("layout", "ntu25") != layout:
        return None
    return path if recipe.get("generator_version") == synthetic.GENERATOR_VERSION else None


def zoo_recipe(checkpoint: Path) -> dict:
    """The recipe recorded beside a zoo checkpoint."""
    meta = Path(checkpoint).with_suffix(".json")
    return json.loads(meta.read_text()) if meta.is_file() else {}


def entries() -> list[Path]:
    return sorted(ZOO_DIR.glob("*.pt"))
