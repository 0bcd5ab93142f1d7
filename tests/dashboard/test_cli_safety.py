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
