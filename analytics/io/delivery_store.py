"""The delivery log and the subscriptions made on the dashboard, kept in the SQL store.

The log has one row per attempt to deliver something (the weekly review or an alert) to one
subscription over one channel: which week, when, and the outcome (``sent`` or ``failed`` with
the reason). Only a ``sent`` row counts as delivered, so ``proofboard deliver`` sends what is
missing and nothing twice. Subscriptions made on the Weekly review page (e-mail, weekday, hour,
time zone, format) are served by ``proofboard deliver`` together with those of its
configuration file.

Like :mod:`analytics.io.milestone_store`: tables are created when missing, every change is one
transaction, database errors become :class:`DataSourceError` with the password masked.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import sqlalchemy as sa

from analytics.errors import DataSourceError
from analytics.io.milestone_store import _UtcDateTime, in_transaction
from analytics.io.source import create_engine, mask_url, sqlite_path

_T = TypeVar("_T")

SENT = "sent"
FAILED = "failed"
#: ``kind`` of a log row: the weekly review, or an alert.
REVIEW = "review"
ALERT = "alert"

LOG_SCHEMA: dict[str, pl.DataType] = {
    "sent_at": pl.Datetime("us", "UTC"),
    "subscription": pl.String(),
    "channel": pl.String(),
    "kind": pl.String(),
    "week": pl.String(),
    "what": pl.String(),
    "recipients": pl.String(),
    "outcome": pl.String(),
    "attempts": pl.Int64(),
    "detail": pl.String(),
}


@dataclass(frozen=True)
class DeliveryRecord:
    """One attempt to deliver, as logged. ``key`` identifies what was sent: the week for the
    review, the alert's occurrence (e.g. ``verdict:p003:2026-W43:no_evidence->hurts``)."""

    subscription: str
    channel: str
    kind: str
    week: str
    key: str
    what: str
    recipients: str
    outcome: str
    attempts: int
    detail: str
    sent_at: datetime


@dataclass(frozen=True)
class StoredSubscription:
    """A subscription made on the dashboard."""

    subscription_id: str
    email: str
    weekday: str
    hour: int
    timezone: str
    format: str
    alerts: bool
    created_at: datetime
    created_by: str | None


def _now() -> datetime:
    return datetime.now(UTC)


class DeliveryStore:
    """The delivery log (:attr:`LOG_TABLE`) and the dashboard's subscriptions
    (:attr:`SUBSCRIPTIONS_TABLE`) in the database at ``url``."""

    LOG_TABLE = "proofboard_delivery_log"
    SUBSCRIPTIONS_TABLE = "proofboard_subscriptions"

    def __init__(self, url: str) -> None:
        self.url = url
        db_file = sqlite_path(url)
        if db_file is not None:
            try:
                Path(db_file).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DataSourceError(
                    f"Cannot create the folder for the delivery store {db_file}: {exc}. "
                    "Fix: choose a folder you can write to."
                ) from exc
        self._engine = create_engine(url)
        metadata = sa.MetaData()
        self._log = sa.Table(
            self.LOG_TABLE,
            metadata,
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("subscription", sa.String(200), nullable=False, index=True),
            sa.Column("channel", sa.String(32), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("week", sa.String(16), nullable=False),
            sa.Column("delivery_key", sa.String(300), nullable=False),
            sa.Column("what", sa.Text(), nullable=False),
            sa.Column("recipients", sa.Text(), nullable=False),
            sa.Column("outcome", sa.String(16), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("detail", sa.Text(), nullable=False),
            sa.Column("sent_at", _UtcDateTime(), nullable=False, index=True),
        )
        self._subscriptions = sa.Table(
            self.SUBSCRIPTIONS_TABLE,
            metadata,
            sa.Column("subscription_id", sa.String(64), primary_key=True),
            sa.Column("email", sa.String(320), nullable=False),
            sa.Column("weekday", sa.String(16), nullable=False),
            sa.Column("hour", sa.Integer(), nullable=False),
            sa.Column("timezone", sa.String(64), nullable=False),
            sa.Column("format", sa.String(8), nullable=False),
            sa.Column("alerts", sa.Boolean(), nullable=False),
            sa.Column("created_at", _UtcDateTime(), nullable=False),
            sa.Column("created_by", sa.String(320), nullable=True),
        )
        self._run("prepare the delivery tables in", self._create_tables, write=True)

    @classmethod
    def exists(cls, url: str) -> bool:
        """Whether the store at ``url`` has a delivery log yet (creates nothing)."""
        try:
            db_file = sqlite_path(url)
            if db_file is not None and not Path(db_file).is_file():
                return False
            engine = create_engine(url)
            try:
                return sa.inspect(engine).has_table(cls.LOG_TABLE)
            finally:
                engine.dispose()
        except (DataSourceError, sa.exc.SQLAlchemyError):
            return False

    @property
    def description(self) -> str:
        return f"tables {self.LOG_TABLE} and {self.SUBSCRIPTIONS_TABLE} in {mask_url(self.url)}"

    def close(self) -> None:
        self._engine.dispose()

    # -- the log ---------------------------------------------------------------------------------

    def delivered(self, subscription: str, channel: str, key: str) -> bool:
        """Whether ``key`` (a week, an alert occurrence) was sent to the subscription over the
        channel."""
        t = self._log.c
        query = (
            sa.select(sa.func.count())
            .select_from(self._log)
            .where(t.subscription == subscription, t.channel == channel)
            .where(t.delivery_key == key, t.outcome == SENT)
        )
        return bool(self._run("read the delivery log from", lambda c: c.scalar(query), write=False))

    def record(self, record: DeliveryRecord) -> None:
        """Add one attempt to the log."""
        values = {
            "subscription": record.subscription,
            "channel": record.channel,
            "kind": record.kind,
            "week": record.week,
            "delivery_key": record.key,
            "what": record.what,
            "recipients": record.recipients,
            "outcome": record.outcome,
            "attempts": record.attempts,
            "detail": record.detail,
            "sent_at": record.sent_at,
        }
        self._run(
            "write the delivery log to",
            lambda c: c.execute(self._log.insert().values(**values)),
            write=True,
        )

    def log(self, limit: int = 500) -> pl.DataFrame:
        """The latest ``limit`` log rows, newest first (columns of :data:`LOG_SCHEMA`)."""
        t = self._log.c
        query = (
            sa.select(
                t.sent_at, t.subscription, t.channel, t.kind, t.week, t.what, t.recipients,
                t.outcome, t.attempts, t.detail,
            )
            .order_by(t.sent_at.desc(), t.id.desc())
            .limit(limit)
        )  # fmt: skip
        rows = self._run(
            "read the delivery log from",
            lambda c: [tuple(r) for r in c.execute(query)],
            write=False,
        )
        return pl.DataFrame(rows, schema=LOG_SCHEMA, orient="row")

    # -- subscriptions made on the dashboard ------------------------------------------------------

    def add_subscription(
        self,
        *,
        email: str,
        weekday: str,
        hour: int,
        timezone: str,
        format: str,
        alerts: bool = True,
        created_by: str | None = None,
    ) -> StoredSubscription:
        """Store a subscription (checked by the caller) and return it with its id. The same
        address, weekday, hour, zone and format twice is stored once."""

        def insert(conn: sa.Connection) -> StoredSubscription:
            t = self._subscriptions
            same = conn.execute(
                sa.select(t).where(
                    t.c.email == email, t.c.weekday == weekday, t.c.hour == hour,
                    t.c.timezone == timezone, t.c.format == format,
                )
            ).first()  # fmt: skip
            if same is not None:
                return self._subscription(same)
            row: dict[str, Any] = {
                "subscription_id": "ui-" + secrets.token_hex(4),
                "email": email,
                "weekday": weekday,
                "hour": hour,
                "timezone": timezone,
                "format": format,
                "alerts": alerts,
                "created_at": _now(),
                "created_by": created_by,
            }
            conn.execute(t.insert().values(**row))
            return StoredSubscription(**row)

        return self._run("save the subscription to", insert, write=True)

    def subscriptions(self) -> list[StoredSubscription]:
        """Every subscription made on the dashboard, oldest first."""
        t = self._subscriptions
        query = sa.select(t).order_by(t.c.created_at, t.c.subscription_id)
        return self._run(
            "read the subscriptions from",
            lambda c: [self._subscription(r) for r in c.execute(query)],
            write=False,
        )

    def remove_subscription(self, subscription_id: str) -> bool:
        """Delete a subscription; returns whether there was one."""
        t = self._subscriptions
        result = self._run(
            "delete the subscription from",
            lambda c: c.execute(t.delete().where(t.c.subscription_id == subscription_id)),
            write=True,
        )
        return bool(result.rowcount)

    # -- internals -------------------------------------------------------------------------------

    def _run(self, action: str, work: Callable[[sa.Connection], _T], *, write: bool) -> _T:
        return in_transaction(self._engine, self.url, action, work, write=write)

    def _create_tables(self, conn: sa.Connection) -> None:
        inspector = sa.inspect(conn)
        for table in (self._log, self._subscriptions):
            if not inspector.has_table(table.name):
                table.create(conn)
                continue
            found = {c["name"] for c in inspector.get_columns(table.name)}
            missing = [c.name for c in table.columns if c.name not in found]
            if missing:
                raise DataSourceError(
                    f"Table {table.name} in {mask_url(self.url)} is not a Proofboard delivery "
                    f"table: it lacks {', '.join(missing)}. Fix: rename or drop that table, or "
                    "use another store ([store] url in the delivery configuration)."
                )

    @staticmethod
    def _subscription(row: sa.Row[Any]) -> StoredSubscription:
        m = row._mapping
        return StoredSubscription(
            subscription_id=m["subscription_id"],
            email=m["email"],
            weekday=m["weekday"],
            hour=int(m["hour"]),
            timezone=m["timezone"],
            format=m["format"],
            alerts=bool(m["alerts"]),
            created_at=m["created_at"],
            created_by=m["created_by"],
        )
