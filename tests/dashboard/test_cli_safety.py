"""The command line under bad input: one line, no traceback, no secret, quiet on a closed pipe."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.cli import main

LEAKY = "postgresql://u:Top@Secret:Tail@127.0.0.1:1/db"


@pytest.mark.parametrize(
    "url",
    [LEAKY, "postgresql://u:Top@Secret:Tail@127.0.0.1:notaport/db", "x://u:Top@Secret:Tail@h/d"],
)
def test_validate_never_prints_a_piece_of_the_password(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--data", url]) == 1
    out, err = capsys.readouterr()
    for piece in ("Top", "Secret", "Tail"):
        assert piece not in out + err
    assert err.startswith("proofboard: error: ")
    assert len(err.strip().splitlines()) == 1


def test_a_closed_pipe_ends_quietly(small_folder: Path) -> None:
    """``proofboard ... | head``: the reader is gone before the report is written."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dashboard.cli", "validate", "--data", str(small_folder)],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.stderr == ""
    assert done.returncode == 141


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_import_refuses_a_folder_holding_an_older_community(
    tmp_path: Path, small_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.analytics.io.test_stackexchange import _dump

    dump = _dump(tmp_path / "dump")
    before = _tree(small_folder)  # members, activity and milestones of another community
    assert main(["import", "stackexchange", str(dump), "--out", str(small_folder)]) == 1
    err = capsys.readouterr().err
    assert "already holds milestones.parquet, which this import would not replace" in err
    assert _tree(small_folder) == before  # nothing written


def test_import_replaces_exactly_its_own_files(tmp_path: Path) -> None:
    from tests.analytics.io.test_stackexchange import _dump

    dump = _dump(tmp_path / "dump")
    out = tmp_path / "out"
    assert main(["import", "stackexchange", str(dump), "--out", str(out)]) == 0
    first = _tree(out)
    assert main(["import", "stackexchange", str(dump), "--out", str(out)]) == 0  # a re-run
    assert _tree(out).keys() == first.keys()


def test_import_refuses_a_database_holding_an_older_community(
    tmp_path: Path, small_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import hashlib

    from tests.analytics.io.test_stackexchange import _dump

    url = f"sqlite:///{tmp_path / 'old.db'}"
    assert main(["ingest", str(small_folder), "--to", url]) == 0  # with milestones
    before = hashlib.sha256((tmp_path / "old.db").read_bytes()).hexdigest()
    capsys.readouterr()
    dump = _dump(tmp_path / "dump")
    assert main(["import", "stackexchange", str(dump), "--out", url]) == 1
    assert "already holds the table(s) milestones" in capsys.readouterr().err
    assert hashlib.sha256((tmp_path / "old.db").read_bytes()).hexdigest() == before
    fresh = f"sqlite:///{tmp_path / 'new.db'}"
    assert main(["import", "stackexchange", str(dump), "--out", fresh]) == 0
    assert main(["import", "stackexchange", str(dump), "--out", fresh]) == 0  # a re-run
