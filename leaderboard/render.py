"""Rendering :class:`~leaderboard.tables.Table` values as Markdown and as one self-contained
HTML page (inline CSS and JavaScript, plots as base64 PNG): pure string building, so the same
tables give byte-identical text."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

import pandas as pd

from leaderboard.tables import VERDICT_MARK, Cell, Table, agg_text, cell_text, signed


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


def markdown_table(table: Table, records_href: str, level: int = 4) -> str:
    """One table as Markdown: heading, intro, the grid, its notes, and the records behind its
    cells (links) in a collapsed block."""
    head = list(table.label_columns) + list(table.column_titles)
    lines = [f"{'#' * level} {table.title}", "", table.intro, "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    links = []
    for row in table.rows:
        cells = [_md_escape(x) for x in row.labels] + [_md_escape(cell_text(row.cells[c])) if c in row.cells else ""
                                                      for c in table.columns]
        lines.append("| " + " | ".join(cells) + " |")
        for col, title in zip(table.columns, table.column_titles):
            cell = row.cells.get(col)
            if cell is not None and cell.agg is not None:
                refs = ", ".join(f"[{r.removesuffix('.json')}]({record_href(records_href, r)})"
                                 for r in dict.fromkeys(cell.agg.records))
                links.append(f"- {_md_escape(_label(row.labels))} — {title}: {refs}")
    if not table.rows:
        lines.append("| " + " | ".join(["_no rows_"] + [""] * (len(head) - 1)) + " |")
    out = "\n".join(lines) + "\n"
    if table.notes:
        out += "\n" + "\n".join(f"{n}  " for n in table.notes) + "\n"
    if links:
        out += "\n<details><summary>Records behind these cells</summary>\n\n" + "\n".join(links) + "\n\n</details>\n"
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
body{font-family:'DejaVu Sans',Verdana,sans-serif;margin:24px 32px;color:#1d2330;background:#fff;font-size:14px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid #d0d5de;padding-bottom:4px}
h3{font-size:16px;margin:24px 0 6px}p{max-width:1100px;line-height:1.45}
nav a{margin-right:14px}code{font-family:'DejaVu Sans Mono',monospace;font-size:12px;background:#f3f4f7;padding:1px 3px}
table{border-collapse:collapse;margin:6px 0 10px;font-size:13px}
th,td{border:1px solid #d0d5de;padding:3px 7px;vertical-align:top;text-align:left}
th{background:#eef1f6;cursor:pointer;white-space:nowrap;user-select:none}
th[data-dir=asc]::after{content:' \\25B2'}th[data-dir=desc]::after{content:' \\25BC'}
td.num{white-space:nowrap}tr.kind-reference td{background:#f7f7f2;font-style:italic}
tr.kind-variant td{color:#4a5262;font-size:12px}tr.kind-suite td{background:#f4f8fb}
.rep{font-weight:bold}.flag{color:#b35c00}.pass{color:#17752f}.fail{color:#b3261e;font-weight:bold}
.unchecked{color:#6b7280}.syn{background:#fff7e0;border:1px solid #e8c95a;padding:6px 10px;max-width:1100px}
sup a{text-decoration:none;margin-left:1px}figure{margin:12px 0}figure img{max-width:100%;border:1px solid #e1e4ea}
figcaption{font-size:12px;color:#4a5262;max-width:1100px}.notes{font-size:12px;color:#4a5262}
tr:target td{background:#fff3b0}td.cmd code{white-space:nowrap}td.wide{min-width:30em;max-width:48em;font-size:12px}
"""

SORT_JS = """
(function(){
function key(td){if(!td){return '';}var v=td.getAttribute('data-v');
if(v!==null&&v!==''&&!isNaN(parseFloat(v))){return parseFloat(v);}
var t=td.textContent.trim().replace('\\u2212','-');var n=parseFloat(t);
return (!isNaN(n)&&/^[-+]?[0-9]/.test(t))?n:t.toLowerCase();}
function sortBy(th){var table=th.closest('table'),body=table.tBodies[0];
var i=Array.prototype.indexOf.call(th.parentNode.children,th);var asc=th.getAttribute('data-dir')!=='asc';
Array.prototype.forEach.call(th.parentNode.children,function(h){h.removeAttribute('data-dir');});
th.setAttribute('data-dir',asc?'asc':'desc');var rows=Array.prototype.slice.call(body.rows);
rows.sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]);if(typeof x!==typeof y){return typeof x==='number'?-1:1;}
return (x<y?-1:(x>y?1:0))*(asc?1:-1);});rows.forEach(function(r){body.appendChild(r);});}
document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){sortBy(th);});});
})();
"""


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def prose(text: str) -> str:
    """Escaped prose with its Markdown inline marks (`code`, **bold**) as HTML."""
    out = esc(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def anchor(record: str) -> str:
    """The in-page anchor of a record's row in the records table."""
    return "rec-" + "".join(c if c.isalnum() or c in "-_" else "_" for c in record.removesuffix(".json"))


def _record_links(records: Sequence[str]) -> str:
    """One link per record (a record that gives several samples, e.g. one per init seed, once)."""
    unique = dict.fromkeys(records)
    return "<sup>" + " ".join(f'<a href="#{anchor(r)}" title="{esc(r)}">{i}</a>' for i, r in enumerate(unique, 1)) + "</sup>"


def cell_html(cell: Cell) -> str:
    """A cell as HTML: the reported number and its flags, the reproduced mean ± sd (n) with a
    link per record into the records table, Δ and the verdict."""
    parts = []
    if cell.reported is not None:
        flags = f'<span class="flag">{esc(cell.flags)}</span>' if cell.flags else ""
        parts.append(f'<span class="rep">{esc(cell.reported_text)}</span>{flags}')
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
    if cell.agg is not None:
        return f"{cell.agg.mean:.4f}"
    return f"{cell.reported:.4f}" if cell.reported is not None else ""


def html_table(table: Table) -> str:
    """One :class:`Table` as a sortable HTML table with its heading, intro and notes."""
    head = "".join(f"<th>{esc(c)}</th>" for c in list(table.label_columns) + list(table.column_titles))
    body = []
    for row in table.rows:
        tds = "".join(f"<td>{esc(x)}</td>" for x in row.labels)
        for col in table.columns:
            cell = row.cells.get(col)
            if cell is None:
                tds += "<td></td>"
            else:
                tds += f'<td class="num" data-v="{_sort_value(cell)}" title="{esc(cell.title)}">{cell_html(cell)}</td>'
        body.append(f'<tr class="kind-{row.kind}">{tds}</tr>')
    notes = "".join(f"<li>{esc(n)}</li>" for n in table.notes)
    return (f'<section id="{esc(table.anchor)}"><h3>{esc(table.title)}</h3><p>{prose(table.intro)}</p>'
            f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
            + (f'<ul class="notes">{notes}</ul>' if notes else "") + "</section>\n")


def html_frame(df: pd.DataFrame, link_columns: dict[str, str] | None = None, code_columns: Sequence[str] = (),
               row_ids: Sequence[str] | None = None, wide_columns: Sequence[str] = ()) -> str:
    """A DataFrame as a sortable HTML table; ``link_columns`` maps a column to the href prefix its
    values link under, ``code_columns`` are set as code, ``row_ids`` give each row an anchor,
    ``wide_columns`` (long prose) get room instead of a narrow column of many lines."""
    if df.empty:
        return "<p><em>None.</em></p>\n"
    link_columns = link_columns or {}
    head = "".join(f"<th>{esc(c)}</th>" for c in df.columns)
    body = []
    for i, row in enumerate(df.itertuples(index=False)):
        tds = []
        for col, value in zip(df.columns, row):
            text = "–" if pd.isna(value) or value == "" else str(value)
            if col in link_columns and text != "–":
                inner = f'<a href="{esc(record_href(link_columns[col], text))}">{esc(text)}</a>'
            elif col in code_columns and text != "–":
                inner = f"<code>{esc(text)}</code>"
            else:
                inner = esc(text)
            cls = "cmd" if col in code_columns else ("wide" if col in wide_columns else "")
            tds.append(f'<td class="{cls}">{inner}</td>' if cls else f"<td>{inner}</td>")
        rid = f' id="{esc(row_ids[i])}"' if row_ids is not None else ""
        body.append(f"<tr{rid}>{''.join(tds)}</tr>")
    return (f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>\n')


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
