"""Fixtures of the golden tests: the demo community loaded on every engine.

``communities`` maps ``reference`` (plain eager polars) and each engine of ``ENGINES`` to the
same 2,000-member demo community. A query module's golden test runs its query on each and
compares with the reference (see test_golden.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from analytics.community import Community, load_community
from analytics.io import open_source

#: Engines compared with plain eager polars.
ENGINES = ["polars", "duckdb", "postgresql", "spark"]


def sorted_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows in a fixed order, so that engines that return them in any order compare equal."""
    return frame.sort(frame.columns, nulls_last=True)


@pytest.fixture(scope="module")
def demo_database(postgres_server: str, demo_folder: Path) -> Iterator[str]:
    """The demo community copied into a PostgreSQL database of its own."""
    import sqlalchemy as sa

    from analytics.io import write_tables

    name = f"golden_{os.getpid()}"
    admin = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = postgres_server.rsplit("/", 1)[0] + f"/{name}"
    source = open_source(demo_folder)
    tables = {t: source.scan(t) for t in source.table_names()}
    write_tables({t: f.collect() for t, f in tables.items() if f is not None}, url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


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
        else:
            found[engine] = load_community(open_source(demo_folder), engine=engine)
    return found
