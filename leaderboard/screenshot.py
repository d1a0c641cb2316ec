"""Render ``leaderboard/index.html`` in headless Chromium and save a screenshot, to check the page
shows what it should without a network: ``python -m leaderboard.screenshot [--out shot.png]
[--width 800] [--full-page]``; ``--measure`` prints what :func:`measure` finds instead (page
height, widest table, links).

Chromium is a system tool, not a dependency of the suite (Debian: ``apt-get install chromium``);
without it this says so and exits 2. Look at the PNG yourself: the screenshot is a human check;
:func:`measure` is the one a test makes (``tests/test_page_chromium.py``).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from utils.cli import ArgumentParser, positive_int

HERE = Path(__file__).resolve().parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """The first headless-capable Chromium on PATH, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


#: Run after the page's own script: measures the page as shown (height, links), then with every
#: ``<details>`` open (the width of every table's box), reads each ranked table's rows (rank,
#: headline value, paper and code links), clicks a number column of the first ranked table with
#: two ranked rows, and writes it all, base64 JSON, into ``<pre id="skelebench-measure">``.
MEASURE_JS = """
(function(){
var W=window.innerWidth,doc=document.documentElement;
var out={viewport:W,height:doc.scrollHeight,links:document.querySelectorAll('a[href^="http"]').length,boards:[]};
document.querySelectorAll('details').forEach(function(d){d.open=true;});
out.scroll_width=doc.scrollWidth;out.boxes=[];
document.querySelectorAll('table').forEach(function(t){var box=t.closest('.scroll')||t;var r=box.getBoundingClientRect();
out.boxes.push({left:r.left,right:r.right,width:r.width,table:t.getBoundingClientRect().width,scrolls:box!==t});});
function val(td){var v=td?td.getAttribute('data-v'):null;return v===null||v===''?null:parseFloat(v);}
document.querySelectorAll('table.ranked').forEach(function(t){
var ths=Array.prototype.slice.call(t.tHead.rows[0].cells);var h=ths.findIndex(function(th){return th.classList.contains('headline');});
var board={id:t.closest('section').id,groups:[]};
Array.prototype.forEach.call(t.tBodies,function(b){var g=[];Array.prototype.forEach.call(b.rows,function(r){
if(r.classList.contains('group')){return;}
g.push({method:r.getAttribute('data-method'),pinned:r.classList.contains('pinned'),rank:val(r.querySelector('td.rank')),
value:h<0?null:val(r.cells[h]),paper:Array.prototype.map.call(r.querySelectorAll('td.paper a'),function(a){return a.getAttribute('href');}),
code:Array.prototype.map.call(r.querySelectorAll('td.code a'),function(a){return a.getAttribute('href');})});});board.groups.push(g);});
out.boards.push(board);});
var t=Array.prototype.find.call(document.querySelectorAll('table.ranked'),function(t){
return t.querySelectorAll('tbody tr.method').length>1&&t.tHead.querySelectorAll('th[data-num]:not(.headline)').length>0;});
if(t){var th=t.tHead.querySelector('th[data-num]:not(.headline)');var i=Array.prototype.indexOf.call(th.parentNode.children,th);
var before=Array.prototype.map.call(t.querySelectorAll('tbody tr'),function(r){return r.classList.contains('pinned')?r.textContent:null;});
th.click();
out.click={id:t.closest('section').id,column:th.textContent,dir:th.getAttribute('data-dir'),
groups:Array.prototype.map.call(t.tBodies,function(b){return Array.prototype.filter.call(b.rows,function(r){return !r.classList.contains('pinned');}).map(function(r){return val(r.cells[i]);});}),
pinned_kept:JSON.stringify(before)===JSON.stringify(Array.prototype.map.call(t.querySelectorAll('tbody tr'),function(r){return r.classList.contains('pinned')?r.textContent:null;}))};}
var pre=document.createElement('pre');pre.id='skelebench-measure';
pre.textContent=btoa(unescape(encodeURIComponent(JSON.stringify(out))));document.body.appendChild(pre);
})();
"""


def _chromium(browser: str | None) -> str:
    browser = browser or find_browser()
    if browser is None:
        raise FileNotFoundError(f"no Chromium found (looked for {', '.join(BROWSERS)}); on Debian: "
                                "apt-get install chromium")
    return browser


def _flags(profile: str, width: int, height: int) -> list[str]:
    """Headless, no sandbox (root in containers), networking pointed nowhere (a page that needed
    the network would show it), scrollbars hidden (they would narrow the viewport)."""
    return ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--proxy-server=127.0.0.1:9",
            "--no-first-run", f"--user-data-dir={profile}", f"--window-size={width},{height}"]


def measure(page: Path, width: int = 1400, height: int = 900, browser: str | None = None,
            timeout: float = 60.0) -> dict:
    """What ``page`` looks like in Chromium at ``width`` px: ``height`` (the page as shown, px),
    ``links`` (``<a href="http…">``), ``scroll_width`` and, per table, its box's position and
    width (``boxes``, with every ``<details>`` open), each ranked table's rows (``boards``) and
    what a click on a number column did (``click``). The page runs in a copy with
    :data:`MEASURE_JS` appended, so the measurement is the browser's own layout."""
    browser = _chromium(browser)
    text = Path(page).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="skelebench-chromium-") as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(text.replace("</body>", f"<script>{MEASURE_JS}</script></body>"), encoding="utf-8")
        cmd = [browser, *_flags(str(Path(tmp) / "profile"), width, height), "--dump-dom", copy.as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    found = re.search(r'<pre id="skelebench-measure">([A-Za-z0-9+/=]+)</pre>', done.stdout)
    if found is None:
        raise RuntimeError(f"chromium measured nothing (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return json.loads(base64.b64decode(found.group(1)).decode("utf-8"))


def screenshot(page: Path, out: Path, width: int = 1400, height: int = 2000, browser: str | None = None,
               timeout: float = 120.0) -> Path:
    """Screenshot of ``page`` (a local HTML file) at ``width`` x ``height`` into ``out``. The browser
    runs with networking pointed nowhere, so a page that needed the network would show it."""
    browser = _chromium(browser)
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="skelebench-chromium-") as profile:
        cmd = [browser, *_flags(profile, width, height), f"--screenshot={out}", Path(page).resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium made no screenshot (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m leaderboard.screenshot", description=__doc__.split("\n\n")[0])
    ap.add_argument("--page", type=Path, default=HERE / "index.html", help="HTML file (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=Path("leaderboard-screenshot.png"), help="PNG to write")
    ap.add_argument("--width", type=positive_int, default=1400, help="window width, px (default: %(default)s)")
    ap.add_argument("--height", type=positive_int, default=2000, help="window height, px (default: %(default)s)")
    ap.add_argument("--full-page", action="store_true", help="as tall as the page (measured first)")
    ap.add_argument("--measure", action="store_true",
                    help="print the page's height, widest table box and number of http links instead")
    args = ap.parse_args(argv)
    try:
        if args.measure or args.full_page:
            m = measure(args.page, args.width)
            if args.measure:
                widest = max((b["width"] for b in m["boxes"]), default=0)
                widest_table = max((b["table"] for b in m["boxes"]), default=0)
                print(f"width {args.width}px: page height {m['height']}px, page scroll width {m['scroll_width']}px, "
                      f"widest table box {widest:.0f}px (widest table inside its box {widest_table:.0f}px), "
                      f"{m['links']} http links")
                return 0
            args.height = m["height"]
        path = screenshot(args.page, args.out, args.width, args.height)
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"screenshot written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
