"""Writing contract tables: to a folder (CSV or Parquet) or to a SQL database.

Both writers are all-or-nothing. A folder write goes to temporary files that replace the old
ones only when every table was written; a database write runs in one transaction, so a
failure leaves the target exactly as it was.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
import sqlalchemy as sa

from analytics.errors import DataSourceError
from analytics.io.history import (
    Snapshot,
    keep_snapshots,
    lock_community,
    record_audit_in,
    take_snapshot,
)
from analytics.io.source import (
    begin_write,
    create_engine,
    is_url,
    mask_url,
    scrub_secret,
    sqlite_path,
)

Progress = Callable[[str, float], None]
FileFormat = Literal["parquet", "csv"]

#: Rows per INSERT batch: large enough to be fast, small enough to keep memory flat.
INSERT_BATCH_ROWS = 50_000


def _noop(_step: str, _fraction: float) -> None:
    return None


def _staging_file(folder: Path, name: str) -> Path:
    """A temporary file beside the target, with the permissions a normal new file gets
    (``mkstemp`` would make it private to the owner)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return Path(tmp)


def write_folder(
    tables: Mapping[str, pl.DataFrame],
    folder: Path,
    *,
    file_format: FileFormat = "parquet",
    progress: Progress | None = None,
    remove: Iterable[str] = (),
) -> list[str]:
    """Write each table to ``folder/<name>.<format>``, replacing earlier files only on success.

    Files of the other format with the same table name are removed so that the folder holds one
    file per table. The files of the tables named in ``remove`` (and not written) are removed
    too, once everything was written (to replace a whole community); returns their names.
    """
    progress = progress or _noop
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    try:
        for i, (name, frame) in enumerate(tables.items()):
            progress(f"Writing {name} ({frame.height:,} rows)", i / max(len(tables), 1))
            target = folder / f"{name}.{file_format}"
            tmp = _staging_file(folder, name)
            staged.append((tmp, target))
            if file_format == "parquet":
                frame.write_parquet(tmp)
            else:
                frame.write_csv(tmp, datetime_format="%Y-%m-%dT%H:%M:%S%.6fZ")
        _replace_staged(staged, file_format)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    removed = []
    for name in remove:
        if name in tables:
            continue
        for suffix in (".csv", ".parquet"):
            old = folder / f"{name}{suffix}"
            if old.is_file():
                old.unlink()
                removed.append(old.name)
    progress("Written", 1.0)
    return removed


def _replace_staged(staged: Sequence[tuple[Path, Path]], file_format: FileFormat) -> None:
    """Move every staged file onto its target and remove the target's file of the other format
    (so that the folder holds one file per table)."""
    for tmp, target in staged:
        os.replace(tmp, target)
        other = target.with_suffix(".csv" if file_format == "parquet" else ".parquet")
        other.unlink(missing_ok=True)


def write_parquet_stream(
    blocks: Iterable[Mapping[str, pl.DataFrame]],
    folder: Path,
    *,
    tables: Mapping[str, pl.DataFrame] | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write tables that arrive in blocks to ``folder/<name>.parquet``, all or nothing.

    Each block maps table names to the next rows of those tables; a table's blocks must share
    one schema and go into its file in order, each block as one or more row groups, so only
    one block is in memory at a time. ``tables`` are written whole (small tables). As with
    :func:`write_folder`, everything goes to temporary files beside the targets that replace
    the old files (and remove CSV files of the same tables) only when every block was written.

    Returns
    -------
    dict of str to int
        Rows written per table (the whole tables first, then the blocked ones).
    """
    import pyarrow.parquet as pq  # only needed here; keeps importing analytics.io light

    progress = progress or _noop
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[Path, Path]] = []
    writers: dict[str, pq.ParquetWriter] = {}
    rows: dict[str, int] = {}

    def stage(name: str) -> Path:
        tmp = _staging_file(folder, name)
        staged.append((tmp, folder / f"{name}.parquet"))
        return tmp

    try:
        for name, frame in (tables or {}).items():
            frame.write_parquet(stage(name))
            rows[name] = frame.height
        for i, block in enumerate(blocks):
            for name, frame in block.items():
                arrow = frame.to_arrow()
                if name not in writers:
                    writers[name] = pq.ParquetWriter(stage(name), arrow.schema, compression="zstd")
                    rows[name] = 0
                elif not arrow.schema.equals(writers[name].schema):
                    raise DataSourceError(
                        f"Block {i + 1} of table {name} has the columns {arrow.schema} but the "
                        f"earlier blocks had {writers[name].schema}; give every block of a "
                        "table the same columns and types"
                    )
                writers[name].write_table(arrow)
                rows[name] += frame.height
        for writer in writers.values():
            writer.close()
        writers.clear()
        _replace_staged(staged, "parquet")
    finally:
        for writer in writers.values():
            writer.close()
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
    progress("Written", 1.0)
    return rows


def _sql_type(dtype: pl.DataType) -> sa.types.TypeEngine[Any]:
    if dtype.is_integer():
        return sa.BigInteger()
    if dtype.is_float():
        return sa.Float()
    if dtype == pl.Boolean:
        return sa.Boolean()
    if isinstance(dtype, pl.Datetime):
        return sa.DateTime(timezone=True)
    if dtype == pl.Date:
        return sa.Date()
    return sa.Text()


def _table_for(name: str, frame: pl.DataFrame, metadata: sa.MetaData) -> sa.Table:
    key = {"members": "member_id", "proof_items": "item_id"}.get(name)
    columns = [
        sa.Column(col, _sql_type(dtype), primary_key=(col == key), nullable=(col != key))
        for col, dtype in frame.schema.items()
    ]
    return sa.Table(name, metadata, *columns)


#: The longest key PostgreSQL's btree index takes (bytes, version 4 indexes).
POSTGRES_MAX_KEY_BYTES = 2704
_KEYS = {"members": "member_id", "proof_items": "item_id"}


def check_postgres_values(tables: Mapping[str, pl.DataFrame]) -> None:
    """Refuse values PostgreSQL cannot store, naming table, column and row (counted from 1, in
    the order of the source), before anything is written: a NUL byte in text, or a key longer
    than its index takes. Otherwise the database would roll back with a message that names no
    table, column or row."""
    for name, frame in tables.items():
        for column, dtype in frame.schema.items():
            if dtype != pl.String:
                continue
            values = frame.get_column(column)
            nul = values.str.contains("\x00", literal=True).fill_null(False)
            if nul.any():
                rows = (nul.arg_true() + 1).to_list()
                shown = ", ".join(f"{r:,}" for r in rows[:5]) + (
                    f" and {len(rows) - 5:,} more" if len(rows) > 5 else ""
                )
                raise DataSourceError(
                    f"{name}, column {column}, row{'s' if len(rows) > 1 else ''} {shown}: the "
                    "text holds a NUL byte (0x00), which PostgreSQL cannot store. Nothing was "
                    "written. Fix: remove the NUL bytes from the source (e.g. tr -d '\\000' "
                    "< file.csv > clean.csv), or write to SQLite."
                )
            if column == _KEYS.get(name):
                size = values.str.len_bytes()
                long = (size > POSTGRES_MAX_KEY_BYTES).fill_null(False)
                if long.any():
                    row = int(long.arg_true()[0]) + 1
                    raise DataSourceError(
                        f"{name}, column {column}, row {row:,}: the id is "
                        f"{int(size[row - 1]):,} bytes long; PostgreSQL indexes keys of at most "
                        f"{POSTGRES_MAX_KEY_BYTES:,} bytes ({int(long.sum()):,} id(s) are "
                        "longer). Nothing was written. Fix: shorten the ids (e.g. replace them "
                        "by a hash of them, in every table), or write to SQLite."
                    )


def _batches(frame: pl.DataFrame, naive_utc: bool) -> Iterator[list[dict[str, Any]]]:
    if naive_utc:
        # SQLite has no time zones: store UTC wall time, which readers take as UTC.
        frame = frame.with_columns(
            pl.col(c).dt.replace_time_zone(None)
            for c, t in frame.schema.items()
            if isinstance(t, pl.Datetime) and t.time_zone is not None
        )
    for start in range(0, frame.height, INSERT_BATCH_ROWS):
        yield frame.slice(start, INSERT_BATCH_ROWS).to_dicts()


@dataclass(frozen=True)
class Replace:
    """Who replaces a community and why: the previous community is kept as a snapshot and the
    replace is recorded in the audit log, both in the write's own transaction.

    ``action`` is an audit action (``save``, ``ingest``, ``import``); ``keep`` the number of
    snapshots to keep (``None``: :func:`analytics.io.history.keep_snapshots`)."""

    actor: str
    action: str
    detail: str = ""
    keep: int | None = None


def write_database(
    tables: Mapping[str, pl.DataFrame],
    url: str,
    *,
    drop: Sequence[str] = (),
    progress: Progress | None = None,
    replace: Replace | None = None,
) -> Snapshot | None:
    """Replace the named tables in the database at ``url`` in one transaction.

    Existing tables of the same names are dropped and recreated inside the transaction; the
    tables named in ``drop`` are dropped when present (to replace a whole community, whose old
    optional tables must not outlive it); other tables are left alone. Any failure rolls
    everything back. A SQLite database file is created when missing (and removed again if the
    write fails).

    With ``replace``, the previous community (every contract table present) is first kept as a
    snapshot instead of being dropped, and the write is recorded in the audit log; returns that
    snapshot (``None`` when there was nothing to keep).
    """
    keep = keep_snapshots(replace.keep) if replace is not None else 0
    progress = progress or _noop
    db_file = sqlite_path(url)
    created_file = db_file is not None and not db_file.exists()
    if db_file is not None:
        db_file.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    naive_utc = engine.dialect.name == "sqlite"
    total_rows = sum(f.height for f in tables.values()) or 1
    done = 0
    where = ""
    snapshot: Snapshot | None = None
    try:
        if engine.dialect.name == "postgresql":
            check_postgres_values(tables)
        with begin_write(engine) as conn:
            lock_community(conn)  # concurrent writers queue here (see its docstring)
            metadata = sa.MetaData()
            if replace is not None:
                snapshot = take_snapshot(
                    conn,
                    actor=replace.actor,
                    reason=replace.action,
                    replaced={*tables, *drop},
                    keep=keep,
                )
            existing = set(sa.inspect(conn).get_table_names())
            for name in drop:
                if name in existing and name not in tables:
                    conn.execute(sa.text(f'DROP TABLE "{name}"'))
            for name, frame in tables.items():
                table = _table_for(name, frame, metadata)
                if name in existing:
                    conn.execute(sa.text(f'DROP TABLE "{name}"'))
                table.create(conn)
                first = 1
                for batch in _batches(frame, naive_utc):
                    where = f"table {name}, rows {first:,}-{first + len(batch) - 1:,}"
                    conn.execute(table.insert(), batch)
                    first += len(batch)
                    done += len(batch)
                    progress(f"Writing {name}", done / total_rows)
                where = ""
            if replace is not None:
                rows = ", ".join(f"{n} {f.height:,}" for n, f in tables.items())
                kept = (
                    f"; the previous community is snapshot {snapshot.snapshot_id}"
                    if snapshot is not None
                    else ""
                )
                record_audit_in(
                    conn,
                    actor=replace.actor,
                    action=replace.action,
                    detail=" ".join(filter(None, [replace.detail, f"wrote {rows}{kept}"])),
                )
    except sa.exc.SQLAlchemyError as exc:
        if created_file and db_file is not None:
            engine.dispose()
            db_file.unlink(missing_ok=True)
        raise DataSourceError(
            f"Writing to {mask_url(url)} failed and was rolled back, nothing was changed: "
            + (f"{where}: " if where else "")
            + f"{type(exc).__name__}: {scrub_secret(str(exc).splitlines()[0], url)}"
        ) from exc
    finally:
        engine.dispose()
    progress("Written", 1.0)
    return snapshot


def write_tables(
    tables: Mapping[str, pl.DataFrame],
    target: str | Path,
    *,
    file_format: FileFormat = "parquet",
    progress: Progress | None = None,
) -> None:
    """Write tables to a folder path or a SQLAlchemy URL (see the two writers)."""
    text = str(target)
    if is_url(text):
        write_database(tables, text, progress=progress)
    else:
        write_folder(tables, Path(text), file_format=file_format, progress=progress)


def check_replaceable_folder(folder: Path, tables: Iterable[str]) -> None:
    """Refuse to write ``tables`` into ``folder`` when it holds anything else than the files
    they would replace (``<table>.csv`` or ``<table>.parquet``).

    A file left beside the new ones would be read with them: an older community's
    ``milestones.csv`` would add its milestones and move the as-of time to the old data's.
    A missing or empty folder is fine.
    """
    folder = Path(folder)
    if not folder.exists():
        return
    if not folder.is_dir():
        raise DataSourceError(f"{folder} is a file. Fix: pass a folder to write the tables into.")
    replaced = {f"{name}{suffix}" for name in tables for suffix in (".csv", ".parquet")}
    others = sorted(p.name for p in folder.iterdir() if p.name not in replaced)
    if others:
        shown = ", ".join(others[:6]) + (f" and {len(others) - 6} more" if len(others) > 6 else "")
        raise DataSourceError(
            f"{folder} already holds {shown}, which this import would not replace: they would "
            "be read together with the new tables (an older community's milestones.csv, say, "
            "would move the as-of time to the old data's). Nothing was written. Fix: write into "
            "a new or empty folder, or move those files away first."
        )


def database_tables(url: str) -> set[str]:
    """The names of the tables in the database at ``url`` (none for a SQLite file that does not
    exist yet)."""
    db_file = sqlite_path(url)
    if db_file is not None and not db_file.is_file():
        return set()
    engine = create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    except sa.exc.SQLAlchemyError as exc:
        raise DataSourceError(
            f"Cannot reach the database {mask_url(url)}: {type(exc).__name__}: "
            f"{scrub_secret(str(exc).splitlines()[0], url)}."
        ) from exc
    finally:
        engine.dispose()


def check_replaceable_database(url: str, tables: Iterable[str]) -> None:
    """Refuse to write ``tables`` into the database at ``url`` when it holds other contract
    tables, which would be read together with the new ones (see
    :func:`check_replaceable_folder`). A database that does not exist yet is fine."""
    from analytics.contract import TABLES

    db_file = sqlite_path(url)
    if db_file is not None and not db_file.is_file():
        return
    engine = create_engine(url)
    try:
        present = set(sa.inspect(engine).get_table_names())
    except sa.exc.SQLAlchemyError as exc:
        raise DataSourceError(
            f"Cannot reach the database {mask_url(url)}: {type(exc).__name__}: "
            f"{scrub_secret(str(exc).splitlines()[0], url)}. Fix: check the host, port, user "
            "and that the server is running."
        ) from exc
    finally:
        engine.dispose()
    others = sorted((present & set(TABLES)) - set(tables))
    if others:
        raise DataSourceError(
            f"{mask_url(url)} already holds the table(s) {', '.join(others)}, which this import "
            "would not replace: they would be read together with the new tables (an older "
            "community's milestones, say, would move the as-of time). Nothing was written. "
            "Fix: import into a new database, or drop those tables first."
        )


def truth_path_for(target: str | Path) -> Path:
    """Where a demo's ``truth.json`` goes: inside a folder target, beside a SQLite file, and in
    the working directory for other databases."""
    text = str(target)
    if not is_url(text):
        return Path(text) / "truth.json"
    db_file = sqlite_path(text)
    if db_file is not None:
        return db_file.parent / "truth.json"
    return Path.cwd() / "truth.json"


def write_file(data: bytes, path: Path) -> None:
    """Write a file atomically (temporary file beside it, then rename): a failure leaves the
    old file, or none, never half of the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _staging_file(path.parent, path.name)
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise DataSourceError(f"Cannot write {path}: {exc}") from exc


def write_json(payload: Mapping[str, Any], path: Path) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    write_file((json.dumps(payload, indent=2, sort_keys=False) + "\n").encode("utf-8"), path)


def read_json(path: Path) -> dict[str, Any]:
    """Read a JSON object written by :func:`write_json`."""
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


__all__ = [
    "mask_url",
    "read_json",
    "truth_path_for",
    "write_database",
    "write_folder",
    "write_json",
    "write_parquet_stream",
    "write_tables",
]
