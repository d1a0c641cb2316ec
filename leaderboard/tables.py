"""The paper-style tables: per protocol, methods as rows, benchmarks as columns.

Real benchmarks: each cell holds the reported number (with its flags) beside the reproduced
one (mean ± sd over seeds, n), their difference and, where the claim is checkable, whether the
difference is within the claim's tolerance (``reported.csv``). Only records made the official way
(the claim's evidence, no option changed, the official BN treatment and logits) are compared;
every other recipe of the same method is a row of its own under the claim ("↳"), its difference
shown but never tested and never averaged in.

Embedded synthetic data: per data group (generator version) and protocol, one row per recipe,
the random-init rows of the same encoders and the supervised baseline (finetune from random init)
as references, and a difficulty table (baselines × benchmarks) when difficulty records exist.

Every row names its encoder (ST-GCN, the transformer…): a method run on two encoders is two rows,
each compared with its own encoder untrained, and the ranked tables rank each encoder apart.

The ranked tables a reader bookmarks are made from these by :mod:`leaderboard.ranking`.

Everything here is pure: frames in, :class:`Table` values out; rendering lives in
:mod:`leaderboard.render`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import pandas as pd

from datasets.benchmarks import DATASET_TITLES, REPORTED_COLUMNS
from leaderboard.frame import (
    EVIDENCE_ORDER,
    METHOD_NAME,
    RECIPE_KEY,
    STREAM_CODE,
    Aggregate,
    aggregate,
    backbone_encoder,
    data_clash_labels,
    data_id,
    encoder_rank,
    encoder_title,
    group_rank,
    method_option,
    method_rank,
    prepared_as,
    recipes,
    untrained_baseline,
)
from leaderboard.registry import default_encoder
from leaderboard.reported import dataset_of, parse_sources

#: Protocol tables in the order they appear ("difficulty" has tables of its own).
PROTOCOLS = ("linear", "knn", "semi", "finetune", "transfer", "ensemble", "robustness")
#: Tables that show the supervised network (fine-tune from random init) as a reference row: the
#: protocols of its family, which train the whole network on labels (fine-tune shows it among its
#: own rows). Under a frozen-feature protocol (linear, KNN) it is not the same measurement.
WITH_SUPERVISED = ("semi",)
PROTOCOL_TITLE = {"linear": "Linear evaluation", "knn": "KNN (frozen features)", "semi": "Semi-supervised",
                  "finetune": "Fine-tune", "transfer": "Transfer", "ensemble": "3-stream fusion",
                  "robustness": "Robustness to test-time corruptions"}
PROTOCOL_NOTES = {
    "linear": "Frozen encoder, linear classifier (methods.md §3.1).",
    "knn": "Frozen encoder, no training: cosine 1-NN top-1 (FAISS); the weighted vote at k=20 is in records.csv.",
    "semi": "Whole network trained on a class-balanced labelled subset (methods.md §3.3).",
    "finetune": "Whole network trained with all labels (methods.md §3.4).",
    "transfer": "Encoder pretrained on the source benchmark, evaluated on this one.",
    "ensemble": "Weighted sum of the joint/motion/bone classifiers' raw logits (AimCLR's 0.6/0.4/0.6, methods.md §3.6).",
    "robustness": "Linear probe trained on clean features: clean top-1, and `kept` = mean accuracy retained under "
                  "the corruptions (1.0: unaffected).",
}
#: Protocols that train nothing, so have no epochs to choose among.
UNTRAINED = ("knn",)
SYNTHETIC_METRIC = "Cells: final-epoch top-1 (the best-over-evaluations figure is in records.csv)."
REAL_METRIC = ("Reported: as the source prints it, for the official code the best test top-1 over evaluations every "
               "5 epochs; reproduced: the record metric the claim names in reported.csv (`best_top1`, the same "
               "figure; for a fusion the top-1 of the best-epoch logits), top-1 for rows without a claim.")


def column_title(dataset: str) -> str:
    """``ntu60-xsub`` → ``NTU-60 xsub``."""
    prefix, _, split = dataset.partition("-")
    return f"{DATASET_TITLES.get(prefix, prefix)} {split}".strip()


@dataclass(frozen=True)
class Cell:
    """One table cell: the reported number (``reported_text`` as its source writes it, with
    ``flags``), the reproduced :class:`Aggregate`, their difference and the verdict (``pass``,
    ``fail``, ``unchecked`` or ""), and the notes a reader may hover over."""

    reported: float | None = None
    reported_text: str = ""
    flags: str = ""
    agg: Aggregate | None = None
    delta: float | None = None
    verdict: str = ""
    tolerance: float | None = None
    second: Aggregate | None = None
    second_name: str = ""
    gain: float | None = None
    above: str = ""
    title: str = ""
    expected: bool = False  # a claim the suite can reproduce (shows "–" while no record exists)
    sources: tuple[tuple[str, str], ...] = ()  # (kind, reference) of each source of the reported number
    source_note: str = ""  # the footnote number that lists those sources under a ranked table


@dataclass
class Row:
    """A table row: its label cells, its value cells by column, and its kind (``claim``,
    ``variant`` (↳, under a claim), ``suite`` (no claim), ``recipe``, ``reference``). ``meta``
    holds what the ranked tables need beyond the labels (:mod:`leaderboard.ranking`): ``name``
    (the row as a ranked table names it), ``method`` (its key in ``methods.csv``: reported.csv's
    method or the registry name), ``stream``, ``setting``, ``extra`` (the ranked table's other
    label cells) and, for a recipe, ``recipe`` (evidence, preset, epochs), ``n``, ``bn``,
    ``schedule``, ``mismatch`` and ``evidence``."""

    labels: list[str]
    cells: dict[str, Cell] = field(default_factory=dict)
    kind: str = "claim"
    meta: dict = field(default_factory=dict)


@dataclass
class Table:
    title: str
    anchor: str
    intro: str
    label_columns: list[str]
    columns: list[str]
    column_titles: list[str]
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)  # a ranked table's label columns after the stream
    ranked: bool = True  # False: a table of reference figures (difficulty), shown as it is


# ----------------------------------------------------------------------------------- pure helpers
def check(reported: float, reproduced: float, tolerance: float | None) -> tuple[float, str]:
    """(reproduced − reported, verdict): ``pass`` when within ``tolerance`` (inclusive, to the
    0.01 the records round to), ``fail`` outside, ``unchecked`` without a tolerance."""
    delta = reproduced - reported
    if tolerance is None or pd.isna(tolerance):
        return delta, "unchecked"
    return delta, "pass" if abs(delta) <= float(tolerance) + 1e-9 else "fail"


def fmt(x: float | None, digits: int = 2) -> str:
    return "–" if x is None or pd.isna(x) else f"{x:.{digits}f}"


#: The mark of a cell some of whose runs warned (a fit at chance, a pretraining that likely collapsed).
WARNED_MARK = "⚠"


def agg_text(agg: Aggregate | None, digits: int = 2) -> str:
    """``67.91 ± 0.42 (n=3)``; ``67.91 (n=1)``; ``0.153 ± 0.071 (n=2)`` below 1; ``–``; with
    ``1 ⚠`` after n when one of the runs' records carries a warning (``57.04 ± 18.03 (n=3, 1 ⚠)``)."""
    if agg is None:
        return "–"
    digits = 3 if 0 < abs(agg.mean) < 1 else digits  # fractions (calibration errors, accuracy kept) need more
    sd = f" ± {agg.sd:.{digits}f}" if agg.sd is not None else ""
    warned = f", {agg.warned} {WARNED_MARK}" if agg.warned else ""
    return f"{agg.mean:.{digits}f}{sd} (n={agg.n}{warned})"


def signed(x: float) -> str:
    return f"{x:+.2f}".replace("-", "−")


VERDICT_MARK = {"pass": "✓", "fail": "✗", "unchecked": "·", "": ""}


def cell_text(cell: Cell) -> str:
    """A cell as plain text (Markdown): ``reported / reproduced Δ verdict``, with flags on the
    reported number; ``–`` for an empty cell."""
    parts = []
    if cell.reported is not None:
        parts.append(cell.reported_text + cell.flags + (f" [{cell.source_note}]" if cell.source_note else ""))
    if cell.agg is not None:
        text = agg_text(cell.agg)
        if cell.second is not None:
            text += f", {cell.second_name} {cell.second.mean:.3f}"
        if cell.gain is not None:
            text += f", Δinit {signed(cell.gain)}" + (f" ({cell.above} above)" if cell.above else "")
        if cell.delta is not None:
            text += f" Δ {signed(cell.delta)} {VERDICT_MARK[cell.verdict]}".rstrip()
        parts.append(text)
    elif cell.expected:
        parts.append("–")
    return " / ".join(parts) if parts else ""


def weights_label(evidence: str, preset: str, epochs: object) -> str:
    """How a row's encoder weights were obtained, in words (the ``weights`` column)."""
    if evidence == "released-checkpoint":
        return "authors' file"
    if evidence == "random-init":
        return "random init"
    if evidence == "supervised":
        return "supervised (finetune from random init)"
    ep = "" if epochs is None or pd.isna(epochs) else f", {int(epochs)} ep"
    return f"{preset} preset{ep}" if preset != "–" else f"own checkpoint{ep}"


def method_label(method: str, variant: str) -> str:
    return METHOD_NAME.get(method, method) + (f" [{variant.strip(' []')}]" if variant else "")


def _order(g: pd.DataFrame) -> pd.DataFrame:
    return g.assign(_m=g.method.map(method_rank), _e=g.evidence.map(EVIDENCE_ORDER.index),
                    _c=g.encoder.map(encoder_rank)).sort_values(
        ["_c", "encoder", "_e", "_m", "method", "variant", "stream", "setting", "schedule", "preset", "epochs", "bn",
         "mismatch"], kind="stable", na_position="first").drop(columns=["_m", "_e", "_c"])


# ------------------------------------------------------------------------------- synthetic tables
SYN_LABELS = ["method", "stream", "encoder", "weights", "BN", "setting"]
ROW_KEY = ("method", "encoder", "variant", "stream", "setting", "schedule", "evidence", "preset", "epochs", "bn", "frames",
           "mismatch")


def recipe_rows(rec: pd.DataFrame, randoms: pd.DataFrame, second: str = "") -> tuple[list[Row], list[str]]:
    """Rows of one protocol table from its recipes (one data group): one row per recipe without
    the dataset, cells by dataset. A (row, dataset) with records of two data fingerprints gets a
    row per fingerprint (``data`` named in the label). ``randoms`` are the random-init recipes the
    trained cells are compared with (``Δinit``)."""
    if rec.empty:
        return [], []
    rec = rec.copy()
    rec["data_label"] = data_clash_labels(rec, list(ROW_KEY))
    rows, columns = [], sorted(set(rec.dataset))
    for key, g in _order(rec).groupby(list(ROW_KEY) + ["data_label"], dropna=False, sort=False):
        k = dict(zip(list(ROW_KEY) + ["data_label"], key))
        setting = ", ".join(x for x in (k["setting"], k["schedule"], k["mismatch"],
                                        f"data {k['data_label']}" if k["data_label"] else "") if x)
        row = Row([method_label(k["method"], k["variant"]), k["stream"], encoder_title(k["encoder"]),
                   weights_label(k["evidence"], k["preset"], k["epochs"]), k["bn"], setting or "–"],
                  kind="reference" if k["evidence"] in ("random-init", "supervised") else "recipe")
        for r in g.itertuples():
            gain, above = None, ""
            if r.evidence not in ("random-init", "supervised"):
                base = untrained_baseline(randoms, r)
                if len(base):
                    b = base.iloc[0].stat.mean
                    gain = r.stat.mean - b
                    if r.stat.n > 1:
                        above = f"{sum(v > b for v in r.stat.values)}/{r.stat.n}"
            extra = getattr(r, "stat2", None) if second else None
            extra = extra if isinstance(extra, Aggregate) else None
            row.cells[r.dataset] = Cell(agg=r.stat, gain=gain, above=above, second=extra, second_name=second,
                                        title="records: " + ", ".join(r.stat.records))
        detail = ", ".join(x for x in (k["schedule"], k["mismatch"], f"data {k['data_label']}" if k["data_label"] else "")
                           if x)
        row.meta = {**recipe_meta(k, max(r.stat.n for r in g.itertuples())), "name": row.labels[0],
                    "extra": [row.labels[2], row.labels[3] + (f", {detail}" if detail else ""), k["bn"]]}
        rows.append(row)
    return rows, columns


def recipe_meta(key: dict, n: int) -> dict:
    """What :mod:`leaderboard.ranking` reads of a recipe row (see :class:`Row`): which recipe it
    is, so a ranked table keeps the current recipe's rows and moves the others under *other runs*,
    and its encoder, so it ranks each encoder apart."""
    epochs = None if key["epochs"] is None or pd.isna(key["epochs"]) else int(key["epochs"])
    return {"method": key["method"], "encoder": key["encoder"], "stream": key["stream"], "setting": key["setting"],
            "option": method_option(key["method"], key["variant"]),
            "recipe": (key["evidence"], key["preset"], epochs), "n": n, "bn": key["bn"], "schedule": key["schedule"],
            "mismatch": key["mismatch"], "evidence": key["evidence"]}


def synthetic_tables(df: pd.DataFrame) -> list[tuple[str, list[Table]]]:
    """Per synthetic data group (newest generator first): one table per protocol, each with the
    group's supervised baseline rows appended, then a difficulty table per benchmark."""
    out = []
    syn = df[df.data_group != "real"] if not df.empty else df
    for group in sorted(set(syn.data_group) if not syn.empty else (), key=group_rank):
        g = syn[syn.data_group == group]
        tables = protocol_tables(g, group)
        tables += difficulty_tables(g, group)
        out.append((group, tables))
    return out


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")


def protocol_tables(g: pd.DataFrame, group: str) -> list[Table]:
    """The protocol tables of one data group (see :func:`synthetic_tables`)."""
    rest = g[g.protocol != "difficulty"]
    rec = recipes(rest, "top1")
    if rec.empty:
        return []
    second = recipes(rest, "extra")
    if not second.empty:
        rec = rec.merge(second[list(RECIPE_KEY) + ["stat"]].rename(columns={"stat": "stat2"}), how="left",
                        on=list(RECIPE_KEY))
    supervised = rec[rec.evidence == "supervised"]
    tables = []
    order = [p for p in PROTOCOLS if p in set(rec.protocol)] + sorted(set(rec.protocol) - set(PROTOCOLS))
    for protocol in order:
        prec = rec[rec.protocol == protocol]
        randoms = prec[prec.evidence == "random-init"]
        if protocol in WITH_SUPERVISED:
            prec = pd.concat([prec, supervised[supervised.dataset.isin(prec.dataset)]])
        rows, columns = recipe_rows(prec, randoms, second={"robustness": "kept"}.get(protocol, ""))
        tables.append(Table(f"{PROTOCOL_TITLE.get(protocol, protocol)} — {group}", slug(f"{group}-{protocol}"),
                            f"{PROTOCOL_NOTES.get(protocol, '')} {'' if protocol in UNTRAINED else SYNTHETIC_METRIC}".strip(),
                            SYN_LABELS, columns, [column_title(c) for c in columns],
                            rows, extra_columns=["encoder", "weights", "BN"]))
    return tables


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def metric_samples(metrics: dict, prefix: str = "") -> dict[str, list[float]]:
    """The numbers of a (nested) metrics dict as ``{"a.b": [samples]}``: a scalar is one sample;
    a summary dict with ``values`` (a list of numbers, e.g. one per init seed) contributes those
    values, one with only ``mean`` its mean; other lists (curves), strings and flags are left out."""
    out: dict[str, list[float]] = {}
    for key in sorted(metrics):
        value, name = metrics[key], f"{prefix}{key}"
        if isinstance(value, dict):
            values = value.get("values")
            if isinstance(values, list) and values and all(_number(v) for v in values):
                out[name] = [float(v) for v in values]
            elif _number(value.get("mean")):
                out[name] = [float(value["mean"])]
            else:
                out.update(metric_samples(value, name + "."))
        elif _number(value):
            out[name] = [float(value)]
    return out


#: The difficulty record's figures as rows, in the order of the argument: no representation
#: learning, the untrained encoder, the supervised one (protocols/difficulty.py).
DIFFICULTY_ROWS = {
    "raw_logistic": "logistic regression, raw coordinates",
    "pooled_logistic": "logistic regression, per-joint time mean and std",
    "raw_1nn": "1-NN, raw coordinates",
    "random_linear": "untrained encoder, linear (official probe)",
    "random_linear_standardised": "untrained encoder, linear (standardised probe)",
    "random_knn": "untrained encoder, cosine 1-NN",
    "supervised.top1": "supervised encoder (fine-tune from random init)",
}


def difficulty_tables(g: pd.DataFrame, group: str) -> list[Table]:
    """One table of the group's ``difficulty`` records: a row per figure (the known ones first,
    named, then any other numeric metric under its key), a column per benchmark, data
    fingerprint and encoder (an untrained transformer is not an untrained ST-GCN), mean ± sd over
    the samples (the seeds a record summarises, and the records).
    A record re-measured with the same seed supersedes the older one (the untrained encoders'
    checksums differ between machines and code versions, so the run key alone keeps both), as a
    supervised row run to the full schedule supersedes a shortened one. Epoch counts are not
    figures: they go into the notes. None when the group has no record."""
    d = g[g.protocol == "difficulty"] if not g.empty else g
    if d.empty:
        return []
    d = d.sort_values("created", kind="stable").drop_duplicates(["dataset", "fingerprint", "encoder", "seed"],
                                                                 keep="last")
    d = d.assign(_flat=[metric_samples(m) for m in d.metrics])
    columns = sorted({(ds, fp, enc) for ds, fp, enc in zip(d.dataset, d.fingerprint, d.encoder)},
                     key=lambda c: (c[0], c[1], encoder_rank(c[2])))
    data = sorted({(ds, fp) for ds, fp, _ in columns})
    several = {ds for ds, _ in data if sum(c[0] == ds for c in data) > 1}
    named = len({enc for *_, enc in columns}) > 1  # the encoder is named where the table holds several
    titles = [column_title(ds) + (f" (data {data_id(fp)})" if ds in several else "")
              + (f", {encoder_title(enc)}" if named else "") for ds, fp, enc in columns]
    keys = sorted({k for f in d._flat for k in f if not k.endswith(".epochs")})
    keys = [k for k in DIFFICULTY_ROWS if k in keys] + [k for k in keys if k not in DIFFICULTY_ROWS]
    rows, notes = [], []
    for key in keys:
        row = Row([DIFFICULTY_ROWS.get(key, key)], kind="reference")
        for (ds, fp, enc), title in zip(columns, titles):
            col = d[(d.dataset == ds) & (d.fingerprint == fp) & (d.encoder == enc)]
            pairs = [(v, rec) for f, rec in zip(col._flat, col.record) for v in f.get(key, [])]
            agg = aggregate([v for v, _ in pairs], [rec for _, rec in pairs])
            if agg is not None:
                row.cells[title] = Cell(agg=agg, title="records: " + ", ".join(dict.fromkeys(agg.records)))
        rows.append(row)
    for (ds, fp, enc), title in zip(columns, titles):
        col = d[(d.dataset == ds) & (d.fingerprint == fp) & (d.encoder == enc)]
        epochs = sorted({int(v) for f in col._flat for k, vs in f.items() if k.endswith(".epochs") for v in vs})
        if epochs:
            notes.append(f"{title}: the supervised encoder trained {', '.join(map(str, epochs))} epochs.")
    intro = ("How much room each benchmark leaves for representation learning (`python -m protocols.difficulty`): "
             "what classifiers reach without it, the untrained encoder, and the supervised one. A method's "
             "number means something between these rows. Mean ± sd over seeds (n).")
    return [Table(f"Difficulty — {group}", slug(f"{group}-difficulty"), intro, ["baseline"], titles, titles, rows,
                  notes, ranked=False)]


# ------------------------------------------------------------------------------------ real data
REAL_LABELS = ["method", "variant", "stream", "encoder", "backbone", "frames"]


def _stream_code(stream: str) -> str:
    return "+".join(STREAM_CODE.get(s, s) for s in stream.split("+"))


def real_recipes(df: pd.DataFrame) -> pd.DataFrame:
    """Recipes of the real-data records, with the claim-side fields: the protocol and setting a
    paper table files them under (an ensemble under the protocol it fused), the stream code, the
    network (:func:`leaderboard.frame.network`), and both candidate metrics (``top1``,
    ``best_top1``) aggregated."""
    real = df[df.data_group == "real"] if not df.empty else df
    if real.empty:
        return pd.DataFrame()
    real = real.assign(
        cprotocol=[fp if p == "ensemble" else p for p, fp in zip(real.protocol, real.fused_protocol)],
        csetting=[fs if p == "ensemble" else s for p, s, fs in zip(real.protocol, real.setting, real.fused_setting)],
        cstream=real.stream.map(_stream_code))
    key = ["cprotocol", "csetting", "cstream", "logits", "network"]
    top1, best = recipes(real, "top1"), recipes(real, "best_top1")
    extra = real.groupby(list(RECIPE_KEY), dropna=False, sort=True)[key].first().reset_index()
    out = top1.merge(extra, on=list(RECIPE_KEY), how="left")
    out = out.merge(best[list(RECIPE_KEY) + ["stat"]].rename(columns={"stat": "stat_best"}), on=list(RECIPE_KEY),
                    how="left")
    return out


def official(recipe: pd.Series, claim: pd.Series) -> bool:
    """Whether a recipe is the official way to reproduce ``claim``: the claim's evidence (any
    trained evidence where the claim names none), no option changed, the official BN statistics,
    the full schedule, no mismatch, and for a fusion the best-epoch logits (the official scripts')."""
    want = claim.reproduce or None
    if want is not None and recipe.evidence != want:
        return False
    if want is None and recipe.evidence not in ("released-checkpoint", "paper-preset"):
        return False
    fused = "+" in claim.stream
    logits_ok = recipe.logits == "best" if fused else not recipe.logits
    return (not recipe.variant and recipe.bn == "training" and not recipe.schedule and not recipe.mismatch and logits_ok)


def claim_matches(claim: pd.Series, recipe: pd.Series) -> bool:
    """The recipe measured what the claim states: same method on the encoder the paper ran (the
    method's default: a run on another encoder is another network, never a reproduction), protocol,
    setting, benchmark, split, stream, and frames where the claim gives them."""
    if not claim.suite_method or recipe.method != claim.suite_method:
        return False
    if recipe.encoder != default_encoder(claim.suite_method):
        return False
    dataset = dataset_of(claim.benchmark, claim.split)
    frames_ok = not claim.frames or int(claim.frames) == int(recipe.frames)
    return (recipe.cprotocol == claim.protocol and recipe.csetting == claim.setting and recipe.dataset == dataset
            and recipe.cstream == claim.stream and frames_ok)


def metric_agg(recipe: pd.Series, claim: pd.Series | None) -> Aggregate | None:
    """The recipe's aggregate of the metric the claim is compared with (top-1 without a claim)."""
    if claim is not None and claim.record_metric == "best_top1":
        best = recipe.stat_best
        return best if isinstance(best, Aggregate) else None
    return recipe.stat


def checks(reported: pd.DataFrame, df: pd.DataFrame, tolerance: float | None = None) -> pd.DataFrame:
    """Every (checkable claim, official recipe) pair: the reported value, the reproduced mean ±
    sd (n) of the claim's ``record_metric``, the difference and whether it is within the claim's
    tolerance (``tolerance`` overrides every row's, for a fixture whose numbers mean nothing).
    ``line`` is the claim's line in reported.csv."""
    rec = real_recipes(df)
    rows = []
    if not rec.empty:
        for i, claim in reported[reported.reproduce != ""].iterrows():
            for _, r in rec.iterrows():
                if not (claim_matches(claim, r) and official(r, claim)):
                    continue
                agg = metric_agg(r, claim)
                if agg is None:
                    continue
                tol = float(claim.tolerance) if tolerance is None else float(tolerance)
                delta, verdict = check(float(claim.value), agg.mean, tol)
                rows.append({"line": int(i) + 2, "method": claim.method, "variant": claim.variant,
                             "protocol": claim.protocol, "setting": claim.setting, "benchmark": claim.benchmark,
                             "split": claim.split, "stream": claim.stream, "metric": claim.record_metric,
                             "reported": float(claim.value), "tolerance": tol, "reproduced": round(agg.mean, 4),
                             "sd": None if agg.sd is None else round(agg.sd, 4), "n": agg.n,
                             "delta": round(delta, 4), "passed": verdict == "pass", "data": data_id(r.fingerprint),
                             "records": " ".join(agg.records)})
    return pd.DataFrame(rows, columns=["line", "method", "variant", "protocol", "setting", "benchmark", "split",
                                       "stream", "metric", "reported", "tolerance", "reproduced", "sd", "n", "delta",
                                       "passed", "data", "records"])


def _claim_title(claim: pd.Series) -> str:
    sources = "; ".join(f"{s.kind} {s.value:g}: {s.ref}" for s in parse_sources(claim.sources))
    tol = f"tolerance ±{claim.tolerance:g}: " if not pd.isna(claim.tolerance) else ""
    return f"sources: {sources}. {tol}{claim.tolerance_reason}"


def claim_flags(claim: pd.Series) -> str:
    """``‡`` when the sources disagree, ``*`` when no source is the authors' own."""
    sources = parse_sources(claim.sources)
    return ("‡" if claim.conflict == "yes" else "") + ("" if any(s.primary for s in sources) else "*")


def _difference(recipe: pd.Series, claim: pd.Series | None) -> str:
    """What sets a non-official recipe apart, for its ↳ label."""
    parts = []
    if claim is None or not claim.reproduce or recipe.evidence != claim.reproduce:
        parts.append(weights_label(recipe.evidence, recipe.preset, recipe.epochs))
    if recipe.variant:
        parts.append(recipe.variant)
    if recipe.bn != "training":
        parts.append(f"{recipe.bn} BN")
    if recipe.schedule:
        parts.append(recipe.schedule)
    if recipe.mismatch:
        parts.append("mismatch allowed")
    if recipe.logits:
        parts.append(f"{recipe.logits} logits")
    parts.append(prepared_as(recipe.normalisation))
    return ", ".join(p for p in parts if p) or "another run"


#: A real-data table's parts while it is built, by (protocol, setting): ``lines``, a row per claim
#: line (method, variant, stream, backbone, frames; its encoder read from the backbone); ``extra``,
#: the ↳ rows under a line (by (line key, label)) and the rows of recipes no claim fits (by their
#: recipe key, starting ``~suite``); ``notes``, what the table says under it.
Sections = dict[tuple[str, str], dict]


def _section(sections: Sections, protocol: str, setting: str) -> dict:
    return sections.setdefault((protocol, setting), {"lines": {}, "extra": {}, "notes": []})


def claim_encoder_text(backbone: str) -> str:
    """A claim's ``encoder`` cell: the suite encoder its backbone is (``ST-GCN(h16)`` → ST-GCN),
    else the paper's own backbone as it names it (BiGRU), "–" where the source names none."""
    encoder = backbone_encoder(backbone)
    return encoder_title(encoder) if encoder else (backbone or "–")


def _claim_rows(claims: pd.DataFrame, sections: Sections) -> None:
    """A row per claim line, a cell per benchmark holding the reported number; a note where the
    claim's sources disagree."""
    for _, claim in claims.iterrows():
        sec = _section(sections, claim.protocol, claim.setting)
        enc = claim_encoder_text(claim.backbone)
        line = sec["lines"].setdefault(claim.line_key, Row(
            [claim.method, claim.variant, claim.stream or "–", enc, claim.backbone or "–", claim.frames or "–"],
            meta={"name": claim.variant, "method": claim.method, "stream": claim.stream,
                  "encoder": backbone_encoder(claim.backbone),
                  "extra": [enc, claim.backbone or "–", claim.frames or "–"]}))
        dataset = dataset_of(claim.benchmark, claim.split)
        line.cells[dataset] = Cell(reported=float(claim.value), reported_text=claim.value_text if "value_text" in claim
                                   else f"{claim.value:g}", flags=claim_flags(claim), tolerance=claim.tolerance,
                                   title=_claim_title(claim), expected=bool(claim.suite_method), verdict="",
                                   sources=tuple((s.kind, s.ref) for s in parse_sources(claim.sources)))
        if claim.conflict == "yes":
            vals = ", ".join(f"{s.value:g} ({s.ref})" for s in parse_sources(claim.sources))
            sec["notes"].append(f"‡ {claim.variant}, {column_title(dataset)}: the sources disagree: {vals}.")


def _claim_for(recipe: pd.Series, claims: pd.DataFrame) -> pd.Series | None:
    """The claim a recipe is placed under: one it reproduces the official way, else one of its
    evidence, else any whose measurement it made (None: no claim fits)."""
    matching = [c for _, c in claims.iterrows() if claim_matches(c, recipe)]
    off = [c for c in matching if official(recipe, c)]
    target = off[0] if off else next((c for c in matching if c.reproduce == recipe.evidence), None)
    return target if target is not None else (matching[0] if matching else None)


def _place(recipe: pd.Series, claim: pd.Series, sec: dict) -> None:
    """The official recipe of ``claim`` fills its cell (Δ, verdict against the tolerance); any other
    is a ↳ row under it (a second official one: named by its data), its Δ shown, never tested."""
    off = official(recipe, claim)
    line = sec["lines"][claim.line_key]
    agg, note = metric_agg(recipe, claim), ""
    if agg is None:  # the record lacks the claim's metric: its top-1 beside it, never tested
        agg, off, note = recipe.stat, False, f", top1 (no {claim.record_metric} recorded)"
    delta, verdict = check(float(claim.value), agg.mean, claim.tolerance if claim.reproduce else None)
    cell = line.cells[recipe.dataset]
    records = "records: " + ", ".join(agg.records)
    if off and cell.agg is None:
        line.cells[recipe.dataset] = replace(cell, agg=agg, delta=delta, verdict=verdict,
                                             title=f"{cell.title} {records}", expected=True)
        return
    label = f"data {data_id(recipe.fingerprint)}" if off else _difference(recipe, claim) + note
    sub = sec["extra"].setdefault((claim.line_key, label), Row(
        [f"↳ {claim.method}", f"{claim.variant}: {label}", claim.stream or "–", encoder_title(recipe.encoder),
         claim.backbone or "–", str(recipe.frames)], kind="variant"))
    sub.cells[recipe.dataset] = Cell(agg=agg, delta=delta, verdict=verdict if off else "unchecked", title=records)


def _place_on_claims(rec: pd.DataFrame, claims: pd.DataFrame, sections: Sections) -> set:
    """Every trained recipe that measured what a claim states, placed under it (:func:`_place`);
    the recipes placed."""
    placed = set()
    for ri, r in rec.iterrows():
        if r.evidence in ("random-init", "supervised"):
            continue
        target = _claim_for(r, claims)
        if target is not None:
            placed.add(ri)
            _place(r, target, _section(sections, target.protocol, target.setting))
    return placed


def seeds_text(seeds: Iterable[int]) -> str:
    """``init seeds 0–2``, ``init seeds 0, 2``, ``init seed 0``; "" for none."""
    s = sorted(set(seeds))
    if not s:
        return ""
    if len(s) == 1:
        return f"init seed {s[0]}"
    run = len(s) > 2 and s == list(range(s[0], s[-1] + 1))
    return f"init seeds {s[0]}–{s[-1]}" if run else "init seeds " + ", ".join(map(str, s))


def reference_name(recipe: pd.Series, seeds: Iterable[int], data: str = "") -> str:
    """A reference row named by its network, since no method is involved: ``untrained ST-GCN (init
    seeds 0–2, precise BN)``, ``supervised ST-GCN (from random init, 60 of 110 epochs, batch 16)``;
    any option, shortened schedule or mismatch of the run in the brackets, and its ``data`` where
    another run of the same network is on other files (:func:`leaderboard.frame.data_clash_labels`)."""
    net = re.sub(r"\(h\d+\)", "", recipe.network if isinstance(recipe.network, str) else "–")
    options = [recipe.variant, recipe.schedule, "mismatch allowed" if recipe.mismatch else "",
               prepared_as(recipe.normalisation) if not data else f"data {data}"]
    if recipe.evidence == "supervised":
        parts = ["from random init", *options]
    else:
        parts = [seeds_text(seeds), *options, f"{recipe.bn} BN"]
    detail = ", ".join(p for p in parts if p)
    kind = "supervised" if recipe.evidence == "supervised" else "untrained"
    return f"{kind} {net}" + (f" ({detail})" if detail else "")


#: What tells the suite's own rows apart (:func:`_own_rows`; the evidence is its fourth field).
OWN_ROW_KEY = ("method", "variant", "cstream", "evidence", "preset", "epochs", "bn", "schedule", "logits", "frames",
               "encoder", "normalisation")


def _own_rows(rec: pd.DataFrame, placed: set, sections: Sections) -> None:
    """The recipes no claim fits (the suite's own runs, e.g. on NW-UCLA): a row per recipe (its
    cells by benchmark), labelled with its encoder and network; random-init and supervised recipes
    are reference rows named by that network (:func:`reference_name`)."""
    data = dict(zip(rec.index, data_clash_labels(rec, [*OWN_ROW_KEY, "cprotocol", "csetting"])))
    for ri, r in rec.iterrows():
        if ri in placed:
            continue
        sec = _section(sections, r.cprotocol, r.csetting)
        kind = "reference" if r.evidence in ("random-init", "supervised") else "suite"
        key = ("~suite", *(r[c] for c in OWN_ROW_KEY), data[ri])  # the evidence stays k[4] (real_tables reads it)
        net, enc = r.network if isinstance(r.network, str) else "–", encoder_title(r.encoder)
        name = METHOD_NAME.get(r.method, r.method)
        # _difference names the preparation already: the data id alone
        difference = ", ".join(x for x in (_difference(r, None), f"data {data_id(r.fingerprint)}" if data[ri] else "") if x)
        row = sec["extra"].setdefault(key, Row([name, difference, r.cstream, enc, net, str(r.frames)], kind=kind, meta={
            **recipe_meta(r, 0), "stream": r.cstream, "setting": "", "name": f"{name} ({difference})",
            "extra": [enc, net, str(r.frames)], "seeds": ()}))
        if r.dataset in row.cells:  # two recipes the key does not tell apart: the first, most-run one keeps the cell
            continue
        row.cells[r.dataset] = Cell(agg=r.stat, title="records: " + ", ".join(r.stat.records))
        row.meta["n"] = max(row.meta["n"], r.stat.n)
        row.meta["seeds"] = tuple(sorted(set(row.meta["seeds"]) | set(r.seed_list)))
        if kind == "reference":
            row.labels[:2] = [reference_name(r, row.meta["seeds"], data[ri]), "–"]
            row.meta["name"] = row.labels[0]


def _section_table(protocol: str, setting: str, sec: dict, supervised: list[Row]) -> Table:
    """One section as a table: each claim line with its ↳ rows, then the suite's own rows (by
    encoder: ST-GCN's first), then the reference rows (by encoder, then as the methods; and, under
    semi-supervised, the supervised network on the benchmarks it measures)."""
    rows: list[Row] = []
    for key, line in sec["lines"].items():
        rows.append(line)
        rows += [row for k, row in sec["extra"].items() if len(k) == 2 and k[0] == key]  # ~suite keys are longer
    suite = [row for k, row in sec["extra"].items() if k[0] == "~suite" and row.kind == "suite"]
    rows += sorted(suite, key=lambda row: encoder_rank(row.meta["encoder"]))
    references = [row for k, row in sec["extra"].items() if k[0] == "~suite" and row.kind == "reference"]
    rows += sorted(references, key=lambda row: (encoder_rank(row.meta["encoder"]), method_rank(row.meta["method"])))
    if protocol in WITH_SUPERVISED:  # on the benchmarks the table measures, as the synthetic tables do
        measured = {c for row in rows for c in row.cells}
        rows += [row for row in supervised if row not in rows and measured & set(row.cells)]
    present = {c for row in rows for c in row.cells}
    columns = [c for c in REPORTED_COLUMNS if c in present] + sorted(present - set(REPORTED_COLUMNS))
    title = PROTOCOL_TITLE.get(protocol, protocol) + (f", {setting} labels" if protocol == "semi" else
                                                       (f", {setting}" if setting else ""))
    return Table(title, slug(f"real-{protocol}-{setting}"), PROTOCOL_NOTES.get(protocol, ""), REAL_LABELS,
                 columns, [column_title(c) for c in columns], rows, sec["notes"],
                 extra_columns=["encoder", "backbone", "frames"])


def real_tables(reported: pd.DataFrame, df: pd.DataFrame) -> list[Table]:
    """One paper table per (protocol, setting) of the claims, with every real-data recipe placed:
    the official one in its claim's cell, the others as ↳ rows under the claim (or rows of their
    own when no claim fits), random-init and supervised recipes as reference rows."""
    rec = real_recipes(df)
    rec = rec if not rec.empty else pd.DataFrame(columns=["evidence"])
    claims = reported.copy()
    claims["line_key"] = list(zip(claims.method, claims.variant, claims.stream, claims.backbone, claims.frames))
    sections: Sections = {}
    _claim_rows(claims, sections)
    if len(rec):  # where two recipes want one cell (two preparations of a benchmark), the most-run, newest wins it
        rec = rec.assign(_n=[-s.n for s in rec.stat]).sort_values(["_n", "created"], ascending=[True, False],
                                                                   kind="stable").drop(columns="_n")
    _own_rows(rec, _place_on_claims(rec, claims, sections), sections)
    supervised = [row for sec in sections.values() for k, row in sec["extra"].items()
                  if row.kind == "reference" and k[4] == "supervised"]  # k[4]: the recipe's evidence
    return [_section_table(protocol, setting, sections[(protocol, setting)], supervised)
            for protocol, setting in sorted(sections, key=lambda k: (_protocol_rank(k[0]), setting_rank(k[1])))]


def _protocol_rank(protocol: str) -> int:
    return PROTOCOLS.index(protocol) if protocol in PROTOCOLS else len(PROTOCOLS)


def setting_rank(setting: str) -> tuple[float, str]:
    try:
        return (float(setting.rstrip("%")), setting)
    except ValueError:
        return (float("inf"), setting)


def group_title(group: str) -> str:
    """A data group as a heading."""
    if group.startswith("synthetic v"):
        return f"Synthetic data, generator version {group.removeprefix('synthetic v')}"
    if group == "synthetic, unversioned":
        return "Synthetic data, records from before records named their data (generator version unknown)"
    return group
