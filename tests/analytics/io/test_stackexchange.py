"""Importing a Stack Exchange data dump: the real Music meta dump and small hand-made ones.

Counts on the real dump are checked against a plain regex scan of the raw XML, never against
the module's own parser.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from analytics.errors import DataSourceError
from analytics.io import stackexchange
from analytics.io.stackexchange import StackExchangeImport, read_stackexchange

DUMP = Path(__file__).resolve().parents[4] / "shared" / "datasets" / "stackexchange-music-meta"

UTC_US = pl.Datetime("us", "UTC")


# --- the real dump ---------------------------------------------------------------------------


def _raw_rows(name: str) -> list[dict[str, str]]:
    """Every ``<row>`` of a dump file as its raw (still escaped) attributes, by regex."""
    text = (DUMP / name).read_text(encoding="utf-8-sig")
    return [dict(re.findall(r'(\w+)="([^"]*)"', row)) for row in re.findall(r"<row [^>]*/>", text)]


@pytest.fixture(scope="module")
def real() -> StackExchangeImport:
    if not (DUMP / "Users.xml").is_file():
        pytest.skip(f"the Stack Exchange Music meta dump is not at {DUMP}")
    return read_stackexchange(DUMP)


@pytest.fixture(scope="module")
def raw() -> dict[str, list[dict[str, str]]]:
    if not (DUMP / "Users.xml").is_file():
        pytest.skip(f"the Stack Exchange Music meta dump is not at {DUMP}")
    return {name: _raw_rows(name) for name in ("Users.xml", "Posts.xml", "Badges.xml")}


def test_the_independent_scan_matches_the_dump_readme(raw: dict[str, list[dict[str, str]]]) -> None:
    posts = raw["Posts.xml"]
    assert len(raw["Users.xml"]) == 3_033
    assert Counter(p["PostTypeId"] for p in posts) == {"1": 708, "2": 1_223, "4": 3, "5": 3}
    assert sum("OwnerUserId" not in p for p in posts) == 45
    assert len(raw["Badges.xml"]) == 5_648


def test_members_are_every_account_but_the_bot(
    real: StackExchangeImport, raw: dict[str, list[dict[str, str]]]
) -> None:
    user_ids = [int(u["Id"]) for u in raw["Users.xml"]]
    humans = sorted(str(i) for i in user_ids if i > 0)
    members = real.tables["members"]
    assert members.height == len(humans) == 3_032
    assert sorted(members["member_id"].to_list()) == humans
    assert real.skipped["bot account in Users.xml"] == sum(i <= 0 for i in user_ids) == 1
    assert "-1" not in members["member_id"].to_list()
    # only the contract columns: reputation, views, votes are known at dump time only
    assert members.columns == ["member_id", "joined_at", "last_seen_at"]
    assert members.schema == {
        "member_id": pl.String,
        "joined_at": UTC_US,
        "last_seen_at": UTC_US,
    }


def test_a_member_keeps_its_dump_timestamps_as_utc(
    real: StackExchangeImport, raw: dict[str, list[dict[str, str]]]
) -> None:
    user = next(u for u in raw["Users.xml"] if u["Id"] == "2")
    row = real.tables["members"].filter(pl.col("member_id") == "2").row(0, named=True)
    expected = datetime.fromisoformat(user["CreationDate"]).replace(tzinfo=UTC)
    assert row["joined_at"] == expected
    assert row["last_seen_at"] == datetime.fromisoformat(user["LastAccessDate"]).replace(tzinfo=UTC)


def test_activity_counts_by_kind_and_what_was_skipped(
    real: StackExchangeImport, raw: dict[str, list[dict[str, str]]]
) -> None:
    users = {u["Id"] for u in raw["Users.xml"]}
    kinds = {"1": "question", "2": "answer"}
    posts = [p for p in raw["Posts.xml"] if p["PostTypeId"] in kinds]
    owned = [p for p in posts if "OwnerUserId" in p]
    by_members = [p for p in owned if int(p["OwnerUserId"]) > 0 and p["OwnerUserId"] in users]
    expected = Counter(kinds[p["PostTypeId"]] for p in by_members)

    activity = real.tables["activity"]
    assert dict(activity.group_by("kind").len().iter_rows()) == expected
    assert expected == {"question": 679, "answer": 1_194}
    assert activity.schema == {"member_id": pl.String, "occurred_at": UTC_US, "kind": pl.String}
    assert real.skipped["other post types"] == len(raw["Posts.xml"]) - len(posts) == 6
    assert real.skipped["posts without owner"] == len(posts) - len(owned) == 45
    assert real.skipped["posts of the bot account"] == sum(
        int(p["OwnerUserId"]) <= 0 for p in owned
    )
    assert real.skipped["posts of the bot account"] == 13
    assert real.skipped["posts of unknown accounts"] == 0
    assert "comments without author" not in real.skipped  # the meta dump has no Comments.xml
    assert any("Comments.xml" in note for note in real.notes)


def test_badges_become_proof_items_and_awards_exposures(
    real: StackExchangeImport, raw: dict[str, list[dict[str, str]]]
) -> None:
    badges = raw["Badges.xml"]
    distinct = {(b["Name"], b["TagBased"]) for b in badges}
    items = real.tables["proof_items"]
    assert items.height == len(distinct) == 38
    assert items["item_id"].n_unique() == items.height
    assert set(items["kind"]) == {"badge"}
    assert items.schema == {
        "item_id": pl.String,
        "kind": pl.String,
        "title": pl.String,
        "published_at": UTC_US,
    }
    assert items["published_at"].null_count() == items.height

    yearling = items.filter(pl.col("title") == "Yearling").row(0, named=True)
    assert yearling["item_id"] == "badge:yearling"
    assert yearling["kind"] == "badge"
    tag = items.filter(pl.col("item_id") == "tag-badge:discussion").row(0, named=True)
    assert tag["title"] == "Tag badge: discussion"

    exposures = real.tables["exposures"]
    assert exposures.height == len(badges) == 5_648
    assert exposures.schema == {
        "member_id": pl.String,
        "item_id": pl.String,
        "occurred_at": UTC_US,
        "kind": pl.String,
    }
    assert set(exposures["kind"]) == {"earned"}
    assert exposures.filter(pl.col("item_id") == "badge:yearling").height == sum(
        b["Name"] == "Yearling" for b in badges
    )
    assert set(exposures["item_id"]) <= set(items["item_id"])
    assert set(exposures["member_id"]) <= set(real.tables["members"]["member_id"])
    skipped_badges = {k: n for k, n in real.skipped.items() if k.startswith("badges")}
    assert skipped_badges == {
        "badges without owner": 0,
        "badges of the bot account": 0,
        "badges of unknown accounts": 0,
    }


def test_summary_names_rows_and_skips(real: StackExchangeImport) -> None:
    text = real.summary()
    assert "members: 3,032 rows" in text
    assert "1,194 answers" in text
    assert "679 questions" in text
    assert "exposures: 5,648 rows" in text
    assert "45 posts without owner" in text
    assert "6 other post types" in text
    assert "unknown accounts" not in text  # zero counts are not listed


def test_progress_runs_from_zero_to_one() -> None:
    if not (DUMP / "Users.xml").is_file():
        pytest.skip(f"the Stack Exchange Music meta dump is not at {DUMP}")
    fractions: list[float] = []
    read_stackexchange(DUMP, progress=lambda _step, fraction: fractions.append(fraction))
    assert fractions == sorted(fractions)
    assert fractions[0] >= 0
    assert fractions[-1] == 1.0


# --- small hand-made dumps -------------------------------------------------------------------

BOM = "\ufeff"


def _xml(root: str, rows: list[str], *, doctype: bool = True) -> str:
    head = f'{BOM}<?xml version="1.0" encoding="utf-8"?>\n'
    if doctype:
        head += f"<!DOCTYPE {root} SYSTEM '{root}.dtd'>\n"
    return head + f"<{root}>\n" + "".join(f"  {r}\n" for r in rows) + f"</{root}>\n"


def _write(path: Path, text: str) -> Path:
    """Write as the dumps are written: UTF-8 with a byte-order mark, CRLF line ends."""
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    return path


USERS = [
    '<row Id="-1" Reputation="1" CreationDate="2011-04-26T18:12:39.000" '
    'LastAccessDate="2011-04-26T18:12:45.820" DisplayName="Community" />',
    '<row Id="1" Reputation="101" CreationDate="2011-04-26T18:30:00.000" '
    'LastAccessDate="2018-01-01T00:00:00.000" DisplayName="Ann &amp; Bo" />',
    '<row Id="2" Reputation="1" CreationDate="2012-05-06T07:08:09.123" />',
]
POSTS = [
    '<row Id="1" PostTypeId="1" CreationDate="2011-05-01T10:00:00.000" OwnerUserId="1" '
    'Body="&lt;p&gt;Hi&lt;/p&gt;&#xA;" />',
    '<row Id="2" PostTypeId="2" CreationDate="2011-05-01T11:00:00.000" OwnerUserId="2" />',
    '<row Id="3" PostTypeId="2" CreationDate="2011-05-01T12:00:00.000" />',
    '<row Id="4" PostTypeId="1" CreationDate="2011-05-01T13:00:00.000" OwnerUserId="-1" />',
    '<row Id="5" PostTypeId="1" CreationDate="2011-05-01T14:00:00.000" OwnerUserId="99" />',
    '<row Id="6" PostTypeId="4" CreationDate="2011-05-01T15:00:00.000" OwnerUserId="1" />',
]
COMMENTS = [
    '<row Id="1" PostId="1" CreationDate="2011-05-02T10:00:00.000" UserId="2" Text="ok" />',
    '<row Id="2" PostId="1" CreationDate="2011-05-02T11:00:00.000" UserDisplayName="gone" />',
]
BADGES = [
    '<row Id="1" UserId="1" Name="Yearling" Date="2012-04-26T18:30:00.000" Class="2" '
    'TagBased="False" />',
    '<row Id="2" UserId="2" Name="Rock &amp; Roll &lt;3 &amp;lt;" Date="2012-05-01T00:00:00.000" '
    'Class="3" TagBased="False" />',
    '<row Id="3" UserId="1" Name="harmony" Date="2013-01-01T00:00:00.000" Class="3" '
    'TagBased="True" />',
    '<row Id="4" UserId="2" Name="harmony" Date="2013-01-02T00:00:00.000" Class="3" '
    'TagBased="False" />',
    '<row Id="5" UserId="-1" Name="Yearling" Date="2012-04-26T18:30:00.000" Class="2" '
    'TagBased="False" />',
    '<row Id="6" UserId="77" Name="Yearling" Date="2012-04-26T18:30:00.000" Class="2" '
    'TagBased="False" />',
]


def _dump(
    folder: Path,
    *,
    users: list[str] = USERS,
    posts: list[str] = POSTS,
    comments: list[str] | None = COMMENTS,
    badges: list[str] | None = BADGES,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "Users.xml", _xml("users", users))
    _write(folder / "Posts.xml", _xml("posts", posts))
    if comments is not None:
        _write(folder / "Comments.xml", _xml("comments", comments))
    if badges is not None:
        _write(folder / "Badges.xml", _xml("badges", badges))
    return folder


def test_a_small_dump_with_bom_and_crlf(tmp_path: Path) -> None:
    folder = _dump(tmp_path / "dump")
    raw = (folder / "Users.xml").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf<?xml")
    assert b"\r\n" in raw

    result = read_stackexchange(folder)
    members = result.tables["members"]
    assert members.rows() == [
        ("1", datetime(2011, 4, 26, 18, 30, tzinfo=UTC), datetime(2018, 1, 1, tzinfo=UTC)),
        ("2", datetime(2012, 5, 6, 7, 8, 9, 123000, tzinfo=UTC), None),
    ]
    activity = result.tables["activity"]
    assert activity.select("member_id", "kind").rows() == [
        ("1", "question"),
        ("2", "answer"),
        ("2", "comment"),
    ]
    assert result.skipped == {
        "bot account in Users.xml": 1,
        "other post types": 1,
        "posts without owner": 1,
        "posts of the bot account": 1,
        "posts of unknown accounts": 1,
        "comments without author": 1,
        "comments of the bot account": 0,
        "comments of unknown accounts": 0,
        "badges without owner": 0,
        "badges of the bot account": 1,
        "badges of unknown accounts": 1,
    }
    assert result.notes == ()


def test_entities_are_decoded_once_by_the_xml_parser(tmp_path: Path) -> None:
    result = read_stackexchange(_dump(tmp_path / "dump"))
    items = dict(result.tables["proof_items"].select("title", "item_id").iter_rows())
    # &amp; -> &, &lt; -> <, and &amp;lt; -> the text "&lt;" (no second HTML unescape)
    assert items["Rock & Roll <3 &lt;"] == "badge:rock-roll-3-lt"
    # a tag badge is kept apart from a named badge of the same name
    assert items["Tag badge: harmony"] == "tag-badge:harmony"
    assert items["harmony"] == "badge:harmony"
    assert items["Yearling"] == "badge:yearling"
    exposures = result.tables["exposures"]
    assert exposures.select("member_id", "item_id").rows() == [
        ("1", "badge:yearling"),
        ("2", "badge:rock-roll-3-lt"),
        ("1", "tag-badge:harmony"),
        ("2", "badge:harmony"),
    ]


def test_badge_names_that_slug_alike_keep_distinct_ids(tmp_path: Path) -> None:
    badges = [
        f'<row Id="{i}" UserId="1" Name="{name}" Date="2012-01-01T00:00:00.000" />'
        for i, name in enumerate(["Foo Bar", "foo-bar", "c++", "c#"], start=1)
    ]
    items = read_stackexchange(_dump(tmp_path / "d", badges=badges)).tables["proof_items"]
    ids = dict(items.select("title", "item_id").iter_rows())
    assert len(set(ids.values())) == 4
    assert ids["c++"] == "badge:c++"
    assert ids["c#"] == "badge:c#"
    assert ids["Foo Bar"].startswith("badge:foo-bar~")
    # stable: the same dump gives the same ids
    again = read_stackexchange(_dump(tmp_path / "e", badges=badges)).tables["proof_items"]
    assert again.equals(items)


def test_optional_files_may_be_missing(tmp_path: Path) -> None:
    result = read_stackexchange(_dump(tmp_path / "dump", comments=None, badges=None))
    assert set(result.tables) == {"members", "activity", "proof_items", "exposures"}
    assert result.tables["proof_items"].height == 0
    assert result.tables["exposures"].height == 0
    assert result.tables["exposures"].schema["occurred_at"] == UTC_US
    assert set(result.tables["activity"]["kind"]) == {"question", "answer"}
    assert len(result.notes) == 2
    assert "Badges.xml not found" in result.summary()


def test_many_batches_give_the_same_tables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _dump(tmp_path / "dump")
    whole = read_stackexchange(folder)
    monkeypatch.setattr(stackexchange, "BATCH_ROWS", 2)
    batched = read_stackexchange(folder)
    assert batched.skipped == whole.skipped
    for name, frame in whole.tables.items():
        assert batched.tables[name].equals(frame), name


def _error_for(
    tmp_path: Path,
    *,
    users: list[str] = USERS,
    posts: list[str] = POSTS,
    badges: list[str] = BADGES,
) -> str:
    with pytest.raises(DataSourceError) as info:
        read_stackexchange(_dump(tmp_path / "dump", users=users, posts=posts, badges=badges))
    return str(info.value)


def test_malformed_xml_names_file_and_line(tmp_path: Path) -> None:
    # line 1 BOM+declaration, 2 DOCTYPE, 3 <posts>, 4 and 5 rows: the second is not closed
    posts = [POSTS[0], '<row Id="2" PostTypeId="2" CreationDate="2011-05-01T11:00:00.000"']
    message = _error_for(tmp_path, posts=posts)
    assert "Posts.xml line 6" in message
    assert "not well-formed" in message


def test_a_row_without_id_names_file_and_line(tmp_path: Path) -> None:
    users = [*USERS, '<row CreationDate="2013-01-01T00:00:00.000" />']
    message = _error_for(tmp_path, users=users)
    assert "Users.xml line 7" in message
    assert "no Id" in message


def test_a_later_batch_reports_the_right_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stackexchange, "BATCH_ROWS", 2)
    posts = [*POSTS, '<row Id="7" PostTypeId="1" CreationDate="yesterday" OwnerUserId="1" />']
    message = _error_for(tmp_path, posts=posts)
    assert "Posts.xml line 10" in message
    assert "CreationDate='yesterday' is not a date" in message


def test_an_unknown_html_entity_is_an_error_not_silently_dropped(tmp_path: Path) -> None:
    badges = [
        *BADGES,
        '<row Id="9" UserId="1" Name="Nice&nbsp;Answer" Date="2012-01-01T00:00:00" />',
    ]
    message = _error_for(tmp_path, badges=badges)
    assert "Badges.xml line 10" in message
    assert "undefined entity" in message


def test_a_repeated_user_id_is_an_error(tmp_path: Path) -> None:
    message = _error_for(tmp_path, users=[*USERS, USERS[1]])
    assert "Users.xml line 7" in message
    assert "Id 1 appears again (first on line 5)" in message


def test_a_file_of_the_wrong_kind_is_an_error(tmp_path: Path) -> None:
    folder = _dump(tmp_path / "dump")
    (folder / "Users.xml").write_bytes((folder / "Posts.xml").read_bytes())
    with pytest.raises(DataSourceError, match=r"Users\.xml line 3.*<posts>, expected <users>"):
        read_stackexchange(folder)


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE users [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<users>
  <row Id="1" CreationDate="2011-04-26T18:30:00.000" DisplayName="&lol9;" />
</users>
"""


@pytest.mark.timeout(10)
def test_a_billion_laughs_payload_is_refused(tmp_path: Path) -> None:
    folder = _dump(tmp_path / "dump")
    (folder / "Users.xml").write_text(BILLION_LAUGHS, encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(DataSourceError, match=r"Users\.xml line 2.*refused"):
        read_stackexchange(folder)
    assert time.perf_counter() - started < 5


def _seven_zip(archive: Path, files: dict[str, Path]) -> Path:
    """Pack ``{name in archive: file}`` into a .7z archive (LZMA2, as Stack Exchange does)."""
    import py7zr

    with py7zr.SevenZipFile(archive, mode="w") as packed:
        for name, file in files.items():
            packed.write(file, arcname=name)
    return archive


@pytest.fixture(scope="module")
def real_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (DUMP / "Users.xml").is_file():
        pytest.skip(f"the Stack Exchange Music meta dump is not at {DUMP}")
    folder = tmp_path_factory.mktemp("archive")
    return _seven_zip(
        folder / "music.meta.stackexchange.com.7z",
        {name: DUMP / name for name in ("Users.xml", "Posts.xml", "Badges.xml", "README.md")},
    )


def test_the_7z_archive_imports_exactly_like_the_extracted_folder(
    real_archive: Path, real: StackExchangeImport
) -> None:
    steps: list[str] = []
    packed = read_stackexchange(real_archive, progress=lambda step, _f: steps.append(step))
    assert {n: f.height for n, f in packed.tables.items()} == {
        "members": 3_032,
        "activity": 679 + 1_194,
        "proof_items": 38,
        "exposures": 5_648,
    }
    for name, frame in real.tables.items():
        assert packed.tables[name].equals(frame), name
    assert packed.skipped == real.skipped
    assert steps[0] == "Extracting music.meta.stackexchange.com.7z"


def test_the_archive_may_hold_the_files_in_a_subfolder(tmp_path: Path) -> None:
    folder = _dump(tmp_path / "dump")
    archive = _seven_zip(
        tmp_path / "site.7z", {f"site/{p.name}": p for p in sorted(folder.iterdir())}
    )
    assert (
        read_stackexchange(archive)
        .tables["members"]
        .equals(read_stackexchange(folder).tables["members"])
    )
    # the temporary extraction folder is gone afterwards
    assert not list(Path(tempfile.gettempdir()).glob("proofboard-7z-*"))


@pytest.mark.parametrize("top", ["dump", "unpacked", "dump/dump"])
def test_a_top_folder_of_any_name_is_accepted(tmp_path: Path, top: str) -> None:
    """An archive whose top folder is named like the folders used inside the temporary
    extraction folder (it used to end in FileExistsError)."""
    folder = _dump(tmp_path / "plain")
    archive = _seven_zip(
        tmp_path / "site.7z", {f"{top}/{p.name}": p for p in sorted(folder.iterdir())}
    )
    assert (
        read_stackexchange(archive)
        .tables["members"]
        .equals(read_stackexchange(folder).tables["members"])
    )


def test_an_archive_without_the_dump_files_is_named(tmp_path: Path) -> None:
    folder = _dump(tmp_path / "dump")
    archive = _seven_zip(tmp_path / "partial.7z", {"Users.xml": folder / "Users.xml"})
    with pytest.raises(
        DataSourceError, match=r"partial\.7z does not hold Posts\.xml and Badges\.xml"
    ):
        read_stackexchange(archive)


def test_a_corrupt_or_cut_off_archive_is_refused_clearly(tmp_path: Path) -> None:
    folder = _dump(tmp_path / "dump")
    archive = _seven_zip(tmp_path / "whole.7z", {p.name: p for p in sorted(folder.iterdir())})
    data = archive.read_bytes()
    cut = tmp_path / "cut.7z"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataSourceError, match=r"cut\.7z is not a readable 7-Zip archive"):
        read_stackexchange(cut)
    garbage = tmp_path / "garbage.7z"
    garbage.write_bytes(b"7z\xbc\xaf\x27\x1c" + b"\x00" * 40)
    with pytest.raises(DataSourceError, match=r"garbage\.7z is not a readable 7-Zip archive"):
        read_stackexchange(garbage)
    with pytest.raises(DataSourceError, match="does not exist"):
        read_stackexchange(tmp_path / "missing.7z")


def test_a_folder_holding_only_the_archive_points_at_it(tmp_path: Path) -> None:
    (tmp_path / "music.meta.stackexchange.com.7z").write_bytes(b"7z\xbc\xaf\x27\x1c")
    with pytest.raises(
        DataSourceError, match=r"Users\.xml and Posts\.xml not found.*import the archive itself"
    ):
        read_stackexchange(tmp_path)


def test_missing_users_or_posts_is_named(tmp_path: Path) -> None:
    folder = _dump(tmp_path / "dump")
    (folder / "Posts.xml").unlink()
    with pytest.raises(DataSourceError, match=r"^Posts\.xml not found in"):
        read_stackexchange(folder)
    with pytest.raises(DataSourceError, match="does not exist"):
        read_stackexchange(tmp_path / "nowhere")
