"""The report in a real browser: headless Chromium (Debian's, ``make chromium``) opens it offline.

Every chart must have rendered its marks, the search box must filter the
country charts, and nothing may be fetched from the network. The screenshot is
kept at ``data/ui-screenshots/report.png`` (not committed).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from faker import Faker

from pinterest_pipeline import report
from tests.report.tables import sample_tables, write_tables

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parents[2] / "data" / "ui-screenshots" / "report.png"
ALL_RENDERED = "() => [...document.querySelectorAll('.chart')].every(d => d.dataset.rendered)"


def countries(n: int) -> list[str]:
    fake = Faker("en_US")
    fake.seed_instance(3)
    return sorted({fake.country() for _ in range(4 * n)})[:n]


def test_every_chart_renders_offline_and_the_search_filters(warehouse, tmp_path):
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: `make chromium` installs it"
    names = countries(60)
    tables = sample_tables(names)
    write_tables(warehouse, tables)
    path, _ = report.write_report(str(tmp_path / "report.html"))

    requests, errors = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, offline=True)
            context.on("request", lambda r: requests.append(r.url))
            page = context.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.goto(Path(path).as_uri())
            page.wait_for_function(ALL_RENDERED, timeout=30_000)

            for name, rows in tables.items():
                chart = page.locator(f"#chart-{name}")
                assert chart.locator("svg.main-svg").count() > 0, name
                if name == "country_with_top_poster":
                    shown = chart.locator("g.indicatorlayer text.number").text_content()
                    assert shown == f"{rows[0]['follower_count']:,}"
                else:
                    assert chart.locator("g.trace.bars g.point").count() == len(rows), name

            chart = "#chart-top_poster_by_country"
            search = page.locator(f"input.search[data-chart='{chart[1:]}']")
            wanted = [c for c in names if "an" in c.lower()]
            assert 0 < len(wanted) < len(names)
            search.fill("AN")
            page.wait_for_function(
                f"() => document.querySelectorAll('{chart} g.trace.bars g.point').length"
                f" === {len(wanted)}", timeout=10_000)
            labels = page.locator(f"{chart} .ytick text").all_text_contents()
            assert sorted(labels) == wanted
            assert page.locator(f"{chart}-matches").text_content() == (
                f"{len(wanted)} of {len(names)} countries")
            search.fill("no such country")
            page.wait_for_function(
                f"() => document.querySelectorAll('{chart} g.trace.bars g.point').length === 0")
            assert page.locator(f"{chart}-matches").text_content() == "no country matches"
            search.fill("")
            page.wait_for_function(
                f"() => document.querySelectorAll('{chart} g.trace.bars g.point').length"
                f" === {len(names)}")

            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert [u for u in requests if not u.startswith("file:")] == []
    assert SCREENSHOT.stat().st_size > 50_000
