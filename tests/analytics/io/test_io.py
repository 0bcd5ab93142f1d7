"""Reading and writing sources: folders, SQLite, PostgreSQL; writes are all-or-nothing."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa

from analytics.community import load_community
from analytics.errors import DataSourceError
from analytics.io import (
    FolderSource,
    FrameSource,
    SqlSource,
    check_database,
    mask_url,
    open_source,
    read_json,
    scrub_secret,
    truth_path_for,
    write_database,
    write_folder,
    write_json,
)
from analytics.io import write as write_module
from tests.conftest import small_community_tables

TABLES = small_community_tables()


def _same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert a.columns == b.columns
    assert a.sort(a.columns).equals(b.sort(b.columns)), (a.head(), b.head())


def _roundtrip(source_spec: str | Path) -> None:
    community = load_community(open_source(source_spec))
    expected = load_community(open_source(_write_reference_folder()))
    _same(community.members, expected.members)
    _same(community.activity, expected.activity)
    assert community.milestones is not None
    assert expected.milestones is not None
    _same(community.milestones, expected.milestones)


_REFERENCE: list[Path] = []


def _write_reference_folder() -> Path:
    return _REFERENCE[0]


@pytest.fixture(autouse=True)
def reference(tmp_path: Path) -> None:
    folder = tmp_path / "reference"
    write_folder(TABLES, folder)
    _REFERENCE[:] = [folder]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_folder_roundtrip(tmp_path: Path, file_format: str) -> None:
    write_folder(TABLES, tmp_path / "out", file_format=file_format)  # type: ignore[arg-type]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        f"activity.{file_format}", f"members.{file_format}", f"milestones.{file_format}"
    ]  # fmt: skip
    _roundtrip(tmp_path / "out")


def test_writing_another_format_replaces_the_old_files(tmp_path: Path) -> None:
    tmp_path = tmp_path / "target"
    write_folder(TABLES, tmp_path, file_format="csv")
    write_folder(TABLES, tmp_path, file_format="parquet")
    assert not list(tmp_path.glob("*.csv"))
    FolderSource(tmp_path).location("members")  # one file per table: no ambiguity error


def test_folder_with_both_formats_is_ambiguous(tmp_path: Path) -> None:
    tmp_path = tmp_path / "target"
    write_folder(TABLES, tmp_path, file_format="csv")
    TABLES["members"].write_parquet(tmp_path / "members.parquet")
    with pytest.raises(DataSourceError, match=r"both members\.parquet and members\.csv"):
        load_community(open_source(tmp_path))


def test_failed_folder_write_leaves_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp_path = tmp_path / "target"
    write_folder(TABLES, tmp_path, file_format="parquet")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    original = pl.DataFrame.write_parquet
    calls = {"n": 0}

    def failing(self: pl.DataFrame, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pl.DataFrame, "write_parquet", failing)
    changed = {**TABLES, "members": TABLES["members"].head(3)}
    with pytest.raises(OSError, match="disk full"):
        write_folder(changed, tmp_path, file_format="parquet")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_sqlite_roundtrip(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'community.db'}"
    write_database(TABLES, url)
    _roundtrip(url)


@pytest.mark.postgres
def test_postgres_roundtrip(postgres_url: str) -> None:
    write_database(TABLES, postgres_url)
    _roundtrip(postgres_url)


def _insert_failure_leaves_target(url: str) -> None:
    write_database(TABLES, url)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT count(*) FROM members")).scalar_one()
    # A duplicate member_id violates the primary key while the second table is being written.
    broken = {
        "activity": TABLES["activity"].head(5),
        "members": pl.concat([TABLES["members"], TABLES["members"].head(1)]),
    }
    with pytest.raises(DataSourceError, match="rolled back"):
        write_database(broken, url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM members")).scalar_one() == before
        assert (
            conn.execute(sa.text("SELECT count(*) FROM activity")).scalar_one()
            == TABLES["activity"].height
        )
    engine.dispose()
    _roundtrip(url)


def test_sqlite_write_is_atomic(tmp_path: Path) -> None:
    _insert_failure_leaves_target(f"sqlite:///{tmp_path / 'community.db'}")


@pytest.mark.postgres
def test_postgres_write_is_atomic(postgres_url: str) -> None:
    _insert_failure_leaves_target(postgres_url)


def test_failed_first_write_removes_the_new_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    broken = {"members": pl.concat([TABLES["members"], TABLES["members"].head(1)])}
    with pytest.raises(DataSourceError):
        write_database(broken, f"sqlite:///{db}")
    assert not db.exists()


def test_small_batches_still_write_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_module, "INSERT_BATCH_ROWS", 7)
    url = f"sqlite:///{tmp_path / 'c.db'}"
    write_database(TABLES, url)
    _roundtrip(url)


def test_open_source_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DataSourceError, match="does not exist"):
        open_source(tmp_path / "nowhere")
    with pytest.raises(
        DataSourceError, match=r"SQLite database .* does not exist.*proofboard demo"
    ):
        open_source(f"sqlite:///{tmp_path / 'missing.db'}")
    with pytest.raises(DataSourceError, match="Cannot use the database URL"):
        open_source("nosuchdialect://x/y")


def test_unreachable_database_is_a_clear_error() -> None:
    source = open_source("postgresql+psycopg://someone:secret@127.0.0.1:9/none")
    with pytest.raises(DataSourceError, match="Cannot reach the database") as caught:
        source.table_names()
    assert "secret" not in str(caught.value)


def test_mask_url_hides_the_password() -> None:
    masked = mask_url("postgresql+psycopg://ann:s3cret@db.example:5432/community")
    assert "s3cret" not in masked
    assert masked == "postgresql+psycopg://ann:***@db.example:5432/community"


def test_truth_goes_beside_the_data(tmp_path: Path) -> None:
    assert truth_path_for(tmp_path / "demo") == tmp_path / "demo" / "truth.json"
    assert truth_path_for(f"sqlite:///{tmp_path / 'x.db'}") == tmp_path / "truth.json"


def test_written_files_get_normal_permissions(tmp_path: Path) -> None:
    write_folder(TABLES, tmp_path / "out", file_format="csv")
    write_json({"a": 1}, tmp_path / "out" / "truth.json")
    modes = {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()}
    umask = os.umask(0)
    os.umask(umask)
    assert set(modes.values()) == {0o666 & ~umask}, modes
    assert read_json(tmp_path / "out" / "truth.json") == {"a": 1}


def test_sql_scan_is_lazy_and_selects_only_needed_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    write_database(TABLES, url)
    source = open_source(url)
    assert isinstance(source, SqlSource)
    statements: list[str] = []
    sa.event.listen(
        source.engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    lazy = source.scan("activity")
    assert lazy is not None
    assert not [s for s in statements if "FROM activity" in s]  # nothing read yet
    ids = lazy.select("member_id").filter(pl.col("member_id") == "m01").collect()
    reads = [s for s in statements if "FROM activity" in s]
    assert len(reads) == 1
    assert "member_id" in reads[0]
    assert "occurred_at" not in reads[0]
    assert "kind" not in reads[0]
    assert ids.height == TABLES["activity"].filter(pl.col("member_id") == "m01").height


def test_sqlite_written_by_another_tool_with_text_timestamps(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE members (member_id INTEGER, joined_at DATETIME)")
        conn.exec_driver_sql("CREATE TABLE activity (member_id INTEGER, occurred_at TEXT, kind)")
        conn.exec_driver_sql(
            "INSERT INTO members VALUES (1, '2024-01-01T10:00:00+02:00'), (2, '2024-01-02')"
        )
        conn.exec_driver_sql("INSERT INTO activity VALUES (1, '2024-01-03 12:00:00Z', 'post')")
    engine.dispose()
    community = load_community(open_source(f"sqlite:///{db}"))
    assert community.members["member_id"].to_list() == ["1", "2"]
    assert community.members["joined_at"][0] == datetime(2024, 1, 1, 8, tzinfo=UTC)
    assert community.activity["occurred_at"][0] == datetime(2024, 1, 3, 12, tzinfo=UTC)


@pytest.mark.postgres
def test_postgres_native_types_and_naive_timestamps(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE members (member_id bigint, joined_at timestamp, plan text, age int)"
        )
        conn.exec_driver_sql(
            "CREATE TABLE activity (member_id bigint, occurred_at timestamptz, kind text)"
        )
        conn.exec_driver_sql(
            "INSERT INTO members VALUES (7, '2024-01-01 10:00', 'pro', 30), "
            "(8, '2024-01-02', 'free', 41)"
        )
        conn.exec_driver_sql("INSERT INTO activity VALUES (7, '2024-01-03 12:00+01', 'post')")
    engine.dispose()
    community = load_community(open_source(postgres_url))
    assert community.members["member_id"].to_list() == ["7", "8"]
    assert community.members["joined_at"][0] == datetime(2024, 1, 1, 10, tzinfo=UTC)
    assert community.activity["occurred_at"][0] == datetime(2024, 1, 3, 11, tzinfo=UTC)
    assert community.members["age"].to_list() == ["30", "41"]  # attributes are text


def test_write_database_can_drop_the_tables_of_an_old_community(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    write_database(TABLES, url)
    write_database({"keep_me": pl.DataFrame({"x": [1]})}, url)
    new = {"members": TABLES["members"].head(3), "activity": TABLES["activity"].head(3)}
    write_database(new, url, drop=["members", "activity", "milestones", "exposures"])
    engine = sa.create_engine(url)
    assert sorted(sa.inspect(engine).get_table_names()) == ["activity", "keep_me", "members"]
    engine.dispose()
    # a failure rolls the drop back too
    broken = {"members": pl.concat([TABLES["members"], TABLES["members"].head(1)])}
    with pytest.raises(DataSourceError, match="rolled back"):
        write_database(broken, url, drop=["activity"])
    engine = sa.create_engine(url)
    assert sorted(sa.inspect(engine).get_table_names()) == ["activity", "keep_me", "members"]
    engine.dispose()


def test_scrub_secret_masks_plain_and_encoded_passwords() -> None:
    url = "postgresql+psycopg://ann:p%40ss%2Fw0rd@db.example/community"
    text = f"failed for {url}: password p@ss/w0rd or p%40ss%2Fw0rd rejected"
    scrubbed = scrub_secret(text, url)
    assert "p@ss/w0rd" not in scrubbed
    assert "p%40ss%2Fw0rd" not in scrubbed
    assert "ann:***@db.example" in scrubbed


def test_check_database_reports_what_is_missing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    check = check_database(url)
    assert not check.connected
    assert "c.db does not exist" in check.summary()
    assert not (tmp_path / "c.db").exists()  # a test creates nothing
    (tmp_path / "c.db").touch()
    check = check_database(url)  # an empty SQLite file
    assert check.connected
    assert check.missing_tables == ("members", "activity")
    assert not check.ok
    write_database({"members": TABLES["members"].drop("joined_at")}, url)
    check = check_database(url)
    assert check.missing_tables == ("activity",)
    assert check.missing_columns == {"members": ("joined_at",)}
    assert "Table members lacks the required column(s) joined_at." in check.summary()
    write_database(TABLES, url)
    check = check_database(url)
    assert check.ok
    assert check.row_counts["members"] == 60
    assert check.row_counts["exposures"] is None
    assert "All required tables are there: members 60 rows" in check.summary()


def test_check_database_never_shows_the_password() -> None:
    check = check_database("postgresql+psycopg://ann:s3cret-pw@127.0.0.1:9/none")
    assert not check.connected
    assert check.url == "postgresql+psycopg://ann:***@127.0.0.1:9/none"
    assert "s3cret-pw" not in check.summary()
    assert check.summary().startswith("Cannot connect to postgresql+psycopg://ann:***@")
    bad = check_database("nosuchdialect://ann:s3cret-pw@x/y")
    assert not bad.connected
    assert "s3cret-pw" not in bad.summary()


@pytest.mark.postgres
def test_check_database_on_postgres(postgres_url: str) -> None:
    assert check_database(postgres_url).missing_tables == ("members", "activity")
    write_database(TABLES, postgres_url)
    assert check_database(postgres_url).ok


def test_frame_source_names_the_uploaded_files() -> None:
    source = FrameSource({"members": TABLES["members"]}, {"members": "users.csv"})
    assert source.location("members") == "users.csv"
    assert source.table_names() == ["members"]
    assert source.scan("activity") is None
    scan = source.scan("members")
    assert scan is not None
    assert scan.collect().equals(TABLES["members"])
