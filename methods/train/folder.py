"""A run's folder: its name, whether it is reused, continued or refused, room on its disk, and
the encoder checkpoints it exports.

A run is of its data: the default folder is named by the data's fingerprint, and a folder whose run
was trained on other files is refused, finished or not.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

import torch

from methods.base import MoCoMethod, Preset
from methods.checkpoint import atomic_save, encoder_checkpoint, free_bytes, megabytes
from methods.training_state import LOCK_FILE, RunLock, move_aside, other_data, preset_differences, recorded_data
from utils.paths import cache_dir
from utils.progress import log_line

RUN_FILE = "run.json"
LOG_FILE = "log.txt"
#: Hex digits of the data fingerprint in a default run folder's name.
DATA_TAG = 12


def encoder_file(stream: str, own_stream: str, epoch: int | None = None) -> str:
    """File name of a run's encoder for ``stream``: ``encoder.pt`` for the method's own stream,
    ``encoder-<stream>.pt`` for the others a multi-stream method (CrosSCLR) trains; snapshots
    add ``-e<epoch>``."""
    parts = ["encoder"] + ([stream] if stream != own_stream else []) + ([f"e{epoch:03d}"] if epoch else [])
    return "-".join(parts) + ".pt"


def run_stream(method_cls: type[MoCoMethod], stream: str) -> str:
    """The stream a run is named by: the requested one, or all of a multi-stream method's."""
    return "+".join(method_cls.streams) if method_cls.streams else stream


def run_name(method: str, dataset: str, stream: str, preset: Preset, seed: int, options: dict | None = None,
             data: str | None = None, encoder: str | None = None) -> str:
    """The name of a run's default folder; ``data`` (the data fingerprint) adds ``-d<12 hex digits>``,
    an ``encoder`` other than the method's own (None) ``-<encoder>`` after the stream, and the method
    options (the recipe's own and ``options``) end it, so a run of other options is another folder."""
    opts = "".join(f"+{k}={v}" for k, v in sorted(preset.options_with(options).items()))
    tag = f"-d{data[:DATA_TAG]}" if data else ""
    net = f"-{encoder}" if encoder else ""
    return f"{method}-{dataset}-{stream}{net}-{preset.name}-e{preset.epochs}-s{seed}{tag}{opts}"


def default_run_dir(method: str, dataset: str, stream: str, preset: Preset, seed: int,
                    options: dict | None = None, data: str | None = None, encoder: str | None = None) -> Path:
    """The cache's run folder of a recipe on the data of fingerprint ``data``.

    The data are part of the name rather than a reason to refuse: the protocols pretrain into
    this folder by themselves (``resolve_encoder``), and whoever passes other files under the same
    dataset id (a download prepared again complete, another ``--data-root``) asks for a run of those
    files, not for an error about a folder they never named. So other data get their own run, and
    the run of the first data stays to be reused for them. A finished or unfinished run made before
    the data were named (no ``-d`` part) is still found, for the data it was trained on only.
    An explicit ``--out`` is checked instead (:func:`check_run_folder`).
    """
    runs = cache_dir("runs")
    folder = runs / run_name(method, dataset, stream, preset, seed, options, data, encoder)
    legacy = runs / run_name(method, dataset, stream, preset, seed, options, encoder=encoder)
    if data and not folder.exists() and legacy.is_dir() and recorded_data(legacy) == data:
        return legacy
    return folder


def note_other_data(out: Path, base: str, opts: str, data: str) -> None:
    """Say so when a new default run starts beside runs of the same recipe on other data: it is
    why the run is not reused (``base`` and ``opts``: the run name before and after the data's tag;
    a stream name may hold a ``+`` too, so the options are not found by splitting the name)."""
    pattern = re.compile(re.escape(base) + rf"(-d[0-9a-f]{{{DATA_TAG}}})?" + re.escape(opts))
    others = sorted(d.name for d in out.parent.iterdir() if d != out and d.is_dir() and pattern.fullmatch(d.name))
    if others:
        log_line(f"pretraining into {out.name}: these data (fingerprint {data[:DATA_TAG]}…) get their own run "
                 f"folder; the runs of this recipe on other data stay as they are ({', '.join(others)})")


def export_encoders(model: MoCoMethod, out: Path, own_stream: str, meta: dict, epoch: int | None = None) -> None:
    """Write every stream's query backbone as an encoder checkpoint (a snapshot when ``epoch`` is given)."""
    for s, backbone in model.backbones().items():
        atomic_save(encoder_checkpoint(backbone, model.config.encoder, model.config.encoder_kwargs(),
                                       {**meta, "stream": s}), out / encoder_file(s, own_stream, epoch))


def check_run_folder(out: Path, final: Path, preset: Preset, resume: bool, data: str | None = None,
                     require_run: bool = False, encoder: str | None = None) -> bool:
    """Whether ``out`` already holds this run of ``preset`` finished (reuse it). Refuses to overwrite
    a run: an unfinished one without ``--resume``, or a finished one of another length; refuses a run
    trained on other data than ``data`` (their fingerprint), finished or not, whatever ``resume``
    says; a finished run of another encoder than ``encoder``, or of other recipe numbers than the
    preset's (a recipe changed since the run, which its folder name does not show); and with
    ``require_run`` (the user's ``--resume``) a folder with no run to continue. (An unfinished run of
    another encoder or preset is refused when its state is loaded: both are part of its configuration.)"""
    done = out / RUN_FILE
    if done.is_file() and final.is_file():
        try:
            record = json.loads(done.read_text())
            trained = int(record.get("epochs"))
        except (ValueError, TypeError, AttributeError, json.JSONDecodeError):
            raise ValueError(f"{done} is unreadable; start afresh with --restart, which moves the run folder aside") from None
        if data is not None and record.get("data_fingerprint") != data:
            raise ValueError(other_data(out, "a finished run", record.get("data_fingerprint"), data))
        trained_encoder = (record.get("config") or {}).get("encoder", "stgcn")
        if encoder is not None and trained_encoder != encoder:
            raise ValueError(f"{out} holds a finished run of the {trained_encoder} encoder, not {encoder}; pass "
                             f"--encoder {trained_encoder} to use it, or another --out for a {encoder} run")
        diff = preset_differences(record["preset"], asdict(preset)) if "preset" in record else []
        if diff:
            raise ValueError(f"{out} holds a finished run of other recipe numbers than the {preset.name} preset's now "
                             f"({', '.join(diff)} differ): it was trained before the recipe changed; start afresh "
                             "with --restart (moves it aside), or pass another --out")
        if trained == preset.epochs:
            return True
        if not resume:
            raise ValueError(f"{out} holds a finished {trained}-epoch run, not {preset.epochs}; continue it with --resume "
                             "--epochs N, start afresh with --restart (moves it aside), or pass another --out")
        return False
    if (out / "last.pt").is_file():
        have = recorded_data(out) if data is not None else None
        if have is not None and have != data:  # (an unreadable state is refused when it is loaded)
            raise ValueError(other_data(out, "an unfinished run", have, data))
        if not resume:
            raise ValueError(f"{out} holds an unfinished run; continue it with --resume, or start afresh with "
                             "--restart (moves it aside)")
        return False
    if require_run:
        raise ValueError(f"--resume: {out} holds no run (no last.pt), so there is nothing to resume; to start a "
                         "new run there, drop --resume")
    return False


def restart_run_folder(lock: RunLock) -> RunLock:
    """``--restart`` under the run folder's lock: move the folder aside (lock file and all, so no
    process can start in it meanwhile), then lock the new empty folder of that name."""
    if not any(p.name != LOCK_FILE for p in lock.folder.iterdir()):
        return lock  # nothing to move aside
    moved = move_aside(lock.folder)
    print(f"--restart: moved the previous run folder to {moved}", file=sys.stderr)
    fresh = RunLock(lock.folder)
    try:
        fresh.acquire()
    finally:
        lock.folder, lock.made_folder = moved, False
        lock.release()
    return fresh


def tensor_bytes(tensors: Iterable) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


def space_needed(model: MoCoMethod, preset: Preset, snapshot_every: int, resumed: bool) -> int:
    """Bytes a run's files need on its disk, known once the model is built: the training state
    (weights, queues, the SGD momentum of every trained parameter) is written beside its previous
    copy before the rename, so twice (once more when resuming: one copy is there already); the
    encoders, once plus once a snapshot; and a MiB for the run record and the log."""
    state = tensor_bytes(model.state_dict().values())
    if preset.sgd_momentum:
        state += tensor_bytes(p for p in model.parameters() if p.requires_grad)
    encoders = tensor_bytes(v for b in model.backbones().values() for v in b.state_dict().values())
    snapshots = preset.epochs // snapshot_every if snapshot_every else 0
    return state * (1 if resumed else 2) + encoders * (1 + snapshots) + (1 << 20)


def check_free_space(out: Path, need: int, resumed: bool) -> None:
    """Refuse to start a run whose checkpoints cannot fit on the disk of ``out``."""
    free = free_bytes(out)
    if free < need:
        after = "then continue the run with --resume" if resumed else "then run again"
        raise ValueError(f"the disk of {out} is full for this run: it needs about {megabytes(need)} free there for "
                         f"its checkpoints, {megabytes(free)} are free; free space there or pass another --out, "
                         f"{after}")


def filled_up(out: Path, need: int | None, explicit: bool) -> str:
    """The one line for a disk that filled up during a run: how much it needs, and how to go on.
    The temporary file of the failed write is gone (:func:`utils.files.atomic_write`)."""
    size = f"; the run needs about {megabytes(need)} there" if need else ""
    last = out / "last.pt"
    if last.is_file():
        how = (f"then continue the run with --resume (its last saved state, {last}, is whole"
               + (")" if explicit else "; a protocol's own pretraining resumes when run again)"))
    else:
        how = "then run again (nothing was saved yet)"
    return f"the disk of {out} is full ({megabytes(free_bytes(out))} free{size}): free space there, {how}"
