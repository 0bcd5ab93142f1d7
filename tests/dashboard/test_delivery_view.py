"""AppTest: subscribe on the Weekly review page; the Deliveries panel of the Data page shows the
log and the subscriptions, and unsubscribes."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analytics.embedded import store_url_for
from analytics.io.delivery_store import DeliveryRecord, DeliveryStore
from dashboard import state
from dashboard.markup import shown
from tests.dashboard.conftest import no_exceptions


@pytest.fixture
def folder(demo_folder: Path, tmp_path: Path) -> Path:
    """A copy of the demo data, so that its store (proofboard.db) is this test's own."""
    return Path(shutil.copytree(demo_folder, tmp_path / "demo"))


def test_subscribing_stores_the_subscription(app_on, folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(folder, page="app_pages/review.py")
    no_exceptions(at)
    at.text_input(key=state.SUBSCRIBE_EMAIL).input("lead@example.org")
    at.selectbox(key=state.SUBSCRIBE_WEEKDAY).set_value("tuesday")
    at.selectbox(key=state.SUBSCRIBE_HOUR).set_value(7)
    at.selectbox(key=state.SUBSCRIBE_TIMEZONE).set_value("Europe/Berlin")
    at.radio(key=state.SUBSCRIBE_FORMAT).set_value("html")
    at.button(key=state.SUBSCRIBE_SUBMIT).click().run()
    no_exceptions(at)
    assert any(
        "Subscribed lead@example.org" in shown(s.value)
        and "from Tuesday 07:00 (Europe/Berlin)" in s.value
        for s in at.success
    )
    [stored] = DeliveryStore(store_url_for(folder)).subscriptions()
    assert (stored.email, stored.weekday, stored.hour, stored.timezone, stored.format) == (
        "lead@example.org", "tuesday", 7, "Europe/Berlin", "html",
    )  # fmt: skip
    assert stored.alerts is True


def test_a_bad_address_is_refused(app_on, folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(folder, page="app_pages/review.py")
    at.text_input(key=state.SUBSCRIBE_EMAIL).input("not an address")
    at.button(key=state.SUBSCRIBE_SUBMIT).click().run()
    no_exceptions(at)
    assert any("is not an e-mail address" in e.value for e in at.error)
    assert not DeliveryStore.exists(store_url_for(folder))


def test_the_data_page_shows_the_log_and_unsubscribes(app_on, folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(folder, page="app_pages/data.py")
    no_exceptions(at)
    assert any("Nothing delivered yet" in i.value for i in at.info)
    assert not DeliveryStore.exists(store_url_for(folder))  # looking created nothing

    store = DeliveryStore(store_url_for(folder))
    stored = store.add_subscription(
        email="cm@example.org", weekday="monday", hour=8, timezone="UTC", format="pdf"
    )
    store.record(
        DeliveryRecord(
            subscription=stored.subscription_id, channel="email", kind="review", week="2026-W43",
            key="2026-W43", what="weekly review 2026-W43", recipients="cm@example.org",
            outcome="sent", attempts=1, detail="", sent_at=datetime.now(UTC),
        )
    )  # fmt: skip
    at.run()
    no_exceptions(at)
    [log] = [d.value for d in at.dataframe if "outcome" in d.value.columns]
    assert log["subscription"].tolist() == [stored.subscription_id]
    assert log["outcome"].tolist() == ["sent"]
    assert at.selectbox(key=state.UNSUBSCRIBE_CHOICE).value == stored.subscription_id
    at.button(key=state.UNSUBSCRIBE).click().run()
    no_exceptions(at)
    assert store.subscriptions() == []
