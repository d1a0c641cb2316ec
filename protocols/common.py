"""What every protocol shares: the spec every protocol's spec extends (what to evaluate, on
what, how: a frozen dataclass, so a protocol runs from Python as from its command line), choosing
the encoder to evaluate, loading the benchmark, and finishing with one result record. The command
lines that build the specs are :mod:`protocols.cli`'s."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Collection, Iterator
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

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
from methods.encoders import ENCODERS
from methods.encoders.batchnorm import recalibrate_batchnorm
from methods.encoders.features import encoder_fingerprint
from methods.train import TrainConfig, train
from methods.train.config import default_preset, resolve_preset
from methods.train.folder import RUN_FILE
from methods.training_state import BEFORE_PRESET, preset_differences
from methods.zoo import zoo_entry, zoo_recipe
from results import records_dir, reference_line, reference_records, summary_line, write_record
from results.curves import monitor_curve
from results.provenance import command_line, device_name, git_commit, now, parse_device
from utils.cli import positive_int, seed_int, seed_list

#: BN statistics an evaluated encoder may use (``--bn``): the checkpoint's, or re-estimated.
BN_STATISTICS = ("training", "precise")


def as_option(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    """An argparse ``type`` (text to value) as the check of a spec field: a value built in Python
    goes through the very parse its option's text does, so ``epochs=0`` is refused by the rule
    that refuses ``--epochs 0``, and the field holds what the command line would have put there."""
    return lambda value: parse(str(value))


def as_list_option(parse: Callable[[str], Any]) -> Callable[[Any], Any]:
    """A comma-separated option's ``type`` (``--seeds 0,1,2``) as the check of a sequence field
    (or of the same text)."""
    return lambda value: parse(value if isinstance(value, str) else ",".join(str(v) for v in value))


def each(parse: Callable[[str], Any]) -> Callable[[Any], tuple]:
    """The check of a field whose option takes several values (``nargs``): ``parse`` on each."""
    return lambda values: tuple(parse(str(v)) for v in values)


def known_method(name: str) -> str:
    """``name`` when it names a method (in any case, as :func:`get_method` reads it), else the same
    ValueError a run would meet later."""
    if not isinstance(name, str):
        raise TypeError(f"a method is named by a string, got {name!r}")
    get_method(name)
    return name


def spec_field(default: Any = MISSING, *, check: Callable[[Any], Any] | None = None,
               choices: tuple[str, ...] | None = None) -> Any:
    """A spec field checked as its command-line option is, by the option's own ``type`` (through
    :func:`as_option`) or its ``choices``: the rule is declared once, beside the field, and holds
    for a spec built in Python as for one built from a command line (:func:`check_spec`)."""
    metadata = {"check": check, "choices": choices}
    return field(metadata=metadata) if default is MISSING else field(default=default, metadata=metadata)


def count_field(default: int | None = None) -> Any:
    """A count option (``--epochs``), at least 1 (``positive_int``); None where the recipe decides."""
    return spec_field(default, check=as_option(positive_int))


def check_spec(spec: Any) -> None:
    """Check and normalise every field of a frozen spec from its :func:`spec_field` metadata: the
    value a check returns is kept (a list becomes a tuple, text a Path), so a spec built in Python
    equals the one a command line builds. A refusal is a ValueError naming the field, e.g.
    ``LinearSpec.epochs: must be at least 1, got 0``; a check's own ValueError (an unknown method)
    already says what is wrong and passes through as the command line shows it. None is "not
    given" and never checked."""
    for f in fields(spec):
        value = getattr(spec, f.name)
        if value is None or not f.metadata:
            continue
        choices, check = f.metadata.get("choices"), f.metadata.get("check")
        if choices is not None and value not in choices:
            raise ValueError(f"{type(spec).__name__}.{f.name}: invalid choice {value!r} (choose from "
                             f"{', '.join(map(repr, choices))})")
        if check is not None:
            try:
                value = check(value)
            except (TypeError, argparse.ArgumentTypeError) as err:
                raise ValueError(f"{type(spec).__name__}.{f.name}: {err}") from None
            object.__setattr__(spec, f.name, value)


@dataclass(frozen=True, kw_only=True)
class RecordSpec:
    """What every protocol's spec names: the method, the benchmark, and the folder its result
    record goes to. Specs are frozen and keyword-only: a run is a value that can be compared,
    stored and composed (:func:`recast`, ``dataclasses.replace``) without faking a command line.
    Each field's default is its command-line option's (:mod:`protocols.cli`)."""

    method: str = spec_field(check=known_method)
    dataset: str = DEFAULT_DATASET
    #: where to write the result record (None: your records folder, .cache/records or $SKELEBENCH_RESULTS)
    results_dir: Path | None = spec_field(None, check=Path)

    def __post_init__(self) -> None:
        check_spec(self)


@dataclass(frozen=True, kw_only=True)
class DataSpec(RecordSpec):
    """A spec of a run that reads a benchmark on a device and prints its record."""

    #: folder of prepared benchmarks (``python -m datasets.prepare --out``); None: the synthetic cache
    data_root: Path | None = spec_field(None, check=Path)
    #: cpu or cuda (None: cuda when available); checked when the run starts, on the machine it runs on
    device: str | None = None
    #: print the result record as one JSON line instead of the summary
    json: bool = False


@dataclass(frozen=True, kw_only=True)
class ProtocolSpec(DataSpec):
    """What every evaluation protocol shares (:func:`protocols.cli.add_common_arguments`): which
    encoder of the method (zoo, ``checkpoint`` path, ``"random"``, or pretrained), on which
    stream, with which BN statistics and seed."""

    stream: str = spec_field("joint", choices=STREAMS)
    #: encoder checkpoint to evaluate, or "random"; None: the zoo's, else pretrain the default preset
    checkpoint: str | None = spec_field(None, check=str)
    #: pretrain from scratch with the recorded recipe instead of using the zoo checkpoint
    pretrain: bool = False
    bn: str = spec_field("training", choices=BN_STATISTICS)
    #: evaluate a checkpoint whose recorded method, frames, graph or head differ (recorded)
    allow_mismatch: bool = False
    #: a registered encoder in place of the method's own (None: the method's, or a checkpoint's own)
    encoder: str | None = spec_field(None, choices=tuple(ENCODERS))
    seed: int = spec_field(0, check=as_option(seed_int))
    #: the command line's ``--seeds``: one run (and record) per seed, each a spec of its own (:func:`each_seed`)
    run_seeds: tuple[int, ...] | None = spec_field(None, check=as_list_option(seed_list))


#: Any spec type (the argument and result of the functions that take one spec to another).
S = TypeVar("S", bound=RecordSpec)
D = TypeVar("D", bound=DataSpec)


def recast(spec: RecordSpec, spec_type: type[S], **changes: Any) -> S:
    """``spec`` as a ``spec_type``: the fields they share carried over, ``changes`` applied, the
    others at ``spec_type``'s defaults. How one protocol hands its settings to another (transfer's
    target protocol) without mutating its own spec; the result is checked as any spec is."""
    names = {f.name for f in fields(spec_type)}
    shared = {f.name: getattr(spec, f.name) for f in fields(spec) if f.name in names}
    return spec_type(**{**shared, **changes})


def each_seed(spec: S) -> Iterator[S]:
    """``spec`` once per requested seed (``run_seeds``), each with its ``seed`` set and no
    ``run_seeds`` (just ``spec`` for one seed), announced on stderr as it starts."""
    seeds = spec.run_seeds if isinstance(spec, ProtocolSpec) else None
    if not seeds:
        yield spec
        return
    for i, seed in enumerate(seeds):
        print(f"seed {seed} ({i + 1} of {len(seeds)})", file=sys.stderr)
        yield replace(spec, seed=seed, run_seeds=None)


def run_spec(spec: D, evaluate: Callable[[D, torch.device], dict], device: torch.device | str | None = None) -> dict:
    """One run of a protocol from Python, as its command line runs it: the device (``device``,
    else the spec's, else cuda when available), the results folder checked before the work
    (:func:`check_results_dir`: hours of work must not end unwritable), then ``evaluate``.
    A spec with ``run_seeds`` is refused: a run is one seed; :func:`each_seed` gives one spec each."""
    if isinstance(spec, ProtocolSpec) and spec.run_seeds:
        raise ValueError(f"a run evaluates one seed (spec.seed), not run_seeds {list(spec.run_seeds)}; run each spec "
                         "of protocols.common.each_seed(spec) for one record per seed")
    if not isinstance(device, torch.device):
        device = parse_device(device if device is not None else spec.device)
    check_results_dir(spec.results_dir)
    return evaluate(spec, device)


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
    checkpoint_format: str | None = None  # the file's: a suite format or an official key layout (methods.official)
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
    #: the registered encoder (:data:`methods.encoders.ENCODERS`): records name it, the leaderboard groups by it
    backbone: str = "stgcn"
    #: the warning its pretraining run ended with (:func:`run_warning`), when it ended with one
    pretraining_warning: str | None = None


#: Config fields whose departure from a method's defaults names a variant (key_init is the quick
#: preset's, the stream has its own column).
VARIANT_FIELDS = ("frames", "graph", "head", "temperature", "dropout", "hidden_channels", "out_channels")


def method_variant(method_cls: type, config: dict | None, preset: dict | None = None) -> dict:
    """What a checkpoint's recorded pretraining changes against the method's defaults: its options
    (``config.extra``), the architecture/loss fields, and the recipe numbers (LR, batch, queue, …)
    where the run's recorded ``preset`` differs from the preset of its name as this code defines it
    for the run's encoder and epochs. Without the numbers, a run of a patched or since-changed
    recipe would be recorded, ranked and averaged as the named one. ``{}`` for the defaults or when
    the file does not say (official files)."""
    if not config:
        return {}
    default = method_cls.default_config.to_dict()
    diff = {k: config[k] for k in VARIANT_FIELDS if k in config and config[k] != default[k]}
    extra, default_extra = config.get("extra") or {}, default["extra"]
    diff.update({k: v for k, v in extra.items() if k in default_extra and v != default_extra[k]})
    name = (preset or {}).get("name")
    if name in method_cls.presets:
        named = asdict(resolve_preset(method_cls, name, preset.get("epochs"), config.get("encoder")))
        recorded = {**BEFORE_PRESET, **preset}
        diff.update({k: recorded.get(k) for k in preset_differences(preset, named)})
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


def data_layout(spec: DataSpec, frames: int) -> str:
    """The skeleton layout of ``spec.dataset`` at ``frames`` (its manifest's; ``ntu25`` where absent)."""
    return benchmark_layout(benchmark_folder(spec.dataset, frames, spec.data_root)).name


def resolve_encoder(spec: ProtocolSpec, device: torch.device) -> Encoder:
    """``--checkpoint random|PATH``, else the zoo entry, else (or with ``--pretrain``) pretraining.

    ``--encoder`` builds (random), pretrains or asks a checkpoint for another registered encoder than
    the method's own (the zoo holds the methods' own only); a checkpoint of another is refused
    (:func:`refuse_other_encoder`). ``--stream`` picks the encoder of a multi-stream file (CrosSCLR); an official file has no
    meta, so its preset and epochs stay unknown (None) in the record. The encoder is for the
    benchmark's skeleton layout: a random one is built for it, the zoo (``ntu25`` data only) is
    skipped for another, and a checkpoint's layout is recorded (``Encoder.skeleton``) for
    :func:`check_frames` to refuse data of another, naming both. A checkpoint is read before the
    data are looked at, so a bad file is refused without generating or verifying anything.
    """
    method_cls = get_method(spec.method)
    frames = method_cls.default_config.frames
    own = method_cls.default_config.encoder
    if spec.checkpoint == "random":
        layout = data_layout(spec, frames)
        torch.manual_seed(spec.seed)
        module = build_backbone(replace(method_cls.default_config, layout=layout, encoder=spec.encoder or own))
        return Encoder(module.eval(), "random", None, None, 0, encoder_fingerprint(module), skeleton=layout,
                       backbone=spec.encoder or own)
    if spec.checkpoint:
        source, path, preset, epochs = "checkpoint", Path(spec.checkpoint), None, None
    else:  # the zoo holds the methods' own encoders
        zoo = None if spec.pretrain or spec.encoder not in (None, own) else \
            zoo_entry(method_cls.name, spec.dataset, spec.stream)
        if zoo is not None:  # the zoo holds ntu25 encoders; other data are pretrained on instead
            zoo = zoo_entry(method_cls.name, spec.dataset, spec.stream, data_layout(spec, frames))
        if zoo is not None:
            source, path = "zoo", zoo
            recipe = zoo_recipe(zoo)
            preset, epochs = recipe.get("preset", {}).get("name"), recipe.get("epochs")
        else:
            name = default_preset(spec.dataset)
            preset, epochs = name, resolve_preset(method_cls, name, None, spec.encoder).epochs
            source = "pretrained"
            if spec.dataset in SYNTHETIC:  # real data have no zoo: pretraining them is what the user asked for
                print(f"no zoo entry for {method_cls.name} on {spec.dataset} ({spec.stream}): pretraining with the "
                      f"{name} preset first ({epochs} epochs; the progress bar shows the ETA, an interrupted run "
                      f"resumes, a finished one is reused)", file=sys.stderr)
            # resume=True: a pretraining an earlier protocol run started and was interrupted in
            # continues where it stopped (its state is checked to be this recipe's); nothing to
            # continue starts one (require_run stays False). The default run folder is named by the
            # data's fingerprint, so other files under this dataset id get their own run, never this one's
            path = train(TrainConfig(method_cls.name, spec.dataset, preset=name, resume=True, seed=spec.seed,
                                     data_root=spec.data_root, stream=spec.stream, device=device,
                                     encoder=spec.encoder))
    loaded = load_checkpoint(path, stream=spec.stream)
    refuse_other_encoder(path, loaded.name, spec.encoder)
    meta = loaded.meta
    mismatch = checkpoint_mismatch(method_cls, meta, loaded.encoder_kwargs)
    refuse_mismatch(path, mismatch, spec.allow_mismatch)
    if source == "checkpoint":
        preset, epochs = (meta.get("preset") or {}).get("name"), meta.get("epoch")
    module = loaded.encoder.eval()
    return Encoder(module, source, str(path), preset, epochs, encoder_fingerprint(module), loaded.checkpoint_format,
                   meta.get("wall_s"), method_variant(method_cls, meta.get("config"), meta.get("preset")), meta.get("seed"), "training",
                   mismatch or None, loaded.skeleton, run_curve(Path(path), meta), loaded.name,
                   run_warning(Path(path), meta))


def refuse_other_encoder(path: Path, held: str, asked: str | None) -> None:
    """Refuse a checkpoint of another encoder than ``--encoder`` asks for: its weights fit only the
    network they were trained in. Without ``--encoder`` a checkpoint is evaluated as what it holds."""
    if asked is not None and held != asked:
        raise ValueError(f"checkpoint {path} holds a {held} encoder, not {asked}: pass --encoder {held} (or no "
                         f"--encoder) to evaluate it, or a checkpoint pretrained with --encoder {asked}")


def pretraining_run(checkpoint: Path, meta: dict) -> tuple[dict, list] | None:
    """The run that wrote ``checkpoint`` and its history: its run folder's ``run.json``, or a zoo
    entry's recipe (its ``loss_history`` is that run's history), when it names the same method,
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
        return run, run[key]
    return None


def run_curve(checkpoint: Path, meta: dict) -> dict | None:
    """The held-out monitor curve of the run that wrote ``checkpoint`` (:func:`pretraining_run`), up
    to the checkpoint's epoch."""
    found = pretraining_run(checkpoint, meta)
    return monitor_curve(found[1], meta.get("epoch")) if found else None


def run_warning(checkpoint: Path, meta: dict) -> str | None:
    """The warning the run that wrote ``checkpoint`` ended with (a likely collapse:
    :func:`methods.train.monitor.collapse_warning`), for the final encoder of that run only: an
    evaluation of it says so, and its record keeps it, so no table shows the number without it."""
    found = pretraining_run(checkpoint, meta)
    if not found:
        return None
    run, _ = found
    last = meta.get("epoch")
    warning = run.get("warning")
    return warning if isinstance(warning, str) and warning and (last is None or last == run.get("epochs")) else None


def precise_bn(encoder: Encoder, train: Split, stream: str, device: torch.device, force: bool = False) -> None:
    """Re-estimate the encoder's BN statistics on the clean training set (``methods/encoders/
    batchnorm.py``) when ``force`` (``--bn precise``) or when it is untrained, whose initial
    statistics fit nothing; the fingerprint then names the evaluated weights."""
    if force or encoder.source == "random":
        recalibrate_batchnorm(encoder.module, train, stream, device)
        encoder.fingerprint = encoder_fingerprint(encoder.module)
        encoder.bn_statistics = "precise"


def check_frames(encoder: Encoder, frames: int, spec: DataSpec | None = None) -> None:
    """Refuse an encoder that cannot take this data: one built for another skeleton layout than
    ``spec.dataset``'s (the transfer protocol's target may differ from where the encoder was
    resolved), or, without ``spec``, one whose graph does not match its own layout's joint count."""
    if spec is not None:
        check_skeleton(encoder.path or f"{encoder.source} encoder", encoder.skeleton, data_layout(spec, frames))
    a = getattr(encoder.module, "A", None)
    joints = get_layout(encoder.skeleton).num_joints
    if a is not None and a.shape[-1] != joints:
        raise ValueError(f"encoder graph has {a.shape[-1]} joints; layout {encoder.skeleton} has {joints}")


def load_parts(spec: DataSpec, frames: int, drop_test_clips: Collection[str] = ()) -> tuple[Path, Split, Split, dict]:
    """The benchmark's folder, parts and manifest; the test part without the clips named in
    ``drop_test_clips`` (``protocols.transfer --drop-overlap``: clips the encoder was pretrained on)."""
    folder = benchmark_folder(spec.dataset, frames, spec.data_root)
    val = without_clips(load_split(folder, "val"), drop_test_clips)
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


def same_encoder(method: str, encoder: str | None = None) -> list[str]:
    """The methods whose untrained ``encoder`` (default: the method's own) is ``method``'s: the same
    network built from the same config fields (ST-GCN's graph and widths; a transformer's are the
    same for every method), so on the same data and frames a random-init run of any of them is the
    floor of all of them."""
    def network(name: str) -> tuple:
        c = get_method(name).default_config
        c = replace(c, encoder=encoder or c.encoder)
        return c.encoder, tuple(sorted(c.encoder_kwargs().items()))
    return [m for m in available() if network(m) == network(method)] if method in available() else []


def finish(spec: ProtocolSpec, protocol: str, encoder: Encoder, folder: Path, manifest: dict, frames: int,
           metrics: dict, protocol_config: dict, wall_s: float, device: torch.device,
           logits: TestLogits | None = None, warning: str | None = None) -> dict:
    """Write the run's one result record and print its summary (or the record with --json) last.
    ``warning`` (a fit that learnt nothing) is kept in the record, as a pretraining's ``run.json`` keeps its own.

    The record names the data by its verified fingerprint and folder, so a run on other files
    (regenerated, re-prepared, edited) is never mistaken for this one (the leaderboard keys on it).
    A protocol that trains a classifier passes its test ``logits``; they are saved beside the
    record (``<record>.logits.npz``) for 3-stream fusion (:mod:`protocols.ensemble`)."""
    dataset = spec.dataset
    record = {
        "method": get_method(spec.method).name, "dataset": dataset, "split": dataset.rsplit("-", 1)[-1],
        "stream": spec.stream, "protocol": protocol, "preset": encoder.preset, "epochs": encoder.epochs,
        "seed": spec.seed, "metrics": metrics, "frames": frames,
        "preprocessing": manifest.get("preprocessing"), "body_selection": manifest.get("body_selection"),
        "layout": benchmark_layout(manifest).name,
        "synthetic": dataset in SYNTHETIC, "data": data_provenance(folder, manifest),
        "encoder": encoder.backbone,
        "checkpoint": {"source": encoder.source, "path": encoder.path, "sha256": encoder.fingerprint,
                       "layout": encoder.checkpoint_format},
        "pretrain_wall_s": encoder.pretrain_wall_s, "pretrain_seed": encoder.pretrain_seed,
        "bn_statistics": encoder.bn_statistics,
        "variant": encoder.variant or {},
        **({"mismatch": encoder.mismatch} if encoder.mismatch else {}),
        **({"pretraining_curve": encoder.pretraining_curve} if encoder.pretraining_curve else {}),
        **({"pretraining_warning": encoder.pretraining_warning} if encoder.pretraining_warning else {}),
        "protocol_config": protocol_config, "commit": git_commit(), "wall_s": round(wall_s, 2),
        "device": device_name(device), "created": now(), "command": command_line(),
        **({"warning": warning} if warning else {}),
    }
    path = write_record(record, spec.results_dir, logits.arrays() if logits is not None else None)
    record["record_path"] = str(path)
    if not spec.json and protocol != "difficulty":
        known = reference_records(spec.results_dir)
        print(reference_line(record, known, same_encoder(record["method"], record["encoder"])))
        beside = metrics.get("standardised_top1")
        if beside is not None:  # an official probe's record carries the standardised probe's figure too
            other = {**record, "metrics": {"top1": beside}, "protocol_config": {**protocol_config,
                                                                                 "probe": "standardised"}}
            print(f"standardised probe on the same features: top1 {beside:.2f}; "
                  + reference_line(other, known, same_encoder(record["method"], record["encoder"])))
            print("how to read: the headline top1 is the official probe (SGD at LR 3.0 on the raw features, the "
                  "papers' protocol), which depends on how the features are conditioned; the standardised probe "
                  "does not. Compare each figure with its own random-init reference.")
    if encoder.pretraining_warning:
        print(f"warning: this encoder's pretraining ended with a warning, kept in the record: "
              f"{encoder.pretraining_warning}", file=sys.stderr)
    print(json.dumps(record, sort_keys=True) if spec.json else summary_line(record))
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
