"""Member-level output of the command line (`proofboard risk`, which prints member ids) is
recorded in the audit log before it is printed, as the dashboard records member-level
downloads: in the source database when it is a store with an audit log (SQLite and
PostgreSQL), in $PROOFBOARD_STORE when set; a folder source is never written to, and a failure
to record prints nothing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from analytics.io import write_tables
from analytics.io.history import AUDIT_TABLE, read_audit
from dashboard.cli import main
from dashboard.cli.common import ENV_STORE, audit_member_output
from tests.conftest import small_community_tables


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path, demo_folder: Path) -> str:
    """A store holding the demo community, written by `proofboard ingest` (so it has an
    audit log)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'store.db'}"
    else:
        url = str(request.getfixturevalue("postgres_url"))
    assert main(["ingest", str(demo_folder), "--to", url]) == 0
    return url


def _files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture(autouse=True)
def _no_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_STORE, raising=False)


def test_risk_from_a_store_is_recorded_in_its_audit_log_without_member_ids(
    store: str, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["risk", "--data", store, "--json"]) == 0
    members = json.loads(capsys.readouterr().out)["members"]
    assert len(members) > 50
    audit = read_audit(store)
    assert audit["action"].to_list() == ["export", "ingest"]  # newest first
    export = audit.row(0, named=True)
    assert export["who"] == "local"
    assert export["what"] == "downloaded member-level data"
    assert f"proofboard risk --json: {len(members):,} member(s)" in export["detail"]
    assert "command line" in export["detail"]
    assert not any(m["member_id"] in export["detail"] for m in members)
    # the table on the terminal names members too: recorded with how many it showed
    assert main(["risk", "--data", store, "--top", "3"]) == 0
    assert "proofboard risk --top 3: 3 member(s)" in read_audit(store)["detail"][0]


def test_risk_from_a_folder_writes_nothing_into_it_and_says_it_is_not_recorded(
    demo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _files(demo_folder)
    assert main(["risk", "--data", str(demo_folder), "--top", "2"]) == 0
    out = capsys.readouterr()
    assert "Held-out ROC AUC" in out.out  # printed as before
    assert "not recorded in an audit log: it is a folder" in out.err
    assert ENV_STORE in out.err
    assert _files(demo_folder) == before  # no proofboard.db, no journal, nothing changed


def test_risk_from_a_folder_is_recorded_in_the_store_named_by_the_environment(
    demo_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = f"sqlite:///{tmp_path / 'audit.db'}"
    monkeypatch.setenv(ENV_STORE, log)
    assert main(["risk", "--data", str(demo_folder), "--top", "2"]) == 0
    assert "not recorded" not in capsys.readouterr().err
    [detail] = read_audit(log)["detail"].to_list()
    assert detail.startswith("proofboard risk --top 2: 2 member(s)")
    assert str(demo_folder) in detail


def test_a_failure_to_record_prints_no_member_data(
    demo_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(ENV_STORE, str(tmp_path))  # a folder: no audit log can be kept there
    assert main(["risk", "--data", str(demo_folder), "--json"]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert "Could not record this member-level output in the audit log" in out.err
    assert "nothing was printed" in out.err
    assert "Traceback" not in out.err


def test_a_database_without_an_audit_log_is_not_written_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'plain.db'}"
    write_tables(small_community_tables(), url)  # someone else's database: no audit log
    before = _tables(url)
    assert audit_member_output(url, "proofboard risk --json: 3 member(s)") is False
    assert "that database has no audit log" in capsys.readouterr().err
    assert _tables(url) == before
    assert AUDIT_TABLE not in before


def test_risk_help_says_what_is_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["risk", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "recorded in the audit log first" in text
    assert "A folder source, or a database without an audit log, is never written to" in text
