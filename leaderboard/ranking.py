"""The ranked tables a reader bookmarks, papers-with-code style, and the papers behind their rows.

:func:`leaderboards` turns a :class:`~leaderboard.tables.Table` into one ranked table per
benchmark group and protocol setting: the claims and the current recipe's runs ranked by a
headline column within each encoder (ST-GCN's block first, then the transformer's) and stream
group, the reference rows (the untrained network, the supervised one) pinned after each encoder's
ranked rows, every other recipe under *other runs*. Each ranked row carries
its :class:`Paper`, one row of ``leaderboard/methods.csv`` (:func:`read_methods`, checked by
:func:`method_problems`).

Pure but for :func:`read_methods` (which reads the file): tables in, :class:`Leaderboard` values
out; rendering lives in :mod:`leaderboard.render`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from datasets.benchmarks import DATASET_TITLES
from leaderboard.frame import ENCODER_ORDER, encoder_rank, encoder_title
from leaderboard.registry import available
from leaderboard.tables import Cell, Row, Table, column_title, setting_rank, slug

METHODS_CSV = Path(__file__).resolve().parent / "methods.csv"


# ------------------------------------------------------------------------------- papers and code
@dataclass(frozen=True)
class Paper:
    """A method's paper and code: one row of ``leaderboard/methods.csv``, so a reader of a ranked
    row can find the work behind it. An empty field is a fact nobody has sourced yet (shown as
    missing, never guessed)."""

    method: str
    registry: tuple[str, ...] = ()
    authors: str = ""
    title: str = ""
    venue: str = ""
    year: str = ""
    paper_url: str = ""
    code_url: str = ""


METHODS_COLUMNS = ("method", "registry", "authors", "paper_title", "venue", "year", "paper_url", "code_url",
                   "facts_from")
#: The columns that state a fact about the paper or its code (``facts_from`` says where each was read).
FACTS = ("authors", "paper_title", "venue", "year", "paper_url", "code_url")


def method_problems(rows: list[dict[str, str]], reported_methods: Iterable[str], registry: Iterable[str]) -> list[str]:
    """What is wrong with the rows of ``methods.csv`` (``line N: …``; [] when nothing): a missing
    column, a method twice, a link that is not https (a page must link where a reader can go), a
    year that is not one, facts without a ``facts_from`` saying where they were read, a registry
    name the suite does not have or that two rows claim, and a method of reported.csv or of the
    registry without a row (its ranked rows would have no paper)."""
    if rows and set(METHODS_COLUMNS) - set(rows[0]):
        return [f"missing column(s) {', '.join(sorted(set(METHODS_COLUMNS) - set(rows[0])))}"]
    problems, seen, claimed = [], set(), {}
    registry = set(registry)
    for line, row in enumerate(rows, 2):
        name = (row.get("method") or "").strip()
        if not name:
            problems.append(f"line {line}: no method")
        elif name in seen:
            problems.append(f"line {line}: method {name!r} twice")
        seen.add(name)
        for col in ("paper_url", "code_url"):
            if row.get(col) and not row[col].startswith("https://"):
                problems.append(f"line {line}: {col} {row[col]!r} does not start with https://")
        if row.get("year") and not (row["year"].isdigit() and len(row["year"]) == 4):
            problems.append(f"line {line}: year {row['year']!r} is not a year")
        if any(row.get(col) for col in FACTS) and not (row.get("facts_from") or "").strip():
            problems.append(f"line {line}: facts_from is empty (say where its facts were read)")
        for reg in (row.get("registry") or "").split():
            if reg not in registry:
                problems.append(f"line {line}: registry name {reg!r} is not a method of the suite")
            elif reg in claimed:
                problems.append(f"line {line}: registry name {reg!r} is already on line {claimed[reg]}")
            claimed.setdefault(reg, line)
    problems += [f"reported.csv's method {m!r} has no row" for m in sorted(set(reported_methods) - seen)]
    problems += [f"the suite's method {m!r} has no row (name it in a row's registry column)"
                 for m in sorted(registry - set(claimed))]
    return problems


def papers_by_key(rows: list[dict[str, str]]) -> dict[str, Paper]:
    """Each row of ``methods.csv`` as a :class:`Paper`, under its method name and under every
    registry name it covers (records name methods by registry name, claims by paper name)."""
    out = {}
    for row in rows:
        paper = Paper(row["method"].strip(), tuple(row["registry"].split()), row["authors"], row["paper_title"],
                      row["venue"], row["year"], row["paper_url"], row["code_url"])
        out.update({key: paper for key in (paper.method, *paper.registry)})
    return out


def read_methods(path: Path | str = METHODS_CSV, reported: pd.DataFrame | None = None) -> dict[str, Paper]:
    """The papers and code links of ``methods.csv``, by method name and registry name. The file is
    checked first (:func:`method_problems`): every method of ``reported`` and of the suite's
    registry has a row, every link is https. A ValueError names the file and what to mend, so a
    ranked row never goes without its paper by accident."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    names = set(reported.method) if reported is not None else set()
    problems = method_problems(rows, names, available())
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems) + " (one row per method: method, registry, authors, "
                         "paper_title, venue, year, paper_url, code_url, facts_from; leave a fact empty, never guess)")
    return papers_by_key(rows)


# ------------------------------------------------------------------------------- ranked leaderboards
#: Ranked rows are grouped by stream, so single-stream methods never rank against score fusions.
STREAM_GROUPS = {"single": "Single stream", "multi": "Multi-stream (score fusion of streams)",
                 "unstated": "Stream not stated by the source"}
#: Benchmarks ranked in one table (the columns a paper's table puts side by side).
BENCHMARK_GROUP = {"ntu60": "ntu", "ntu120": "ntu", "pku1": "pku", "pku2": "pku"}
BENCHMARK_GROUP_TITLE = {"ntu": "NTU-60/120", "pku": "PKU-MMD", "nwucla": "NW-UCLA (reproduced by the suite)"}


@dataclass(frozen=True)
class Ranked:
    """A row of a ranked table, its rank within its group (None: no headline value, or a pinned
    reference row), its headline value and its paper."""

    row: Row
    rank: int | None
    value: float | None
    paper: Paper | None


@dataclass(frozen=True)
class RankGroup:
    """Rows ranked together (one stream group of one encoder), or the pinned reference rows
    (``pinned``); ``block`` names the encoder block where a table holds several ("" else)."""

    title: str
    rows: list[Ranked]
    pinned: bool = False
    block: str = ""


@dataclass
class Leaderboard:
    """One ranked table: a protocol (and setting) on one benchmark group. ``headline`` is the
    column it is ranked by; ``sources`` the footnotes its reported cells point to (number,
    (kind, reference) pairs); ``other`` the runs of other recipes, shown collapsed under it."""

    title: str
    anchor: str
    intro: str
    extra_columns: list[str]
    columns: list[str]
    column_titles: list[str]
    headline: str | None
    groups: list[RankGroup]
    sources: list[tuple[str, tuple[tuple[str, str], ...]]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    other: Table | None = None


def stream_group(stream: str) -> str:
    """``multi`` for a fusion (``J+M+B``, ``joint+motion+bone``), ``single`` for one stream,
    ``unstated`` where the source names none."""
    if "+" in (stream or ""):
        return "multi"
    return "single" if stream and stream != "–" else "unstated"


def benchmark_group(dataset: str) -> str:
    """``ntu60-xsub`` → ``ntu``: the benchmarks one ranked table holds side by side."""
    prefix = dataset.partition("-")[0]
    return BENCHMARK_GROUP.get(prefix, prefix)


def column_groups(columns: list[str]) -> list[tuple[str, list[str]]]:
    """The table's columns by benchmark group, in the order they first appear."""
    groups: dict[str, list[str]] = {}
    for col in columns:
        groups.setdefault(benchmark_group(col), []).append(col)
    return list(groups.items())


def headline_value(cell: Cell | None) -> float | None:
    """The number a row is ranked by: the reported one where there is a claim (the papers' ranking;
    the reproduction stands beside it), else the reproduced mean."""
    if cell is None:
        return None
    if cell.reported is not None:
        return cell.reported
    return cell.agg.mean if cell.agg is not None else None


def headline_column(rows: list[Row], columns: list[str]) -> str | None:
    """The column most rows have a number in (the first such in the papers' order): ranking by a
    column few rows fill would leave most of them unranked."""
    counts = {c: sum(headline_value(r.cells.get(c)) is not None for r in rows) for c in columns}
    best = max(columns, key=lambda c: counts[c], default=None)
    return best if best is not None and counts[best] else None


def rank_rows(rows: list[Row], headline: str | None) -> list[tuple[Row, int | None, float | None]]:
    """Rows by headline value, descending, with competition ranks (equal values share a rank);
    rows without a value follow, unranked, in their given order."""
    valued = [(r, headline_value(r.cells.get(headline)) if headline else None) for r in rows]
    ordered = sorted(valued, key=lambda rv: (rv[1] is None, -(rv[1] or 0.0)))
    out: list[tuple[Row, int | None, float | None]] = []
    for i, (row, value) in enumerate(ordered):
        rank = None if value is None else (out[-1][1] if out and out[-1][2] == value else i + 1)
        out.append((row, rank, value))
    return out


def current_rows(rows: list[Row]) -> list[Row]:
    """The rows of the table's current recipe, the only ones ranked: the recipe (evidence,
    preset, epochs) with the most runs, its official options (full schedule, no mismatch, not
    re-estimated BN, no method option switched), and, where a method has rows with several runs, only those of that method (a
    single-run diagnostic of a method beside its three-seed row is not comparable; a method whose
    other seeds have not run yet is ranked with its n shown). Everything else goes under *other runs*."""
    if not rows:
        return []
    runs: dict[tuple, int] = {}
    for r in rows:
        runs[r.meta["recipe"]] = runs.get(r.meta["recipe"], 0) + r.meta["n"]
    main = max(runs, key=lambda k: (runs[k], k[2] or 0))
    plain = [r for r in rows if r.meta["recipe"] == main and not r.meta["schedule"] and not r.meta["mismatch"]
             and r.meta["bn"] != "precise" and not r.meta.get("option")] or [r for r in rows
                                                                           if r.meta["recipe"] == main]
    most: dict[str, int] = {}
    for r in plain:
        most[r.meta["method"]] = max(most.get(r.meta["method"], 0), r.meta["n"])
    return [r for r in plain if r.meta["n"] >= min(2, most[r.meta["method"]])]


def pinned_references(references: list[Row], ranked: list[Row]) -> list[Row]:
    """The reference rows a ranked table pins: the supervised network at its official schedule (a
    run of another length or batch only where no official one exists) and the untrained network on the streams and
    setting of the ranked rows (all of them where nothing is ranked)."""
    supervised = [r for r in references if r.meta.get("evidence") == "supervised"]
    keep = [r for r in supervised if not r.meta.get("schedule")] or supervised
    wanted = {(r.meta.get("stream"), r.meta.get("setting", "")) for r in ranked}
    keep += [r for r in references if r.meta.get("evidence") != "supervised"
             and (not ranked or (r.meta.get("stream"), r.meta.get("setting", "")) in wanted)]
    return [r for r in references if any(r is k for k in keep)]


def encoder_blocks(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    """Rows by the encoder they ran (``meta["encoder"]``), in the registry's order (ST-GCN first):
    methods are ranked only against runs of the same network. A paper's claim on a backbone the
    suite does not have (BiGRU; ``encoder`` "") ranks with the first encoder's block, the paper
    tables' own ranking, its backbone named in its row."""
    blocks: dict[str, list[Row]] = {}
    for row in rows:
        blocks.setdefault(row.meta.get("encoder") or ENCODER_ORDER[0], []).append(row)
    return sorted(blocks.items(), key=lambda kv: (encoder_rank(kv[0]), kv[0]))


def block_title(encoder: str, rows: list[Row]) -> str:
    """An encoder block's name, said before its groups' names where a table has several:
    ``Transformer``; ``ST-GCN and the papers' other backbones`` where claims on backbones the suite
    does not have rank with it."""
    own = any(r.meta.get("encoder") for r in rows)
    papers = any(not r.meta.get("encoder") for r in rows)
    if own and papers:
        return f"{encoder_title(encoder)} and the papers' other backbones"
    return encoder_title(encoder) if own else "The papers' other backbones"


def rank_groups(ranked: list[Row], pinned: list[Row], headline: str | None, papers: Mapping[str, Paper],
                prefix: str = "") -> list[RankGroup]:
    """One encoder block's groups: its ranked rows by stream group, each ranked by ``headline``,
    then its pinned reference rows; every group title after ``prefix`` (the block's name) if any."""
    lead = f"{prefix} — " if prefix else ""
    groups = []
    for key, title in STREAM_GROUPS.items():
        members = [r for r in ranked if stream_group(r.meta.get("stream", "")) == key]
        if members:
            groups.append(RankGroup(lead + title, [Ranked(r, rank, v, papers.get(r.meta.get("method", "")))
                                                   for r, rank, v in rank_rows(members, headline)], block=prefix))
    if pinned:
        groups.append(RankGroup(lead + "Reference rows (not ranked)", [
            Ranked(r, None, headline_value(r.cells.get(headline)) if headline else None, None) for r in pinned],
            pinned=True, block=prefix))
    return groups


def ranked_blocks(split: list[Row]) -> list[tuple[str, list[Row], list[Row]]]:
    """Per encoder block of ``split`` (:func:`encoder_blocks`): its title, the rows it ranks (the
    claims and the block's current recipe, :func:`current_rows`: each encoder has its own) and the
    reference rows it pins (:func:`pinned_references`); blocks with neither are left out."""
    out = []
    for encoder, block in encoder_blocks(split):
        ranked = [r for r in block if r.kind == "claim"] + current_rows([r for r in block if r.kind in ("recipe",
                                                                                                          "suite")])
        pinned = pinned_references([r for r in block if r.kind == "reference"], ranked)
        if ranked or pinned:
            out.append((block_title(encoder, block), ranked, pinned))
    return out


def _setting_title(base: str, setting: str) -> str:
    if not setting:
        return base
    return f"{base}, {setting} labels" if setting.endswith("%") else f"{base}, {setting}"


def setting_splits(rows: list[Row]) -> list[tuple[str, list[Row]]]:
    """Rows by the protocol setting they were measured in (official probe, standardised probe, 1%
    labels…), never ranked together; the supervised network joins every split (the level of its
    protocol family whatever the setting)."""
    supervised = [r for r in rows if r.meta.get("evidence") == "supervised"]
    rest = [r for r in rows if not any(r is s for s in supervised)]
    settings = sorted({r.meta.get("setting", "") for r in rest or supervised}, key=lambda s: (s != "", setting_rank(s)))
    return [(s, [r for r in rows if r.meta.get("setting", "") == s or any(r is x for x in supervised)])
            for s in settings]


def _restricted(row: Row, columns: list[str]) -> Row:
    return Row(row.labels, {c: row.cells[c] for c in columns if c in row.cells}, row.kind, row.meta)


def number_sources(groups: list[RankGroup], columns: list[str]) -> tuple[list[RankGroup], list[tuple[str, tuple]]]:
    """Give each reported cell the number of its footnote (rows in table order; cells with the
    same sources share one), so the sources are visible under the table, not only in a tooltip."""
    numbers: dict[tuple, str] = {}
    out = []
    for group in groups:
        rows = []
        for item in group.rows:
            cells = {}
            for col in columns:
                cell = item.row.cells.get(col)
                if cell is not None and cell.sources:
                    note = numbers.setdefault(cell.sources, str(len(numbers) + 1))
                    cell = replace(cell, source_note=note)
                if cell is not None:
                    cells[col] = cell
            rows.append(replace(item, row=Row(item.row.labels, cells, item.row.kind, item.row.meta)))
        out.append(replace(group, rows=rows))
    return out, [(n, sources) for sources, n in numbers.items()]


def leaderboards(table: Table, papers: Mapping[str, Paper]) -> list[Leaderboard]:
    """``table`` as ranked tables, papers-with-code style: one per benchmark group and protocol
    setting; the claims and the current recipe's rows ranked by the headline column within each
    encoder and stream group (:func:`ranked_blocks`; the encoder named in the group titles only
    where the table holds several); each encoder's reference rows pinned after its ranked rows;
    every other recipe (a ↳ variant, an older recipe, a diagnostic) under *other runs*. Each row
    carries its paper (``papers``, by the row's method key)."""
    base, _, data = table.title.partition(" — ")
    out = []
    for bgroup, cols in column_groups(table.columns):
        group_title = data or BENCHMARK_GROUP_TITLE.get(bgroup, DATASET_TITLES.get(bgroup, bgroup))
        rows = [r for r in table.rows if any(c in r.cells for c in cols)]
        for setting, split in setting_splits(rows):
            blocks = ranked_blocks(split)
            kept = [r for _, ranked, pinned in blocks for r in ranked + pinned]
            other = [_restricted(r, cols) for r in split if not any(r is k for k in kept)]
            headline = headline_column([r for _, ranked, _ in blocks for r in ranked], cols)
            groups = [g for title, ranked, pinned in blocks
                      for g in rank_groups(ranked, pinned, headline, papers, title if len(blocks) > 1 else "")]
            if not groups and not other:
                continue
            groups, sources = number_sources(groups, cols)
            title = f"{_setting_title(base, setting)} — {group_title}"
            titles = [column_title(c) for c in cols]
            other_cols = [c for c in cols if any(c in r.cells for r in other)]
            out.append(Leaderboard(
                title, slug(title), table.intro, table.extra_columns, cols, titles, headline, groups, sources,
                [n for n in table.notes if any(t in n for t in titles)],
                Table(f"Other runs — {title}", slug(f"other-{title}"), "", table.label_columns, other_cols,
                      [column_title(c) for c in other_cols], other) if other else None))
    return out


def ranked_real(real: list[Table], papers: Mapping[str, Paper]) -> list[Leaderboard]:
    """The real-data tables ranked, by benchmark group (NTU, PKU-MMD, NW-UCLA, others) and, within
    one, in protocol order: a reader finds every table of a benchmark together."""
    order = {"ntu": 0, "pku": 1, "nwucla": 2}
    boards = [(i, b) for i, t in enumerate(real) for b in leaderboards(t, papers)]
    return [b for _, b in sorted(boards, key=lambda ib: (order.get(benchmark_group(ib[1].columns[0]), 3)
                                                         if ib[1].columns else 3, ib[0]))]


def ranked_synthetic(syn: list[tuple[str, list[Table]]], papers: Mapping[str, Paper]
                     ) -> list[tuple[str, list[Leaderboard | Table]]]:
    """Per synthetic data group: its protocol tables ranked, its difficulty tables as they are."""
    return [(group, [b for t in tables for b in (leaderboards(t, papers) if t.ranked else [t])])
            for group, tables in syn]
