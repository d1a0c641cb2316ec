"""The MoCo core every method of the registry shares (methods.md §2.0).

A method subclasses :class:`MoCoMethod` and adds only what is unique to it: its views, its
``training_step`` and its defaults. The base owns the query/key encoders and projection heads,
the queue, the momentum update, the official weight init, and the optimiser recipe.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from datasets.feeder import ViewFn
from datasets.skeleton import to_stream
from methods.distributed import gather
from methods.encoders import build_encoder, encoder_class


def step_decay(lr: float, epoch: int, milestones: tuple[int, ...]) -> float:
    """The LR of 1-based ``epoch`` under step decay: ×0.1 for every milestone it is past. The one
    schedule the official pretraining, linear and fine-tune code share (each its own ``adjust_lr``),
    so a change of rule is made once."""
    return lr * 0.1 ** sum(epoch > m for m in milestones)


@dataclass(frozen=True)
class Preset:
    """An optimisation recipe, identified by its numbers alone. ``paper`` is the official one;
    ``quick`` fits the embedded data on a CPU and ``cpu`` a small real benchmark (why each differs
    from the paper: :mod:`methods.presets`, and the method's docstring for its own override). An
    encoder other than ST-GCN trains each with its own optimiser (:func:`methods.presets.for_encoder`)."""

    name: str
    epochs: int
    batch_size: int
    lr: float
    milestones: tuple[int, ...]
    queue_size: int
    key_momentum: float
    weight_decay: float = 1e-4
    sgd_momentum: float = 0.9
    nesterov: bool = False
    key_init: str | None = None  # overrides MethodConfig.key_init when set
    temperature: float | None = None  # overrides MethodConfig.temperature when set (quick recipes only)
    mining_epoch: int = 0  # CrosSCLR/AimCLR mine neighbours for epochs > this (0: never)
    #: ``sgd`` (every paper's) or a timm optimiser name (``adamw``: the transformer's recipe).
    optimizer: str = "sgd"
    #: ``step`` (:func:`step_decay` at ``milestones``) or ``cosine`` (timm's, after ``warmup_epochs``).
    schedule: str = "step"
    warmup_epochs: int = 0
    #: method options (``MethodConfig.extra``) this recipe sets, as ``((key, value), ...)``: a named
    #: per-method override of one recipe (CrosSCLR's ``cpu``), below ``--option`` and above the defaults.
    options: tuple[tuple[str, object], ...] = ()

    def options_with(self, asked: dict | None) -> dict:
        """The method options a run trains with: the recipe's own, then those asked (``--option``)."""
        return {**dict(self.options), **(asked or {})}

    def lr_at(self, epoch: int) -> float:
        """:func:`step_decay` of the recipe's LR (the official ``adjust_lr``); a ``cosine`` schedule
        is timm's and lives with the optimiser (:func:`methods.train.loop.epoch_lrs`)."""
        return step_decay(self.lr, epoch, self.milestones)


@dataclass(frozen=True)
class MethodConfig:
    """Architecture and loss constants of a method (not the optimisation recipe)."""

    frames: int = 50
    encoder: str = "stgcn"
    graph: str = "stgcn_spatial"
    hidden_channels: int = 16
    out_channels: int = 256
    dropout: float = 0.5
    feature_dim: int = 128
    head: str = "mlp"  # "mlp": Linear-ReLU-Linear; "mlp_bn": Linear-BN-ReLU-Linear (SkeleMixCLR)
    temperature: float = 0.07
    stream: str = "joint"
    key_init: str = "official"  # "official": independent re-init of the key encoder (§7.1); "copy": MoCo paper
    extra: dict = field(default_factory=dict)
    #: Skeleton layout of the data (datasets.layouts): the encoder's graph and input width, the bone
    #: pairs, the flip, SkeleMix's parts. Pretraining and the protocols set it from the benchmark.
    layout: str = "ntu25"

    def encoder_kwargs(self) -> dict:
        """The constructor arguments of ``encoder``: the fields it is built from (its ``config_fields``)."""
        return {name: getattr(self, name) for name in encoder_class(self.encoder).config_fields}

    def to_dict(self) -> dict:
        return asdict(self)


def projection_head(kind: str, in_dim: int = 256, feature_dim: int = 128) -> nn.Sequential:
    """The MLP that replaces the encoder's fc during pretraining (methods.md §1.1)."""
    if kind == "mlp":
        return nn.Sequential(nn.Linear(in_dim, in_dim), nn.ReLU(inplace=True), nn.Linear(in_dim, feature_dim))
    if kind == "mlp_bn":
        return nn.Sequential(nn.Linear(in_dim, in_dim), nn.BatchNorm1d(in_dim), nn.ReLU(inplace=True),
                             nn.Linear(in_dim, feature_dim))
    raise ValueError(f"unknown projection head {kind!r}; choose mlp or mlp_bn")


def official_weights_init(module: nn.Module) -> None:
    """Conv/Linear weights N(0, 0.02) and zero bias; BatchNorm γ N(1, 0.02), β 0 (§7.1)."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def build_backbone(config: MethodConfig) -> nn.Module:
    """The method's backbone with the official init, as linear evaluation builds it."""
    encoder = build_encoder(config.encoder, **config.encoder_kwargs())
    encoder.apply(official_weights_init)
    return encoder


def init_query_key(pairs: Sequence[tuple[nn.Module, nn.Module]], key_init: str) -> None:
    """Initialise (query, key) module pairs and freeze the key side.

    ``official``: every module gets its own N(0, 0.02) draw, because the official processor
    re-initialises the whole model *after* the q→k copy (methods.md §7.1), so the key encoder
    starts from a different random init. ``copy``: the key is a copy of the query (MoCo paper).
    A module shared by several pairs (CrosSCLR's head) is simply initialised more than once.
    """
    if key_init not in ("official", "copy"):
        raise ValueError(f"unknown key_init {key_init!r}; choose official or copy")
    for q, k in pairs:
        q.apply(official_weights_init)
        if key_init == "official":
            k.apply(official_weights_init)
        else:
            k.load_state_dict(q.state_dict())
        for p in k.parameters():
            p.requires_grad = False


def random_queue(feature_dim: int, size: int) -> torch.Tensor:
    """``randn(D, K)`` with L2-normalised columns, the official initial queue (methods.md §2.0)."""
    return F.normalize(torch.randn(feature_dim, size), dim=0)


class MoCoMethod(nn.Module, metaclass=abc.ABCMeta):
    """Query encoder + head, key encoder + head (EMA, no gradients), and a queue of keys.

    Buffers keep the official names (``queue``, ``queue_ptr``; a method with more queues adds
    ``queue_<stream>``/``queue_ptr_<stream>`` with :meth:`register_queue`), so training states
    map onto the official checkpoints key for key. Batch-level randomness (SkeleMix regions,
    partners) comes from :attr:`batch_rng`, reseeded by :meth:`set_epoch` at each epoch so a
    resumed run draws what an uninterrupted one would.
    """

    name: str = ""
    #: The method as papers and tables name it (SkeleMixCLR+ for ``skelemixclr``).
    title: str = ""
    default_config = MethodConfig()
    presets: dict[str, Preset] = {}
    #: Streams a multi-stream method trains in one run (CrosSCLR); empty: the one of ``config.stream``.
    streams: tuple[str, ...] = ()
    #: Epochs of the method's official linear-evaluation config (methods.md §3.1: 100 for CrosSCLR
    #: and AimCLR, 150 for SkeleMixCLR; ×0.1 after epoch 80 in all).
    linear_epochs: int = 100

    def __init__(self, config: MethodConfig | None = None, queue_size: int = 32768, key_momentum: float = 0.999,
                 mining_epoch: int = 0) -> None:
        super().__init__()
        self.config = config or self.default_config
        self.key_momentum = key_momentum
        self.mining_epoch = mining_epoch
        self.queue_size = queue_size
        self.batch_rng = np.random.default_rng(0)
        c = self.config
        self.encoder_q = build_encoder(c.encoder, **c.encoder_kwargs())
        self.head_q = projection_head(c.head, c.out_channels, c.feature_dim)
        self.encoder_k = copy.deepcopy(self.encoder_q)
        self.head_k = copy.deepcopy(self.head_q)
        init_query_key(((self.encoder_q, self.encoder_k), (self.head_q, self.head_k)), c.key_init)
        self.register_queue()

    # ------------------------------------------------------------------ pieces methods use
    @classmethod
    def from_preset(cls, preset: Preset, **config_overrides) -> MoCoMethod:
        if preset.key_init is not None:
            config_overrides = {"key_init": preset.key_init, **config_overrides}
        if preset.temperature is not None:
            config_overrides = {"temperature": preset.temperature, **config_overrides}
        config = replace(cls.default_config, **config_overrides)
        return cls(config, queue_size=preset.queue_size, key_momentum=preset.key_momentum,
                   mining_epoch=preset.mining_epoch)

    def register_queue(self, suffix: str = "") -> None:
        """Add the buffers ``queue<suffix>`` (D, K) and ``queue_ptr<suffix>`` (official names)."""
        self.register_buffer(f"queue{suffix}", random_queue(self.config.feature_dim, self.queue_size))
        self.register_buffer(f"queue_ptr{suffix}", torch.zeros(1, dtype=torch.long))

    def set_epoch(self, epoch: int, seed: int = 0) -> None:
        """Reseed the batch-level generator for 1-based ``epoch`` (called by pretraining)."""
        self.batch_rng = np.random.default_rng([seed, epoch, 7919])

    def mining(self, epoch: int) -> bool:
        """Whether 1-based ``epoch`` is in the mining phase (official ``epoch > mining_epoch``;
        ``mining_epoch`` 0 means never)."""
        return bool(self.mining_epoch) and epoch > self.mining_epoch

    @abc.abstractmethod
    def views(self) -> Sequence[ViewFn]:
        """The augmented views the feeder must return for each sample."""

    def stream(self, x: torch.Tensor) -> torch.Tensor:
        return to_stream(x, self.config.stream, self.config.layout)

    def query(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised projection of the query encoder."""
        return F.normalize(self.head_q(self.encoder_q(x)), dim=1)

    @torch.no_grad()
    def key(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised projection of the key encoder (train mode, batch statistics; no shuffle-BN)."""
        return F.normalize(self.head_k(self.encoder_k(x)), dim=1)

    @torch.no_grad()
    def momentum_update(self, pairs: Sequence[tuple[nn.Module, nn.Module]] | None = None) -> None:
        """``k ← m·k + (1−m)·q`` over the (query, key) pairs, by default this method's backbone
        and head; called before computing keys (methods.md §2.0)."""
        m = self.key_momentum
        if pairs is None:
            pairs = ((self.encoder_q, self.encoder_k), (self.head_q, self.head_k))
        for q_mod, k_mod in pairs:
            for pq, pk in zip(q_mod.parameters(), k_mod.parameters()):
                pk.mul_(m).add_(pq.detach(), alpha=1.0 - m)

    def queue_of(self, suffix: str = "") -> torch.Tensor:
        """A detached copy of the queue, as the loss must see it before this step's enqueue."""
        return getattr(self, f"queue{suffix}").clone().detach()

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor, suffix: str = "") -> None:
        """Write ``keys`` (N, D) at the pointer of ``queue<suffix>``; the queue size must be a multiple
        of N (the official ``update_ptr`` asserts it; the loader drops the last partial batch).
        Under data parallelism the keys of every rank are gathered first (in rank order), so each
        rank's queue receives the whole global batch (:mod:`methods.distributed`)."""
        local = keys.shape[0]
        keys = gather(keys)
        queue, ptr_buf = getattr(self, f"queue{suffix}"), getattr(self, f"queue_ptr{suffix}")
        size = queue.shape[1]
        n = keys.shape[0]
        if size % n:
            ranks = f" ({n // local} processes × {local})" if n != local else ""
            raise ValueError(f"queue size {size} is not a multiple of the batch size {n}{ranks}")
        ptr = int(ptr_buf)
        queue[:, ptr : ptr + n] = keys.T
        ptr_buf[0] = (ptr + n) % size

    def backbone(self) -> nn.Module:
        """The query backbone of the method's own stream: what protocols evaluate."""
        return self.encoder_q

    def backbones(self) -> dict[str, nn.Module]:
        """Every stream's query backbone, for export; CrosSCLR trains three at once."""
        return {self.config.stream: self.backbone()}

    @abc.abstractmethod
    def training_step(self, views: Sequence[torch.Tensor], epoch: int) -> tuple[torch.Tensor, dict[str, float]]:
        """Loss of one batch of views at 1-based ``epoch``, and scalars to log."""

    def forward(self, views: Sequence[torch.Tensor], epoch: int) -> tuple[torch.Tensor, dict[str, float]]:
        """:meth:`training_step`: the call ``DistributedDataParallel`` wraps to average gradients."""
        return self.training_step(views, epoch)
