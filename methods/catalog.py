"""The registry's facts as plain data, for readers that must not import the methods (the
leaderboard reads only records and plain data): ``python -m methods.catalog`` writes them to
``leaderboard/registry.json``; a test fails when that file and the registry disagree."""

from __future__ import annotations

import json
import sys

from methods import METHODS
from methods.encoders import ENCODERS
from methods.neighbours import VOTE_TEMPERATURE
from utils.files import atomic_write_text
from utils.paths import REPO_ROOT

CATALOG_FILE = REPO_ROOT / "leaderboard" / "registry.json"


def catalog() -> dict:
    """Each method's name, title and untrained network (encoder, graph, widths, frames), its own
    options (``--option`` keys), the options a recipe sets itself (CrosSCLR's ``cpu``) and its streams, in the
    registry's order; each encoder's title and the
    method-config fields it is built from; and the protocol defaults a table compares settings with."""
    methods = []
    for cls in METHODS.values():
        c = cls.default_config
        methods.append({"name": cls.name, "title": cls.title, "encoder": c.encoder, "graph": c.graph,
                        "hidden_channels": c.hidden_channels, "out_channels": c.out_channels, "frames": c.frames,
                        "options": sorted(c.extra), "streams": list(cls.streams),
                        "option_defaults": dict(c.extra),
                        "recipe_options": {name: dict(p.options) for name, p in cls.presets.items() if p.options}})
    encoders = {name: {"title": cls.title, "fields": list(cls.config_fields)} for name, cls in ENCODERS.items()}
    return {"methods": methods, "encoders": encoders, "knn_vote_temperature": VOTE_TEMPERATURE}


def catalog_text() -> str:
    return json.dumps(catalog(), indent=2) + "\n"


def main() -> int:
    atomic_write_text(CATALOG_FILE, catalog_text())
    print(f"wrote {CATALOG_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
