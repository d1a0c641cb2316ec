"""3-stream fusion: ``python -m protocols.ensemble --method aimclr``.

AimCLR's rule (methods.md §3.6): score = 0.6·joint + 0.4·motion + 0.6·bone on the **raw**
logits of each stream's linear classifier (no softmax), samples aligned by order. The official
scripts take each stream's best-epoch logits, which were selected on the test set (§7.3); here
the final-epoch logits are the default, as for every headline number, and ``--logits best``
reproduces the official choice (named in the record).

The inputs are the logits every classifier-training protocol saves beside its record
(:func:`results.read_logits`). By default the newest joint, motion and bone records of the
method, dataset, protocol and checkpoint source are fused; ``--records`` names them explicitly.
Streams whose test samples or their order differ are refused, never silently misaligned.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from datasets.benchmarks import DEFAULT_DATASET
from datasets.skeleton import STREAMS
from methods import get_method
from protocols.cli import spec_from_args
from protocols.common import RecordSpec, check_results_dir, each, spec_field
from protocols.linear import topk_accuracy
from results import read_logits, read_records, record_encoder, summary_line, write_record
from results.provenance import command_line, git_commit, now
from utils.cli import ArgumentParser

#: AimCLR's weights per stream (``ensemble_ntu_cs.py``), methods.md §3.6.
AIMCLR_WEIGHTS = {"joint": 0.6, "motion": 0.4, "bone": 0.6}
#: Where a fused record's encoder may come from (``--source``): a record's ``checkpoint.source``.
SOURCES = ("zoo", "checkpoint", "pretrained", "random")
#: Each stream's logits to fuse (``--logits``): the final evaluation's or the best one's.
LOGITS = ("final", "best")


@dataclass(frozen=True, kw_only=True)
class EnsembleSpec(RecordSpec):
    """A 3-stream fusion: the newest joint, motion and bone records of ``method``, ``dataset`` and
    ``protocol`` (only those whose encoder came from ``source``, when given) in ``results_dir``, or
    exactly the ``records`` named; each stream's ``weights`` (comma-separated, None: AimCLR's)
    and which ``logits``. ``method`` is checked only where it selects the records (named
    ``records`` are fused whatever it says), as the command line always has."""

    method: str = spec_field(check=None)
    protocol: str = "linear"
    source: str | None = spec_field(None, choices=SOURCES)
    records: tuple[Path, ...] | None = spec_field(None, check=each(Path))
    weights: str | None = None
    logits: str = spec_field("final", choices=LOGITS)


def fuse(logits: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The weighted sum of raw logit arrays of equal shape (N, classes)."""
    if len(logits) != len(weights) or not logits:
        raise ValueError(f"fusion needs one weight per stream: {len(logits)} logit sets, {len(weights)} weights")
    shapes = {np.shape(x) for x in logits}
    if len(shapes) != 1:
        raise ValueError(f"the streams' logits have different shapes {sorted(shapes)}; they are not of one test set")
    return sum(w * np.asarray(x, np.float64) for w, x in zip(weights, logits))


def check_aligned(parts: Sequence[dict[str, np.ndarray]], sources: Sequence[str]) -> None:
    """Refuse logit sets whose test samples, their order or their labels differ: a fusion of
    misaligned rows is a number, but a meaningless one."""
    first = parts[0]
    for part, source in zip(parts[1:], sources[1:]):
        if len(part["names"]) != len(first["names"]) or not np.array_equal(part["names"], first["names"]):
            raise ValueError(f"the test samples of {source} differ from those of {sources[0]} (other samples or "
                             "another order); fuse runs on the same benchmark and data only")
        if not np.array_equal(part["labels"], first["labels"]):
            raise ValueError(f"the labels of {source} differ from those of {sources[0]}")


def fusion_identity(record: dict) -> dict:
    """What the streams of one fusion must share: the method and its recipe, one benchmark's data,
    the encoder family, whether the encoder was trained, the pretraining and probe seeds, the probe.
    The fused record takes these from its first stream, so streams that differ in any of them would
    make a record that misnames what it fused (an official probe's logits summed with a
    standardised one's, seed 0's joint with seed 1's bone)."""
    data = record.get("data") or {}
    return {"method": record.get("method"), "dataset": record.get("dataset"),
            "data": data.get("identity") or data.get("fingerprint"),
            "encoder": record_encoder(record), "variant": record.get("variant") or {},
            "preset": record.get("preset"), "epochs": record.get("epochs"),
            "untrained": record["checkpoint"]["source"] == "random",
            "pretraining seed": record.get("pretrain_seed"), "seed": record.get("seed"),
            "probe": (record.get("protocol_config") or {}).get("probe", "official")}


def identity_differences(a: dict, b: dict) -> dict[str, tuple]:
    """The fields of :func:`fusion_identity` in which two records differ: ``{field: (a's, b's)}``."""
    x, y = fusion_identity(a), fusion_identity(b)
    return {k: (x[k], y[k]) for k in x if x[k] != y[k]}


def check_compatible(records: Sequence[dict]) -> None:
    """Refuse named records (``--records``) that were not made alike (:func:`fusion_identity`)."""
    first = records[0]
    for r in records[1:]:
        diff = identity_differences(first, r)
        if diff:
            said = ", ".join(f"{k} {theirs!r} against {ours!r}" for k, (ours, theirs) in diff.items())
            raise ValueError(f"{Path(r['_path']).name} was not made as {Path(first['_path']).name} ({said}); fuse "
                             "the streams of one run of one method on the same data, with the same probe")


def select_records(records: list[dict], method: str, dataset: str, protocol: str, source: str | None) -> list[dict]:
    """The newest record with saved logits of each stream for (method, dataset, protocol[, source]).

    The newest joint record decides what the other streams' records must share with it
    (:func:`fusion_identity`): a random-init motion baseline run after the pretrained one, another
    pretraining seed or the standardised probe's record must not slip into the method's fusion."""
    candidates = [r for r in records if r["method"] == method and r["dataset"] == dataset and r["protocol"] == protocol
                  and r.get("logits") and (source is None or r["checkpoint"]["source"] == source)]
    chosen = []
    for stream in STREAMS:
        hits = [r for r in candidates if r["stream"] == stream and (not chosen or not identity_differences(chosen[0], r))]
        if not hits:
            where = f"{method} {protocol} on {dataset}" + (f" (checkpoint {source})" if source else "")
            if chosen:
                joint = fusion_identity(chosen[0])
                where += (f" made as the joint one was ({'an untrained' if joint['untrained'] else 'a trained'} encoder, "
                          f"pretraining seed {joint['pretraining seed']}, seed {joint['seed']}, probe {joint['probe']}, "
                          "the same data and recipe)")
            raise ValueError(f"no {stream}-stream record with saved logits for {where}; run "
                             f"`python -m protocols.{protocol} --method {method} --dataset {dataset} --stream {stream}` "
                             "first, or name the records with --records")
        chosen.append(max(hits, key=lambda r: r.get("created", "")))
    return chosen


def parse_weights(text: str | None, streams: Sequence[str]) -> list[float]:
    if text is None:
        return [AIMCLR_WEIGHTS[s] for s in streams]
    try:
        weights = [float(w) for w in text.split(",")]
    except ValueError:
        raise ValueError(f"--weights takes numbers separated by commas, got {text!r}") from None
    if len(weights) != len(streams):
        raise ValueError(f"--weights gives {len(weights)} numbers for {len(streams)} streams ({', '.join(streams)})")
    return weights


def run(spec: EnsembleSpec) -> dict:
    """The fusion from Python: the results folder checked before the logits are read (as the
    command line does), then :func:`evaluate`; the record written and returned."""
    check_results_dir(spec.results_dir)
    return evaluate(spec)


def evaluate(spec: EnsembleSpec) -> dict:
    """Fuse the streams' logits and write the record (the work of :func:`run` and :func:`main`)."""
    t0 = time.time()
    if spec.records:
        records = [read_records_file(Path(p)) for p in spec.records]
        check_compatible(records)
    else:
        records = select_records(read_records(spec.results_dir), get_method(spec.method).name, spec.dataset,
                                 spec.protocol, spec.source)
    streams = [r["stream"] for r in records]
    weights = parse_weights(spec.weights, streams)
    parts = [read_logits(r) for r in records]
    check_aligned(parts, [r["_path"] for r in records])
    scores = torch.from_numpy(fuse([p[spec.logits] for p in parts], weights))
    labels = torch.from_numpy(parts[0]["labels"])
    metrics = {"top1": round(topk_accuracy(scores, labels, 1), 2), "top5": round(topk_accuracy(scores, labels, 5), 2),
               "streams": {r["stream"]: r["metrics"]["top1"] for r in records}}
    first = records[0]
    record = {
        "method": first["method"], "dataset": first["dataset"], "split": first["split"], "stream": "+".join(streams),
        "protocol": "ensemble", "preset": first.get("preset"), "epochs": first.get("epochs"), "seed": first["seed"],
        "metrics": metrics, "frames": first["frames"], "preprocessing": first.get("preprocessing"),
        "body_selection": first.get("body_selection"), "synthetic": first.get("synthetic", False),
        "data": first.get("data"), "checkpoint": first["checkpoint"], "pretrain_seed": first.get("pretrain_seed"),
        "bn_statistics": first.get("bn_statistics"), "variant": first.get("variant") or {},
        "protocol_config": {"rule": "weighted sum of raw logits (AimCLR, methods.md §3.6)", "weights": weights,
                            "logits": spec.logits, "fused_protocol": first["protocol"],
                            "components": [Path(r["_path"]).name for r in records]},
        "commit": git_commit(), "wall_s": round(time.time() - t0, 2), "device": "cpu", "created": now(),
        "command": command_line(),
    }
    path = write_record(record, spec.results_dir)
    record["record_path"] = str(path)
    print(summary_line(record))
    return record


def read_records_file(path: Path) -> dict:
    matches = [r for r in read_records(path.parent) if Path(r["_path"]).name == path.name]
    if not path.is_file() or not matches:
        raise FileNotFoundError(f"result record {path} does not exist")
    return matches[0]


def build_parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="python -m protocols.ensemble", description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", required=True)
    ap.add_argument("--dataset", default=DEFAULT_DATASET)
    ap.add_argument("--protocol", default="linear", help="whose records to fuse (default: %(default)s)")
    ap.add_argument("--source", choices=SOURCES,
                    help="only records whose encoder came from this source")
    ap.add_argument("--records", nargs="+", metavar="RECORD", help="fuse exactly these records (any streams)")
    ap.add_argument("--weights", help="one weight per stream, comma-separated (default: AimCLR's 0.6,0.4,0.6)")
    ap.add_argument("--logits", choices=LOGITS, default="final",
                    help="each stream's final-epoch logits (default) or best-epoch ones (the official scripts', "
                         "selected on the test set)")
    ap.add_argument("--results-dir", type=Path, help="records folder to read and write (default: your records folder, .cache/records or $SKELEBENCH_RESULTS)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """``python -m protocols.ensemble``: the command line's spec, fused; the exit code."""
    args = build_parser().parse_args(argv)
    try:
        check_results_dir(args.results_dir)  # before reading the logits (issue 24)
        evaluate(spec_from_args(args, EnsembleSpec))
    except (ValueError, OSError) as err:  # OSError: a record that could not be written (FileNotFoundError too)
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
