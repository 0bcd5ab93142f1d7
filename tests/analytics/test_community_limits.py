"""Values the contract refuses with a message instead of a traceback or a silent shift:
timestamps outside 1970-2099, offsets that do not exist, nested and damaged Parquet columns."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from analytics.community import check_source
from analytics.errors import DataSourceError
from analytics.io import open_source
from analytics.quality import QualityReport
from tests.conftest import MINIMAL, write_csvs

MEMBERS = MINIMAL["members"]
ACTIVITY = MINIMAL["activity"]


def _errors(folder: Path) -> list[str]:
    return [i.text() for i in check_source(open_source(folder)).errors]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9999-12-31", "lie outside 1970-2099 (e.g. '9999-12-31')"),
        ("1900-01-05", "lie outside 1970-2099"),
        ("10000-01-01", "cannot read '10000-01-01'"),
        ("2024-01-05T00:00:00+99:99", "cannot read '2024-01-05T00:00:00+99:99'"),
        ("2024-01-05T00:00:00+24:00", "cannot read"),
        ("2024-01-05T00:00:00-15:00", "cannot read"),
        ("2024-01-05T00:00:00+05:60", "cannot read"),
    ],
)
def test_bad_event_timestamps_are_errors_naming_the_row(
    tmp_path: Path, value: str, expected: str
) -> None:
    folder = write_csvs(tmp_path / "f", {"members": MEMBERS,
                                          "activity": ACTIVITY + f"a,{value},post\n"})  # fmt: skip
    errors = _errors(folder)
    assert len(errors) == 1
    assert errors[0].startswith("activity.csv, column occurred_at, row 3:")
    assert expected in errors[0]


@pytest.mark.parametrize("value", ["9999-12-31", "1969-12-31T23:59:59"])
def test_bad_member_timestamps_are_errors_naming_the_row(tmp_path: Path, value: str) -> None:
    members = "member_id,joined_at,left_at\na,2024-01-01,\nb,2024-01-02," + value + "\n"
    folder = write_csvs(tmp_path / "f", {"members": members, "activity": ACTIVITY})
    errors = _errors(folder)
    assert len(errors) == 1
    assert errors[0].startswith("members.csv, column left_at, row 2:")
    assert "lie outside 1970-2099" in errors[0]


def test_the_largest_real_offsets_still_read(tmp_path: Path) -> None:
    activity = ACTIVITY + "a,2024-01-05T00:00:00+14:00,post\nb,2024-01-05T00:00:00-12:00,post\n"
    folder = write_csvs(tmp_path / "f", {"members": MEMBERS, "activity": activity})
    report = check_source(open_source(folder))
    assert report.ok
    assert report.data_end == datetime(2024, 1, 5, 12, tzinfo=UTC)


def test_a_parquet_timestamp_past_year_9999_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "f"
    folder.mkdir()
    far = pl.Series([0, 20_000 * 365 * 86_400 * 10**6], dtype=pl.Int64)
    pl.DataFrame({"member_id": ["a", "b"], "joined_at": far.cast(pl.Datetime("us", "UTC"))}
                 ).write_parquet(folder / "members.parquet")  # fmt: skip
    (folder / "activity.csv").write_text(ACTIVITY)
    errors = _errors(folder)
    assert len(errors) == 1
    assert errors[0].startswith("members.parquet, column joined_at, row 2:")


@pytest.mark.parametrize("table", ["members", "activity"])
def test_nested_parquet_columns_are_errors_naming_file_and_column(
    tmp_path: Path, table: str
) -> None:
    folder = write_csvs(tmp_path / "f", {"members": MEMBERS, "activity": ACTIVITY})
    frame = pl.read_csv(folder / f"{table}.csv")
    (folder / f"{table}.csv").unlink()
    frame.with_columns(pl.col("member_id").map_elements(lambda v: [v], return_dtype=pl.List(
        pl.String))).write_parquet(folder / f"{table}.parquet")  # fmt: skip
    errors = _errors(folder)
    assert errors == [
        f"{table}.parquet, column member_id: holds nested values (List(String)), not plain text, "
        "numbers or timestamps. Fix: store one plain value per cell (e.g. text), or drop this "
        "column from the file."
    ]


def test_a_damaged_event_parquet_file_is_named(tmp_path: Path) -> None:
    folder = write_csvs(tmp_path / "f", {"members": "member_id,joined_at\n" + "".join(
        f"m{i},2024-01-01\n" for i in range(5000))})  # fmt: skip
    pl.DataFrame(
        {"member_id": [f"m{i}" for i in range(5000)], "occurred_at": ["2024-02-01"] * 5000,
         "kind": ["post"] * 5000}
    ).write_parquet(folder / "activity.parquet", compression="uncompressed")  # fmt: skip
    data = bytearray((folder / "activity.parquet").read_bytes())
    start = len(data) // 10
    data[start : start + len(data) // 8] = bytes(len(data) // 8)
    (folder / "activity.parquet").write_bytes(bytes(data))
    with pytest.raises(DataSourceError, match=r"^activity\.parquet: the file cannot be read"):
        check_source(open_source(folder))


@pytest.mark.parametrize(
    ("extra", "as_of"),
    [
        ("", None),
        ("a,2150-01-01,post\n", None),  # a timestamp out of range
        ("a,1969-12-31T23:59:59,post\n", None),
        ("z,2024-01-05,post\n,2024-01-05,post\n", None),  # no such member, no member id
        ("a,,post\nb,,like\n", None),  # no timestamp
        ("a,2024-01-06,post\nb,2024-01-09,post\n", datetime(2024, 1, 5, tzinfo=UTC)),
        ("a,2023-12-30,post\n", None),  # before joining
    ],
)
def test_typed_parquet_timestamps_are_checked_as_text_ones_are(
    tmp_path: Path, extra: str, as_of: datetime | None
) -> None:
    """Typed timestamps are checked with plain aggregations where every one is in range (and
    as before where some is not): the report reads as for the same rows as text, where each
    row is checked on its own."""
    csv = write_csvs(tmp_path / "csv", {"members": MEMBERS, "activity": ACTIVITY + extra})
    typed = write_csvs(tmp_path / "parquet", {"members": MEMBERS})
    pl.read_csv(csv / "activity.csv", schema_overrides={"occurred_at": pl.String}).with_columns(
        pl.col("occurred_at").str.to_datetime(time_zone="UTC", time_unit="us")
    ).write_parquet(typed / "activity.parquet")
    want = check_source(open_source(csv), as_of=as_of)
    found = check_source(open_source(typed), as_of=as_of)

    def issues(report: QualityReport) -> list[tuple[object, ...]]:
        # the example value is shown as stored (a typed timestamp in full)
        return [(i.severity, i.table, i.column, i.rows, i.count, i.fix) for i in report.issues]

    assert issues(found) == issues(want)
    assert (found.row_counts, found.data_end, found.as_of) == (
        want.row_counts, want.data_end, want.as_of,
    )  # fmt: skip
    assert bool(extra) == bool(found.issues)


def test_typed_parquet_members_name_missing_and_repeated_values(tmp_path: Path) -> None:
    """The members' checks on typed columns and ids with nulls: a missing signup time, a
    missing id and a repeated id are each named (row numbers as in the file)."""
    folder = write_csvs(tmp_path / "f", {"activity": ACTIVITY})
    joined = [datetime(2024, 1, 1, tzinfo=UTC), None, datetime(2024, 1, 2, tzinfo=UTC)]
    pl.DataFrame(
        {"member_id": ["a", None, "b", "a", None], "joined_at": [*joined, *joined[:2]]},
        schema_overrides={"joined_at": pl.Datetime("us", "UTC")},
    ).write_parquet(folder / "members.parquet")
    errors = _errors(folder)

    def named(start: str, words: str) -> bool:
        return any(e.startswith(start) and words in e for e in errors)

    assert named("members.parquet, column member_id, rows 2, 5:", "have no member_id"), errors
    repeated = "1 value(s) appear more than once (e.g. 'a')"
    assert named("members.parquet, column member_id, rows 1, 4:", repeated), errors
    assert named("members.parquet, column joined_at, rows 2, 5:", "have no joined_at"), errors


def test_typed_parquet_members_with_null_ids_but_no_repeats_pass_the_unique_check(
    tmp_path: Path,
) -> None:
    folder = write_csvs(tmp_path / "f", {"activity": ACTIVITY})
    pl.DataFrame(
        {"member_id": ["a", None, None, "b"], "joined_at": [datetime(2024, 1, 1, tzinfo=UTC)] * 4}
    ).write_parquet(folder / "members.parquet")
    errors = _errors(folder)
    assert not any("more than once" in e for e in errors), errors
    assert any("have no member_id" in e for e in errors), errors
