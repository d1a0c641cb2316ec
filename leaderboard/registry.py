"""The method registry as the leaderboard sees it: plain data (``registry.json``, written by
``python -m methods.catalog`` and checked against the registry by a test), so building the
tables imports no method and no protocol."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

REGISTRY_FILE = Path(__file__).with_name("registry.json")


@cache
def _registry() -> dict:
    return json.loads(REGISTRY_FILE.read_text())


def methods() -> dict[str, dict]:
    """Each method's facts by registry name, in the registry's order."""
    return {m["name"]: m for m in _registry()["methods"]}


def available() -> list[str]:
    """The registry's method names, sorted (as ``methods.available``)."""
    return sorted(methods())


def method_order() -> tuple[str, ...]:
    """Registry names in the order tables list them."""
    return tuple(methods())


def method_titles() -> dict[str, str]:
    """Registry name → the name papers and tables use (``skelemixclr`` → SkeleMixCLR+)."""
    return {name: m["title"] for name, m in methods().items()}


def vote_temperature() -> float:
    """The KNN protocol's default temperature of the weighted vote."""
    return float(_registry()["knn_vote_temperature"])


def encoders() -> dict[str, dict]:
    """Each encoder's facts by registry name (``title``; ``fields``, the method-config fields its
    network is built from), in the registry's order: ST-GCN first, the suite's first encoder."""
    return dict(_registry()["encoders"])


def encoder_titles() -> dict[str, str]:
    """Registry name → the name tables use (``stgcn`` → ST-GCN, ``transformer`` → Transformer)."""
    return {name: e["title"] for name, e in encoders().items()}


def encoder_fields(encoder: str) -> tuple[str, ...]:
    """The method-config fields ``encoder``'s network is built from (ST-GCN: widths, graph…;
    the transformer: only its output width and layout); () for an encoder the registry lacks."""
    return tuple(encoders().get(encoder, {}).get("fields", ()))


def default_encoder(method: str) -> str:
    """The encoder ``method`` runs unless told otherwise (the registry's ``encoder``). Records made
    before records named their encoder ran this one; for a method the registry lacks, the suite's
    first encoder (ST-GCN, the only one there was when such records were written)."""
    known = methods()
    return known[method]["encoder"] if method in known else next(iter(encoders()))


def _network(m: dict, encoder: str) -> tuple:
    return (encoder, *(m.get(f) for f in encoder_fields(encoder)))


def same_encoder(method: str, encoder: str | None = None) -> list[str]:
    """The methods whose untrained ``encoder`` (default: ``method``'s own) is ``method``'s: the same
    values of every field that encoder is built from (for ST-GCN the graph and widths; the
    transformer reads no method-specific field, so every method shares it), so on the same data and
    frames a random-init run of any of them is the floor of all of them. An encoder the registry
    lacks is shared with no other method (what it is built from is unknown)."""
    known = methods()
    if method not in known:
        return []
    encoder = encoder or default_encoder(method)
    if encoder not in encoders():
        return [method]
    return [name for name in sorted(known) if _network(known[name], encoder) == _network(known[method], encoder)]
