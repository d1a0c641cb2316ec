"""SkeletonCLR: MoCo v2 on one skeleton stream (methods.md §2.1; CrosSCLR repository).

Two normal views (temporal crop + shear) of each sample; q = f_q(view 1), k = f_k(view 2);
InfoNCE against k and the queue at T = 0.07; enqueue k.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from datasets.augment import make_normal_view
from methods.base import MethodConfig, MoCoMethod, Preset
from methods.losses import info_nce
from methods.presets import PAPER_STEP_250, quick_preset, with_cpu_preset


class SkeletonCLR(MoCoMethod):
    name = "skeletonclr"
    title = "SkeletonCLR"
    default_config = MethodConfig(frames=50, graph="stgcn_spatial", head="mlp", temperature=0.07)
    presets: dict[str, Preset] = with_cpu_preset({"paper": PAPER_STEP_250, "quick": quick_preset()})

    def views(self):
        view = make_normal_view(self.config.layout)
        return (view, view)

    def training_step(self, views: Sequence[torch.Tensor], epoch: int) -> tuple[torch.Tensor, dict[str, float]]:
        x_q, x_k = (self.stream(v) for v in views[:2])
        q = self.query(x_q)
        self.momentum_update()
        k = self.key(x_k)
        loss = info_nce(q, k, self.queue_of(), self.config.temperature)
        self.enqueue(k)
        return loss, {"loss": loss.item()}
