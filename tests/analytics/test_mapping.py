"""Mapping a user's files onto the data contract: guesses, checks, application, mapping.toml."""

from __future__ import annotations

import polars as pl
import pytest

from analytics.mapping import (
    MappingError,
    TableMapping,
    check_mapping,
    guess_columns,
    guess_mapping,
    guess_table,
    mapping_from_toml,
    mapping_to_toml,
    prepare,
)

USERS = pl.DataFrame(
    {
        "user_id": ["1", "2", "3"],
        "created_at": ["2024-01-01", "2024-01-02", "2024-01-03"],
        "plan": ["free", "pro", "free"],
    }
)
EVENTS = pl.DataFrame(
    {
        "uid": ["1", "2", "3", "3"],
        "timestamp": ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"],
        "action": ["post", "comment", "post", "login"],
    }
)
FILES = {"users.csv": USERS, "events.csv": EVENTS}


def _columns(files: dict[str, pl.DataFrame]) -> dict[str, list[str]]:
    return {name: frame.columns for name, frame in files.items()}


@pytest.mark.parametrize(
    ("table", "columns", "expected"),
    [
        ("members", ["user_id", "created_at"], {"member_id": "user_id", "joined_at": "created_at"}),
        ("members", ["id", "Signup Date", "deleted_at"],
         {"member_id": "id", "joined_at": "Signup Date", "left_at": "deleted_at"}),
        ("members", ["UserId", "CreationDate", "LastAccessDate"],
         {"member_id": "UserId", "joined_at": "CreationDate", "last_seen_at": "LastAccessDate"}),
        ("activity", ["uid", "timestamp", "type"],
         {"member_id": "uid", "occurred_at": "timestamp", "kind": "type"}),
        ("activity", ["user", "date", "action", "id"],
         {"member_id": "user", "occurred_at": "date", "kind": "action"}),  # no "id" for a person
        ("activity", ["member_id", "occurred_at", "kind", "type"],
         {"member_id": "member_id", "occurred_at": "occurred_at", "kind": "kind"}),
        ("exposures", ["user_id", "badge_id", "awarded_at"],
         {"member_id": "user_id", "item_id": "badge_id", "occurred_at": "awarded_at"}),
        ("milestones", ["date", "headline"], {"announced_at": "date", "title": "headline"}),
    ],
)  # fmt: skip
def test_column_guesses(table: str, columns: list[str], expected: dict[str, str]) -> None:
    assert guess_columns(table, columns) == expected


@pytest.mark.parametrize(
    ("file_name", "columns", "expected"),
    [
        ("users.csv", ["user_id", "created_at"], "members"),
        ("export_2024.csv", ["member_id", "joined_at", "plan"], "members"),
        ("events.parquet", ["user_id", "created_at", "event_type"], "activity"),
        ("badges.csv", ["id", "type", "name"], "proof_items"),
        ("awards.csv", ["user_id", "badge_id", "date"], "exposures"),
        ("announcements.csv", ["date", "title"], "milestones"),
        ("notes.csv", ["text"], None),
    ],
)
def test_table_guesses(file_name: str, columns: list[str], expected: str | None) -> None:
    assert guess_table(file_name, columns) == expected


def test_guess_mapping_gives_each_table_one_file() -> None:
    # the signup log could hold members or activity: the better fit (members.csv) wins members
    mapping = guess_mapping(
        {
            **_columns(FILES),
            "members.csv": ["member_id", "joined_at"],
            "notes.csv": ["text"],
        }
    )
    assert list(mapping) == ["members", "activity"]
    assert mapping["members"] == TableMapping(
        "members", "members.csv", {"member_id": "member_id", "joined_at": "joined_at"}
    )
    assert mapping["activity"] == TableMapping(
        "activity", "events.csv", {"member_id": "uid", "occurred_at": "timestamp", "kind": "action"}
    )


def test_check_mapping_names_every_problem_with_its_fix() -> None:
    mapping = {
        "members": TableMapping("members", "users.csv", {"member_id": "userid"}),
        "exposures": TableMapping("exposures", "gone.csv", {}),
    }
    problems = check_mapping(mapping, _columns(FILES))
    assert problems == [
        "No file is mapped to the required table activity. Fix: add a file holding member_id, "
        "occurred_at, kind and choose activity for it.",
        "users.csv (members): column 'userid' (for member_id) is not in the file, which has "
        "user_id, created_at, plan. Fix: choose one of those.",
        "users.csv (members): the required column joined_at is not mapped. Fix: choose the column "
        "of users.csv that holds when the member signed up.",
        "The mapping names gone.csv for exposures, but that file was not given (given: "
        "events.csv, users.csv). Fix: pass the file or correct its name in the mapping.",
    ]
    with pytest.raises(MappingError, match="No file is mapped to the required table activity"):
        prepare(FILES, mapping)


def test_prepare_renames_keeps_member_attributes_and_checks() -> None:
    prepared = prepare(FILES, guess_mapping(_columns(FILES)))
    assert prepared.ok
    assert prepared.tables["members"].columns == ["member_id", "joined_at", "plan"]
    assert prepared.tables["activity"].columns == ["member_id", "occurred_at", "kind"]
    community = prepared.community
    assert community is not None
    assert community.attributes == ("plan",)
    assert community.activity.height == 4
    clean = prepared.clean_tables()
    assert list(clean) == ["members", "activity"]
    assert clean["members"]["joined_at"].dtype == pl.Datetime("us", "UTC")
    assert prepared.report.source == "uploaded files"


def test_bad_dates_name_the_file_the_users_column_and_the_rows() -> None:
    users = USERS.with_columns(pl.Series("created_at", ["2024-01-01", "01/02/2024", "soon"]))
    prepared = prepare({**FILES, "users.csv": users}, guess_mapping(_columns(FILES)))
    assert not prepared.ok
    assert prepared.clean_tables() == {}
    [error] = prepared.report.errors
    assert error.where() == "users.csv, column created_at (as joined_at), rows 2, 3"
    assert "cannot read '01/02/2024'" in error.message


def test_integer_ids_from_parquet_become_text() -> None:
    users = USERS.with_columns(pl.col("user_id").cast(pl.Int64))
    events = EVENTS.with_columns(pl.col("uid").cast(pl.Int64))
    prepared = prepare({"users.csv": users, "events.csv": events}, guess_mapping(_columns(FILES)))
    assert prepared.ok
    assert prepared.tables["members"]["member_id"].to_list() == ["1", "2", "3"]


def test_mapping_toml_round_trip_and_documented_shape() -> None:
    mapping = guess_mapping(_columns(FILES))
    text = mapping_to_toml(mapping)
    assert '[members]\nfile = "users.csv"\n\n[members.columns]\nmember_id = "user_id"\n' in text
    assert mapping_from_toml(text) == mapping
    quoted = {"members": TableMapping("members", 'we"ird.csv', {"member_id": "Joined \\ at"})}
    assert mapping_from_toml(mapping_to_toml(quoted)) == quoted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[members\n", r"m\.toml is not valid TOML"),
        ('[users]\nfile = "u.csv"\n', r"m\.toml: \[users\] is not a table of the data contract"),
        ("[members]\n[members.columns]\n", r'm\.toml: \[members\] needs file = "NAME"'),
        ('[members]\nfile = "u.csv"\nsheet = 1\n', r"unknown key\(s\) sheet"),
        ('[members]\nfile = "u.csv"\n[members.columns]\nmember_id = 3\n', "must map contract"),
    ],
)
def test_bad_mapping_files_are_named(text: str, expected: str) -> None:
    with pytest.raises(MappingError, match=expected):
        mapping_from_toml(text, origin="m.toml")


# -- date formats -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_format", "values"),
    [
        ("ISO", ["2024-01-31", "2024-01-31T14:05:00Z"]),
        ("DD/MM/YYYY", ["31/01/2024", "31.01.2024 14:05"]),
        ("MM/DD/YYYY", ["01/31/2024", "1/31/2024 14:05:00"]),
        ("Unix seconds", ["1706659200", "1706709900"]),
    ],
)
def test_each_date_format_reads_the_same_moments(date_format: str, values: list[str]) -> None:
    from datetime import UTC, datetime

    from analytics.mapping import read_dates

    read = read_dates(pl.Series(values), date_format).to_list()
    assert read == [datetime(2024, 1, 31, tzinfo=UTC), datetime(2024, 1, 31, 14, 5, tzinfo=UTC)]


def test_date_format_goes_through_prepare_and_mapping_toml() -> None:
    users = USERS.with_columns(pl.Series("created_at", ["01/31/2024", "02/01/2024", "12/25/2023"]))
    mapping = guess_mapping({"users.csv": users.columns, "events.csv": EVENTS.columns})
    mapping["members"] = TableMapping(
        "members", "users.csv", dict(mapping["members"].columns), "MM/DD/YYYY"
    )
    prepared = prepare({"users.csv": users, "events.csv": EVENTS}, mapping)
    assert prepared.ok, prepared.report.to_text()
    assert prepared.community is not None
    joined = prepared.community.members.sort("member_id")["joined_at"].dt.date().to_list()
    assert [d.isoformat() for d in joined] == ["2024-01-31", "2024-02-01", "2023-12-25"]
    text = mapping_to_toml(mapping)
    assert 'date_format = "MM/DD/YYYY"' in text
    assert mapping_from_toml(text) == mapping
    with pytest.raises(MappingError, match=r"\[members\] date_format = 'YYYY/DD' is not known"):
        mapping_from_toml(text.replace("MM/DD/YYYY", "YYYY/DD"))


def test_a_value_that_does_not_fit_the_format_is_reported_by_row() -> None:
    users = USERS.with_columns(pl.Series("created_at", ["31/01/2024", "soon", "13/13/2024"]))
    mapping = guess_mapping({"users.csv": users.columns, "events.csv": EVENTS.columns})
    mapping["members"] = TableMapping(
        "members", "users.csv", dict(mapping["members"].columns), "DD/MM/YYYY"
    )
    prepared = prepare({"users.csv": users, "events.csv": EVENTS}, mapping)
    assert not prepared.ok
    problem = next(i for i in prepared.report.errors if i.table == "members")
    assert "created_at (as joined_at)" in problem.text()
    assert "rows 2, 3" in problem.text()


def test_guess_date_format() -> None:
    from analytics.mapping import guess_date_format

    assert guess_date_format(["31/01/2024", "01/02/2024"]) == "DD/MM/YYYY"
    assert guess_date_format(["01/31/2024"]) == "MM/DD/YYYY"
    assert guess_date_format(["1706709900"]) == "Unix seconds"
    assert guess_date_format(["2024-01-31", None]) == "ISO"


# -- personal data is never a segment -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "values", "why"),
    [
        ("email", ["x", "y"], "its name says it holds e-mail addresses"),
        ("Contact", ["a@b.org", "c@d.com", "e@f.net"], "its values look like e-mail addresses"),
        ("Full Name", ["Ann", "Bob"], "its name says it holds names"),
        ("tel", ["1", "2"], "its name says it holds phone numbers"),
        ("reach", ["+1 (555) 010-9999", "+44 20 7946 0001"], "its values look like phone numbers"),
        ("src", ["10.0.0.1", "192.168.1.20"], "its values look like IP addresses"),
        ("src6", ["2001:db8::1", "fe80::2"], "its values look like IP addresses"),
        ("ref", [f"r{i}" for i in range(25)], "every member has a value of their own"),
    ],
)
def test_personal_columns_are_named_with_the_reason(name: str, values: list[str], why: str) -> None:
    from analytics.personal import personal_reason

    assert personal_reason(name, pl.Series(values)) == why


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("plan", ["free", "pro", "free"]),
        ("country", ["GB", "US"]),  # two members: unique by chance, still a segment
        ("zip", ["10115", "75001", "10115"]),
        ("signup_day", ["2024-01-01", "2024-01-02", "2024-01-01"]),
        ("score", [str(i % 5) for i in range(40)]),
    ],
)
def test_ordinary_attributes_stay_segments(name: str, values: list[str]) -> None:
    from analytics.personal import personal_reason

    assert personal_reason(name, pl.Series(values)) is None


def test_the_quality_report_says_which_columns_are_not_segments() -> None:
    users = USERS.with_columns(
        pl.Series("email", ["a@x.org", "b@x.org", "c@x.org"]),
    )
    mapping = guess_mapping({"users.csv": users.columns, "events.csv": EVENTS.columns})
    prepared = prepare({"users.csv": users, "events.csv": EVENTS}, mapping)
    assert prepared.community is not None
    assert prepared.community.attributes == ("plan",)
    assert dict(prepared.report.not_segments) == {
        "email": "its name says it holds e-mail addresses"
    }
    assert "Not offered as a segment: email" in prepared.report.to_text()
