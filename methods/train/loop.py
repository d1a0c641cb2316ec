"""The epoch and step loop of a pretraining run, its saved state and its bit-identical resume.

:func:`train` finds or locks the run folder and hands the run to a :class:`Trainer`, whose small
methods build the model, restore a saved state, train an epoch, close it (monitor, log, state,
snapshots) and write the run's files. The order of every random draw is part of the contract: a
run resumed from any saved state continues with the very weights an uninterrupted run would have
(``tests/test_resume.py``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import torch
from timm.optim import create_optimizer_v2
from timm.scheduler import create_scheduler_v2
from torch.utils.data import DataLoader

from datasets import load_benchmark
from datasets.augment import identity_view
from datasets.augment_batch import batched, view_generator
from datasets.feeder import ViewsDataset
from datasets.integrity import fingerprint
from datasets.store import Split, benchmark_layout
from methods import distributed
from methods.base import MoCoMethod, Preset
from methods.checkpoint import TRAINING_FORMAT, DiskFull, atomic_save, is_disk_full
from methods.encoders import compile_blocks
from methods.encoders.dropout import DEFAULT_MASKS, set_dropout_masks
from methods.encoders.recompute import set_recompute
from methods.train.config import TrainConfig, method_config_overrides
from methods.train.folder import (
    LOG_FILE,
    RUN_FILE,
    check_free_space,
    check_run_folder,
    default_run_dir,
    encoder_file,
    export_encoders,
    filled_up,
    note_other_data,
    restart_run_folder,
    run_name,
    run_stream,
    space_needed,
)
from methods.train.monitor import RunLog, collapse_warning, knn_monitor
from methods.training_state import (
    STATE_VERSION,
    RunLock,
    capture_rng,
    check_training_state,
    in_use,
    load_training_state,
    lock_holder,
    recorded_choices,
    restore_rng,
)
from results.provenance import command_line, default_device, device_name, git_commit, now
from utils.files import atomic_write_text
from utils.progress import progress


def build_optimizer(model: MoCoMethod, preset: Preset) -> torch.optim.Optimizer:
    """The preset's optimiser over the trained parameters (the key encoders follow by momentum):
    the papers' SGD, or timm's factory for another (``adamw``: weight decay off for biases and
    norms, as timm groups them)."""
    if preset.optimizer != "sgd":
        return create_optimizer_v2(model, opt=preset.optimizer, lr=preset.lr, weight_decay=preset.weight_decay)
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.SGD(params, lr=preset.lr, momentum=preset.sgd_momentum, weight_decay=preset.weight_decay,
                           nesterov=preset.nesterov)


def epoch_lrs(optimizer: torch.optim.Optimizer, preset: Preset) -> Callable[[int], float]:
    """The LR of each 1-based epoch: the preset's step decay, or timm's cosine schedule after a
    linear warm-up. Either is a function of the epoch alone, so a resumed run trains at the LRs
    an uninterrupted one would."""
    if preset.schedule == "step":
        return preset.lr_at
    if preset.schedule != "cosine":
        raise ValueError(f"unknown schedule {preset.schedule!r}; choose step or cosine")
    scheduler, _ = create_scheduler_v2(optimizer, sched="cosine", num_epochs=preset.epochs,
                                       warmup_epochs=preset.warmup_epochs, warmup_lr=preset.lr / 100)

    def lr(epoch: int) -> float:
        scheduler.step(epoch - 1)  # timm counts epochs from 0
        return optimizer.param_groups[0]["lr"]
    return lr


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


def train(config: TrainConfig) -> Path:
    """Pretrain and return the path of the final encoder checkpoint.

    A finished run in the folder is reused as it is; an unfinished one is continued only with
    ``resume`` (bit-identically: :mod:`methods.training_state`) and never overwritten;
    ``restart`` moves an existing run folder aside first. A run is of its data: a folder whose
    run was trained on other files (another data fingerprint) is refused, finished or not, and
    the default folder is named by the data (:func:`methods.train.folder.default_run_dir`). While
    it trains, the process holds the folder's lock (:class:`methods.training_state.RunLock`): a
    second process into it is refused with the pid of the first. The disk must hold the
    checkpoints (checked once the model is built); a disk that fills up anyway ends in one error
    that says how to go on.

    Started by ``torchrun`` with several processes, the run is data-parallel
    (:mod:`methods.distributed`): the preset's batch is the global batch, rank 0 writes every
    file, and ``sync_bn`` computes BatchNorm statistics over the global batch. ``precision``
    ``bf16`` runs the encoders under bf16 autocast, the losses and the queue in fp32.
    ``recompute`` keeps only each encoder block's input and recomputes its activations in the
    backward pass (:mod:`methods.encoders.recompute`). ``augment`` ``device`` draws the views
    batched on the training device (:mod:`datasets.augment_batch`); ``compile_encoders`` runs every
    encoder block through ``torch.compile``.
    """
    method_cls, preset = config.method_cls, config.recipe()
    world, device = distributed.setup(config.device or default_device())
    if preset.batch_size % world.size:
        raise ValueError(f"the global batch {preset.batch_size} of preset {preset.name} does not split over "
                         f"{world.size} processes; start a process count that divides it")
    if config.sync_bn and device.type != "cuda":
        raise ValueError("--sync-bn needs GPUs (PyTorch's SyncBatchNorm has no CPU kernel); without it each "
                         "process normalises with its own share of the batch")
    overrides = method_config_overrides(method_cls, config.own_stream, preset.options_with(config.options),
                                        config.encoder)
    # the data first: a run is of these very files, and its folder is reused or resumed only for them
    # (the encoder is built for the benchmark's skeleton layout: its manifest's, ntu25 where absent)
    train_split, _, manifest = load_benchmark(config.dataset, method_cls.default_config.frames, config.data_root)
    data = fingerprint(manifest)
    name_stream = run_stream(method_cls, config.stream)
    explicit = config.out is not None
    out = Path(config.out) if explicit else default_run_dir(method_cls.name, config.dataset, name_stream, preset,
                                                            config.seed, config.options, data, config.encoder)
    final = out / encoder_file(config.stream, config.own_stream)
    if world.main and (pid := lock_holder(out)) is not None:
        raise ValueError(in_use(out, pid))
    if not config.restart and check_run_folder(out, final, preset, config.resume, data, config.require_run,
                                                  config.encoder_name):
        return final
    lock = RunLock(out) if world.main else None
    trainer = None
    try:
        if lock is not None:
            lock.acquire()
            if config.restart:
                lock = restart_run_folder(lock)
        distributed.barrier()
        if check_run_folder(out, final, preset, config.resume, data, config.require_run,
                              config.encoder_name):
            return final  # another process finished it meanwhile
        if not explicit and world.main and not (out / "last.pt").is_file():
            base = run_name(method_cls.name, config.dataset, name_stream, replace(preset, options=()), config.seed,
                            encoder=config.encoder)
            opts = run_name(method_cls.name, config.dataset, name_stream, preset, config.seed, config.options,
                            encoder=config.encoder)[len(base):]
            note_other_data(out, base, opts, data)
        trainer = Trainer(config, preset, world, device, out, train_split, manifest, data, overrides)
        trainer.run()
        return final
    except (OSError, RuntimeError, DiskFull) as err:  # (a refusal before the start is a plain ValueError)
        if not is_disk_full(err):
            raise
        raise DiskFull(filled_up(out, trainer.need if trainer else None, explicit), out) from None
    finally:
        if trainer is not None:
            trainer.close()  # the progress bar before any error line, not after it
        if lock is not None:
            lock.release()


class Trainer:
    """One pretraining run in a locked folder: the model, its optimizer and views, the position
    (epoch, step), the per-epoch history and the wall time so far. Built in the order the random
    draws need (seed, model, saved state, dropout masks, views); :meth:`run` trains to the end."""

    def __init__(self, config: TrainConfig, preset: Preset, world: distributed.World, device: torch.device,
                 out: Path, train_split: Split, manifest: dict, data: str, overrides: dict) -> None:
        self.config, self.preset, self.world, self.device, self.out = config, preset, world, device, out
        self.train_split, self.last, self.need, self.bar = train_split, out / "last.pt", None, None
        self.layout = benchmark_layout(manifest).name
        torch.manual_seed(config.seed)
        model = config.method_cls.from_preset(preset, **overrides, layout=self.layout).to(device)
        set_recompute(model, config.recompute)
        if config.compile_encoders:
            compile_blocks(model)
        # on the CPU whatever the device: load_state_dict puts weights, queues and optimizer moments where
        # the model is, and the generator states must stay CPU tensors (mapped to a GPU, torch refused them)
        state = load_training_state(self.last) if config.resume and self.last.is_file() else None
        kept = recorded_choices(state) if state is not None else {}  # a run keeps what it started with
        self.dropout_masks = config.dropout_masks or kept.get("dropout_masks", DEFAULT_MASKS)
        self.augment = config.augment or kept.get("augment", "device" if device.type == "cuda" else "loader")
        set_dropout_masks(model, self.dropout_masks)
        self.on_device = [batched(view) for view in model.views()] if self.augment == "device" else None
        self.workers = config.workers if config.workers is not None else default_workers(device, self.augment)
        if world.rank:  # each further rank draws its own dropout; rank 0 continues as a one-process run
            torch.manual_seed(distributed.rank_seed(config.seed, world))
        self.model, self.step_fn = self.wrap_distributed(model)
        if len(train_split) < preset.batch_size:
            raise ValueError(f"{config.dataset} has {len(train_split)} training samples, fewer than one batch of "
                             f"{preset.batch_size}")
        self.steps = min(len(train_split) // preset.batch_size, config.max_steps or len(train_split))
        self.meta = self.run_metadata(manifest, data)
        self.optimizer = build_optimizer(model, preset)
        self.lr_at = epoch_lrs(self.optimizer, preset)
        self.epoch, self.step, self.history, self.wall, self.sums = 1, 0, [], 0.0, {}
        if state is not None:
            check_training_state(state, self.last, self.meta)
        if world.main:
            self.need = space_needed(model, preset, config.snapshot_every, resumed=state is not None)
            check_free_space(out, self.need, resumed=state is not None)
            for torn in out.glob(".last.pt.*.tmp"):  # a write a crash interrupted; last.pt itself is whole
                torn.unlink()
        self.log = RunLog(out / LOG_FILE, quiet=not world.main)
        self.resumed_batch_rng = self.restore(state) if state is not None else None
        self.feeder = ViewsDataset(train_split, (identity_view,) if self.on_device else model.views(), seed=config.seed)

    def wrap_distributed(self, model: MoCoMethod) -> tuple[MoCoMethod, Callable]:
        """The model (its BatchNorms synchronised with ``sync_bn``) and its training step: the
        model's own, or under DistributedDataParallel in a torchrun world."""
        if not self.world.distributed:
            return model, model.training_step
        if self.config.sync_bn:
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        # every rank starts from rank 0's weights and queue; BN buffers stay per rank (no broadcast)
        return model, torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[self.device.index] if self.device.type == "cuda" else None, broadcast_buffers=False,
            find_unused_parameters=True)

    def run_metadata(self, manifest: dict, data: str) -> dict:
        """What the run is (saved with its state, its encoders and its run record): a resumed run
        must match it (:func:`methods.training_state.check_training_state`)."""
        config, model = self.config, self.model
        meta = {
            "method": config.method_cls.name, "dataset": config.dataset, "stream": config.own_stream,
            "frames": model.config.frames, "streams": list(model.backbones()), "layout": self.layout,
            "preset": asdict(self.preset), "config": model.config.to_dict(), "seed": config.seed,
            "steps_per_epoch": self.steps, "data_fingerprint": data,
            "body_selection": manifest.get("body_selection"), "preprocessing": manifest.get("preprocessing"),
            "dropout_masks": self.dropout_masks, "augment": self.augment,
        }
        if config.precision != "fp32":  # (absent for fp32: states and records of earlier runs stay valid)
            meta["precision"] = config.precision
        if self.world.distributed:  # a state of W processes resumes with W processes
            meta["processes"] = self.world.size
            meta["sync_bn"] = config.sync_bn
        return meta

    def restore(self, state: dict) -> dict | None:
        """Continue from a saved state: weights, optimizer, position, history and every generator.
        Returns the method's batch generator state to put back once the epoch restarts (None when
        the state was saved at an epoch's end, where the method reseeds it)."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch, self.step = state["position"]
        self.history, self.wall, self.sums = list(state["history"]), float(state["wall_s"]), dict(state["sums"])
        rng = state["rng_ranks"][self.world.rank] if self.world.distributed else state["rng"]
        restore_rng(rng)
        resumed = None
        if self.step >= self.steps:
            self.epoch, self.step, self.sums = self.epoch + 1, 0, {}
        else:
            resumed = rng["batch"]
        self.log.line(f"resuming {self.out.name} at epoch {self.epoch} step {self.step} of {self.steps}")
        return resumed

    def save_state(self, position: tuple[int, int]) -> None:
        """Write ``last.pt`` atomically: everything :meth:`restore` needs (every rank's generators)."""
        rng = capture_rng(self.model.batch_rng)
        ranks = distributed.gather_objects(rng)  # every rank takes part; rank 0 writes
        if not self.world.main:
            return
        state = {"format": TRAINING_FORMAT, "state_version": STATE_VERSION, "encoder": self.model.config.encoder,
                 "encoder_kwargs": self.model.config.encoder_kwargs(), "model": self.model.state_dict(),
                 "optimizer": self.optimizer.state_dict(), "position": position,
                 "epoch": position[0] - (position[1] < self.steps),
                 "sums": dict(self.sums), "history": self.history, "wall_s": self.wall, "rng": rng, "meta": self.meta}
        if self.world.distributed:
            state["rng_ranks"] = ranks
        atomic_save(state, self.last)

    def run(self) -> None:
        """Train from the current position to the last epoch, then write the run's files."""
        p = self.preset
        remaining = (p.epochs - self.epoch + 1) * self.steps - self.step
        self.bar = progress(total=max(remaining, 0), desc=f"pretrain {self.config.method_cls.name}", unit="step",
                            disable=not self.world.main)
        self.session_start, self.done_this_session = time.time(), 0
        while self.epoch <= p.epochs:
            lr = self.lr_at(self.epoch)
            self.train_epoch(lr)
            self.end_epoch(lr)
            self.epoch, self.step, self.sums = self.epoch + 1, 0, {}
        self.bar.close()
        self.finish()

    def epoch_loader(self) -> DataLoader:
        """This epoch's batches from the current step on: the epoch's order (:func:`epoch_order`), this rank's share."""
        p, seed, epoch = self.preset, self.config.seed, self.epoch
        order = epoch_order(len(self.train_split), seed, epoch)[self.step * p.batch_size : self.steps * p.batch_size]
        order = distributed.rank_share(order.numpy(), p.batch_size, self.world).tolist()
        # the generator keeps the loader off torch's global one, which dropout draws from
        return DataLoader(self.feeder, batch_size=p.batch_size // self.world.size, sampler=order, drop_last=True,
                          num_workers=self.workers, pin_memory=self.device.type == "cuda",
                          generator=torch.Generator().manual_seed(seed * 100003 + epoch))

    def train_epoch(self, lr: float) -> None:
        """The epoch's remaining steps; the training state every ``save_every`` steps inside it."""
        config, device, epoch = self.config, self.device, self.epoch
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.feeder.set_epoch(epoch)
        self.model.set_epoch(epoch, config.seed)
        if self.resumed_batch_rng is not None:
            self.model.batch_rng.bit_generator.state = self.resumed_batch_rng
            self.resumed_batch_rng = None
        loader = self.epoch_loader()
        self.model.train()
        t_last = time.time()
        for batch in loader:
            if self.on_device is None:
                views = [v.to(device, non_blocking=True) for v in batch[:-2]]
            else:  # the clips once to the device, then every view of the whole batch there
                clips = batch[0].to(device, non_blocking=True)
                gen = view_generator(config.seed, epoch, self.step, self.world.rank, device)
                views = [view(clips, gen) for view in self.on_device]
            self.train_step(views, lr)
            if config.save_every and self.step % config.save_every == 0 and self.step < self.steps:
                now_t = time.time()
                self.wall, t_last = self.wall + now_t - t_last, now_t
                self.save_state((epoch, self.step))
        self.wall += time.time() - t_last

    def train_step(self, views: list[torch.Tensor], lr: float) -> None:
        """One SGD step on one batch of views; its logs summed into the epoch's."""
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.config.precision == "bf16"):
            loss, logs = self.step_fn(views, self.epoch)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at epoch {self.epoch} step {self.step}; lower the LR")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        logs = distributed.mean_over_ranks(logs, self.device)
        for key, value in logs.items():
            self.sums[key] = self.sums.get(key, 0.0) + float(value)
        self.step += 1
        self.done_this_session += 1
        self.bar.update(1)
        self.bar.set_postfix(epoch=self.epoch, loss=f"{logs['loss']:.3f}", lr=f"{lr:g}", refresh=False)

    def end_epoch(self, lr: float) -> None:
        """The epoch's means (and the KNN monitor when due) into the history, its log line with the
        ETA, the training state, and a snapshot of the encoders when one is due."""
        config, epoch, epochs = self.config, self.epoch, self.preset.epochs
        means = {key: value / self.steps for key, value in self.sums.items()}
        every = config.monitor_every()
        if every and epoch % every == 0:
            # rank 0 computes it for all (eval mode: no random draws, no collective)
            monitor = (knn_monitor(self.model.backbone(), self.train_split, config.own_stream, self.device)
                       if self.world.main else {})
            means.update(distributed.gather_objects(monitor)[0])
            self.bar.set_postfix(epoch=epoch, knn=f"{means['knn_top1']:.1f}", refresh=False)
        self.history.append({"epoch": epoch, **means, "lr": lr})
        rate = (time.time() - self.session_start) / max(self.done_this_session, 1)
        eta = rate * ((epochs - epoch) * self.steps)
        knn = f" knn 1-NN {means['knn_top1']:.2f} (k20 {means['knn20_top1']:.2f})" if "knn_top1" in means else ""
        self.log.line(f"epoch {epoch}/{epochs} loss {means['loss']:.4f} lr {lr:g}{knn} "
                      f"elapsed {self.wall / 60:.1f} min, ETA {eta / 60:.1f} min")
        self.save_state((epoch, self.steps))
        if config.snapshot_every and epoch % config.snapshot_every == 0 and self.world.main:
            export_encoders(self.model, self.out, config.own_stream, {**self.meta, "epoch": epoch}, epoch)

    def finish(self) -> None:
        """The final encoders and ``run.json`` (rank 0), the collapse warning when the history shows one."""
        config, wall = self.config, round(self.wall, 1)
        record = {**self.meta, "epochs": self.preset.epochs, "history": self.history, "wall_s": wall,
                  "commit": git_commit(), "device": device_name(self.device),
                  **({"recompute": True} if config.recompute else {}),
                  **({"compiled": True} if config.compile_encoders else {}),
                  "command": command_line(), "finished": now()}
        warning = collapse_warning(self.history)
        if warning:
            record["warning"] = warning
        if self.world.main:
            export_encoders(self.model, self.out, config.own_stream,
                            {**self.meta, "epoch": self.preset.epochs, "wall_s": wall, "commit": record["commit"]})
            atomic_write_text(self.out / RUN_FILE, json.dumps(record, indent=2) + "\n")
        if warning:
            self.log.line(f"warning: {warning}")
        self.log.line(f"finished: {self.out / encoder_file(config.stream, config.own_stream)}")
        distributed.barrier()  # the other ranks return once rank 0 has written the run

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
