"""Milestones added on the dashboard: validated, transactional, persistent, UTC on every backend.

The core tests run on SQLite (a file in ``tmp_path``) and on PostgreSQL (``postgres_url``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa

from analytics.errors import DataSourceError
from analytics.io.milestone_store import (
    MilestoneStore,
    MilestoneValidationError,
    StoredMilestone,
)
from analytics.io.source import mask_url

T0 = datetime(2024, 1, 1, tzinfo=UTC)
RANGE = (T0, T0 + timedelta(days=90))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL for a fresh, empty database: a SQLite file or a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'app' / 'milestones.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(url: str) -> Iterator[MilestoneStore]:
    created = MilestoneStore(url)
    yield created
    created.close()


def _raw_rows(url: str) -> list[tuple[Any, ...]]:
    """The table's rows as the database holds them, read without the store."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = f"SELECT * FROM {MilestoneStore.TABLE} ORDER BY milestone_id"
            return [tuple(row) for row in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def _assert_utc(moment: datetime) -> None:
    assert moment.tzinfo is not None
    assert moment.utcoffset() == timedelta(0)


# -- round trip ---------------------------------------------------------------------------------


def test_add_list_update_delete_round_trip(store: MilestoneStore) -> None:
    assert store.list() == []
    later = store.add(announced_at=T0 + timedelta(days=45), title="Our first event")
    earlier = store.add(
        announced_at=T0 + timedelta(days=20, hours=9, microseconds=123456),
        title="  10,000 members!  ",
        channel=" newsletter ",
        valid_range=RANGE,
    )
    assert isinstance(earlier, StoredMilestone)
    assert earlier.milestone_id.startswith("user-")
    assert len(earlier.milestone_id) == len("user-") + 8
    assert earlier.milestone_id != later.milestone_id
    assert earlier.title == "10,000 members!"  # surrounding blanks removed
    assert earlier.channel == "newsletter"
    assert later.channel is None
    assert earlier.announced_at == T0 + timedelta(days=20, hours=9, microseconds=123456)
    assert earlier.created_at == earlier.updated_at
    assert store.list() == [earlier, later]  # ordered by announcement time

    edited = store.update(later.milestone_id, title="Our first meetup", channel="forum")
    assert edited.milestone_id == later.milestone_id
    assert (edited.title, edited.channel) == ("Our first meetup", "forum")
    assert edited.announced_at == later.announced_at  # not given: kept
    assert edited.created_at == later.created_at
    assert edited.updated_at >= later.updated_at

    moved = store.update(later.milestone_id, announced_at=T0 + timedelta(days=5), channel="")
    assert moved.channel is None  # "" removes the channel
    assert moved.title == "Our first meetup"
    assert [m.milestone_id for m in store.list()] == [later.milestone_id, earlier.milestone_id]

    store.delete(later.milestone_id)
    assert store.list() == [earlier]
    store.delete(earlier.milestone_id)
    assert store.list() == []


def test_update_without_changes_keeps_the_row(store: MilestoneStore) -> None:
    added = store.add(announced_at=T0, title="Launch", channel="blog")
    assert store.update(added.milestone_id) == added
    assert store.update(added.milestone_id, title=" Launch ", channel="blog") == added


def test_frame_has_the_contract_columns(store: MilestoneStore) -> None:
    schema = {
        "milestone_id": pl.String,
        "announced_at": pl.Datetime("us", "UTC"),
        "title": pl.String,
        "channel": pl.String,
    }
    empty = store.frame()
    assert empty.height == 0
    assert dict(empty.schema) == schema
    second = store.add(announced_at=T0 + timedelta(days=2), title="Second", channel="blog")
    first = store.add(announced_at=T0 + timedelta(days=1), title="First")
    frame = store.frame()
    assert dict(frame.schema) == schema
    assert frame["milestone_id"].to_list() == [first.milestone_id, second.milestone_id]
    assert frame["announced_at"].to_list() == [T0 + timedelta(days=1), T0 + timedelta(days=2)]
    assert frame["title"].to_list() == ["First", "Second"]
    assert frame["channel"].to_list() == [None, "blog"]


# -- validation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "give the milestone a title"),
        ({"title": "   \t\n"}, "give the milestone a title"),
        ({"title": "x" * 201}, "201 characters long; at most 200"),
        (
            {"announced_at": datetime(2023, 12, 31, 23, 0)},
            r"2023-12-31 23:00 UTC is outside the data's range, 2024-01-01 00:00 UTC "
            r"\(first signup\) to 2024-03-31 00:00 UTC \(as-of time\)",
        ),
        (
            {"announced_at": RANGE[1] + timedelta(seconds=1)},
            r"2024-03-31 00:00:01 UTC is outside the data's range",
        ),
        ({"announced_at": "2024-02-01"}, "must be a date and time"),
    ],
)
def test_add_refuses_invalid_milestones(
    store: MilestoneStore, fields: dict[str, Any], message: str
) -> None:
    arguments: dict[str, Any] = {"announced_at": T0 + timedelta(days=1), "title": "Launch"}
    with pytest.raises(MilestoneValidationError, match=message):
        store.add(**{**arguments, **fields}, valid_range=RANGE)
    assert store.list() == []


def test_validation_error_is_a_value_error() -> None:
    assert issubclass(MilestoneValidationError, ValueError)


def test_title_of_exactly_200_characters_and_range_bounds_are_accepted(
    store: MilestoneStore,
) -> None:
    store.add(announced_at=RANGE[0], title="x" * 200, valid_range=RANGE)
    store.add(announced_at=RANGE[1], title="end", valid_range=RANGE)
    assert len(store.list()) == 2


def test_update_refuses_invalid_changes_and_keeps_the_row(store: MilestoneStore) -> None:
    added = store.add(announced_at=T0 + timedelta(days=3), title="Launch", channel="blog")
    with pytest.raises(MilestoneValidationError, match="give the milestone a title"):
        store.update(added.milestone_id, title=" ")
    with pytest.raises(MilestoneValidationError, match="at most 200"):
        store.update(added.milestone_id, title="y" * 250)
    with pytest.raises(MilestoneValidationError, match="2025-01-01 00:00 UTC is outside"):
        store.update(added.milestone_id, announced_at=datetime(2025, 1, 1), valid_range=RANGE)
    assert store.list() == [added]


def test_unknown_id_is_named(store: MilestoneStore) -> None:
    store.add(announced_at=T0, title="Launch")
    before = store.list()
    with pytest.raises(MilestoneValidationError, match="'user-00000000'"):
        store.update("user-00000000", title="Renamed")
    with pytest.raises(MilestoneValidationError, match="'user-00000000'"):
        store.delete("user-00000000")
    with pytest.raises(MilestoneValidationError, match=r"'milestone-001'.*read-only"):
        store.delete("milestone-001")  # a milestone from the data source
    assert store.list() == before


# -- time zones ---------------------------------------------------------------------------------


def test_timestamps_stay_utc_aware(store: MilestoneStore, url: str) -> None:
    plus_two = timezone(timedelta(hours=2))
    naive = store.add(announced_at=datetime(2024, 2, 1, 12, 30), title="naive")
    shifted = store.add(announced_at=datetime(2024, 2, 1, 12, 30, tzinfo=plus_two), title="+2")
    assert naive.announced_at == datetime(2024, 2, 1, 12, 30, tzinfo=UTC)  # naive taken as UTC
    assert shifted.announced_at == datetime(2024, 2, 1, 10, 30, tzinfo=UTC)
    if url.startswith("postgresql"):
        # The database's session time zone must not leak into what the store returns.
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            name = sa.make_url(url).database
            conn.execute(sa.text(f"ALTER DATABASE \"{name}\" SET timezone TO 'Asia/Kolkata'"))
        engine.dispose()
        store.close()  # new connections pick up the new default
    fresh = MilestoneStore(url)
    stored = fresh.list()
    fresh.close()
    assert [m.title for m in stored] == ["+2", "naive"]
    for m in stored:
        for moment in (m.announced_at, m.created_at, m.updated_at):
            _assert_utc(moment)
    assert stored[0].announced_at == datetime(2024, 2, 1, 10, 30, tzinfo=UTC)
    assert stored[1].announced_at == datetime(2024, 2, 1, 12, 30, tzinfo=UTC)


def test_sqlite_keeps_utc_wall_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    store = MilestoneStore(url)
    store.add(
        announced_at=datetime(2024, 2, 1, 12, 30, tzinfo=timezone(timedelta(hours=-5))),
        title="Launch",
    )
    store.close()
    ((_, announced_at, *_),) = _raw_rows(url)
    assert str(announced_at).startswith("2024-02-01 17:30:00")


# -- transactions and errors --------------------------------------------------------------------


def _fail_after(store: MilestoneStore, verb: str) -> None:
    """Make the store's database raise right after it ran a statement starting with ``verb``:
    the statement has changed the table, so only a rollback can undo it."""

    def explode(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(verb):
            raise sa.exc.OperationalError(statement, {}, Exception("disk I/O error"))

    sa.event.listen(store._engine, "after_cursor_execute", explode)  # this store's engine only


def test_failing_writes_change_nothing(store: MilestoneStore, url: str) -> None:
    kept = store.add(announced_at=T0, title="Launch", channel="blog")
    before = _raw_rows(url)
    for verb in ("INSERT", "UPDATE", "DELETE"):
        _fail_after(store, verb)
    with pytest.raises(DataSourceError, match="rolled back, nothing was changed") as failed:
        store.add(announced_at=T0 + timedelta(days=1), title="Second")
    assert mask_url(url) in str(failed.value)
    with pytest.raises(DataSourceError, match="rolled back"):
        store.update(kept.milestone_id, title="Renamed", announced_at=T0 + timedelta(days=2))
    with pytest.raises(DataSourceError, match="rolled back"):
        store.delete(kept.milestone_id)
    assert _raw_rows(url) == before
    assert MilestoneStore(url).list() == [kept]


def test_database_error_from_the_insert_itself(
    store: MilestoneStore, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write the database itself refuses (here a NOT NULL violation) is reported too."""
    from analytics.io import milestone_store

    store.add(announced_at=T0, title="Launch")
    before = _raw_rows(url)
    monkeypatch.setattr(milestone_store, "_now", lambda: None)
    with pytest.raises(DataSourceError, match=r"IntegrityError.*rolled back"):
        store.add(announced_at=T0 + timedelta(days=1), title="Second")
    assert _raw_rows(url) == before


@pytest.mark.postgres
def test_error_message_masks_the_password(postgres_url: str) -> None:
    # The test server trusts every login, so a password in the URL is accepted and ignored.
    parsed = sa.make_url(postgres_url)
    with_password = parsed.set(password="s3cret").render_as_string(hide_password=False)
    store = MilestoneStore(with_password)
    _fail_after(store, "INSERT")
    with pytest.raises(DataSourceError) as failed:
        store.add(announced_at=T0, title="Launch")
    store.close()
    assert "s3cret" not in str(failed.value)
    assert "***" in str(failed.value)


def test_unreachable_database_is_a_data_source_error() -> None:
    with pytest.raises(DataSourceError, match=r"ann:\*\*\*@127\.0\.0\.1:9") as failed:
        MilestoneStore("postgresql+psycopg://ann:s3cret@127.0.0.1:9/none")
    assert "s3cret" not in str(failed.value)


def test_foreign_table_of_the_same_name_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {MilestoneStore.TABLE} (id INTEGER)"))
    engine.dispose()
    with pytest.raises(DataSourceError, match="lacks milestone_id, announced_at"):
        MilestoneStore(url)


# -- persistence --------------------------------------------------------------------------------


def test_a_new_store_sees_what_an_earlier_one_wrote(url: str) -> None:
    first = MilestoneStore(url)
    added = first.add(announced_at=T0 + timedelta(days=7), title="Week one", channel="blog")
    first.close()
    second = MilestoneStore(url)  # the table exists now: it is kept, not recreated
    assert second.list() == [added]
    assert second.frame()["milestone_id"].to_list() == [added.milestone_id]
    second.close()


def test_two_stores_on_one_sqlite_file_take_turns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    one, two = MilestoneStore(url), MilestoneStore(url)
    a = one.add(announced_at=T0 + timedelta(days=1), title="From one")
    b = two.add(announced_at=T0 + timedelta(days=2), title="From two")
    assert one.list() == two.list() == [a, b]
    edited = two.update(a.milestone_id, title="Edited by two")
    one.delete(b.milestone_id)
    assert two.list() == one.list() == [edited]
    one.close()
    two.close()
