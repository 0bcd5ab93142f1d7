"""The DuckDB engine's own settings: a bounded memory with a temporary spill folder, and
timestamps with a time zone read as the same instants as polars reads them."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics.errors import DataSourceError
from analytics.io.backends.duckdb import DEFAULT_MEMORY, DuckDBBackend

pytest.importorskip("duckdb")


def _backend(folder: Path) -> DuckDBBackend:
    return DuckDBBackend(folder, timestamp_columns={"activity": ("occurred_at",)})


def _setting(backend: DuckDBBackend, name: str) -> str:
    return str(backend.con.sql(f"SELECT current_setting('{name}')").fetchall()[0][0])


def test_duckdb_holds_at_most_the_default_memory_unless_told_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROOFBOARD_DUCKDB_MEMORY", raising=False)
    assert DEFAULT_MEMORY == "3GB"
    assert _setting(_backend(tmp_path), "memory_limit") == "2.7 GiB"  # 3 GB as DuckDB shows it
    monkeypatch.setenv("PROOFBOARD_DUCKDB_MEMORY", "8GB")
    assert _setting(_backend(tmp_path), "memory_limit") == "7.4 GiB"


def test_an_unreadable_memory_setting_is_named_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROOFBOARD_DUCKDB_MEMORY", "lots")
    with pytest.raises(DataSourceError) as raised:
        _backend(tmp_path)
    message = str(raised.value)
    assert "PROOFBOARD_DUCKDB_MEMORY='lots'" in message
    assert "Fix: set it to a size such as 8GB" in message


def test_the_spill_folder_goes_away_with_the_backend(tmp_path: Path) -> None:
    backend = _backend(tmp_path)
    spill = Path(_setting(backend, "temp_directory"))
    assert spill.is_dir()
    backend.close()
    assert not spill.exists()
    other = _backend(tmp_path)
    spill = Path(_setting(other, "temp_directory"))
    del other
    gc.collect()
    assert not spill.exists()


def test_timestamps_with_a_time_zone_read_as_the_same_instants_as_polars(tmp_path: Path) -> None:
    moments = [
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 30, 0, 123_456, tzinfo=UTC),
        datetime(2150, 1, 1, tzinfo=UTC),
        None,
    ]
    frame = pl.DataFrame(
        {"member_id": ["a", "b", "c", "d"], "occurred_at": moments, "kind": ["post"] * 4},
        schema_overrides={"occurred_at": pl.Datetime("us", "UTC")},
    )
    frame.write_parquet(tmp_path / "activity.parquet")
    backend = _backend(tmp_path)
    table = backend.table("activity")
    assert table is not None
    (read,) = backend.collect([table])
    assert read["occurred_at"].to_list() == moments
    epoch, micro = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)
    expected = [None if m is None else (m - epoch) // micro for m in moments]
    assert expected[:2] == [-1, 1_711_848_600_123_456]
    assert read["occurred_at_us"].to_list() == expected


def test_kept_rows_read_back_the_same_rows_and_instants(tmp_path: Path) -> None:
    moments = [
        datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2024, 3, 31, 1, 30, 0, 123_456, tzinfo=UTC),
        None,
    ]
    pl.DataFrame(
        {"member_id": ["a", "b", "c"], "occurred_at": moments, "kind": ["post", "like", "post"]},
        schema_overrides={"occurred_at": pl.Datetime("us", "UTC")},
    ).write_parquet(tmp_path / "activity.parquet")
    backend = _backend(tmp_path)
    table = backend.table("activity")
    assert table is not None
    (expected,) = backend.collect([table])
    kept = backend.keep(table, "activity")
    assert kept is not None
    (found,) = backend.collect([kept])
    assert found.columns == expected.columns
    assert found.schema == expected.schema
    assert found.sort("member_id").equals(expected.sort("member_id"))
    # stored once, in a Parquet file in the backend's temporary folder: the timestamp only as
    # its integer twin; the file goes with the backend
    spill = Path(_setting(backend, "temp_directory"))
    (file,) = spill.glob("kept_*_activity.parquet")
    assert sorted(pl.read_parquet_schema(file)) == ["kind", "member_id", "occurred_at_us"]
    # the source changing afterwards does not change the kept rows
    pl.DataFrame(
        {"member_id": ["z"], "occurred_at": moments[:1], "kind": ["post"]},
        schema_overrides={"occurred_at": pl.Datetime("us", "UTC")},
    ).write_parquet(tmp_path / "activity.parquet")
    (again,) = backend.collect([kept])
    assert again.sort("member_id").equals(expected.sort("member_id"))
    backend.close()
    assert not file.exists()
