"""Where the event-level queries run: one backend per engine (see :mod:`.base`).

:func:`open_backend` picks the engine for a source: folders default to polars' streaming engine
(``duckdb`` and ``spark`` on request), the embedded SQLite store and uploaded files are read into
polars, other database URLs run the queries inside the database (``sql``).
"""

from __future__ import annotations

from collections.abc import Mapping

from analytics.errors import DataSourceError
from analytics.io.backends.base import ENGINES, ROW, US_PER_DAY, US_SUFFIX, Backend, Engine
from analytics.io.backends.polars import TEXT_SUFFIX, PolarsBackend, as_utc, parse_timestamp
from analytics.io.source import FolderSource, FrameSource, Source, SqlSource

__all__ = [
    "ENGINES",
    "ROW",
    "TEXT_SUFFIX",
    "US_PER_DAY",
    "US_SUFFIX",
    "Backend",
    "Engine",
    "PolarsBackend",
    "as_utc",
    "default_engine",
    "open_backend",
    "parse_timestamp",
]


def default_engine(source: Source) -> str:
    """The engine a source runs on unless another is chosen: polars' streaming engine for
    folders, the database itself for database URLs (SQLite excepted: it is read into polars)."""
    if isinstance(source, SqlSource) and source.engine.dialect.name != "sqlite":
        try:
            from analytics.io.backends import sql  # noqa: F401
        except ImportError:  # pragma: no cover - the pushdown backend ships with the package
            return "polars-eager"
        return "sql"
    return "polars"


def open_backend(
    source: Source,
    engine: str | None = None,
    *,
    timestamp_columns: Mapping[str, tuple[str, ...]],
) -> Backend:
    """The backend that runs queries on ``source`` with ``engine`` (default: see
    :func:`default_engine`).

    Raises
    ------
    DataSourceError
        For an unknown engine, one that cannot read this kind of source, or one that is not
        installed; the message names the fix.
    """
    chosen = engine or default_engine(source)
    if chosen not in ENGINES:
        raise DataSourceError(
            f"Unknown engine {chosen!r}. Fix: choose one of {', '.join(ENGINES)}."
        )
    columns = dict(timestamp_columns)
    if chosen in ("polars", "polars-eager"):
        streaming = chosen == "polars" and isinstance(source, FolderSource)
        return PolarsBackend(source, streaming=streaming, timestamp_columns=columns)
    if chosen == "duckdb":
        if not isinstance(source, FolderSource):
            raise DataSourceError(
                "--engine duckdb reads data folders (CSV or Parquet files). Fix: give a folder, "
                "or leave out --engine for a database URL (its queries run in the database)."
            )
        from analytics.io.backends.duckdb import DuckDBBackend

        return DuckDBBackend(source.path, timestamp_columns=columns)
    if chosen == "spark":
        if not isinstance(source, FolderSource):
            raise DataSourceError(
                "--engine spark reads data folders (Parquet or CSV files). Fix: give a folder."
            )
        from analytics.io.backends.spark import SparkBackend

        return SparkBackend(source.path)
    if isinstance(source, FrameSource | FolderSource):
        raise DataSourceError(
            "--engine sql runs queries inside a database. Fix: give a database URL, or leave "
            "out --engine."
        )
    assert isinstance(source, SqlSource)
    from analytics.io.backends.sql import SqlBackend

    return SqlBackend(source.url)
