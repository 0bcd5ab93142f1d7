"""In a real browser: subscribe on the Weekly review page, run ``proofboard deliver``, and see
the delivery in the log on the Data page (and the e-mail at the SMTP server)."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.community import load_community
from analytics.delivery.schedule import last_complete_week
from analytics.io import open_source
from analytics.io.delivery_store import DeliveryStore
from analytics.weekly import week_label
from dashboard.cli import main
from tests.e2e.conftest import serve_app
from tests.mail_servers import smtp_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def folder(demo_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo data: its store (proofboard.db) belongs to this module."""
    return Path(shutil.copytree(demo_folder, tmp_path_factory.mktemp("deliver") / "demo"))


@pytest.fixture(scope="module")
def served(folder: Path) -> Iterator[str]:
    with serve_app(folder) as base:
        yield base


def test_subscribe_then_deliver_shows_in_the_log(
    served: str, browser: Any, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    as_of = load_community(open_source(folder)).as_of
    week = week_label(last_complete_week(as_of))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{served}/review", wait_until="domcontentloaded")
        page.get_by_text("Subscribe: get this review by e-mail every week").click(timeout=60_000)
        page.get_by_label("E-mail").fill("head@example.org")
        page.get_by_role("button", name="Subscribe").click()
        page.get_by_text("Subscribed head@example.org").wait_for(timeout=30_000)
    finally:
        page.close()
    [stored] = DeliveryStore(f"sqlite:///{folder / 'proofboard.db'}").subscriptions()
    assert (stored.email, stored.weekday, stored.hour, stored.format) == (
        "head@example.org", "monday", 8, "pdf",
    )  # fmt: skip

    monkeypatch.delenv("PROOFBOARD_SMTP_USER", raising=False)
    monkeypatch.delenv("PROOFBOARD_SMTP_PASSWORD", raising=False)
    monkeypatch.chdir(tmp_path)
    with smtp_server() as box:
        config = tmp_path / "delivery.toml"
        config.write_text(
            f'[smtp]\nhost = "127.0.0.1"\nport = {box.port}\n'
            'from = "Proofboard <proofboard@example.org>"\nsecurity = "none"\n'
        )
        code = main(["deliver", "--data", str(folder), "--config", str(config),
                     "--as-of", as_of.isoformat()])  # fmt: skip
        out = capsys.readouterr()
        assert code == 0, out.err
        [message] = box.messages()
    assert message["To"] == "head@example.org"
    assert week in message["Subject"]

    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(f"{served}/data", wait_until="domcontentloaded")
        page.get_by_role("tab", name="Deliveries").click(timeout=60_000)
        page.get_by_text("Delivery log").first.wait_for(timeout=30_000)
        panel = page.locator("[role='tabpanel']:visible")
        grid = panel.locator("[data-testid='stDataFrame']").first
        grid.wait_for(state="visible", timeout=30_000)
        # the unsubscribe choice, the last element of the panel
        choice = panel.get_by_role("combobox", name="Unsubscribe")
        choice.wait_for(state="visible", timeout=30_000)
        assert choice.input_value() == "head@example.org (monday, 08:00 UTC, pdf)"
        text = panel.inner_text()
        assert "Subscriptions made on the dashboard" in text
        assert "Nothing delivered yet" not in text
        # the grid is drawn on a canvas: read the log through its CSV download
        with page.expect_download(timeout=60_000) as caught:
            panel.get_by_role("button", name="CSV", exact=True).first.click()
        rows = list(csv.DictReader(io.StringIO(Path(caught.value.path()).read_text())))
        assert [(r["subscription"], r["week"], r["outcome"]) for r in rows] == [
            (stored.subscription_id, week, "sent")
        ]
    finally:
        context.close()
    log = DeliveryStore(f"sqlite:///{folder / 'proofboard.db'}").log()
    assert log["subscription"].to_list() == [stored.subscription_id]
    assert log["outcome"].to_list() == ["sent"]
