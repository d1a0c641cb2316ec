"""A skeleton transformer built from timm's blocks: the suite's second encoder family (issue 28).

Tokens are joints × frame patches. Each person's clip is normalised by a data BN over its
(joint, channel) inputs, as ST-GCN's is, cut into patches of ``patch`` frames per joint, and each
patch (``patch × C`` numbers) embedded by one linear layer. A learned joint embedding (which joint)
and a learned time embedding (which patch) are added. Then ``depth`` timm ``Block``s (pre-norm
attention + MLP, stochastic depth) alternate between attention over the joints of one patch and
attention over the patches of one joint.

Why alternating rather than joint attention over all T'·V tokens: TimeSformer (Bertasius et al.,
ICML 2021) compared the space-time schemes on video and found divided space-time attention the
most accurate and far cheaper than joint attention; skeleton transformers decouple the two axes
the same way (DSTA-Net, Shi et al., ACCV 2020; STTFormer's and USDRL's encoders attend over
space and time separately). Alternating whole blocks is divided attention with one MLP per
attention instead of one per pair, and lets every block be timm's unchanged ``Block``. The cost
per block is O(T'·V²) or O(V·T'²) instead of O((T'·V)²).

The feature map is ``(N·M, out_channels, T', V)`` with ``T' = ceil(T / patch)``: with the default
``patch = 4`` the same grid as ST-GCN's (two temporal strides of 2), so SkeleMix's mask pooling
(built at T/4) and AimCLR's attention drop take it unchanged, and ``pool`` is the same global mean
over (T', V) and persons. A frame count that is not a multiple of ``patch`` is padded with zeros
after the data BN (the normalised mean) to the next multiple.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from timm.layers import trunc_normal_
from timm.models.vision_transformer import Block
from torch import nn

from datasets.layouts import get_layout
from methods.encoders.pooling import global_pool
from methods.encoders.recompute import recomputed

#: Longest clip the time embedding covers (NTU's longest prepared clips are 300 frames).
MAX_FRAMES = 300


class SkeletonTransformer(nn.Module):
    """Transformer encoder mapping ``(N, C, T, V, M)`` to a pooled ``(N, out_channels)`` feature.

    The default size (width 128, 4 blocks, 4 heads: 0.84 M parameters on ``ntu25``) is ST-GCN's
    (0.82 M) for a fair comparison; ``transformer-large`` in the registry is a GPU size.
    """

    #: How tables name the network.
    title = "Transformer"
    #: The :class:`methods.base.MethodConfig` fields this encoder is built from (the rest of its
    #: size is the registry entry's); ST-GCN's graph, widths and dropout do not apply.
    config_fields = ("out_channels", "layout")

    def __init__(self, out_channels: int = 256, layout: str = "ntu25", width: int = 128, depth: int = 4,
                 heads: int = 4, patch: int = 4, mlp_ratio: float = 4.0, drop_path: float = 0.1) -> None:
        super().__init__()
        lay = get_layout(layout)
        channels, joints = lay.num_channels, lay.num_joints
        self.layout = lay.name
        self.out_channels = out_channels
        self.patch = patch
        self.data_bn = nn.BatchNorm1d(channels * joints)
        self.embed = nn.Linear(patch * channels, width)
        self.joint_embed = nn.Parameter(torch.zeros(joints, width))
        self.time_embed = nn.Parameter(torch.zeros(math.ceil(MAX_FRAMES / patch), width))
        trunc_normal_(self.joint_embed, std=0.02)
        trunc_normal_(self.time_embed, std=0.02)
        rates = torch.linspace(0, drop_path, depth).tolist()  # stochastic depth rising with depth, as in ViT
        self.blocks = nn.ModuleList(Block(width, heads, mlp_ratio, qkv_bias=True, drop_path=r) for r in rates)
        self.norm = nn.LayerNorm(width)
        self.proj = nn.Linear(width, out_channels)

    #: Recompute each block's activations in the backward pass (:mod:`methods.encoders.recompute`).
    recompute: bool = False

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, V, M)`` → embedded tokens ``(N·M, T', V, width)``, positions added."""
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        x = self.data_bn(x).view(n * m, v, c, t)
        patches = math.ceil(t / self.patch)
        if patches > len(self.time_embed):
            raise ValueError(f"clips of {t} frames make {patches} time patches; the encoder's time embedding "
                             f"covers {MAX_FRAMES} frames ({len(self.time_embed)} patches)")
        x = F.pad(x, (0, patches * self.patch - t))  # (N·M, V, C, T'·p)
        x = x.view(n * m, v, c, patches, self.patch).permute(0, 3, 1, 4, 2).reshape(n * m, patches, v, -1)
        return self.embed(x) + self.joint_embed + self.time_embed[:patches, None]

    def attend(self, i: int, x: torch.Tensor) -> torch.Tensor:
        """Block ``i`` on ``(B, T', V, D)`` tokens: over the joints of each patch when ``i`` is even,
        over the patches of each joint when it is odd."""
        b, t, v, d = x.shape
        block = self.blocks[i]
        run = (lambda seq: recomputed(block, seq)) if self.recompute and self.training and torch.is_grad_enabled() \
            else block
        if i % 2 == 0:
            return run(x.reshape(b * t, v, d)).view(b, t, v, d)
        seq = x.transpose(1, 2).reshape(b * v, t, d)
        return run(seq).view(b, v, t, d).transpose(1, 2)

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, V, M)`` → final feature map ``(N·M, out_channels, T', V)``."""
        h = self.tokens(x)
        for i in range(len(self.blocks)):
            h = self.attend(i, h)
        return self.proj(self.norm(h)).permute(0, 3, 1, 2)

    @staticmethod
    def pool(feature_map: torch.Tensor, persons: int) -> torch.Tensor:
        """Global average over (T', V), then the mean over persons (:func:`global_pool`)."""
        return global_pool(feature_map, persons)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.feature_map(x), x.shape[-1])


class LargeSkeletonTransformer(SkeletonTransformer):
    """The GPU size, registered as ``transformer-large``: width 256, 8 blocks, 8 heads (6.4 M parameters)."""

    title = "Transformer-L"

    def __init__(self, out_channels: int = 256, layout: str = "ntu25", width: int = 256, depth: int = 8,
                 heads: int = 8, **kwargs) -> None:
        super().__init__(out_channels, layout, width, depth, heads, **kwargs)
