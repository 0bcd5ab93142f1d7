"""The DuckDB backend (``--engine duckdb``): the same queries on a data folder, run by DuckDB.

Parquet files are read as they are; CSV files are read as text, and their timestamp columns are
cast by DuckDB (ISO 8601, with or without an offset; a text DuckDB cannot read becomes null and
is reported by the checks with its row).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import narwhals.stable.v2 as nw
import polars as pl

from analytics.errors import DataSourceError
from analytics.io.backends.base import ROW, US_SUFFIX
from analytics.io.backends.polars import TEXT_SUFFIX, as_utc
from analytics.io.source import TABLE_FILE_SUFFIXES

#: Text ending in a time of day with a numeric UTC offset.
_ANY_OFFSET = r"\d:\d{2}(\.\d+)?\s*[+-]\d+(:?\d+)?$"
#: ... whose offset exists: -14:00..+14:00, minutes 00..59 (``+02``, ``+0200``, ``+02:00``).
_REAL_OFFSET = r"\d:\d{2}(\.\d+)?\s*[+-]((0\d|1[0-3])(:?[0-5]\d)?|14(:?00)?)$"


#: The most memory DuckDB holds for its work (it spills the rest to a temporary folder that is
#: removed with the backend); ``$PROOFBOARD_DUCKDB_MEMORY`` sets another (``8GB``, ``500MB``).
DEFAULT_MEMORY = "3GB"
MEMORY_VARIABLE = "PROOFBOARD_DUCKDB_MEMORY"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class DuckDBBackend:
    """Contract tables of a folder as DuckDB relations (one in-memory connection)."""

    name = "duckdb"
    pushdown = False
    stacks_passes = True

    def __init__(self, folder: Path, *, timestamp_columns: Mapping[str, tuple[str, ...]]) -> None:
        try:
            import duckdb
        except ModuleNotFoundError as exc:
            raise DataSourceError(
                "DuckDB is not installed. Fix: install the duckdb extra "
                "(pip install 'proofboard[duckdb]'), or leave out --engine duckdb."
            ) from exc
        self.folder = Path(folder)
        self.timestamp_columns = dict(timestamp_columns)
        # DuckDB would otherwise hold up to 80 % of the machine's memory (risk at 1 M members
        # peaked at 12 GB; 3.5 GB under the default limit, as fast).
        self._spill = tempfile.mkdtemp(prefix="proofboard-duckdb-")
        weakref.finalize(self, shutil.rmtree, self._spill, True)
        limit = os.environ.get(MEMORY_VARIABLE, "").strip() or DEFAULT_MEMORY
        try:
            self.con = duckdb.connect(
                config={"threads": 2, "memory_limit": limit, "temp_directory": self._spill}
            )
        except duckdb.Error:
            raise DataSourceError(
                f"{MEMORY_VARIABLE}={limit!r} is not an amount of memory DuckDB understands. "
                f"Fix: set it to a size such as 8GB, or unset it for the default {DEFAULT_MEMORY}."
            ) from None
        self.con.execute("SET TimeZone = 'UTC'")
        self._registered = 0

    def _file(self, table: str) -> Path | None:
        found = [self.folder / f"{table}{s}" for s in TABLE_FILE_SUFFIXES]
        found = [p for p in found if p.is_file()]
        return found[0] if found else None

    def _sql(self, table: str, file: Path, *, row_numbers: bool) -> str:
        path = _literal(str(file))
        if file.suffix == ".parquet":
            numbered = ", file_row_number = true" if row_numbers else ""
            source = f"read_parquet({path}{numbered})"
            columns = self.con.sql(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
            row = f"file_row_number + 1 AS {ROW}"
        else:
            source = f"read_csv({path}, all_varchar = true, header = true)"
            columns = self.con.sql(f"DESCRIBE SELECT * FROM {source}").fetchall()
            row = f"row_number() OVER () AS {ROW}"
        types = {str(c[0]): str(c[1]).upper() for c in columns}
        wanted = set(self.timestamp_columns.get(table, ()))
        select = []
        for name, kind in types.items():
            if name == "file_row_number":
                continue
            q = _quote(name)
            if name not in wanted:
                select.append(q)
                continue
            us = None
            if kind == "TIMESTAMP WITH TIME ZONE":
                # The same instant as CAST(q AS TIMESTAMP) under TimeZone UTC, without the time
                # zone library's conversion of every row (4 s a pass at 53 M rows, against 0.7).
                value, us = f"make_timestamp(epoch_us({q}))", f"epoch_us({q})"
            elif kind.startswith("TIMESTAMP") or kind == "DATE":
                value = f"CAST({q} AS TIMESTAMP)"
            elif kind == "VARCHAR":
                # An offset beyond ±14:00 (or with 60+ minutes) does not exist: unreadable, as
                # on polars, rather than shifted by DuckDB.
                value = (
                    f"CASE WHEN regexp_matches(trim({q}), {_literal(_ANY_OFFSET)}) AND NOT "
                    f"regexp_matches(trim({q}), {_literal(_REAL_OFFSET)}) THEN NULL ELSE "
                    f"CAST(TRY_CAST(trim({q}) AS TIMESTAMPTZ) AS TIMESTAMP) END"
                )
                select.append(f"{q} AS {_quote(name + TEXT_SUFFIX)}")
            else:  # a type that holds no timestamps: reported by the checks
                select.append(q)
                continue
            select.append(f"{value} AS {q}")
            select.append(f"{us or f'epoch_us({value})'} AS {_quote(name + US_SUFFIX)}")
        if row_numbers:
            select.append(row)
        return f"SELECT {', '.join(select)} FROM {source}"

    def table(self, name: str, *, row_numbers: bool = False) -> nw.LazyFrame[Any] | None:
        file = self._file(name)
        if file is None:
            return None
        return nw.from_native(self.con.sql(self._sql(name, file, row_numbers=row_numbers)))

    def frame(self, frame: pl.DataFrame) -> nw.LazyFrame[Any]:
        self._registered += 1
        view = f"_frame_{self._registered}"
        self.con.register(view, frame.to_arrow())
        return nw.from_native(self.con.sql(f"SELECT * FROM {view}"))

    def collect(self, frames: Sequence[nw.LazyFrame[Any]]) -> list[pl.DataFrame]:
        return [as_utc(f.collect("polars").to_native()) for f in frames]

    def keep(
        self, frame: nw.LazyFrame[Any], name: str, *, rows: int | None = None
    ) -> nw.LazyFrame[Any] | None:
        """Compute the rows once into a Parquet file in the backend's temporary folder (removed
        with it) and read that: later queries read compact typed columns instead of parsing,
        cleaning and joining the source files again, and memory stays bounded (a table of the
        connection would hold 1.9 GB at a million members). A timestamp with its integer twin is
        stored once, as the integer, and rebuilt on read."""
        relation = frame.to_native()
        columns = list(relation.columns)
        twinned = {
            c for c, t in zip(columns, relation.types, strict=True)
            if str(t).startswith("TIMESTAMP") and c + US_SUFFIX in columns
        }  # fmt: skip
        self._registered += 1
        source = f"_keep_source_{self._registered}"
        path = _literal(str(Path(self._spill) / f"kept_{self._registered}_{name}.parquet"))
        relation.create_view(source)
        stored = ", ".join(_quote(c) for c in columns if c not in twinned)
        self.con.execute(
            f"COPY (SELECT {stored} FROM {source}) TO {path} (FORMAT parquet, COMPRESSION lz4)"
        )
        self.con.execute(f"DROP VIEW {source}")
        rebuilt = ", ".join(
            f"make_timestamp({_quote(c + US_SUFFIX)}) AS {_quote(c)}" if c in twinned else _quote(c)
            for c in columns
        )
        return nw.from_native(self.con.sql(f"SELECT {rebuilt} FROM read_parquet({path})"))

    def close(self) -> None:
        self.con.close()
        shutil.rmtree(self._spill, ignore_errors=True)
