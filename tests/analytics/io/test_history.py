"""Nothing lost: snapshots kept on every replace, restore (undoable), the audit log and erasure,
on SQLite and on PostgreSQL, each all or nothing."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from analytics.community import load_community
from analytics.errors import DataSourceError
from analytics.io import open_source, write_database
from analytics.io.history import (
    AUDIT_TABLE,
    SNAPSHOTS_TABLE,
    forget_members,
    keep_snapshots,
    list_snapshots,
    read_audit,
    record_audit,
    restore_snapshot,
)
from analytics.io.milestone_store import MilestoneStore
from analytics.io.write import Replace
from tests.conftest import small_community_tables


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _community(n: int) -> dict[str, pl.DataFrame]:
    """A small community of ``n`` members, each with one activity row."""
    joined = datetime(2024, 1, 1, tzinfo=UTC)
    members = pl.DataFrame(
        {"member_id": [f"u{i}" for i in range(n)], "joined_at": [joined] * n},
        schema={"member_id": pl.String, "joined_at": pl.Datetime("us", "UTC")},
    )
    activity = pl.DataFrame(
        {
            "member_id": [f"u{i}" for i in range(n)],
            "occurred_at": [datetime(2024, 2, 1, tzinfo=UTC)] * n,
            "kind": ["post"] * n,
        },
        schema={"member_id": pl.String, "occurred_at": pl.Datetime("us", "UTC"), "kind": pl.String},
    )
    return {"members": members, "activity": activity}


def _replace(url: str, tables: dict[str, pl.DataFrame], keep: int | None = None) -> object:
    from analytics.contract import TABLE_NAMES

    return write_database(
        tables, url, drop=TABLE_NAMES, replace=Replace("ann", "save", "test:", keep=keep)
    )


def _tables(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def checksum(url: str) -> dict[str, str]:
    """A checksum of every table's rows (sorted), to tell that nothing changed."""
    engine = sa.create_engine(url)
    sums = {}
    try:
        with engine.connect() as conn:
            for table in sorted(sa.inspect(conn).get_table_names()):
                rows = conn.execute(sa.text(f'SELECT * FROM "{table}"')).all()
                text = "\n".join(sorted(repr(tuple(r)) for r in rows))
                sums[table] = hashlib.sha256(text.encode()).hexdigest()
    finally:
        engine.dispose()
    return sums


def _members(url: str) -> list[str]:
    return sorted(load_community(open_source(url)).members["member_id"].to_list())


def test_every_replace_keeps_the_previous_community_and_only_the_last_n(url: str) -> None:
    assert _replace(url, _community(3)) is None  # nothing to keep yet
    for n in (4, 5, 6):
        snapshot = _replace(url, _community(n), keep=2)
        assert snapshot is not None
    snapshots = list_snapshots(url)
    assert [s.snapshot_id for s in snapshots] == [3, 2]  # newest first, two kept
    assert snapshots[0].rows == {"members": 5, "activity": 5}
    assert snapshots[0].actor == "ann"
    assert snapshots[1].rows == {"members": 4, "activity": 4}
    names = _tables(url)
    assert "proofboard_snapshot_1_members" not in names  # pruned with its tables
    assert {"proofboard_snapshot_2_members", "proofboard_snapshot_3_activity"} <= set(names)
    assert len(_members(url)) == 6
    # the audit log names who saved, and the snapshot each save kept
    audit = read_audit(url)
    assert audit["action"].to_list() == ["save"] * 4
    assert "the previous community is snapshot 3" in audit["detail"][0]


def test_restore_puts_a_snapshot_back_and_can_itself_be_undone(url: str) -> None:
    _replace(url, small_community_tables())
    before = checksum(url)
    _replace(url, _community(3))  # snapshot 1: the hand-made community with its milestones
    restored, saved = restore_snapshot(url, actor="bob")
    assert restored.snapshot_id == 1
    assert saved is not None
    assert saved.snapshot_id == 2
    community = load_community(open_source(url))
    assert community.members.height == 60
    assert community.milestones is not None
    after = checksum(url)
    for table in small_community_tables():  # every row back, as it was
        assert after[table] == before[table]
    restore_snapshot(url, saved.snapshot_id, actor="bob")  # undo
    assert _members(url) == ["u0", "u1", "u2"]
    assert "milestones" not in _tables(url)
    audit = read_audit(url)
    assert audit["action"].to_list()[:2] == ["restore", "restore"]
    assert audit["who"][0] == "bob"


def test_restore_refuses_unknown_snapshots_and_changes_nothing(url: str) -> None:
    _replace(url, _community(3))
    with pytest.raises(DataSourceError, match="has no snapshots yet"):
        restore_snapshot(url, actor="x")
    _replace(url, _community(4))
    before = checksum(url)
    with pytest.raises(DataSourceError, match="has no snapshot 7; it has 1"):
        restore_snapshot(url, 7, actor="x")
    assert checksum(url) == before


def test_a_failed_replace_keeps_no_snapshot_and_changes_nothing(url: str) -> None:
    _replace(url, _community(3))
    _replace(url, _community(4))
    before = checksum(url)
    doubled = _community(2)
    doubled["members"] = pl.concat([doubled["members"], doubled["members"]])  # duplicate key
    with pytest.raises(DataSourceError, match="rolled back, nothing was changed"):
        _replace(url, doubled)
    assert checksum(url) == before
    assert [s.snapshot_id for s in list_snapshots(url)] == [1]


def test_forget_removes_members_from_every_table_and_snapshot_without_logging_ids(
    url: str,
) -> None:
    _replace(url, _community(3))
    _replace(url, _community(5))
    result = forget_members(url, ["u1", " u2 ", "nobody"], actor="dpo")
    assert result.found == 2
    assert result.requested == 3
    assert result.removed == {
        "activity": 2,
        "members": 2,
        "snapshot 1 activity": 2,
        "snapshot 1 members": 2,
    }
    assert _members(url) == ["u0", "u3", "u4"]
    assert list_snapshots(url)[0].rows == {"members": 1, "activity": 1}  # counts kept true
    restore_snapshot(url, 1, actor="x")
    assert _members(url) == ["u0"]  # gone from the snapshot too
    audit = read_audit(url)
    line = audit.filter(pl.col("action") == "forget")
    assert line.height == 1
    assert line["who"][0] == "dpo"
    for member in ("u1", "u2", "nobody"):
        assert member not in line["detail"][0]
    assert "2 of 3 member(s)" in line["detail"][0]


def test_forget_refuses_a_folder_and_no_ids(tmp_path: Path, url: str) -> None:
    with pytest.raises(DataSourceError, match="is a folder: snapshots, the audit log and erasure"):
        forget_members(str(tmp_path), ["u1"], actor="x")
    _replace(url, _community(2))
    before = checksum(url)
    with pytest.raises(DataSourceError, match="No member id given"):
        forget_members(url, ["  "], actor="x")
    assert checksum(url) == before


def test_keep_zero_keeps_no_snapshot_and_the_setting_is_checked(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _replace(url, _community(2))
    assert _replace(url, _community(3), keep=0) is None
    assert list_snapshots(url) == []
    monkeypatch.setenv("PROOFBOARD_KEEP_SNAPSHOTS", "3")
    assert keep_snapshots() == 3
    assert keep_snapshots(1) == 1
    monkeypatch.setenv("PROOFBOARD_KEEP_SNAPSHOTS", "many")
    with pytest.raises(DataSourceError, match="whole number"):
        keep_snapshots()


def test_audit_log_records_and_reads_and_creates_nothing_to_read(url: str, tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert read_audit(missing).is_empty()
    assert not (tmp_path / "none.db").exists()
    record_audit(url, actor="ann", action="export", detail="members at risk: 12 row(s)")
    audit = read_audit(url)
    assert audit.columns == ["when (UTC)", "who", "action", "what", "detail"]
    assert audit.row(0)[1:] == (
        "ann",
        "export",
        "downloaded member-level data",
        "members at risk: 12 row(s)",
    )
    with pytest.raises(ValueError, match="unknown audit action"):
        record_audit(url, actor="ann", action="peek", detail="")
    assert {AUDIT_TABLE} <= set(_tables(url))
    assert SNAPSHOTS_TABLE not in _tables(url)


def test_milestone_changes_are_audited_in_their_transaction(url: str) -> None:
    store = MilestoneStore(url)
    try:
        added = store.add(announced_at=datetime(2024, 3, 1, tzinfo=UTC), title="1k!", actor="cat")
        store.update(added.milestone_id, title="1,000!", actor="cat")
        store.delete(added.milestone_id, actor="dan")
    finally:
        store.close()
    audit = read_audit(url)
    assert audit["action"].to_list() == ["milestone_delete", "milestone_edit", "milestone_add"]
    assert audit["who"].to_list() == ["dan", "cat", "cat"]
    assert "'1,000!'" in audit["detail"][1]
