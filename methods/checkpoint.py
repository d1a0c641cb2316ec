"""Checkpoints: atomic writes, the suite's own format, and loading any encoder checkpoint.

The suite writes two kinds of file, both plain ``torch.save`` dicts readable with
``weights_only=True``:

* a *training* checkpoint (``last.pt`` of a pretraining run): the whole method, optimiser and
  epoch, for ``--resume``;
* an *encoder* checkpoint (zoo files, snapshots): only the backbone weights plus what is needed
  to rebuild it (``format: skelebench-encoder``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from torch import nn

from methods.encoders import build_encoder

ENCODER_FORMAT = "skelebench-encoder"
TRAINING_FORMAT = "skelebench-training"


def atomic_save(obj, path: Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def encoder_checkpoint(backbone: nn.Module, encoder: str, encoder_kwargs: dict, meta: dict) -> dict:
    """The portable encoder-only checkpoint (a few MB)."""
    state = {k: v.detach().cpu().clone() for k, v in backbone.state_dict().items()}
    return {"format": ENCODER_FORMAT, "encoder": encoder, "encoder_kwargs": dict(encoder_kwargs),
            "state_dict": state, "meta": dict(meta)}


def _torch_load(path: Path, map_location: str) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; pass a .pt file, or omit --checkpoint to use the zoo")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or foreign files
        raise ValueError(f"checkpoint {path} could not be read as a torch file: {str(err).splitlines()[0]}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"checkpoint {path} holds a {type(obj).__name__}, not a state dict")
    return obj


def load_encoder(path: Path, stream: str | None = None, map_location: str = "cpu") -> nn.Module:
    """Backbone of a checkpoint in eval mode; refuses one whose weights do not fit the encoder."""
    obj = _torch_load(path, map_location)
    fmt = obj.get("format")
    if fmt == ENCODER_FORMAT:
        name, kwargs, state = obj["encoder"], obj["encoder_kwargs"], obj["state_dict"]
    elif fmt == TRAINING_FORMAT:
        name, kwargs = obj["encoder"], obj["encoder_kwargs"]
        state = {k[len("encoder_q."):]: v for k, v in obj["model"].items() if k.startswith("encoder_q.")}
    else:
        raise ValueError(
            f"checkpoint {path} is not in a known layout (no 'format' key and no recognised official keys); "
            "expected a SkeleBench checkpoint"
        )
    encoder = build_encoder(name, **kwargs)
    load_state_strict(encoder, state, str(path))
    return encoder.eval()


def load_state_strict(module: nn.Module, state: dict, source: str) -> None:
    """``load_state_dict`` that names the first missing, unexpected or mis-shaped tensor."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {source} does not fit the encoder: {len(missing)} missing keys "
            f"(e.g. {missing[:2]}), {len(unexpected)} unexpected keys (e.g. {unexpected[:2]})"
        )
    for key, value in state.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise ValueError(
                f"checkpoint {source} does not fit the encoder: {key} has shape {tuple(value.shape)}, "
                f"the encoder expects {tuple(own[key].shape)}"
            )
    module.load_state_dict(state)
