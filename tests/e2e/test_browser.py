"""The dashboard in a real browser: it opens, draws the growth chart, and can be pictured."""

from __future__ import annotations

from pathlib import Path
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


def test_a_shared_link_opens_the_same_view_in_a_new_browser(app_url: str, browser: Any) -> None:
    first = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = first.new_page()
        page.goto(f"{app_url}/retention?range=all", wait_until="domcontentloaded")
        page.get_by_text("Month (30 days)").first.click(timeout=45_000)
        page.wait_for_url("**period=month**", timeout=30_000)
        page.get_by_text("Copy link to this view").first.click()
        code = page.locator("[data-testid='stPopoverBody'] code").first
        code.wait_for(state="visible", timeout=15_000)
        link = code.inner_text().strip()
    finally:
        first.close()
    assert link.startswith(f"{app_url}/retention?")
    assert "period=month" in link
    assert "range=all" in link

    second = browser.new_context(viewport={"width": 1400, "height": 1000})  # no shared state
    try:
        page = second.new_page()
        page.goto(link, wait_until="domcontentloaded")
        month = page.get_by_role("radio", name="Month (30 days)")
        month.wait_for(state="attached", timeout=45_000)
        assert month.is_checked()
        date_range = page.get_by_role("combobox", name="Date range")
        date_range.wait_for(state="visible", timeout=15_000)
        assert date_range.input_value() == "All time"
        chart = page.locator(".js-plotly-plot").first
        chart.wait_for(state="visible", timeout=45_000)
        assert "Months since joining" in chart.inner_text()
    finally:
        second.close()


def test_a_chart_downloads_as_png(app_url: str, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(app_url, wait_until="domcontentloaded")
        page.locator(".js-plotly-plot").first.wait_for(state="visible", timeout=45_000)
        button = page.get_by_role("button", name="PNG").first
        with page.expect_download(timeout=60_000) as caught:
            button.click()
        download = caught.value
        assert download.suggested_filename.endswith(".png")
        data = Path(download.path()).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 20_000
    finally:
        context.close()
