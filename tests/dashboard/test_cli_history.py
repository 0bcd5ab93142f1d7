"""The command line of "nothing lost": ingest stores the source as it is and keeps the previous
community as a snapshot, `restore` lists and puts back snapshots, `forget` removes members
everywhere, `import --replace` replaces a whole community, and a .7z archive has an
extraction cap."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from analytics.community import load_community
from analytics.io import open_source
from dashboard.cli import main
from tests.analytics.io.test_stackexchange import _dump
from tests.conftest import write_csvs

MEMBERS = (
    "member_id,joined_at,left_at\n"
    "a,2024-01-01,\n"
    "b,2024-01-02,2023-12-01\n"  # left before joining: ignored by the analyses, kept in store
    "c,2024-01-03,\n"
)
ACTIVITY = (
    "member_id,occurred_at,kind\n"
    "a,2024-01-05,post\n"
    "b,2024-01-06,post\n"
    "c,2024-01-07,comment\n"
    "zz,2024-01-08,post\n"  # an unknown member: left out of the analyses, kept in store
)


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def _files(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_ingest_stores_the_source_as_it_is_and_analyses_still_leave_rows_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csvs(tmp_path / "src", {"members": MEMBERS, "activity": ACTIVITY})
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["ingest", str(source), "--to", url]) == 0
    err = capsys.readouterr().err
    assert "left out of the analyses" in err
    assert "(stored as it is)" in err
    # every row and value stored
    assert _rows(url, "SELECT member_id FROM activity ORDER BY member_id") == [
        ("a",),
        ("b",),
        ("c",),
        ("zz",),
    ]
    left = _rows(url, "SELECT left_at FROM members WHERE member_id = 'b'")[0][0]
    assert str(left).startswith("2023-12-01")
    # the analyses still leave them out, at every load
    community = load_community(open_source(url))
    assert community.activity_rows == 3
    assert community.members.filter(community.members["member_id"] == "b")["left_at"][0] is None
    assert any("left out of the analyses" in i.text() for i in community.report.warnings)


def test_ingest_keeps_snapshots_and_restore_lists_restores_and_undoes(
    small_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    small = write_csvs(tmp_path / "src", {"members": MEMBERS, "activity": ACTIVITY})
    assert main(["restore", "--to", url, "--list"]) == 0
    assert "has no snapshots yet" in capsys.readouterr().out
    assert main(["ingest", str(small_folder), "--to", url]) == 0
    assert "kept as snapshot" not in capsys.readouterr().out  # nothing to keep the first time
    assert main(["ingest", str(small), "--to", url]) == 0
    assert "The previous community is kept as snapshot 1" in capsys.readouterr().out
    assert main(["restore", "--to", url, "--list"]) == 0
    listed = capsys.readouterr().out
    assert "#1 of " in listed
    assert "by local (ingest): members 60" in listed
    assert main(["restore", "--to", url]) == 0
    out = capsys.readouterr().out
    assert "Restored snapshot #1" in out
    assert "--snapshot 2` undoes this" in out
    assert load_community(open_source(url)).members.height == 60
    assert main(["restore", "--to", url, "--snapshot", "2"]) == 0
    assert load_community(open_source(url)).members.height == 3
    before = _files(tmp_path)
    assert main(["restore", "--to", url, "--snapshot", "9"]) == 1
    err = capsys.readouterr().err
    assert "has no snapshot 9; it has 3, 2, 1" in err
    assert "Nothing was changed" in err
    assert _files(tmp_path) == before
    actions = [a for (a,) in _rows(url, "SELECT action FROM proofboard_audit ORDER BY audit_id")]
    assert actions == ["ingest", "ingest", "restore", "restore"]


def test_ingest_keep_snapshots_flag(small_folder: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    for _ in range(4):
        assert main(["ingest", str(small_folder), "--to", url, "--keep-snapshots", "2"]) == 0
    assert _rows(url, "SELECT snapshot_id FROM proofboard_snapshots ORDER BY 1") == [(2,), (3,)]


def test_forget_prints_rows_per_table_and_refuses_a_folder(
    small_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["ingest", str(small_folder), "--to", url]) == 0
    assert main(["ingest", str(small_folder), "--to", url]) == 0
    capsys.readouterr()
    ids = tmp_path / "ids.txt"
    ids.write_text("m01\n\nm02\n", encoding="utf-8")
    assert main(["forget", "m00", "--ids-file", str(ids), "--data", url]) == 0
    out = capsys.readouterr().out
    assert "3 of 3 member(s) were in the members table" in out
    assert "  members: 3 row(s)" in out
    assert "  snapshot 1 members: 3 row(s)" in out
    assert "Recorded in the audit log (without the ids)" in out
    assert load_community(open_source(url)).members.height == 57
    detail = _rows(url, "SELECT detail FROM proofboard_audit WHERE action = 'forget'")[0][0]
    assert "m00" not in str(detail)
    before = _files(small_folder)
    assert main(["forget", "m03", "--data", str(small_folder)]) == 1
    err = capsys.readouterr().err
    assert "is a folder: snapshots, the audit log and erasure need a database" in err
    assert _files(small_folder) == before


def test_import_replace_removes_the_older_community_of_a_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = _dump(tmp_path / "dump")
    out = write_csvs(
        tmp_path / "out",
        {
            "members": MEMBERS,
            "activity": ACTIVITY,
            "milestones": "milestone_id,announced_at,title\nm,2030-01-01,Old\n",
        },
    )
    before = _files(out)
    assert main(["import", "stackexchange", str(dump), "--out", str(out)]) == 1
    assert "milestones.csv, which this import would not replace" in capsys.readouterr().err
    assert _files(out) == before
    assert main(["import", "stackexchange", str(dump), "--out", str(out), "--replace"]) == 0
    assert "Removed the earlier tables milestones.csv" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "activity.parquet",
        "exposures.parquet",
        "members.parquet",
        "proof_items.parquet",
    ]
    assert load_community(open_source(out)).milestones is None


def test_import_replace_into_a_database_keeps_the_older_community_as_a_snapshot(
    small_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["ingest", str(small_folder), "--to", url]) == 0
    dump = _dump(tmp_path / "dump")
    assert main(["import", "stackexchange", str(dump), "--out", url]) == 1
    assert "already holds the table(s) milestones" in capsys.readouterr().err
    assert main(["import", "stackexchange", str(dump), "--out", url, "--replace"]) == 0
    assert "kept as snapshot 1" in capsys.readouterr().out
    community = load_community(open_source(url))
    assert community.milestones is None
    assert community.members.height == 2
    assert main(["restore", "--to", url]) == 0
    assert load_community(open_source(url)).members.height == 60


def test_a_7z_archive_over_the_extraction_cap_is_refused_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import py7zr

    dump = _dump(tmp_path / "dump")
    # 8 MB of blanks inside Users.xml: a few KB packed, far more than 20 times that unpacked
    users = dump / "Users.xml"
    users.write_bytes(users.read_bytes().replace(b"<users>", b"<users>" + b" " * 8_000_000))
    archive = tmp_path / "site.7z"
    with py7zr.SevenZipFile(archive, mode="w") as packed:
        for name in ("Users.xml", "Posts.xml", "Badges.xml"):
            packed.write(dump / name, arcname=f"site/{name}")  # a top folder, too
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    out = tmp_path / "out"
    assert main(["import", "stackexchange", str(archive), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "site.7z unpacks to 7.6 MB, more than the limit of" in err
    assert "--max-extracted-bytes" in err
    assert list(scratch.iterdir()) == []
    assert not out.exists()
    # a limit given explicitly: raised, the archive imports; lowered, refused
    args = ["import", "stackexchange", str(archive), "--out", str(out)]
    assert main([*args, "--max-extracted-bytes", "20MB"]) == 0
    assert load_community(open_source(out)).members.height == 2
    assert main([*args, "--replace", "--max-extracted-bytes", "1KB"]) == 1
    assert "more than the limit of 1,000 bytes" in capsys.readouterr().err
    assert list(scratch.iterdir()) == []
    with pytest.raises(SystemExit) as refused:
        main([*args, "--max-extracted-bytes", "lots"])
    assert refused.value.code == 2
    assert "'lots' is not a size" in capsys.readouterr().err
