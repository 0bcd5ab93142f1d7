"""Nothing lost: dated snapshots of the community, an audit log, and erasure of members.

Every replace of the community in a database (an upload saved on the Data page, ``proofboard
ingest``, ``proofboard import --out URL``) first keeps the previous community as a snapshot in the
same database, inside the same transaction as the write: the contract tables being replaced are
renamed to ``proofboard_snapshot_<id>_<table>`` (no copy), the others are copied. The table
:data:`SNAPSHOTS_TABLE` lists the snapshots; only the last :func:`keep_snapshots` are kept.

:func:`restore_snapshot` puts a snapshot back, after keeping the current community as a snapshot
itself, so that a restore can be undone. :func:`forget_members` removes members from every table
and every snapshot (a GDPR/DSGVO Art. 17 request). Both run in one transaction.

The audit table :data:`AUDIT_TABLE` records who did what and when (save, ingest, import,
restore, milestone changes, exports of member-level data, forget), never a forgotten member's id.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import polars as pl
import sqlalchemy as sa

from analytics.errors import DataSourceError, InputError
from analytics.io.milestone_store import _UtcDateTime, in_transaction
from analytics.io.source import create_engine, is_url, mask_url, sqlite_path

#: The table listing the snapshots of a database.
SNAPSHOTS_TABLE = "proofboard_snapshots"
#: The audit log of a database.
AUDIT_TABLE = "proofboard_audit"
#: Snapshots kept unless the setting says otherwise.
DEFAULT_KEEP = 5
#: The environment variable that sets how many snapshots are kept (0 keeps none).
ENV_KEEP = "PROOFBOARD_KEEP_SNAPSHOTS"
#: Who acts when nobody signed in (the command line, a dashboard without sign-in).
LOCAL_ACTOR = "local"

#: Audit actions, in words for the log.
ACTIONS = {
    "save": "saved uploaded files, replacing the community",
    "ingest": "copied a source in with proofboard ingest",
    "import": "imported a community export",
    "restore": "restored a snapshot",
    "milestone_add": "added a milestone",
    "milestone_edit": "changed a milestone",
    "milestone_delete": "deleted a milestone",
    "export": "downloaded member-level data",
    "forget": "removed members (erasure request)",
}

_PREFIX = "proofboard_snapshot_"
_SNAPSHOT_NAME = re.compile(rf"^{_PREFIX}(\d+)_(\w+)$")
_MEMBER_TABLES = ("members", "activity", "exposures")
_T = TypeVar("_T")


def keep_snapshots(value: int | str | None = None) -> int:
    """How many snapshots to keep: ``value`` when given, else ``$PROOFBOARD_KEEP_SNAPSHOTS``,
    else :data:`DEFAULT_KEEP`. Raises :class:`DataSourceError` for a negative or non-number."""
    chosen: int | str | None = value if value is not None else os.environ.get(ENV_KEEP)
    if chosen is None or chosen == "":
        return DEFAULT_KEEP
    try:
        number = int(chosen)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise DataSourceError(
            f"The number of snapshots to keep must be a whole number, 0 or more; got {chosen!r} "
            f"(${ENV_KEEP}, --keep-snapshots or keep_snapshots in secrets.toml). Fix: e.g. 5."
        )
    return number


def snapshot_table(snapshot_id: int, table: str) -> str:
    """The name of ``table``'s copy in snapshot ``snapshot_id``."""
    return f"{_PREFIX}{snapshot_id}_{table}"


@dataclass(frozen=True)
class Snapshot:
    """One kept community: when, by whom, why, and the rows of each table."""

    snapshot_id: int
    taken_at: datetime  # aware, UTC
    actor: str
    reason: str
    rows: dict[str, int]

    def label(self) -> str:
        tables = ", ".join(f"{t} {n:,}" for t, n in self.rows.items())
        return (
            f"#{self.snapshot_id} of {self.taken_at:%Y-%m-%d %H:%M:%S} UTC by {self.actor} "
            f"({self.reason}): {tables}"
        )


def _meta() -> tuple[sa.Table, sa.Table]:
    metadata = sa.MetaData()
    snapshots = sa.Table(
        SNAPSHOTS_TABLE,
        metadata,
        sa.Column("snapshot_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("taken_at", _UtcDateTime(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("tables", sa.Text(), nullable=False),
    )
    audit = sa.Table(
        AUDIT_TABLE,
        metadata,
        sa.Column("audit_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", _UtcDateTime(), nullable=False, index=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
    )
    return snapshots, audit


_SNAPSHOTS, _AUDIT = _meta()


#: The key of the PostgreSQL advisory lock every change of the community takes (any number
#: that other applications on the same database are unlikely to use; "pbcommun" in ASCII).
COMMUNITY_LOCK_KEY = 0x7062636F6D6D756E


def lock_community(conn: sa.Connection) -> None:
    """Make the caller's transaction the only one changing the community (its tables, the
    snapshots, the audit log) until it ends: two writers at once (two ``ingest`` runs, a Save
    during an ``ingest``, a restore) then run one after the other, each numbering its snapshot
    after the other's, instead of both taking the same number (and one of them failing).

    PostgreSQL: a transaction-scoped advisory lock (released at commit or rollback; waiting
    counts against the statement timeout). SQLite: the transaction already holds the write
    lock from its start (``BEGIN IMMEDIATE``, see :func:`analytics.io.source.begin_write`).
    Other databases: nothing (their DDL is not transactional anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": COMMUNITY_LOCK_KEY})


def _contract_tables() -> tuple[str, ...]:
    from analytics.contract import TABLE_NAMES

    return tuple(TABLE_NAMES)


def _present(conn: sa.Connection) -> set[str]:
    return set(sa.inspect(conn).get_table_names())


def _quote(conn: sa.Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


def _rename(conn: sa.Connection, old: str, new: str) -> None:
    conn.execute(sa.text(f"ALTER TABLE {_quote(conn, old)} RENAME TO {_quote(conn, new)}"))


def _copy(conn: sa.Connection, source: str, target: str) -> int:
    """Create ``target`` with ``source``'s columns, types and primary key and copy the rows."""
    reflected = sa.Table(source, sa.MetaData(), autoload_with=conn)
    columns = [
        sa.Column(
            c.name,
            sa.Text() if isinstance(c.type, sa.types.NullType) else c.type,
            primary_key=c.primary_key,
            nullable=c.nullable if not c.primary_key else False,
            autoincrement=False,
        )
        for c in reflected.columns
    ]
    copy = sa.Table(target, sa.MetaData(), *columns)
    copy.create(conn)
    names = [c.name for c in reflected.columns]
    conn.execute(copy.insert().from_select(names, sa.select(*reflected.columns)))
    return _count(conn, target)


def _count(conn: sa.Connection, table: str) -> int:
    return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {_quote(conn, table)}")).scalar_one())


def _drop(conn: sa.Connection, table: str) -> None:
    conn.execute(sa.text(f"DROP TABLE {_quote(conn, table)}"))


def _snapshot(row: sa.Row[Any]) -> Snapshot:
    m = row._mapping
    return Snapshot(
        snapshot_id=int(m["snapshot_id"]),
        taken_at=m["taken_at"],
        actor=m["actor"],
        reason=m["reason"],
        rows={str(k): int(v) for k, v in json.loads(m["tables"]).items()},
    )


def _list(conn: sa.Connection) -> list[Snapshot]:
    if SNAPSHOTS_TABLE not in _present(conn):
        return []
    query = sa.select(_SNAPSHOTS).order_by(_SNAPSHOTS.c.snapshot_id.desc())
    return [_snapshot(row) for row in conn.execute(query)]


def take_snapshot(
    conn: sa.Connection,
    *,
    actor: str,
    reason: str,
    replaced: Collection[str],
    keep: int,
    prune: bool = True,
) -> Snapshot | None:
    """Keep the community in the database of ``conn`` as a new snapshot, inside the caller's
    transaction. Contract tables in ``replaced`` are renamed into the snapshot (the caller
    writes new ones), the others are copied. Returns ``None`` when there is nothing to keep
    (no contract table) or ``keep`` is 0. With ``prune``, only the newest ``keep`` remain."""
    present = _present(conn)
    tables = [t for t in _contract_tables() if t in present]
    if not tables or keep == 0:
        if prune:
            prune_snapshots(conn, keep)
        return None
    _SNAPSHOTS.create(conn, checkfirst=True)
    last = conn.execute(sa.select(sa.func.max(_SNAPSHOTS.c.snapshot_id))).scalar_one_or_none()
    # Never reuse the number of a snapshot whose tables are still there (a half-cleaned one).
    taken_ids = [int(m.group(1)) for t in present if (m := _SNAPSHOT_NAME.match(t))]
    snapshot_id = max([int(last or 0), *taken_ids]) + 1
    rows: dict[str, int] = {}
    for table in tables:
        target = snapshot_table(snapshot_id, table)
        if table in replaced:
            _rename(conn, table, target)
            rows[table] = _count(conn, target)
        else:
            rows[table] = _copy(conn, table, target)
    snapshot = Snapshot(snapshot_id, datetime.now(UTC), actor, reason, rows)
    conn.execute(
        _SNAPSHOTS.insert().values(
            snapshot_id=snapshot_id,
            taken_at=snapshot.taken_at,
            actor=actor,
            reason=reason,
            tables=json.dumps(rows),
        )
    )
    if prune:
        prune_snapshots(conn, keep)
    return snapshot


def prune_snapshots(conn: sa.Connection, keep: int) -> list[int]:
    """Remove all but the newest ``keep`` snapshots; returns the removed ids."""
    present = _present(conn)
    kept = {s.snapshot_id for s in _list(conn)[:keep]} if keep else set()
    removed: set[int] = set()
    for table in present:
        match = _SNAPSHOT_NAME.match(table)
        if match and int(match.group(1)) not in kept:
            _drop(conn, table)
            removed.add(int(match.group(1)))
    if SNAPSHOTS_TABLE in present:
        stale = [s.snapshot_id for s in _list(conn) if s.snapshot_id not in kept]
        if stale:
            conn.execute(_SNAPSHOTS.delete().where(_SNAPSHOTS.c.snapshot_id.in_(stale)))
            removed.update(stale)
    return sorted(removed)


# -- audit -----------------------------------------------------------------------------------


def record_audit_in(conn: sa.Connection, *, actor: str, action: str, detail: str) -> None:
    """Add one line to the audit log inside the caller's transaction (table created if missing)."""
    if action not in ACTIONS:
        raise InputError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
    _AUDIT.create(conn, checkfirst=True)
    conn.execute(
        _AUDIT.insert().values(
            at=datetime.now(UTC), actor=actor or LOCAL_ACTOR, action=action, detail=detail
        )
    )


def _engine_for(url: str) -> sa.Engine:
    if not is_url(url):
        raise DataSourceError(
            f"{url} is a folder: snapshots, the audit log and erasure need a database. Fix: "
            "copy the folder into one with `proofboard ingest FOLDER --to URL` and use that URL."
        )
    db_file = sqlite_path(url)
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
    return create_engine(url)


def _run(url: str, action: str, work: Callable[[sa.Connection], _T], *, write: bool) -> _T:
    engine = _engine_for(url)
    try:
        return in_transaction(engine, url, action, work, write=write)
    finally:
        engine.dispose()


def _exists(url: str) -> bool:
    db_file = sqlite_path(url)
    return db_file is None or db_file.is_file()


def record_audit(url: str, *, actor: str, action: str, detail: str) -> None:
    """Add one line to the audit log of the database at ``url`` (in its own transaction)."""
    _run(
        url,
        "write the audit log of",
        lambda conn: record_audit_in(conn, actor=actor, action=action, detail=detail),
        write=True,
    )


def has_audit_log(url: str) -> bool:
    """True when the database at ``url`` holds the audit table (a store Proofboard wrote to:
    an ingest, import, Save or restore created it). Creates nothing; a folder has none."""
    if not is_url(url) or not _exists(url):
        return False
    return _run(url, "look for the audit log in", lambda c: AUDIT_TABLE in _present(c), write=False)


AUDIT_SCHEMA: dict[str, pl.DataType] = {
    "when (UTC)": pl.Datetime("us", "UTC"),
    "who": pl.String(),
    "action": pl.String(),
    "what": pl.String(),
    "detail": pl.String(),
}


def read_audit(url: str, *, limit: int | None = None) -> pl.DataFrame:
    """The audit log of the database at ``url``, newest first (:data:`AUDIT_SCHEMA`); empty
    when there is none yet. Creates nothing."""
    if not is_url(url) or not _exists(url):
        return pl.DataFrame(schema=AUDIT_SCHEMA)

    def read(conn: sa.Connection) -> list[tuple[Any, ...]]:
        if AUDIT_TABLE not in _present(conn):
            return []
        c = _AUDIT.c
        query = sa.select(c.at, c.actor, c.action, c.detail).order_by(
            c.at.desc(), c.audit_id.desc()
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            (at, actor, action, ACTIONS.get(action, action), detail)
            for at, actor, action, detail in conn.execute(query)
        ]

    rows = _run(url, "read the audit log of", read, write=False)
    if not rows:
        return pl.DataFrame(schema=AUDIT_SCHEMA)
    return pl.DataFrame(rows, schema=AUDIT_SCHEMA, orient="row")


# -- snapshots -------------------------------------------------------------------------------


def list_snapshots(url: str) -> list[Snapshot]:
    """The snapshots of the database at ``url``, newest first; creates nothing."""
    if not is_url(url) or not _exists(url):
        return []
    return _run(url, "read the snapshots of", _list, write=False)


def restore_snapshot(
    url: str, snapshot_id: int | None = None, *, actor: str, keep: int | None = None
) -> tuple[Snapshot, Snapshot | None]:
    """Put snapshot ``snapshot_id`` (default: the newest) back as the community of the database
    at ``url``, in one transaction. The current community is kept as a snapshot first (so the
    restore can be undone); the restored snapshot stays too. Returns the restored snapshot and
    the one just taken (``None`` when there was no community or no snapshots are kept)."""
    keep = keep_snapshots(keep)
    _engine_for(url).dispose()  # a folder is refused here, with its message
    if not _exists(url):
        raise DataSourceError(f"{mask_url(url)} does not exist, so it has no snapshots.")

    def restore(conn: sa.Connection) -> tuple[Snapshot, Snapshot | None]:
        lock_community(conn)
        snapshots = _list(conn)
        if not snapshots:
            raise DataSourceError(
                f"{mask_url(url)} has no snapshots yet: one is kept each time the community is "
                "replaced (upload Save, ingest, import). Nothing was changed."
            )
        chosen = snapshots[0] if snapshot_id is None else None
        for s in snapshots:
            if s.snapshot_id == snapshot_id:
                chosen = s
        if chosen is None:
            ids = ", ".join(str(s.snapshot_id) for s in snapshots)
            raise DataSourceError(
                f"{mask_url(url)} has no snapshot {snapshot_id}; it has {ids}. Fix: pick one of "
                "them (`proofboard restore --to URL --list` shows them). Nothing was changed."
            )
        present = _present(conn)
        missing = [t for t in chosen.rows if snapshot_table(chosen.snapshot_id, t) not in present]
        if missing:
            raise DataSourceError(
                f"Snapshot {chosen.snapshot_id} of {mask_url(url)} lacks its table(s) "
                f"{', '.join(missing)} (dropped by hand?), so it cannot be restored. Nothing was "
                "changed. Fix: pick another snapshot."
            )
        saved = take_snapshot(
            conn,
            actor=actor,
            reason=f"before restoring snapshot {chosen.snapshot_id}",
            replaced=_contract_tables(),
            keep=keep,
            prune=False,
        )
        for table in _contract_tables():  # keep == 0: nothing was renamed away
            if table in _present(conn):
                _drop(conn, table)
        for table in chosen.rows:
            _copy(conn, snapshot_table(chosen.snapshot_id, table), table)
        prune_snapshots(conn, keep)
        record_audit_in(
            conn,
            actor=actor,
            action="restore",
            detail=f"restored snapshot {chosen.label()}"
            + (f"; the community before it is snapshot {saved.snapshot_id}" if saved else ""),
        )
        return chosen, saved

    return _run(url, "restore a snapshot in", restore, write=True)


# -- erasure ---------------------------------------------------------------------------------


def _member_column_tables(conn: sa.Connection) -> list[str]:
    """Contract tables and their snapshot copies that hold a ``member_id`` column."""
    found = []
    for table in sorted(_present(conn)):
        match = _SNAPSHOT_NAME.match(table)
        base = match.group(2) if match else table
        if base in _MEMBER_TABLES:
            columns = {c["name"] for c in sa.inspect(conn).get_columns(table)}
            if "member_id" in columns:
                found.append(table)
    return found


def _chunks(values: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True)
class Forgotten:
    """What an erasure removed: rows per table (snapshot copies named as such)."""

    requested: int
    found: int
    removed: dict[str, int]

    def describe(self) -> str:
        parts = ", ".join(f"{t} {n:,}" for t, n in self.removed.items() if n) or "no rows"
        return (
            f"{self.found:,} of {self.requested:,} member(s) found in the members table; "
            f"rows removed: {parts}"
        )


def forget_members(url: str, member_ids: Sequence[str], *, actor: str) -> Forgotten:
    """Remove the members ``member_ids`` from every table and every snapshot of the database at
    ``url`` in one transaction, and record it in the audit log without the ids."""
    ids = sorted({str(m).strip() for m in member_ids if str(m).strip()})
    if not ids:
        raise DataSourceError("No member id given. Fix: name the members to remove.")
    _engine_for(url).dispose()
    if not _exists(url):
        raise DataSourceError(f"{mask_url(url)} does not exist. Fix: check the URL.")

    def forget(conn: sa.Connection) -> Forgotten:
        lock_community(conn)
        removed: dict[str, int] = {}
        found = 0
        for table in _member_column_tables(conn):
            reflected = sa.Table(table, sa.MetaData(), autoload_with=conn)
            column = reflected.c.member_id
            text = column if isinstance(column.type, sa.String) else sa.cast(column, sa.Text())
            key = sa.func.trim(text)  # ids compare without surrounding blanks, as the checks do
            count = 0
            for chunk in _chunks(ids):
                deleted = conn.execute(reflected.delete().where(key.in_(list(chunk))))
                count += int(deleted.rowcount or 0)
            if table == "members":
                found = count
            match = _SNAPSHOT_NAME.match(table)
            label = f"snapshot {match.group(1)} {match.group(2)}" if match else table
            removed[label] = count
        if not removed:
            raise DataSourceError(
                f"{mask_url(url)} holds no members, activity or exposures table. Nothing was "
                "changed. Fix: check the URL."
            )
        for snapshot in _list(conn):  # keep the listed row counts true
            rows = {
                t: _count(conn, snapshot_table(snapshot.snapshot_id, t))
                if snapshot_table(snapshot.snapshot_id, t) in _present(conn)
                else n
                for t, n in snapshot.rows.items()
            }
            if rows != snapshot.rows:
                conn.execute(
                    _SNAPSHOTS.update()
                    .where(_SNAPSHOTS.c.snapshot_id == snapshot.snapshot_id)
                    .values(tables=json.dumps(rows))
                )
        result = Forgotten(len(ids), found, removed)
        record_audit_in(conn, actor=actor, action="forget", detail=result.describe())
        return result

    return _run(url, "remove the members from", forget, write=True)


__all__ = [
    "ACTIONS",
    "AUDIT_SCHEMA",
    "AUDIT_TABLE",
    "DEFAULT_KEEP",
    "ENV_KEEP",
    "LOCAL_ACTOR",
    "SNAPSHOTS_TABLE",
    "Forgotten",
    "Snapshot",
    "forget_members",
    "has_audit_log",
    "keep_snapshots",
    "list_snapshots",
    "lock_community",
    "prune_snapshots",
    "read_audit",
    "record_audit",
    "record_audit_in",
    "restore_snapshot",
    "snapshot_table",
    "take_snapshot",
]
