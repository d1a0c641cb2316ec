"""Copy records into the shipped set: ``python -m leaderboard publish RECORD_OR_FOLDER...``.

A protocol run writes its record into the user's records folder (``results.records_dir``), so
that experiments never change the published tables by accident. Publishing is the one explicit
step that adds records to ``results/records`` (whose leaderboard is the published one): each
record is read and checked against the schema first, its paths written relative to named places
(``results.portable_record``), and copied with its logits file; a record already there under
the same name is left alone and said so. Nothing is copied when any input is unusable.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from results import RECORDS_DIR, portable_record, record_problems
from utils.cli import ArgumentParser
from utils.files import atomic_write_text


def records_in(paths: list[Path]) -> list[Path]:
    """The record files named or held (``*.json``, not recursively) by ``paths``; a path that is
    neither is a ValueError naming it."""
    out = []
    for p in paths:
        if p.is_dir():
            out += sorted(q for q in p.glob("*.json") if q.is_file())
        elif p.is_file() and p.suffix == ".json":
            out.append(p)
        else:
            raise ValueError(f"{p} is neither a record (.json) nor a folder of records")
    return out


def publish(paths: list[Path], shipped: Path = RECORDS_DIR) -> tuple[list[Path], list[Path]]:
    """Copy the records of ``paths`` into ``shipped``; returns (copied, already there)."""
    files = records_in(paths)
    if not files:
        raise ValueError(f"no record (*.json) in {', '.join(map(str, paths))}")
    loaded = []
    for f in files:
        try:
            record = json.loads(f.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{f} is not a readable record ({err})") from None
        problems = record_problems(record)
        if problems:
            raise ValueError(f"{f} is not a usable record: {'; '.join(problems)}")
        loaded.append((f, record))
    shipped.mkdir(parents=True, exist_ok=True)
    copied, present = [], []
    for f, record in loaded:
        target = shipped / f.name
        if target.exists():
            present.append(target)
            continue
        logits = f.with_name(str(record["logits"])) if record.get("logits") else None
        if logits is not None and logits.is_file():
            shutil.copyfile(logits, shipped / logits.name)
        atomic_write_text(target, json.dumps(portable_record(record), indent=2, sort_keys=True) + "\n")
        copied.append(target)
    return copied, present


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m leaderboard publish", description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", type=Path, metavar="RECORD_OR_FOLDER",
                    help="record files, or folders of them (e.g. the cache's records/)")
    args = ap.parse_args(argv)
    try:
        copied, present = publish(args.paths)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for p in present:
        print(f"already shipped, left alone: {p.name}")
    print(f"published {len(copied)} record(s) into {RECORDS_DIR}; rebuild the tables with `python -m leaderboard`")
    return 0
