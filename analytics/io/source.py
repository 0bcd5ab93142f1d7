"""Opening a data source: a folder of CSV/Parquet files or a database behind a SQLAlchemy URL.

A source hands out each contract table as a polars ``LazyFrame`` (or ``None`` when the table is
absent). Folders are scanned lazily (``scan_csv`` / ``scan_parquet``); databases are read with
one query per table when the frame is collected.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, quote_plus, unquote

import polars as pl
import sqlalchemy as sa
from polars.io.plugins import register_io_source

from analytics.errors import DataSourceError

TABLE_FILE_SUFFIXES = (".parquet", ".csv")


class Source(Protocol):
    """What every data source offers."""

    @property
    def description(self) -> str:
        """Where the data comes from, safe to show (passwords masked)."""
        ...

    def table_names(self) -> list[str]:
        """Names of the tables the source holds."""
        ...

    def location(self, table: str) -> str:
        """How a table is named in messages: ``members.csv`` or ``table members``."""
        ...

    def scan(self, table: str) -> pl.LazyFrame | None:
        """The table as a lazy frame, or ``None`` when the source does not have it."""
        ...


def is_url(spec: str) -> bool:
    """Whether ``spec`` looks like a SQLAlchemy URL rather than a folder path."""
    return "://" in spec


#: ``scheme://userinfo@host...``: the userinfo runs to the last ``@`` before the host, so a
#: password holding an unencoded ``@`` or ``:`` is still split off whole.
_AUTHORITY = (
    re.compile(r"^(?P<scheme>[^:/]+://)(?P<userinfo>.*)@(?P<host>[^@/?#]*)(?P<tail>[/?#][^@]*)?$"),
    re.compile(
        r"^(?P<scheme>[^:/]+://)(?P<userinfo>[^/?#]*)@(?P<host>[^@/?#]*)(?P<tail>[/?#].*)?$"
    ),
)

PERCENT_ENCODE_FIX = (
    "Fix: write it as dialect+driver://user:password@host:port/database and percent-encode "
    "special characters in the user name and password (@ as %40, : as %3A, / as %2F)."
)


def _split_userinfo(url: str) -> tuple[str, str, str] | None:
    """``(scheme://, user:password, @host...)`` of ``url``, or ``None`` without credentials."""
    for pattern in _AUTHORITY:
        found = pattern.match(url)
        if found:
            return found["scheme"], found["userinfo"], "@" + found["host"] + (found["tail"] or "")
    return None


def normalise_url(url: str) -> str:
    """``url`` with an unencoded ``@`` in its user name or password percent-encoded (``%40``).

    ``@`` cannot belong to the host, so ``postgresql://u:Top@Secret@host/db`` can only mean the
    password ``Top@Secret``; SQLAlchemy alone would split it at the first ``@``. A ``:`` inside
    the password needs nothing: everything after the first ``:`` of the userinfo is password.
    """
    parts = _split_userinfo(url)
    if parts is None or "@" not in parts[1]:
        return url
    scheme, userinfo, rest = parts
    return scheme + userinfo.replace("@", "%40") + rest


def parse_url(url: str) -> sa.URL:
    """The SQLAlchemy URL of ``url`` (see :func:`normalise_url`).

    Raises :class:`DataSourceError` for a URL SQLAlchemy cannot read (a port that is not a
    number, no dialect); the message shows the URL with its password masked, never the
    parser's own text, which may quote part of the password.
    """
    try:
        return sa.make_url(normalise_url(url))
    except Exception as exc:
        reason = "its port is not a number" if isinstance(exc, ValueError) else "it is malformed"
        raise DataSourceError(
            f"Cannot read the database URL {mask_url(url)}: {reason}. {PERCENT_ENCODE_FIX}"
        ) from None


def mask_url(url: str) -> str:
    """The URL with its password replaced by ``***``, for display and logs. Never raises and
    never shows any part of the password, however malformed the URL."""
    try:
        return sa.make_url(normalise_url(url)).render_as_string(hide_password=True)
    except Exception:
        pass
    try:
        parts = _split_userinfo(url)
    except Exception:
        parts = None
    if parts is None:
        return "<unreadable database URL>" if "@" in url else url
    scheme, userinfo, rest = parts
    user = userinfo.partition(":")[0]
    return f"{scheme}{user}:***{rest}" if ":" in userinfo else f"{scheme}{user}{rest}"


def _password_forms(url: str) -> set[str]:
    """Every text under which ``url``'s password could show up in a message: as written, as
    parsed, percent-encoded, and (for a password SQLAlchemy would split) its pieces."""
    passwords: set[str] = set()
    parts = _split_userinfo(url)
    if parts is not None and ":" in parts[1]:
        passwords.add(parts[1].partition(":")[2])
    for candidate in (url, normalise_url(url)):
        try:
            parsed = sa.make_url(candidate).password
        except Exception:
            continue
        if parsed:
            passwords.add(str(parsed))
    forms: set[str] = set()
    for password in passwords:
        forms |= {password, quote(password, safe=""), quote_plus(password), unquote(password)}
        forms |= {piece for piece in re.split(r"[@:/%]", password) if len(piece) >= 3}
    # A password of one or two characters cannot be told apart from ordinary text: it is
    # masked inside the URL, but not replaced in every word of the message.
    return {form for form in forms if len(form) >= 3}


def scrub_secret(text: str, url: str) -> str:
    """``text`` (an error message, say) with the URL's password replaced by ``***`` wherever it
    appears, plain, URL-encoded or in pieces, and the full URL replaced by its masked form.
    Never raises."""
    try:
        text = text.replace(url, mask_url(url))
        forms = _password_forms(url)
    except Exception:
        return "<message hidden: it may hold a password>"
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def sqlite_path(url: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL, or ``None`` for other URLs and memory."""
    parsed = parse_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _transactional_sqlite(engine: sa.Engine) -> None:
    """Make SQLite transactions cover DDL too.

    Python's sqlite3 driver opens a transaction only at the first INSERT/UPDATE/DELETE, so a
    ``DROP TABLE`` before it would be committed at once. Letting SQLAlchemy emit ``BEGIN`` itself
    (the recipe in SQLAlchemy's SQLite documentation) makes a replace-and-rewrite all-or-nothing.
    """

    @sa.event.listens_for(engine, "connect")
    def _no_driver_transactions(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE_OPTION)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


#: The execution option :func:`begin_write` sets on a transaction that writes.
WRITE_OPTION = "proofboard_write"


def begin_write(engine: sa.Engine) -> AbstractContextManager[sa.Connection]:
    """``engine.begin()`` for a transaction that writes.

    On SQLite it starts with ``BEGIN IMMEDIATE``: the write lock is taken at the start, so a
    second writer waits for the first (up to the statement timeout) instead of failing with
    "database is locked" when both started reading before either wrote (SQLite cannot let a
    deferred reader become the writer while another one is). Other databases begin as usual;
    callers that must run one at a time also take :func:`analytics.io.history.lock_community`.
    """
    return engine.execution_options(**{WRITE_OPTION: True}).begin()


#: Seconds to wait for a connection (a server that accepts TCP and never answers included),
#: and milliseconds any statement may run by default, on every engine Proofboard opens
#: (``$PROOFBOARD_STATEMENT_TIMEOUT``, in seconds, sets another limit).
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_MS = 120_000
STATEMENT_TIMEOUT_VARIABLE = "PROOFBOARD_STATEMENT_TIMEOUT"


def statement_timeout_ms() -> int:
    """How long one statement may run, in milliseconds: ``$PROOFBOARD_STATEMENT_TIMEOUT``
    seconds (a whole number, at least 1) or the default."""
    value = os.environ.get(STATEMENT_TIMEOUT_VARIABLE, "").strip()
    if not value:
        return STATEMENT_TIMEOUT_MS
    if not value.isdigit() or int(value) < 1:
        raise DataSourceError(
            f"{STATEMENT_TIMEOUT_VARIABLE}={value!r} is not a number of seconds. Fix: set it to "
            f"a whole number such as 600, or unset it for the default "
            f"{STATEMENT_TIMEOUT_MS // 1000} s."
        )
    return int(value) * 1000


def default_connect_args(parsed: sa.URL) -> dict[str, Any]:
    """The driver arguments that bound waiting: a connect timeout and a statement timeout for
    PostgreSQL (psycopg, psycopg2) and MySQL (pymysql, mysqldb: a read timeout), and for SQLite
    how long to wait for another writer's lock (the statement timeout), unless the URL sets
    them itself (``?connect_timeout=30``, ``?timeout=5``)."""
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "postgresql" and driver in {"psycopg", "psycopg2", "psycopg2cffi"}:
        args: dict[str, Any] = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": f"-c statement_timeout={statement_timeout_ms()}",
        }
    elif backend in {"mysql", "mariadb"} and driver in {"pymysql", "mysqldb"}:
        args = {
            "connect_timeout": CONNECT_TIMEOUT_S,
            "read_timeout": statement_timeout_ms() // 1000,
        }
    elif backend == "sqlite" and driver == "pysqlite":
        # how long a writer waits for another one's transaction (see begin_write)
        args = {"timeout": statement_timeout_ms() / 1000}
    else:
        return {}
    return {key: value for key, value in args.items() if key not in parsed.query}


def timeout_hint(message: str) -> str:
    """For a driver message about a timeout: what it means, to append to it."""
    if "timeout" not in message.lower() and "timed out" not in message.lower():
        return ""
    return (
        f" (no answer within {CONNECT_TIMEOUT_S} s, or a statement ran longer than "
        f"{statement_timeout_ms() // 1000} s: is this the database's host and port, and is the "
        "server answering?)"
    )


def create_engine(url: str, *, connect_args: dict[str, Any] | None = None) -> sa.Engine:
    """A SQLAlchemy engine for ``url`` with a clear error for unusable URLs, and the timeouts
    of :func:`default_connect_args`. ``connect_args`` go to the driver's ``connect`` on top of
    those (timeouts, session options)."""
    parsed = parse_url(url)
    try:
        args = {**default_connect_args(parsed), **(connect_args or {})}
        engine = sa.create_engine(parsed, connect_args=args)
        if engine.dialect.name == "sqlite":
            _transactional_sqlite(engine)
        return engine
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as exc:
        raise DataSourceError(
            f"Cannot use the database URL {mask_url(url)}: {scrub_secret(str(exc), url)}. "
            "Fix: write it as "
            "dialect+driver://user:password@host:port/database, e.g. "
            "sqlite:///data/proofboard.db or postgresql+psycopg://user@localhost/community."
        ) from exc
    except ModuleNotFoundError as exc:
        raise DataSourceError(
            f"The database driver for {mask_url(url)} is not installed ({exc.name}). "
            "Fix: install it into the environment, or use sqlite:/// or postgresql+psycopg://."
        ) from exc


def not_utf8_message(name: str, offset: int, line: int, byte: bytes) -> str:
    """The message for text that is not UTF-8: the file, the byte offset and line of the
    first bad byte, and how to save it again."""
    return (
        f"{name} is not UTF-8 text: byte {offset:,} (line {line:,}) is 0x{byte.hex().upper()}, "
        "which UTF-8 does not allow there. The file was probably saved as Latin-1 or "
        "Windows-1252. Fix: save it again as UTF-8 (in Excel: Save As > CSV UTF-8; in "
        "LibreOffice: character set Unicode (UTF-8))."
    )


_UTF8_CHECKED: dict[tuple[str, int, int], bool] = {}


def check_utf8_file(path: Path, name: str | None = None) -> None:
    """Raise :class:`DataSourceError` (file, byte offset, line) unless ``path`` is UTF-8.

    Read in blocks, so a file of any size takes little memory; a file already checked with the
    same size and modification time is not read again."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _UTF8_CHECKED:
        return
    shown = name or path.name
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset = lines = 0
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            pending = decoder.getstate()[0]
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                line = lines + data.count(b"\n", 0, exc.start) + 1
                start = offset - len(pending) + exc.start
                raise DataSourceError(
                    not_utf8_message(shown, start, line, data[exc.start : exc.start + 1])
                ) from None
            lines += chunk.count(b"\n")
            offset += len(chunk)
    pending = decoder.getstate()[0]
    if pending:  # the file ends inside a character
        start = offset - len(pending)
        raise DataSourceError(not_utf8_message(shown, start, lines + 1, pending[:1]))
    _UTF8_CHECKED[key] = True


def check_csv_header(path: Path) -> None:
    """Raise :class:`DataSourceError` when the header row of a CSV file names a column twice
    (polars would silently rename the second one ``<name>_duplicated_0``)."""
    import csv

    with path.open(encoding="utf-8", newline="") as stream:
        header = next(csv.reader([stream.readline()]), [])
    names = [name.strip() for name in header]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        columns = ", ".join(
            f"{name} (columns {', '.join(str(i + 1) for i, n in enumerate(names) if n == name)})"
            for name in doubled
        )
        raise DataSourceError(
            f"{path.name}, line 1: the header names a column more than once: {columns}. Fix: "
            "give every column its own name, or remove the extra column."
        )


_FIELDS_CHECKED: dict[tuple[str, int, int], bool] = {}


def check_csv_fields(path: Path) -> None:
    """Raise :class:`DataSourceError` when a row of the CSV file has more or fewer fields than
    its header names columns, naming the row. Queries read only the columns they need, and
    polars would drop extra fields and fill missing ones with nulls without a word; this
    parses the whole file once per file version (streaming, in pyarrow's C++ reader)."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key in _FIELDS_CHECKED:
        return
    bad: list[Any] = []

    def first_bad(row: Any) -> str:
        bad.append(row)
        return "error"

    try:
        with path.open("rb") as raw:
            first = raw.readline()
        names = next(csv.reader([first.decode("utf-8-sig")]), [])
        reader = pa_csv.open_csv(
            path,
            read_options=pa_csv.ReadOptions(use_threads=False, block_size=8 << 20),
            parse_options=pa_csv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=first_bad
            ),
            convert_options=pa_csv.ConvertOptions(
                include_columns=names[:1], column_types=dict.fromkeys(names[:1], pa.string())
            ),
        )
        for _ in reader:
            pass
    except (pa.ArrowInvalid, UnicodeDecodeError, OSError, StopIteration):
        if not bad:
            return  # another problem: reported where the file is read, with the file named
    if bad:
        row = bad[0]
        more = row.actual_columns > row.expected_columns
        text = str(row.text or "")
        shown = f" ({text[:60]!r}{'…' if len(text) > 60 else ''})" if text else ""
        where = (
            f"row {row.number - 1:,} below the header{shown}"
            if row.number is not None and row.number > 1
            else f"a row{shown}"
        )
        fix = (
            'quote values that hold the separator ("a, b"), or add the missing column names '
            "to the header."
            if more
            else "add the missing values (an empty value is two commas in a row: a,,b), or "
            "remove the row."
        )
        raise DataSourceError(
            f"{path.name}: a row has {'more' if more else 'fewer'} fields than the header names "
            f"columns: {where} has {row.actual_columns} field(s), the header "
            f"{row.expected_columns}. Fix: {fix}"
        )
    _FIELDS_CHECKED[key] = True


@dataclass
class FolderSource:
    """A folder holding ``<table>.csv`` or ``<table>.parquet`` files.

    CSV columns are read as text so that validation can report unparseable values by row.
    """

    path: Path

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if not self.path.is_dir():
            raise DataSourceError(
                f"Data folder {self.path} does not exist. Fix: pass a folder holding "
                "members.csv and activity.csv (or .parquet files), or a database URL."
            )

    @property
    def description(self) -> str:
        return f"folder {self.path.resolve()}"

    def _file(self, table: str) -> Path | None:
        found = [self.path / f"{table}{s}" for s in TABLE_FILE_SUFFIXES]
        found = [p for p in found if p.is_file()]
        if len(found) > 1:
            raise DataSourceError(
                f"{self.path} holds both {found[0].name} and {found[1].name}. "
                "Fix: keep one file per table."
            )
        return found[0] if found else None

    def table_names(self) -> list[str]:
        names = {p.stem for p in self.path.iterdir() if p.suffix in TABLE_FILE_SUFFIXES}
        return sorted(names)

    def location(self, table: str) -> str:
        file = self._file(table)
        return file.name if file else f"{table}.csv"

    def scan(self, table: str) -> pl.LazyFrame | None:
        file = self._file(table)
        if file is None:
            return None
        if file.suffix == ".parquet":
            return pl.scan_parquet(file)
        check_utf8_file(file)  # strict: a Latin-1 "José" must not be stored as "Jos\ufffd"
        check_csv_header(file)
        check_csv_fields(file)
        return pl.scan_csv(file, infer_schema=False, encoding="utf8")


#: Rows fetched from the database per batch when a lazy SQL frame is collected.
SQL_BATCH_ROWS = 100_000


def _polars_type(column: sa.Column[Any], dialect: str) -> pl.DataType:
    """The polars type a database column is read as.

    SQLite has no real timestamp type: its timestamp columns are read as their stored text and
    parsed by validation like CSV text, so any ISO 8601 form another tool wrote is accepted.
    """
    kind = column.type
    if isinstance(kind, sa.DateTime | sa.Date) and dialect == "sqlite":
        return pl.String()
    if isinstance(kind, sa.DateTime):
        return pl.Datetime("us", "UTC" if kind.timezone else None)
    if isinstance(kind, sa.Date):
        return pl.Date()
    if isinstance(kind, sa.Boolean):
        return pl.Boolean()
    if isinstance(kind, sa.Integer):
        return pl.Int64()
    if isinstance(kind, sa.Float | sa.Numeric):
        return pl.Float64()
    return pl.String()


def _select_expression(column: sa.Column[Any], dtype: pl.DataType) -> sa.ColumnElement[Any]:
    # Read text as stored: SQLAlchemy's SQLite DATETIME parser accepts only its own format.
    return sa.type_coerce(column, sa.String()) if dtype == pl.String else column


@dataclass
class SqlSource:
    """A database reached through a SQLAlchemy URL."""

    url: str
    _engine: sa.Engine | None = field(default=None, repr=False)

    @cached_property
    def engine(self) -> sa.Engine:
        return self._engine or create_engine(self.url)

    @property
    def description(self) -> str:
        return f"database {mask_url(self.url)}"

    def table_names(self) -> list[str]:
        try:
            return sorted(sa.inspect(self.engine).get_table_names())
        except sa.exc.SQLAlchemyError as exc:
            raise DataSourceError(
                f"Cannot reach the database {mask_url(self.url)}: {type(exc).__name__}: "
                f"{scrub_secret(str(exc).splitlines()[0], self.url)}"
                f"{timeout_hint(str(exc))}. Fix: check the host, "
                "port, user and that the server is running."
            ) from exc

    def location(self, table: str) -> str:
        return f"table {table}"

    def scan(self, table: str) -> pl.LazyFrame | None:
        """The table as a lazy frame: nothing is read until it is collected, and only the
        columns the query needs are selected in SQL. Filters run in polars on each batch."""
        if table not in self.table_names():
            return None
        engine = self.engine
        reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
        schema = {c.name: _polars_type(c, engine.dialect.name) for c in reflected.columns}

        def batches(
            with_columns: list[str] | None,
            predicate: pl.Expr | None,
            n_rows: int | None,
            batch_size: int | None,
        ) -> Iterator[pl.DataFrame]:
            names = with_columns or list(schema)
            wanted = {name: schema[name] for name in names}
            query = sa.select(*(_select_expression(reflected.c[n], t) for n, t in wanted.items()))
            if n_rows is not None:
                query = query.limit(n_rows)
            size = batch_size or SQL_BATCH_ROWS
            with engine.connect() as conn:
                result = conn.execution_options(yield_per=size).execute(query)
                empty = True
                for rows in result.partitions():
                    frame = pl.DataFrame(rows, schema=wanted, orient="row", strict=False)
                    empty = False
                    yield frame if predicate is None else frame.filter(predicate)
                if empty:
                    yield pl.DataFrame(schema=wanted)

        return register_io_source(
            batches, schema=schema, explain_name="sql", explain_detail=f"table {table}"
        )


@dataclass
class FrameSource:
    """Tables already in memory (files a user uploaded and mapped onto the contract).

    ``locations`` says how each table is named in messages, e.g. ``users.csv`` for the file
    the ``members`` table came from.
    """

    frames: dict[str, pl.DataFrame]
    locations: dict[str, str] = field(default_factory=dict)
    label: str = "uploaded files"

    @property
    def description(self) -> str:
        return self.label

    def table_names(self) -> list[str]:
        return sorted(self.frames)

    def location(self, table: str) -> str:
        return self.locations.get(table, f"{table} (no file)")

    def scan(self, table: str) -> pl.LazyFrame | None:
        frame = self.frames.get(table)
        return None if frame is None else frame.lazy()


@dataclass(frozen=True)
class DatabaseCheck:
    """What a connection test found: whether the database answers, and which contract tables
    and columns it holds. ``url`` is masked; nothing here holds the password."""

    url: str
    connected: bool
    error: str | None = None
    row_counts: dict[str, int | None] = field(default_factory=dict)
    missing_tables: tuple[str, ...] = ()
    missing_columns: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Connected, and every required table with its required columns is there."""
        return self.connected and not self.missing_tables and not self.missing_columns

    def summary(self) -> str:
        """One paragraph saying what works and what is missing."""
        if not self.connected:
            return f"Cannot connect to {self.url}: {self.error}"
        parts = [f"Connected to {self.url}."]
        if self.missing_tables:
            parts.append("Missing required table(s): " + ", ".join(self.missing_tables) + ".")
        for table, columns in self.missing_columns.items():
            parts.append(f"Table {table} lacks the required column(s) {', '.join(columns)}.")
        if self.ok:
            present = [f"{t} {n:,} rows" for t, n in self.row_counts.items() if n is not None]
            parts.append("All required tables are there: " + ", ".join(present) + ".")
        return " ".join(parts)


def check_database(url: str) -> DatabaseCheck:
    """Connect to ``url`` and compare its tables with the data contract.

    Never raises for connection problems: they come back as ``error`` (the driver's message
    with the password masked).
    """
    from analytics.contract import TABLES

    shown = mask_url(url)
    try:
        engine = create_engine(url)
        db_file = sqlite_path(url)
    except DataSourceError as exc:
        return DatabaseCheck(url=shown, connected=False, error=scrub_secret(str(exc), url))
    if db_file is not None and not db_file.is_file():
        # Connecting would create an empty file: a test must not leave anything behind.
        return DatabaseCheck(
            url=shown,
            connected=False,
            error=f"the SQLite database file {db_file} does not exist. Fix: check the path "
            "(sqlite:/// plus a path relative to where the dashboard runs, or sqlite://// plus "
            "an absolute path).",
        )
    try:
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            present = set(inspector.get_table_names())
            counts: dict[str, int | None] = {}
            missing_columns: dict[str, tuple[str, ...]] = {}
            for name, spec in TABLES.items():
                if name not in present:
                    counts[name] = None
                    continue
                columns = {c["name"] for c in inspector.get_columns(name)}
                lacking = tuple(c for c in spec.required_columns if c not in columns)
                if lacking:
                    missing_columns[name] = lacking
                table = sa.table(name)
                counts[name] = int(
                    conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                )
    except (sa.exc.SQLAlchemyError, OSError) as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        message = f"{type(exc).__name__}: {detail[0] if detail else ''}".rstrip(": ")
        message += timeout_hint(message)
        return DatabaseCheck(url=shown, connected=False, error=scrub_secret(message, url))
    finally:
        engine.dispose()
    missing_tables = tuple(
        n for n, spec in TABLES.items() if spec.required and counts.get(n) is None
    )
    return DatabaseCheck(
        url=shown,
        connected=True,
        row_counts=counts,
        missing_tables=missing_tables,
        missing_columns=missing_columns,
    )


def open_source(spec: str | Path) -> FolderSource | SqlSource:
    """Open a data source from a folder path or a SQLAlchemy URL.

    A SQLite URL whose file does not exist is refused rather than silently created.
    """
    text = str(spec)
    if not is_url(text):
        return FolderSource(Path(text))
    create_engine(text)  # validate the URL early with a clear message
    db_file = sqlite_path(text)
    if db_file is not None and not db_file.is_file():
        raise DataSourceError(
            f"SQLite database {db_file} does not exist. Fix: create it with "
            f"`proofboard demo --out {text}` or `proofboard ingest FOLDER --to {text}`."
        )
    return SqlSource(text)
