"""Milestone announcements added on the dashboard, kept in a SQL database.

Community leads add, edit and delete their own milestones (date-time, title, channel). They are
validated, written one transaction per change, and survive restarts: a new store on the same URL
sees what an earlier one wrote. The default is an embedded SQLite file; PostgreSQL works too.

Milestones that came with the data source are read-only and are not handled here: the caller
merges :meth:`MilestoneStore.frame` with them (both use the contract's milestones columns).

Timestamps are UTC throughout. PostgreSQL stores them as ``timestamptz``; SQLite has no time
zones, so the UTC wall time is stored and read back as UTC.
"""

from __future__ import annotations

import builtins
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import sqlalchemy as sa

from analytics.errors import DataSourceError, InputError
from analytics.io.source import begin_write, create_engine, mask_url, scrub_secret, sqlite_path

#: Longest title a milestone may have, in characters.
MAX_TITLE_LENGTH = 200

#: Prefix of the ids of milestones added on the dashboard.
ID_PREFIX = "user-"

#: The milestones columns of the data contract, as :meth:`MilestoneStore.frame` returns them.
FRAME_SCHEMA: dict[str, pl.DataType] = {
    "milestone_id": pl.String(),
    "announced_at": pl.Datetime("us", "UTC"),
    "title": pl.String(),
    "channel": pl.String(),
}

_T = TypeVar("_T")


def in_transaction(
    engine: sa.Engine, url: str, action: str, work: Callable[[sa.Connection], _T], *, write: bool
) -> _T:
    """Run ``work`` in one transaction on a store at ``url``; database errors become
    :class:`DataSourceError` naming ``action`` (and saying nothing was changed for a write)."""
    try:
        with begin_write(engine) if write else engine.begin() as conn:
            return work(conn)
    except sa.exc.SQLAlchemyError as exc:
        outcome = " It was rolled back, nothing was changed." if write else ""
        raise DataSourceError(
            f"Could not {action} {mask_url(url)}: {type(exc).__name__}: "
            f"{scrub_secret(str(exc).splitlines()[0], url)}.{outcome} Fix: check that the "
            "database is reachable and writable, then try again."
        ) from exc


class MilestoneValidationError(InputError):
    """A milestone cannot be saved as given; the message says what is wrong and how to fix it.
    Nothing was written."""


@dataclass(frozen=True)
class StoredMilestone:
    """One milestone added on the dashboard, as stored."""

    milestone_id: str
    announced_at: datetime  # aware, UTC
    title: str
    channel: str | None
    created_at: datetime  # aware, UTC
    updated_at: datetime  # aware, UTC


def _as_utc(value: datetime) -> datetime:
    """``value`` as an aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class _UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always bound and returned as aware UTC.

    PostgreSQL gets the aware value (``timestamptz``) and returns it in the session's time zone,
    which is converted back to UTC. Other databases (SQLite) store the naive UTC wall time.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        value = _as_utc(value)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else _as_utc(value)


def _now() -> datetime:
    return datetime.now(UTC)


def _show(moment: datetime) -> str:
    """A UTC time for messages: minutes, and seconds only when they matter."""
    moment = _as_utc(moment)
    fmt = (
        "%Y-%m-%d %H:%M" if moment.second == 0 and moment.microsecond == 0 else "%Y-%m-%d %H:%M:%S"
    )
    return f"{moment.strftime(fmt)} UTC"


def _clean_announced_at(value: Any, valid_range: tuple[datetime, datetime] | None) -> datetime:
    if not isinstance(value, datetime):
        raise MilestoneValidationError(
            f"The announcement time must be a date and time, not {type(value).__name__} "
            f"({value!r}). Fix: pick a date and a time of day."
        )
    moment = _as_utc(value)
    if valid_range is not None:
        start, end = (_as_utc(v) for v in valid_range)
        if start > end:
            raise InputError(f"valid_range starts after it ends: {_show(start)} > {_show(end)}")
        if not start <= moment <= end:
            raise MilestoneValidationError(
                f"The milestone date {_show(moment)} is outside the data's range, "
                f"{_show(start)} (first signup) to {_show(end)} (as-of time). "
                "Fix: pick a date and time within that range."
            )
    return moment


def _clean_title(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MilestoneValidationError(
            'The milestone has no title. Fix: give the milestone a title, e.g. "10,000 members!".'
        )
    title = value.strip()
    if len(title) > MAX_TITLE_LENGTH:
        raise MilestoneValidationError(
            f"The title is {len(title)} characters long; at most {MAX_TITLE_LENGTH} are allowed. "
            f"Fix: shorten it to {MAX_TITLE_LENGTH} characters or fewer."
        )
    return title


def _clean_channel(value: Any) -> str | None:
    """The channel without surrounding blanks; empty or blank means no channel."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise MilestoneValidationError(
            f"The channel must be text, not {type(value).__name__} ({value!r}). "
            'Fix: name where it was announced, e.g. "newsletter", or leave it empty.'
        )
    return value.strip() or None


class MilestoneStore:
    """Milestones added on the dashboard, in the table :attr:`TABLE` of the database at ``url``.

    Every change is validated first (:class:`MilestoneValidationError`, nothing written) and then
    written in one transaction; a database failure raises :class:`DataSourceError` (password
    masked) and leaves the table as it was. The table is created when missing.
    """

    TABLE = "proofboard_user_milestones"

    def __init__(self, url: str) -> None:
        self.url = url
        db_file = sqlite_path(url)
        if db_file is not None:
            self._make_folder(db_file)
        self._engine = create_engine(url)
        self._table = sa.Table(
            self.TABLE,
            sa.MetaData(),
            sa.Column("milestone_id", sa.String(64), primary_key=True),
            sa.Column("announced_at", _UtcDateTime(), nullable=False, index=True),
            sa.Column("title", sa.Text(), nullable=False),
            sa.Column("channel", sa.Text(), nullable=True),
            sa.Column("created_at", _UtcDateTime(), nullable=False),
            sa.Column("updated_at", _UtcDateTime(), nullable=False),
        )
        try:
            with self._engine.begin() as conn:
                self._create_table(conn)
        except sa.exc.SQLAlchemyError:
            # Another store may have created the table at the same moment: look again once.
            self._run("prepare the milestones table in", self._create_table, write=True)

    @property
    def description(self) -> str:
        """Where the milestones are kept, safe to show (password masked)."""
        return f"table {self.TABLE} in {mask_url(self.url)}"

    def close(self) -> None:
        """Release the database connections (the store can still be used afterwards)."""
        self._engine.dispose()

    # -- reading ---------------------------------------------------------------------------------

    def list(self) -> builtins.list[StoredMilestone]:
        """Every stored milestone, ordered by announcement time (then by when it was added)."""
        t = self._table.c
        query = sa.select(self._table).order_by(t.announced_at, t.created_at, t.milestone_id)

        def read(conn: sa.Connection) -> builtins.list[StoredMilestone]:
            return [self._milestone(row) for row in conn.execute(query)]

        return self._run("read the milestones from", read, write=False)

    def frame(self) -> pl.DataFrame:
        """The milestones as the data contract's milestones columns: ``milestone_id``,
        ``announced_at`` (``Datetime("us", "UTC")``), ``title``, ``channel``."""
        rows = [(m.milestone_id, m.announced_at, m.title, m.channel) for m in self.list()]
        if not rows:
            return pl.DataFrame(schema=FRAME_SCHEMA)
        return pl.DataFrame(rows, schema=FRAME_SCHEMA, orient="row")

    # -- writing ---------------------------------------------------------------------------------

    def add(
        self,
        *,
        announced_at: datetime,
        title: str,
        channel: str | None = None,
        valid_range: tuple[datetime, datetime] | None = None,
        actor: str = "local",
    ) -> StoredMilestone:
        """Store a new milestone and return it with its generated id.

        Naive ``announced_at`` values are taken as UTC. With ``valid_range`` (the data's first
        signup to its as-of time, inclusive) a time outside it is refused. The audit log of the
        store records it (``actor`` did it), in the same transaction.
        """
        values = {
            "announced_at": _clean_announced_at(announced_at, valid_range),
            "title": _clean_title(title),
            "channel": _clean_channel(channel),
        }

        def insert(conn: sa.Connection) -> StoredMilestone:
            milestone_id = self._new_id(conn)
            now = _now()
            row = {"milestone_id": milestone_id, **values, "created_at": now, "updated_at": now}
            conn.execute(self._table.insert().values(**row))
            added = self._fetch(conn, milestone_id)
            _audit(conn, actor, "milestone_add", added)
            return added

        return self._run("save the milestone to", insert, write=True)

    def update(
        self,
        milestone_id: str,
        *,
        announced_at: datetime | None = None,
        title: str | None = None,
        channel: str | None = None,
        valid_range: tuple[datetime, datetime] | None = None,
        actor: str = "local",
    ) -> StoredMilestone:
        """Change the given fields of a stored milestone and return it as stored.

        Arguments left as ``None`` keep their value; pass ``channel=""`` to remove the channel.
        ``valid_range`` checks the new ``announced_at`` (a kept time is not checked again).
        """
        changes: dict[str, Any] = {}
        if announced_at is not None:
            changes["announced_at"] = _clean_announced_at(announced_at, valid_range)
        if title is not None:
            changes["title"] = _clean_title(title)
        if channel is not None:
            changes["channel"] = _clean_channel(channel)

        def change(conn: sa.Connection) -> StoredMilestone:
            current = self._fetch(conn, milestone_id, lock=True)
            if all(getattr(current, k) == v for k, v in changes.items()):
                return current  # nothing to change: keep updated_at as it is
            changes["updated_at"] = _now()
            t = self._table
            conn.execute(t.update().where(t.c.milestone_id == milestone_id).values(**changes))
            changed = self._fetch(conn, milestone_id)
            _audit(conn, actor, "milestone_edit", changed)
            return changed

        return self._run("save the milestone to", change, write=True)

    def delete(self, milestone_id: str, *, actor: str = "local") -> None:
        """Remove a stored milestone (recorded in the audit log, ``actor`` did it)."""

        def remove(conn: sa.Connection) -> None:
            t = self._table
            gone = self._fetch(conn, milestone_id, lock=True)
            result = conn.execute(t.delete().where(t.c.milestone_id == milestone_id))
            if result.rowcount == 0:
                raise self._unknown(milestone_id)
            _audit(conn, actor, "milestone_delete", gone)

        self._run("delete the milestone from", remove, write=True)

    # -- internals -------------------------------------------------------------------------------

    def _make_folder(self, db_file: Path) -> None:
        try:
            db_file.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataSourceError(
                f"Cannot create the folder for the milestones database {db_file}: {exc}. "
                "Fix: choose a folder you can write to."
            ) from exc

    def _run(self, action: str, work: Callable[[sa.Connection], _T], *, write: bool) -> _T:
        return in_transaction(self._engine, self.url, action, work, write=write)

    def _create_table(self, conn: sa.Connection) -> None:
        if not sa.inspect(conn).has_table(self.TABLE):
            self._table.create(conn)
            return
        found = {c["name"] for c in sa.inspect(conn).get_columns(self.TABLE)}
        missing = [c.name for c in self._table.columns if c.name not in found]
        if missing:
            raise DataSourceError(
                f"Table {self.TABLE} in {mask_url(self.url)} is not a Proofboard milestones "
                f"table: it lacks {', '.join(missing)}. Fix: rename or drop that table, or use "
                "another database for the dashboard's milestones."
            )

    def _new_id(self, conn: sa.Connection) -> str:
        t = self._table
        while True:
            candidate = ID_PREFIX + secrets.token_hex(4)
            taken = conn.execute(sa.select(t.c.milestone_id).where(t.c.milestone_id == candidate))
            if taken.first() is None:
                return candidate

    def _fetch(
        self, conn: sa.Connection, milestone_id: str, *, lock: bool = False
    ) -> StoredMilestone:
        t = self._table
        query = sa.select(t).where(t.c.milestone_id == milestone_id)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise self._unknown(milestone_id)
        return self._milestone(row)

    def _unknown(self, milestone_id: str) -> MilestoneValidationError:
        if not str(milestone_id).startswith(ID_PREFIX):
            return MilestoneValidationError(
                f"Milestone {milestone_id!r} is not one added on the dashboard: milestones that "
                "come with the data source are read-only. Fix: change it in the data source, or "
                "pick a milestone added on the dashboard."
            )
        return MilestoneValidationError(
            f"There is no milestone {milestone_id!r}; it may have been deleted meanwhile. "
            "Fix: reload the list of milestones and pick one from it."
        )

    @staticmethod
    def _milestone(row: sa.Row[Any]) -> StoredMilestone:
        m = row._mapping
        return StoredMilestone(
            milestone_id=m["milestone_id"],
            announced_at=m["announced_at"],
            title=m["title"],
            channel=m["channel"],
            created_at=m["created_at"],
            updated_at=m["updated_at"],
        )


def _audit(conn: sa.Connection, actor: str, action: str, milestone: StoredMilestone) -> None:
    from analytics.io.history import record_audit_in  # history builds on this module

    record_audit_in(
        conn,
        actor=actor,
        action=action,
        detail=f"{milestone.milestone_id}: {_show(milestone.announced_at)}, "
        f"{milestone.title[:80]!r}" + (f" ({milestone.channel})" if milestone.channel else ""),
    )


def stored_milestones(url: str) -> pl.DataFrame:
    """The milestones added on the dashboard in the store at ``url`` (:data:`FRAME_SCHEMA`),
    empty when there are none; creates nothing to find out."""
    db_file = sqlite_path(url)
    if db_file is not None and not db_file.is_file():
        return pl.DataFrame(schema=FRAME_SCHEMA)
    engine = create_engine(url)
    try:
        exists = sa.inspect(engine).has_table(MilestoneStore.TABLE)
    except sa.exc.SQLAlchemyError as exc:
        raise DataSourceError(
            f"Could not read the milestones of {mask_url(url)}: {type(exc).__name__}. Fix: "
            "check that the database is reachable."
        ) from exc
    finally:
        engine.dispose()
    if not exists:
        return pl.DataFrame(schema=FRAME_SCHEMA)
    store = MilestoneStore(url)
    try:
        return store.frame()
    finally:
        store.close()
