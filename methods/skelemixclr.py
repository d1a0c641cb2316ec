"""SkeleMixCLR, the seed paper (methods.md §2.4; ``czhaneva/SkeleMixCLR``).

``skelemixclr`` is SkeleMixCLR+, the released configuration: 64 frames, the 2s-AGCN graph,
T = 0.2, a projection head with BatchNorm, constant LR. Each step draws three SkeleMix regions
(:mod:`datasets.skelemix`); every mixed query batch goes through the query encoder once, and its
final feature map is mask-pooled into the *trimmed view* (the donor's fragment) and the
*truncated view* (the sample's own remainder). Besides the instance loss of the plain query,

* the trimmed view must match the **donor's** key, with the truncated view as an extra
  stop-gradient negative;
* the truncated view must match its **own** key, with the trimmed view as the extra negative;

``L = L_ins + Σ_mixes (½·L_trimmed + ½·L_truncated)`` — a *sum* over the three mixes in "+"
(§7.10). ``skelemixclr-v1`` is the plain SkeleMixCLR: one mix, ``L_ins + α·(½ L_p + ½ L_c)``,
α = 1. Only the key of the unmixed key view is enqueued.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from datasets.augment import make_normal_view
from datasets.skelemix import MixRegion, check_body_parts, mix, sample_region
from methods.base import MethodConfig, MoCoMethod, Preset
from methods.encoders.pooling import mask_pool
from methods.losses import info_nce, info_nce_extra_negative
from methods.presets import PAPER_CONSTANT, quick_preset, with_cpu_preset

#: The released ``swap_params [[2, 3, 7, 11, 3, 1.]]``: 2–3 body parts, 7–11 blocks of 4 frames,
#: 3 mixes per step, regional weight 1, summed over the mixes (methods.md §2.4).
SKELEMIX_PLUS = {"parts": (2, 3), "blocks": (7, 11), "mixes": 3, "regional_weight": 1.0, "reduce": "sum",
                 "spatial_mode": "semantic"}


class SkeleMixCLR(MoCoMethod):
    """SkeleMixCLR+ (its released configuration).

    Its ``quick`` and ``cpu`` recipes use T = 0.07 instead of its 0.2, measured on synthetic-xsub
    (batch 32, LR 0.01, queue 1,024): at 0.2 this short, small-queue regime collapses — within 40
    steps the keys' mean cosine rose from 0.4 to 0.96 and the instance loss from 4.5 to 6.5
    (ln 1025 = 6.93) at LR 0.003, 0.01 and 0.1 alike, with or without the regional losses and with
    the plain MLP head too, and after one epoch the linear probe fell to 26.6 % (61.3 % for the
    random-init encoder); at 0.07 the loss turned down after 20 steps as SkeletonCLR's does. The
    BN head, the AGCN graph, 64 frames and the mixes per step are kept.
    """

    name = "skelemixclr"
    title = "SkeleMixCLR+"
    default_config = MethodConfig(frames=64, graph="agcn", head="mlp_bn", temperature=0.2, extra=SKELEMIX_PLUS)
    linear_epochs = 150  # its linear_eval config (methods.md §3.1)
    presets: dict[str, Preset] = with_cpu_preset({
        "paper": PAPER_CONSTANT,
        "quick": quick_preset(temperature=0.07),
    })

    def __init__(self, config: MethodConfig | None = None, queue_size: int = 32768, key_momentum: float = 0.999,
                 mining_epoch: int = 0) -> None:
        super().__init__(config, queue_size, key_momentum, mining_epoch)
        e = self.config.extra
        if e["spatial_mode"] == "semantic":  # a layout without enough body parts cannot be mixed by parts
            check_body_parts(self.config.layout, tuple(e["parts"]))

    def views(self):
        view = make_normal_view(self.config.layout)
        return (view, view)

    def regions(self, batch: int, frames: int) -> list[MixRegion]:
        """This step's mixing regions, drawn before any forward pass as the official model does,
        from the body parts of the data's layout (methods.md §2.4)."""
        e = self.config.extra
        return [sample_region(batch, frames, self.batch_rng, tuple(e["parts"]), tuple(e["blocks"]), e["spatial_mode"],
                              layout=self.config.layout)
                for _ in range(int(e["mixes"]))]

    def trimmed_and_truncated(self, x: torch.Tensor, region: MixRegion) -> tuple[torch.Tensor, torch.Tensor]:
        """L2-normalised projections of the trimmed and the truncated view of one mixed batch; the
        head (with its BatchNorm) runs on each pooled view separately, as in the official code."""
        fmap = self.encoder_q.feature_map(mix(x, region))
        trimmed, truncated = mask_pool(fmap, region.mask(x.shape[2], x.shape[3], x.device), x.shape[-1])
        return F.normalize(self.head_q(trimmed), dim=1), F.normalize(self.head_q(truncated), dim=1)

    def training_step(self, views: Sequence[torch.Tensor], epoch: int) -> tuple[torch.Tensor, dict[str, float]]:
        # The stream is computed before mixing (the official ``view_gen`` runs first).
        x_q, x_k = (self.stream(v) for v in views[:2])
        regions = self.regions(x_q.shape[0], x_q.shape[2])
        q = self.query(x_q)
        parts = [self.trimmed_and_truncated(x_q, r) for r in regions]
        self.momentum_update()
        k = self.key(x_k)
        queue, t = self.queue_of(), self.config.temperature
        loss_ins = info_nce(q, k, queue, t)
        regional = []
        for region, (p, c) in zip(regions, parts):
            donor_key = k[region.donors(len(k), k.device)]
            regional.append(0.5 * info_nce_extra_negative(p, donor_key, queue, c.detach(), t)
                            + 0.5 * info_nce_extra_negative(c, k, queue, p.detach(), t))
        loss_reg = torch.stack(regional).sum() if self.config.extra["reduce"] == "sum" else torch.stack(regional).mean()
        loss = loss_ins + self.config.extra["regional_weight"] * loss_reg
        self.enqueue(k)
        return loss, {"loss": loss.item(), "loss_ins": loss_ins.item(), "loss_reg": loss_reg.item()}


class SkeleMixCLRv1(SkeleMixCLR):
    """The plain SkeleMixCLR (``SM:net/skeletonclr_swap.py``): one mix per step, α = 1."""

    name = "skelemixclr-v1"
    title = "SkeleMixCLR"
    default_config = MethodConfig(frames=64, graph="agcn", head="mlp_bn", temperature=0.2,
                                  extra={**SKELEMIX_PLUS, "mixes": 1, "reduce": "mean"})
    presets: dict[str, Preset] = with_cpu_preset({
        "paper": PAPER_CONSTANT,
        "quick": quick_preset(temperature=0.07),
    })
