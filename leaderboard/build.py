"""Build the leaderboard from result records: ``python -m leaderboard``.

Writes, into ``leaderboard/`` (or ``--out``):

* ``README.md`` — the ranked tables (per protocol and benchmark group, papers-with-code style:
  rank, paper and code links, sources as footnotes; real benchmarks: reported beside reproduced;
  the embedded synthetic data apart, per generator version), the checks, and the plots;
* ``index.html`` — the same as one self-contained page (sortable tables, plots embedded, every
  record with its exact command), viewable without a network and readable on a laptop screen
  (wide tables scroll in their box; the claims and the records are collapsed);
* ``records.csv`` — one row per run (every seed and option), which the front tables aggregate;
* ``plot-*.png`` — the figures.

Reproduced numbers come only from records, reported ones only from ``reported.csv``, papers and
code links only from ``methods.csv``. The output
depends on nothing else (no clock, no absolute path), so the same records give byte-identical
files, and a file whose content would not change is not rewritten.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pandas as pd

from leaderboard import plots
from leaderboard.frame import data_id, encoder_rank, group_rank, method_rank, records_frame
from leaderboard.ranking import METHODS_CSV, Leaderboard, ranked_real, ranked_synthetic, read_methods
from leaderboard.render import (
    Plot,
    anchor,
    esc,
    html_details,
    html_figure,
    html_frame,
    html_leaderboard,
    html_page,
    html_table,
    markdown_frame,
    markdown_leaderboard,
    markdown_table,
    prose,
)
from leaderboard.reported import REPORTED, parse_sources, read_reported, source_counts
from leaderboard.tables import REAL_METRIC, Table, checks, group_title, real_tables, synthetic_tables
from results import RECORDS_DIR, read_records, records_dir
from utils.cli import ArgumentParser
from utils.files import atomic_write
from utils.paths import REPO_ROOT, cache_dir

HERE = Path(__file__).resolve().parent
ZOO_DIR = REPO_ROOT / "methods" / "zoo"
RECORD_COLUMNS = ["record", "data_group", "dataset", "data", "method", "encoder", "variant", "stream", "protocol",
                  "setting", "schedule", "evidence", "checkpoint", "layout", "preset", "epochs", "bn", "pretrain_seed",
                  "seed", "frames", "top1", "best_top1", "top5", "extra", "mismatch", "wall_s", "pretrain_wall_s",
                  "device", "commit", "created", "command", "warning"]
#: The page's records table: what a reader looks for first (the run, what it measured, its top-1),
#: then everything else in records.csv's order.
PAGE_RECORD_FIRST = ["record", "method", "dataset", "protocol", "top1", "best_top1", "top5", "encoder", "stream",
                     "variant", "setting", "evidence"]

#: The page's paragraphs, kept as text files in ``leaderboard/prose/`` (wrapped for reading; a
#: blank line separates paragraphs), not as code.
PROSE_DIR = Path(__file__).with_name("prose")


def prose_text(name: str) -> str:
    """A paragraph file of :data:`PROSE_DIR` as the page prints it: each paragraph on one line."""
    text = (PROSE_DIR / f"{name}.md").read_text()
    return "\n\n".join(" ".join(para.split("\n")) for para in text.strip().split("\n\n"))


READING = prose_text("reading") + " " + REAL_METRIC
REAL_INTRO = prose_text("real_intro")
SYNTHETIC_INTRO = prose_text("synthetic_intro")
REPRODUCING = prose_text("reproducing")


def read_zoo(zoo_dir: Path | str = ZOO_DIR) -> list[dict]:
    """The zoo recipes (``<entry>.json`` beside each checkpoint), with ``_name`` the entry's name."""
    out = []
    for path in sorted(Path(zoo_dir).glob("*.json")):
        try:
            recipe = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"zoo recipe {path} is not valid JSON ({err}); mend or restore it") from None
        if not isinstance(recipe, dict):
            raise ValueError(f"zoo recipe {path} is not a JSON object; mend or restore it")
        recipe["_name"] = path.stem
        out.append(recipe)
    return out


def records_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per run for ``records.csv`` and the page's records table, in a fixed order (a
    method's runs on ST-GCN before its runs on the transformer)."""
    if df.empty:
        return pd.DataFrame(columns=RECORD_COLUMNS)
    t = df.assign(data=[data_id(f) for f in df.fingerprint], _g=df.data_group.map(group_rank),
                  _m=df.method.map(method_rank), _c=df.encoder.map(encoder_rank))
    t = t.sort_values(["_g", "protocol", "dataset", "_m", "method", "_c", "encoder", "variant", "stream", "evidence",
                       "preset", "epochs", "bn", "setting", "schedule", "pretrain_seed", "seed", "record"], kind="stable",
                      na_position="first")
    return t[RECORD_COLUMNS].reset_index(drop=True)


def reported_table(reported: pd.DataFrame) -> pd.DataFrame:
    """The claims as the page lists them: every column of reported.csv plus the count of primary sources."""
    primary = [sum(s.primary for s in parse_sources(t)) for t in reported.sources]
    t = reported.assign(value=reported.value_text, primary_sources=primary)
    return t[["method", "variant", "protocol", "setting", "benchmark", "split", "stream", "backbone", "frames", "value",
              "conflict", "primary_sources", "sources", "suite_method", "reproduce", "record_metric", "tolerance",
              "tolerance_reason"]]


def make_plots(df: pd.DataFrame, chk: pd.DataFrame, zoo: list[dict], records: list[dict]) -> dict[str, list[Plot]]:
    """Every figure, by the section it belongs to: the real benchmarks (reproduced against
    reported, once a check has a pair; each real benchmark's probes), the curves (pretraining,
    robustness) and one seeds figure per synthetic data group. A figure with nothing to draw is
    absent, so a stale PNG of it is removed by :func:`build`."""
    out: dict[str, list[Plot]] = {"real": [], "curves": [], "robustness": []}
    p = plots.plot_reproduced_vs_reported(chk)
    if p:
        out["real"].append(p)
    real = sorted(set(df[df.data_group == "real"].dataset)) if not df.empty else []
    for dataset in real:
        p = plots.plot_real_probes(plots.probes_frame(df, dataset), plots.supervised_levels(df, dataset), dataset)
        if p:
            out["real"].append(p)
    p = plots.plot_curves(plots.curves_frame(zoo, records))
    if p:
        out["curves"].append(p)
    units = {}
    for r in records:
        for name, spec in ((r.get("protocol_config") or {}).get("corruptions") or {}).items():
            units.setdefault(name, spec.get("unit", "severity"))
    p = plots.plot_robustness(plots.robustness_frame(df), units)
    if p:
        out["robustness"].append(p)
    for group in sorted(set(df.data_group), key=group_rank) if not df.empty else ():
        if group == "real":
            continue
        slug = "".join(c if c.isalnum() else "-" for c in group).strip("-").replace("--", "-")
        p = plots.plot_seeds(plots.seeds_frame(df[df.data_group == group]), group, f"plot-seeds-{slug}.png")
        if p:
            out[group] = [p]
    return out


def _markdown_any(t: Leaderboard | Table, records_href: str) -> str:
    return markdown_leaderboard(t, records_href) if isinstance(t, Leaderboard) else markdown_table(t, records_href)


def _html_any(t: Leaderboard | Table) -> str:
    return html_leaderboard(t) if isinstance(t, Leaderboard) else html_table(t)


def markdown_page(real: list[Leaderboard], syn: list[tuple[str, list[Leaderboard | Table]]], chk: pd.DataFrame,
                  counts: pd.DataFrame, figures: dict[str, list[Plot]], records_href: str) -> str:
    """README.md: the ranked tables, the checks and the plots. Record links point to the record
    files in the repository (relative to the README, so they work where the repository is read)."""
    text = ["# SkeleBench leaderboard\n",
            "Generated by `python -m leaderboard` from the result records in `results/records/`, the reported "
            "numbers in `leaderboard/reported.csv` (one row per claim, every source, a tolerance and its reason) and "
            "the papers in `leaderboard/methods.csv`. Do not edit by hand. The same tables, sortable, with every "
            "record and the command that made it: [`index.html`](index.html); one row per run: "
            "[`records.csv`](records.csv); what the files and columns mean: [`NOTES.md`](NOTES.md).\n",
            "## Real benchmarks: reproduced beside reported\n", REAL_INTRO + "\n", READING + "\n",
            "Tables: " + " · ".join(f"[{b.title}](#{b.anchor})" for b in real) + "\n"]
    text += [markdown_leaderboard(b, records_href) for b in real]
    text += ["### Checks\n", "Every claim with an official reproduction on record, against its tolerance.\n",
             markdown_frame(chk.drop(columns=["records"])) if not chk.empty else "_No real-data record yet._\n"]
    text += [f"\n![{p.caption}]({p.name})\n" for p in figures["real"]]
    text += ["### Reported claims per method and protocol\n",
             "How many claims `reported.csv` holds and how many of them have a primary source (the authors' "
             "README or paper).\n", markdown_frame(counts)]
    text += ["### Reproducing on real data\n", REPRODUCING + "\n"]
    text += ["## Embedded synthetic data (not NTU RGB+D)\n", SYNTHETIC_INTRO + "\n"]
    for group, tables in syn:
        text.append(f"### {group_title(group)}\n")
        text += [_markdown_any(t, records_href) for t in tables]
        text += [f"\n![{p.caption}]({p.name})\n" for p in figures.get(group, [])]
    if figures["curves"] or figures["robustness"]:
        text.append("### Curves\n")
        text += [f"\n![{p.caption}]({p.name})\n" for p in figures["curves"] + figures["robustness"]]
    return "\n".join(text)


def page_records(records: pd.DataFrame) -> pd.DataFrame:
    """The records table as the page shows it: top-1 among the first columns."""
    return records[PAGE_RECORD_FIRST + [c for c in records.columns if c not in PAGE_RECORD_FIRST]]


def html_body(real: list[Leaderboard], syn: list[tuple[str, list[Leaderboard | Table]]], chk: pd.DataFrame,
              counts: pd.DataFrame, figures: dict[str, list[Plot]], records: pd.DataFrame,
              reported: pd.DataFrame) -> str:
    """index.html's body. Nothing links into the checkout, so the page works opened on its own
    or published anywhere: a record is a row of the (collapsed) records table, with its exact
    command and its metrics, and a cell links to that row; papers, code and sources link to the web."""
    nav = ('<nav><a href="#real">Real benchmarks</a><a href="#synthetic">Synthetic data</a><a href="#curves">Curves</a>'
           '<a href="#claims">Reported claims</a><a href="#records">Records</a></nav>')
    toc = " · ".join(f'<a href="#{esc(b.anchor)}">{esc(b.title)}</a>' for b in real)
    parts = ["<h1>SkeleBench leaderboard</h1>",
             "<p>Generated by <code>python -m leaderboard</code> from <code>results/records/</code>, "
             "<code>leaderboard/reported.csv</code> and <code>leaderboard/methods.csv</code>. Click a column header "
             "to sort (numbers: highest first), a [n] to see a reported number's sources, a superscript number to "
             "reach the record behind a cell (its exact command and metrics).</p>", nav,
             '<h2 id="real">Real benchmarks: reproduced beside reported</h2>', f"<p>{prose(REAL_INTRO)}</p>",
             f"<p>{prose(READING)}</p>", f'<p class="notes">Tables: {toc}</p>']
    parts += [html_leaderboard(b) for b in real]
    parts += ["<h3>Checks</h3>", html_frame(chk) if not chk.empty else "<p><em>No real-data record yet.</em></p>"]
    parts += [html_figure(p) for p in figures["real"]]
    parts += ["<h3>Reported claims per method and protocol</h3>", html_frame(counts)]
    parts += ["<h3>Reproducing on real data</h3>"] + [f"<p>{prose(p)}</p>" for p in REPRODUCING.split("\n\n")]
    parts += ['<h2 id="synthetic">Embedded synthetic data (not NTU RGB+D)</h2>',
              f'<p class="syn">{prose(SYNTHETIC_INTRO)}</p>']
    for group, tables in syn:
        parts.append(f"<h2>{esc(group_title(group))}</h2>")
        parts += [_html_any(t) for t in tables]
        parts += [html_figure(p) for p in figures.get(group, [])]
    parts.append('<h2 id="curves">Curves</h2>')
    curves = figures["curves"] + figures["robustness"]
    parts += [html_figure(p) for p in curves] or ["<p><em>No curve recorded.</em></p>"]
    parts += ['<h2 id="claims">Reported claims</h2>', "<p>One row per claim of <code>reported.csv</code>, its sources "
              "primary first, the tolerance of its check and why.</p>",
              html_details(f"All {len(reported)} claims", html_frame(
                  reported_table(reported), wide_columns=("sources", "tolerance_reason"), source_columns=("sources",)))]
    parts += ['<h2 id="records">Records</h2>', "<p>One row per run (every seed and option), with the exact command "
              "that made it; the record files are <code>results/records/RECORD</code> in the repository.</p>",
              html_details(f"All {len(records)} runs", html_frame(page_records(records), ("command",),
                                                                  [anchor(r) for r in records.record]))]
    return "\n".join(parts) + "\n"


def write_if_changed(path: Path, data: bytes) -> bool:
    """Write ``data`` atomically unless the file already holds exactly it (so a rebuild with
    nothing new touches nothing); True when it wrote."""
    if path.is_file() and path.read_bytes() == data:
        return False
    atomic_write(path, lambda f: f.write(data))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)  # the temporary file's 0600 would make a published page unreadable
    return True


def records_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be the records a leaderboard is built from, or None: it does not
    exist, is a file, or holds no record file. Building from nothing would empty every table of a
    committed leaderboard and delete its plots, so a mistyped path is refused, not obeyed."""
    fix = ("pass --records the folder the protocols write their records to (default results/records, or "
           "$SKELEBENCH_RESULTS)")
    if not folder.exists():
        return f"records folder {folder} (--records) does not exist; {fix}"
    if not folder.is_dir():
        return f"records folder {folder} (--records) is a file, not a folder; {fix}"
    if not any(folder.glob("*.json")):
        return f"records folder {folder} (--records) holds no result record (*.json); {fix}"
    return None


def out_problem(out_dir: Path) -> str | None:
    """Why the leaderboard cannot be written into ``out_dir``, or None: it, or the nearest folder
    above it that exists, is a file or is not writable. Checked before any work, so a bad
    ``--out`` costs nothing and leaves nothing half-written."""
    existing = next((p for p in (out_dir, *out_dir.absolute().parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        return f"--out {out_dir}: {existing} is a file, not a folder; name a folder for the leaderboard"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"--out {out_dir}: folder {existing} is not writable; name a folder you may write to"
    return None


def build(records: Path | str | None = None, out_dir: Path | str = HERE, reported_path: Path | str = REPORTED,
          zoo_dir: Path | str = ZOO_DIR, methods_path: Path | str = METHODS_CSV) -> Path:
    """Regenerate every output file in ``out_dir`` from the records folder (default
    ``results/records``), ``reported_path``, ``methods_path`` and the zoo recipes; returns the README's path.

    Every input is read and checked before the first file is written: a records folder that is
    not a folder of usable records, an ``out_dir`` that cannot be written or a broken
    ``reported.csv`` or ``methods.csv`` is a ValueError naming it, and the leaderboard already
    there is left as it is.
    A record the leaderboard cannot use is left out with a warning (:func:`results.read_records`)."""
    out_dir = Path(out_dir)
    folder = Path(records) if records is not None else RECORDS_DIR
    problem = records_problem(folder) or out_problem(out_dir)
    if problem:
        raise ValueError(problem)
    raw = read_records(folder)
    if not raw:
        raise ValueError(f"records folder {folder} (--records) holds no usable record (each one was left out: see "
                         "the warnings above); mend or remove them, or pass --records another folder")
    df = records_frame(raw)
    reported = read_reported(reported_path)
    papers = read_methods(methods_path, reported)
    real = real_tables(reported, df)
    syn = synthetic_tables(df)
    chk = checks(reported, df)
    counts = source_counts(reported)
    figures = make_plots(df, chk, read_zoo(zoo_dir), raw)
    out_dir.mkdir(parents=True, exist_ok=True)
    href = Path(os.path.relpath(Path(folder).resolve(), out_dir.resolve())).as_posix()
    table = records_table(df)
    boards, syn_boards = ranked_real(real, papers), ranked_synthetic(syn, papers)
    files = {
        "README.md": markdown_page(boards, syn_boards, chk, counts, figures, href).encode(),
        "index.html": html_page("SkeleBench leaderboard",
                                html_body(boards, syn_boards, chk, counts, figures, table, reported)).encode(),
        "records.csv": table.to_csv(index=False, lineterminator="\n").encode(),
    }
    for plot in (p for ps in figures.values() for p in ps):
        files[plot.name] = plot.png
    for name, data in files.items():
        write_if_changed(out_dir / name, data)
    for stale in out_dir.glob("plot-*.png"):
        if stale.name not in files:
            stale.unlink()
    return out_dir / "README.md"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["reproduce"]:
        from leaderboard.reproduce import main as reproduce

        return reproduce(argv[1:])
    if argv[:1] == ["table"]:
        from leaderboard.table import main as table

        return table(argv[1:])
    if argv[:1] == ["publish"]:
        from leaderboard.publish import main as publish

        return publish(argv[1:])
    ap = ArgumentParser(prog="python -m leaderboard",
                        description="Regenerate the leaderboard (README.md, index.html, records.csv, plots) from the "
                                    "records. Other commands: `python -m leaderboard reproduce` (the authors' "
                                    "checkpoints on real data), `table` (a small real benchmark's whole table), "
                                    "`publish` (copy your records into the shipped set); each takes --help.")
    ap.add_argument("--records", type=Path, help="records folder (default: the shipped results/records)")
    ap.add_argument("--out", type=Path, help="output folder (default: leaderboard/)")
    ap.add_argument("--mine", action="store_true",
                    help="your own leaderboard: the records your runs wrote (the cache's records/, or "
                         "$SKELEBENCH_RESULTS) into the cache's leaderboard/, unless --records / --out say otherwise")
    args = ap.parse_args(argv)
    if args.mine:
        args.records = args.records or records_dir()
        args.out = args.out or cache_dir("leaderboard")
    args.out = args.out or HERE
    try:
        path = build(args.records, args.out)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file the checks could not foresee (a missing zoo recipe, a disk that fills)
        print(f"error: {err.filename or args.out}: {err.strerror or err} (check the path and that it may be "
              "read or written)", file=sys.stderr)
        return 2
    print(f"leaderboard written to {path} (and index.html, records.csv, plots beside it)")
    return 0
