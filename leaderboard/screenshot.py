"""Render ``leaderboard/index.html`` in headless Chromium and save a screenshot, to check the page
shows what it should without a network: ``python -m leaderboard.screenshot [--out shot.png]``.

Chromium is a system tool, not a dependency of the suite (Debian: ``apt-get install chromium``);
without it this says so and exits 2. Look at the PNG yourself: the check is a human one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from results.cli import ArgumentParser, positive_int

HERE = Path(__file__).resolve().parent
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser() -> str | None:
    """The first headless-capable Chromium on PATH, or None."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(page: Path, out: Path, width: int = 1400, height: int = 2000, browser: str | None = None,
               timeout: float = 120.0) -> Path:
    """Screenshot of ``page`` (a local HTML file) at ``width`` x ``height`` into ``out``. The browser
    runs with networking pointed nowhere, so a page that needed the network would show it."""
    browser = browser or find_browser()
    if browser is None:
        raise FileNotFoundError(f"no Chromium found (looked for {', '.join(BROWSERS)}); on Debian: "
                                "apt-get install chromium")
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="skelebench-chromium-") as profile:
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--proxy-server=127.0.0.1:9", "--no-first-run", f"--user-data-dir={profile}",
               f"--screenshot={out}", f"--window-size={width},{height}", Path(page).resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium made no screenshot (exit {done.returncode}): {done.stderr.strip()[-400:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="python -m leaderboard.screenshot", description=__doc__.split("\n\n")[0])
    ap.add_argument("--page", type=Path, default=HERE / "index.html", help="HTML file (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=Path("leaderboard-screenshot.png"), help="PNG to write")
    ap.add_argument("--width", type=positive_int, default=1400)
    ap.add_argument("--height", type=positive_int, default=2000)
    args = ap.parse_args(argv)
    try:
        path = screenshot(args.page, args.out, args.width, args.height)
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"screenshot written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
