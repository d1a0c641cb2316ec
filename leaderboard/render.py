"""Rendering :class:`~leaderboard.tables.Table` and :class:`~leaderboard.ranking.Leaderboard`
values as Markdown and as one self-contained HTML page (inline CSS and JavaScript, plots as base64
PNG; the only links that leave the page go to papers, code and sources on the web): pure string
building, so the same tables give byte-identical text."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import pandas as pd

from leaderboard.ranking import Leaderboard, Paper, Ranked
from leaderboard.tables import VERDICT_MARK, Cell, Table, agg_text, cell_text, signed

#: ``owner/repo@commit`` in a source: linked to that commit of the repository on GitHub.
REPO_AT = re.compile(r"\b([A-Za-z0-9][\w.-]*/[\w.-]*[\w-])@([0-9a-f]{7,40})\b")


@dataclass(frozen=True)
class Plot:
    """A generated figure: its file name, PNG bytes, and the caption that says what it shows."""

    name: str
    png: bytes
    caption: str


def record_href(records_href: str, record: str) -> str:
    """The link from the output folder to one record file."""
    return str(PurePosixPath(records_href) / record)


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _label(row_label: Sequence[str]) -> str:
    return " · ".join(x for x in row_label if x and x != "–")


def _record_list(label: str, row_cells: dict[str, Cell], columns: Sequence[str], titles: Sequence[str],
                 records_href: str) -> list[str]:
    """``- label — column: [record](link), …`` for every reproduced cell of a row."""
    out = []
    for col, title in zip(columns, titles):
        cell = row_cells.get(col)
        if cell is not None and cell.agg is not None:
            refs = ", ".join(f"[{r.removesuffix('.json')}]({record_href(records_href, r)})"
                             for r in dict.fromkeys(cell.agg.records))
            out.append(f"- {_md_escape(label)} — {title}: {refs}")
    return out


def _records_block(links: list[str]) -> str:
    if not links:
        return ""
    return "\n<details><summary>Records behind these cells</summary>\n\n" + "\n".join(links) + "\n\n</details>\n"


def markdown_grid(table: Table, records_href: str) -> tuple[str, list[str]]:
    """A table's rows as a Markdown grid (labels, then its columns), and the record links of its cells."""
    head = list(table.label_columns) + list(table.column_titles)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    links = []
    for row in table.rows:
        cells = [_md_escape(x) for x in row.labels] + [_md_escape(cell_text(row.cells[c])) if c in row.cells else ""
                                                      for c in table.columns]
        lines.append("| " + " | ".join(cells) + " |")
        links += _record_list(_label(row.labels), row.cells, table.columns, table.column_titles, records_href)
    if not table.rows:
        lines.append("| " + " | ".join(["_no rows_"] + [""] * (len(head) - 1)) + " |")
    return "\n".join(lines) + "\n", links


def markdown_table(table: Table, records_href: str, level: int = 4) -> str:
    """One table as Markdown: heading, intro, the grid, its notes, and the records behind its
    cells (links) in a collapsed block."""
    grid, links = markdown_grid(table, records_href)
    out = f"{'#' * level} {table.title}\n\n{table.intro}\n\n{grid}"
    if table.notes:
        out += "\n" + "\n".join(f"{n}  " for n in table.notes) + "\n"
    return out + _records_block(links)


def repo_link(url: str) -> str:
    """``https://github.com/owner/repo`` → ``owner/repo``: how a code link reads in a table."""
    return url.removeprefix("https://").removeprefix("github.com/").rstrip("/") if url else ""


def paper_text(paper: Paper | None) -> str:
    """``Authors, Venue Year``: the citation beside a paper's title (empty fields left out)."""
    if paper is None:
        return ""
    when = " ".join(x for x in (paper.venue, paper.year) if x)
    return ", ".join(x for x in (paper.authors, when) if x)


def markdown_paper(paper: Paper | None) -> str:
    """The paper cell in Markdown: the title linked to the paper, then authors, venue and year."""
    if paper is None:
        return "–"
    title = paper.title or ("paper" if paper.paper_url else "")
    linked = f"[{_md_escape(title)}]({paper.paper_url})" if paper.paper_url else _md_escape(title)
    return ", ".join(x for x in (linked, _md_escape(paper_text(paper))) if x) or "–"


def markdown_code(paper: Paper | None) -> str:
    """The code cell in Markdown: ``owner/repo`` linked to the repository."""
    return f"[{repo_link(paper.code_url)}]({paper.code_url})" if paper is not None and paper.code_url else "–"


def source_text(sources: Sequence[tuple[str, str]], markdown: bool) -> str:
    """A cell's sources as one line, each ``reference (kind)``; an ``owner/repo@commit`` in a
    reference links to that commit on GitHub (Markdown link, or HTML ``<a>``)."""
    def link(m: re.Match) -> str:
        url = f"https://github.com/{m.group(1)}/tree/{m.group(2)}"
        return f"[{m.group(0)}]({url})" if markdown else f'<a href="{esc(url)}">{m.group(0)}</a>'

    parts = []
    for kind, ref in sources:
        text = _md_escape(ref) if markdown else esc(ref)
        parts.append(f"{REPO_AT.sub(link, text)} ({kind})")
    return "; ".join(parts)


def ranked_within(board: Leaderboard) -> str:
    """What a table ranks rows within: each stream group, and each encoder where it holds several
    (a method's runs on two encoders are never ranked against each other)."""
    several = len({g.block for g in board.groups}) > 1
    return "each encoder and stream group" if several else "each stream group"


def _rank_text(item: Ranked, pinned: bool) -> str:
    return "ref." if pinned else ("–" if item.rank is None else str(item.rank))


def markdown_leaderboard(board: Leaderboard, records_href: str, level: int = 4) -> str:
    """A ranked table in Markdown: rank, method, stream, the benchmarks (the headline marked ▼; the
    numbers beside the name, as a reader looks for them), the other label columns, paper and code
    links; a bold row naming each stream group, the reference rows last in italics; the sources as numbered footnotes, then the records and the other runs, collapsed."""
    titles = [t + (" ▼" if c == board.headline else "") for c, t in zip(board.columns, board.column_titles)]
    head = ["#", "method", "stream", *titles, *board.extra_columns, "paper", "code"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    links = []
    for group in board.groups:
        lines.append("| " + " | ".join([f"**{group.title}**"] + [""] * (len(head) - 1)) + " |")
        for item in group.rows:
            row, name = item.row, _md_escape(item.row.meta.get("name", _label(item.row.labels)))
            label = f"_{name}_" if group.pinned else name
            paper = (("–", "–") if group.pinned else (markdown_paper(item.paper), markdown_code(item.paper)))
            cells = [_rank_text(item, group.pinned), label, _md_escape(row.meta.get("stream") or "–"),
                     *(_md_escape(cell_text(row.cells[c])) if c in row.cells else "" for c in board.columns),
                     *(_md_escape(x) for x in row.meta.get("extra", [])), *paper]
            lines.append("| " + " | ".join(cells) + " |")
            links += _record_list(row.meta.get("name", _label(row.labels)), row.cells, board.columns,
                                  board.column_titles, records_href)
    ranked_by = (f" Ranked by **{dict(zip(board.columns, board.column_titles))[board.headline]}** (▼, descending) "
                 f"within {ranked_within(board)}." if board.headline else "")
    out = f"{'#' * level} {board.title}\n\n{board.intro}{ranked_by}\n\n" + "\n".join(lines) + "\n"
    if board.sources:
        out += "\nSources:  \n" + "\n".join(f"[{n}] {source_text(s, True)}  " for n, s in board.sources) + "\n"
    if board.notes:
        out += "\n" + "\n".join(f"{n}  " for n in board.notes) + "\n"
    out += _records_block(links)
    if board.other is not None:
        grid, other_links = markdown_grid(board.other, records_href)
        out += (f"\n<details><summary>Other runs ({len(board.other.rows)}): other recipes and diagnostics, not "
                f"ranked</summary>\n\n{grid}" + ("\n" + "\n".join(other_links) + "\n" if other_links else "")
                + "\n</details>\n")
    return out


def markdown_frame(df: pd.DataFrame) -> str:
    """A plain DataFrame as a Markdown grid (– for missing values)."""
    if df.empty:
        return "_None._\n"
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join("–" if pd.isna(v) or v == "" else _md_escape(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------- HTML
CSS = """
body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:20px 24px;color:#1d2330;background:#fff;font-size:14px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid #d0d5de;padding-bottom:4px}
h3{font-size:16px;margin:24px 0 6px}p{max-width:1100px;line-height:1.45}p,li,figcaption{overflow-wrap:anywhere}
nav a{margin-right:14px}code{font-family:'DejaVu Sans Mono',monospace;font-size:12px;background:#f3f4f7;padding:1px 3px}
.scroll{overflow-x:auto;max-width:100%;margin:6px 0 10px}.scroll>table{margin:0}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border:1px solid #d0d5de;padding:3px 5px;vertical-align:top;text-align:left}
thead th{background:#eef1f6;cursor:pointer;white-space:nowrap;user-select:none}th.headline{background:#d9e3f5}
thead th[data-dir=asc]::after{content:' \\25B2'}thead th[data-dir=desc]::after{content:' \\25BC'}
td.num{white-space:nowrap}tr.kind-reference td{background:#f7f7f2;font-style:italic}
tr.kind-variant td{color:#4a5262;font-size:12px}tr.kind-suite td{background:#f4f8fb}
td.rank{text-align:right;font-weight:bold}td.lab{white-space:nowrap}
td.paper{font-size:12px;line-height:1.3}td.paper div{min-width:24em;max-width:30em}
td.code{font-size:12px;white-space:nowrap}tr.group td{background:#e4e9f2;font-weight:bold;color:#1d2330}
tr.reference td{background:#f7f7f2;font-style:italic;color:#4a5262}
.rep{font-weight:bold}.flag{color:#b35c00}.pass{color:#17752f}.fail{color:#b3261e;font-weight:bold}
.unchecked{color:#6b7280}.syn{background:#fff7e0;border:1px solid #e8c95a;padding:6px 10px;max-width:1100px}
sup a{text-decoration:none;margin-left:1px}figure{margin:12px 0}figure img{max-width:100%;border:1px solid #e1e4ea}
figcaption{font-size:12px;color:#4a5262;max-width:1100px}.notes,.sources{font-size:12px;color:#4a5262;max-width:1100px}
.sources{list-style:none;padding-left:0}summary{cursor:pointer;font-weight:bold;margin:6px 0}
tr:target td,li:target{background:#fff3b0}td.cmd code{white-space:nowrap}
td.wide{min-width:30em;max-width:48em;font-size:12px}
"""

SORT_JS = """
(function(){
function key(td){if(!td){return null;}var v=td.getAttribute('data-v');
if(v!==null){return v===''?null:parseFloat(v);}
var t=td.textContent.trim().replace('\\u2212','-');if(t===''||t==='\\u2013'){return null;}var n=parseFloat(t);
return (!isNaN(n)&&/^[-+]?[0-9]/.test(t))?n:t.toLowerCase();}
function sortBy(th){var table=th.closest('table');var i=Array.prototype.indexOf.call(th.parentNode.children,th);
var now=th.getAttribute('data-dir');var dir=now?(now==='asc'?'desc':'asc'):(th.hasAttribute('data-num')?'desc':'asc');
Array.prototype.forEach.call(th.parentNode.children,function(h){h.removeAttribute('data-dir');});
th.setAttribute('data-dir',dir);var sign=dir==='asc'?1:-1;
Array.prototype.forEach.call(table.tBodies,function(body){var rows=Array.prototype.slice.call(body.rows);
var free=rows.filter(function(r){return !r.classList.contains('pinned');});
free.sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]);if(x===null||y===null){return (x===null)-(y===null);}
if(typeof x!==typeof y){return typeof x==='number'?-1:1;}return (x<y?-1:(x>y?1:0))*sign;});
var k=0;rows.map(function(r){return r.classList.contains('pinned')?r:free[k++];}).forEach(function(r){body.appendChild(r);});});}
document.querySelectorAll('table.sortable thead th').forEach(function(th){th.addEventListener('click',function(){sortBy(th);});});
function reveal(id){var el=id&&document.getElementById(id);for(;el;el=el.parentElement){if(el.tagName==='DETAILS'){el.open=true;}}}
document.addEventListener('click',function(e){var a=e.target.closest('a[href^="#"]');if(a){reveal(decodeURIComponent(a.getAttribute('href').slice(1)));}});
reveal(decodeURIComponent(location.hash.slice(1)));
})();
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def prose(text: str) -> str:
    """Escaped prose with its Markdown inline marks (`code`, **bold**, *emphasis*) as HTML; marks
    inside code are left alone (a `*` there is a table's flag, not emphasis)."""
    out = []
    for i, part in enumerate(re.split(r"`([^`]+)`", text)):
        if i % 2:
            out.append(f"<code>{esc(part)}</code>")
            continue
        part = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", esc(part))
        out.append(re.sub(r"\*([^*\s][^*]*)\*", r"<em>\1</em>", part))
    return "".join(out)


def anchor(record: str) -> str:
    """The in-page anchor of a record's row in the records table."""
    return "rec-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in record.removesuffix(".json"))


def _record_links(records: Sequence[str]) -> str:
    """One link per record (a record that gives several samples, e.g. one per init seed, once)."""
    unique = dict.fromkeys(records)
    return "<sup>" + " ".join(f'<a href="#{anchor(r)}" title="{esc(r)}">{i}</a>' for i, r in enumerate(unique, 1)) + "</sup>"


def cell_html(cell: Cell, sources_anchor: str = "") -> str:
    """A cell as HTML: the reported number, its flags and its footnote (a link to the sources
    under the table), the reproduced mean ± sd (n) with a link per record into the records table,
    Δ and the verdict."""
    parts = []
    if cell.reported is not None:
        flags = f'<span class="flag">{esc(cell.flags)}</span>' if cell.flags else ""
        note = (f' <a class="src" href="#{esc(sources_anchor)}-s{cell.source_note}">[{cell.source_note}]</a>'
                if cell.source_note else "")
        parts.append(f'<span class="rep">{esc(cell.reported_text)}</span>{flags}{note}')
    if cell.agg is not None:
        text = esc(agg_text(cell.agg)) + _record_links(cell.agg.records)
        if cell.second is not None:
            text += f", {esc(cell.second_name)} {cell.second.mean:.3f}"
        if cell.gain is not None:
            text += f", Δinit {esc(signed(cell.gain))}" + (f" ({esc(cell.above)} above)" if cell.above else "")
        if cell.delta is not None:
            text += (f' <span class="{cell.verdict}">Δ {esc(signed(cell.delta))} '
                     f'{VERDICT_MARK[cell.verdict]}</span>')
        parts.append(text)
    elif cell.expected:
        parts.append('<span class="unchecked">–</span>')
    return " / ".join(parts)


def _sort_value(cell: Cell) -> str:
    """The number a cell sorts by: the one it is ranked by (reported where claimed, else reproduced)."""
    if cell.reported is not None:
        return f"{cell.reported:.4f}"
    return f"{cell.agg.mean:.4f}" if cell.agg is not None else ""


def _value_td(cell: Cell | None, sources_anchor: str = "") -> str:
    if cell is None:
        return '<td class="num" data-v=""></td>'
    return f'<td class="num" data-v="{_sort_value(cell)}" title="{esc(cell.title)}">{cell_html(cell, sources_anchor)}</td>'


def scroll_box(inner: str) -> str:
    """A wide table inside a box that scrolls sideways, so the page itself never gets wider than the window."""
    return f'<div class="scroll">{inner}</div>'


def html_grid(table: Table) -> str:
    """A :class:`Table`'s rows as a sortable grid (labels, then its columns) in a scroll box."""
    head = "".join(f"<th>{esc(c)}</th>" for c in table.label_columns)
    head += "".join(f"<th data-num>{esc(c)}</th>" for c in table.column_titles)
    body = []
    for row in table.rows:
        tds = "".join(f"<td>{esc(x)}</td>" for x in row.labels) + "".join(_value_td(row.cells.get(c))
                                                                           for c in table.columns)
        body.append(f'<tr class="kind-{row.kind}">{tds}</tr>')
    return scroll_box(f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>')


def html_table(table: Table) -> str:
    """One :class:`Table` as a sortable HTML table with its heading, intro and notes."""
    notes = "".join(f"<li>{esc(n)}</li>" for n in table.notes)
    return (f'<section id="{esc(table.anchor)}"><h3>{esc(table.title)}</h3><p>{prose(table.intro)}</p>'
            + html_grid(table) + (f'<ul class="notes">{notes}</ul>' if notes else "") + "</section>\n")


def html_paper(paper: Paper | None) -> str:
    """The paper cell: the title linked to the paper, then authors, venue and year."""
    if paper is None:
        return "–"
    title = esc(paper.title or ("paper" if paper.paper_url else ""))
    linked = f'<a href="{esc(paper.paper_url)}">{title}</a>' if paper.paper_url else title
    return ", ".join(x for x in (linked, esc(paper_text(paper))) if x) or "–"


def html_code(paper: Paper | None) -> str:
    """The code cell: the repository's name linked to it."""
    if paper is None or not paper.code_url:
        return "–"
    repo = repo_link(paper.code_url)  # the repository's name shown, its owner on hover: a narrow column
    return f'<a href="{esc(paper.code_url)}" title="{esc(repo)}">{esc(repo.rpartition("/")[2])}</a>'


def html_leaderboard(board: Leaderboard) -> str:
    """A ranked table as HTML (rank, method, stream, the benchmarks, the other labels, paper, code:
    the numbers beside the name, so a narrow window shows them before its box scrolls): one
    ``<tbody>`` per stream group (its first row names the group),
    the reference rows in the last one; group names and reference rows are ``pinned``, so a sort
    by any column reorders only the ranked rows within their group. The headline column starts
    marked as sorted (▼); the first click on another number column sorts it descending. Under the
    table: the sources of its reported numbers (footnotes), its notes, and its other runs, collapsed."""
    width = 5 + len(board.extra_columns) + len(board.columns)
    head = '<th class="rank">#</th><th>method</th><th>stream</th>'
    head += "".join(f'<th data-num class="headline" data-dir="desc">{esc(t)}</th>' if c == board.headline
                    else f"<th data-num>{esc(t)}</th>" for c, t in zip(board.columns, board.column_titles))
    head += "".join(f"<th>{esc(c)}</th>" for c in board.extra_columns) + "<th>paper</th><th>code</th>"
    bodies = []
    for group in board.groups:
        rows = [f'<tr class="group pinned"><td colspan="{width}">{esc(group.title)}</td></tr>']
        for item in group.rows:
            row = item.row
            rank = "" if item.rank is None else str(item.rank)
            cls = "reference pinned" if group.pinned else "method"
            paper = ("<td></td><td></td>" if group.pinned else
                     f'<td class="paper"><div>{html_paper(item.paper)}</div></td>'
                     f'<td class="code">{html_code(item.paper)}</td>')
            tds = (f'<td class="rank" data-v="{rank}">{"ref." if group.pinned else (rank or "–")}</td>'
                   f'<td class="lab">{esc(row.meta.get("name", _label(row.labels)))}</td>'
                   f'<td class="lab">{esc(row.meta.get("stream") or "–")}</td>'
                   + "".join(_value_td(row.cells.get(c), board.anchor) for c in board.columns)
                   + "".join(f'<td class="lab">{esc(x)}</td>' for x in row.meta.get("extra", [])) + paper)
            rows.append(f'<tr class="{cls}" data-method="{esc(row.meta.get("method", ""))}">{tds}</tr>')
        bodies.append(f"<tbody>{''.join(rows)}</tbody>")
    ranked_by = (f" Ranked by <strong>{esc(dict(zip(board.columns, board.column_titles))[board.headline])}</strong> "
                 f"(▼, descending) within {ranked_within(board)}; click a column header to sort by it."
                 if board.headline else "")
    sources = "".join(f'<li id="{esc(board.anchor)}-s{n}">[{n}] {source_text(s, False)}</li>' for n, s in board.sources)
    notes = "".join(f"<li>{esc(n)}</li>" for n in board.notes)
    other = ""
    if board.other is not None:
        other = (f'<details class="other"><summary>Other runs ({len(board.other.rows)}): other recipes and '
                 f"diagnostics, not ranked</summary>{html_grid(board.other)}</details>")
    return (f'<section id="{esc(board.anchor)}" class="board"><h3>{esc(board.title)}</h3>'
            f"<p>{prose(board.intro)}{ranked_by}</p>"
            + scroll_box(f'<table class="sortable ranked"><thead><tr>{head}</tr></thead>{"".join(bodies)}</table>')
            + (f'<ul class="sources">{sources}</ul>' if sources else "")
            + (f'<ul class="notes">{notes}</ul>' if notes else "") + other + "</section>\n")


def html_frame(df: pd.DataFrame, code_columns: Sequence[str] = (), row_ids: Sequence[str] | None = None,
               wide_columns: Sequence[str] = (), source_columns: Sequence[str] = ()) -> str:
    """A DataFrame as a sortable HTML table in a scroll box: ``code_columns`` are set as code,
    ``row_ids`` give each row an anchor, ``wide_columns`` (long prose) get room instead of a
    narrow column of many lines, and the ``owner/repo@commit`` references in ``source_columns``
    link to GitHub. Nothing links into the checkout: the page is read on its own."""
    if df.empty:
        return "<p><em>None.</em></p>\n"
    numeric = {c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])}
    head = "".join(f"<th data-num>{esc(c)}</th>" if c in numeric else f"<th>{esc(c)}</th>" for c in df.columns)
    body = []
    for i, row in enumerate(df.itertuples(index=False)):
        tds = []
        for col, value in zip(df.columns, row):
            text = "–" if pd.isna(value) or value == "" else str(value)
            if col in code_columns and text != "–":
                inner = f"<code>{esc(text)}</code>"
            elif col in source_columns and text != "–":
                inner = source_links(text)
            else:
                inner = esc(text)
            cls = "cmd" if col in code_columns else ("wide" if col in wide_columns else "")
            tds.append(f'<td class="{cls}">{inner}</td>' if cls else f"<td>{inner}</td>")
        rid = f' id="{esc(row_ids[i])}"' if row_ids is not None else ""
        body.append(f"<tr{rid}>{''.join(tds)}</tr>")
    return scroll_box(f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>') + "\n"


def source_links(text: str) -> str:
    """Escaped text with each ``owner/repo@commit`` linked to that commit on GitHub."""
    return REPO_AT.sub(lambda m: f'<a href="https://github.com/{m.group(1)}/tree/{m.group(2)}">{m.group(0)}</a>',
                       esc(text))


def html_details(summary: str, inner: str, anchor_id: str = "") -> str:
    """A block collapsed by default: long tables a reader opens on purpose."""
    aid = f' id="{esc(anchor_id)}"' if anchor_id else ""
    return f"<details{aid}><summary>{esc(summary)}</summary>{inner}</details>\n"


def html_figure(plot: Plot) -> str:
    """A plot embedded as a base64 PNG (nothing to fetch when the page is viewed)."""
    data = base64.b64encode(plot.png).decode("ascii")
    return (f'<figure><img alt="{esc(plot.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{esc(plot.caption)}</figcaption></figure>\n")


def html_page(title: str, body: str) -> str:
    """The whole page: one file, no external resource."""
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>\n'
            f"<body>\n{body}<script>{SORT_JS}</script>\n</body></html>\n")
