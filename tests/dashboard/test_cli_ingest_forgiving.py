"""``proofboard ingest --map``: blank lines are skipped and said, dates in the file's format."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.community import load_community
from analytics.io import open_source
from dashboard.cli import main

MAPPING = """
[members]
file = "users.csv"
date_format = "MM/DD/YYYY"

[members.columns]
member_id = "user_id"
joined_at = "created_at"

[activity]
file = "events.csv"
date_format = "Unix seconds"

[activity.columns]
member_id = "uid"
occurred_at = "timestamp"
kind = "action"
"""


def test_ingest_skips_blank_lines_says_so_and_reads_each_files_dates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "users.csv").write_text(
        "user_id,created_at,plan\n1,01/31/2024,free\n\n2,02/01/2024,pro\n,,\n", encoding="utf-8"
    )
    (own / "events.csv").write_text(
        "uid,timestamp,action\n1,1706745600,post\n2,1706832000,comment\n", encoding="utf-8"
    )
    (own / "mapping.toml").write_text(MAPPING, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    code = main(
        ["ingest", str(own / "users.csv"), str(own / "events.csv"),
         "--map", str(own / "mapping.toml"), "--to", url]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "users.csv: skipped 2 blank lines (data rows 2, 4)." in captured.err
    community = load_community(open_source(url))
    joined = community.members.sort("member_id")["joined_at"].dt.date().to_list()
    assert [d.isoformat() for d in joined] == ["2024-01-31", "2024-02-01"]
    seen = community.activity.sort("member_id")["occurred_at"].dt.date().to_list()
    assert [d.isoformat() for d in seen] == ["2024-02-01", "2024-02-02"]
