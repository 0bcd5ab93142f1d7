"""Fixtures of the golden tests: the demo community loaded on every engine.

``communities`` maps ``reference`` (plain eager polars) and each engine of ``ENGINES`` to the
same 2,000-member demo community. A query module's golden test runs its query on each and
compares with the reference (see test_golden.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from analytics.community import Community, load_community
from analytics.io import open_source
from tests.conftest import throwaway_database

#: Engines compared with plain eager polars ("polars-kept": streaming polars reading the valid
#: event rows kept once in memory, as communities of up to a few million members do;
#: "polars-kept-file": kept in a temporary Parquet file, as larger ones do; "duckdb-kept":
#: DuckDB reading them from a Parquet file of its own).
ENGINES = ["polars", "polars-kept", "polars-kept-file", "duckdb", "duckdb-kept", "postgresql",
           "spark"]  # fmt: skip


def sorted_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in a fixed order, so that engines that return them in any order compare equal."""
    return frame.sort(frame.columns, nulls_last=True)


@pytest.fixture(scope="module")
def demo_database(postgres_server: str, demo_folder: Path) -> Iterator[str]:
    """The demo community copied into a PostgreSQL database of its own."""
    from analytics.io import write_tables

    with throwaway_database(postgres_server) as url:
        source = open_source(demo_folder)
        tables = {t: source.scan(t) for t in source.table_names()}
        write_tables({t: f.collect() for t, f in tables.items() if f is not None}, url)
        yield url


@pytest.fixture(scope="module")
def communities(demo_folder: Path, request: pytest.FixtureRequest) -> dict[str, Community]:
    found = {"reference": load_community(open_source(demo_folder), engine="polars-eager")}
    for engine in ENGINES:
        if engine == "postgresql":
            url = request.getfixturevalue("demo_database")
            found[engine] = load_community(open_source(url))
        elif engine == "spark":
            request.getfixturevalue("spark_session")
            found[engine] = load_community(open_source(demo_folder), engine="spark")
        elif "-kept" in engine:
            kept = load_community(open_source(demo_folder), engine=engine.split("-kept")[0])
            if engine.endswith("-file"):
                kept.events.backend.keep_in_memory_bytes = 0  # type: ignore[attr-defined]
            assert kept.keep_events(min_rows=0)
            if engine.startswith("polars"):  # where they are kept: as the engine's name says
                held = kept.events.backend.held_in_memory  # type: ignore[attr-defined]
                assert (held == 0) == engine.endswith("-file")
            found[engine] = kept
        else:
            found[engine] = load_community(open_source(demo_folder), engine=engine)
    return found
