"""index.html as a browser lays it out (headless Chromium, via its command line): the ranked tables
are in rank order, no table is wider than a laptop's or a narrow window, every method row links
to its paper and code, and a click on a number column sorts it highest first, reference rows
staying where they are.

Chromium is a system tool (Debian: ``apt-get install chromium``). Without it every test that needs
it (these, and the screenshot test of ``test_leaderboard_output.py``) skips on a developer's machine
and fails where ``CI=true``: CI installs it (``.ci/run``) and must run the checks
(:func:`require_chromium`, the one rule for all of them).
"""

from __future__ import annotations

import os

import pytest

from leaderboard.build import build
from leaderboard.ranking import read_methods
from leaderboard.reported import read_reported
from leaderboard.screenshot import find_browser, measure
from results import RECORDS_DIR

WIDTHS = (1400, 800)


def require_chromium(check: str) -> str:
    """The Chromium a test of the page runs, or the end of the test: without one it skips on a
    developer's machine and fails where ``CI=true`` (CI installs it, ``.ci/run``, and must run
    ``check``, which the message names)."""
    browser = find_browser()
    if browser is None:
        message = f"Chromium is not installed (Debian: apt-get install chromium); {check} needs it"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}, and CI=true: CI must run it (.ci/run installs Chromium)", pytrace=False)
        pytest.skip(message)
    return browser


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> dict[int, dict]:
    """The page built from the shipped records, measured at each width."""
    browser = require_chromium("the page's layout check")
    out = tmp_path_factory.mktemp("page") / "lb"
    build(RECORDS_DIR, out)
    return {width: measure(out / "index.html", width, browser=browser) for width in WIDTHS}


def method_groups(board: dict) -> list[list[dict]]:
    return [[r for r in group if not r["pinned"]] for group in board["groups"]]


def test_rank_one_holds_the_largest_headline_value(measured):
    boards = measured[1400]["boards"]
    ranked = [g for b in boards for g in method_groups(b) if sum(r["rank"] is not None for r in g) > 1]
    assert len(ranked) >= 3, "too few ranked tables to check"
    for group in ranked:
        values = [r["value"] for r in group if r["value"] is not None]
        assert group[0]["rank"] == 1 and group[0]["value"] == max(values)
        ranks = [r["rank"] for r in group if r["rank"] is not None]
        assert ranks == sorted(ranks) and values == sorted(values, reverse=True)


@pytest.mark.parametrize("width", WIDTHS)
def test_no_table_is_wider_than_the_viewport(measured, width):
    m = measured[width]
    assert m["viewport"] == width and m["scroll_width"] <= width  # the page never scrolls sideways
    for box in m["boxes"]:  # a wide table scrolls inside its box; the box fits the window
        assert box["left"] >= 0 and box["right"] <= width + 0.5 and box["width"] <= width, box
    assert any(b["scrolls"] and b["table"] > b["width"] for b in m["boxes"])  # the records table scrolls in its box


def test_every_method_row_links_to_its_paper_and_code(measured):
    papers = read_methods(reported=read_reported())
    rows = [r for b in measured[1400]["boards"] for g in method_groups(b) for r in g]
    assert rows
    for row in rows:
        paper = papers[row["method"]]
        assert row["paper"] == ([paper.paper_url] if paper.paper_url else []), row
        assert row["code"] == ([paper.code_url] if paper.code_url else []), row
        assert row["paper"] or row["code"], row  # every method links somewhere a reader can go
        assert all(href.startswith("https://") for href in row["paper"] + row["code"])
    assert sum(bool(r["paper"]) and bool(r["code"]) for r in rows) > len(rows) // 2


def test_the_first_click_on_a_number_sorts_highest_first_and_reference_rows_stay(measured):
    click = measured[1400]["click"]
    assert click["dir"] == "desc" and click["pinned_kept"], click
    for values in click["groups"]:
        numbers = [v for v in values if v is not None]
        assert values == numbers + [None] * (len(values) - len(numbers))  # empty cells last
        assert numbers == sorted(numbers, reverse=True)
