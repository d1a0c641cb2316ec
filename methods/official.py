"""State dicts of the official repositories: which key layout one has, and its query backbone
under the suite's names.

The official code (SkeletonCLR/CrosSCLR, AimCLR, SkeleMixCLR, all on the torchlight framework)
saves ``model.state_dict()`` with ``io.save_model``: a plain OrderedDict of CPU tensors with any
``module.`` prefix removed, so it loads with ``weights_only=True`` (methods.md §6). Its encoder is
the reduced ST-GCN that :class:`~methods.encoders.stgcn.STGCN` implements (methods.md §1.1) and
whose tensors carry the official names but one: the list of blocks, ``st_gcn_networks`` here,
``blocks`` there. ``fc`` is the projection head of a pretraining checkpoint or the classifier of
a linear-evaluation one, never part of the backbone, so it is dropped.

Everything here is strict on purpose. The official linear evaluation loads a pretraining
checkpoint with prefix ``ignore_weights`` and silently keeps the random initialisation of any
tensor whose name does not match (methods.md §6). Here a state dict is accepted only in one of
the :data:`CHECKPOINT_FORMATS`, with a graph the suite knows, and its loader
(:func:`methods.checkpoint.load_state_strict`) demands every backbone tensor at its shape.

Pure functions of a state dict (no files): :func:`detect_format`, :func:`official_backbone`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch

from datasets.graph import GRAPHS, build_graph
from datasets.skeleton import STREAMS

#: Where the blocks live in the official ST-GCN and in the suite's.
OFFICIAL_BLOCKS, SUITE_BLOCKS = "st_gcn_networks.", "blocks."
#: The first graph convolution, ``(K·hidden, in, 1, 1)``: it gives the hidden width.
FIRST_CONV = "st_gcn_networks.0.gcn.conv.weight"
#: CrosSCLR 3-views keeps one query encoder per stream (``CR:net/crossclr_3views.py``, methods.md §2.2).
CROSSCLR_STREAMS = {"joint": "encoder_q.", "motion": "encoder_q_motion.", "bone": "encoder_q_bone."}


@dataclass(frozen=True)
class CheckpointFormat:
    """A key layout of official checkpoints, recognised by the top-level names of its keys (the
    part before the first dot): all of ``required`` present, nothing beyond ``optional``."""

    name: str
    saved_by: str
    required: tuple[str, ...]
    #: Key prefix of the query backbone (the joint one of a multi-stream layout; "" for a bare ST-GCN).
    backbone: str
    #: Multi-stream layouts only: stream → key prefix of that stream's query backbone.
    streams: Mapping[str, str] = field(default_factory=dict)
    optional: tuple[str, ...] = ()

    def matches(self, names: set[str]) -> bool:
        return set(self.required) <= names <= set(self.required) | set(self.optional)

    def prefix(self, stream: str | None) -> str:
        """Key prefix of the backbone to load. A single-stream checkpoint does not say which stream
        it was trained on (SkeletonCLR trains joint, motion and bone encoders in separate runs with
        the same keys), so ``stream`` cannot be checked there and is ignored."""
        if not self.streams:
            return self.backbone
        return self.streams[stream or "joint"]

    def describe(self) -> str:
        extra = f" + optional {', '.join(self.optional)}" if self.optional else ""
        return f"{self.saved_by} [keys {', '.join(self.required)}{extra}]"


_CROSSCLR_QUEUES = ("queue", "queue_ptr", "queue_motion", "queue_ptr_motion", "queue_bone", "queue_ptr_bone")

#: The official layouts the suite reads (key lists: tests/data/official_checkpoint_keys/).
CHECKPOINT_FORMATS: tuple[CheckpointFormat, ...] = (
    # SkeleMixCLR v1 (``SM:net/skeletonclr_swap.py``) also keeps the GT labels of its queue in
    # ``queue_label``, only to log mining accuracy (methods.md §2.4).
    CheckpointFormat("moco-pretrain", "SkeletonCLR, AimCLR, SkeleMixCLR or SkeleMixCLR+ pretraining",
           ("encoder_q", "encoder_k", "queue", "queue_ptr"), "encoder_q.", optional=("queue_label",)),
    CheckpointFormat("crossclr-3views-pretrain", "CrosSCLR 3-views pretraining",
           ("encoder_q", "encoder_k", "encoder_q_motion", "encoder_k_motion", "encoder_q_bone", "encoder_k_bone",
            *_CROSSCLR_QUEUES), "encoder_q.", CROSSCLR_STREAMS),
    CheckpointFormat("moco-eval", "SkeletonCLR, AimCLR or SkeleMixCLR linear evaluation / fine-tuning (pretrain=False)",
           ("encoder_q",), "encoder_q."),
    CheckpointFormat("crossclr-3views-eval", "CrosSCLR 3-views linear evaluation (pretrain=False)",
           ("encoder_q", "encoder_q_motion", "encoder_q_bone"), "encoder_q.", CROSSCLR_STREAMS),
    CheckpointFormat("st-gcn", "a bare ST-GCN net.st_gcn.Model, e.g. a linear-evaluation or fine-tuned classifier",
           ("st_gcn_networks",), "", optional=("A", "data_bn", "edge_importance", "fc")),
)


def check_stream(stream: str | None) -> None:
    """Refuse a stream name the suite does not have (``None``: the file's default)."""
    if stream is not None and stream not in STREAMS:
        raise ValueError(f"unknown stream {stream!r}; choose one of {', '.join(STREAMS)}")


def query_prefix(keys: Iterable[str], stream: str | None) -> str:
    """Key prefix of the query backbone of ``stream`` in a MoCo state dict with the official names,
    which the suite's own training checkpoints keep (methods/crossclr.py): one per stream where
    ``encoder_q_motion``/``encoder_q_bone`` exist (CrosSCLR 3-views), else ``encoder_q.`` whatever
    ``stream`` says."""
    check_stream(stream)
    if any(key.startswith(("encoder_q_motion.", "encoder_q_bone.")) for key in keys):
        return CROSSCLR_STREAMS[stream or "joint"]
    return "encoder_q."


def accepted_formats() -> str:
    """One line per official layout, for error messages."""
    return "; ".join(fmt.describe() for fmt in CHECKPOINT_FORMATS)


def strip_module_prefix(state: Mapping[str, object]) -> dict[str, object]:
    """Drop a ``module.`` that DataParallel left on every key (torchlight removes it; a plain
    ``torch.save(model.state_dict())`` of a wrapped model does not)."""
    if state and all(str(key).startswith("module.") for key in state):
        return {key[len("module."):]: value for key, value in state.items()}
    return dict(state)


def detect_format(state: Mapping[str, object], source: str = "state dict") -> CheckpointFormat:
    """The official layout of ``state`` (``module.`` already stripped), or a ValueError that lists
    what the suite accepts."""
    names = {str(key).split(".", 1)[0] for key in state}
    for fmt in CHECKPOINT_FORMATS:
        if fmt.matches(names):
            return fmt
    shown = ", ".join(sorted(names)[:12]) + (", ..." if len(names) > 12 else "")
    raise ValueError(
        f"{source} is not in a layout SkeleBench knows (top-level keys: {shown or 'none'}). Accepted: a SkeleBench "
        f"checkpoint ('format': skelebench-encoder or skelebench-training), or an official state dict: "
        f"{accepted_formats()}"
    )


def graph_of(a: torch.Tensor, source: str = "state dict", key: str = "A") -> str:
    """Name of the suite graph equal to the adjacency buffer ``a``: ST-GCN spatial for
    SkeletonCLR/CrosSCLR/AimCLR, 2s-AGCN for SkeleMixCLR (methods.md §1.2). The graph is not a
    learned weight but fixes what the encoder computes, so an unknown one is refused rather than
    replaced by the suite's."""
    for name in GRAPHS:
        known = torch.from_numpy(build_graph(name))
        if tuple(a.shape) == tuple(known.shape) and torch.allclose(a.float(), known, atol=1e-6):
            return name
    raise ValueError(
        f"{source}: its graph {key} (shape {tuple(a.shape)}) is none of the graphs SkeleBench knows: "
        f"{', '.join(GRAPHS)} (ST-GCN spatial partition with max_hop 1; 2s-AGCN identity/inward/outward), "
        "both (3, 25, 25) on the NTU joints"
    )


def to_suite_names(backbone: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Official ST-GCN keys (no prefix) → the suite's STGCN keys; ``fc.*`` (head or classifier) dropped."""
    out = {}
    for key, value in backbone.items():
        if key.startswith("fc."):
            continue
        if key.startswith(OFFICIAL_BLOCKS):
            key = SUITE_BLOCKS + key[len(OFFICIAL_BLOCKS):]
        out[key] = value
    return out


def official_name(key: str, prefix: str) -> str:
    """Inverse of :func:`to_suite_names` for one key, so error messages name the checkpoint's tensor."""
    if key.startswith(SUITE_BLOCKS):
        key = OFFICIAL_BLOCKS + key[len(SUITE_BLOCKS):]
    return prefix + key


@dataclass(frozen=True)
class OfficialBackbone:
    """The query backbone found in an official state dict, ready for ``build_encoder("stgcn", ...)``."""

    checkpoint_format: CheckpointFormat
    prefix: str
    graph: str
    hidden_channels: int
    state: dict[str, torch.Tensor]

    def encoder_kwargs(self) -> dict:
        """Input 3 and output 256 are the suite's contract; a checkpoint with others is refused
        by shape when loaded."""
        return {"graph": self.graph, "hidden_channels": self.hidden_channels}

    def official_name(self, key: str) -> str:
        return official_name(key, self.prefix)


def official_backbone(state: Mapping[str, object], stream: str | None = None,
                      source: str = "state dict") -> OfficialBackbone:
    """The query backbone of ``stream`` in an official state dict, under the suite's names.

    For CrosSCLR 3-views, the joint encoder unless ``stream`` is "motion" or "bone"; for a
    single-stream layout ``stream`` is ignored (:meth:`CheckpointFormat.prefix`). The graph is read from
    the checkpoint's ``A`` and the hidden width from the first graph convolution, so a wider
    ST-GCN still loads; the queue's size plays no part. Shapes are checked when loading.
    """
    check_stream(stream)
    state = strip_module_prefix(state)
    fmt = detect_format(state, source)
    prefix = fmt.prefix(stream)
    backbone = {key[len(prefix):]: value for key, value in state.items() if key.startswith(prefix)}
    for key in ("A", FIRST_CONV):
        if not isinstance(backbone.get(key), torch.Tensor):
            raise ValueError(f"{source} ({fmt.saved_by} layout) lacks {prefix}{key}, which every official "
                             "ST-GCN saves")
    a, first = backbone["A"], backbone[FIRST_CONV]
    graph = graph_of(a, source, prefix + "A")
    partitions = a.shape[0]
    if first.dim() != 4 or first.shape[0] % partitions:
        raise ValueError(f"{source}: {prefix}{FIRST_CONV} has shape {tuple(first.shape)}; an ST-GCN over "
                         f"{partitions} partitions expects ({partitions}·hidden, 3, 1, 1)")
    return OfficialBackbone(fmt, prefix, graph, first.shape[0] // partitions, to_suite_names(backbone))
