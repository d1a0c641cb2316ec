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


def _network(m: dict) -> tuple:
    return m["encoder"], m["graph"], m["hidden_channels"], m["out_channels"]


def same_encoder(method: str) -> list[str]:
    """The methods whose untrained encoder is ``method``'s: the same encoder, graph and widths (so
    on the same data and frames a random-init run of any of them is the floor of all of them)."""
    known = methods()
    if method not in known:
        return []
    return [name for name in sorted(known) if _network(known[name]) == _network(known[method])]
