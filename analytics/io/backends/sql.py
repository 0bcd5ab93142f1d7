"""Pushdown for database URLs: narwhals queries become SQL that runs inside the database.

Frames are built lazily with SQLFrame's ``StandaloneSession`` in the sqlglot dialect of the
database (no connection of its own: it only writes SQL). :meth:`SqlBackend.collect` turns each
frame into one ``SELECT`` and runs it through our own SQLAlchemy engine, so only the (small)
results cross the wire. Every statement is read-only.

PostgreSQL is tested; BigQuery, Snowflake, Trino, DuckDB and MySQL URLs take the same path
when their SQLAlchemy dialects are installed (untested).

SQLFrame keeps one active session per process; each backend makes its own session active again
before building or collecting frames, so only one :class:`SqlBackend` should build frames at a
time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl
import sqlalchemy as sa
import sqlglot
from sqlframe.base.session import _BaseSession
from sqlframe.standalone import StandaloneSession
from sqlframe.standalone import functions as F
from sqlglot import exp

from analytics.contract import TABLES
from analytics.errors import DataSourceError
from analytics.io.backends.base import ROW, US_SUFFIX
from analytics.io.source import (
    CONNECT_TIMEOUT_S,
    STATEMENT_TIMEOUT_VARIABLE,
    create_engine,
    mask_url,
    parse_url,
    scrub_secret,
    statement_timeout_ms,
    timeout_hint,
)

#: SQLAlchemy dialect name -> sqlglot dialect name.
SQLGLOT_DIALECTS = {
    "postgresql": "postgres",
    "bigquery": "bigquery",
    "snowflake": "snowflake",
    "trino": "trino",
    "duckdb": "duckdb",
    "mysql": "mysql",
}

#: Integer microseconds since the epoch of a timestamp column ``{c}`` (already quoted), exact.
EPOCH_US_SQL = {
    # EXTRACT returns numeric (exact) since PostgreSQL 14.
    "postgres": "CAST(EXTRACT(EPOCH FROM {c}) * 1000000 AS BIGINT)",
    "duckdb": "EPOCH_US({c})",
    "bigquery": "UNIX_MICROS(CAST({c} AS TIMESTAMP))",
    "snowflake": "DATE_PART(EPOCH_MICROSECOND, {c})",
    "trino": "DATE_DIFF('microsecond', TIMESTAMP '1970-01-01 00:00:00 UTC', {c})",
    "mysql": "TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {c})",
}


_SQL_TYPES: dict[type[pl.DataType], str] = {
    pl.Int8: "BIGINT",
    pl.Int16: "BIGINT",
    pl.Int32: "BIGINT",
    pl.Int64: "BIGINT",
    pl.UInt8: "BIGINT",
    pl.UInt16: "BIGINT",
    pl.UInt32: "BIGINT",
    pl.Float32: "DOUBLE PRECISION",
    pl.Float64: "DOUBLE PRECISION",
    pl.Boolean: "BOOLEAN",
    pl.String: "TEXT",
    pl.Date: "DATE",
    pl.Datetime: "TIMESTAMP",
}


#: Spark date-part functions that narwhals emits and PostgreSQL lacks -> EXTRACT fields.
_EXTRACT_FIELDS: dict[type[exp.Expression], str] = {
    exp.Hour: "HOUR",
    exp.Minute: "MINUTE",
    exp.Second: "SECOND",
    exp.DayOfYear: "DOY",
}


def _extract(field: str, value: exp.Expression) -> exp.Expression:
    part = exp.Extract(this=exp.var(field), expression=value)
    return exp.cast(exp.Floor(this=part), "INT")  # SECOND has a fraction


def _narwhals_weekday(node: exp.Expression) -> exp.Expression | None:
    """The argument of narwhals' ``(DAYOFWEEK(x) + 6) % 7`` (its weekday on Spark, which gives
    Sunday 0 where polars gives 7), or None."""
    if not isinstance(node, exp.Mod) or node.expression != exp.Literal.number(7):
        return None
    inner = node.this.unnest()
    if (
        isinstance(inner, exp.Add)
        and isinstance(inner.this, exp.DayOfWeek)
        and inner.expression == exp.Literal.number(6)
    ):
        return inner.this.this
    return None


def _postgres_functions(node: exp.Expression) -> exp.Expression:
    """Rewrite Spark functions in SQLFrame's output that PostgreSQL does not have."""
    if isinstance(node, exp.Anonymous) and node.name.upper() in ("ISNULL", "ISNOTNULL"):
        test: exp.Expression = exp.Is(this=node.expressions[0], expression=exp.Null())
        return test if node.name.upper() == "ISNULL" else exp.Not(this=test)
    weekday_of = _narwhals_weekday(node)
    if weekday_of is not None:
        return _extract("ISODOW", weekday_of)  # Monday = 1 ... Sunday = 7, as polars
    if isinstance(node, exp.DayOfWeek):
        # Spark's DAYOFWEEK: Sunday = 1 ... Saturday = 7; PostgreSQL's DOW: Sunday = 0.
        return exp.Paren(
            this=exp.Add(this=_extract("DOW", node.this), expression=exp.Literal.number(1))
        )
    for kind, field_name in _EXTRACT_FIELDS.items():
        if isinstance(node, kind):
            return _extract(field_name, node.this)
    return node


def query_failed(exc: BaseException, url: str) -> DataSourceError:
    """The one-line error for a query the database did not finish: cancelled by the statement
    timeout (PostgreSQL says "canceling statement due to statement timeout"), or failed
    otherwise (a dropped connection, a stopped server)."""
    limit = statement_timeout_ms() // 1000
    if "statement timeout" in str(getattr(exc, "orig", None) or exc).lower():
        return DataSourceError(
            f"A query inside the database {mask_url(url)} ran longer than {limit} s and was "
            f"cancelled (the statement timeout); nothing stored was changed. Fix: allow longer "
            f"with {STATEMENT_TIMEOUT_VARIABLE}=SECONDS (a community with tens of millions of "
            f"activity rows may need {STATEMENT_TIMEOUT_VARIABLE}=1800)."
        )
    return DataSourceError(
        f"A query inside the database {mask_url(url)} failed: {_one_line(exc, url)}. Fix: "
        f"check that the server is running and reachable; a query running longer than {limit} "
        f"s is cancelled (set {STATEMENT_TIMEOUT_VARIABLE}, in seconds, to allow longer)."
    )


def _one_line(exc: BaseException, url: str) -> str:
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    text = f"{type(exc).__name__}: {detail[0] if detail else ''}".rstrip(": ")
    return scrub_secret(text + timeout_hint(text), url)


def _engine_for(url: str) -> sa.Engine:
    """Our engine for ``url``: PostgreSQL gets a connect timeout and a statement timeout, and
    every connection runs in UTC."""
    backend = parse_url(url).get_backend_name()
    if backend != "postgresql":
        return create_engine(url)
    engine = create_engine(
        url,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": f"-c statement_timeout={statement_timeout_ms()} -c TimeZone=UTC",
        },
    )

    @sa.event.listens_for(engine, "connect")
    def _utc(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'UTC'")
        dbapi_connection.commit()

    return engine


@dataclass
class SqlBackend:
    """Contract tables of the database at ``url`` as lazy SQL frames (see the module doc)."""

    url: str
    _engine: sa.Engine = field(init=False, repr=False)
    _session: StandaloneSession = field(init=False, repr=False)
    _dialect: str = field(init=False)
    _columns: dict[str, dict[str, Any]] = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._engine = _engine_for(self.url)
        name = self._engine.dialect.name
        dialect = SQLGLOT_DIALECTS.get(name)
        if dialect is None:
            self._engine.dispose()
            raise DataSourceError(
                f"Queries cannot run inside the {name} database {mask_url(self.url)}: "
                f"pushdown supports {', '.join(sorted(SQLGLOT_DIALECTS))}. Fix: use another "
                "engine (--engine polars) for this URL."
            )
        self._dialect = dialect
        # SQLFrame hands out one session per process; each backend needs its own catalog.
        setattr(_BaseSession, "_instance", None)  # noqa: B010 (class attribute typed None)
        self._session = StandaloneSession.builder.config(
            map={
                "sqlframe.input.dialect": dialect,
                "sqlframe.output.dialect": dialect,
                "sqlframe.execution.dialect": dialect,
            }
        ).getOrCreate()
        try:
            inspector = sa.inspect(self._engine)
            present = set(inspector.get_table_names())
            for table in TABLES:
                if table in present:
                    self._columns[table] = {
                        c["name"]: c["type"] for c in inspector.get_columns(table)
                    }
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            self._engine.dispose()
            raise DataSourceError(
                f"Cannot reach the database {mask_url(self.url)}: {_one_line(exc, self.url)}. "
                "Fix: check the host, port, user and that the server is running."
            ) from None

    # -- Backend protocol -----------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._engine.dialect.name

    @property
    def pushdown(self) -> bool:
        return True

    @property
    def stacks_passes(self) -> bool:
        return False

    def _activate(self) -> StandaloneSession:
        # SQLFrame (and narwhals' spark-like layer) look up "the" session: make it ours.
        setattr(_BaseSession, "_instance", self._session)  # noqa: B010 (class attribute typed None)
        return self._session

    def _type_sql(self, kind: Any) -> str:
        try:
            return str(kind.compile(dialect=self._engine.dialect))
        except sa.exc.CompileError:
            return "TEXT"

    def table(self, name: str, *, row_numbers: bool = False) -> nw.LazyFrame[Any] | None:
        columns = self._columns.get(name)
        if columns is None:
            return None
        session = self._activate()
        session.catalog.add_table(
            name, {column: self._type_sql(kind) for column, kind in columns.items()}
        )
        timestamps = set(TABLES[name].timestamp_columns) & set(columns)
        selected: list[Any] = []
        for column, kind in columns.items():
            if column not in timestamps:
                selected.append(F.col(column))
                continue
            if not isinstance(kind, sa.DateTime | sa.Date):
                raise DataSourceError(
                    f"Column {column} of table {name} in {mask_url(self.url)} holds "
                    f"{self._type_sql(kind)}, not timestamps, so queries cannot run inside the "
                    f"database. Fix: store {name}.{column} as a TIMESTAMP column (e.g. "
                    f"`proofboard ingest` writes one), or use --engine polars."
                )
            quoted = sa.sql.quoted_name(column, quote=True)
            ident = self._engine.dialect.identifier_preparer.quote(quoted)
            selected.append(F.col(column).cast("timestamp").alias(column))
            selected.append(
                F.expr(EPOCH_US_SQL[self._dialect].format(c=ident)).alias(column + US_SUFFIX)
            )
        if row_numbers:
            selected.append(F.expr("ROW_NUMBER() OVER ()").alias(ROW))
        return nw.from_native(session.read.table(name).select(*selected))

    def frame(self, frame: pl.DataFrame) -> nw.LazyFrame[Any]:
        session = self._activate()
        schema = ", ".join(
            f"{column} {_SQL_TYPES.get(type(dtype), 'TEXT')}"
            for column, dtype in frame.schema.items()
        )
        naive = frame.with_columns(
            pl.col(c).dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            for c, t in frame.schema.items()
            if isinstance(t, pl.Datetime) and t.time_zone is not None
        )
        rows = [tuple(row) for row in naive.iter_rows()]
        return nw.from_native(session.createDataFrame(rows, schema=schema))

    def sql(self, frame: nw.LazyFrame[Any]) -> str:
        """The one SQL statement that computes ``frame`` in this database."""
        self._activate()
        text = str(frame.to_native().sql(dialect=self._dialect, pretty=False))
        if self._dialect != "postgres":
            return text
        tree = sqlglot.parse_one(text, read=self._dialect)
        return tree.transform(_postgres_functions).sql(dialect=self._dialect)

    def collect(self, frames: Sequence[nw.LazyFrame[Any]]) -> list[pl.DataFrame]:
        statements = [self.sql(frame) for frame in frames]
        results = []
        try:
            with self._engine.connect() as conn:
                for statement in statements:
                    if self._engine.dialect.paramstyle in ("format", "pyformat"):
                        statement = statement.replace("%", "%%")  # modulo, not a parameter
                    cursor = conn.exec_driver_sql(statement)
                    names = list(cursor.keys())
                    description = cursor.cursor.description if cursor.cursor else None
                    codes = [d[1] for d in description or ()]
                    results.append(_to_polars(names, cursor.fetchall(), codes))
                conn.rollback()
        except (sa.exc.ProgrammingError, sa.exc.DataError) as exc:
            raise DataSourceError(
                f"The database {mask_url(self.url)} rejected the SQL written for a query: "
                f"{_one_line(exc, self.url)}. Fix: run this analysis with --engine polars and "
                "report the query (a narwhals operation this database lacks)."
            ) from None
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            raise query_failed(exc, self.url) from None
        return results

    def keep(
        self, frame: nw.LazyFrame[Any], name: str, *, rows: int | None = None
    ) -> nw.LazyFrame[Any] | None:
        return None

    def close(self) -> None:
        self._engine.dispose()


#: PostgreSQL type OIDs -> polars types, for result columns without a value to infer from.
_POSTGRES_TYPES: dict[object, pl.DataType] = {
    16: pl.Boolean(),
    20: pl.Int64(),
    21: pl.Int64(),
    23: pl.Int64(),
    25: pl.String(),
    700: pl.Float64(),
    701: pl.Float64(),
    1043: pl.String(),
    1082: pl.Date(),
    1114: pl.Datetime("us", "UTC"),
    1184: pl.Datetime("us", "UTC"),
    1700: pl.Float64(),
}


def _to_polars(
    names: list[str], rows: Sequence[Any], type_codes: Sequence[object] = ()
) -> pl.DataFrame:
    """Rows as a polars frame; naive timestamps are UTC, decimals become floats or integers."""
    columns: dict[str, pl.Series] = {}
    for i, name in enumerate(names):
        values = [row[i] for row in rows]
        series = pl.Series(name, values, strict=False)
        if isinstance(series.dtype, pl.Decimal):
            # SUM of integers comes back as NUMERIC with scale 0; AVG and the like have digits.
            series = series.cast(pl.Int64 if series.dtype.scale == 0 else pl.Float64)
        elif isinstance(series.dtype, pl.Datetime):
            if series.dtype.time_zone is None:
                series = series.dt.replace_time_zone("UTC")
            series = series.dt.convert_time_zone("UTC").dt.cast_time_unit("us")
        elif series.dtype == pl.Null and i < len(type_codes):
            series = series.cast(_POSTGRES_TYPES.get(type_codes[i], pl.String()))
        columns[name] = series
    return pl.DataFrame(columns)
