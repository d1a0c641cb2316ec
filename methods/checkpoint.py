"""Checkpoints: atomic writes, the suite's own format, and loading any encoder checkpoint.

The suite writes two kinds of file, both plain ``torch.save`` dicts readable with
``weights_only=True``:

* a *training* checkpoint (``last.pt`` of a pretraining run): the whole method, optimiser and
  epoch, for ``--resume``;
* an *encoder* checkpoint (zoo files, snapshots): only the backbone weights plus what is needed
  to rebuild it (``format: skelebench-encoder``).

It also reads the plain state dicts the official repositories save (SkeletonCLR, CrosSCLR 3-views,
AimCLR, SkeleMixCLR+; pretraining or linear evaluation): :mod:`methods.official` recognises the
layout and maps the names. Whatever the source, every backbone tensor must be present and fit
(:func:`load_state_strict`), never silently left at its random init (methods.md §6).

Every encoder is built for one *skeleton* layout (:mod:`datasets.layouts`; not to be confused with
the key layouts of :mod:`methods.official`). The suite's files record it in ``encoder_kwargs`` and
``meta``; a file without it (written before layouts existed) and every official file hold an
``ntu25`` encoder. Given the data's layout, :func:`load_checkpoint` refuses a file of another one
with a message naming both, before any tensor is compared.
"""

from __future__ import annotations

import errno
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from datasets.layouts import Layout, get_layout
from methods.encoders import build_encoder
from methods.official import official_backbone, query_prefix
from utils.files import atomic_write, free_bytes, megabytes

ENCODER_FORMAT = "skelebench-encoder"
TRAINING_FORMAT = "skelebench-training"


#: errno values of a write that found no room: a full disk, an exhausted quota.
NO_ROOM = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(ValueError):
    """A write found the disk of ``folder`` full. A ValueError, so the command lines end it in one
    ``error:`` line (torch's own report is "unexpected pos" with the cause 30 lines up)."""

    def __init__(self, message: str, folder: Path) -> None:
        super().__init__(message)
        self.folder = Path(folder)


def is_disk_full(err: BaseException) -> bool:
    """Whether ``err`` is, or was raised while handling, a write that found no room. ``torch.save``
    to a file reports the OSError of the full disk only as the context of its RuntimeError."""
    seen: set[int] = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        if (isinstance(err, OSError) and err.errno in NO_ROOM) or "No space left on device" in str(err):
            return True
        err = err.__cause__ or err.__context__
    return False


def atomic_save(obj, path: Path) -> Path:
    """``torch.save`` through :func:`utils.files.atomic_write` (fsync, rename, fsync the folder).
    A full disk raises :class:`DiskFull`; the partial temporary file is gone, ``path`` untouched."""
    path = Path(path)
    try:
        return atomic_write(path, lambda f: torch.save(obj, f))
    except (OSError, RuntimeError) as err:
        if not is_disk_full(err):
            raise
        raise DiskFull(f"the disk of {path.parent} is full: writing {path.name} failed with "
                       f"{megabytes(free_bytes(path.parent))} free; free space there and run again",
                       path.parent) from None


def encoder_checkpoint(backbone: nn.Module, encoder: str, encoder_kwargs: dict, meta: dict) -> dict:
    """The portable encoder-only checkpoint (a few MB)."""
    state = {k: v.detach().cpu().clone() for k, v in backbone.state_dict().items()}
    return {"format": ENCODER_FORMAT, "encoder": encoder, "encoder_kwargs": dict(encoder_kwargs),
            "state_dict": state, "meta": dict(meta)}


def first_line(err: BaseException, limit: int = 160) -> str:
    """The first sentence of an exception's first line (torch's messages can run to dozens of
    lines of advice; some are empty)."""
    lines = str(err).strip().splitlines()
    line = lines[0] if lines else type(err).__name__
    return line.split(". ", 1)[0][:limit]


def check_regular_file(path: Path) -> None:
    """Refuse a checkpoint path that is not a regular file, saying what it is: missing, a folder
    (pointing at the encoder inside a run folder), or something else (a FIFO would block the
    reader forever, a device would stream endlessly). Only ``stat`` is called: nothing is opened."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"checkpoint {path} does not exist; pass a .pt file, or omit --checkpoint to use "
                                "the zoo") from None
    except OSError as err:
        raise ValueError(f"checkpoint {path} cannot be read ({err.strerror}); pass a .pt file") from None
    if stat.S_ISDIR(mode):
        inside = [p for p in (path / "encoder.pt", *sorted(path.glob("*.pt"))) if p.is_file()]
        hint = f", e.g. {inside[0]}" if inside else ""
        raise ValueError(f"checkpoint {path} is a folder, not a checkpoint file; pass the .pt file in it{hint}")
    if not stat.S_ISREG(mode):
        kind = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
                stat.S_IFBLK: "a block device"}.get(stat.S_IFMT(mode), "not a file")
        raise ValueError(f"checkpoint {path} is not a regular file ({kind}); pass a .pt file")


def _torch_load(path: Path, map_location: str) -> dict:
    path = Path(path)
    check_regular_file(path)
    if path.stat().st_size == 0:
        raise ValueError(f"checkpoint {path} is empty (0 bytes): an interrupted copy or download? Copy it again")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for corrupt or foreign files
        raise ValueError(f"checkpoint {path} could not be read as a torch file: {first_line(err)}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"checkpoint {path} holds a {type(obj).__name__}, not a state dict")
    return obj


@dataclass
class LoadedEncoder:
    """What :func:`load_checkpoint` found: the backbone, the format it came in (a suite format or
    an official key layout of :data:`methods.official.CHECKPOINT_FORMATS`), and the suite's ``meta`` (empty
    for an official file)."""

    encoder: nn.Module
    checkpoint_format: str
    meta: dict = field(default_factory=dict)
    encoder_kwargs: dict = field(default_factory=dict)  # how the backbone was built (graph, widths)
    #: the skeleton layout the encoder was built for (datasets.layouts); ntu25 where the file predates layouts
    skeleton: str = "ntu25"
    #: the registered encoder (:data:`methods.encoders.ENCODERS`) the file holds; every official file's is ST-GCN
    name: str = "stgcn"


def skeleton_of(encoder_kwargs: dict, meta: dict | None = None) -> str:
    """The skeleton layout a checkpoint's encoder was built for: its ``encoder_kwargs``' or its
    meta's ``layout``, else ``ntu25`` (every file written before layouts, every official file)."""
    return get_layout(encoder_kwargs.get("layout") or (meta or {}).get("layout")).name


def check_skeleton(source: str, have: str, data: str | Layout | None) -> None:
    """Refuse an encoder built for skeleton layout ``have`` on data of layout ``data`` (None: no
    check), naming both: its graph, input width and bone pairs belong to another skeleton."""
    if data is None:
        return
    want, own = get_layout(data), get_layout(have)
    if want.name != own.name:
        raise ValueError(
            f"checkpoint {source} holds an encoder for skeleton layout {own.name!r} ({own.num_joints} joints, "
            f"{'/'.join(own.channels)}), but the data are layout {want.name!r} ({want.num_joints} joints, "
            f"{'/'.join(want.channels)}); pretrain on this data (python -m methods.pretrain --dataset ...) or "
            f"evaluate the checkpoint on {own.name} data"
        )


def load_checkpoint(path: Path, stream: str | None = None, map_location: str = "cpu",
                    layout: str | Layout | None = None) -> LoadedEncoder:
    """Backbone of a checkpoint in eval mode, with its layout and meta, from one read of the file.

    ``stream`` picks the encoder of a multi-stream checkpoint (CrosSCLR 3-views, official or the
    suite's training file: joint unless "motion" or "bone"); a single-stream file holds one encoder,
    returned whatever ``stream`` says (an official one cannot say which stream it learnt). Refuses a
    file whose layout, graph or tensor shapes do not fit the encoder, and, when the data's skeleton
    ``layout`` is given, a file built for another skeleton layout (:func:`check_skeleton`).
    """
    obj = _torch_load(path, map_location)
    fmt = obj.get("format")
    meta = obj.get("meta") if isinstance(obj.get("meta"), dict) else {}
    source, rename = str(path), None
    if fmt in (ENCODER_FORMAT, TRAINING_FORMAT):
        _check_stream(path, fmt, meta, stream)
    if fmt == ENCODER_FORMAT:
        name, kwargs, state, key_layout = obj["encoder"], obj["encoder_kwargs"], obj["state_dict"], fmt
    elif fmt == TRAINING_FORMAT:
        name, kwargs, key_layout = obj["encoder"], obj["encoder_kwargs"], fmt
        prefix = query_prefix(obj["model"], stream)
        state = {k[len(prefix):]: v for k, v in obj["model"].items() if k.startswith(prefix)}
    elif fmt is not None:
        raise ValueError(f"checkpoint {path} has format {fmt!r}; this version reads {ENCODER_FORMAT}, "
                         f"{TRAINING_FORMAT} and the official state dicts")
    else:
        found = official_backbone(obj, stream, source=f"checkpoint {path}")
        name, kwargs, state, key_layout = "stgcn", found.encoder_kwargs(), found.state, found.checkpoint_format.name
        source, rename = f"{path} ({found.checkpoint_format.saved_by})", found.official_name
    skeleton = skeleton_of(kwargs, meta)
    check_skeleton(str(path), skeleton, layout)
    kwargs = {**kwargs, "layout": skeleton}
    encoder = build_encoder(name, **kwargs)
    load_state_strict(encoder, state, source, rename)
    return LoadedEncoder(encoder.eval(), key_layout, meta, dict(kwargs), skeleton, name)


def _check_stream(path: Path, fmt: str, meta: dict, stream: str | None) -> None:
    """Refuse to evaluate a suite encoder on a stream it was not trained on (a joint encoder fed
    motion data gives a number, but a meaningless one). An encoder file holds one stream; a
    training file every stream of its run."""
    if fmt == ENCODER_FORMAT:
        trained = [meta["stream"]] if meta.get("stream") else []
    else:
        trained = meta.get("streams") or ([meta["stream"]] if meta.get("stream") else [])
    if stream and trained and stream not in trained:
        raise ValueError(f"checkpoint {path} holds the {'/'.join(trained)}-stream encoder, not {stream}; "
                         f"evaluate it with --stream {trained[0]}")


def load_encoder(path: Path, stream: str | None = None, map_location: str = "cpu",
                 layout: str | Layout | None = None) -> nn.Module:
    """Backbone of a checkpoint in eval mode (:func:`load_checkpoint` without the provenance)."""
    return load_checkpoint(path, stream, map_location, layout).encoder


def load_state_strict(module: nn.Module, state: dict, source: str,
                      rename: Callable[[str], str] | None = None) -> None:
    """``load_state_dict`` that names the first missing, unexpected or mis-shaped tensor;
    ``rename`` maps the module's key to the checkpoint's own name for the message."""
    name = rename or str
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise ValueError(
            f"checkpoint {source} does not fit the encoder: {len(missing)} missing keys "
            f"(e.g. {[name(k) for k in missing[:2]]}), {len(unexpected)} unexpected keys "
            f"(e.g. {[name(k) for k in unexpected[:2]]})"
        )
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"checkpoint {source} does not fit the encoder: {name(key)} is a "
                             f"{type(value).__name__}, not a tensor")
        if tuple(value.shape) != tuple(own[key].shape):
            raise ValueError(
                f"checkpoint {source} does not fit the encoder: {name(key)} has shape {tuple(value.shape)}, "
                f"the encoder expects {tuple(own[key].shape)}"
            )
    module.load_state_dict(state)
