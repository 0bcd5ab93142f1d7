"""The ``proofboard`` command line: help, validate, ingest, demo, dashboard start-up errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from analytics.community import load_community
from analytics.io import open_source
from dashboard.cli import build_parser, main, parse_timestamp
from tests.conftest import MINIMAL, write_csvs

SUBCOMMANDS = [
    "dashboard",
    "deliver",
    "demo",
    "effects",
    "export",
    "forget",
    "import",
    "ingest",
    "milestones",
    "overview",
    "report",
    "restore",
    "retention",
    "risk",
    "validate",
]

#: Commands that work on a database only, and the option naming it.
DATABASE_ONLY = {"forget": "--data URL", "restore": "--to URL"}


def test_console_script_help_lists_every_subcommand() -> None:
    script = Path(sys.executable).parent / "proofboard"
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "which of a community's social proof actually works" in out.stdout
    for name in SUBCOMMANDS:
        assert name in out.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_help_describes_it(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([name, "--help"])
    assert caught.value.code == 0
    text = capsys.readouterr().out
    assert f"usage: proofboard {name}" in text
    assert len(text.splitlines()) > 5
    if name in DATABASE_ONLY:  # snapshots and erasure work on databases only
        assert DATABASE_ONLY[name] in text
    else:
        assert "SOURCE" in text or "DIR_OR_URL" in text


def test_parser_has_exactly_the_documented_subcommands() -> None:
    parser = build_parser()
    actions = [a for a in parser._actions if a.dest == "command"]
    assert sorted(actions[0].choices) == SUBCOMMANDS  # type: ignore[arg-type]


def test_validate_prints_the_report_and_exits_0(
    small_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--data", str(small_folder)]) == 0
    out = capsys.readouterr().out
    assert "members      60" in out
    assert "0 error(s)" in out


def test_validate_json_and_as_of(small_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--data", str(small_folder), "--as-of", "2024-01-20", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True
    assert report["as_of"] == "2024-01-20T00:00:00+00:00"
    assert report["row_counts"]["members"] == 60
    assert any("joined after the as-of time" in i["message"] for i in report["issues"])


def test_validate_exits_1_on_errors_naming_file_column_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_csvs(tmp_path, {**MINIMAL, "members": "member_id,joined_at\na,2024-02-30\n"})
    assert main(["validate", "--data", str(folder)]) == 1
    assert "ERROR: members.csv, column joined_at, row 1: cannot read '2024-02-30'" in (
        capsys.readouterr().out
    )


def test_bad_as_of_is_an_argument_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["validate", "--data", "x", "--as-of", "last tuesday"])
    assert caught.value.code == 2
    assert "not an ISO 8601 timestamp" in capsys.readouterr().err


def test_missing_source_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--data", str(tmp_path / "nope")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("proofboard: error: Data folder")
    assert "Traceback" not in err


def test_ingest_copies_into_sqlite(
    small_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["ingest", str(small_folder), "--to", url]) == 0
    assert "members 60" in capsys.readouterr().out
    copied = load_community(open_source(url))
    original = load_community(open_source(small_folder))
    assert copied.members.equals(original.members)
    assert copied.activity.sort("member_id", "occurred_at").equals(
        original.activity.sort("member_id", "occurred_at")
    )


@pytest.mark.postgres
def test_ingest_copies_sqlite_into_postgres(
    small_folder: Path, tmp_path: Path, postgres_url: str
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["ingest", str(small_folder), "--to", sqlite_url]) == 0
    assert main(["ingest", sqlite_url, "--to", postgres_url]) == 0
    assert load_community(open_source(postgres_url)).members.equals(
        load_community(open_source(small_folder)).members
    )


def test_ingest_of_invalid_data_leaves_the_target_untouched(
    small_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["ingest", str(small_folder), "--to", url]) == 0
    bad = write_csvs(
        tmp_path / "bad", {**MINIMAL, "proof_items": "item_id,kind,title\nx,poster,X\n"}
    )
    assert main(["ingest", str(bad), "--to", url]) == 1
    assert "unknown proof-item kind 'poster'" in capsys.readouterr().err
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM members")).scalar_one() == 60
        assert "proof_items" not in sa.inspect(conn).get_table_names()
    engine.dispose()


MAPPING = """
[members]
file = "users.csv"

[members.columns]
member_id = "user_id"
joined_at = "created_at"

[activity]
file = "events.csv"

[activity.columns]
member_id = "uid"
occurred_at = "timestamp"
kind = "action"
"""


def _own_files(folder: Path, users: str | None = None) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "users.csv").write_text(
        users or "user_id,created_at,plan\n1,2024-01-01,free\n2,2024-01-02,pro\n",
        encoding="utf-8",
    )
    (folder / "events.csv").write_text(
        "uid,timestamp,action\n1,2024-01-02,post\n2,2024-01-03T10:00:00Z,comment\n",
        encoding="utf-8",
    )
    (folder / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    return [str(folder / "users.csv"), str(folder / "events.csv")]


def test_ingest_with_a_mapping_copies_own_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = _own_files(tmp_path / "own")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    assert main(["ingest", *files, "--map", str(tmp_path / "own" / "mapping.toml"),
                 "--to", url]) == 0  # fmt: skip
    assert "Copied into sqlite:///" in capsys.readouterr().out
    community = load_community(open_source(url))
    assert community.members["member_id"].to_list() == ["1", "2"]
    assert community.attributes == ("plan",)
    assert community.activity["kind"].to_list() == ["post", "comment"]


def test_ingest_with_a_mapping_names_file_column_and_row_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    good = _own_files(tmp_path / "good")
    mapping = str(tmp_path / "good" / "mapping.toml")
    assert main(["ingest", *good, "--map", mapping, "--to", url]) == 0
    capsys.readouterr()
    bad = _own_files(tmp_path / "bad", users="user_id,created_at\n1,2024-01-01\n2,yesterday\n")
    assert main(["ingest", *bad, "--map", mapping, "--to", url]) == 1
    err = capsys.readouterr().err
    assert "users.csv, column created_at (as joined_at), row 2" in err
    assert "cannot read 'yesterday'" in err
    assert load_community(open_source(url)).members.height == 2  # the earlier data is intact
    # a mapping naming a column the file lacks
    (tmp_path / "bad" / "mapping.toml").write_text(
        MAPPING.replace('kind = "action"', 'kind = "verb"'), encoding="utf-8"
    )
    assert main(["ingest", *good, "--map", str(tmp_path / "bad" / "mapping.toml"),
                 "--to", url]) == 1  # fmt: skip
    assert "events.csv (activity): column 'verb' (for kind) is not in the file" in (
        capsys.readouterr().err
    )
    assert main(["ingest", *good, "--to", url]) == 1
    assert "Without --map, ingest copies one SOURCE" in capsys.readouterr().err


def test_ingest_needs_a_url(small_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(small_folder), "--to", "some/folder"]) == 1
    assert "--to must be a SQLAlchemy URL" in capsys.readouterr().err


def test_dashboard_refuses_a_missing_source_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["dashboard", "--data", f"sqlite:///{tmp_path / 'none.db'}"]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_demo_writes_the_contract_and_truth_deterministically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("a", "b"):
        args = ["demo", "--members", "300", "--seed", "5", "--out", str(tmp_path / name)]
        assert main([*args, "--format", "csv"]) == 0
    assert "Wrote the demo community" in capsys.readouterr().out
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == [
        "activity.csv", "exposures.csv", "members.csv", "milestones.csv", "proof_items.csv",
        "truth.json",
    ]  # fmt: skip
    for file in files:
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    community = load_community(open_source(tmp_path / "a"))
    assert community.report.ok
    assert community.members.height == 300
    truth = json.loads((tmp_path / "a" / "truth.json").read_text())
    assert {i["item_id"] for i in truth["proof_items"]} <= set(community.proof_items["item_id"])  # type: ignore[index]


def test_demo_into_sqlite_puts_truth_beside_the_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["demo", "--members", "200", "--seed", "1", "--out", url]) == 0
    assert (tmp_path / "truth.json").is_file()
    assert load_community(open_source(url)).members.height == 200


def test_demo_streams_parquet_with_denser_activity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["demo", "--members", "400", "--seed", "2"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--out", str(tmp_path / "b"), "--activity-scale", "2"]) == 0
    assert "Wrote the demo community" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        "activity.parquet", "exposures.parquet", "members.parquet", "milestones.parquet",
        "proof_items.parquet", "truth.json",
    ]  # fmt: skip
    rows = [load_community(open_source(tmp_path / d)).activity.height for d in ("a", "b")]
    assert 1.6 < rows[1] / rows[0] < 2.4


def test_demo_rejects_a_non_positive_activity_scale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--members", "100", "--activity-scale", "0", "--out", str(tmp_path)]) == 1
    assert "activity_scale must be a positive number" in capsys.readouterr().err


def test_demo_rejects_a_too_small_community(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--members", "3", "--out", str(tmp_path)]) == 1
    assert "members" in capsys.readouterr().err


def test_retention_json_is_exactly_the_documented_object(
    small_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["retention", "--data", str(small_folder), "--period", "week", "--json"]
    assert main([*args, "--as-of", "2024-03-01"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert list(payload) == ["period", "as_of", "cohorts"]
    assert payload["period"] == "week"
    assert payload["as_of"] == "2024-03-01T00:00:00+00:00"
    first = payload["cohorts"][0]
    assert list(first) == ["cohort", "size", "retention"]
    assert first["cohort"] == "2024-01-01"  # a Monday: the first day of the week
    assert first["size"] == 7  # members m00..m06 joined Jan 1-7
    lengths = {len(c["retention"]) for c in payload["cohorts"]}
    assert len(lengths) == 1  # every cohort lists the same periods
    # listed up to the last period complete for at least one cohort, nulls where incomplete
    assert any(c["retention"][-1] is not None for c in payload["cohorts"])
    assert payload["cohorts"][-1]["retention"][-1] is None
    community = load_community(open_source(small_folder), as_of=parse_timestamp("2024-03-01"))
    from analytics.retention import cohort_matrix

    assert payload == json.loads(json.dumps(cohort_matrix(community, period="week").to_json()))


def test_retention_table_is_readable(
    small_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["retention", "--data", str(small_folder), "--period", "month"]) == 0
    out = capsys.readouterr().out
    assert "Retention by month after joining" in out
    assert out.splitlines()[2].split()[:4] == ["cohort", "size", "m0", "m1"]
    assert "2024-01-01" in out
    assert "%" in out


def test_retention_needs_a_period(small_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["retention", "--data", str(small_folder), "--period", "year"])
    assert "invalid choice: 'year'" in capsys.readouterr().err


def test_effects_json_is_exactly_the_documented_array(
    demo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["effects", "--data", str(demo_folder), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    keys = [
        "item_id", "kind", "title", "n_exposed", "n_control", "effect", "ci_low", "ci_high",
        "p_value", "q_value", "naive_effect", "verdict", "reason",
        "holm_p", "adjusted_p", "error_control", "trial_effect", "trial_ci_low", "trial_ci_high",
    ]  # fmt: skip
    assert all(list(row) == keys for row in rows)
    assert {row["error_control"] for row in rows} == {"per_item"}
    trials = [r for r in rows if r["trial_effect"] is not None]
    assert trials  # the sequential-trial view beside the landmark estimate
    assert all(r["trial_ci_low"] <= r["trial_effect"] <= r["trial_ci_high"] for r in trials)
    by_id = {row["item_id"]: row for row in rows}
    assert by_id["b004"]["verdict"] == "not_identifiable"  # the tenure badge
    assert by_id["b004"]["effect"] is None
    estimable = [r for r in rows if r["effect"] is not None]
    assert all(
        -1 <= r["effect"] <= 1 and r["ci_low"] <= r["effect"] <= r["ci_high"] for r in estimable
    )
    assert {r["verdict"] for r in rows} <= {"helps", "hurts", "no_evidence", "not_identifiable"}


def test_effects_table_and_windows(demo_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["effects", "--data", str(demo_folder), "--landmark-days", "14", "--horizon-days", "60"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "first 14 days" in out
    assert "60 days later" in out
    assert "why: too few members" in out  # the tenure badge, explained
    # a person reads this table: codes in words, and no adjusted p printed as 0
    assert "cannot be estimated" in out
    assert not {"not_identifiable", "no_evidence", "0.000"} & set(out.split())


def test_effects_sensitivity_only_on_request(
    demo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["effects", "--data", str(demo_folder), "--json", "--sensitivity"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert all(list(row)[-2:] == ["effect_inactive_14d", "effect_inactive_60d"] for row in rows)
    estimable = [r for r in rows if r["effect"] is not None]
    again = [r for r in estimable if r["effect_inactive_14d"] is not None]
    assert again  # the re-estimates are there for the estimable items
    # another churn definition moves an effect a little, not across the scale
    assert all(abs(r["effect_inactive_14d"] - r["effect"]) < 0.1 for r in again)
    assert all(r["effect_inactive_60d"] is None for r in rows if r["effect"] is None)
    assert main(["effects", "--data", str(demo_folder), "--sensitivity"]) == 0
    out = capsys.readouterr().out
    assert "N days = the effect with churn after N quiet days instead." in out
    assert "14 days" in out
    assert "60 days" in out


def test_import_stackexchange_writes_a_loadable_community(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import SHARED_DATASETS

    dump = SHARED_DATASETS / "stackexchange-music-meta"
    if not dump.is_dir():
        pytest.skip("the Stack Exchange sample is not available")
    url = f"sqlite:///{tmp_path / 'se.db'}"
    assert main(["import", "stackexchange", str(dump), "--out", url]) == 0
    out = capsys.readouterr().out
    assert "posts without owner" in out
    community = load_community(open_source(url))
    assert community.members.height == 3_032  # 3,033 accounts less the bot
    assert community.attributes == ()  # nothing known at signup beyond the contract columns
    assert "badge:yearling" in community.proof_items["item_id"].to_list()  # type: ignore[index]


def test_import_stackexchange_reads_the_7z_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import py7zr

    from tests.conftest import SHARED_DATASETS

    dump = SHARED_DATASETS / "stackexchange-music-meta"
    if not dump.is_dir():
        pytest.skip("the Stack Exchange sample is not available")
    archive = tmp_path / "music.meta.stackexchange.com.7z"
    with py7zr.SevenZipFile(archive, mode="w") as packed:
        for name in ("Users.xml", "Posts.xml", "Badges.xml"):
            packed.write(dump / name, arcname=name)
    out = tmp_path / "se"
    assert main(["import", "stackexchange", str(archive), "--out", str(out)]) == 0
    assert "members: 3,032 rows" in capsys.readouterr().out
    assert load_community(open_source(out)).exposures.height == 5_648
    broken = tmp_path / "broken.7z"
    broken.write_bytes(archive.read_bytes()[:2_000])
    assert main(["import", "stackexchange", str(broken), "--out", str(tmp_path / "x")]) == 1
    assert "broken.7z is not a readable 7-Zip archive" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_effects_per_segment(demo_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["effects", "--data", str(demo_folder), "--json"]
    assert main(args) == 0
    everyone = {r["item_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert main([*args, "--segment", "plan=free"]) == 0
    free = {r["item_id"]: r for r in json.loads(capsys.readouterr().out)}
    assert free["p001"]["n_exposed"] + free["p001"]["n_control"] < (
        everyone["p001"]["n_exposed"] + everyone["p001"]["n_control"]
    )
    assert main([*args, "--segment", "shoe_size=42"]) == 1
    assert "ATTRIBUTE=VALUE" in capsys.readouterr().err


def test_milestones_json_keys(demo_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["milestones", "--data", str(demo_folder), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows
    assert all(
        list(r) == ["milestone_id", "title", "announced_at", "expected_signups",
                    "observed_signups", "uplift", "ci_low", "ci_high", "p_value", "verdict"]
        for r in rows
    )  # fmt: skip
    assert {r["verdict"] for r in rows} <= {"lift", "drop", "no_evidence", "not_estimable"}
    assert main(["milestones", "--data", str(demo_folder)]) == 0
    assert "placebo dates" in capsys.readouterr().out


def test_risk_json_ranks_members_with_the_documented_keys(
    demo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["risk", "--data", str(demo_folder), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert {"auc", "baseline_auc", "members"} <= set(payload)
    assert payload["auc"] > payload["baseline_auc"]
    risks = [m["risk"] for m in payload["members"]]
    assert risks == sorted(risks, reverse=True)
    assert len(risks) > 50
    assert set(payload["members"][0]) == {"member_id", "risk", "factors"}
    assert main(["risk", "--data", str(demo_folder), "--top", "3"]) == 0
    text = capsys.readouterr().out
    assert "Held-out ROC AUC" in text
    assert "beats the recency-only baseline" in text
    assert payload["members"][0]["member_id"] in text


def test_overview_json_and_csv_say_not_known_yet_with_null_and_known_from(
    small_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from analytics.overview import kpi_json, overview_kpis
    from analytics.periods import Period

    args = ["overview", "--data", str(small_folder), "--days", "30", "--as-of", "2024-03-01"]
    assert main([*args, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    churned = next(k for k in payload["kpis"] if k["key"] == "churned")
    # the period ends at the as-of time (1 March 00:00): a member last seen then has been quiet
    # 30 days only after the end of 30 March, so it is known with data as of 31 March
    assert churned["value"] is None
    assert churned["change"] is None
    assert churned["known_from"] == "2024-03-31"
    # the same figures as the Overview page's function for the same period
    community = load_community(open_source(small_folder), as_of=parse_timestamp("2024-03-01"))
    from datetime import date

    period = Period.from_dates(date(2024, 2, 1), date(2024, 3, 1), as_of=community.as_of)
    assert payload["kpis"] == json.loads(json.dumps(kpi_json(overview_kpis(community, period))))
    assert main([*args, "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0].split(",")
    row = next(line for line in lines if line.startswith("Churned,")).split(",")
    assert row[header.index("value")] == ""  # null, never 0
    assert row[header.index("known_from")] == "2024-03-31"
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Churned" in text
    assert "not known yet (known with data as of 2024-03-31)" in text


def test_effects_error_control_fdr_in_json_and_table(
    demo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["effects", "--data", str(demo_folder), "--error-control", "fdr"]
    assert main([*args, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {row["error_control"] for row in rows} == {"fdr"}
    for row in rows:
        if row["effect"] is not None:
            assert row["adjusted_p"] == row["q_value"] <= row["holm_p"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Who is compared: members active in the week before day 30" in out
    assert "fewer than 1 in 20 items flagged this way is a false alarm" in out
