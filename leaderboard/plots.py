"""The figures people look at instead of reading the tables (matplotlib's Agg, seaborn's theme).

Each ``*_frame`` function is pure: it turns records (or zoo recipes) into the long table a plot
draws. Each ``plot_*`` function draws one figure and returns it with a caption that says what
was measured, how often and over how many runs. The rules every figure keeps:

* only measured points are drawn, each with a marker; a line joins three or more of them, never
  two (two points joined look like a curve nobody measured);
* n is written beside every series or bar, and "mean ± sd" only where n ≥ 2 ("one run" else);
* accuracy axes start at 0, so a one-point change does not look like a collapse;
* legends sit outside the axes, labels stay under :data:`LABEL_MAX` characters;
* a run on an encoder other than its method's own says so in its label (``SkeletonCLR ·
  Transformer``), so two encoders are never one series, bar or row.

The PNGs are byte-identical for the same input: Agg backend, one fixed font (DejaVu Sans,
shipped with matplotlib), fixed size and dpi, no jitter or bootstrap (error bars are the sd),
and no ``Software`` or date entry in the PNG metadata.
"""

from __future__ import annotations

import io
import math
import textwrap

import pandas as pd
from PIL import Image

from leaderboard.frame import (
    METHOD_NAME,
    STREAM_CODE,
    data_clash_labels,
    data_group,
    encoder_rank,
    encoder_title,
    method_rank,
    prepared_as,
    recipe_variant,
    recipes,
    untrained_baseline,
)
from leaderboard.registry import default_encoder, encoder_fields, methods
from leaderboard.render import Plot
from results import record_encoder, variant_label
from results.curves import monitor_curve

RC = {"font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
      "figure.dpi": 100, "savefig.dpi": 100, "savefig.bbox": "standard"}
DPI = 100
#: The longest label a figure shows (tick, legend entry, axis label line); longer text is shortened or wrapped.
LABEL_MAX = 30
#: A line joins a series' points only from this many on: two joined points imply a curve in between.
MIN_LINE_POINTS = 3
#: Width in inches of one bar group of a real benchmark's figure, and the characters a tick line
#: holds under it (9 pt DejaVu Sans averages about 0.07 in a character, and the axes get less than
#: the whole figure): longer tick lines are wrapped, so neighbouring group names never run together.
GROUP_INCHES = 2.0
TICK_CHARS = 20
#: Real benchmark ids as a reader knows them.
DATASET_NAME = {"nwucla": "NW-UCLA", "ntu60": "NTU-60", "ntu120": "NTU-120", "pku1": "PKU-MMD I", "pku2": "PKU-MMD II"}
#: Option names of a variant as a legend can hold them.
OPTION_SHORT = {"temperature": "t", "hidden_channels": "hidden", "out_channels": "out", "dropout": "drop",
                "key_init": "key init", "shared_head": "shared head"}
#: A network by its graph, for the reference lines (the untrained and supervised levels are per network).
NETWORK = {"stgcn_spatial": "ST-GCN", "agcn": "AGCN"}


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
    return compact_png(buf.getvalue())


def compact_png(png: bytes) -> bytes:
    """``png`` with its colours reduced to a 256-colour palette (Pillow's median cut, deterministic).
    A plot holds a handful of colours and their antialiasing, so it looks the same at about a third
    of the bytes; the page embeds every plot, and a tracked file stays under 1 MB (the four plots
    took 470 kB as RGB, 162 kB as palettes)."""
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(256)
    out = io.BytesIO()
    image.save(out, format="png", optimize=True)
    return out.getvalue()


def _context():
    plt, sns = _pyplot()
    sns.set_theme(style="whitegrid", rc=RC)
    return plt, sns


# ------------------------------------------------------------------------------------- labels
def clip(text: str, limit: int = LABEL_MAX) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis, so a legend or tick stays readable."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def wrap(text: str, limit: int = LABEL_MAX) -> str:
    """``text`` on lines of at most ``limit`` characters (an axis label that must say it all)."""
    return "\n".join(textwrap.wrap(text, limit)) or text


def tick_label(bar: str, limit: int = TICK_CHARS) -> str:
    """A bar group's name as its tick holds it: each line wrapped to ``limit`` characters."""
    return "\n".join(wrap(line, limit) for line in bar.splitlines())


def method_name(method: str, variant: str = "") -> str:
    """``SkeleMixCLR+ t=0.07``: the paper's name and the options its pretraining changed, abbreviated."""
    options = []
    for option in (o.strip() for o in variant.strip(" []").split(",") if o.strip()):
        key, _, value = option.partition("=")
        key = OPTION_SHORT.get(key, key.replace("_", " "))
        options.append(f"no {key}" if value == "False" else key if value == "True" else f"{key}={value}")
    name = METHOD_NAME.get(method, method) if method else ""
    return " ".join([name, *options]).strip()


def recipe_short(preset: object, epochs: object) -> str:
    """``quick 8 ep``: the preset and pretraining epochs of an encoder, in few characters."""
    parts = [] if preset in (None, "", "–") else [str(preset)]
    if epochs is not None and not pd.isna(epochs):
        parts.append(f"{int(epochs)} ep")
    return " ".join(parts) or "own file"


def benchmark_name(dataset: str) -> str:
    """``NW-UCLA xview`` for ``nwucla-xview``; other ids as they are."""
    head, _, split = dataset.rpartition("-")
    return f"{DATASET_NAME[head]} {split}" if head in DATASET_NAME else dataset


def benchmark_title(group: str, dataset: str) -> str:
    """A panel's benchmark with what its data are: ``NW-UCLA xview (real)``, ``synthetic-xsub (v3, not NTU)``."""
    if group == "real":
        return f"{benchmark_name(dataset)} (real)"
    return f"{dataset} ({group.removeprefix('synthetic ')}, not NTU)"


def network_name(method: str, encoder: str | None = None) -> str:
    """The untrained network a method's ``encoder`` (default: its own) is, for a reference line's
    label: ST-GCN or AGCN by the graph for an encoder built on one, else the encoder's title
    (Transformer)."""
    if method not in methods():
        return method
    encoder = encoder or default_encoder(method)
    if "graph" not in encoder_fields(encoder):
        return encoder_title(encoder)
    graph = methods()[method]["graph"]
    return NETWORK.get(graph, graph)


def encoder_tag(method: str, encoder: object) -> str:
    """The encoder's title where a run's encoder is not its method's own (``Transformer`` for a
    SkeletonCLR run on it), else "": a label names the encoder only where it departs."""
    if not isinstance(encoder, str) or not encoder or encoder == default_encoder(method):
        return ""
    return encoder_title(encoder)


def runs_text(n: int, spread: bool = True) -> str:
    """``one run`` or ``n=3, mean ± sd`` (``n=3`` without ``spread``): what a point or bar of ``n`` runs is."""
    return "one run" if n < 2 else f"n={n}" + (", mean ± sd" if spread else "")


def _colors(n: int) -> list:
    _, sns = _pyplot()
    return sns.color_palette("tab10", max(n, 1))


def _legend_below(fig, handles: list, labels: list[str], ncol: int) -> float:
    """A figure legend under the axes (it covers no line); returns the height fraction it needs."""
    rows = math.ceil(len(labels) / max(ncol, 1))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False, fontsize=8)
    return (0.25 + 0.2 * rows) / fig.get_figheight()


# ------------------------------------------------------------------- reproduced vs reported
def plot_reproduced_vs_reported(checks: pd.DataFrame) -> Plot | None:
    """Each checked claim: reported (x) against reproduced mean ± sd (y), one panel per protocol,
    the diagonal and each claim's tolerance band as a grey bar; None without a checked claim (a
    real-data record of the official recipe with a reported number to compare with)."""
    if checks.empty:
        return None
    plt, _ = _context()
    c = checks.assign(panel=[clip(p + (f", {s}" if s else ""), 40) for p, s in zip(checks.protocol, checks.setting)],
                      claim=[clip(f"{v} {st}") for v, st in zip(checks.variant, checks.stream)])
    panels = sorted(set(c.panel))
    claims = sorted(set(c.claim))
    benchmarks = sorted(set(zip(c.benchmark, c.split)))
    colors = dict(zip(claims, _colors(len(claims))))
    markers = dict(zip(benchmarks, "os^DvP*X"))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.8 * len(panels) + 0.4, 5.4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        p = c[c.panel == panel].sort_values(["claim", "benchmark", "split"], kind="stable")
        lo = max(0.0, math.floor(min(p.reported.min(), p.reproduced.min()) / 5) * 5 - 5)
        hi = min(100.0, math.ceil(max(p.reported.max(), p.reproduced.max()) / 5) * 5 + 5)
        ax.plot([lo, hi], [lo, hi], color="#888888", lw=1, ls="--", zorder=1)
        ax.vlines(p.reported, p.reported - p.tolerance, p.reported + p.tolerance, color="#cccccc", lw=6, zorder=2)
        for r in p.itertuples():
            sd = 0.0 if r.sd is None or pd.isna(r.sd) else float(r.sd)
            ax.errorbar([r.reported], [r.reproduced], yerr=[sd], fmt=markers[(r.benchmark, r.split)], ms=6,
                        color=colors[r.claim], ecolor="#333333", lw=1, zorder=3)
            ax.annotate(f"n={r.n}", (r.reported, r.reproduced), xytext=(5, -9), textcoords="offset points", fontsize=7)
        ax.set(xlim=(lo, hi), ylim=(lo, hi), title=panel, xlabel="reported top-1 (%)",
               ylabel="reproduced top-1 (%)")
    handles = [plt.Line2D([], [], color=colors[k], marker="o", ls="") for k in claims]
    handles += [plt.Line2D([], [], color="#555555", marker=markers[b], ls="") for b in benchmarks]
    labels = claims + [clip(f"{b} {s}") for b, s in benchmarks]
    bottom = _legend_below(fig, handles, labels, ncol=min(3, len(labels)))
    fig.tight_layout(rect=(0, bottom, 1, 1))
    return Plot("plot-reproduced-vs-reported.png", _png(fig),
                "Reproduced against reported top-1 for every checked claim on real data (colour: the claim, "
                "marker: the benchmark); a point is the mean of its n runs, the bar ± sd where n ≥ 2. The dashed "
                "line is equality, the grey bar the claim's tolerance.")


# --------------------------------------------------------------------------- pretraining curves
KNN_CURVE = "KNN monitor"
PROBE_CURVE = "linear probe"
CURVE_COLUMNS = ["benchmark", "series", "rank", "curve", "run", "every", "epoch", "top1"]


def _curve_rows(benchmark: str, series: str, rank: int, curve: str, every: object, points: list) -> tuple:
    """One measured series as a hashable block (identical blocks from several records are one run)."""
    return benchmark, series, rank, curve, every, tuple(points)


def curves_frame(zoo: list[dict], records: list[dict]) -> pd.DataFrame:
    """Top-1 against pretraining epoch at the epochs it was measured, long format (``benchmark``,
    ``series``, ``rank``, ``curve``, ``run``, ``every``, ``epoch``, ``top1``).

    Two measurements: the pretraining run's online KNN monitor (``curve`` "KNN monitor"; a
    zoo recipe's ``loss_history``, a record's ``pretraining_curve``; ``every`` its period in
    epochs, NaN when irregular) and a zoo recipe's linear probe on the test split (``curve``
    "linear probe": its ``curve``, epoch 0 being the untrained encoder; the zoo measures it at
    epoch 0 and the last epoch only). Records that evaluated one pretraining run carry the same
    curve; each run counts once (``run`` numbers the distinct runs of a series)."""
    blocks = []
    for r in zoo:
        preset = r.get("preset") or {}
        group = f"synthetic v{r['generator_version']}" if r.get("generator_version") is not None else "synthetic"
        bench = benchmark_title(group, str(r.get("dataset", "")))
        method = str(r.get("method", r.get("_name", "")))
        tag = encoder_tag(method, (r.get("config") or {}).get("encoder"))
        series = " · ".join(x for x in (method_name(method), tag) if x) + " · " + recipe_short(
            preset.get("name") if isinstance(preset, dict) else preset, r.get("epochs"))
        rank = method_rank(str(r.get("method")))
        knn = monitor_curve(r.get("loss_history") or [])  # what a record of this run's encoder carries
        if knn:
            blocks.append(_curve_rows(bench, series, rank, KNN_CURVE, knn["every"], list(zip(knn["epochs"], knn["top1"]))))
        probe = [(int(p["epoch"]), float(p["top1"])) for p in r.get("curve") or []
                 if isinstance(p, dict) and p.get("top1") is not None]
        if probe:
            blocks.append(_curve_rows(bench, series, rank, PROBE_CURVE, None, probe))
    for r in records:
        curve = r.get("pretraining_curve")
        if not curve:
            continue
        bench = benchmark_title(data_group(r), r["dataset"])
        variant = recipe_variant(r["method"], r.get("preset"), r.get("variant"))
        name = method_name(r["method"], variant_label(variant).strip())
        tag = encoder_tag(r["method"], record_encoder(r))
        series = " · ".join(x for x in (name, tag) if x) + f" · {recipe_short(r.get('preset'), r.get('epochs'))}"
        blocks.append(_curve_rows(bench, series, method_rank(r["method"]), KNN_CURVE, curve.get("every"),
                                  list(zip(curve["epochs"], curve["top1"]))))
    rows = []
    runs: dict[tuple, int] = {}
    for bench, series, rank, curve, every, points in sorted(set(blocks), key=lambda b: (b[0], b[2], b[1], b[3], b[5])):
        run = runs[(bench, series, curve)] = runs.get((bench, series, curve), -1) + 1
        rows += [(bench, series, rank, curve, run, every, int(e), float(t)) for e, t in points]
    df = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    return df.astype({"every": "Int64"}) if not df.empty else df


def _every_text(every: pd.Series) -> str:
    """How often a monitor measured: ``every epoch``, ``every 5 epochs``, or the periods found."""
    periods = sorted({int(e) for e in every.dropna()})
    irregular = every.isna().any()
    words = [("every epoch" if p == 1 else f"every {p} epochs") for p in periods]
    return " / ".join(words + (["at irregular epochs"] if irregular else [])) or "at irregular epochs"


def curves_caption(curves: pd.DataFrame) -> str:
    """What the curve figure measured, per benchmark and how often: built from the frame it draws."""
    parts = []
    for bench, g in curves.groupby("benchmark", sort=True):
        said = []
        knn = g[g.curve == KNN_CURVE]
        if not knn.empty:
            said.append(f"held-out KNN monitor {_every_text(knn.every)}")
        probe = g[g.curve == PROBE_CURVE]
        if not probe.empty:
            counts = probe.groupby(["series", "run"]).epoch.nunique()
            said.append("linear probe at epoch 0 and the last epoch only" if counts.max() <= 2
                        else "linear probe at the epochs marked")
        parts.append(f"{bench}: {'; '.join(said)}")
    probe = (" Linear probe: the zoo's test-split linear top-1, epoch 0 being the untrained encoder — two points, "
             "not a per-epoch curve." if (curves.curve == PROBE_CURVE).any() else "")
    return ("Top-1 against pretraining epoch, drawn only where measured (a marker per measurement; a line joins "
            f"{MIN_LINE_POINTS} or more, never 2). KNN monitor: 1-NN top-1 of the pretraining run's online monitor on "
            "held-out training performers (every 5th performer of the training split queries the others; the test "
            f"split is never read).{probe} " + ". ".join(parts) + ".")


def series_label(series: str, knn: pd.DataFrame) -> str:
    """A legend entry: the series, with its number of runs where several, and ``2 pts`` where a
    monitor series has too few points to be drawn as a line (said, so no one reads a curve into it)."""
    notes = []
    runs = knn.groupby(["benchmark", "run"]).size()
    if knn.groupby("benchmark").run.nunique().max() > 1:
        notes.append(f"{knn.groupby('benchmark').run.nunique().max()} runs")
    if len(runs) and runs.min() < MIN_LINE_POINTS:
        notes.append(f"{runs.min()} pt" + ("s" if runs.min() > 1 else ""))
    suffix = f" ({', '.join(notes)})" if notes else ""
    return clip(series, LABEL_MAX - len(suffix)) + suffix


def plot_curves(curves: pd.DataFrame) -> Plot | None:
    """Top-1 against pretraining epoch, one panel per benchmark, a colour per method and recipe,
    each run's measured points as markers (joined only where there are enough to be a curve)."""
    if curves.empty:
        return None
    plt, _ = _context()
    from matplotlib.ticker import MaxNLocator

    benches = sorted(set(curves.benchmark), key=lambda b: (not b.endswith("(real)"), b))
    order = curves[["rank", "series"]].drop_duplicates().sort_values(["rank", "series"], kind="stable").series.tolist()
    series = list(dict.fromkeys(order))
    colors = dict(zip(series, _colors(len(series))))
    style = {KNN_CURVE: ("o", "-"), PROBE_CURVE: ("s", "")}
    ncol = min(2, len(benches))
    nrow = math.ceil(len(benches) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(6.2 * ncol, 3.9 * nrow + 1.6), squeeze=False)
    top = min(100.0, math.ceil(curves.top1.max() * 1.1 / 10) * 10)
    for i, bench in enumerate(benches):
        ax = axes[i // ncol][i % ncol]
        b = curves[curves.benchmark == bench]
        for (name, curve, _run), g in b.groupby(["series", "curve", "run"], sort=True):
            marker, line = style[curve]
            # open probe squares shrink with the series' place, so equal values (one untrained network shared
            # by several methods at epoch 0) show as nested squares instead of hiding each other
            size = 5 if curve == KNN_CURVE else 4 + 2.2 * (len(series) - series.index(name))
            ax.plot(g.epoch, g.top1, marker=marker, ls=line if len(g) >= MIN_LINE_POINTS else "", ms=size, lw=1.3,
                    color=colors[name], mfc=colors[name] if curve == KNN_CURVE else "none", mew=1.4,
                    zorder=3 if curve == KNN_CURVE else 4)
        knn = b[b.curve == KNN_CURVE]
        every = f"\nKNN monitor {_every_text(knn.every)}" if not knn.empty else ""
        ax.set(title=bench + every, xlabel="pretraining epoch", ylabel="top-1 (%)", ylim=(0, top),
               xlim=(-0.03 * b.epoch.max() - 0.4, 1.03 * b.epoch.max() + 0.4))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    for j in range(len(benches), nrow * ncol):
        axes[j // ncol][j % ncol].axis("off")
    handles = [plt.Line2D([], [], color=colors[s], lw=2) for s in series]
    labels = [series_label(s, curves[(curves.series == s) & (curves.curve == KNN_CURVE)]) for s in series]
    kinds = [c for c in (KNN_CURVE, PROBE_CURVE) if c in set(curves.curve)]
    handles += [plt.Line2D([], [], color="#444444", marker=style[c][0], ls=style[c][1] or "",
                           mfc="#444444" if c == KNN_CURVE else "white") for c in kinds]
    labels += ["KNN monitor (held-out train)" if c == KNN_CURVE else "linear probe (ep 0 & last)" for c in kinds]
    bottom = _legend_below(fig, handles, labels, ncol=3)
    fig.tight_layout(rect=(0, bottom, 1, 1))
    return Plot("plot-pretraining-curves.png", _png(fig), curves_caption(curves))


# ---------------------------------------------------------------------------------- robustness
def recipe_short_label(method: str, variant: str, stream: str, preset: object, epochs: object, bn: str,
                       encoder: str = "") -> str:
    """``SkeletonCLR · J · quick 3 ep`` (+ ``· precise BN`` where BN was not the training run's;
    ``encoder``, a title from :func:`encoder_tag`, after the method where the run names one)."""
    parts = [method_name(method, variant), encoder, STREAM_CODE.get(stream, stream), recipe_short(preset, epochs)]
    return " · ".join([x for x in parts if x] + ([f"{bn} BN"] if bn not in ("training", "") else []))


def robustness_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Robustness records as (``benchmark``, ``recipe``, ``corruption``, ``severity``, ``top1``,
    ``record``), severity 0 being the clean top-1 of the same run."""
    rows = []
    r = df[df.protocol == "robustness"] if not df.empty else df
    for rec in r.itertuples():
        label = recipe_short_label(rec.method, rec.variant, rec.stream, rec.preset, rec.epochs, rec.bn,
                                   encoder_tag(rec.method, rec.encoder))
        bench = benchmark_title(rec.data_group, rec.dataset)
        for corruption, levels in sorted((rec.metrics.get("robustness") or {}).items()):
            rows.append((bench, label, corruption, 0.0, rec.top1, rec.record))
            for severity, top1 in sorted(levels.items(), key=lambda kv: float(kv[0])):
                rows.append((bench, label, corruption, float(severity), float(top1), rec.record))
    return pd.DataFrame(rows, columns=["benchmark", "recipe", "corruption", "severity", "top1", "record"])


def robustness_series(rob: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd (NaN for one run) and n runs per (series, corruption, severity); ``series`` names
    the recipe, and its benchmark where the figure holds more than one."""
    several = rob.benchmark.nunique() > 1
    s = rob.assign(series=[f"{r} · {b}" if several else r for r, b in zip(rob.recipe, rob.benchmark)])
    return (s.groupby(["series", "corruption", "severity"], sort=True)
            .agg(mean=("top1", "mean"), sd=("top1", "std"), n=("record", "nunique")).reset_index())


def plot_robustness(rob: pd.DataFrame, units: dict[str, str]) -> Plot | None:
    """Top-1 against severity, one panel per corruption on one 0-based y-axis, a line per recipe
    with its n (mean ± sd only where n ≥ 2)."""
    if rob.empty:
        return None
    plt, _ = _context()
    stats = robustness_series(rob)
    names = sorted(set(stats.corruption))
    series = sorted(set(stats.series))
    n_runs = stats.groupby("series").n.max()
    colors = dict(zip(series, _colors(len(series))))
    ncol = min(3, len(names))
    nrow = math.ceil(len(names) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.4 * ncol, 3.3 * nrow + 1.4), squeeze=False, sharey=True)
    top = min(100.0, math.ceil((stats["mean"] + stats.sd.fillna(0)).max() * 1.15 / 10) * 10)
    for i, name in enumerate(names):
        ax = axes[i // ncol][i % ncol]
        for label in series:
            g = stats[(stats.corruption == name) & (stats.series == label)]
            if g.empty:
                continue
            ax.errorbar(g.severity, g["mean"], yerr=g.sd.fillna(0) if n_runs[label] > 1 else None, marker="o", ms=4,
                        lw=1.3, capsize=3, color=colors[label],
                        ls="-" if len(g) >= MIN_LINE_POINTS else "")
        ax.set(title=name.replace("_", " "), xlabel=wrap(units.get(name, "severity")), ylim=(0, top),
               ylabel="top-1 (%)" if i % ncol == 0 else "")
        ax.tick_params(labelleft=True)
    for j in range(len(names), nrow * ncol):
        axes[j // ncol][j % ncol].axis("off")
    benches = sorted(set(rob.benchmark))
    handles = [plt.Line2D([], [], color=colors[s], marker="o", lw=1.3) for s in series]
    labels = [f"{clip(s)} ({runs_text(int(n_runs[s]))})" for s in series]
    bottom = _legend_below(fig, handles, labels, ncol=min(2, len(labels)))
    fig.suptitle("Top-1 under test-time corruptions" + (f" — {benches[0]}" if len(benches) == 1 else ""))
    fig.tight_layout(rect=(0, bottom, 1, 1))
    one = all(n < 2 for n in n_runs)
    return Plot("plot-robustness.png", _png(fig),
                "Top-1 under each test-time corruption against its severity (0: clean, the same run), on a y-axis from "
                "0. " + ("Each line is one run (n=1 per recipe: no spread over seeds is known)." if one else
                         "A point is the mean of the recipe's n runs, the bar ± sd where n ≥ 2; n is in the legend."))


# ------------------------------------------------------------------------ real benchmark probes
#: The three figures a small real benchmark is read by: (protocol, setting, label).
PROBES = (("linear", "", "official probe"), ("linear", "standardised probe", "standardised probe"),
          ("knn", "backbone", "KNN 1-NN"))
PROBE_COLUMNS = ["bar", "encoder_rank", "rank", "probe", "mean", "sd", "n", "untrained", "untrained_n"]


def _prepared(normalisation: str, data: str = "") -> str:
    """A bar's or a level's tail naming another preparation of the benchmark (:func:`prepared_as`),
    or its ``data`` where runs of one recipe are on other files too
    (:func:`leaderboard.frame.data_clash_labels`, which names the preparation as well)."""
    note = f"data {data}" if data else prepared_as(normalisation)
    return f", {note}" if note else ""


#: What names a bar of :func:`probes_frame` (with the probe): recipes alike in these are one bar.
BAR_KEY = ("method", "variant", "stream", "encoder", "evidence", "preset", "epochs", "bn", "normalisation", "protocol",
           "setting")


def probes_frame(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Per trained encoder (``bar``: method, its encoder where not the method's own, and recipe;
    ST-GCN's bars first) on a real ``dataset``, the top-1 of each probe of :data:`PROBES` over its
    runs (``mean``, ``sd``, ``n``) and the same network untrained under that probe (``untrained``,
    ``untrained_n``; NaN where not run)."""
    if df.empty:
        return pd.DataFrame(columns=PROBE_COLUMNS)
    rec = recipes(df[(df.data_group == "real") & (df.dataset == dataset)], "top1")
    rec = rec[(rec.schedule == "") & (rec.mismatch == "")]
    randoms = rec[rec.evidence == "random-init"]
    data = dict(zip(rec.index, data_clash_labels(rec, list(BAR_KEY))))
    rows = []
    for protocol, setting, label in PROBES:
        trained = rec[~rec.evidence.isin(("random-init", "supervised")) & (rec.protocol == protocol)
                      & (rec.setting == setting)]
        for r in trained.itertuples():
            base = untrained_baseline(randoms, r)
            stream = "" if r.stream == "joint" else f" {STREAM_CODE.get(r.stream, r.stream)}"
            bn = "" if r.bn == "training" else f", {r.bn} BN"
            tag = encoder_tag(r.method, r.encoder)
            bar = (f"{method_name(r.method, r.variant) + stream + (f' · {tag}' if tag else '')}\n"
                   f"{recipe_short(r.preset, r.epochs)}{bn}{_prepared(r.normalisation, data[r.Index])}")
            u = base.iloc[0].stat if len(base) else None
            rows.append((bar, encoder_rank(r.encoder), method_rank(r.method), label, r.stat.mean, r.stat.sd, r.stat.n,
                         u.mean if u else float("nan"), u.n if u else 0))
    out = pd.DataFrame(rows, columns=PROBE_COLUMNS)
    return out.sort_values(["encoder_rank", "rank", "bar"], kind="stable").reset_index(drop=True)


def supervised_levels(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """The supervised baselines (fine-tune from random init) on a real ``dataset``: ``label``
    (its network and n), ``mean`` top-1 and ``schedule`` (said in the caption where it departs from
    the official one, with the training augmentation where there is one)."""
    if df.empty:
        return pd.DataFrame(columns=["label", "mean", "schedule"])
    rec = recipes(df[(df.data_group == "real") & (df.dataset == dataset)], "top1")
    sup = rec[rec.evidence == "supervised"]
    data = dict(zip(sup.index, data_clash_labels(sup, ["method", "encoder", "normalisation", "setting", "schedule"])))
    rows = sorted({(f"supervised {network_name(r.method, r.encoder)}"
                    f"{_prepared(r.normalisation, data[r.Index])} "
                    f"({runs_text(r.stat.n, spread=False)})", r.stat.mean, ", ".join(x for x in (r.setting, r.schedule) if x))
                   for r in sup.itertuples()})
    return pd.DataFrame(rows, columns=["label", "mean", "schedule"])


def plot_real_probes(probes: pd.DataFrame, supervised: pd.DataFrame, dataset: str) -> Plot | None:
    """Grouped bars: per method, the official probe, the standardised probe and KNN 1-NN, each
    with its n and a black tick at the same network untrained under that probe; the supervised
    baseline as a dashed line across. None without a trained encoder's record."""
    if probes.empty:
        return None
    plt, _ = _context()
    bars = list(dict.fromkeys(probes.bar))
    labels = [p for _, _, p in PROBES if p in set(probes.probe)]
    colors = dict(zip(labels, _colors(len(labels))))
    width = 0.8 / len(labels)
    fig, ax = plt.subplots(figsize=(max(7.0, GROUP_INCHES * len(bars) + 2), 5.6))
    for j, label in enumerate(labels):
        p = probes[probes.probe == label].set_index("bar").reindex(bars)
        xs = [i - 0.4 + width * (j + 0.5) for i in range(len(bars))]
        sd = p.sd.where(p.n > 1).fillna(0).to_numpy(dtype=float)
        ax.bar(xs, p["mean"].fillna(0), width * 0.92, color=colors[label], label=label)
        spread = [i for i, v in enumerate(sd) if v > 0]
        if spread:  # ± sd only over several runs: a cap on one run would draw a spread nobody measured
            ax.errorbar([xs[i] for i in spread], p["mean"].iloc[spread], yerr=sd[spread], fmt="none", ecolor="black",
                        capsize=3, lw=1)
        for x, m, s, n, u in zip(xs, p["mean"], sd, p.n, p.untrained):
            if pd.isna(m):
                continue
            ax.annotate(f"n={int(n)}", (x, m + s), xytext=(0, 2), textcoords="offset points", ha="center",
                        fontsize=7)
            if not pd.isna(u):
                ax.hlines(u, x - width * 0.46, x + width * 0.46, color="black", lw=2.2, zorder=4)
    references = [plt.Line2D([], [], color="black", lw=2.2)]
    styles = ("--", "-.", ":")
    for k, s in enumerate(supervised.itertuples()):
        references.append(ax.axhline(s.mean, color="#c03030", ls=styles[k % len(styles)], lw=1.2))
    ax.set_xticks(range(len(bars)), [tick_label(b) for b in bars])
    ax.grid(axis="x", visible=False)
    ax.set(ylim=(0, 100), ylabel="top-1 (%)", xlim=(-0.6, len(bars) - 0.4),
           title=f"{benchmark_name(dataset)} (real data, reproduced by the suite)")
    handles, names = ax.get_legend_handles_labels()
    names += ["untrained, same network"] + supervised_legend(supervised)
    bottom = _legend_below(fig, handles + references, names, ncol=len(labels))
    fig.tight_layout(rect=(0, bottom, 1, 1))
    un = sorted({int(n) for n in probes.untrained_n if n})
    slug = "".join(c if c.isalnum() else "-" for c in dataset)
    return Plot(f"plot-real-{slug}.png", _png(fig),
                f"{benchmark_name(dataset)} (real data, reproduced by the suite): top-1 of each method's own "
                "pretrained encoder under the official linear probe, the standardised probe and KNN 1-NN; n runs above "
                "each bar (± sd where n ≥ 2). Black tick: the same network untrained under the same probe"
                + (f" (mean of {'/'.join(map(str, un))} init seeds)" if un else "")
                + "; red line: " + (supervised_text(supervised) or "no supervised baseline on record") + ".")


def supervised_legend(supervised: pd.DataFrame) -> list[str]:
    """The legend entries of the supervised lines: a label two lines share (the same network on the
    same data, trained another way) takes its schedule, so each line's entry is its own."""
    shared = supervised.label.duplicated(keep=False)
    return [wrap(f"{s.label}: {s.schedule}" if twice and s.schedule else s.label)
            for s, twice in zip(supervised.itertuples(), shared)]


def supervised_text(supervised: pd.DataFrame) -> str:
    """The supervised lines in words, with a schedule or augmentation other than the official said."""
    return "; ".join(f"{s.label.split(' (')[0].removeprefix('supervised ')} fine-tuned from random init"
                     + (f" ({s.schedule})" if s.schedule else "") for s in supervised.itertuples())


# ---------------------------------------------------------------------------------------- seeds
SEED_PROTOCOLS = ("linear", "knn", "semi", "finetune", "transfer")
SEED_COLUMNS = ["protocol", "panel", "method", "recipe", "dataset", "top1", "random_init", "supervised"]


def setting_short(setting: str) -> str:
    """A protocol setting as a panel title holds it: ``std probe``, ``from xsub (linear)``."""
    return setting.replace("standardised probe", "std probe").replace("synthetic-", "")


def seeds_frame(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run of a trained encoder: ``protocol`` and ``panel`` (its setting and schedule:
    runs of another setting are another panel), the recipe in two short parts (``method`` with its
    options, ``recipe``: the encoder where not the method's own, stream, preset, epochs, BN),
    ``dataset``, ``top1``; with ``random_init``
    (the same network untrained — run for this method or one sharing its encoder —, same data and
    setting; NaN where not measured) and ``supervised`` (the group's finetune-from-random-init
    level of the same encoder on that dataset)."""
    if df.empty:
        return pd.DataFrame(columns=SEED_COLUMNS)
    rec = recipes(df, "top1")
    randoms = rec[rec.evidence == "random-init"]
    sup = rec[rec.evidence == "supervised"]
    rows = []
    trained = rec[~rec.evidence.isin(("random-init", "supervised")) & rec.protocol.isin(SEED_PROTOCOLS)]
    trained = trained.assign(_m=trained.method.map(method_rank), _c=trained.encoder.map(encoder_rank)).sort_values(
        ["_c", "encoder", "_m", "method", "variant", "stream", "preset", "epochs", "bn", "setting", "schedule",
         "dataset"], kind="stable")
    for r in trained.itertuples():
        base = untrained_baseline(randoms, r)
        s = sup[(sup.dataset == r.dataset) & (sup.encoder == r.encoder)]  # the same network's ceiling
        panel = ", ".join(setting_short(x) for x in (r.setting, r.schedule) if x)
        recipe = recipe_short_label("", "", r.stream, r.preset, r.epochs, r.bn, encoder_tag(r.method, r.encoder))
        for v in r.stat.values:
            rows.append({"protocol": r.protocol, "panel": panel, "method": clip(method_name(r.method, r.variant)),
                         "recipe": recipe, "dataset": r.dataset.removeprefix("synthetic-"), "top1": v,
                         "random_init": base.iloc[0].stat.mean if len(base) else float("nan"),
                         "supervised": s.iloc[0].stat.mean if len(s) else float("nan")})
    return pd.DataFrame(rows, columns=SEED_COLUMNS)


def plot_seeds(seeds: pd.DataFrame, group: str, name: str) -> Plot | None:
    """Each recipe's runs (dots), their mean ± sd (black, n per row), the same encoder untrained
    (grey bar) and the supervised baseline (dashed), one panel per protocol and setting."""
    if seeds.empty:
        return None
    plt, _ = _context()
    rank = {p: i for i, p in enumerate(SEED_PROTOCOLS)}
    panels = sorted(set(zip(seeds.protocol, seeds.panel)), key=lambda k: (rank[k[0]], k[1]))
    keys = ["method", "recipe", "dataset"]
    sizes = [len(seeds[(seeds.protocol == pr) & (seeds.panel == pa)][keys].drop_duplicates()) for pr, pa in panels]
    heights = [0.4 + 0.46 * n for n in sizes]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, sum(heights) + 0.75 * len(panels) + 0.6),
                             squeeze=False, gridspec_kw={"height_ratios": heights})
    legend: dict = {}
    for ax, (protocol, panel) in zip(axes[:, 0], panels):
        p = seeds[(seeds.protocol == protocol) & (seeds.panel == panel)]
        datasets = sorted(set(p.dataset))
        rows = list(dict.fromkeys(zip(p.method, p.recipe, p.dataset)))
        p = p.assign(y=[rows.index(k) for k in zip(p.method, p.recipe, p.dataset)])
        ax.scatter(p.top1, p.y, s=22, color="#4878d0", alpha=0.8, zorder=3, label="run")
        stats = p.groupby("y").agg(mean=("top1", "mean"), sd=("top1", "std"), n=("top1", "size"),
                                   init=("random_init", "first"), sup=("supervised", "first")).sort_index()
        ax.errorbar(stats["mean"], stats.index, xerr=stats["sd"].fillna(0).to_numpy(), fmt="D", color="black", ms=4,
                    capsize=3, zorder=4, label="mean ± sd (n ≥ 2)")
        known = stats["init"].dropna()
        if len(known):
            ax.scatter(known, known.index, marker="|", s=300, color="#999999", zorder=1,
                       label="random init (same encoder)")
        for level in sorted(set(stats["sup"].dropna().round(2))):
            ax.axvline(level, color="#d65f5f", ls="--", lw=1, label="supervised (from random init)")
        ax.set_yticks(range(len(rows)), [f"{m}\n{r}" + (f" · {d}" if len(datasets) > 1 else "") + f" (n={int(n)})"
                                         for (m, r, d), n in zip(rows, stats["n"])])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        where = f"{datasets[0]}, " if len(datasets) == 1 else ""
        ax.set(title=f"{protocol}{', ' + panel if panel else ''} — {where}{group} (not NTU)", xlabel="top-1 (%)",
               ylabel="", xlim=(0, 100))
        ax.grid(axis="y", visible=False)
        for h, lab in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(lab, h)
    fig.legend(list(legend.values()), list(legend.keys()), loc="lower center", ncol=len(legend), frameon=False)
    fig.tight_layout(rect=(0, 0.45 / fig.get_figheight(), 1, 1))
    return Plot(name, _png(fig),
                f"{group}: each recipe's runs (blue; n per row), mean ± sd where n ≥ 2 (black), the same encoder "
                "untrained (grey bar) and the supervised baseline (red dashes); one panel per protocol and setting. "
                "Synthetic data, not NTU.")
