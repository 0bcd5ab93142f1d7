"""The dashboard in a real browser: it opens, draws the growth chart, and can be pictured."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.e2e


def test_overview_draws_the_growth_chart_and_saves_a_screenshot(app_url: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{app_url}/?range=365d", wait_until="domcontentloaded")
        chart = page.locator(".js-plotly-plot").first
        chart.wait_for(state="visible", timeout=45_000)
        bars = chart.locator("g.barlayer path")
        bars.first.wait_for(state="attached", timeout=15_000)
        assert bars.count() > 30  # a year of daily signups
        assert "Signups and members over time" in chart.inner_text()
        assert page.get_by_text("New members").first.is_visible()
        assert not page.get_by_text("Page not found").is_visible()
        page.wait_for_timeout(500)  # let the chart finish its transition
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "overview.png"
        page.screenshot(path=str(shot), full_page=True)
        data = shot.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 20_000
    finally:
        page.close()
