"""The embedded default store: created with the demo on first run, never half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics import embedded
from analytics.community import load_community
from analytics.io import open_source, read_json


def test_first_run_creates_the_database_and_truth(tmp_path: Path) -> None:
    db = tmp_path / "data" / "proofboard.db"
    steps: list[float] = []
    assert embedded.ensure_default_database(db, progress=lambda _s, f: steps.append(f)) is True
    community = load_community(open_source(embedded.default_url(db)))
    assert community.members.height == embedded.DEFAULT_DEMO_MEMBERS
    assert community.milestones is not None
    assert community.milestones.height > 0
    truth = read_json(tmp_path / "data" / "truth.json")
    assert truth["parameters"]["members"] == embedded.DEFAULT_DEMO_MEMBERS
    assert steps == sorted(steps)
    assert steps[-1] == 1.0
    assert [p.name for p in db.parent.iterdir() if p.name.endswith(".tmp")] == []
    assert embedded.ensure_default_database(db) is False  # second run: left alone


def test_interrupted_rebuild_keeps_the_old_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "proofboard.db"
    embedded.build_default_database(db, members=200, seed=1)
    before = db.read_bytes()

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(embedded, "write_tables", interrupted)
    with pytest.raises(KeyboardInterrupt):
        embedded.build_default_database(db, members=300, seed=2)
    assert db.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_database_holding_only_the_apps_own_tables_gets_the_demo_beside_them(
    tmp_path: Path,
) -> None:
    """An audit line (or a subscription) written before the first page asked for the data
    creates the file: the demo community is still written, and the audit log is kept."""
    from analytics.io.history import read_audit, record_audit

    path = tmp_path / "proofboard.db"
    url = embedded.default_url(path)
    record_audit(url, actor="local", action="export", detail="members.csv")
    assert path.is_file()
    assert embedded.needs_demo(path)

    assert embedded.ensure_default_database(path)
    assert not embedded.needs_demo(path)
    community = load_community(open_source(url))
    assert community.members.height > 0
    assert read_audit(url).select("who", "action", "detail").row(0) == (
        "local",
        "export",
        "members.csv",
    )
    assert not embedded.ensure_default_database(path)  # nothing to do the second time
