"""What every query backend offers: contract tables as narwhals lazy frames, and a way to run them.

A backend is where the event-level queries of :mod:`analytics.queries` run: polars (streaming or
in memory) for folders and the embedded store, DuckDB for folders (``--engine duckdb``), the
database itself for SQL URLs (pushdown), or Apache Spark (``--engine spark``). The queries are
written once with narwhals; only this package knows how each engine reads and collects.

Conventions every backend keeps, so that one query gives the same answer everywhere:

* **Time.** Contract timestamp columns (``TableSpec.timestamp_columns``) are naive timestamps
  in UTC, microsecond precision. Beside each one the frame has ``<column>_us``: the same instant
  as integer microseconds since 1970-01-01 UTC (``Int64``), for arithmetic that every engine does
  alike (narwhals has no portable duration-to-integer conversion).
* **Columns.** Every other column keeps the name it has in the source; nothing is renamed.
* **Results.** :meth:`Backend.collect` returns polars frames; naive timestamps come back as
  ``Datetime("us", "UTC")``.
* **Small frames.** :meth:`Backend.frame` puts a small polars frame (a grid of dates, a list of
  cutoffs) on the backend so it can be joined with the tables there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, Protocol

import narwhals.stable.v2 as nw
import polars as pl

#: Microseconds in a day: the unit of every ``<column>_us`` difference turned into days.
US_PER_DAY = 86_400_000_000
#: The suffix of the integer-microsecond twin of a timestamp column.
US_SUFFIX = "_us"
#: Row numbers (1-based, in the source's own order) when asked for.
ROW = "__row"

Engine = Literal["polars", "polars-eager", "duckdb", "spark", "sql"]
ENGINES: tuple[str, ...] = ("polars", "polars-eager", "duckdb", "spark", "sql")


class Backend(Protocol):
    """One engine holding one community's tables."""

    @property
    def name(self) -> str:
        """Short engine name for messages and benchmarks: ``polars``, ``duckdb``, ``spark``,
        ``postgresql`` ..."""
        ...

    @property
    def pushdown(self) -> bool:
        """Whether queries run where the data is stored (a database or cluster), so that only
        their aggregated results cross the wire."""
        ...

    @property
    def stacks_passes(self) -> bool:
        """Whether a query over several cutoffs runs faster as one filtered pass per cutoff,
        stacked (polars' streaming engine, DuckDB), than as one join of the events with the
        cutoffs (polars' in-memory engine, which re-reads an unkept source per pass; Spark and
        the databases, which broadcast the few cutoffs); see
        :class:`analytics.queries.windows.Cutoffs`."""
        ...

    def table(self, name: str, *, row_numbers: bool = False) -> nw.LazyFrame[Any] | None:
        """The contract table ``name`` as stored (see the module conventions), or ``None`` when
        the source has no such table. With ``row_numbers``, a 1-based ``__row`` column gives each
        row's position in the source's own order (the numbers the quality report names)."""
        ...

    def frame(self, frame: pl.DataFrame) -> nw.LazyFrame[Any]:
        """A small polars frame as a lazy frame on this backend (to join with its tables)."""
        ...

    def collect(self, frames: Sequence[nw.LazyFrame[Any]]) -> list[pl.DataFrame]:
        """Run the frames and return them as polars frames, in order. Where the engine can, the
        frames run as one job that reads shared inputs once."""
        ...

    def keep(
        self, frame: nw.LazyFrame[Any], name: str, *, rows: int | None = None
    ) -> nw.LazyFrame[Any] | None:
        """``frame`` computed once and kept where this engine reads it fastest, as a lazy frame
        over the kept rows; ``None`` where keeping would not pay (the queries already run where
        the data lives). ``rows``: at most how many rows ``frame`` has, when known (an engine
        may keep few enough in memory)."""
        ...

    def close(self) -> None:
        """Release connections, sessions and temporary files."""
        ...
