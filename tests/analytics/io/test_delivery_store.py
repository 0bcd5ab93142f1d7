"""The delivery log and dashboard subscriptions in the SQL store; SMTP credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from analytics.errors import DataSourceError
from analytics.io.delivery_store import DeliveryRecord, DeliveryStore
from analytics.io.send import SendError, post_json, smtp_credentials


def _record(outcome: str, key: str = "2026-W43", minutes: int = 0) -> DeliveryRecord:
    return DeliveryRecord(
        subscription="leads", channel="email", kind="review", week="2026-W43", key=key,
        what="weekly review 2026-W43", recipients="lead@example.org", outcome=outcome,
        attempts=3 if outcome == "failed" else 1, detail="",
        sent_at=datetime(2026, 11, 2, 8, tzinfo=UTC) + timedelta(minutes=minutes),
    )  # fmt: skip


def test_only_a_sent_row_counts_and_the_log_is_newest_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'store.db'}"
    assert not DeliveryStore.exists(url)
    store = DeliveryStore(url)
    store.record(_record("failed"))
    assert not store.delivered("leads", "email", "2026-W43")
    store.record(_record("sent", minutes=5))
    assert store.delivered("leads", "email", "2026-W43")
    assert not store.delivered("leads", "slack", "2026-W43")
    assert not store.delivered("others", "email", "2026-W43")
    log = DeliveryStore(url).log()  # a new store on the same URL sees it
    assert log["outcome"].to_list() == ["sent", "failed"]
    assert log["sent_at"][0] == datetime(2026, 11, 2, 8, 5, tzinfo=UTC)
    assert DeliveryStore.exists(url)


def test_subscriptions_are_stored_once_and_removed(tmp_path: Path) -> None:
    store = DeliveryStore(f"sqlite:///{tmp_path / 'store.db'}")
    kwargs = dict(email="a@example.org", weekday="monday", hour=8, timezone="UTC", format="pdf")
    first = store.add_subscription(**kwargs)  # type: ignore[arg-type]
    again = store.add_subscription(**kwargs)  # type: ignore[arg-type]
    assert first.subscription_id == again.subscription_id
    assert first.subscription_id.startswith("ui-")
    other = store.add_subscription(**{**kwargs, "hour": 9})  # type: ignore[arg-type]
    assert [s.subscription_id for s in store.subscriptions()] == [
        first.subscription_id, other.subscription_id,
    ]  # fmt: skip
    assert store.remove_subscription(first.subscription_id)
    assert not store.remove_subscription(first.subscription_id)
    assert [s.hour for s in store.subscriptions()] == [9]


def test_a_foreign_table_of_the_same_name_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE proofboard_delivery_log (id INTEGER)"))
    engine.dispose()
    with pytest.raises(DataSourceError, match="is not a Proofboard delivery table"):
        DeliveryStore(url)


def test_credentials_from_the_environment_or_secrets_file(tmp_path: Path) -> None:
    env = {"PROOFBOARD_SMTP_USER": "bot", "PROOFBOARD_SMTP_PASSWORD": "pw-123"}
    found = smtp_credentials(env, tmp_path / "none.toml")
    assert found is not None
    assert (found.user, found.password) == ("bot", "pw-123")
    assert "pw-123" not in repr(found)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[proofboard.smtp]\nuser = "u2"\npassword = "pw-456"\n')
    from_file = smtp_credentials({}, secrets)
    assert from_file is not None
    assert (from_file.user, from_file.password) == ("u2", "pw-456")
    assert smtp_credentials({}, tmp_path / "none.toml") is None
    with pytest.raises(SendError, match="Only one of the SMTP user and password") as caught:
        smtp_credentials({"PROOFBOARD_SMTP_USER": "bot"}, secrets)
    assert "pw-456" not in str(caught.value)


def test_a_webhook_error_never_shows_its_url() -> None:
    url = "http://127.0.0.1:9/secret-token-123"  # port 9 (discard): nothing listens
    with pytest.raises(SendError) as caught:
        post_json(url, {"text": "x"}, label="webhook 'team' (slack)")
    assert "webhook 'team' (slack)" in str(caught.value)
    assert "secret-token-123" not in str(caught.value)
    assert not caught.value.permanent
