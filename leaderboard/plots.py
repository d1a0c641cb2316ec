"""The figures people look at instead of reading the tables (seaborn on matplotlib's Agg).

Each ``*_frame`` function is pure: it turns records (or zoo recipes) into the long table a plot
draws. Each ``plot_*`` function draws one figure and returns its PNG bytes. The PNGs are
byte-identical for the same input: Agg backend, one fixed font (DejaVu Sans, shipped with
matplotlib), fixed size and dpi, no jitter or bootstrap (error bars are the sd), and no
``Software`` or date entry in the PNG metadata.
"""

from __future__ import annotations

import io

import pandas as pd

from leaderboard.frame import STREAM_CODE, bn_statistics, method_rank, recipes, untrained_baseline
from leaderboard.render import Plot
from leaderboard.tables import encoder_label, method_label
from results import variant_label

RC = {"font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
      "figure.dpi": 100, "savefig.dpi": 100, "savefig.bbox": "standard"}
DPI = 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    return plt, sns


def _png(fig) -> bytes:
    plt, _ = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _context():
    plt, sns = _pyplot()
    sns.set_theme(style="whitegrid", rc=RC)
    return plt, sns


# ------------------------------------------------------------------- reproduced vs reported
def plot_reproduced_vs_reported(checks: pd.DataFrame) -> Plot | None:
    """Each checked claim: reported (x) against reproduced mean ± sd (y), one panel per protocol,
    the diagonal and each claim's tolerance band as a grey bar; None without checks."""
    if checks.empty:
        return None
    plt, sns = _context()
    c = checks.assign(panel=[p + (f" {s}" if s else "") for p, s in zip(checks.protocol, checks.setting)],
                      claim=[f"{v} {st}" for v, st in zip(checks.variant, checks.stream)])
    panels = sorted(set(c.panel))
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        p = c[c.panel == panel].sort_values(["claim", "benchmark", "split"], kind="stable")
        lo = min(p.reported.min(), p.reproduced.min()) - 3
        hi = max(p.reported.max(), p.reproduced.max()) + 3
        ax.plot([lo, hi], [lo, hi], color="#888888", lw=1, ls="--", zorder=1)
        ax.vlines(p.reported, p.reported - p.tolerance, p.reported + p.tolerance, color="#cccccc", lw=6, zorder=2)
        sns.scatterplot(data=p, x="reported", y="reproduced", hue="claim", style="benchmark", s=50, ax=ax, zorder=3)
        ax.errorbar(p.reported, p.reproduced, yerr=p.sd.fillna(0), fmt="none", ecolor="#333333", lw=1, zorder=2)
        ax.set(xlim=(lo, hi), ylim=(lo, hi), title=panel, xlabel="reported top-1 (%)", ylabel="reproduced top-1 (%)")
        ax.legend(loc="upper left", fontsize=7)
    fig.tight_layout()
    return Plot("plot-reproduced-vs-reported.png", _png(fig),
                "Reproduced (mean ± sd over seeds) against reported top-1 for every checked claim; the dashed line is "
                "equality, the grey bar the claim's tolerance.")


# --------------------------------------------------------------------------- pretraining curves
def curves_frame(zoo: list[dict], records: list[dict]) -> pd.DataFrame:
    """Top-1 against pretraining epoch, long format (``run``, ``recipe``, ``curve``, ``epoch``,
    ``top1``): the linear probe after every epoch (a zoo recipe's ``curve``, epoch 0 being the
    untrained encoder) and the online KNN monitor (1-NN top-1 in a pretraining ``history``: the
    zoo recipe's ``loss_history``, a record's ``history``) wherever they carry it."""
    rows = []

    def label(r: dict) -> str:
        preset = (r.get("preset") or {}).get("name") if isinstance(r.get("preset"), dict) else r.get("preset")
        return f"{r.get('_name', r.get('method'))} ({preset}, {r.get('epochs')} ep)"

    for r in zoo:
        run, recipe = r.get("_name", ""), label(r)
        for point in r.get("curve") or []:
            if point.get("top1") is not None:
                rows.append((run, recipe, "linear probe", int(point["epoch"]), float(point["top1"])))
        for point in r.get("loss_history") or []:
            if point.get("knn_top1") is not None:
                rows.append((run, recipe, "online KNN 1-NN", int(point["epoch"]), float(point["knn_top1"])))
    for r in records:
        for point in r.get("history") or []:
            if isinstance(point, dict) and point.get("knn_top1") is not None:
                rows.append((r.get("_name", ""), recipe_label(r["method"], variant_label(r.get("variant")).strip(),
                             r["stream"], "pretrained", r.get("preset") or "–", r.get("epochs"), bn_statistics(r)),
                             "online KNN 1-NN", int(point["epoch"]),
                             float(point["knn_top1"])))
    df = pd.DataFrame(rows, columns=["run", "recipe", "curve", "epoch", "top1"])
    return df.drop_duplicates().sort_values(["recipe", "curve", "run", "epoch"], kind="stable").reset_index(drop=True)


def plot_curves(curves: pd.DataFrame) -> Plot | None:
    """Top-1 against pretraining epoch per recipe (mean ± sd where several runs share a recipe);
    epoch 0 is the untrained encoder, so the start of each line is its random-init level."""
    if curves.empty:
        return None
    plt, sns = _context()
    fig, ax = plt.subplots(figsize=(9, 5))
    sns.lineplot(data=curves, x="epoch", y="top1", hue="recipe", style="curve", markers=True, dashes=True,
                 errorbar="sd", ax=ax)
    start = curves[curves.epoch == 0].groupby("recipe").top1.mean()
    for level in sorted(set(round(v, 2) for v in start)):
        ax.axhline(level, color="#999999", lw=0.8, ls=":")
    ax.set(xlabel="pretraining epoch", ylabel="top-1 (%)",
           title="Top-1 against pretraining epoch (zoo recipes, embedded synthetic data — not NTU)")
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    return Plot("plot-pretraining-curves.png", _png(fig),
                "Linear-probe top-1 after every pretraining epoch of each zoo recipe (and the online KNN monitor where "
                "the run recorded it); epoch 0 is the untrained encoder, its level dotted. Synthetic data.")


# ---------------------------------------------------------------------------------- robustness
def recipe_label(method: str, variant: str, stream: str, evidence: str, preset: str, epochs: object, bn: str) -> str:
    return f"{method_label(method, variant)} · {stream} · {encoder_label(evidence, preset, epochs)} · {bn} BN"


def robustness_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Robustness records as (``group``, ``dataset``, ``recipe``, ``corruption``, ``severity``,
    ``top1``, ``record``), severity 0 being the clean top-1 of the same run."""
    rows = []
    r = df[df.protocol == "robustness"] if not df.empty else df
    for rec in r.itertuples():
        label = recipe_label(rec.method, rec.variant, rec.stream, rec.evidence, rec.preset, rec.epochs, rec.bn)
        for corruption, levels in sorted((rec.metrics.get("robustness") or {}).items()):
            rows.append((rec.data_group, rec.dataset, label, corruption, 0.0, rec.top1, rec.record))
            for severity, top1 in sorted(levels.items(), key=lambda kv: float(kv[0])):
                rows.append((rec.data_group, rec.dataset, label, corruption, float(severity), float(top1), rec.record))
    return pd.DataFrame(rows, columns=["group", "dataset", "recipe", "corruption", "severity", "top1", "record"])


def plot_robustness(rob: pd.DataFrame, units: dict[str, str]) -> Plot | None:
    """Top-1 against severity, one panel per corruption, a line per recipe (mean ± sd over seeds)."""
    if rob.empty:
        return None
    plt, sns = _context()
    rob = rob.assign(recipe=[f"{r} ({g}, {d})" for r, g, d in zip(rob.recipe, rob.group, rob.dataset)])
    names = sorted(set(rob.corruption))
    ncol = min(3, len(names))
    nrow = (len(names) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.4 * nrow + 0.8), squeeze=False)
    for i, name in enumerate(names):
        ax = axes[i // ncol][i % ncol]
        sns.lineplot(data=rob[rob.corruption == name], x="severity", y="top1", hue="recipe", marker="o",
                     errorbar="sd", ax=ax, legend=i == 0)
        ax.set(title=name, xlabel=units.get(name, "severity"), ylabel="top-1 (%)")
    for j in range(len(names), nrow * ncol):
        axes[j // ncol][j % ncol].axis("off")
    if names:
        handles, labels = axes[0][0].get_legend_handles_labels()
        if axes[0][0].get_legend() is not None:
            axes[0][0].get_legend().remove()
        fig.legend(handles, labels, loc="lower center", ncol=1, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.06 + 0.025 * len(set(rob.recipe)), 1, 1))
    return Plot("plot-robustness.png", _png(fig),
                "Top-1 under each test-time corruption against its severity (0: clean), mean ± sd over seeds per recipe.")


# ---------------------------------------------------------------------------------------- seeds
def short_label(method: str, variant: str, stream: str, evidence: str, preset: str, epochs: object, bn: str) -> str:
    """A recipe in few words, for an axis: ``SkeletonCLR · J · quick 3 ep · BN training``."""
    enc = encoder_label(evidence, preset, epochs).replace(" preset,", "")
    return f"{method_label(method, variant)} · {STREAM_CODE.get(stream, stream)} · {enc} · BN {bn}"


SEED_PROTOCOLS = ("linear", "knn", "semi", "finetune", "transfer")


def seeds_frame(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run of a trained encoder (``protocol``, ``row``, ``top1``) with ``random_init``
    (the same network untrained — run for this method or one sharing its encoder —, same data and
    setting; NaN where not measured) and ``supervised``
    (the group's finetune-from-random-init level on that dataset)."""
    if df.empty:
        return pd.DataFrame(columns=["protocol", "row", "top1", "random_init", "supervised"])
    rec = recipes(df, "top1")
    randoms = rec[rec.evidence == "random-init"]
    sup = rec[rec.evidence == "supervised"]
    rows = []
    trained = rec[~rec.evidence.isin(("random-init", "supervised")) & rec.protocol.isin(SEED_PROTOCOLS)]
    trained = trained.assign(_m=trained.method.map(method_rank)).sort_values(
        ["_m", "method", "variant", "stream", "preset", "epochs", "bn", "setting", "schedule", "dataset"], kind="stable")
    for r in trained.itertuples():
        base = untrained_baseline(randoms, r)
        s = sup[sup.dataset == r.dataset]
        label = short_label(r.method, r.variant, r.stream, r.evidence, r.preset, r.epochs, r.bn)
        label += "".join(f", {x}" for x in (r.setting, r.schedule) if x) + f" · {r.dataset.removeprefix('synthetic-')}"
        for v in r.stat.values:
            rows.append({"protocol": r.protocol, "row": label, "top1": v,
                         "random_init": base.iloc[0].stat.mean if len(base) else float("nan"),
                         "supervised": s.iloc[0].stat.mean if len(s) else float("nan")})
    return pd.DataFrame(rows, columns=["protocol", "row", "top1", "random_init", "supervised"])


def plot_seeds(seeds: pd.DataFrame, group: str, name: str) -> Plot | None:
    """Each recipe's runs (dots), their mean ± sd (black), the same encoder untrained (grey bar)
    and the supervised baseline (dashed), one panel per protocol."""
    if seeds.empty:
        return None
    plt, sns = _context()
    protocols = [p for p in SEED_PROTOCOLS if p in set(seeds.protocol)]
    heights = [0.6 + 0.32 * seeds[seeds.protocol == p].row.nunique() for p in protocols]
    fig, axes = plt.subplots(len(protocols), 1, figsize=(12, sum(heights) + 0.6 * len(protocols) + 0.5),
                             squeeze=False, gridspec_kw={"height_ratios": heights})
    legend: dict = {}
    for ax, protocol in zip(axes[:, 0], protocols):
        p = seeds[seeds.protocol == protocol]
        order = list(dict.fromkeys(p.row))
        p = p.assign(y=p.row.map({r: i for i, r in enumerate(order)}))
        sns.scatterplot(data=p, x="top1", y="y", s=30, color="#4878d0", alpha=0.8, ax=ax, label="run")
        stats = p.groupby("row", sort=False).agg(mean=("top1", "mean"), sd=("top1", "std"), init=("random_init", "first"),
                                                 sup=("supervised", "first")).reindex(order)
        ys = list(range(len(order)))
        ax.errorbar(stats["mean"], ys, xerr=stats["sd"].fillna(0).to_numpy(), fmt="D", color="black", ms=4, capsize=3,
                    label="mean ± sd")
        init = stats["init"].to_numpy()
        known = [i for i, v in enumerate(init) if v == v]
        if known:
            ax.scatter(init[known], known, marker="|", s=300, color="#999999", zorder=1, label="random init (same encoder)")
        for level in sorted(set(stats["sup"].dropna().round(2))):
            ax.axvline(level, color="#d65f5f", ls="--", lw=1, label="supervised (finetune from random init)")
        ax.set_yticks(ys, order)
        ax.set_ylim(len(order) - 0.5, -0.5)
        ax.set(title=f"{protocol} — {group} (synthetic, not NTU)", xlabel="top-1 (%)", ylabel="", xlim=(0, 100))
        for h, lab in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(lab, h)
        if ax.get_legend() is not None:
            ax.get_legend().remove()
    fig.legend(list(legend.values()), list(legend.keys()), loc="lower center", ncol=len(legend), frameon=False)
    fig.tight_layout(rect=(0, 0.5 / fig.get_figheight(), 1, 1))
    return Plot(name, _png(fig),
                f"{group}: each recipe's runs (blue), mean ± sd (black), the same encoder untrained (grey bar) and the "
                "supervised baseline (red dashes). Synthetic data, not NTU.")
