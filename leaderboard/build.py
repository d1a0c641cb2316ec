"""Build ``leaderboard/README.md`` (and a plot) from result records: ``python -m leaderboard``.

Reproduced numbers come only from records; reported numbers only from ``reported.csv``, each
with its source. Synthetic-data rows stand in their own table, headed as synthetic, and are
never matched against NTU numbers.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from datasets.cache import atomic_write_text
from results import read_records, variant_label
from results.cli import ArgumentParser

HERE = Path(__file__).resolve().parent
REPORTED = HERE / "reported.csv"
STREAM_CODE = {"joint": "J", "motion": "M", "bone": "B"}
DATASET_CODE = {"ntu60": "NTU60", "ntu120": "NTU120", "pku1": "PKU-MMD-I", "pku2": "PKU-MMD-II"}
METHOD_NAME = {"skeletonclr": "SkeletonCLR", "crossclr": "CrosSCLR", "aimclr": "AimCLR", "skelemixclr": "SkeleMixCLR",
               "skelemixclr-v1": "SkeleMixCLR"}


def records_frame(records: list[dict]) -> pd.DataFrame:
    """One row per record with the columns the tables need; the newest record of each
    (method, variant, dataset, data fingerprint, stream, protocol, checkpoint source, BN, pretraining
    seed) wins: runs of one recipe with other seeds stand in rows of their own, so the spread is
    visible, and a record on other files (regenerated, re-prepared or edited data) never replaces
    a row: it gets its own, its ``data`` column showing the difference."""
    rows = []
    for r in records:
        m = r["metrics"]
        rows.append({
            "method": r["method"], "variant": variant_label(r.get("variant")), "dataset": r["dataset"],
            "data": data_id(r), "stream": r["stream"], "protocol": r["protocol"], "setting": protocol_setting(r),
            "checkpoint": r["checkpoint"]["source"], "preset": r.get("preset") or "–", "bn": bn_statistics(r),
            "pretrain_seed": r.get("pretrain_seed"),
            "epochs": r.get("epochs"), "frames": r.get("frames"), "top1": m.get("top1"),
            "best_top1": m.get("best_top1"), "top5": m.get("top5"), "extra": protocol_extra(r),
            "pretrain_wall_s": r.get("pretrain_wall_s"),
            "wall_s": r.get("wall_s"), "device": r.get("device"), "commit": str(r.get("commit", ""))[:8],
            "created": r.get("created", ""), "synthetic": bool(r.get("synthetic")), "record": Path(r["_path"]).name,
        })
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    key = ["method", "variant", "dataset", "data", "stream", "protocol", "setting", "checkpoint", "bn", "pretrain_seed"]
    df["pretrain_seed"] = df["pretrain_seed"].astype("Int64")  # nullable: random-init and official files have none
    latest = df.sort_values("created").groupby(key, as_index=False, dropna=False).tail(1)
    return latest.sort_values(key, na_position="first").reset_index(drop=True)


#: The protocols in the order their tables appear, with what each table calls its setting.
PROTOCOLS = ("linear", "knn", "semi", "finetune", "transfer", "ensemble", "robustness")


PROTOCOL_NOTES = {
    "linear": "Frozen encoder, linear classifier (methods.md §3.1). `extra`: –.",
    "knn": "Frozen encoder, no training: `top1` is the cosine 1-NN (FAISS), `extra` the weighted vote at k=20, "
           "t=0.1 (SkeleMixCLR's monitor, §3.2); `top5` whether the label is among the 5 nearest neighbours' labels.",
    "semi": "Whole network trained on a class-balanced labelled subset (`setting`), §3.3.",
    "finetune": "Whole network trained with all labels (§3.4); from random init it is the supervised baseline, "
                "the upper reference row of every table.",
    "transfer": "Encoder pretrained on the source benchmark (`setting`), evaluated on this one.",
    "ensemble": "Weighted sum of the joint/motion/bone classifiers' raw logits (AimCLR's 0.6/0.4/0.6, §3.6).",
    "robustness": "Linear probe trained on clean features, tested on corrupted inputs: `top1` clean, `extra` the "
                  "mean accuracy kept over corruptions and severities (1.0: unaffected).",
}


def protocol_setting(record: dict) -> str:
    """What distinguishes runs of one protocol that are not comparable with each other: the
    labelled fraction (semi), the features (knn), the source and target protocol (transfer), the
    fused streams' logits (ensemble); "" where the protocol has one setting."""
    cfg, protocol = record.get("protocol_config") or {}, record["protocol"]
    if protocol == "semi" and cfg.get("fraction") is not None:
        return f"{100 * float(cfg['fraction']):g}%"
    if protocol == "knn":
        return cfg.get("features", "backbone") + (", augmented bank" if cfg.get("augmented_bank") else "")
    if protocol == "transfer":
        return f"{cfg.get('source')} → {cfg.get('eval')}"
    if protocol == "ensemble":
        return f"{cfg.get('fused_protocol')}, {cfg.get('logits')} logits"
    return ""


def protocol_extra(record: dict) -> str | float | None:
    """A protocol's second number beside top-1: the weighted k-NN vote at k=20 (knn), the mean
    accuracy kept under corruption (robustness)."""
    m = record["metrics"]
    if record["protocol"] == "knn":
        return (m.get("knn_top1") or {}).get("20")
    if record["protocol"] == "robustness":
        return m.get("mean_relative")
    return None


def data_id(record: dict) -> str:
    """The first 8 hex digits of the data fingerprint a record names ("–" for records from before
    records carried one)."""
    fingerprint = (record.get("data") or {}).get("fingerprint")
    return fingerprint[:8] if fingerprint else "–"


def bn_statistics(record: dict) -> str:
    """How the evaluated backbone's BN statistics were obtained: ``precise`` (re-estimated on clean
    training data) or ``training`` (the running averages the pretraining ended with, as the official
    code). Records from before the field existed are known by their source: random-init rows were
    always re-estimated, checkpoints never."""
    bn = record.get("bn_statistics")
    if bn:
        return bn
    return "precise" if record["checkpoint"]["source"] == "random" else "training"


def _md(df: pd.DataFrame) -> str:
    if df.empty:
        return "_No records yet._\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        lines.append("| " + " | ".join("–" if pd.isna(v) else str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def gain_over_random_init(df: pd.DataFrame) -> list[float | None]:
    """Each row's top-1 minus the random-init row of the same method, data, stream and protocol
    (the same encoder, graph and frame count untrained); None where that baseline has no record."""
    random = df[df.checkpoint == "random"].set_index(["method", "dataset", "data", "stream", "protocol", "setting"]).top1
    out = []
    for row in df.itertuples():
        base = random.get((row.method, row.dataset, row.data, row.stream, row.protocol, row.setting))
        out.append(None if row.checkpoint == "random" or base is None else round(row.top1 - base, 2))
    return out


def synthetic_table(df: pd.DataFrame) -> pd.DataFrame:
    if df.empty:
        return df
    s = df[df.synthetic].copy()
    s["gain"] = gain_over_random_init(s)
    s["method"] = [row_label(m, v, c, p) for m, v, c, p in zip(s.method, s.variant, s.checkpoint, s.protocol)]
    return s[["method", "dataset", "data", "stream", "protocol", "setting", "checkpoint", "preset", "bn", "epochs",
              "pretrain_seed", "frames", "top1", "gain", "extra",
              "best_top1", "top5", "pretrain_wall_s", "wall_s", "device", "commit", "record"]]


def row_label(method: str, variant: str, checkpoint: str, protocol: str) -> str:
    """A row's name: the method and variant; an untrained encoder is "(random init)", and trained
    end to end from it with labels (finetune) it is the supervised baseline."""
    if checkpoint == "random":
        return f"{method} (supervised, from scratch)" if protocol == "finetune" else f"{method} (random init)"
    return method + variant


def protocol_tables(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """The synthetic table cut into one table per protocol (in :data:`PROTOCOLS` order), each with
    the supervised baseline rows (finetune from random init) of its datasets as the upper reference."""
    if table.empty:
        return []
    supervised = table[(table.protocol == "finetune") & table.method.str.endswith("(supervised, from scratch)")]
    out = []
    for protocol in [p for p in PROTOCOLS if p in set(table.protocol)] + sorted(set(table.protocol) - set(PROTOCOLS)):
        rows = table[table.protocol == protocol]
        if protocol != "finetune":
            rows = pd.concat([rows, supervised[supervised.dataset.isin(rows.dataset)]])
        out.append((protocol, rows.drop(columns=["gain"] if rows.gain.isna().all() else [])))
    return out


def seed_summary(table: pd.DataFrame) -> pd.DataFrame:
    """The spread of each pretraining recipe over its seeds: rows of the synthetic table that differ
    only in ``pretrain_seed`` are one recipe; recipes with two or more seeds get n, mean, standard
    deviation (n − 1), min, max of top-1, the random-init top-1 and how many seeds beat it."""
    rows = table[(table.checkpoint != "random") & table.pretrain_seed.notna()]
    recipe = ["method", "dataset", "data", "stream", "protocol", "setting", "preset", "bn", "epochs"]
    out = []
    for key, g in rows.groupby(recipe, sort=True):
        if len(g) < 2:
            continue
        base = g.top1 - g.gain  # every row of a recipe has the same random-init row
        out.append({**dict(zip(recipe, key)), "seeds": ",".join(str(int(x)) for x in sorted(g.pretrain_seed)),
                    "n": len(g), "mean_top1": round(g.top1.mean(), 2), "sd": round(g.top1.std(ddof=1), 2),
                    "min": g.top1.min(), "max": g.top1.max(),
                    "random_init": None if g.gain.isna().any() else round(base.iloc[0], 2),
                    "above_random_init": None if g.gain.isna().any() else f"{int((g.gain > 0).sum())}/{len(g)}"})
    return pd.DataFrame(out, columns=recipe + ["seeds", "n", "mean_top1", "sd", "min", "max", "random_init",
                                               "above_random_init"])


def comparison_table(df: pd.DataFrame, reported: pd.DataFrame) -> pd.DataFrame:
    """Reported numbers of the registry's methods beside the suite's reproduced ones (real data only)."""
    rep = reported[reported.method.isin(METHOD_NAME.values())].copy()
    rep["reproduced"] = pd.NA
    rep["frames"] = pd.to_numeric(rep.frames, errors="coerce").astype("Int64")
    if not df.empty:
        real = df[~df.synthetic]
        for i, row in rep.iterrows():
            hit = real[(real.method.map(METHOD_NAME) == row.method) & (real.variant == "") & (real.protocol == row.protocol)
                       & (real.dataset.map(lambda d: DATASET_CODE.get(d.split("-")[0])) == row.dataset)
                       & (real.dataset.str.split("-").str[-1] == row.split)
                       & (real.stream.map(STREAM_CODE) == row.stream)]
            if len(hit):
                rep.at[i, "reproduced"] = hit.iloc[-1].top1
    rep["source"] = rep.source_type + ": " + rep.source_ref
    return rep[["method", "variant", "protocol", "dataset", "split", "stream", "frames", "value", "reproduced", "source"]]


def bar_labels(table: pd.DataFrame) -> list[str]:
    """One label per row of the synthetic table, so seaborn draws one bar per row: the same method on
    another stream, checkpoint or seed must not be averaged into it (the method column already names
    random-init rows and variants; random-init rows always use precise BN, so only other rows name it)."""
    return [f"{m} · {st}" + ("" if c == "random" else f" ({c}" + ("" if pd.isna(s) else f", seed {s}")
                              + (", precise BN" if bn == "precise" else "") + ")")
            for m, st, c, s, bn in zip(table.method, table.stream, table.checkpoint, table.pretrain_seed, table.bn)]


def plot_synthetic(table: pd.DataFrame, path: Path) -> Path | None:
    if table.empty:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    lin = table[table.protocol == "linear"]
    if lin.empty:
        return None
    lin = lin.assign(bar=bar_labels(lin))
    fig, ax = plt.subplots(figsize=(8, 0.5 + 0.45 * len(lin)))
    sns.barplot(data=lin, y="bar", x="top1", hue="dataset", ax=ax, orient="h")
    ax.set_ylabel("")
    ax.set_xlabel("linear top-1 (%) — synthetic data, not NTU")
    ax.set_xlim(0, 100)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def build(records_dir: Path | None = None, out_dir: Path = HERE) -> Path:
    df = records_frame(read_records(records_dir))
    reported = pd.read_csv(REPORTED)
    syn = synthetic_table(df)
    out_dir.mkdir(parents=True, exist_ok=True)
    plot = plot_synthetic(syn, out_dir / "synthetic_linear.png")
    text = [
        "# SkeleBench leaderboard\n",
        "Generated by `python -m leaderboard` from the result records in `results/records/` and the reported "
        "numbers in `leaderboard/reported.csv`. Do not edit by hand.\n",
        "## Embedded synthetic data (not NTU RGB+D)\n",
        "Numbers on the suite's generated NTU-like data (`datasets/synthetic.py`). They test the pipeline and "
        "compare methods under one small CPU recipe; they are **not** comparable with any NTU number. `gain` is "
        "top-1 minus the random-init row of the same method (same encoder, graph and frames, BN statistics "
        "re-estimated); `bn` says how the evaluated encoder's BN statistics were obtained (`training`: the "
        "running averages pretraining ended with, as the official code; `precise`: re-estimated on the clean "
        "training set, as for every random-init row); `pretrain_seed` is the pretraining run's seed (one row per seed, so the spread of a recipe "
        "shows); `pretrain_wall_s` is the pretraining run's wall time (from the zoo recipe), `wall_s` the "
        "evaluation run's (features cached after the first run).\n",
        *[f"\n### {protocol}\n\n{PROTOCOL_NOTES.get(protocol, '')}\n\n{_md(rows)}" for protocol, rows in protocol_tables(syn)],
        "\n### Spread over pretraining seeds\n",
        "Each recipe run with two or more pretraining seeds (rows above that differ only in `pretrain_seed`): "
        "top-1 mean, standard deviation, range, and how many seeds beat the untrained encoder. A seed listed twice "
        "was run twice (the zoo run and a rerun on another thread count, which trains to other weights); both "
        "count. One seed is not evidence that a recipe beats random init here.\n",
        _md(seed_summary(syn)),
    ]
    if plot:
        text.append(f"\n![linear top-1 on synthetic data]({plot.name})\n")
    text += [
        "\n## Real benchmarks: reproduced beside reported\n",
        "`value` is the number reported with its source (`readme`: the authors' repository README; "
        "`secondary`: quoted by a later paper, to be checked against the PDF). `reproduced` is the suite's "
        "latest record for the same method, protocol, benchmark and stream (– where none has been run: real "
        "NTU/PKU data need a registration and are not on the suite's machines).\n",
        _md(comparison_table(df, reported)),
    ]
    path = out_dir / "README.md"
    atomic_write_text(path, "\n".join(text))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m leaderboard", description="Regenerate the leaderboard from records.")
    ap.add_argument("--records", type=Path, help="records folder (default: results/records)")
    ap.add_argument("--out", type=Path, default=HERE, help="output folder (default: leaderboard/)")
    args = ap.parse_args(argv)
    try:
        path = build(args.records, args.out)
    except (ValueError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"leaderboard written to {path}")
    return 0
