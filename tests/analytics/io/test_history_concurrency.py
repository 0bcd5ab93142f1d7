"""Two writers replacing the community of one database at the same time (two `ingest` runs, or
an upload Save while an `ingest` runs): every replace succeeds, keeps the community it replaced
as a snapshot with its own number, and the keep-N pruning leaves exactly the newest N, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import threading
from itertools import pairwise
from pathlib import Path

import pytest
import sqlalchemy as sa

from analytics.contract import TABLE_NAMES
from analytics.io import write_database
from analytics.io.history import list_snapshots, read_audit, restore_snapshot
from analytics.io.write import Replace
from tests.analytics.io.test_history import _community, _tables

WRITERS = 2
ROUNDS = 4
KEEP = 5


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _run_at_once(work: list[tuple[str, object]]) -> list[BaseException]:
    """Run each ``(name, callable)`` in its own thread, all released at the same moment;
    returns the exceptions raised."""
    start = threading.Barrier(len(work))
    failures: list[BaseException] = []

    def run(job: object) -> None:
        start.wait()
        try:
            job()  # type: ignore[operator]
        except BaseException as exc:  # collected and asserted on below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(job,), name=name) for name, job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return failures


def _writer(url: str, writer: int) -> object:
    def write() -> None:
        for round_ in range(ROUNDS):
            n = 10 * (writer + 1) + round_  # every community has its own size
            write_database(
                _community(n),
                url,
                drop=TABLE_NAMES,
                replace=Replace(f"writer{writer}", "ingest", "test:", keep=KEEP),
            )

    return write


def _written_sizes(url: str) -> list[tuple[int, int | None]]:
    """Per replace in commit order: members written, and the snapshot it kept (if any)."""
    audit = read_audit(url).reverse()  # oldest first
    out = []
    for detail in audit["detail"]:
        wrote = re.search(r"wrote members (\d+)", detail)
        kept = re.search(r"the previous community is snapshot (\d+)", detail)
        assert wrote is not None, detail
        out.append((int(wrote.group(1)), int(kept.group(1)) if kept else None))
    return out


def test_concurrent_replaces_get_their_own_snapshot_and_prune_to_the_newest(url: str) -> None:
    write_database(
        _community(3), url, drop=TABLE_NAMES, replace=Replace("setup", "ingest", keep=KEEP)
    )
    failures = _run_at_once([(f"writer{w}", _writer(url, w)) for w in range(WRITERS)])
    assert failures == []

    replaces = WRITERS * ROUNDS
    written = _written_sizes(url)
    assert len(written) == 1 + replaces
    # each replace kept the community committed just before it, under the next number
    assert [kept for _, kept in written] == [None, *range(1, replaces + 1)]
    snapshots = {s.snapshot_id: s for s in list_snapshots(url)}
    assert sorted(snapshots) == list(range(replaces - KEEP + 1, replaces + 1))
    for (previous, _), (_, kept) in pairwise(written):
        assert kept is not None
        if kept in snapshots:
            assert snapshots[kept].rows == {"members": previous, "activity": previous}
    # pruned snapshots took their tables with them; kept ones have all of theirs
    on_disk = {t for t in _tables(url) if t.startswith("proofboard_snapshot_")}
    assert on_disk == {
        f"proofboard_snapshot_{i}_{table}" for i in snapshots for table in ("members", "activity")
    }
    # the live community is what the last replace wrote
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            live = conn.execute(sa.text("SELECT COUNT(*) FROM members")).scalar_one()
    finally:
        engine.dispose()
    assert live == written[-1][0]


def test_a_restore_racing_a_replace_loses_nothing(url: str) -> None:
    for n in (3, 4):
        write_database(
            _community(n), url, drop=TABLE_NAMES, replace=Replace("setup", "ingest", keep=KEEP)
        )

    def restore() -> None:
        restore_snapshot(url, 1, actor="restorer", keep=KEEP)

    failures = _run_at_once([("writer", _writer(url, 0)), ("restorer", restore)])
    assert failures == []
    ids = [s.snapshot_id for s in list_snapshots(url)]
    assert len(ids) == len(set(ids)) == KEEP  # 1 + 4 replaces + 1 restore taken, 5 kept
    assert ids == sorted(ids, reverse=True)
    assert ids[0] == 1 + ROUNDS + 1
    audit = read_audit(url)
    assert sorted(audit["action"].to_list()) == ["ingest"] * (2 + ROUNDS) + ["restore"]
