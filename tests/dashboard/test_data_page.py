"""AppTest of the Data page's upload (with column mapping) and database connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from analytics.community import load_community
from analytics.io import open_source, write_database
from dashboard.markup import shown
from tests.conftest import small_community_tables
from tests.dashboard.conftest import no_exceptions

DATA_PAGE = "app_pages/data.py"
USERS = b"user_id,created_at,plan\n1,2024-01-01,free\n2,2024-01-02,pro\n3,2024-01-03,free\n"
EVENTS = (
    b"uid,timestamp,action\n1,2024-01-02,post\n2,2024-01-03T10:00:00Z,comment\n"
    b"3,2024-01-04,post\n3,2024-01-05,login\n"
)


def _files(users: bytes = USERS, events: bytes = EVENTS) -> list[tuple[str, bytes, str]]:
    return [("users.csv", users, "text/csv"), ("events.csv", events, "text/csv")]


def _table_names(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.fixture
def store(tmp_path: Path) -> str:
    """A SQLite store holding the hand-made community (60 members, with milestones)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    write_database(small_community_tables(), url)
    return url


def _upload(at: AppTest, files: list[tuple[str, bytes, str]], round_: int = 0) -> AppTest:
    at.file_uploader(key=f"_upload_files_{round_}").set_value(files).run()
    no_exceptions(at)
    return at


def _texts(at: AppTest, kind: str) -> str:
    """The text of every element of ``kind`` as a reader sees it (Markdown escapes removed)."""
    return " ".join(shown(str(e.value)) for e in at.get(kind))


def test_upload_guesses_the_mapping_and_writes_nothing_before_save(
    app_on: Callable[..., AppTest], store: str
) -> None:
    at = _upload(app_on(store, page=DATA_PAGE), _files())
    assert at.selectbox(key="_map_table::0::users.csv").value == "members"
    assert at.selectbox(key="_map_table::0::events.csv").value == "activity"
    assert at.selectbox(key="_map_column::0::users.csv::members::member_id").value == "user_id"
    assert at.selectbox(key="_map_column::0::users.csv::members::joined_at").value == "created_at"
    assert at.selectbox(key="_map_column::0::events.csv::activity::member_id").value == "uid"
    assert at.selectbox(key="_map_column::0::events.csv::activity::kind").value == "action"
    assert "No errors" in _texts(at, "success") or "No problems found" in _texts(at, "success")
    assert "replaces the community data" in _texts(at, "markdown")
    assert at.button(key="_upload_save").disabled  # not before the confirmation
    assert load_community(open_source(store)).members.height == 60  # nothing written yet


def test_save_replaces_the_community_in_one_go_and_reloads(
    app_on: Callable[..., AppTest], store: str
) -> None:
    at = _upload(app_on(store, page=DATA_PAGE), _files())
    at.checkbox(key="_upload_confirm").check().run()
    at.button(key="_upload_save").click().run()
    no_exceptions(at)
    assert "Saved to sqlite:///" in _texts(at, "success")
    community = load_community(open_source(store))
    assert community.members["member_id"].to_list() == ["1", "2", "3"]
    assert community.attributes == ("plan",)
    assert community.activity.height == 4
    # the old community's milestones do not outlive it (they are in its snapshot only)
    assert [t for t in _table_names(store) if not t.startswith("proofboard_")] == [
        "activity",
        "members",
    ]
    assert "proofboard_snapshot_1_milestones" in _table_names(store)
    # every page reads the new data at once; the uploader is empty again
    tables = at.table[0].value  # a static table: "what it holds" wraps
    assert tables["rows read"].tolist()[:2] == ["3", "4"]
    assert not at.file_uploader(key="_upload_files_1").value


def test_discard_writes_nothing(app_on: Callable[..., AppTest], store: str) -> None:
    at = _upload(app_on(store, page=DATA_PAGE), _files())
    at.button(key="_upload_discard").click().run()
    no_exceptions(at)
    assert "nothing was written" in _texts(at, "success")
    assert load_community(open_source(store)).members.height == 60
    assert "milestones" in _table_names(store)


def test_bad_dates_name_file_column_and_rows_and_block_saving(
    app_on: Callable[..., AppTest], store: str
) -> None:
    users = b"user_id,created_at\n1,2024-01-01\n2,02/01/2024\n3,soon\n"
    at = _upload(app_on(store, page=DATA_PAGE), _files(users=users))
    text = _texts(at, "markdown")
    assert "users.csv, column created_at (as joined_at), rows 2, 3" in text
    assert "1 error(s) stop these files from loading" in _texts(at, "error")
    assert [b for b in at.button if b.key == "_upload_save"] == []


def test_wrong_encoding_and_size_are_named(
    app_on: Callable[..., AppTest], store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dashboard import data

    latin = "user_id,created_at,city\n1,2024-01-01,Zürich\n".encode("latin-1")
    at = _upload(app_on(store, page=DATA_PAGE), _files(users=latin))
    errors = _texts(at, "error")
    offset = latin.index(b"\xfc")
    assert f"users.csv is not UTF-8 text: byte {offset} (line 2) is 0xFC" in errors
    monkeypatch.setattr(data, "upload_limit_bytes", lambda: 100)
    at = _upload(app_on(store, page=DATA_PAGE), _files())
    assert f"events.csv is {len(EVENTS)} bytes, more than the upload limit of 100 bytes" in _texts(
        at, "error"
    )
    assert "No file is mapped to the required table activity" in _texts(at, "markdown")


def test_changing_the_mapping_is_checked(app_on: Callable[..., AppTest], store: str) -> None:
    at = _upload(app_on(store, page=DATA_PAGE), _files())
    at.selectbox(key="_map_column::0::events.csv::activity::kind").set_value("").run()
    no_exceptions(at)
    assert "the required column kind is not mapped" in _texts(at, "markdown")
    at.selectbox(key="_map_table::0::events.csv").set_value("members").run()
    no_exceptions(at)
    assert "users.csv and events.csv both hold members" in _texts(at, "markdown")


def test_the_mapping_download_repeats_the_upload_from_the_cli(
    app_on: Callable[..., AppTest], store: str, tmp_path: Path
) -> None:
    from analytics.mapping import guess_mapping, mapping_to_toml
    from dashboard.cli import main

    at = _upload(app_on(store, page=DATA_PAGE), _files())
    [button] = [b for b in at.get("download_button") if "mapping.toml" in str(b.proto)]
    assert "proofboard ingest events.csv users.csv --map mapping.toml" in str(button.proto)
    # AppTest cannot read a download's bytes: build them as the page does and use them
    columns = {
        "users.csv": ["user_id", "created_at", "plan"],
        "events.csv": ["uid", "timestamp", "action"],
    }
    toml = mapping_to_toml(guess_mapping(columns))
    (tmp_path / "mapping.toml").write_text(toml, encoding="utf-8")
    for name, content, _ in _files():
        (tmp_path / name).write_bytes(content)
    cli_url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["ingest", str(tmp_path / "users.csv"), str(tmp_path / "events.csv"),
                 "--map", str(tmp_path / "mapping.toml"), "--to", cli_url]) == 0  # fmt: skip
    at.checkbox(key="_upload_confirm").check().run()
    at.button(key="_upload_save").click().run()
    from_page, from_cli = load_community(open_source(store)), load_community(open_source(cli_url))
    assert from_page.members.equals(from_cli.members)
    assert from_page.activity.equals(from_cli.activity)


def test_upload_on_a_folder_source_goes_to_the_embedded_database(
    app_on: Callable[..., AppTest],
    small_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from analytics import embedded

    db = tmp_path / "data" / "proofboard.db"
    monkeypatch.setattr(embedded, "DEFAULT_DATABASE", db)
    at = _upload(app_on(small_folder, page=DATA_PAGE), _files())
    assert "which an upload never overwrites" in _texts(at, "markdown")
    at.checkbox(key="_upload_confirm").check().run()
    at.button(key="_upload_save").click().run()
    no_exceptions(at)
    assert load_community(open_source(f"sqlite:///{db}")).members.height == 3
    assert len(list(small_folder.iterdir())) == 3  # the folder is untouched
    # this session now reads the database
    assert f"sqlite:///{db}" in " ".join(c.value for c in at.sidebar.caption)


# -- connecting a database ----------------------------------------------------------------------


def _allowing(*folders: Path, hosts: tuple[str, ...] = ()) -> dict[str, Any]:
    """secrets.toml allowing Connect a database to reach SQLite files in ``folders`` and
    PostgreSQL on ``hosts``."""
    return {
        "proofboard": {
            "connect": {
                "allowed_schemes": ["sqlite", "postgresql"],
                "allowed_hosts": list(hosts),
                "sqlite_folders": [str(f) for f in folders],
            }
        }
    }


LOCALHOST = _allowing(hosts=("127.0.0.1",))


def _connect(at: AppTest, url: str, button: str) -> AppTest:
    at.text_input(key="_connect_url").input(url).run()
    at.button(key=button).click().run()
    no_exceptions(at)
    return at


def _rendered(at: AppTest) -> Iterator[str]:
    """The protobuf text of every element on the page except the URL field itself."""

    def walk(node: object) -> Iterator[object]:
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            for child in children.values():
                yield child
                yield from walk(child)

    for node in walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is not None and getattr(node, "type", "") != "text_input":
            yield str(proto)


def test_connect_reports_missing_tables(
    app_on: Callable[..., AppTest], small_folder: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'other.db'}"
    write_database({"something_else": pl.DataFrame({"x": [1]})}, url)
    at = _connect(
        app_on(small_folder, page=DATA_PAGE, secrets=_allowing(tmp_path)), url, "_connect_test"
    )
    warning = _texts(at, "warning")
    assert "Connected to sqlite:///" in warning
    assert "Missing required table(s): members, activity." in warning
    assert "_session_source" not in at.session_state  # a test alone changes nothing


def test_connect_uses_a_database_for_this_session_only(
    app_on: Callable[..., AppTest], small_folder: Path, store: str
) -> None:
    at = _connect(
        app_on(
            small_folder,
            page=DATA_PAGE,
            secrets=_allowing(Path(store.removeprefix("sqlite:///")).parent),
        ),
        store,
        "_connect_use",
    )
    assert "All required tables are there: members 60 rows" in _texts(at, "success")
    assert store in " ".join(c.value for c in at.sidebar.caption)
    assert "chosen on the Data page for this browser session only" in _texts(at, "markdown")
    assert at.text_input(key="_connect_url").value == ""  # not kept in the field
    at.button(key="_connect_reset").click().run()
    no_exceptions(at)
    assert str(small_folder) in " ".join(c.value for c in at.sidebar.caption)


def test_a_missing_sqlite_file_cannot_connect(
    app_on: Callable[..., AppTest], small_folder: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'nope.db'}"
    at = _connect(
        app_on(small_folder, page=DATA_PAGE, secrets=_allowing(tmp_path)), url, "_connect_use"
    )
    assert "nope.db does not exist" in _texts(at, "error")
    assert not (tmp_path / "nope.db").exists()
    assert str(small_folder) in " ".join(c.value for c in at.sidebar.caption)


def test_the_password_never_appears_in_the_page(
    app_on: Callable[..., AppTest], small_folder: Path
) -> None:
    url = "postgresql+psycopg://ann:s3cret-Pw0rd@127.0.0.1:9/community"
    at = _connect(app_on(small_folder, page=DATA_PAGE, secrets=LOCALHOST), url, "_connect_test")
    assert "Cannot connect to postgresql+psycopg://ann:***@127.0.0.1:9/community" in _texts(
        at, "error"
    )
    assert not [p for p in _rendered(at) if "s3cret-Pw0rd" in p]
    at.button(key="_connect_use").click().run()
    no_exceptions(at)
    assert "Cannot connect" in _texts(at, "error")
    assert not [p for p in _rendered(at) if "s3cret-Pw0rd" in p]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://ann:Top@Secret:Tail@127.0.0.1:9/community",
        "postgresql+psycopg://ann:Top@Secret:Tail@127.0.0.1:notaport/community",
    ],
)
def test_a_password_with_unencoded_at_and_colon_never_appears(
    app_on: Callable[..., AppTest], small_folder: Path, url: str
) -> None:
    """Tested, used for the session, and as the configured source: no piece of it shows."""
    at = _connect(app_on(small_folder, page=DATA_PAGE, secrets=LOCALHOST), url, "_connect_test")
    no_exceptions(at)
    # refused before connecting (a port that is not a number) or after: the masked URL is named
    assert "postgresql+psycopg://ann:***@127.0.0.1" in _texts(at, "error")
    at.button(key="_connect_use").click().run()
    configured = app_on(url, page=DATA_PAGE)
    for page in (at, configured):
        no_exceptions(page)
        for piece in ("Top", "Secret", "Tail"):
            assert not [p for p in _rendered(page) if piece in p]


@pytest.mark.postgres
def test_connect_to_postgres(
    app_on: Callable[..., AppTest], small_folder: Path, postgres_url: str
) -> None:
    # the throwaway server trusts local connections, so a password is accepted and ignored
    with_password = postgres_url.replace("postgres@", "postgres:pg-S3cret@", 1)
    at = _connect(
        app_on(small_folder, page=DATA_PAGE, secrets=LOCALHOST), with_password, "_connect_test"
    )
    assert "Missing required table(s): members, activity." in _texts(at, "warning")
    write_database(small_community_tables(), postgres_url)
    at = _connect(at, with_password, "_connect_use")
    assert "All required tables are there: members 60 rows" in _texts(at, "success")
    assert at.table[0].value["rows read"].tolist()[0] == "60"
    assert not [p for p in _rendered(at) if "pg-S3cret" in p]


# -- forgiving uploads: blank lines, date formats, personal data, trying before saving ---------

DATES = "_map_dates::0::users.csv::members"


def _preview(at: AppTest) -> list[str]:
    """The "read as" column of the users file's date preview."""
    frame = next(df.value for df in at.dataframe if "read as" in df.value.columns)
    return [str(v) for v in frame["read as"].tolist()]


def test_blank_lines_are_skipped_counted_and_do_not_block_the_load(
    app_on: Callable[..., AppTest], store: str
) -> None:
    users = (
        b"user_id,created_at,plan\n1,2024-01-01,free\n\n2,2024-01-02,pro\n,,\n3,2024-01-03,free\n\n"
    )
    at = _upload(app_on(store, page=DATA_PAGE), _files(users=users))
    note = _texts(at, "info")
    assert "users.csv: skipped 3 blank lines (data rows 2, 4, 6)" in note
    assert "1 error" not in _texts(at, "error")
    assert [b for b in at.button if b.key == "_upload_save"]  # nothing blocks the save


@pytest.mark.parametrize(
    ("written", "guessed", "read"),
    [
        ("2024-01-31", "ISO", "2024-01-31 00:00 UTC"),
        ("31/01/2024", "DD/MM/YYYY", "2024-01-31 00:00 UTC"),
        ("01/31/2024", "MM/DD/YYYY", "2024-01-31 00:00 UTC"),
        ("1706709900", "Unix seconds", "2024-01-31 14:05 UTC"),
    ],
)
def test_each_date_format_is_guessed_previewed_and_loads(
    app_on: Callable[..., AppTest], store: str, written: str, guessed: str, read: str
) -> None:
    users = f"user_id,created_at\n1,{written}\n2,{written}\n3,{written}\n".encode()
    events = b"uid,timestamp,action\n1,2024-02-02,post\n2,2024-02-03,post\n3,2024-02-04,post\n"
    at = _upload(app_on(store, page=DATA_PAGE), _files(users=users, events=events))
    assert at.selectbox(key=DATES).value == guessed
    assert _preview(at) == [read] * 3
    assert "error(s) stop these files" not in _texts(at, "error")
    assert [b for b in at.button if b.key == "_upload_save"]


def test_a_wrong_date_format_shows_in_the_preview_and_blocks_the_load(
    app_on: Callable[..., AppTest], store: str
) -> None:
    users = b"user_id,created_at\n1,01/31/2024\n2,02/28/2024\n3,12/01/2024\n"
    at = _upload(app_on(store, page=DATA_PAGE), _files(users=users))
    assert at.selectbox(key=DATES).value == "MM/DD/YYYY"
    at.selectbox(key=DATES).set_value("DD/MM/YYYY").run()
    no_exceptions(at)
    assert _preview(at) == [
        "cannot be read as DD/MM/YYYY",
        "cannot be read as DD/MM/YYYY",
        "2024-01-12 00:00 UTC",
    ]
    assert "rows 1, 2" in _texts(at, "markdown")  # the quality report names the rows
    assert [b for b in at.button if b.key == "_upload_save"] == []


PERSONAL = (
    b"user_id,created_at,email,full_name,phone_no,last_ip,plan\n"
    b"1,2024-01-01,ann@example.org,Ann,+44 20 7946 0001,10.0.0.1,free\n"
    b"2,2024-01-02,bob@example.org,Bob,+44 20 7946 0002,10.0.0.2,pro\n"
    b"3,2024-01-03,cy@example.org,Cy,+44 20 7946 0003,10.0.0.3,free\n"
)


def test_personal_data_is_never_offered_as_a_segment(
    app_on: Callable[..., AppTest], store: str
) -> None:
    at = _upload(app_on(store, page=DATA_PAGE), _files(users=PERSONAL))
    captions = _texts(at, "caption")
    assert "(offered as segments): plan" in captions
    for column in ("email", "full_name", "phone_no", "last_ip"):
        assert f"{column} is kept but never offered as a segment" in captions
    at.button(key="_upload_use").click().run()
    no_exceptions(at)
    keys = {w.key for w in at.sidebar.multiselect}
    assert "seg_plan" in keys
    assert not keys & {"seg_email", "seg_full_name", "seg_phone_no", "seg_last_ip"}


def _sha256(url: str) -> str:
    import hashlib

    return hashlib.sha256(Path(url.removeprefix("sqlite:///")).read_bytes()).hexdigest()


def test_use_for_this_session_analyses_the_upload_and_leaves_the_store_unchanged(
    app_on: Callable[..., AppTest], store: str
) -> None:
    before = _sha256(store)
    at = _upload(app_on(store, page=DATA_PAGE), _files())
    at.button(key="_upload_use").click().run()
    no_exceptions(at)
    assert "nothing was saved" in _texts(at, "success")
    assert _sha256(store) == before  # not one byte of the store changed
    # Save still offers the store, never the session's temporary folder
    assert f"the database `{store}` the dashboard reads" in _texts(at, "markdown")
    assert load_community(open_source(store)).members.height == 60
    # every page of this session reads the upload
    assert "uploaded files events.csv, users.csv" in _texts(at, "markdown")
    assert at.table[0].value["rows read"].tolist()[:2] == ["3", "4"]
    at.switch_page("app_pages/overview.py").run()
    no_exceptions(at)
    assert next(m for m in at.metric if m.label == "Members").value == "3"
    # and back to the stored community
    at.switch_page(DATA_PAGE).run()
    at.button(key="_upload_stop_using").click().run()
    no_exceptions(at)
    assert at.table[0].value["rows read"].tolist()[0] == "60"
    assert _sha256(store) == before


# -- history: snapshots, restore, audit log, forget ---------------------------------------------


def _saved(app_on: Callable[..., AppTest], store: str) -> AppTest:
    at = _upload(app_on(store, page=DATA_PAGE), _files())
    at.checkbox(key="_upload_confirm").check().run()
    at.button(key="_upload_save").click().run()
    no_exceptions(at)
    return at


def _audit(at: AppTest) -> list[str]:
    frame = next(d.value for d in at.dataframe if "action" in d.value.columns)
    return [str(a) for a in frame["action"].tolist()]


def test_restore_previous_puts_the_replaced_community_back_and_is_undoable(
    app_on: Callable[..., AppTest], store: str
) -> None:
    at = _saved(app_on, store)
    assert load_community(open_source(store)).members.height == 3
    assert at.selectbox(key="_restore_choice").value == 1
    assert at.button(key="_restore_go").disabled  # not before the confirmation
    at.checkbox(key="_restore_confirm").check().run()
    at.button(key="_restore_go").click().run()
    no_exceptions(at)
    assert "Restored snapshot 1" in _texts(at, "success")
    restored = load_community(open_source(store))
    assert restored.members.height == 60
    assert restored.milestones is not None
    assert restored.milestones.height > 0
    # the uploaded community was kept in turn, and the log says who did what
    assert at.selectbox(key="_restore_choice").options == ["#2 (the previous community)", "#1"]
    assert _audit(at)[:2] == ["restore", "save"]
    assert str(at.table[0].value["rows read"].tolist()[0]) == "60"  # the page reads it


def test_forget_removes_members_everywhere_and_logs_no_id(
    app_on: Callable[..., AppTest], store: str
) -> None:
    at = _saved(app_on, store)  # snapshot 1 holds the 60 hand-made members
    old = load_community(open_source(store)).members["member_id"].to_list()
    assert old == ["1", "2", "3"]
    at.text_area(key="_forget_ids").input("2\nnobody").run()
    at.button(key="_forget_go").click().run()
    assert "Tick the box" in " ".join(str(e.value) for e in at.error)
    assert load_community(open_source(store)).members.height == 3  # not confirmed: unchanged
    at.checkbox(key="_forget_confirm").check().run()
    at.button(key="_forget_go").click().run()
    no_exceptions(at)
    assert "Removed 1 of 2 member(s)" in _texts(at, "success")
    assert load_community(open_source(store)).members["member_id"].to_list() == ["1", "3"]
    engine = sa.create_engine(store)
    with engine.connect() as conn:
        audit = conn.execute(sa.text("SELECT action, detail FROM proofboard_audit")).all()
    engine.dispose()
    forget = [detail for action, detail in audit if action == "forget"]
    assert len(forget) == 1
    assert "1 of 2 member(s)" in forget[0]
    assert "nobody" not in forget[0]
    assert "members 1" in forget[0]


def test_history_without_snapshots_explains_itself(
    app_on: Callable[..., AppTest], store: str
) -> None:
    at = app_on(store, page=DATA_PAGE)
    no_exceptions(at)
    infos = " ".join(str(e.value) for e in at.info)
    assert "No snapshots in" in infos
    assert "Nothing recorded yet" in infos


def test_a_member_level_download_is_recorded_in_the_store_audit_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analytics.io import read_audit
    from dashboard import data

    store = f"sqlite:///{tmp_path / 'store.db'}"
    monkeypatch.setenv("PROOFBOARD_STORE", store)
    data.record_export("members-at-risk-within-30-days.csv", actor="local")
    audit = read_audit(store)
    assert audit.select("who", "action", "detail").row(0) == (
        "local",
        "export",
        "members-at-risk-within-30-days.csv",
    )
