"""Encoder registry: backbones by name, so methods and protocols never import a class directly."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from methods.encoders.stgcn import STGCN

ENCODERS: dict[str, Callable[..., nn.Module]] = {"stgcn": STGCN}


def build_encoder(name: str, **kwargs) -> nn.Module:
    """Instantiate a registered backbone; ``kwargs`` go to its constructor."""
    try:
        factory = ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown encoder {name!r}; available: {', '.join(sorted(ENCODERS))}") from None
    return factory(**kwargs)
