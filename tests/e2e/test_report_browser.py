"""The HTML weekly review opened from disk in a real browser, with the network off: no
JavaScript error, and every chart drawn (an SVG in each chart's div), the first one included."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from dashboard.cli import main

pytestmark = pytest.mark.e2e

WEEK = "2026-W20"


def test_every_chart_of_the_html_report_draws_offline(
    browser: Any, demo_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "review.html"
    assert main(["report", "--data", str(demo_folder), "--week", WEEK, "--out", str(out)]) == 0
    context = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto(out.as_uri(), wait_until="load")
        charts = page.locator("div[id^='chart-']")
        count = charts.count()
        assert count >= 3, page.content()[:2000]
        # on a timeout the checks below say which chart stayed blank, and why
        with contextlib.suppress(PlaywrightTimeout):
            page.wait_for_function(
                "() => [...document.querySelectorAll(\"div[id^='chart-']\")]"
                ".every(d => d.querySelector('svg.main-svg'))",
                timeout=30_000,
            )
        drawn = page.evaluate(
            "() => [...document.querySelectorAll(\"div[id^='chart-']\")]"
            ".map(d => [d.id, d.querySelectorAll('svg.main-svg').length,"
            " d.getBoundingClientRect().height])"
        )
    finally:
        context.close()
    assert errors == []  # e.g. "Plotly is not defined" when a chart precedes plotly.js
    assert all(n > 0 and height > 100 for _, n, height in drawn), drawn
    assert [url for url in requests if not url.startswith(("file:", "data:"))] == []
