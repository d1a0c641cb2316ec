"""Result records as one table, and what groups them: which data, which recipe, which evidence.

Every function here is pure (records in, frames out). The rules:

* A record is one run. Reruns of exactly the same evaluation (same checkpoint file, data, seeds
  and options) are one run: the newest wins.
* Records on different data never mix: synthetic records are grouped by the generator version
  their data names (older records, from before records named their data, are a group of their
  own), and within a group a cell aggregates only records of one benchmark (:func:`results.data_key`:
  the files' fingerprint; for generated data its generator parameters, as its bytes differ across CPUs).
* A *recipe* is everything but the seeds: records that differ only in the pretraining seed, the
  protocol seed or the checkpoint file of one recipe are aggregated (mean ± sd, n). Anything else
  that differs — an option, the BN treatment, the probe's setting, the preset, the epochs, the
  encoder — makes another recipe, so variants are never averaged together.
* A record names the encoder that made its features (``encoder``: ST-GCN, the transformer…);
  records from before that field read as the method's default encoder (the registry's). Two
  encoders are never one run, one recipe or one floor.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from leaderboard.registry import (
    encoder_fields,
    encoder_titles,
    method_order,
    method_titles,
    methods,
    same_encoder,
    vote_temperature,
)
from results import data_key, record_encoder, variant_label

#: Layout names of the authors' checkpoints (:data:`methods.official.CHECKPOINT_FORMATS`; a test keeps the
#: two equal). A record whose encoder came from such a file counts as evidence about the
#: authors' released weights.
OFFICIAL_LAYOUTS = ("moco-pretrain", "crossclr-3views-pretrain", "moco-eval", "crossclr-3views-eval", "st-gcn")
METHOD_NAME = method_titles()
METHOD_ORDER = method_order()
STREAM_CODE = {"joint": "J", "motion": "M", "bone": "B"}
#: How a record's encoder was obtained, in the order rows appear.
EVIDENCE_ORDER = ("released-checkpoint", "paper-preset", "pretrained", "random-init", "supervised")
#: Encoder registry name → the title tables show (``stgcn`` → ST-GCN), from the registry.
ENCODER_TITLE = encoder_titles()
#: Encoders in the order tables list them: the registry's (ST-GCN first).
ENCODER_ORDER = tuple(ENCODER_TITLE)
#: A graph other than the encoder's own, named after the network it comes from (SkeleMixCLR's).
GRAPH_NAME = {"agcn": "2s-AGCN graph"}
#: The columns that make two records the same run (the newest of them is kept).
RUN_KEY = ("method", "encoder", "variant", "dataset", "fingerprint", "stream", "protocol", "setting", "schedule",
           "checkpoint", "checkpoint_sha", "bn", "pretrain_seed", "seed", "preset", "epochs")
#: The columns of a recipe: records equal in these are seeds of one recipe (``normalisation`` follows
#: from the fingerprint; it is carried so the tables can name it).
RECIPE_KEY = ("data_group", "dataset", "fingerprint", "normalisation", "frames", "method", "encoder", "variant",
              "stream", "protocol", "setting", "schedule", "evidence", "preset", "epochs", "bn", "mismatch")


def encoder_title(encoder: str) -> str:
    """``stgcn`` → ST-GCN: an encoder as the tables name it (an unknown name as it is, "–" for none)."""
    return ENCODER_TITLE.get(encoder, encoder) if encoder else "–"


def encoder_rank(encoder: str) -> int:
    """Encoders in the registry's order (ST-GCN first), unknown ones after."""
    return ENCODER_ORDER.index(encoder) if encoder in ENCODER_ORDER else len(ENCODER_ORDER)


def backbone_encoder(backbone: object) -> str:
    """The suite encoder a backbone as ``reported.csv`` writes it is (``ST-GCN(h16)``, ``ST-GCN,
    2s-AGCN graph`` → ``stgcn``): the registry encoder whose title it starts with, as a whole word
    (the longest title first: Transformer-L is not Transformer); "" for a backbone the suite does
    not have (BiGRU) or none."""
    text = backbone if isinstance(backbone, str) else ""
    for name, title in sorted(ENCODER_TITLE.items(), key=lambda kv: -len(kv[1])):
        if re.match(re.escape(title) + r"(?=$|[(,\s])", text):
            return name
    return ""


def network(method: str, variant: dict | None = None, encoder: str | None = None) -> str:
    """The network a record of ``method`` ran on ``encoder`` (default: the method's own), as
    ``reported.csv`` names backbones: the encoder's title, with the fields it is built from that a
    reader tells networks apart by, read from the registry (``variant`` overriding them as it did
    for the run): ``ST-GCN(h16)`` (hidden width 16) for SkeletonCLR, AimCLR and CrosSCLR,
    ``ST-GCN(h16), 2s-AGCN graph`` for SkeleMixCLR(+); ``Transformer`` whatever the method (no
    width or graph is among its fields). "–" for a method the suite does not have."""
    if method not in methods():
        return "–"
    config = methods()[method]
    over = variant if isinstance(variant, dict) else {}
    encoder = encoder or over.get("encoder") or config["encoder"]
    fields, name = encoder_fields(encoder), encoder_title(encoder)
    if "hidden_channels" in fields:
        name += f"(h{over.get('hidden_channels', config['hidden_channels'])})"
    graph = over.get("graph", config["graph"])
    return f"{name}, {GRAPH_NAME[graph]}" if "graph" in fields and graph in GRAPH_NAME else name


def method_option(method: str, variant: str) -> bool:
    """Whether a recipe's variant label (``[shared_head=False]``) switches one of the method's own
    options (``--option``, a diagnostic or a corrected quirk) rather than only the fields its preset
    sets (SkeleMixCLR+'s quick/cpu temperature): such runs are not the method as the recipe runs it."""
    if method not in methods() or not isinstance(variant, str):
        return False
    return bool(set(re.findall(r"(\w+)=", variant)) & set(methods()[method]["options"]))


def recipe_variant(method: str, preset: str | None, variant: object) -> object:
    """A record's variant (what its pretraining changed against the method's defaults) restated
    against its recipe, where the recipe sets method options itself (CrosSCLR's ``cpu``): an option
    at the recipe's value is no departure, and one the run left at the method's default, where the
    recipe sets another, is (``shared_head=True`` for a run of the official head before the recipe set it)."""
    facts = methods().get(method, {})
    own = facts.get("recipe_options", {}).get(preset)
    if not own or not isinstance(variant, dict | None):
        return variant
    changed = dict(variant or {})
    for key, value in own.items():
        if changed.get(key, facts["option_defaults"][key]) == value:
            changed.pop(key, None)
        else:
            changed[key] = changed.get(key, facts["option_defaults"][key])
    return changed


def protocol_setting(record: dict) -> str:
    """What makes runs of one protocol incomparable with each other: the labelled fraction
    (semi), the features and bank (knn), the source and any test clips dropped for overlap
    (transfer), the fused protocol and logits
    (ensemble), a probe other than the official one (``--probe standardised``), training on
    augmented clips (``--augment``); "" for the official setting."""
    cfg, protocol = record.get("protocol_config") or {}, record.get("protocol")
    base = ""
    if protocol == "semi" and cfg.get("fraction") is not None:
        base = f"{100 * float(cfg['fraction']):g}%"
    elif protocol == "knn":
        base = cfg.get("features", "backbone") + (", augmented bank" if cfg.get("augmented_bank") else "")
        if cfg.get("t") is not None and float(cfg["t"]) != vote_temperature():  # moves the weighted-vote figures
            base += f", t={float(cfg['t']):g}"
    elif protocol == "transfer":
        base = f"from {cfg.get('source')} ({cfg.get('eval')})"
        if cfg.get("overlap_dropped"):  # evaluated on fewer test clips (the leakage-free subset): another table
            base += f", {int(cfg['overlap_dropped'])} pretrained test clips dropped"
    elif protocol == "ensemble":
        base = f"{cfg.get('fused_protocol')}, {cfg.get('logits')} logits"
    probe = cfg.get("probe")  # a probe variant (protocols.linear --probe) is another recipe
    augment = cfg.get("augment")  # fine-tune / semi on augmented clips (--augment) is another recipe
    return ", ".join(x for x in (base, f"{probe} probe" if probe not in (None, "official") else "",
                                 f"{augment} augmentation" if augment not in (None, "none") else "") if x)


def schedule(record: dict) -> str:
    """How a protocol's own training schedule departs from the official one: ``"5 of 150 epochs"``
    for a shortened semi/finetune run (``--epochs``), ``"120 epochs against the official 110"`` for a
    lengthened one, ``"batch 16"`` for another batch size (``--batch-size``), else ""; such a run
    is another recipe."""
    cfg = record.get("protocol_config") or {}
    epochs, official = cfg.get("epochs"), cfg.get("official_epochs")
    parts = []
    if epochs is not None and official is not None and int(epochs) != int(official):
        shorter = int(epochs) < int(official)
        parts.append(f"{int(epochs)} of {int(official)} epochs" if shorter
                     else f"{int(epochs)} epochs against the official {int(official)}")
    batch, official_batch = cfg.get("batch_size"), cfg.get("official_batch_size")
    if batch is not None and official_batch is not None and int(batch) != int(official_batch):
        parts.append(f"batch {int(batch)}")
    return ", ".join(parts)


def bn_statistics(record: dict) -> str:
    """``precise`` (re-estimated on clean training data), ``training`` (what pretraining ended
    with, as the official code) or ``trained`` (a fine-tune in train mode set them itself). Older
    records lack the field: random-init rows were always re-estimated, checkpoints never."""
    if record.get("bn_statistics"):
        return record["bn_statistics"]
    if (record.get("protocol_config") or {}).get("bn_mode") == "train":  # whole-network training set them
        return "trained"
    return "precise" if (record.get("checkpoint") or {}).get("source") == "random" else "training"


def evidence(record: dict) -> str:
    """What the record is evidence of: the authors' ``released-checkpoint`` (an official-layout
    file), an own ``paper-preset`` pretraining, another ``pretrained`` encoder (zoo, quick preset,
    a user's file), the untrained encoder (``random-init``), or the ``supervised`` baseline
    (finetune from random init)."""
    ckpt = record.get("checkpoint") or {}
    if ckpt.get("source") == "random":
        return "supervised" if record.get("protocol") == "finetune" else "random-init"
    if ckpt.get("layout") in OFFICIAL_LAYOUTS:
        return "released-checkpoint"
    if record.get("preset") == "paper":
        return "paper-preset"
    return "pretrained"


def data_group(record: dict) -> str:
    """The data a record belongs with: ``real`` for real benchmarks (cells still split by
    fingerprint), ``synthetic v<N>`` by the generator version, ``synthetic, unversioned`` for
    records from before records named their data."""
    if not record.get("synthetic"):
        return "real"
    version = (record.get("data") or {}).get("generator_version")
    return f"synthetic v{version}" if version is not None else "synthetic, unversioned"


def second_metric(record: dict) -> float | None:
    """A protocol's second number beside top-1: the weighted k-NN vote at k=20 (knn), the mean
    accuracy kept under corruption (robustness)."""
    m = record.get("metrics") or {}
    if record.get("protocol") == "knn":
        return (m.get("knn_top1") or {}).get("20")
    if record.get("protocol") == "robustness":
        return m.get("mean_relative")
    return None


def _int_or_none(value: object) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def record_warning(record: dict) -> str:
    """What a record warns of, "" when nothing: the protocol's own warning (a fit at chance) and the
    warning its encoder's pretraining ended with (a likely collapse), each named by where it comes from."""
    parts = [f"{what}: {record[key]}" for key, what in (("warning", "evaluation"), ("pretraining_warning", "pretraining"))
             if isinstance(record.get(key), str) and record[key]]
    return "; ".join(parts)


def records_frame(records: list[dict]) -> pd.DataFrame:
    """One row per run (reruns of one run: the newest), with the columns the tables group by.
    ``metrics`` keeps the record's whole metrics dict for the tables that read more than top-1;
    an ensemble record takes ``fused_setting`` and ``schedule`` from the first record it fused
    (the semi fraction of fused semi runs), found among ``records`` by file name."""
    by_name = {Path(r["_path"]).name: r for r in records}
    rows = []
    for r in records:
        m = r.get("metrics") or {}
        components = [by_name[c] for c in (r.get("protocol_config") or {}).get("components", []) if c in by_name]
        first = components[0] if components else {}
        ckpt = r.get("checkpoint") or {}
        data = r.get("data") or {}
        encoder = record_encoder(r)
        rows.append({
            "record": Path(r["_path"]).name, "created": r.get("created", ""), "method": r["method"], "encoder": encoder,
            "variant": variant_label(recipe_variant(r["method"], r.get("preset"), r.get("variant"))).strip(),
            "network": network(r["method"], r.get("variant"), encoder),
            "dataset": r["dataset"], "split": r.get("split", ""),
            "stream": r["stream"], "protocol": r["protocol"], "setting": protocol_setting(r),
            "schedule": schedule(first or r), "fused_setting": protocol_setting(first) if first else "",
            "checkpoint": ckpt.get("source", "–"), "checkpoint_sha": ckpt.get("sha256") or "",
            "layout": ckpt.get("layout") or "", "evidence": evidence(r), "preset": r.get("preset") or "–",
            "epochs": _int_or_none(r.get("epochs")), "bn": bn_statistics(r), "pretrain_seed": _int_or_none(r.get("pretrain_seed")),
            "seed": _int_or_none(r.get("seed")), "frames": _int_or_none(r.get("frames")),
            "mismatch": "mismatch" if r.get("mismatch") else "", "synthetic": bool(r.get("synthetic")),
            "fingerprint": data_key(r), "generator_version": _int_or_none(data.get("generator_version")),
            "normalisation": data.get("normalisation") or "",
            "data_group": data_group(r), "top1": m.get("top1"), "best_top1": m.get("best_top1"), "top5": m.get("top5"),
            "extra": second_metric(r), "logits": (r.get("protocol_config") or {}).get("logits", ""),
            "fused_protocol": (r.get("protocol_config") or {}).get("fused_protocol", ""),
            "wall_s": r.get("wall_s"), "pretrain_wall_s": r.get("pretrain_wall_s"), "device": r.get("device", ""),
            "commit": str(r.get("commit", ""))[:8], "command": r.get("command", ""), "metrics": m,
            "warning": record_warning(r),
        })
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    for col in ("epochs", "pretrain_seed", "seed", "frames", "generator_version"):
        df[col] = df[col].astype("Int64")
    # records made before the manifest named its normalisation share the files of those made after;
    # the official processor ("frame") is what those earlier records mean by naming none, so it is ""
    known = df[df.normalisation != ""].groupby("fingerprint").normalisation.first().to_dict()
    df["normalisation"] = ["" if known.get(f) == "frame" else known.get(f, "") for f in df.fingerprint]
    df = df.sort_values(["created", "record"], kind="stable")
    latest = df.groupby(list(RUN_KEY), dropna=False, sort=False).tail(1)
    return latest.sort_values(list(RECIPE_KEY) + ["pretrain_seed", "seed", "record"], na_position="first",
                              kind="stable").reset_index(drop=True)


def data_id(fingerprint: str) -> str:
    """The first 8 hex digits of a data key (:func:`results.data_key`; "–" when the record names none)."""
    return fingerprint.removeprefix("generated-")[:8] if fingerprint else "–"


def prepared_as(normalisation: str | None) -> str:
    """How a record's benchmark was prepared where it departs from the methods' official processor
    (``datasets.prepare --normalise clip``: "clip-normalised data"; "" otherwise), so the rows, bars
    and lines of one benchmark prepared two ways say how they differ."""
    return "" if normalisation in ("", "frame", None) else f"{normalisation}-normalised data"


def data_label(fingerprint: str, normalisation: str = "") -> str:
    """:func:`data_id`, with :func:`prepared_as` after it where it says something."""
    note = prepared_as(normalisation)
    return data_id(fingerprint) + (f", {note}" if note else "")


def data_clash_labels(rec: pd.DataFrame, key: list[str]) -> list[str]:
    """Per recipe of ``rec``, its :func:`data_label` where recipes of the same ``key`` and dataset
    come from more than one data identity, "" elsewhere. One download prepared on two CPUs can
    differ in the last bits of its arrays (docs/nwucla.md: the per-frame turn's trigonometry), so in its
    fingerprint: each table row, bar and line names its data then, rather than one run hiding the
    other or two sharing a name."""
    if rec.empty:
        return []
    clash = rec.groupby(list(key) + ["dataset"], dropna=False).fingerprint.transform("nunique") > 1
    return [data_label(f, n) if c else "" for f, n, c in zip(rec.fingerprint, rec.normalisation, clash)]


@dataclass(frozen=True)
class Aggregate:
    """One recipe's metric over its seeds: mean, standard deviation (n − 1; None for one run),
    n, and the records it comes from (file names, in order)."""

    mean: float
    sd: float | None
    n: int
    records: tuple[str, ...]
    values: tuple[float, ...] = field(default=())
    #: how many of those runs' records carry a warning (:func:`record_warning`): a cell shows it
    warned: int = 0


def aggregate(values: list[float], records: list[str], warnings: list[str] | None = None) -> Aggregate | None:
    """Mean ± sd of the finite ``values`` (None when there is none); ``records`` names their runs,
    ``warnings`` (each run's :func:`record_warning`, "" for none) counts those that warn."""
    warnings = warnings if warnings is not None else [""] * len(values)
    kept = [(float(v), r, w) for v, r, w in zip(values, records, warnings) if v is not None and not pd.isna(v)]
    if not kept:
        return None
    xs = [v for v, _, _ in kept]
    n = len(xs)
    mean = sum(xs) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else None
    return Aggregate(mean, sd, n, tuple(r for _, r, _ in kept), tuple(xs), sum(bool(w) for _, _, w in kept))


def recipes(df: pd.DataFrame, metric: str = "top1") -> pd.DataFrame:
    """One row per recipe (:data:`RECIPE_KEY`) with ``stat``, the :class:`Aggregate` of ``metric``
    over its runs, ``seeds`` (pretraining/protocol seed pairs, for the reader) and ``seed_list``
    (the protocol seeds; of an untrained encoder, its init seeds)."""
    columns = list(RECIPE_KEY) + ["stat", "seeds", "seed_list", "created"]
    if df.empty:
        return pd.DataFrame(columns=columns)
    out = []
    for key, g in df.groupby(list(RECIPE_KEY), dropna=False, sort=True):
        agg = aggregate(list(g[metric]), list(g.record), list(g.warning))
        if agg is None:
            continue
        seeds = ",".join(f"{'–' if pd.isna(p) else p}/{'–' if pd.isna(s) else s}" for p, s in zip(g.pretrain_seed, g.seed))
        seed_list = tuple(sorted({int(s) for s, v in zip(g.seed, g[metric]) if not pd.isna(s) and not pd.isna(v)}))
        out.append({**dict(zip(RECIPE_KEY, key)), "stat": agg, "seeds": seeds, "seed_list": seed_list,
                    "created": g.created.max()})
    result = pd.DataFrame(out, columns=columns)
    return result.astype({col: df[col].dtype for col in RECIPE_KEY})  # keys keep their dtypes, so frames merge


def untrained_baseline(randoms: pd.DataFrame, r) -> pd.DataFrame:
    """The random-init recipes a trained recipe ``r`` is compared with: the same network untrained,
    that is the same encoder, run for ``r``'s method or for one whose untrained encoder is the same
    network (:func:`leaderboard.registry.same_encoder`: SkeletonCLR, AimCLR and CrosSCLR share
    their ST-GCN, SkeleMixCLR's is on another graph; every method shares the transformer), on the
    same protocol, stream, setting, dataset, data and frames; ``r``'s own method first. Another
    encoder's untrained run is never a floor: it is another network."""
    base = randoms[(randoms.encoder == r.encoder) & randoms.method.isin({r.method, *same_encoder(r.method, r.encoder)})
                   & (randoms.protocol == r.protocol) & (randoms.stream == r.stream) & (randoms.setting == r.setting)
                   & (randoms.dataset == r.dataset) & (randoms.fingerprint == r.fingerprint)
                   & (randoms.frames == r.frames)]
    return base.assign(_other=base.method != r.method).sort_values("_other", kind="stable")


def method_rank(method: str) -> int:
    """Rows in the papers' order: SkeletonCLR, CrosSCLR, AimCLR, SkeleMixCLR, SkeleMixCLR+, then others."""
    return METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)


def group_rank(group: str) -> tuple[int, int]:
    """Data groups in reading order: real data, then synthetic by generator version, newest first,
    then the unversioned records."""
    if group == "real":
        return (0, 0)
    if group.startswith("synthetic v"):
        return (1, -int(group.removeprefix("synthetic v")))
    return (2, 0)
