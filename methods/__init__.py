"""Method registry: ``get_method(name)`` returns the class, ``available()`` lists the names.

The registry is a plain dict; a method file holds only what is unique to that method.
"""

from __future__ import annotations

from methods.aimclr import AimCLR
from methods.base import MethodConfig, MoCoMethod, Preset
from methods.crossclr import CrosSCLR
from methods.skelemixclr import SkeleMixCLR, SkeleMixCLRv1
from methods.skeletonclr import SkeletonCLR

#: Every method, in the order tables list them (the papers' order of publication).
METHODS: dict[str, type[MoCoMethod]] = {
    cls.name: cls for cls in (SkeletonCLR, CrosSCLR, AimCLR, SkeleMixCLRv1, SkeleMixCLR)
}


def available() -> list[str]:
    return sorted(METHODS)


def get_method(name: str) -> type[MoCoMethod]:
    try:
        return METHODS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(available())}") from None


def load_encoder(path, stream: str | None = None, map_location: str = "cpu", layout: str | None = None):
    """Backbone of a checkpoint as an eval-mode ``nn.Module`` mapping (N, 3, T, 25, 2) → (N, 256)
    (another skeleton layout's encoder: (N, C, T, V, M)); ``layout`` given, a checkpoint built for
    another skeleton layout is refused."""
    from methods.checkpoint import load_encoder as _load

    return _load(path, stream=stream, map_location=map_location, layout=layout)


__all__ = ["METHODS", "MethodConfig", "MoCoMethod", "Preset", "available", "get_method", "load_encoder"]
