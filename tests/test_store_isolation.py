"""Running the tests never changes the repository's own data/ folder: the embedded database is a
temporary one for the whole session (tests/conftest.py), and the session fails at its end when
a file under data/ was created, changed or removed anyway."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from analytics import embedded
from analytics.io.history import read_audit
from tests.conftest import REPO, data_fingerprint

DATA = REPO / "data"


def test_the_embedded_database_of_the_tests_is_outside_the_repository() -> None:
    database = embedded.default_database()
    assert DATA not in database.parents
    assert REPO not in database.parents
    assert embedded.default_url() == f"sqlite:///{database}"


def test_an_audit_line_without_a_configured_source_goes_to_the_test_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dashboard import data

    monkeypatch.delenv(data.ENV_DATA, raising=False)
    monkeypatch.delenv(data.ENV_STORE, raising=False)
    before = data_fingerprint()
    data.record_export("store isolation check", actor="tests")
    assert data_fingerprint() == before  # nothing under data/ created or changed
    audit = read_audit(embedded.default_url())
    assert "store isolation check" in audit["detail"].to_list()


def test_a_subprocess_uses_the_same_temporary_embedded_database() -> None:
    """CLI runs and dashboard servers the tests start inherit the temporary location."""
    script = "from analytics import embedded; print(embedded.default_database())"
    shown = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert Path(shown) == embedded.default_database()
