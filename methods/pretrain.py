"""Pretraining entry point: ``python -m methods.pretrain --method M --dataset D``.

Runs a method's pretext task with a preset (``quick`` by default on the embedded synthetic
data, ``paper`` otherwise), checkpoints every epoch atomically into the cache, resumes with
``--resume``, and ends by writing the encoder checkpoint that protocols evaluate.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from datasets import DEFAULT_DATASET, SYNTHETIC, load_benchmark
from datasets.augment import identity_view
from datasets.augment_batch import batched, view_generator
from datasets.benchmarks import CPU_SIZED
from datasets.feeder import ViewsDataset
from datasets.integrity import fingerprint
from datasets.skeleton import STREAMS
from datasets.splits import monitor_holdout
from datasets.store import Split, benchmark_layout
from methods import available, distributed, get_method
from methods.base import MoCoMethod, Preset
from methods.checkpoint import (
    TRAINING_FORMAT,
    DiskFull,
    atomic_save,
    encoder_checkpoint,
    free_bytes,
    is_disk_full,
    megabytes,
)
from methods.encoders.dropout import DEFAULT_MASKS, MASKS, set_dropout_masks
from methods.encoders.features import extract_features
from methods.encoders.recompute import set_recompute
from methods.encoders.stgcn import compile_blocks
from methods.neighbours import knn_metrics
from methods.training_state import (
    LOCK_FILE,
    STATE_VERSION,
    RunLock,
    capture_rng,
    check_training_state,
    in_use,
    load_training_state,
    lock_holder,
    move_aside,
    other_data,
    recorded_choices,
    recorded_data,
    restore_rng,
)
from results.provenance import command_line, default_device, device_name, git_commit, now, parse_device
from utils.cli import ArgumentParser, natural_int, positive_int, seed_int, seed_list
from utils.files import atomic_write_text
from utils.paths import cache_dir
from utils.progress import log_line, progress

RUN_FILE = "run.json"
#: Where the augmented views are drawn (:mod:`datasets.augment_batch`).
AUGMENT = ("loader", "device")
LOG_FILE = "log.txt"




#: Epochs between two online KNN monitors on the small real benchmarks (their held-out curves).
MONITOR_EVERY = 5


#: Numerics of a pretraining step: fp32, or the encoders under bf16 autocast (losses in fp32).
PRECISIONS = ("fp32", "bf16")


def default_preset(dataset: str) -> str:
    """``quick`` on the embedded data and ``cpu`` on the small real benchmarks, where a paper
    schedule cannot finish on a CPU; ``paper`` elsewhere."""
    if dataset in SYNTHETIC:
        return "quick"
    return "cpu" if dataset in CPU_SIZED else "paper"


def resolve_preset(method_cls: type[MoCoMethod], preset: str, epochs: int | None) -> Preset:
    try:
        p = method_cls.presets[preset]
    except KeyError:
        raise ValueError(f"method {method_cls.name} has no preset {preset!r}; choose {', '.join(method_cls.presets)}") from None
    if epochs is not None:
        if epochs < 1:
            raise ValueError(f"--epochs must be at least 1, got {epochs}")
        p = replace(p, epochs=epochs)
    return p


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
             data: str | None = None) -> str:
    """The name of a run's default folder; ``data`` (the data fingerprint) adds ``-d<12 hex digits>``."""
    opts = "".join(f"+{k}={v}" for k, v in sorted((options or {}).items()))
    tag = f"-d{data[:DATA_TAG]}" if data else ""
    return f"{method}-{dataset}-{stream}-{preset.name}-e{preset.epochs}-s{seed}{tag}{opts}"


#: Hex digits of the data fingerprint in a default run folder's name.
DATA_TAG = 12


def default_run_dir(method: str, dataset: str, stream: str, preset: Preset, seed: int,
                    options: dict | None = None, data: str | None = None) -> Path:
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
    folder = runs / run_name(method, dataset, stream, preset, seed, options, data)
    legacy = runs / run_name(method, dataset, stream, preset, seed, options)
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


def parse_options(pairs: list[str] | None) -> dict:
    """``["normalise_blur=true", "mixes=1"]`` → ``{"normalise_blur": True, "mixes": 1}``: method options
    (``MethodConfig.extra``) from the command line; values are JSON where they parse, else strings."""
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option takes KEY=VALUE, got {pair!r}")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return options


def method_config_overrides(method_cls: type[MoCoMethod], stream: str, options: dict | None) -> dict:
    """Config overrides for a run: the stream, and ``options`` merged into the method's defaults;
    an option the method does not have is refused (a typo must not train the default silently)."""
    overrides: dict = {"stream": stream}
    if options:
        defaults = method_cls.default_config.extra
        unknown = sorted(set(options) - set(defaults))
        if unknown:
            known = ", ".join(defaults) or "none"
            raise ValueError(f"method {method_cls.name} has no option {', '.join(unknown)}; its options: {known}")
        # a value whose default is a string stays one (AimCLR's chain "123456" must not become an int)
        typed = {k: str(v) if isinstance(defaults[k], str) else v for k, v in options.items()}
        overrides["extra"] = {**defaults, **typed}
    return overrides


def build_optimizer(model: MoCoMethod, preset: Preset) -> torch.optim.SGD:
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=preset.lr, momentum=preset.sgd_momentum, weight_decay=preset.weight_decay,
                           nesterov=preset.nesterov)


def export_encoders(model: MoCoMethod, out: Path, own_stream: str, meta: dict, epoch: int | None = None) -> None:
    """Write every stream's query backbone as an encoder checkpoint (a snapshot when ``epoch`` is given)."""
    for s, backbone in model.backbones().items():
        atomic_save(encoder_checkpoint(backbone, model.config.encoder, model.config.encoder_kwargs(),
                                       {**meta, "stream": s}), out / encoder_file(s, own_stream, epoch))


def default_workers(device: torch.device, augment: str) -> int:
    """Loader workers when none are asked for: a GPU step is faster than per-sample NumPy views in
    one process, so they are drawn in up to 4 workers; views drawn on the device need none, and on
    a CPU the workers would take the training step's cores."""
    if device.type != "cuda" or augment == "device":
        return 0
    return max(0, min(4, (os.cpu_count() or 1) - 1))


def epoch_order(num_samples: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffled sample order of 1-based ``epoch``: a pure function of (seed, epoch), so a run
    resumed in the middle of an epoch continues with the very samples it would have seen."""
    return torch.randperm(num_samples, generator=torch.Generator().manual_seed(seed * 100003 + epoch))


def check_run_folder(out: Path, final: Path, epochs: int, resume: bool, data: str | None = None,
                     require_run: bool = False) -> bool:
    """Whether ``out`` already holds this run finished (reuse it). Refuses to overwrite a run:
    an unfinished one without ``--resume``, or a finished one of another length; refuses a run
    trained on other data than ``data`` (their fingerprint), finished or not, whatever ``resume``
    says; and with ``require_run`` (the user's ``--resume``) a folder with no run to continue."""
    done = out / RUN_FILE
    if done.is_file() and final.is_file():
        try:
            record = json.loads(done.read_text())
            trained = int(record.get("epochs"))
        except (ValueError, TypeError, AttributeError, json.JSONDecodeError):
            raise ValueError(f"{done} is unreadable; start afresh with --restart, which moves the run folder aside") from None
        if data is not None and record.get("data_fingerprint") != data:
            raise ValueError(other_data(out, "a finished run", record.get("data_fingerprint"), data))
        if trained == epochs:
            return True
        if not resume:
            raise ValueError(f"{out} holds a finished {trained}-epoch run, not {epochs}; continue it with --resume "
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


def pretrain(
    method: str,
    dataset: str = DEFAULT_DATASET,
    preset: str | None = None,
    epochs: int | None = None,
    out: Path | None = None,
    resume: bool = False,
    seed: int = 0,
    data_root: Path | None = None,
    stream: str = "joint",
    device: torch.device | None = None,
    snapshot_every: int = 0,
    workers: int | None = None,
    max_steps: int | None = None,
    options: dict | None = None,
    save_every: int = 0,
    restart: bool = False,
    knn_every: int | None = None,
    sync_bn: bool = False,
    precision: str = "fp32",
    recompute: bool = False,
    dropout_masks: str | None = None,
    augment: str | None = None,
    compile_encoders: bool = False,
    require_run: bool = False,
) -> Path:
    """Pretrain and return the path of the final encoder checkpoint.

    A finished run in ``out`` is reused as it is; an unfinished one is continued only with
    ``resume`` (bit-identically: :mod:`methods.training_state`) and never overwritten;
    ``restart`` moves an existing run folder aside first. A run is of its data: a folder whose
    run was trained on other files (another data fingerprint) is refused, finished or not, and
    the default folder is named by the data (:func:`default_run_dir`). ``resume`` from code (the
    protocols) means "continue if interrupted"; ``require_run`` (the user's ``--resume``) refuses
    a folder with nothing to continue. While it trains, the process holds the folder's lock
    (:class:`methods.training_state.RunLock`): a second process into it is refused with the pid
    of the first. The disk must hold the checkpoints (checked once the model is built); a disk
    that fills up anyway ends in one error that says how to go on. The training state is written at the
    end of every epoch and, with ``save_every``, every that many steps. ``max_steps`` caps the
    steps per epoch (tests only). ``knn_every`` N runs the online KNN monitor every N epochs
    (:func:`knn_monitor`; default: every epoch on the embedded data, every :data:`MONITOR_EVERY` on the
    small real benchmarks, where it costs 2 s of a 12 s epoch, off on other real data).

    Started by ``torchrun`` with several processes, the run is data-parallel
    (:mod:`methods.distributed`): the preset's batch is the global batch, rank 0 writes every
    file, and ``sync_bn`` computes BatchNorm statistics over the global batch. ``precision``
    ``bf16`` runs the encoders under bf16 autocast, the losses and the queue in fp32
    (:mod:`methods.losses`). ``recompute`` keeps only each encoder block's input and recomputes
    its activations in the backward pass (:mod:`methods.encoders.recompute`): the same weights
    for about a third more compute and a fraction of the memory; a run may be resumed with or
    without it. ``dropout_masks`` is the random stream of the encoders' dropout masks
    (:mod:`methods.encoders.dropout`): ``bits`` for a new run, a resumed run keeps its own.
    ``augment`` ``device`` draws the views batched on the training device
    (:mod:`datasets.augment_batch`) instead of per sample in the loader; the default is ``device``
    on a GPU, ``loader`` elsewhere. The two draw from the same distributions, not the same stream.
    ``compile_encoders`` runs every encoder block through ``torch.compile``
    (:func:`methods.encoders.stgcn.compile_blocks`; minutes of compilation first, for GPUs).
    """
    method_cls = get_method(method)
    if stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; choose one of {', '.join(STREAMS)}")
    if method_cls.streams and stream not in method_cls.streams:
        raise ValueError(f"method {method_cls.name} trains the streams {', '.join(method_cls.streams)}, not {stream!r}")
    if dropout_masks is not None and dropout_masks not in MASKS:
        raise ValueError(f"unknown dropout masks {dropout_masks!r}; choose {', '.join(MASKS)}")
    if augment is not None and augment not in AUGMENT:
        raise ValueError(f"unknown --augment {augment!r}; choose {', '.join(AUGMENT)}")
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; choose {', '.join(PRECISIONS)}")
    if save_every < 0 or snapshot_every < 0 or (workers or 0) < 0:
        raise ValueError("--save-every, --snapshot-every and --workers must not be negative")
    p = resolve_preset(method_cls, preset or default_preset(dataset), epochs)
    explicit = out is not None
    if explicit and Path(out).exists() and not Path(out).is_dir():
        raise ValueError(f"--out {out} is a file, not a folder; pass a run folder (it is created when missing)")
    world, device = distributed.setup(device or default_device())
    if p.batch_size % world.size:
        raise ValueError(f"the global batch {p.batch_size} of preset {p.name} does not split over {world.size} "
                         "processes; start a process count that divides it")
    if sync_bn and device.type != "cuda":
        raise ValueError("--sync-bn needs GPUs (PyTorch's SyncBatchNorm has no CPU kernel); without it each "
                         "process normalises with its own share of the batch")
    own_stream = method_cls.streams[0] if method_cls.streams else stream
    overrides = method_config_overrides(method_cls, own_stream, options)
    # the data first: a run is of these very files, and its folder is reused or resumed only for them
    # (the encoder is built for the benchmark's skeleton layout: its manifest's, ntu25 where absent)
    train, _, manifest = load_benchmark(dataset, method_cls.default_config.frames, data_root)
    data = fingerprint(manifest)
    name_stream = run_stream(method_cls, stream)
    out = Path(out) if explicit else default_run_dir(method_cls.name, dataset, name_stream, p, seed, options, data)
    final = out / encoder_file(stream, own_stream)
    if world.main and (pid := lock_holder(out)) is not None:
        raise ValueError(in_use(out, pid))
    if not restart and check_run_folder(out, final, p.epochs, resume, data, require_run):
        return final
    lock = RunLock(out) if world.main else None
    need, bar = None, None  # the bytes the run's checkpoints take on disk, once the model is built
    try:
        if lock is not None:
            lock.acquire()
            if restart:
                lock = restart_run_folder(lock)
        distributed.barrier()
        if check_run_folder(out, final, p.epochs, resume, data, require_run):
            return final  # another process finished it meanwhile
        if not explicit and world.main and not (out / "last.pt").is_file():
            base = run_name(method_cls.name, dataset, name_stream, p, seed)
            opts = run_name(method_cls.name, dataset, name_stream, p, seed, options)[len(base):]
            note_other_data(out, base, opts, data)
        layout = benchmark_layout(manifest).name
        torch.manual_seed(seed)
        model = method_cls.from_preset(p, **overrides, layout=layout).to(device)
        set_recompute(model, recompute)
        if compile_encoders:
            compile_blocks(model)
        last = out / "last.pt"
        # on the CPU whatever the device: load_state_dict puts weights, queues and optimizer moments where
        # the model is, and the generator states must stay CPU tensors (mapped to a GPU, torch refused them)
        state = load_training_state(last) if resume and last.is_file() else None
        kept = recorded_choices(state) if state is not None else {}  # a run keeps what it started with
        dropout_masks = dropout_masks or kept.get("dropout_masks", DEFAULT_MASKS)
        augment = augment or kept.get("augment", "device" if device.type == "cuda" else "loader")
        set_dropout_masks(model, dropout_masks)
        on_device = [batched(view) for view in model.views()] if augment == "device" else None
        if workers is None:  # NumPy views beside a GPU step: loader workers; on a CPU the step needs the cores
            workers = default_workers(device, augment)
        if world.rank:  # each further rank draws its own dropout; rank 0 continues as a one-process run
            torch.manual_seed(distributed.rank_seed(seed, world))
        step_fn = model.training_step
        if world.distributed:
            if sync_bn:
                model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
            # every rank starts from rank 0's weights and queue; BN buffers stay per rank (no broadcast)
            step_fn = torch.nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None, broadcast_buffers=False,
                find_unused_parameters=True)
        if knn_every is None:
            knn_every = 1 if dataset in SYNTHETIC else MONITOR_EVERY if dataset in CPU_SIZED else 0
        if len(train) < p.batch_size:
            raise ValueError(f"{dataset} has {len(train)} training samples, fewer than one batch of {p.batch_size}")
        steps = len(train) // p.batch_size
        if max_steps:
            steps = min(steps, max_steps)
        meta = {
            "method": method_cls.name, "dataset": dataset, "stream": own_stream, "frames": model.config.frames,
            "streams": list(model.backbones()), "layout": layout,
            "preset": asdict(p), "config": model.config.to_dict(), "seed": seed, "steps_per_epoch": steps,
            "data_fingerprint": data,
            "body_selection": manifest.get("body_selection"), "preprocessing": manifest.get("preprocessing"),
            "dropout_masks": dropout_masks, "augment": augment,
        }
        if precision != "fp32":  # (absent for fp32: states and records of earlier runs stay valid)
            meta["precision"] = precision
        if world.distributed:  # a state of W processes resumes with W processes
            meta["processes"] = world.size
            meta["sync_bn"] = sync_bn
        optimizer = build_optimizer(model, p)
        epoch, step, history, wall, sums = 1, 0, [], 0.0, {}
        if state is not None:
            check_training_state(state, last, meta)
        if world.main:
            need = space_needed(model, p, snapshot_every, resumed=state is not None)
            check_free_space(out, need, resumed=state is not None)
            for torn in out.glob(".last.pt.*.tmp"):  # a write a crash interrupted; last.pt itself is whole
                torn.unlink()
        log = RunLog(out / LOG_FILE, quiet=not world.main)
        resumed_batch_rng = None
        if state is not None:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            epoch, step = state["position"]
            history, wall, sums = list(state["history"]), float(state["wall_s"]), dict(state["sums"])
            rng = state["rng_ranks"][world.rank] if world.distributed else state["rng"]
            restore_rng(rng)
            if step >= steps:  # saved at the end of an epoch: the method reseeds its batch generator
                epoch, step, sums = epoch + 1, 0, {}
            else:
                resumed_batch_rng = rng["batch"]
            log.line(f"resuming {out.name} at epoch {epoch} step {step} of {steps}")
        feeder = ViewsDataset(train, (identity_view,) if on_device else model.views(), seed=seed)
        encoder_kwargs = model.config.encoder_kwargs()

        def save_state(position: tuple[int, int]) -> None:
            rng = capture_rng(model.batch_rng)
            ranks = distributed.gather_objects(rng)  # every rank takes part; rank 0 writes
            if not world.main:
                return
            state = {"format": TRAINING_FORMAT, "state_version": STATE_VERSION, "encoder": model.config.encoder,
                     "encoder_kwargs": encoder_kwargs, "model": model.state_dict(),
                     "optimizer": optimizer.state_dict(), "position": position,
                     "epoch": position[0] - (position[1] < steps),
                     "sums": dict(sums), "history": history, "wall_s": wall, "rng": rng, "meta": meta}
            if world.distributed:
                state["rng_ranks"] = ranks
            atomic_save(state, last)

        remaining = (p.epochs - epoch + 1) * steps - step
        bar = progress(total=max(remaining, 0), desc=f"pretrain {method_cls.name}", unit="step", disable=not world.main)
        session_start, done_this_session = time.time(), 0
        while epoch <= p.epochs:
            lr = p.lr_at(epoch)
            for group in optimizer.param_groups:
                group["lr"] = lr
            feeder.set_epoch(epoch)
            model.set_epoch(epoch, seed)
            if resumed_batch_rng is not None:
                model.batch_rng.bit_generator.state = resumed_batch_rng
                resumed_batch_rng = None
            order = epoch_order(len(train), seed, epoch)[step * p.batch_size : steps * p.batch_size].numpy()
            order = distributed.rank_share(order, p.batch_size, world).tolist()
            # the generator keeps the loader off torch's global one, which dropout draws from
            loader = DataLoader(feeder, batch_size=p.batch_size // world.size, sampler=order, drop_last=True,
                                num_workers=workers, pin_memory=device.type == "cuda",
                                generator=torch.Generator().manual_seed(seed * 100003 + epoch))
            model.train()
            t_last = time.time()
            for batch in loader:
                if on_device is None:
                    views = [v.to(device, non_blocking=True) for v in batch[:-2]]
                else:  # the clips once to the device, then every view of the whole batch there
                    clips = batch[0].to(device, non_blocking=True)
                    gen = view_generator(seed, epoch, step, world.rank, device)
                    views = [view(clips, gen) for view in on_device]
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
                    loss, logs = step_fn(views, epoch)
                if not torch.isfinite(loss):
                    raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch} step {step}; lower the LR")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                logs = distributed.mean_over_ranks(logs, device)
                for key, value in logs.items():
                    sums[key] = sums.get(key, 0.0) + float(value)
                step += 1
                done_this_session += 1
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{logs['loss']:.3f}", lr=f"{lr:g}", refresh=False)
                if save_every and step % save_every == 0 and step < steps:
                    now_t = time.time()
                    wall, t_last = wall + now_t - t_last, now_t
                    save_state((epoch, step))
            wall += time.time() - t_last
            means = {key: value / steps for key, value in sums.items()}
            if knn_every and epoch % knn_every == 0:
                # rank 0 computes it for all (eval mode: no random draws, no collective)
                monitor = knn_monitor(model.backbone(), train, own_stream, device) if world.main else {}
                means.update(distributed.gather_objects(monitor)[0])
                bar.set_postfix(epoch=epoch, knn=f"{means['knn_top1']:.1f}", refresh=False)
            history.append({"epoch": epoch, **means, "lr": lr})
            rate = (time.time() - session_start) / max(done_this_session, 1)
            eta = rate * ((p.epochs - epoch) * steps)
            knn = f" knn 1-NN {means['knn_top1']:.2f} (k20 {means['knn20_top1']:.2f})" if "knn_top1" in means else ""
            log.line(f"epoch {epoch}/{p.epochs} loss {means['loss']:.4f} lr {lr:g}{knn} "
                     f"elapsed {wall / 60:.1f} min, ETA {eta / 60:.1f} min")
            save_state((epoch, steps))
            if snapshot_every and epoch % snapshot_every == 0 and world.main:
                export_encoders(model, out, own_stream, {**meta, "epoch": epoch}, epoch)
            epoch, step, sums = epoch + 1, 0, {}
        bar.close()
        record = {**meta, "epochs": p.epochs, "history": history, "wall_s": round(wall, 1), "commit": git_commit(),
                  "device": device_name(device),
                  **({"recompute": True} if recompute else {}), **({"compiled": True} if compile_encoders else {}),
                  "command": command_line(), "finished": now()}
        warning = collapse_warning(history)
        if warning:
            record["warning"] = warning
        if world.main:
            export_encoders(model, out, own_stream,
                            {**meta, "epoch": p.epochs, "wall_s": round(wall, 1), "commit": record["commit"]})
            atomic_write_text(out / RUN_FILE, json.dumps(record, indent=2) + "\n")
        if warning:
            log.line(f"warning: {warning}")
        log.line(f"finished: {final}")
        distributed.barrier()  # the other ranks return once rank 0 has written the run
        return final
    except (OSError, RuntimeError, DiskFull) as err:  # (a refusal before the start is a plain ValueError)
        if not is_disk_full(err):
            raise
        raise DiskFull(filled_up(out, need, explicit), out) from None
    finally:
        if bar is not None:
            bar.close()  # before any error line, not after it
        if lock is not None:
            lock.release()


#: Points of held-out KNN top-1 a learning run gains between its first and last monitor, at least.
MONITOR_RISE = 2.0
#: How much higher than at its first epoch a collapsed run's loss ends, at least (a fraction).
LOSS_RISE = 0.25


def collapse_warning(history: list[dict]) -> str | None:
    """What to tell the user when a finished run shows the signature of a collapsed encoder: the
    held-out KNN monitor ends no higher than it began (less than :data:`MONITOR_RISE` points up) while
    the training loss ends more than :data:`LOSS_RISE` above its first epoch's. Measured on NW-UCLA
    (50 epochs, monitor every 5): CrosSCLR seed 0 (monitor 42.6 → 29.2, loss 12.6 → 21.4, +70 %) and
    AimCLR seed 1 (40.7 → 40.2, loss 9.3 → 13.2, +42 %) evaluate near or below an untrained
    encoder; AimCLR seed 2 (45.5 → 43.5 on a noisy monitor of 209 clips, loss +13 %) evaluates
    well (69.8 official probe), so a small loss rise alone says nothing. None when the run looks
    sound or was not monitored."""
    points = [(h["epoch"], h["knn_top1"]) for h in history if "knn_top1" in h]
    if len(points) < 2 or len(history) < 2:
        return None
    (e0, k0), (e1, k1) = points[0], points[-1]
    l0, l1 = history[0]["loss"], history[-1]["loss"]
    if k1 >= k0 + MONITOR_RISE or l1 <= l0 * (1 + LOSS_RISE):
        return None
    return (f"the held-out KNN monitor did not rise ({k0:.1f} at epoch {e0}, {k1:.1f} at epoch {e1}) while the "
            f"training loss rose ({l0:.2f} to {l1:.2f}): the encoder may have collapsed; compare its evaluation "
            "with an untrained encoder's (`--checkpoint random`) before trusting it")


def knn_monitor(backbone: torch.nn.Module, train: Split, stream: str, device: torch.device) -> dict:
    """Online KNN of the query backbone on the training split alone: the performers that
    :func:`datasets.splits.monitor_holdout` holds out are the queries, the others the bank
    (pooled features of the clean clips; cosine 1-NN and the weighted vote at k=20, t=0.1, %; the
    KNN protocol's maths, :mod:`methods.neighbours`). It shows while pretraining runs whether
    the representation is learning, and a recipe may be chosen by it without touching the test
    split. Eval mode draws no random numbers, so the monitor leaves the run bit-identical; the
    training loop puts the model back in train mode each epoch."""
    features = extract_features(backbone, train, stream, device, desc="knn monitor")
    query = monitor_holdout(train.names)
    labels = np.asarray(train.labels)
    m = knn_metrics(features[~query], labels[~query], features[query], labels[query], int(labels.max()) + 1,
                    ks=(20,), t=0.1)
    return {"knn_top1": m["top1"], "knn20_top1": m["knn_top1"]["20"]}


class RunLog:
    """The run's log file (``log.txt`` in the run folder), each line also on stderr: the epoch
    lines with their ETA survive a closed terminal."""

    def __init__(self, path: Path, quiet: bool = False) -> None:
        self.path, self.quiet = Path(path), quiet  # quiet: a data-parallel rank other than 0

    def line(self, message: str) -> None:
        if self.quiet:
            return
        log_line(message)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(f"{now()} {message}\n")


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m methods.pretrain", description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", required=True, help=f"one of: {', '.join(available())}")
    ap.add_argument("--dataset", default=DEFAULT_DATASET, help="benchmark id (default: %(default)s, synthetic)")
    ap.add_argument("--data-root", type=Path, help="folder of prepared benchmarks (real datasets)")
    ap.add_argument("--preset", choices=["quick", "cpu", "paper"],
                    help=f"recipe (default: quick on synthetic data, cpu on {', '.join(CPU_SIZED)}, else paper)")
    ap.add_argument("--epochs", type=positive_int, help="override the preset's epochs")
    ap.add_argument("--stream", default="joint", choices=STREAMS)
    seeds = ap.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=seed_int, default=0,
                       help="pretraining seed, 0 to 2**32 - 1 (default: %(default)s)")
    seeds.add_argument("--seeds", dest="run_seeds", type=seed_list, metavar="S,S,...",
                       help="pretrain once per seed, e.g. 0,1,2, one after the other (each its own run folder; "
                            "not with --out)")
    ap.add_argument("--out", type=Path, help="run folder (default: the cache's runs/<run name>-d<data fingerprint>: "
                    "one per recipe and data); locked while a process trains into it; a run of other data there "
                    "is refused")
    resume = ap.add_mutually_exclusive_group()
    resume.add_argument("--resume", action="store_true",
                        help="continue the run folder's last.pt exactly where it stopped (bit-identical weights); "
                             "refused where the folder holds no run")
    resume.add_argument("--restart", action="store_true",
                        help="start afresh: move an existing run folder aside to <name>.old-<time> first")
    ap.add_argument("--save-every", type=natural_int, default=0, metavar="STEPS",
                    help="also write the training state every STEPS steps inside an epoch (default: at epoch ends)")
    ap.add_argument("--knn-every", type=natural_int, metavar="N",
                    help="online KNN monitor every N epochs (1-NN and weighted k=20; queries: every 5th training "
                         "performer, bank: the others; never the test split); "
                         f"0 turns it off (default: every epoch on the embedded data, every {MONITOR_EVERY} on "
                         f"{', '.join(CPU_SIZED)}, off on other real data)")
    ap.add_argument("--snapshot-every", type=natural_int, default=0, help="also save the encoder every N epochs")
    ap.add_argument("--workers", type=natural_int,
                    help="data loader workers (default: 4, at most the cores less one, on a GPU with --augment loader; "
                         "else 0, in-process)")
    ap.add_argument("--option", action="append", metavar="KEY=VALUE",
                    help="method option, repeatable (e.g. aimclr normalise_blur=true, crossclr stale_keys=false)")
    ap.add_argument("--sync-bn", action="store_true",
                    help="under torchrun, BatchNorm statistics over the global batch (SyncBatchNorm, GPUs only; "
                         "default: each process's own share, as the official code)")
    ap.add_argument("--precision", choices=PRECISIONS, default="fp32",
                    help="bf16: encoders under bf16 autocast, losses and queue in fp32 (default: %(default)s)")
    ap.add_argument("--recompute", action="store_true",
                    help="recompute each encoder block's activations in the backward pass instead of keeping them: "
                         "the same weights, about a third more time, a fraction of the memory (SkeleMixCLR+ at "
                         "batch 128 on a CPU: docs/performance.md)")
    ap.add_argument("--dropout-masks", choices=MASKS,
                    help="random stream of the encoders' CPU dropout masks: bits (a new run's default: one random "
                         "bit a mask element) or torch (torch.nn.Dropout's, as older runs drew); the same "
                         "distribution, other draws. A resumed run keeps its own")
    ap.add_argument("--augment", choices=AUGMENT,
                    help="where the views are drawn: loader (per sample, NumPy, in loader workers) or device (the "
                         "whole batch on the training device, datasets/augment_batch.py); the same distributions. "
                         "Default: device on a GPU, loader elsewhere; a resumed run keeps its own")
    ap.add_argument("--compile", action="store_true",
                    help="torch.compile every encoder block (GPUs: faster steps after minutes of compilation; "
                         "dropout then draws from Inductor's generator)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    seeds = args.run_seeds or (args.seed,)
    if len(seeds) > 1 and args.out is not None:
        ap.error("--seeds runs one folder per seed under the cache; drop --out (or give one --seed)")
    try:
        device, options = parse_device(args.device), parse_options(args.option)
        for i, seed in enumerate(seeds):
            if len(seeds) > 1:
                log_line(f"seed {seed} ({i + 1} of {len(seeds)})")
            path = pretrain(args.method, args.dataset, args.preset, args.epochs, args.out, args.resume, seed,
                            args.data_root, args.stream, device, args.snapshot_every, args.workers,
                            options=options, save_every=args.save_every, restart=args.restart,
                            knn_every=args.knn_every, sync_bn=args.sync_bn, precision=args.precision,
                            recompute=args.recompute, dropout_masks=args.dropout_masks, augment=args.augment,
                            compile_encoders=args.compile, require_run=args.resume)
            if distributed.launched_world().main:
                print(f"encoder checkpoint: {path}")
    except (ValueError, FileNotFoundError, FloatingPointError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
