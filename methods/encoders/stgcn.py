"""ST-GCN backbone in the reduced form every contrastive skeleton paper uses.

methods.md §1.1: hidden channels 16 (¼ of the original ST-GCN), 10 blocks, output 256,
temporal kernel 9, K=3 adjacency partitions, learnable edge importance per block, dropout 0.5
in blocks 2–10 (active during pretraining), data BN over the 75 (joint, xyz) channels shared
by both persons, persons folded into the batch and averaged after pooling. Without ``fc`` the
backbone has 821,380 learnable parameters.

The forward pass is split so methods can reach the final feature map: ``feature_map`` returns
``(N·M, 256, T', V)``; ``pool`` averages over (T', V) then over persons.

The encoder is built for one skeleton layout (:mod:`datasets.layouts`, default ``ntu25``): its
graph ``A`` (3, V, V) and its data BN over V·C channels follow from it, and :attr:`STGCN.layout`
names it so checkpoints and protocols can refuse data of another layout.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from datasets.graph import build_graph
from datasets.layouts import get_layout
from methods.encoders.dropout import Dropout
from methods.encoders.pooling import global_pool
from methods.encoders.recompute import recomputed

#: (in, out, temporal stride) of the 10 blocks relative to the hidden width (methods.md §1.1).
BLOCKS = ((1, 1, 1), (1, 1, 1), (1, 1, 1), (1, 2, 2), (2, 2, 1), (2, 2, 1), (2, 4, 2), (4, 4, 1), (4, 16, 1))


class GraphConv(nn.Module):
    """Spatial graph convolution: a 1×1 conv to ``K·C_out`` channels, then a sum over the K
    partitions of the adjacency, ``out[c,t,w] = Σ_k Σ_v (W_k x + b_k)[c,t,v] · A[k,v,w]``.

    Computed graph first (issue 15 item 3): both steps are linear, so the adjacency is applied to
    the input (one matmul over the joint axis, which is already the last one) and the K partitions'
    1×1 convolutions become one convolution with kernel (1, K) dilated by V over the K·V graph
    outputs; the bias enters as ``Σ_k b_k · Σ_v A[k,v,w]``. The reference order (conv, then the
    einsum over (k, v)) copies the conv output into a (k, v)-last layout forward and backward; the
    graph-first order reads every tensor in place and costs C_in/C_out of its graph FLOPs. Same
    parameters and state dict; equal to the reference within fp32 rounding (tests/test_encoder.py).
    """

    def __init__(self, in_channels: int, out_channels: int, partitions: int) -> None:
        super().__init__()
        self.partitions = partitions
        self.conv = nn.Conv2d(in_channels, out_channels * partitions, kernel_size=1)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        n, c_in, t, v = x.shape
        k = self.partitions
        spread = x @ a.permute(1, 0, 2).reshape(v, k * v)  # (n, c_in, t, k·w)
        weight = self.conv.weight.view(k, -1, c_in).permute(1, 2, 0).unsqueeze(2)  # (c_out, c_in, 1, k)
        out = F.conv2d(spread, weight, dilation=(1, v))
        bias = self.conv.bias.view(k, -1).t() @ a.sum(1)  # (c_out, w)
        return out.add_(bias.unsqueeze(1))  # in place: the convolution does not keep its output


class STGCNBlock(nn.Module):
    """``relu(tcn(gcn(x, A ⊙ importance)) + residual(x))`` with tcn = BN-ReLU-conv(9×1)-BN-Dropout."""

    def __init__(
        self, in_channels: int, out_channels: int, partitions: int, stride: int, dropout: float, residual: bool
    ) -> None:
        super().__init__()
        self.gcn = GraphConv(in_channels, out_channels, partitions)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (9, 1), (stride, 1), (4, 0)),
            nn.BatchNorm2d(out_channels),
            Dropout(dropout, inplace=True),
        )
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=(stride, 1)),
                nn.BatchNorm2d(out_channels),
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x, a))
        if self.residual is not None:
            y = y + self.residual(x)
        return self.relu(y)


class STGCN(nn.Module):
    """ST-GCN encoder mapping ``(N, 3, T, 25, 2)`` (another layout: ``(N, C, T, V, M)``) to a pooled
    ``(N, out_channels)`` feature.

    ``fc`` is ``None`` for a pure backbone; methods attach their projection head and protocols
    their classifier outside, so the backbone's state dict is the same everywhere. ``in_channels``
    and ``num_joints`` default to the layout's; given, they must agree with it.
    """

    #: How tables name the network.
    title = "ST-GCN"
    #: The :class:`methods.base.MethodConfig` fields this encoder is built from.
    config_fields = ("hidden_channels", "out_channels", "graph", "dropout", "layout")

    def __init__(
        self,
        in_channels: int | None = None,
        hidden_channels: int = 16,
        out_channels: int = 256,
        graph: str = "stgcn_spatial",
        dropout: float = 0.5,
        edge_importance: bool = True,
        num_joints: int | None = None,
        layout: str = "ntu25",
    ) -> None:
        super().__init__()
        lay = get_layout(layout)
        for what, given, own in (("in_channels", in_channels, lay.num_channels),
                                 ("num_joints", num_joints, lay.num_joints)):
            if given is not None and given != own:
                raise ValueError(f"{what}={given} does not fit layout {lay.name!r}, which has {own}")
        in_channels, num_joints = lay.num_channels, lay.num_joints
        a = torch.from_numpy(np.ascontiguousarray(build_graph(graph, lay)))
        self.graph = graph
        self.layout = lay.name
        self.register_buffer("A", a)
        partitions = a.shape[0]
        self.out_channels = out_channels
        self.data_bn = nn.BatchNorm1d(in_channels * num_joints)
        h = hidden_channels
        layers = [STGCNBlock(in_channels, h, partitions, 1, 0.0, residual=False)]
        for i, (c_in, c_out, stride) in enumerate(BLOCKS):
            last = i == len(BLOCKS) - 1
            layers.append(STGCNBlock(c_in * h, out_channels if last else c_out * h, partitions, stride, dropout, True))
        self.blocks = nn.ModuleList(layers)
        if edge_importance:
            self.edge_importance = nn.ParameterList([nn.Parameter(torch.ones_like(a)) for _ in self.blocks])
        else:
            self.edge_importance = None

    #: Recompute each block's activations in the backward pass instead of keeping them (the same
    #: numbers, less memory: :mod:`methods.encoders.recompute`); not part of the architecture.
    recompute: bool = False

    def feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, V, M)`` → final feature map ``(N·M, out_channels, T', V)``."""
        n, c, t, v, m = x.shape
        x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
        x = self.data_bn(x)
        x = x.view(n * m, v, c, t).permute(0, 2, 3, 1).contiguous()
        for i, block in enumerate(self.blocks):
            a = self.A if self.edge_importance is None else self.A * self.edge_importance[i]
            x = recomputed(block, x, a) if self.recompute and self.training and torch.is_grad_enabled() else block(x, a)
        return x

    @staticmethod
    def pool(feature_map: torch.Tensor, persons: int) -> torch.Tensor:
        """Global average over (T', V), then the mean over persons (:func:`global_pool`)."""
        return global_pool(feature_map, persons)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.feature_map(x), x.shape[-1])

