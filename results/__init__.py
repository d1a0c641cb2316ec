"""Result records: one JSON file per protocol run, written atomically; the leaderboard reads
only these.

A record says what was measured (method, dataset, split, stream, protocol, metrics), with what
(checkpoint, preset, pretraining epochs and seed, the protocol's seed, frames, preprocessing, body selection) and
where (commit, device, wall time, command). Records of the embedded data carry
``"synthetic": true`` and are never presented as NTU numbers.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Collection
from pathlib import Path
from statistics import mean, stdev

import numpy as np

from datasets.cache import REPO_ROOT
from datasets.integrity import generated_identity
from datasets.synthetic import DEFAULT_SEED, NUM_CLASSES, NUM_SUBJECTS

RECORDS_DIR = REPO_ROOT / "results" / "records"
LOGITS_SUFFIX = ".logits.npz"
REQUIRED = ("method", "dataset", "split", "stream", "protocol", "preset", "epochs", "seed", "metrics", "frames",
            "preprocessing", "commit", "wall_s", "device")


def records_dir(override: Path | str | None = None) -> Path:
    """``override``, else ``$SKELEBENCH_RESULTS``, else ``results/records`` of the checkout."""
    if override is not None:
        return Path(override)
    return Path(os.environ.get("SKELEBENCH_RESULTS", RECORDS_DIR))


def write_record(record: dict, directory: Path | str | None = None,
                 arrays: dict[str, np.ndarray] | None = None) -> Path:
    """Validate and write ``record`` as ``<created>-<method>-<protocol>-<dataset>-<stream>.json``;
    ``arrays`` (a classifier's test logits) go beside it as ``<same name>.logits.npz``, written
    first, and the record names that file in ``logits``."""
    missing = [k for k in REQUIRED if k not in record]
    if missing:
        raise ValueError(f"result record lacks {', '.join(missing)}")
    folder = records_dir(directory)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = re.sub(r"[^0-9T]", "", record.get("created", ""))
    stem = "-".join(str(record[k]) for k in ("method", "protocol", "dataset", "stream"))
    path = folder / f"{stamp}-{stem}.json"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{stamp}-{stem}-{n}.json"
    if arrays is not None:
        side = path.with_suffix(LOGITS_SUFFIX)
        fd, tmp = tempfile.mkstemp(prefix=".logits-", suffix=".npz", dir=folder)
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
        os.replace(tmp, side)
        record["logits"] = side.name  # the caller's record names it too
    fd, tmp = tempfile.mkstemp(prefix=".record-", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w") as f:
        json.dump(record, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    return path


def read_logits(record: dict) -> dict[str, np.ndarray]:
    """The test logits saved beside a record (read with :func:`read_records`, which sets ``_path``)."""
    name = record.get("logits")
    if not name:
        raise ValueError(f"record {record.get('_path', '?')} has no saved logits (its protocol trains no classifier, "
                         "or it predates saving them)")
    path = Path(record["_path"]).parent / name
    if not path.is_file():
        raise FileNotFoundError(f"logits file {path} of record {record['_path']} does not exist")
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def read_records(directory: Path | str | None = None) -> list[dict]:
    """All records of a folder, oldest first; a malformed file is an error naming it."""
    folder = records_dir(directory)
    out = []
    for path in sorted(folder.glob("*.json")):
        try:
            rec = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"result record {path} is not valid JSON: {err}") from None
        rec["_path"] = str(path)
        out.append(rec)
    return out


def variant_label(variant: dict | None) -> str:
    """`` [key=value, ...]`` for a run whose pretraining departed from the method's defaults, else ``""``."""
    return f" [{', '.join(f'{k}={v}' for k, v in sorted(variant.items()))}]" if variant else ""


def data_key(record: dict) -> str:
    """The benchmark a record was made on, as results are compared: its data identity
    (:func:`datasets.integrity.data_identity`). Generated data recorded before identities were
    written were the default benchmark, the only one the command line generates, so their key is
    computed from the record; otherwise the files' fingerprint."""
    data = record.get("data") or {}
    if data.get("identity"):
        return data["identity"]
    if data.get("format") == "generated":
        return generated_identity({"dataset": record.get("dataset"), "generator_version": data.get("generator_version"),
                                   "frames": record.get("frames"), "layout": record.get("layout") or "ntu25",
                                   "seed": DEFAULT_SEED, "subjects": NUM_SUBJECTS, "num_classes": NUM_CLASSES})
    return data.get("fingerprint") or ""


def reference_line(record: dict, records: list[dict], same_encoder: Collection[str] = ()) -> str:
    """Where a result sits between its benchmark's floor and ceiling: the random-init runs of the
    same protocol, probe and stream on the same data (the newest per init seed; mean ± sd over
    seeds where there are several: an untrained encoder varies by points between seeds), and the newest supervised baseline
    (finetune from random init) there; for one not run yet, the command that computes it. A
    number alone says nothing until the untrained encoder and the supervised network are beside
    it (issue 12 item 5). Random-init runs of the record's method count, and of the methods in
    ``same_encoder`` (those whose untrained encoder is the same network: ST-GCN at the same frames
    for SkeletonCLR, AimCLR and CrosSCLR), named when another method ran them."""
    key = data_key(record)
    methods = {record["method"], *same_encoder}
    probe = (record.get("protocol_config") or {}).get("probe")

    def newest_per_seed(protocol: str, stream: str | None, same_probe: bool = False) -> list[dict]:
        found = [r for r in records if r.get("protocol") == protocol and r.get("method") in methods
                 and (r.get("checkpoint") or {}).get("source") == "random"
                 and data_key(r) == key and r.get("frames", record.get("frames")) == record.get("frames")
                 and (stream is None or r.get("stream") == stream) and "top1" in r.get("metrics", {})
                 and (not same_probe or (r.get("protocol_config") or {}).get("probe") == probe)]
        newest: dict[object, dict] = {}
        for r in sorted(found, key=lambda r: r.get("created", "")):
            newest[r.get("seed")] = r  # a re-run of the same init seed supersedes the older
        return sorted(newest.values(), key=lambda r: r.get("created", ""))

    def command(protocol: str) -> str:
        options = "" if record.get("stream", "joint") == "joint" else f" --stream {record['stream']}"
        options += "" if record.get("dataset") == "synthetic-xsub" else f" --dataset {record.get('dataset')}"
        return f"`python -m protocols.{protocol} --method {record['method']}{options} --checkpoint random`"

    def ran_as(r: dict) -> list[str]:
        return [] if r["method"] == record["method"] else [f"run as {r['method']}"]

    parts = []
    if (record.get("checkpoint") or {}).get("source") != "random":
        floor = newest_per_seed(record["protocol"], record["stream"], same_probe=True)
        if floor:
            values = [r["metrics"]["top1"] for r in floor]
            notes = [f"{len(values)} init seeds"] if len(values) > 1 else []
            notes += ran_as(floor[-1])
            figure = f"{mean(values):.2f} ± {stdev(values):.2f}" if len(values) > 1 else f"{values[0]:.2f}"
            parts.append(f"random init {figure}" + (f" ({', '.join(notes)})" if notes else ""))
        else:
            parts.append(f"random init not run ({command(record['protocol'])})")
    supervised = newest_per_seed("finetune", record["stream"])
    r = supervised[-1] if supervised else None
    if r:
        notes = [f"{(r.get('protocol_config') or {}).get('epochs')} epochs", *ran_as(r)]
        parts.append(f"supervised {r['metrics']['top1']:.2f} ({', '.join(notes)})")
    else:
        parts.append(f"supervised not run ({command('finetune')})")
    return f"references on these data: {', '.join(parts)}"


def summary_line(record: dict) -> str:
    """The one-line summary every protocol prints last."""
    m = record["metrics"]
    tag = " [synthetic data]" if record.get("synthetic") else ""
    if "top1" not in m:  # a report of several figures (the difficulty protocol): each scalar or mean
        figures = ", ".join(f"{k} {v['mean'] if isinstance(v, dict) and 'mean' in v else v}"
                            for k, v in m.items() if isinstance(v, (int, float)) or (isinstance(v, dict) and "mean" in v))
        return f"{record['protocol']} {record['dataset']}: {figures} | {record['wall_s']:.0f}s on {record['device']}{tag}"
    best = f" (best {m['best_top1']:.2f} @ {m['best_epoch']})" if "best_top1" in m else ""
    method = record["method"] + variant_label(record.get("variant"))
    return (f"{record['protocol']} {method} {record['dataset']} {record['stream']}: "
            f"top1 {m['top1']:.2f}{best} top5 {m['top5']:.2f} | checkpoint {record['checkpoint']['source']} "
            f"| {record['wall_s']:.0f}s on {record['device']}{tag}")
