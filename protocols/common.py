"""What every protocol shares: its command-line options, choosing the encoder to evaluate,
loading the benchmark, and finishing with one result record."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch import nn

from datasets import DEFAULT_DATASET, SYNTHETIC, benchmark_folder, data_provenance
from datasets.layouts import get_layout
from datasets.skeleton import STREAMS
from datasets.store import Split, benchmark_layout, load_split, read_manifest
from methods import available, get_method
from methods.base import build_backbone
from methods.checkpoint import check_skeleton, load_checkpoint
from methods.encoders.batchnorm import recalibrate_batchnorm
from methods.encoders.features import encoder_fingerprint
from methods.pretrain import RUN_FILE, default_preset, pretrain, resolve_preset
from methods.zoo import zoo_entry, zoo_recipe
from results import records_dir, reference_line, reference_records, summary_line, write_record
from results.curves import monitor_curve
from results.provenance import command_line, device_name, git_commit, now, parse_device
from utils.cli import seed_int, seed_list


def add_common_arguments(ap: argparse.ArgumentParser, streams: tuple[str, ...] = STREAMS) -> None:
    ap.add_argument("--method", required=True, help=f"one of: {', '.join(available())}")
    ap.add_argument("--dataset", default=DEFAULT_DATASET, help="benchmark id (default: %(default)s, synthetic data)")
    ap.add_argument("--data-root", type=Path, help="folder of prepared benchmarks (`python -m datasets.prepare --out`)")
    ap.add_argument("--stream", default="joint", choices=streams,
                    help="input stream (default: %(default)s)" + ("; all: one head per stream trained jointly on "
                                                                  "their averaged logits (CrosSCLR's view: all)"
                                                                  if "all" in streams else ""))
    ap.add_argument("--checkpoint", help="encoder checkpoint to evaluate, or 'random' for a random-init encoder "
                    "(default: the zoo checkpoint for the data, else pretrain with the default preset)")
    ap.add_argument("--pretrain", action="store_true", help="pretrain from scratch with the recorded recipe "
                    "instead of using the zoo checkpoint")
    ap.add_argument("--bn", choices=("training", "precise"), default="training",
                    help="BN statistics of the evaluated encoder: 'training' keeps the checkpoint's (as the official "
                         "code), 'precise' re-estimates them on the clean training set first, as the random-init "
                         "baseline always is (default: %(default)s)")
    ap.add_argument("--allow-mismatch", action="store_true",
                    help="evaluate a checkpoint whose recorded method, frames, graph or head differ from --method's "
                         "(refused by default; the record names every difference)")
    add_seed_arguments(ap, "the protocol (and, where it pretrains, the pretraining)")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--results-dir", type=Path, help="where to write the result record (default: your records folder, .cache/records or $SKELEBENCH_RESULTS)")
    ap.add_argument("--json", action="store_true", help="print the result record as one JSON line, for scripts")


def add_seed_arguments(ap: argparse.ArgumentParser, what: str) -> None:
    """``--seed N`` for one run, or ``--seeds 0,1,2`` for one run (and one record) per seed, which is
    how the leaderboard's mean ± sd over seeds is made (issue 13, item 6)."""
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--seed", type=seed_int, default=0, help=f"seed of {what}, 0 to 2**32 - 1 (default: %(default)s)")
    group.add_argument("--seeds", dest="run_seeds", type=seed_list, metavar="S,S,...",
                       help="run once per seed, e.g. 0,1,2: each run is complete on its own (record, checkpoint)")


def each_seed(args: argparse.Namespace) -> Iterator[argparse.Namespace]:
    """``args`` once per requested seed, with ``args.seed`` set (just once for a plain ``--seed``)."""
    seeds = getattr(args, "run_seeds", None)
    if not seeds:
        yield args
        return
    for i, seed in enumerate(seeds):
        print(f"seed {seed} ({i + 1} of {len(seeds)})", file=sys.stderr)
        yield argparse.Namespace(**{**vars(args), "seed": seed})


@dataclass
class TestLogits:
    """A classifier's raw logits on the test (val) part, at the final and at the best evaluation,
    with the labels and sample names that fix their order (fusion refuses another order)."""

    final: np.ndarray
    best: np.ndarray
    labels: np.ndarray
    names: list[str]

    def arrays(self) -> dict[str, np.ndarray]:
        return {"final": np.asarray(self.final, np.float32), "best": np.asarray(self.best, np.float32),
                "labels": np.asarray(self.labels, np.int64), "names": np.asarray(self.names, dtype=str)}


@dataclass
class Encoder:
    """The encoder under evaluation and where it came from."""

    module: nn.Module
    source: str  # "zoo", "checkpoint", "pretrained", "random"
    path: str | None
    preset: str | None
    epochs: int | None
    fingerprint: str
    layout: str | None = None  # the file's layout: a suite format or an official one (methods.official)
    pretrain_wall_s: float | None = None  # wall time of the pretraining run that produced it, when known
    variant: dict | None = None  # how the pretraining config departs from the method's defaults
    pretrain_seed: int | None = None  # the pretraining run's seed, when the file records it
    #: BN statistics the backbone is evaluated with: "training" (the running averages the run ended
    #: with, as the official code), "precise" (re-estimated on clean training data), None if unknown
    bn_statistics: str | None = None
    #: what the checkpoint records against what ``--method`` builds, where they differ and
    #: ``--allow-mismatch`` let it through: ``{field: [checkpoint's, method's]}``
    mismatch: dict | None = None
    #: the skeleton layout the encoder is built for (datasets.layouts), which the data must have
    skeleton: str = "ntu25"
    #: the pretraining run's held-out KNN monitor curve (:func:`monitor_curve`), when its run folder kept one
    pretraining_curve: dict | None = None


#: Config fields whose departure from a method's defaults names a variant (key_init is the quick
#: preset's, the stream has its own column).
VARIANT_FIELDS = ("frames", "graph", "head", "temperature", "dropout", "hidden_channels", "out_channels")


def method_variant(method_cls: type, config: dict | None) -> dict:
    """What a checkpoint's recorded pretraining config changes against the method's defaults:
    its options (``config.extra``) and the architecture/loss fields; ``{}`` for the defaults or
    when the file does not say (official files)."""
    if not config:
        return {}
    default = method_cls.default_config.to_dict()
    diff = {k: config[k] for k in VARIANT_FIELDS if k in config and config[k] != default[k]}
    extra, default_extra = config.get("extra") or {}, default["extra"]
    diff.update({k: v for k, v in extra.items() if k in default_extra and v != default_extra[k]})
    return diff


def checkpoint_mismatch(method_cls: type, meta: dict, encoder_kwargs: dict) -> dict[str, list]:
    """Where a checkpoint's recorded method, frames, graph or head differ from what ``method_cls``
    builds: ``{field: [checkpoint's, method's]}``. An official file records no method, frames or
    head; its graph (read from its ``A``) is still compared."""
    default = method_cls.default_config
    config = meta.get("config") or {}
    have = {"method": meta.get("method"), "frames": meta.get("frames", config.get("frames")),
            "graph": encoder_kwargs.get("graph"), "head": config.get("head")}
    want = {"method": method_cls.name, "frames": default.frames, "graph": default.graph, "head": default.head}
    return {k: [have[k], want[k]] for k in want if have[k] is not None and have[k] != want[k]}


def refuse_mismatch(path: Path, mismatch: dict[str, list], allow: bool) -> None:
    if mismatch and not allow:
        said = ", ".join(f"{k} {have} (--method wants {want})" for k, (have, want) in mismatch.items())
        raise ValueError(f"checkpoint {path} does not match --method: it records {said}; pass the method it was "
                         "trained with, or --allow-mismatch to evaluate it anyway (recorded)")


def data_layout(args: argparse.Namespace, frames: int) -> str:
    """The skeleton layout of ``args.dataset`` at ``frames`` (its manifest's; ``ntu25`` where absent)."""
    return benchmark_layout(benchmark_folder(args.dataset, frames, args.data_root)).name


def resolve_encoder(args: argparse.Namespace, device: torch.device) -> Encoder:
    """``--checkpoint random|PATH``, else the zoo entry, else (or with ``--pretrain``) pretraining.

    ``--stream`` picks the encoder of a multi-stream file (CrosSCLR); an official file has no
    meta, so its preset and epochs stay unknown (None) in the record. The encoder is for the
    benchmark's skeleton layout: a random one is built for it, the zoo (``ntu25`` data only) is
    skipped for another, and a checkpoint's layout is recorded (``Encoder.skeleton``) for
    :func:`check_frames` to refuse data of another, naming both. A checkpoint is read before the
    data are looked at, so a bad file is refused without generating or verifying anything.
    """
    method_cls = get_method(args.method)
    frames = method_cls.default_config.frames
    if args.checkpoint == "random":
        layout = data_layout(args, frames)
        torch.manual_seed(args.seed)
        module = build_backbone(replace(method_cls.default_config, layout=layout))
        return Encoder(module.eval(), "random", None, None, 0, encoder_fingerprint(module), skeleton=layout)
    if args.checkpoint:
        source, path, preset, epochs = "checkpoint", Path(args.checkpoint), None, None
    else:
        zoo = None if args.pretrain else zoo_entry(method_cls.name, args.dataset, args.stream)
        if zoo is not None:  # the zoo holds ntu25 encoders; other data are pretrained on instead
            zoo = zoo_entry(method_cls.name, args.dataset, args.stream, data_layout(args, frames))
        if zoo is not None:
            source, path = "zoo", zoo
            recipe = zoo_recipe(zoo)
            preset, epochs = recipe.get("preset", {}).get("name"), recipe.get("epochs")
        else:
            name = default_preset(args.dataset)
            preset, epochs = name, resolve_preset(method_cls, name, None).epochs
            source = "pretrained"
            if args.dataset in SYNTHETIC:  # real data have no zoo: pretraining them is what the user asked for
                print(f"no zoo entry for {method_cls.name} on {args.dataset} ({args.stream}): pretraining with the "
                      f"{name} preset first ({epochs} epochs; the progress bar shows the ETA, an interrupted run "
                      f"resumes, a finished one is reused)", file=sys.stderr)
            # resume=True: a pretraining an earlier protocol run started and was interrupted in
            # continues where it stopped (its state is checked to be this recipe's); nothing to
            # continue starts one (require_run stays False). The default run folder is named by the
            # data's fingerprint, so other files under this dataset id get their own run, never this one's
            path = pretrain(method_cls.name, args.dataset, name, None, None, True, args.seed, args.data_root,
                            args.stream, device)
    loaded = load_checkpoint(path, stream=args.stream)
    meta = loaded.meta
    mismatch = checkpoint_mismatch(method_cls, meta, loaded.encoder_kwargs)
    refuse_mismatch(path, mismatch, getattr(args, "allow_mismatch", False))
    if source == "checkpoint":
        preset, epochs = (meta.get("preset") or {}).get("name"), meta.get("epoch")
    module = loaded.encoder.eval()
    return Encoder(module, source, str(path), preset, epochs, encoder_fingerprint(module), loaded.layout,
                   meta.get("wall_s"), method_variant(method_cls, meta.get("config")), meta.get("seed"), "training",
                   mismatch or None, loaded.skeleton, run_curve(Path(path), meta))


def run_curve(checkpoint: Path, meta: dict) -> dict | None:
    """The monitor curve of the run that wrote ``checkpoint``: its run folder's ``run.json``, or a
    zoo entry's recipe (its ``loss_history`` is that run's history), when it names the same method,
    seed and data as the checkpoint (another run's file in the same folder says nothing about it)."""
    for path, key in ((checkpoint.parent / RUN_FILE, "history"), (checkpoint.with_suffix(".json"), "loss_history")):
        try:
            run = json.loads(path.read_text()) if path.is_file() else None
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(run, dict) or not isinstance(run.get(key), list):
            continue
        if any(meta.get(k) is not None and run.get(k) is not None and run[k] != meta[k]
               for k in ("method", "seed", "data_fingerprint")):
            continue
        return monitor_curve(run[key], meta.get("epoch"))
    return None


def precise_bn(encoder: Encoder, train: Split, stream: str, device: torch.device, force: bool = False) -> None:
    """Re-estimate the encoder's BN statistics on the clean training set (``methods/encoders/
    batchnorm.py``) when ``force`` (``--bn precise``) or when it is untrained, whose initial
    statistics fit nothing; the fingerprint then names the evaluated weights."""
    if force or encoder.source == "random":
        recalibrate_batchnorm(encoder.module, train, stream, device)
        encoder.fingerprint = encoder_fingerprint(encoder.module)
        encoder.bn_statistics = "precise"


def check_frames(encoder: Encoder, frames: int, args: argparse.Namespace | None = None) -> None:
    """Refuse an encoder that cannot take this data: one built for another skeleton layout than
    ``args.dataset``'s (the transfer protocol's target may differ from where the encoder was
    resolved), or, without ``args``, one whose graph does not match its own layout's joint count."""
    if args is not None:
        check_skeleton(encoder.path or f"{encoder.source} encoder", encoder.skeleton, data_layout(args, frames))
    a = getattr(encoder.module, "A", None)
    joints = get_layout(encoder.skeleton).num_joints
    if a is not None and a.shape[-1] != joints:
        raise ValueError(f"encoder graph has {a.shape[-1]} joints; layout {encoder.skeleton} has {joints}")


def load_parts(args: argparse.Namespace, frames: int) -> tuple[Path, Split, Split, dict]:
    """The benchmark's folder, parts and manifest; the test part without the clips named in
    ``args.drop_test_clips`` (set by ``protocols.transfer --drop-overlap``: clips the encoder was pretrained on)."""
    folder = benchmark_folder(args.dataset, frames, args.data_root)
    val = without_clips(load_split(folder, "val"), getattr(args, "drop_test_clips", None) or ())
    return folder, load_split(folder, "train"), val, read_manifest(folder)


def without_clips(split: Split, names: Collection[str]) -> Split:
    """``split`` less the samples named in ``names``, in its order (itself when none is named)."""
    if not names:
        return split
    keep = np.array([i for i, name in enumerate(split.names) if name not in names], dtype=np.int64)
    return Split(split.data[keep], [split.names[i] for i in keep], split.labels[keep])


def num_classes_of(manifest: dict, train: Split, val: Split) -> int:
    """The benchmark's class count: its manifest's, else one more than the largest label seen."""
    return int(manifest.get("num_classes") or int(max(train.labels.max(), val.labels.max())) + 1)


def same_encoder(method: str) -> list[str]:
    """The methods whose untrained encoder is ``method``'s: the same encoder, graph and widths (so
    on the same data and frames a random-init run of any of them is the floor of all of them)."""
    def network(name: str) -> tuple:
        c = get_method(name).default_config
        return c.encoder, c.graph, c.hidden_channels, c.out_channels
    return [m for m in available() if network(m) == network(method)] if method in available() else []


def finish(args: argparse.Namespace, protocol: str, encoder: Encoder, folder: Path, manifest: dict, frames: int,
           metrics: dict, protocol_config: dict, wall_s: float, device: torch.device,
           logits: TestLogits | None = None) -> dict:
    """Write the run's one result record and print its summary (or the record with --json) last.

    The record names the data by its verified fingerprint and folder, so a run on other files
    (regenerated, re-prepared, edited) is never mistaken for this one (the leaderboard keys on it).
    A protocol that trains a classifier passes its test ``logits``; they are saved beside the
    record (``<record>.logits.npz``) for 3-stream fusion (:mod:`protocols.ensemble`)."""
    dataset = args.dataset
    record = {
        "method": get_method(args.method).name, "dataset": dataset, "split": dataset.rsplit("-", 1)[-1],
        "stream": args.stream, "protocol": protocol, "preset": encoder.preset, "epochs": encoder.epochs,
        "seed": args.seed, "metrics": metrics, "frames": frames,
        "preprocessing": manifest.get("preprocessing"), "body_selection": manifest.get("body_selection"),
        "layout": benchmark_layout(manifest).name,
        "synthetic": dataset in SYNTHETIC, "data": data_provenance(folder, manifest),
        "checkpoint": {"source": encoder.source, "path": encoder.path, "sha256": encoder.fingerprint,
                       "layout": encoder.layout},
        "pretrain_wall_s": encoder.pretrain_wall_s, "pretrain_seed": encoder.pretrain_seed,
        "bn_statistics": encoder.bn_statistics,
        "variant": encoder.variant or {},
        **({"mismatch": encoder.mismatch} if encoder.mismatch else {}),
        **({"pretraining_curve": encoder.pretraining_curve} if encoder.pretraining_curve else {}),
        "protocol_config": protocol_config, "commit": git_commit(), "wall_s": round(wall_s, 2),
        "device": device_name(device), "created": now(), "command": command_line(),
    }
    path = write_record(record, args.results_dir, logits.arrays() if logits is not None else None)
    record["record_path"] = str(path)
    if not args.json and protocol != "difficulty":
        known = reference_records(args.results_dir)
        print(reference_line(record, known, same_encoder(record["method"])))
        beside = metrics.get("standardised_top1")
        if beside is not None:  # an official probe's record carries the standardised probe's figure too
            other = {**record, "metrics": {"top1": beside}, "protocol_config": {**protocol_config,
                                                                                 "probe": "standardised"}}
            print(f"standardised probe on the same features: top1 {beside:.2f}; "
                  + reference_line(other, known, same_encoder(record["method"])))
            print("how to read: the headline top1 is the official probe (SGD at LR 3.0 on the raw features, the "
                  "papers' protocol), which depends on how the features are conditioned; the standardised probe "
                  "does not. Compare each figure with its own random-init reference.")
    print(json.dumps(record, sort_keys=True) if args.json else summary_line(record))
    return record


#: Free space a results folder must have before a run starts: a record is kilobytes, a classifier's
#: test logits (final and best, float32) about 50 MB on NTU-120 X-Sub (50,919 clips x 120 classes).
RESULTS_SPACE = 64 << 20


def results_folder_named(directory: Path | str | None) -> str:
    """The results folder as an error names it: which option or variable chose it, and where it is."""
    folder = records_dir(directory)
    if directory is not None:
        return f"--results-dir {folder}"
    if os.environ.get("SKELEBENCH_RESULTS"):
        return f"results folder {folder} (from $SKELEBENCH_RESULTS)"
    return f"results folder {folder} (the default)"


def check_results_dir(directory: Path | str | None) -> None:
    """Refuse, before the work, a results folder that cannot be created or written, or whose disk is
    nearly full: a run of minutes or hours must not end in a traceback with nothing to show (issue
    24). The folder is created and a probe file written and removed; folders made for the probe are
    removed again, so a run refused later for another reason leaves nothing behind. (As root, file
    modes stop no write; the probe tests what the writer will do, not what the modes say.)"""
    folder = records_dir(directory)
    made = [p for p in (folder, *folder.parents) if not p.exists()]  # deepest first
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
        free = shutil.disk_usage(folder).free
    except OSError as err:
        raise ValueError(f"{results_folder_named(directory)} cannot be written ({err.strerror or err}); pass "
                         "--results-dir a folder this user can create and write") from None
    finally:
        for path in made:
            try:
                path.rmdir()
            except OSError:
                pass  # not made, or no longer empty: leave it
    if free < RESULTS_SPACE:
        raise ValueError(f"the disk of {folder} is full ({free >> 10} KiB free; a record and its logits need up to "
                         f"{RESULTS_SPACE >> 20} MiB): free space there, or pass --results-dir a folder on another "
                         "disk")


def run_cli(build: Callable[[], argparse.ArgumentParser], body: Callable[[argparse.Namespace, torch.device], dict],
            argv: list[str] | None = None) -> int:
    """Parse, run, and turn expected failures into one clear line and exit code 2.

    The results folder is checked before the work (:func:`check_results_dir`); an OSError after it
    (a disk that filled up meanwhile: :func:`results.write_record` then leaves nothing behind) is
    one line too, never a traceback."""
    args = build().parse_args(argv)
    try:
        device = parse_device(args.device)
        if hasattr(args, "results_dir"):
            check_results_dir(args.results_dir)
        for run in each_seed(args):
            body(run, device)
    except (ValueError, OSError, FloatingPointError) as err:  # OSError includes FileNotFoundError
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
