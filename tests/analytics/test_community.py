"""The data contract: every validation error and warning, with its message, and the cleaning."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import narwhals.stable.v2 as nw
import polars as pl
import pytest

from analytics.community import check_source, load_community
from analytics.errors import DataContractError
from analytics.io import open_source
from analytics.queries import cohorts
from tests.conftest import MINIMAL, write_csvs


def load(folder: Path, **kwargs):  # type: ignore[no-untyped-def]
    return load_community(open_source(folder), **kwargs)


def only_error(folder: Path):  # type: ignore[no-untyped-def]
    with pytest.raises(DataContractError) as caught:
        load(folder)
    errors = caught.value.report.errors
    assert len(errors) == 1, [e.text() for e in errors]
    return errors[0]


def warning_about(report, table: str, words: str):  # type: ignore[no-untyped-def]
    found = [w for w in report.warnings if w.table == table and words in w.message]
    assert len(found) == 1, [w.text() for w in report.warnings]
    return found[0]


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", ["members", "activity"])
def test_missing_required_table_is_an_error_naming_the_table_and_its_columns(
    tmp_path: Path, table: str
) -> None:
    folder = write_csvs(tmp_path, {k: v for k, v in MINIMAL.items() if k != table})
    error = only_error(folder)
    assert error.table == table
    assert f"required table {table} is missing" in error.message
    assert f"{table}.csv" in error.fix
    assert ("member_id, joined_at" if table == "members" else "occurred_at, kind") in error.fix


def test_missing_required_column_names_file_column_and_what_was_found(tmp_path: Path) -> None:
    folder = write_csvs(
        tmp_path, {**MINIMAL, "members": "member_id,signup\na,2024-01-01\nb,2024-01-02\n"}
    )
    error = only_error(folder)
    assert (error.table, error.column) == ("members", "joined_at")
    assert "found: member_id, signup" in error.message
    assert error.text().startswith("members.csv, column joined_at:")


def test_missing_column_of_an_optional_table_is_an_error(tmp_path: Path) -> None:
    folder = write_csvs(tmp_path, {**MINIMAL, "proof_items": "item_id,title\nt1,Great\n"})
    error = only_error(folder)
    assert (error.table, error.column) == ("proof_items", "kind")


def test_unparseable_timestamp_names_value_row_and_fix(tmp_path: Path) -> None:
    members = "member_id,joined_at\na,2024-01-01\nb,yesterday\nc,2024-13-01\nd,2024-01-05\n"
    folder = write_csvs(tmp_path, {**MINIMAL, "members": members})
    error = only_error(folder)
    assert (error.table, error.column) == ("members", "joined_at")
    assert error.rows == (2, 3)
    assert error.count == 2
    assert "'yesterday'" in error.message
    assert "ISO 8601" in error.fix
    assert "members.csv, column joined_at, rows 2, 3" in error.text()


def test_empty_required_timestamp_is_an_error(tmp_path: Path) -> None:
    folder = write_csvs(tmp_path, {**MINIMAL, "members": "member_id,joined_at\na,\nb,2024-01-02\n"})
    error = only_error(folder)
    assert error.rows == (1,)
    assert "no joined_at" in error.message


def test_duplicate_member_id_lists_the_rows(tmp_path: Path) -> None:
    members = "member_id,joined_at\na,2024-01-01\nb,2024-01-02\na,2024-01-03\n"
    error = only_error(write_csvs(tmp_path, {**MINIMAL, "members": members}))
    assert (error.table, error.column, error.rows) == ("members", "member_id", (1, 3))
    assert "must be unique" in error.message
    assert "'a'" in error.message


def test_duplicate_item_id_is_an_error(tmp_path: Path) -> None:
    items = "item_id,kind,title\nt1,testimonial,A\nt1,badge,B\n"
    error = only_error(write_csvs(tmp_path, {**MINIMAL, "proof_items": items}))
    assert (error.table, error.column, error.rows) == ("proof_items", "item_id", (1, 2))


def test_unknown_proof_item_kind_lists_the_allowed_kinds(tmp_path: Path) -> None:
    items = "item_id,kind,title\nt1,Testimonial,A\nt2,banner,B\n"
    error = only_error(write_csvs(tmp_path, {**MINIMAL, "proof_items": items}))
    assert (error.table, error.column, error.rows) == ("proof_items", "kind", (2,))
    assert "'banner'" in error.message
    assert "testimonial, badge, case_study, ugc, influencer, mention" in error.fix


def test_all_errors_are_reported_together_and_check_source_does_not_raise(tmp_path: Path) -> None:
    folder = write_csvs(
        tmp_path,
        {
            "members": "member_id,joined_at\na,never\na,2024-01-01\n",
            "activity": "member_id,occurred_at,kind\na,2024-01-02,post\n",
        },
    )
    report = check_source(open_source(folder))
    assert not report.ok
    assert {e.column for e in report.errors} == {"member_id", "joined_at"}
    assert "2 error(s)" in report.to_text()


def test_as_of_before_first_member_is_an_error(minimal_folder: Path) -> None:
    with pytest.raises(DataContractError, match="before the first member joined"):
        load(minimal_folder, as_of=datetime(2023, 1, 1, tzinfo=UTC))


# -- warnings -----------------------------------------------------------------------------------


def test_activity_of_unknown_members_and_before_joining_is_dropped_and_counted(
    tmp_path: Path,
) -> None:
    activity = (
        "member_id,occurred_at,kind\n"
        "a,2024-01-03,post\n"  # kept
        "zz,2024-01-03,post\n"  # unknown member
        "yy,2024-01-04,post\n"  # unknown member
        "b,2024-01-01,post\n"  # before b joined (2024-01-02)
        "b,2024-01-05,post\n"  # kept
    )
    community = load(write_csvs(tmp_path, {**MINIMAL, "activity": activity}))
    assert community.activity.height == 2
    unknown = warning_about(community.report, "activity", "refer to members not in")
    assert (unknown.count, unknown.rows, unknown.column) == (2, (2, 3), "member_id")
    early = warning_about(community.report, "activity", "before the member joined")
    assert (early.count, early.rows) == (1, (4,))
    assert "left out of the analyses" in early.message


def test_ids_with_blanks_around_them_match_their_member(tmp_path: Path) -> None:
    """Ids are compared as stored first; one that matches only without its blanks makes the
    load strip every id (the contract's rule), in the checks and in every query."""
    activity = (
        "member_id,occurred_at,kind\n"
        " a ,2024-01-03,post\n"  # a, with blanks
        "b,2024-01-05,post\n"
        "zz,2024-01-03,post\n"  # unknown member
    )
    community = load(write_csvs(tmp_path, {**MINIMAL, "activity": activity}))
    assert community.events.strip_ids
    assert sorted(community.activity["member_id"].to_list()) == ["a", "b"]
    assert sorted(community.activity_summary["member_id"].to_list()) == ["a", "b"]
    unknown = warning_about(community.report, "activity", "refer to members not in")
    assert (unknown.count, unknown.rows) == (1, (3,))


def test_clean_ids_are_not_stripped_again(tmp_path: Path) -> None:
    activity = "member_id,occurred_at,kind\na,2024-01-03,post\nb,2024-01-05,post\n"
    community = load(write_csvs(tmp_path, {**MINIMAL, "activity": activity}))
    assert not community.events.strip_ids
    assert community.activity.height == 2


def test_rows_after_the_as_of_time_are_left_out(tmp_path: Path) -> None:
    members = "member_id,joined_at\na,2024-01-01\nb,2024-01-02\nc,2024-03-01\n"
    activity = "member_id,occurred_at,kind\na,2024-01-03,post\na,2024-02-10,post\nc,2024-03-02,x\n"
    milestones = "announced_at,title\n2024-01-10,Ten\n2024-02-20,Later\n"
    folder = write_csvs(
        tmp_path, {"members": members, "activity": activity, "milestones": milestones}
    )
    community = load(folder, as_of=datetime(2024, 2, 1, tzinfo=UTC))
    assert community.as_of == datetime(2024, 2, 1, tzinfo=UTC)
    assert community.members["member_id"].to_list() == ["a", "b"]
    assert community.activity.height == 1
    assert community.milestones is not None
    assert community.milestones["title"].to_list() == ["Ten"]
    assert warning_about(community.report, "members", "joined after the as-of").count == 1
    # c's activity refers to a member left out, a's later activity is after the as-of time
    assert warning_about(community.report, "activity", "after the as-of time").count == 1
    assert warning_about(community.report, "milestones", "after the as-of time").count == 1


def test_exposure_problems_are_dropped_and_counted(tmp_path: Path) -> None:
    items = "item_id,kind,title,published_at\nt1,testimonial,Great,2023-12-01\n"
    exposures = (
        "member_id,item_id,occurred_at\n"
        "a,t1,2024-01-02\n"  # kept
        "a,t9,2024-01-02\n"  # unknown item
        "q,t1,2024-01-02\n"  # unknown member
        "b,t1,2024-01-01\n"  # before b joined
    )
    community = load(
        write_csvs(tmp_path, {**MINIMAL, "proof_items": items, "exposures": exposures})
    )
    assert community.exposures is not None
    assert community.exposures.height == 1
    assert warning_about(community.report, "exposures", "items not in").rows == (2,)
    assert warning_about(community.report, "exposures", "members not in").rows == (3,)
    assert warning_about(community.report, "exposures", "before the member joined").rows == (4,)


def test_exposures_without_proof_items_are_ignored_with_a_warning(tmp_path: Path) -> None:
    exposures = "member_id,item_id,occurred_at\na,t1,2024-01-02\n"
    community = load(write_csvs(tmp_path, {**MINIMAL, "exposures": exposures}))
    assert community.exposures is None
    warning = warning_about(community.report, "exposures", "proof_items table is missing")
    assert warning.count == 1


def test_members_without_activity_and_empty_tables_are_warnings(tmp_path: Path) -> None:
    members = MINIMAL["members"] + "c,2024-01-05,ads\n"
    folder = write_csvs(
        tmp_path, {**MINIMAL, "members": members, "milestones": "announced_at,title\n"}
    )
    community = load(folder)
    quiet = warning_about(community.report, "members", "no activity at all")
    assert (quiet.count, quiet.rows) == (1, (3,))
    empty = warning_about(community.report, "milestones", "empty")
    assert empty.location == "milestones.csv"
    assert community.members.height == 3


def test_a_clean_source_has_no_issues(minimal_folder: Path) -> None:
    report = check_source(open_source(minimal_folder))
    assert report.ok
    assert report.issues == ()
    assert report.row_counts == {
        "members": 2, "activity": 2, "proof_items": None, "exposures": None, "milestones": None,
    }  # fmt: skip


# -- cleaning -----------------------------------------------------------------------------------


def test_timestamps_in_every_iso_form_become_utc(tmp_path: Path) -> None:
    members = (
        "member_id,joined_at\n"
        "a,2024-01-01\n"
        "b,2024-01-01T10:30\n"
        "c,2024-01-01 10:30:15\n"
        "d,2024-01-01T10:30:15.250Z\n"
        "e,2024-01-01T10:30:00+02:00\n"
        "f,2024-01-01T10:30:00-0530\n"
        "g, 2024-01-01T10:30:00+01 \n"
    )
    activity = "member_id,occurred_at,kind\na,2024-01-02,post\n"
    community = load(write_csvs(tmp_path, {"members": members, "activity": activity}))
    got = dict(zip(community.members["member_id"], community.members["joined_at"], strict=True))
    assert got == {
        "a": datetime(2024, 1, 1, tzinfo=UTC),
        "b": datetime(2024, 1, 1, 10, 30, tzinfo=UTC),
        "c": datetime(2024, 1, 1, 10, 30, 15, tzinfo=UTC),
        "d": datetime(2024, 1, 1, 10, 30, 15, 250_000, tzinfo=UTC),
        "e": datetime(2024, 1, 1, 8, 30, tzinfo=UTC),
        "f": datetime(2024, 1, 1, 16, 0, tzinfo=UTC),
        "g": datetime(2024, 1, 1, 9, 30, tzinfo=UTC),
    }


def test_parquet_timestamps_naive_are_utc_and_zoned_are_converted(tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    pl.DataFrame(
        {"member_id": [1, 2], "joined_at": [datetime(2024, 1, 1, 12), datetime(2024, 1, 2, 12)]}
    ).write_parquet(folder / "members.parquet")
    pl.DataFrame(
        {"member_id": ["1"], "occurred_at": [datetime(2024, 1, 3, 12)], "kind": ["post"]}
    ).with_columns(pl.col("occurred_at").dt.replace_time_zone("Europe/Berlin")).write_parquet(
        folder / "activity.parquet"
    )
    community = load(folder)
    assert community.members["member_id"].to_list() == ["1", "2"]
    assert community.members["joined_at"][0] == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert community.activity["occurred_at"][0] == datetime(2024, 1, 3, 11, tzinfo=UTC)
    assert community.activity.schema["occurred_at"] == pl.Datetime("us", "UTC")


def test_as_of_defaults_to_the_latest_timestamp_anywhere(tmp_path: Path) -> None:
    folder = write_csvs(
        tmp_path,
        {**MINIMAL, "milestones": "announced_at,title\n2024-02-01T08:00:00Z,Launch\n"},
    )
    community = load(folder)
    assert community.as_of == datetime(2024, 2, 1, 8, tzinfo=UTC)
    assert community.data_end == community.as_of


def test_milestone_ids_are_generated_in_time_order_when_absent(tmp_path: Path) -> None:
    milestones = "announced_at,title\n2024-01-05,Second\n2024-01-02,First\n"
    community = load(write_csvs(tmp_path, {**MINIMAL, "milestones": milestones}))
    assert community.milestones is not None
    assert community.milestones.select("milestone_id", "title").rows() == [
        ("milestone-001", "First"),
        ("milestone-002", "Second"),
    ]


def test_member_attributes_become_segments_unless_they_look_like_free_text(
    tmp_path: Path,
) -> None:
    rows = "\n".join(
        f"m{i},2024-01-01,{'ads' if i % 2 else 'organic'},person{i}@example.org,{i % 3}"
        for i in range(60)
    )
    activity = "member_id,occurred_at,kind\nm1,2024-01-02,post\n"
    community = load(
        write_csvs(
            tmp_path,
            {"members": "member_id,joined_at,channel,email,tier\n" + rows, "activity": activity},
        )
    )
    assert community.attributes == ("channel", "tier")
    assert "email" in community.members.columns
    assert community.segment_values("channel") == ["ads", "organic"]


def test_filter_members_keeps_their_activity_only(small_folder: Path) -> None:
    community = load(small_folder)
    ads = community.filter_members({"channel": ("ads",)})
    assert set(ads.members["channel"]) == {"ads"}
    assert ads.members.height == 30
    assert set(ads.activity["member_id"]) <= set(ads.members["member_id"])
    assert community.filter_members({"channel": ()}) is community


def test_kept_event_rows_are_only_for_large_communities_and_are_removed_on_close(
    demo_folder: Path,
) -> None:
    small = load_community(open_source(demo_folder))
    assert not small.keep_events()  # 10 k members: reading the source again costs less
    duck = load_community(open_source(demo_folder), engine="duckdb")
    assert duck.keep_events(min_rows=0)  # DuckDB keeps them in its own temporary folder
    spill = Path(duck.events.backend._spill)  # type: ignore[attr-defined]
    assert sorted(p.name.split("_", 2)[2] for p in spill.glob("kept_*.parquet")) == [
        "activity.parquet",
        "exposures.parquet",
    ]
    assert duck.activity_rows == small.activity_rows
    duck.events.backend.close()
    assert not spill.exists()
    community = load_community(open_source(demo_folder))
    community.events.backend.keep_in_memory_bytes = 0  # type: ignore[attr-defined]  # large
    assert community.keep_events(min_rows=0)
    assert community.events.kept
    assert not community.keep_events(min_rows=0)  # once
    folder = community.events.backend._kept  # type: ignore[attr-defined]
    assert folder is not None
    assert sorted(p.name for p in folder.iterdir()) == ["activity.parquet", "exposures.parquet"]
    kept = pl.read_parquet(folder / "activity.parquet")
    assert kept.height == community.activity_rows
    # timestamps are kept once, as integer microseconds, and rebuilt on reading
    assert kept.columns == ["member_key", "occurred_at_us", "joined_at_us", "kind"]
    read = community.frames().activity().to_native().collect()
    assert read.columns == ["member_key", "occurred_at", "occurred_at_us", "joined_at",
                            "joined_at_us", "kind"]  # fmt: skip
    assert read["occurred_at"].dt.epoch("us").equals(read["occurred_at_us"], check_names=False)
    # the kept rows answer as the source does: the same last activity per member
    segment = community.filter_members({"channel": ["organic"]})
    assert segment.activity_rows < community.activity_rows
    assert segment.activity.height == segment.activity_rows
    plain = small.filter_members({"channel": ["organic"]})
    step = 30 * 86_400_000_000
    (kept_counts,) = segment.collect(
        cohorts.cohort_cells(
            segment.frames().activity(cohorts.member_cohort("month")), step_us=step
        )
    )
    (plain_counts,) = plain.collect(
        cohorts.cohort_cells(plain.frames().activity(cohorts.member_cohort("month")), step_us=step)
    )
    assert kept_counts.sort(kept_counts.columns).equals(plain_counts.sort(plain_counts.columns))
    community.events.backend.close()
    assert not folder.exists()


def test_kept_rows_are_held_in_memory_while_they_fit_the_process_budget(
    demo_folder: Path,
) -> None:
    """Polars keeps the rows in memory while every backend's kept rows together fit the budget
    (no file is written), answers as the source does, and gives the room back on close; rows
    that would not fit go to the temporary file."""
    from analytics.io.backends.polars import KEPT_ROW_BYTES

    def month_cells(community):  # type: ignore[no-untyped-def]
        (cells,) = community.collect(
            cohorts.cohort_cells(
                community.frames().activity(cohorts.member_cohort("month")),
                step_us=30 * 86_400_000_000,
            )
        )
        return cells.sort(cells.columns)

    plain = load_community(open_source(demo_folder))
    held = load_community(open_source(demo_folder))
    backend = held.events.backend
    assert backend.keep_in_memory_bytes > 0  # type: ignore[attr-defined]
    assert held.keep_events(min_rows=0)
    assert backend._kept is None  # type: ignore[attr-defined]  # no temporary folder
    expected = (held.activity_rows + (held.exposure_rows or 0)) * KEPT_ROW_BYTES
    assert backend.held_in_memory == expected  # type: ignore[attr-defined]
    assert month_cells(held).equals(month_cells(plain))
    assert held.frames().activity().to_native().collect().columns == [
        "member_key", "occurred_at", "occurred_at_us", "joined_at", "joined_at_us", "kind"
    ]  # fmt: skip
    # a second community whose rows would pass the budget with the first's: a file
    other = load_community(open_source(demo_folder))
    other.events.backend.keep_in_memory_bytes = expected + 1  # type: ignore[attr-defined]
    assert other.keep_events(min_rows=0)
    assert other.events.backend.held_in_memory == 0  # type: ignore[attr-defined]
    folder = other.events.backend._kept  # type: ignore[attr-defined]
    assert sorted(p.name for p in folder.iterdir()) == ["activity.parquet", "exposures.parquet"]
    assert month_cells(other).equals(month_cells(plain))
    # the first gives its room back on close: now a third one's fit
    backend.close()
    assert backend.held_in_memory == 0  # type: ignore[attr-defined]
    third = load_community(open_source(demo_folder))
    third.events.backend.keep_in_memory_bytes = expected + 1  # type: ignore[attr-defined]
    assert third.keep_events(min_rows=0)
    assert third.events.backend._kept is None  # type: ignore[attr-defined]
    assert month_cells(third).equals(month_cells(plain))
    for community in (other, third, plain):
        community.events.backend.close()


@pytest.mark.parametrize("engine", [None, "duckdb"])
def test_restricted_events_read_into_memory_answer_as_the_kept_file(
    demo_folder: Path, engine: str | None
) -> None:
    """A restricted set of members' kept rows, read once into memory (the churn model's training
    sample), answers queries as the kept file does, for activity and exposures alike, and reads
    no file any more: with the kept files gone, only the lazy restriction fails."""
    import duckdb

    community = load_community(open_source(demo_folder), engine=engine)
    if engine is None:
        community.events.backend.keep_in_memory_bytes = 0  # type: ignore[attr-defined]  # a file
    assert community.keep_events(min_rows=0)
    events = community.events
    keys = events.keyed.filter(pl.col("member_id").str.ends_with("7")).select("member_key")
    lazy = events.restricted(keys, {})
    held = events.restricted(keys, {}, in_memory=True)
    step = 7 * 86_400_000_000

    def answers(restricted):  # type: ignore[no-untyped-def]
        frames = restricted.frames()
        exposures = frames.exposures()
        assert exposures is not None
        cells, first = restricted.collect(
            cohorts.cohort_cells(frames.activity(cohorts.member_cohort("week")), step_us=step),
            exposures.group_by("member_key", "item_id").agg(
                nw.col("occurred_at_us").min().alias("first_us")
            ),
        )
        return cells.sort(cells.columns), first.sort(first.columns)

    expected = answers(lazy)
    assert expected[0].height > 0
    assert expected[1].height > 0
    got = answers(held)
    assert got[0].equals(expected[0])
    assert got[1].equals(expected[1])
    backend = events.backend
    folder = Path(backend._kept if engine is None else backend._spill)  # type: ignore[attr-defined]
    files = list(folder.glob("*.parquet"))
    assert len(files) == 2
    for file in files:
        file.unlink()
    again = answers(held)
    assert again[0].equals(expected[0])
    assert again[1].equals(expected[1])
    with pytest.raises((OSError, pl.exceptions.PolarsError, duckdb.Error)):
        answers(lazy)
    backend.close()
