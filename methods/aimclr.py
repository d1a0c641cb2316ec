"""AimCLR: extreme augmentation, EADM, D³M and nearest-neighbour mining (methods.md §2.3; AimCLR repository).

Three views of each sample: an extreme view (crop, shear, then flip/rotate/noise/blur/mask,
``datasets.augment.make_extreme_view``), a normal query view and a normal key view. One stream
(joint, motion or bone) is trained per run, computed after augmentation. The extreme view goes
once through the query backbone; its final feature map is pooled as it is (``q_e``) and after the
energy-based attention-guided drop (EADM, ``q_ed``), both through the query head. The loss is
InfoNCE of the normal query plus the dual distributional divergence (D³M) of ``q_e`` and ``q_ed``
from the normal query's distribution over [key, queue]; after ``mining_epoch`` the InfoNCE takes
the top-1 queue neighbours of all three queries as extra positives (NNM). Only the key is enqueued.

Official behaviour is the default; the corrected or older forms are options in
``MethodConfig.extra`` (:data:`DEFAULT_OPTIONS`): ``normalise_blur`` (the official blur kernel is
un-normalised), ``log_softmax`` (the official D³M takes ``log(softmax)``), and ``extreme_chain``
for the temporal flip (``datasets.augment.EXTREME_CHAIN_WITH_TIME_FLIP``, the official option, or
``FIRST_RELEASE_CHAIN``, the first release). The EADM mask had a no-op bug before 2022-03-31 that the
paper's numbers may stem from; the fixed version is the default, ``drop_threshold=math.inf``
reproduces the no-op (methods.md §2.3).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from datasets.augment import DEFAULT_EXTREME_CHAIN, make_extreme_view, make_normal_view
from datasets.feeder import ViewFn
from datasets.layouts import get_layout
from methods.base import MethodConfig, MoCoMethod, Preset
from methods.losses import moco_logits, multi_positive_nce, topk_positive_mask
from methods.presets import PAPER_MINING_150, quick_preset, with_cpu_preset

#: EADM threshold: the official ``Simam_Drop(keep_prob=0.7)``; attention ≥ it is dropped.
DROP_THRESHOLD = 0.7
#: SimAM's λ in the energy denominator (official ``e_lambda``).
SIMAM_LAMBDA = 1e-4

#: Options of ``MethodConfig.extra``; the defaults are the official code (methods.md §2.3).
DEFAULT_OPTIONS: dict = {
    "extreme_chain": DEFAULT_EXTREME_CHAIN,  # aug_method digits; see datasets.augment.ExtremeView
    "normalise_blur": False,  # True: the corrected, normalised blur kernel
    "log_softmax": False,  # True: D³M with log_softmax instead of the official log(softmax)
    "drop_threshold": DROP_THRESHOLD,  # math.inf: the pre-2022-03-31 no-op EADM (q_ed = q_e), paper era
    "topk": 1,  # NNM neighbours per query view
}


# ------------------------------------------------------------------------------------ EADM
def simam_attention(x: torch.Tensor, e_lambda: float = SIMAM_LAMBDA) -> torch.Tensor:
    """SimAM energy attention of a feature map ``(N·M, C, T', V)``: per (sample, channel),
    ``sigmoid((x−μ)² / (4·(Σ(x−μ)²/(T'V−1) + λ)) + 0.5)`` with μ the mean over (T', V). Values lie in
    [sigmoid(0.5), 1) ≈ [0.622, 1) (methods.md §2.3)."""
    n = x.shape[2] * x.shape[3] - 1
    d = (x - x.mean(dim=(2, 3), keepdim=True)).pow(2)
    return torch.sigmoid(d / (4 * (d.sum(dim=(2, 3), keepdim=True) / n + e_lambda)) + 0.5)


def _keep_and_rescale(attention: torch.Tensor, threshold: float) -> torch.Tensor:
    """0 where ``attention ≥ threshold`` (dropped), else ``numel/Σkeep`` over the whole batch.

    The official code divides by the kept count unguarded; when a batch drops everything that is
    0·∞ = NaN. Here the count is clamped to ≥ 1, so an all-dropped map becomes all zeros
    (methods.md §7 item 6)."""
    keep = (attention < threshold).to(attention.dtype)
    return keep * (keep.numel() / keep.sum().clamp_min(1.0))


def spatial_drop(x: torch.Tensor, attention: torch.Tensor, threshold: float = DROP_THRESHOLD) -> torch.Tensor:
    """Drop the joints whose attention, averaged over (C, T'), is ≥ ``threshold`` — the *high*
    attention ones — in every channel and frame, and rescale by the batch-global numel/sum."""
    scale = _keep_and_rescale(attention.mean(dim=(1, 2)), threshold)  # (N·M, V)
    return x * scale[:, None, None, :]


def temporal_drop(x: torch.Tensor, attention: torch.Tensor, threshold: float = DROP_THRESHOLD) -> torch.Tensor:
    """Drop every element whose attention is ≥ ``threshold``, rescaled by numel/sum. The official
    code works on the ``(N·M, C·V, T')`` reshape (its "temporal" drop); the mask is element-wise,
    so the reshape is kept only to mirror it."""
    nm, c, t, v = x.shape
    flat = x.permute(0, 1, 3, 2).reshape(nm, c * v, t)
    scale = _keep_and_rescale(attention.permute(0, 1, 3, 2).reshape(nm, c * v, t), threshold)
    return (flat * scale).view(nm, c, v, t).permute(0, 1, 3, 2)


def attention_drop(x: torch.Tensor, threshold: float = DROP_THRESHOLD, e_lambda: float = SIMAM_LAMBDA) -> torch.Tensor:
    """EADM (official ``Simam_Drop``, after the no-op fix of 2022-03-31): spatial drop, then the
    element drop, both with masks from the attention of the *input* feature map.

    The attention is computed on ``x.detach()``: the official in-place masking overwrites every
    entry with a constant, so no gradient flows through the mask there either."""
    att = simam_attention(x.detach(), e_lambda)
    return temporal_drop(spatial_drop(x, att, threshold), att, threshold)


# ---------------------------------------------------------------------------- D³M and NNM
def d3m_loss(target_logits: torch.Tensor, logits: torch.Tensor, use_log_softmax: bool = False) -> torch.Tensor:
    """``−mean Σ p·log softmax(logits)`` with ``p = softmax(target_logits)`` detached: the divergence
    of an extreme query's distribution over [key, queue] from the normal query's (methods.md §2.3).

    The official code takes ``torch.log(softmax(...))``, which underflows to −∞ for tiny
    probabilities (fp16/AMP); ``use_log_softmax=True`` is the stable, mathematically equal form."""
    p = F.softmax(target_logits.detach(), dim=1)
    log_q = F.log_softmax(logits, dim=1) if use_log_softmax else torch.log(F.softmax(logits, dim=1))
    return -(p * log_q).sum(dim=1).mean()


def nnm_mask(logits: Sequence[torch.Tensor], k: int = 1) -> torch.Tensor:
    """NNM positive mask over [key, queue]: the own key ∪ the top-``k`` queue entries of each query
    view's ``[l_pos, l_neg]/T`` logits (methods.md §2.3). Top-k on ``l_neg/T`` picks the same entries
    as the official top-k on the raw cosines, since T > 0."""
    masks = [topk_positive_mask(lg[:, 1:].detach(), k) for lg in logits]
    return torch.stack(masks).amax(dim=0)


# ---------------------------------------------------------------------------------- method
class AimCLR(MoCoMethod):
    name = "aimclr"
    title = "AimCLR"
    default_config = MethodConfig(frames=50, graph="stgcn_spatial", head="mlp", temperature=0.07,
                                  extra=dict(DEFAULT_OPTIONS))
    presets: dict[str, Preset] = with_cpu_preset({
        "paper": PAPER_MINING_150,
        "quick": quick_preset(mining=True),
    })

    def __init__(self, config: MethodConfig | None = None, queue_size: int = 32768, key_momentum: float = 0.999,
                 mining_epoch: int = 0) -> None:
        super().__init__(config, queue_size, key_momentum, mining_epoch)
        unknown = set(self.config.extra) - set(DEFAULT_OPTIONS)
        if unknown:
            raise ValueError(f"unknown AimCLR options {sorted(unknown)}; known: {', '.join(DEFAULT_OPTIONS)}")
        self.options = {**DEFAULT_OPTIONS, **self.config.extra}
        layout = get_layout(self.config.layout)
        if "1" in self.options["extreme_chain"] and layout.mirror == tuple(range(layout.num_joints)):
            # the spatial flip is AimCLR's left/right re-indexing (methods.md §2.3); without left and
            # right joints it would silently be the identity
            raise ValueError(f"AimCLR's spatial flip needs left/right joints; layout {layout.name!r} has none "
                             "(drop digit 1 from --option extreme_chain=...)")

    def views(self) -> tuple[ViewFn, ViewFn, ViewFn]:
        """(extreme query, normal query, key): the official ``Feeder_triple`` order."""
        extreme = make_extreme_view(self.options["extreme_chain"], self.options["normalise_blur"], self.config.layout)
        normal = make_normal_view(self.config.layout)
        return (extreme, normal, normal)

    def extreme_queries(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(q_e, q_ed)``: one forward of the extreme view, pooled without and with EADM, both
        through the query head and L2-normalised (official ``encoder_q(im_q_extreme, drop=True)``)."""
        fmap = self.encoder_q.feature_map(x)
        persons = x.shape[-1]
        dropped = attention_drop(fmap, self.options["drop_threshold"])
        return tuple(F.normalize(self.head_q(self.encoder_q.pool(f, persons)), dim=1) for f in (fmap, dropped))

    def training_step(self, views: Sequence[torch.Tensor], epoch: int) -> tuple[torch.Tensor, dict[str, float]]:
        x_e, x_q, x_k = (self.stream(v) for v in views[:3])
        t = self.config.temperature
        q = self.query(x_q)
        q_e, q_ed = self.extreme_queries(x_e)
        self.momentum_update()
        k = self.key(x_k)
        queue = self.queue_of()
        logits, logits_e, logits_ed = (moco_logits(z, k, queue, t) for z in (q, q_e, q_ed))
        mining = self.mining(epoch)
        if mining:
            mask = nnm_mask((logits, logits_e, logits_ed), self.options["topk"])
            nce, positives = multi_positive_nce(logits, mask), mask.sum(dim=1).mean().item()
        else:
            nce, positives = F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device)), 1.0
        use_log_softmax = self.options["log_softmax"]
        d3m_e = d3m_loss(logits, logits_e, use_log_softmax)
        d3m_ed = d3m_loss(logits, logits_ed, use_log_softmax)
        loss = nce + (d3m_e + d3m_ed) / 2
        self.enqueue(k)
        return loss, {"loss": loss.item(), "nce": nce.item(), "d3m_e": d3m_e.item(), "d3m_ed": d3m_ed.item(),
                      "mining": float(mining), "positives": positives}
