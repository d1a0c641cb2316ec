"""Encoder registry: backbones by name, so methods and protocols never import a class directly.

Every encoder maps ``(N, C, T, V, M)`` to a pooled ``(N, 256)`` feature and exposes
``feature_map`` (``(N·M, 256, T/4, V)``, the grid SkeleMix's mask pooling and AimCLR's attention
drop work on) and ``pool``; ``config_fields`` names the method-config fields it is built from.
"""

from __future__ import annotations

from timm.models.vision_transformer import Block
from torch import nn

from methods.encoders.stgcn import STGCN, STGCNBlock
from methods.encoders.transformer import LargeSkeletonTransformer, SkeletonTransformer

ENCODERS: dict[str, type[nn.Module]] = {
    "stgcn": STGCN, "transformer": SkeletonTransformer, "transformer-large": LargeSkeletonTransformer,
}

#: The repeated blocks ``--compile`` compiles one by one (:func:`compile_blocks`).
BLOCK_TYPES = (STGCNBlock, Block)


def encoder_class(name: str) -> type[nn.Module]:
    """The registered encoder class called ``name``; an unknown name is refused with the known ones."""
    try:
        return ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; choose {', '.join(ENCODERS)}") from None


def build_encoder(name: str, **kwargs) -> nn.Module:
    """Instantiate a registered backbone; ``kwargs`` go to its constructor."""
    return encoder_class(name)(**kwargs)


def compile_blocks(model: nn.Module) -> int:
    """``torch.compile`` every encoder block of ``model`` in place (``--compile``; issue 15 item 2);
    returns how many. Blocks rather than encoders: methods call ``feature_map`` as well as the
    encoder itself, and every block is called as a module either way. The state dict is unchanged.
    Compiled dropout draws from Inductor's own generator, so a compiled run is not the eager run's
    random stream; the arithmetic is the same up to fused rounding."""
    blocks = [m for m in model.modules() if isinstance(m, BLOCK_TYPES)]
    for block in blocks:
        block.compile()
    return len(blocks)
