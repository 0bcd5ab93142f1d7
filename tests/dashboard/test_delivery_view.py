"""AppTest: subscribe on the Weekly review page; the Deliveries panel of the Data page shows the
log and the subscriptions, and unsubscribes."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def _subscription(store: DeliveryStore, email: str, by: str) -> Any:
    return store.add_subscription(
        email=email, weekday="monday", hour=8, timezone="UTC", format="pdf", created_by=by
    )


def _unsubscribe_as(who: dict[str, Any], url: str, subscription_id: str) -> Any:
    """Call the Deliveries panel's server-side unsubscribe as ``who`` (what a forged request
    would reach: AppTest cannot send an option the select box does not offer)."""
    from streamlit.testing.v1 import AppTest

    from tests.dashboard.test_auth import SECRETS

    def script(url: str, subscription_id: str) -> None:
        from dashboard import delivery_view

        delivery_view.unsubscribe(url, subscription_id)

    at = AppTest.from_function(script, args=(url, subscription_id), default_timeout=30)
    at.secrets = SECRETS
    at.user = who
    at.run()
    no_exceptions(at)
    return at


def test_an_analyst_unsubscribes_only_their_own_subscriptions(app_on, folder: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.dashboard.test_auth import SECRETS, user

    store = DeliveryStore(store_url_for(folder))
    mine = _subscription(store, "me@example.org", "analyst-1")
    theirs = _subscription(store, "boss@example.org", "someone-else")
    analyst = user("pb-analysts", sub="analyst-1")
    at = app_on(folder, page="app_pages/data.py", secrets=SECRETS, user=analyst)
    no_exceptions(at)
    # both are listed; only the analyst's own can be chosen
    [table] = [d.value for d in at.dataframe if "e-mail" in d.value.columns]
    assert set(table["e-mail"]) == {"me@example.org", "boss@example.org"}
    choice = at.selectbox(key=state.UNSUBSCRIBE_CHOICE)
    assert len(choice.options) == 1
    assert "me@example.org" in choice.options[0]
    # the server checks again, whatever id reaches it: another's subscription is refused
    forged = _unsubscribe_as(analyst, store_url_for(folder), theirs.subscription_id)
    assert any("only the subscriptions you made" in shown(e.value) for e in forged.error)
    assert {s.subscription_id for s in store.subscriptions()} == {
        mine.subscription_id, theirs.subscription_id,
    }  # fmt: skip
    # a viewer (who has no Data page) or a visitor without a role removes nothing either
    for who in (user("pb-viewers", sub="analyst-1"), user("nobody", sub="analyst-1")):
        _unsubscribe_as(who, store_url_for(folder), mine.subscription_id)
        assert len(store.subscriptions()) == 2
    at.selectbox(key=state.UNSUBSCRIBE_CHOICE).set_value(mine.subscription_id)
    at.button(key=state.UNSUBSCRIBE).click().run()
    no_exceptions(at)
    assert [s.subscription_id for s in store.subscriptions()] == [theirs.subscription_id]


def test_an_admin_unsubscribes_anyone(app_on, folder: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.dashboard.test_auth import SECRETS, user

    store = DeliveryStore(store_url_for(folder))
    theirs = _subscription(store, "boss@example.org", "someone-else")
    admin = user("pb-admins", sub="admin-1")
    at = app_on(folder, page="app_pages/data.py", secrets=SECRETS, user=admin)
    no_exceptions(at)
    assert at.selectbox(key=state.UNSUBSCRIBE_CHOICE).value == theirs.subscription_id
    at.button(key=state.UNSUBSCRIBE).click().run()
    no_exceptions(at)
    assert store.subscriptions() == []
