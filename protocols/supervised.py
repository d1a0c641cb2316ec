"""The one whole-network training loop the fine-tune and semi-supervised protocols share.

Both official protocols (methods.md §3.3, §3.4) train the backbone and a new Linear(256, classes)
end to end with labels, without augmentation, SGD momentum 0.9, evaluated on the test (val) part
every 5 epochs. What differs is the recipe (LR, weight decay, steps, warm-up, Nesterov,
clipping) and, for semi, the labelled subset; both are parameters of :func:`train_supervised`.

Official behaviour is the default, and each quirk that changes numbers has a named option
(methods.md §7):

* ``bn_mode="eval"``: the official processor calls ``model.eval()`` before training (§7.2), so
  BatchNorm normalises with the checkpoint's running statistics, which never change, and dropout
  is off. ``"train"`` is the usual fine-tuning: batch statistics, running averages updated,
  dropout as the encoder was built.
* ``clip``: SkeleMixCLR's configs ask for clipping the gradient norm at ``max_grad``, but the
  call sits between ``zero_grad()`` and ``backward()`` (§7.8), so it clips nothing. ``"norm"``
  does what the config asks; ``"official"`` reproduces the call where it is; ``"off"`` none.
* The reported top-1/top-5 are those of the final evaluation; the best top-1 over evaluations,
  the figure the official code prints (it selects on the test set, §7.3), is reported beside it.

A run writes its training state at the end of every epoch (atomically) into a run folder; the
same call again resumes after the last completed epoch and ends with exactly the uninterrupted
run's weights and metrics (same machine and thread count), or reuses a finished run.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from datasets.augment_batch import BatchedCameraRotation, BatchedNormalView, BatchView, view_generator
from datasets.integrity import fingerprint
from datasets.skeleton import to_stream
from datasets.store import Split, benchmark_layout
from methods.base import official_weights_init, step_decay
from methods.checkpoint import atomic_save, first_line
from methods.encoders.features import encoder_fingerprint
from methods.train.monitor import RunLog
from methods.training_state import capture_rng, move_aside, restore_rng
from protocols.common import (
    Encoder,
    ProtocolSpec,
    TestLogits,
    count_field,
    finish,
    num_classes_of,
    precise_bn,
    spec_field,
)
from protocols.linear import topk_accuracy
from utils.cli import positive_int
from utils.paths import cache_dir
from utils.progress import progress

#: Gradient clipping modes (module docstring; methods.md §7.8).
CLIPS = ("norm", "official", "off")
#: How the network runs while it trains (methods.md §7.2).
BN_MODES = ("eval", "train")
#: What the training clips go through: ``none`` (the official protocols: the clips as they are),
#: ``normal`` (the pretraining's normal view, temporal crop then shear) or ``rotate`` (a random
#: camera, ±60° about x and y: CTR-GCN's NW-UCLA feeder, for cross-view benchmarks), drawn per
#: sample on the device from a generator keyed by the step's position, so a resumed run draws the
#: same views.
AUGMENTS = ("none", "normal", "rotate")
#: The training-state layout of a protocol run (not a pretraining ``last.pt``: a protocol never
#: loads it as a checkpoint to evaluate).
STATE_FORMAT = "skelebench-protocol-training"
STATE_VERSION = 1
STATE_FILE = "last.pt"
LOG_FILE = "log.txt"
#: Batch size of the evaluation passes (no gradients; any size gives the same logits).
EVAL_BATCH = 256


@dataclass(frozen=True)
class SupervisedConfig:
    """A whole-network training recipe. The defaults are SkeleMixCLR's fine-tune config
    (methods.md §3.4); :mod:`protocols.semi` holds its semi-supervised ones (§3.3)."""

    epochs: int = 110
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    milestones: tuple[int, ...] = (50, 70, 90)
    nesterov: bool = True
    #: ``lr · epoch / warmup_epochs`` for the 1-based epochs below it (SkeleMixCLR: epochs 1–9 of 10)
    warmup_epochs: int = 10
    batch_size: int = 128
    eval_every: int = 5
    clip: str = "norm"
    max_grad: float = 5.0
    bn_mode: str = "eval"
    augment: str = "none"

    def __post_init__(self) -> None:
        if self.augment not in AUGMENTS:
            raise ValueError(f"unknown augmentation {self.augment!r}; choose {', '.join(AUGMENTS)}")
        if self.clip not in CLIPS:
            raise ValueError(f"unknown clip mode {self.clip!r}; choose {', '.join(CLIPS)}")
        if self.bn_mode not in BN_MODES:
            raise ValueError(f"unknown BN mode {self.bn_mode!r}; choose {', '.join(BN_MODES)}")
        if min(self.epochs, self.batch_size, self.eval_every) < 1 or self.warmup_epochs < 0:
            raise ValueError("epochs, batch size and evaluation interval must be at least 1, warm-up at least 0")
        if not self.max_grad > 0:
            raise ValueError(f"max_grad must be positive, got {self.max_grad}")

    def lr_at(self, epoch: int) -> float:
        """The LR of 1-based ``epoch`` as SkeleMixCLR's ``adjust_lr`` sets it (its epoch counter is
        1-based too): the linear warm-up below ``warmup_epochs``, then ×0.1 after each milestone."""
        if epoch < self.warmup_epochs:
            return self.lr * epoch / self.warmup_epochs
        return step_decay(self.lr, epoch, self.milestones)


@dataclass(frozen=True, kw_only=True)
class TrainingSpec(ProtocolSpec):
    """What the whole-network protocols (fine-tune, semi, transfer's ``--eval finetune``) add to
    :class:`ProtocolSpec`: the options of :func:`add_training_arguments` and the epochs. None is
    "the recipe's own" (each protocol's official config); ``run_dir`` None is the cache's folder
    named by the run, which a rerun resumes; ``restart`` moves an existing one aside first."""

    epochs: int | None = count_field()
    clip: str | None = spec_field(None, choices=CLIPS)
    bn_mode: str | None = spec_field(None, choices=BN_MODES)
    batch_size: int | None = count_field()
    augment: str | None = spec_field(None, choices=AUGMENTS)
    eval_every: int | None = count_field()
    run_dir: Path | None = spec_field(None, check=Path)
    restart: bool = False


def scale_schedule(config: SupervisedConfig, epochs: int | None) -> tuple[SupervisedConfig, bool]:
    """``config`` for ``epochs`` epochs: (config, scaled). The official milestones and warm-up
    belong to the official length; for another length both are scaled by ``epochs / config.epochs``
    (a milestone never below 1, so the first epoch always runs at the base LR or its warm-up)."""
    if epochs is None or epochs == config.epochs:
        return config, False
    factor = epochs / config.epochs
    milestones = tuple(max(1, round(m * factor)) for m in config.milestones)
    return replace(config, epochs=epochs, milestones=milestones, warmup_epochs=round(config.warmup_epochs * factor)), True


class Classifier(nn.Module):
    """The backbone's pooled 256-d feature into a Linear(256, classes), as the official
    fine-tune model (``pretrain=False``: the encoder's ``fc``, methods.md §3.1)."""

    def __init__(self, backbone: nn.Module, num_classes: int, feature_dim: int = 256) -> None:
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(feature_dim, num_classes)
        official_weights_init(self.fc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.backbone(x))


def epoch_batches(num_samples: int, batch_size: int, seed: int, epoch: int,
                  max_steps: int | None = None) -> list[torch.Tensor]:
    """The batches (positions into the training set) of 1-based ``epoch``: a permutation that is a
    pure function of (seed, epoch), cut as the official loader with ``drop_last``. A training set
    smaller than one batch (a 1 % subset of a small benchmark) is one batch of all its samples,
    where ``drop_last`` would train on nothing."""
    order = torch.randperm(num_samples, generator=torch.Generator().manual_seed(seed * 100003 + epoch))
    if num_samples < batch_size:
        batches = [order]
    else:
        batches = [order[s : s + batch_size] for s in range(0, num_samples - batch_size + 1, batch_size)]
    return batches[:max_steps] if max_steps else batches


def gradient_norm(parameters: list[nn.Parameter]) -> float:
    """The total L2 norm of the gradients present (0 when there are none)."""
    norms = [p.grad.detach().norm(2) for p in parameters if p.grad is not None]
    return float(torch.linalg.vector_norm(torch.stack(norms))) if norms else 0.0


def optimisation_step(model: nn.Module, optimizer: torch.optim.Optimizer, loss: torch.Tensor, clip: str,
                      max_grad: float) -> float:
    """One SGD step on ``loss``; returns the total gradient norm the step applied.

    ``clip="official"`` reproduces SkeleMixCLR's order (methods.md §7.8): ``zero_grad()``, then
    ``clip_grad_norm_``, then ``backward()``. At that point the gradients were just cleared
    (``None``, or zeros in older torch), so the call measures a norm of 0, scales nothing, and the
    gradients that ``backward()`` then produces reach ``step()`` unclipped. ``"norm"`` clips after
    ``backward()``, as the config means; ``"off"`` never calls it.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer.zero_grad()
    if clip == "official":
        nn.utils.clip_grad_norm_(params, max_grad, norm_type=2)
    loss.backward()
    if clip == "norm":
        nn.utils.clip_grad_norm_(params, max_grad, norm_type=2)
    norm = gradient_norm(params)
    optimizer.step()
    return norm


@torch.no_grad()
def predict(model: nn.Module, split: Split, stream: str, device: torch.device) -> np.ndarray:
    """Raw logits ``(N, classes)`` of every sample of ``split``, in its order, in eval mode
    (the caller puts the training mode back)."""
    model.eval()
    out = []
    for start in range(0, len(split), EVAL_BATCH):
        x = torch.from_numpy(np.array(split.data[start : start + EVAL_BATCH], dtype=np.float32)).to(device)
        out.append(model(to_stream(x, stream)).float().cpu().numpy())
    return np.concatenate(out)


def indices_sha256(indices: np.ndarray) -> str:
    """SHA-256 of a list of sample indices (as int64), what names a training subset."""
    return hashlib.sha256(np.ascontiguousarray(indices, dtype=np.int64).tobytes()).hexdigest()


def default_run_dir(meta: dict) -> Path:
    """``<cache>/protocol-runs/<protocol>-<method>-<dataset>-<stream>-<hash>``: the hash is over
    everything that makes the run this run (starting weights, data, recipe, subset, seed)."""
    key = hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:16]
    name = "-".join(str(meta.get(k, "run")) for k in ("protocol", "method", "dataset", "stream"))
    return cache_dir("protocol-runs") / f"{name}-{key}"


class StoppedEarly(Exception):
    """Raised by :func:`train_supervised` with ``stop_after`` (tests: an interruption after that
    epoch's state was saved, as a kill would leave it)."""


@dataclass
class SupervisedFit:
    """A finished whole-network run: metrics, the trained model, its test logits, and where its
    state lies. ``resumed``: this call continued an interrupted run; ``reused``: it found the run
    finished and trained nothing; ``warning``: :func:`chance_warning`'s, when the fit learnt nothing."""

    metrics: dict
    model: Classifier
    logits: TestLogits
    run_dir: Path
    resumed: bool
    reused: bool
    train_size: int
    batches_per_epoch: int
    train_wall_s: float
    warning: str | None = None


def train_supervised(backbone: nn.Module, train: Split, val: Split, num_classes: int, stream: str,
                     device: torch.device, config: SupervisedConfig = SupervisedConfig(), seed: int = 0,
                     indices: np.ndarray | None = None, identity: dict | None = None, run_dir: Path | None = None,
                     restart: bool = False, max_steps: int | None = None, stop_after: int | None = None,
                     desc: str = "finetune", coordinates: int | None = None) -> SupervisedFit:
    """Train a copy of ``backbone`` with a new Linear head on ``train`` (its ``indices`` only, when
    given) and evaluate on ``val`` every ``config.eval_every`` epochs and at the end.

    ``identity`` (protocol, method, dataset, stream, data fingerprint, ...) names the default run
    folder and is checked against a saved state; the starting weights, recipe, subset and seed are
    always part of it. ``restart`` moves an existing run folder aside first. ``max_steps`` caps the
    batches per epoch and ``stop_after`` interrupts after that epoch (tests only). With
    ``config.augment="normal"`` the shear moves the first ``coordinates`` channels only (a 2D
    layout's score stays; None: every channel)."""
    view = training_view(config.augment, coordinates)  # a bad choice fails before any run folder exists
    positions = np.arange(len(train)) if indices is None else np.asarray(indices, dtype=np.int64)
    if len(positions) == 0:
        raise ValueError("the training set is empty; nothing to train on")
    batches_per_epoch = len(epoch_batches(len(positions), config.batch_size, seed, 1, max_steps))
    meta = json.loads(json.dumps({  # what the run is, as JSON reads it back: a saved state must match it
        **(identity or {}), "backbone_sha256": encoder_fingerprint(backbone), "config": asdict(config), "seed": seed,
        "num_classes": num_classes, "stream": stream, "train_indices_sha256": indices_sha256(positions),
        "train_size": len(positions), "batches_per_epoch": batches_per_epoch, "val_size": len(val),
    }, sort_keys=True))
    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(meta)
    if restart and (moved := move_aside(run_dir)) is not None:
        print(f"--restart: moved the previous run folder to {moved}", file=sys.stderr)
    for torn in run_dir.glob(f".{STATE_FILE}.*.tmp"):  # a write a crash interrupted; the state itself is whole
        torn.unlink()
    log = RunLog(run_dir / LOG_FILE)
    torch.manual_seed(seed)
    model = Classifier(copy.deepcopy(backbone), num_classes).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=config.nesterov)
    state_path = run_dir / STATE_FILE
    epoch, curve, best_logits, last_logits, wall, finished = 1, [], None, None, 0.0, False
    if state_path.is_file():
        epoch, curve, best_logits, last_logits, wall, finished = _restore(state_path, meta, model, optimizer)
        log.line(f"{'reusing the finished' if finished else 'resuming'} run {run_dir.name}"
                 + ("" if finished else f" after epoch {epoch - 1} of {config.epochs}"))
    resumed = state_path.is_file() and not finished

    yv = torch.from_numpy(np.asarray(val.labels, dtype=np.int64))
    bar = progress(total=config.epochs, initial=epoch - 1, desc=desc, unit="epoch")
    while epoch <= config.epochs:
        t_epoch = time.time()
        lr = config.lr_at(epoch)
        for group in optimizer.param_groups:
            group["lr"] = lr
        model.train(config.bn_mode == "train")
        batches = epoch_batches(len(positions), config.batch_size, seed, epoch, max_steps)
        entry = {"epoch": epoch, **_train_epoch(model, optimizer, config, batches, train, positions, view, stream,
                                               seed, epoch, device), "lr": lr}
        if epoch % config.eval_every == 0 or epoch == config.epochs:
            last_logits = torch.from_numpy(predict(model, val, stream, device))
            entry.update(top1=topk_accuracy(last_logits, yv, 1), top5=topk_accuracy(last_logits, yv, 5))
            # ``>=`` as the official show_best: on a tie the later evaluation is the best one
            if best_logits is None or entry["top1"] >= max(c["top1"] for c in curve if "top1" in c):
                best_logits = last_logits
            best = max((c for c in curve + [entry] if "top1" in c), key=lambda c: (c["top1"], c["epoch"]))
            log.line(f"{desc} epoch {epoch}/{config.epochs}: loss {entry['loss']:.4f}, lr {lr:g}, "
                     f"top-1 {entry['top1']:.2f}, top-5 {entry['top5']:.2f} "
                     f"(best top-1 {best['top1']:.2f} at epoch {best['epoch']})")
        curve.append(entry)
        wall += time.time() - t_epoch
        _save(state_path, meta, epoch, epoch == config.epochs, model, optimizer, curve, best_logits, last_logits,
              wall)
        bar.update(1)
        last_top1 = next((f"{c['top1']:.1f}" for c in reversed(curve) if "top1" in c), "-")
        bar.set_postfix(loss=f"{entry['loss']:.3f}", top1=last_top1, refresh=False)
        if stop_after is not None and epoch == stop_after and epoch < config.epochs:
            bar.close()
            raise StoppedEarly(f"stopped after epoch {epoch}")
        epoch += 1
    bar.close()
    warning = logged_chance_warning(curve, num_classes, config.bn_mode, log)
    logits = TestLogits(np.asarray(last_logits, np.float32), np.asarray(best_logits, np.float32), val.labels,
                        list(val.names))
    return SupervisedFit(fit_metrics(curve), model.eval(), logits, run_dir, resumed, finished, len(positions),
                         batches_per_epoch, round(wall, 2), warning)


def _train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, config: SupervisedConfig, batches,
                 train: Split, positions: np.ndarray, view, stream: str, seed: int, epoch: int,
                 device: torch.device) -> dict[str, float]:
    """One epoch's SGD steps over ``batches`` (positions into ``positions``): its mean loss and gradient norm."""
    y_all = torch.from_numpy(np.asarray(train.labels, dtype=np.int64))
    losses, norms = [], []
    for step, batch in enumerate(batches):
        idx = positions[batch.numpy()]
        x = torch.from_numpy(np.asarray(train.data[idx], dtype=np.float32)).to(device, non_blocking=True)
        if view is not None:
            x = view(x, view_generator(seed, epoch, step, 0, device))
        y = y_all[idx].to(device, non_blocking=True)
        loss = F.cross_entropy(model(to_stream(x, stream)), y)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at epoch {epoch}; lower the LR")
        norms.append(optimisation_step(model, optimizer, loss, config.clip, config.max_grad))
        losses.append(float(loss.item()))
    return {"loss": sum(losses) / len(losses), "grad_norm": sum(norms) / len(norms)}


def training_view(augment: str, coordinates: int | None) -> BatchView | None:
    """The batched augmentation ``augment`` names (:data:`AUGMENTS`) for a layout whose first
    ``coordinates`` channels are coordinates (None: all); None for ``none``."""
    if augment == "normal":
        return BatchedNormalView(coordinates)
    if augment == "rotate":
        if coordinates is not None:
            raise ValueError(f"--augment rotate turns 3D coordinates; this layout has {coordinates} coordinates "
                             "and a score per joint (2D): use --augment normal or none")
        return BatchedCameraRotation()
    return None


#: A fit whose last epoch's training loss is within this fraction of ln(classes), the loss of
#: uniform predictions, learnt nothing.
CHANCE_MARGIN = 0.02
#: Epochs before a fit is judged by :func:`chance_warning` (a test's one-epoch run may still be at chance).
CHANCE_MIN_EPOCHS = 10


def chance_warning(curve: list[dict], num_classes: int, bn_mode: str) -> str | None:
    """What to tell the user when a finished fit ends with its training loss at chance level, so its
    accuracy is a constant guess's rather than a measurement of the encoder. Measured on NW-UCLA
    (semi-supervised, 10 % of the labels, batch 16, LR 0.1, from SkeletonCLR seed 0): in the official
    eval-mode BN the loss is 2.3075 at epoch 5 and 2.3040 at epoch 90 against ln 10 = 2.3026, and every
    test clip gets one class (top-1 10.56); the same run in train mode is at 51.5 by epoch 10. None
    for a fit that learnt, or one too short to tell."""
    if len(curve) < CHANCE_MIN_EPOCHS or num_classes < 2:
        return None
    chance, last = math.log(num_classes), curve[-1]["loss"]
    if abs(last - chance) > CHANCE_MARGIN * chance:
        return None
    hint = ("; it trained in eval mode, so its BN layers kept the checkpoint's statistics: try --bn-mode train"
            if bn_mode == "eval" else "; lower the LR (or the batch size's share of it) or check the data")
    return (f"the training loss ended at {last:.4f}, the chance level of {num_classes} classes (ln {num_classes} = "
            f"{chance:.4f}): the network learnt nothing and its accuracy is a constant guess's{hint}")


def logged_chance_warning(curve: list[dict], num_classes: int, bn_mode: str, log: RunLog) -> str | None:
    """:func:`chance_warning`, said on the terminal and in the run's log (as a pretraining's collapse warning)."""
    warning = chance_warning(curve, num_classes, bn_mode)
    if warning:
        log.line(f"warning: {warning}")
    return warning


def fit_metrics(curve: list[dict]) -> dict:
    """The record's metrics of a training curve: the last evaluation's top-1 and top-5 and the best
    top-1 with its epoch (the later one on a tie, as the official ``show_best``)."""
    evals = [c for c in curve if "top1" in c]
    final, best = evals[-1], max(evals, key=lambda c: (c["top1"], c["epoch"]))
    return {"top1": round(final["top1"], 2), "top5": round(final["top5"], 2), "best_top1": round(best["top1"], 2),
            "best_epoch": best["epoch"], "curve": curve}


def _save(path: Path, meta: dict, done: int, finished: bool, model: nn.Module, optimizer: torch.optim.Optimizer,
          curve: list[dict], best_logits, last_logits, wall: float) -> None:
    """Write the run's state after epoch ``done``, atomically: all :func:`_restore` needs."""
    atomic_save({"format": STATE_FORMAT, "state_version": STATE_VERSION, "meta": meta, "epoch": done,
                 "finished": finished, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "curve": curve, "best_logits": best_logits, "last_logits": last_logits, "wall_s": wall,
                 # the loop draws from no numpy generator of its own: a fixed one fills that slot
                 "rng": capture_rng()}, path)


def _restore(path: Path, meta: dict, model: nn.Module, optimizer: torch.optim.Optimizer) -> tuple:
    """Continue from a saved state: weights, optimizer and generators restored; returns the next
    epoch, the curve, the best and last logits, the wall time and whether the run had finished."""
    state = read_state(path, meta)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    restore_rng(state["rng"])
    return (int(state["epoch"]) + 1, list(state["curve"]), state["best_logits"], state["last_logits"],
            float(state["wall_s"]), bool(state["finished"]))


def read_state(path: Path, meta: dict) -> dict:
    """Load a run's state and check it is this run's; ValueError with the way out otherwise."""
    fresh = "start afresh with --restart, which moves the old run folder aside (nothing is deleted)"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for torn, truncated or foreign files
        raise ValueError(f"training state {path} is unreadable ({first_line(err)}); {fresh}") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT or state.get("state_version") != STATE_VERSION:
        raise ValueError(f"training state {path} is not a protocol run's state of this version; {fresh}")
    have = state.get("meta") or {}
    differ = sorted(k for k in set(have) | set(meta) if have.get(k) != meta.get(k))
    if differ:
        raise ValueError(f"training state {path} belongs to another run ({', '.join(differ)} differ); {fresh}")
    return state


def add_training_arguments(ap: argparse.ArgumentParser) -> None:
    """The options fine-tune and semi share (the recipe's own defaults come from each protocol)."""
    ap.add_argument("--clip", choices=CLIPS,
                    help="gradient clipping: 'norm' clips the total norm at 5 (what the official config asks), "
                         "'official' reproduces the official call, which clips nothing (methods.md §7.8), 'off'")
    ap.add_argument("--bn-mode", choices=BN_MODES,
                    help="'eval' trains in eval mode as the official code (BN statistics frozen, dropout off, "
                         "§7.2); 'train' the corrected option (default: eval, train for --checkpoint random)")
    ap.add_argument("--batch-size", type=positive_int, metavar="N",
                    help="clips per SGD step (default: the recipe's, 128); on a small benchmark the official 128 "
                         "leaves few steps per epoch (NW-UCLA: 7)")
    ap.add_argument("--augment", choices=AUGMENTS,
                    help="what the training clips go through: 'none', the clips as they are (the official protocols), "
                         "'normal', the pretraining's normal view (temporal crop, shear) per sample and step, or "
                         "'rotate', a random camera (±60° about x and y, CTR-GCN's NW-UCLA training), 3D layouts "
                         "only (default: none)")
    ap.add_argument("--eval-every", type=positive_int, metavar="N",
                    help="evaluate on the test split every N epochs and at the end (default: 5, as the official "
                         "code; training is the same whatever N, only the best-over-evaluations figure depends on it)")
    ap.add_argument("--run-dir", type=Path, help="folder of the run's training state (default: the cache's "
                    "protocol-runs/<run>); a rerun resumes it, a finished one is reused")
    ap.add_argument("--restart", action="store_true",
                    help="start afresh: move an existing run folder aside to <name>.old-<time> first")


def default_bn_mode(encoder: Encoder, requested: str | None) -> tuple[str, str]:
    """(bn_mode, why). Official is eval mode; from random init that would keep every BN layer on
    its initial statistics (mean 0, variance 1) for the whole run, since in eval mode training
    never updates them, and the official N(0, 0.02) init shrinks activations layer by layer: the
    supervised baseline would be artificially weak. So ``--checkpoint random`` trains in train mode
    unless told otherwise, and its BN statistics are never re-estimated first (training sets them)."""
    if requested is not None:
        return requested, "requested"
    if encoder.source == "random":
        return "train", "random init: eval mode would keep the BN statistics at their initial (0, 1)"
    return "eval", "official"


def coordinate_channels(manifest: dict) -> int | None:
    """The channels a shear may move in this benchmark's layout: None where every channel is a
    coordinate, else the count before the score (2D layouts)."""
    layout = benchmark_layout(manifest)
    return None if layout.coordinate_channels == layout.num_channels else layout.coordinate_channels


def run_protocol(spec: TrainingSpec, device: torch.device, encoder: Encoder, t0: float, protocol: str,
                 parts: tuple[Path, Split, Split, dict], frames: int, config: SupervisedConfig,
                 protocol_config: dict, indices: np.ndarray | None = None) -> dict:
    """Train and write the record: what fine-tune, semi and transfer (``--eval finetune``) share
    after they have chosen the recipe (and the subset)."""
    folder, train, val, manifest = parts
    if spec.bn == "precise":  # never for random init by default: training sets them
        precise_bn(encoder, train, spec.stream, device, force=True)
    num_classes = num_classes_of(manifest, train, val)
    identity = {"protocol": protocol, "method": spec.method, "dataset": spec.dataset,
                "data_fingerprint": fingerprint(manifest)}
    fit = train_supervised(encoder.module, train, val, num_classes, spec.stream, device, config, spec.seed, indices,
                           identity, spec.run_dir, spec.restart,
                           desc=f"{protocol} {spec.method}", coordinates=coordinate_channels(manifest))
    record_config = {**protocol_config, **asdict(config), "num_classes": num_classes, "train_size": fit.train_size,
                     "batches_per_epoch": fit.batches_per_epoch,
                     "single_batch": fit.train_size < config.batch_size, "run_dir": str(fit.run_dir),
                     "resumed": fit.resumed, "reused": fit.reused, "train_wall_s": fit.train_wall_s}
    return finish(spec, protocol, encoder, folder, manifest, frames, fit.metrics, record_config, time.time() - t0,
                  device, logits=fit.logits, warning=fit.warning)
