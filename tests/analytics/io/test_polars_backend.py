"""The polars engine in memory (``polars-eager``, the embedded store's engine) reads a database
table once per load: one snapshot for every query of the analyses, and no second read of rows
that cross from the driver one by one (the streaming engine reads them as it goes)."""

from __future__ import annotations

from pathlib import Path

import narwhals.stable.v2 as nw
import polars as pl
import sqlalchemy as sa

from analytics.io import open_source
from analytics.io.backends import open_backend

TIMES = {"activity": ("occurred_at",)}


def _store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    pl.DataFrame({"member_id": ["a", "b"], "occurred_at": ["2024-01-02T00:00:00Z"] * 2,
                  "kind": ["post", "like"]}).write_database("activity", url)  # fmt: skip
    return url


def _append(url: str) -> None:
    row = {"member_id": ["c"], "occurred_at": ["2024-01-03T00:00:00Z"], "kind": ["post"]}
    pl.DataFrame(row).write_database("activity", url, if_table_exists="append")


def test_in_memory_engine_reads_a_database_table_once(tmp_path: Path) -> None:
    url = _store(tmp_path)
    source = open_source(url)
    selects: list[str] = []
    sa.event.listen(
        source.engine,  # type: ignore[attr-defined]
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: (
            selects.append(statement) if "FROM activity" in statement else None
        ),
    )
    backend = open_backend(source, "polars-eager", timestamp_columns=TIMES)
    first = backend.table("activity")
    assert first is not None
    (rows,) = backend.collect([first])
    (again,) = backend.collect([first.filter(nw.col("kind") == "post")])
    assert rows.height == 2
    assert again.height == 1
    assert len(selects) == 1
    # one snapshot: rows written afterwards are not seen by this load's queries
    _append(url)
    table = backend.table("activity")
    assert table is not None
    assert backend.collect([table])[0].height == 2
    assert len(selects) == 1
