"""The allowlist of Connect a database (analytics.io.connect_policy)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analytics.io.connect_policy import DATA_DIR, ConnectPolicy, ConnectRefused


@pytest.fixture
def policy(tmp_path: Path) -> ConnectPolicy:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    return ConnectPolicy.from_settings(
        {
            "allowed_schemes": ["sqlite", "postgresql+psycopg"],
            "allowed_hosts": ["db.example.org", "*.corp.example.org"],
            "sqlite_folders": [str(allowed)],
        }
    )


def test_the_default_allows_sqlite_files_in_data_only() -> None:
    default = ConnectPolicy.from_settings(None)
    assert default.sqlite_folders == (DATA_DIR,)
    default.check(f"sqlite:///{DATA_DIR / 'community.db'}")
    with pytest.raises(ConnectRefused, match="not in the allowlist"):
        default.check("postgresql+psycopg://u:pw@127.0.0.1/db")
    with pytest.raises(ConnectRefused, match="must lie inside"):
        default.check("sqlite:////etc/passwd")


def test_allowed_hosts_and_schemes(policy: ConnectPolicy) -> None:
    policy.check("postgresql+psycopg://u:pw@db.example.org:5432/community")
    policy.check("postgresql+psycopg://u@a.corp.example.org/community")
    for url, reason in [
        ("postgresql+psycopg://u@evil.example.org/db", "host 'evil.example.org'"),
        ("postgresql+psycopg://u@corp.example.org/db", "host 'corp.example.org'"),
        ("postgresql+psycopg://u@db.example.org.evil.net/db", "not in the allowlist"),
        ("postgresql+psycopg2://u@db.example.org/db", "'postgresql+psycopg2'"),
        ("mysql+pymysql://u@db.example.org/db", "'mysql+pymysql'"),
        ("postgresql+psycopg://u@db.example.org/db?host=10.0.0.9", "the URL option(s) host"),
        ("postgresql+psycopg:///db", "host '(none)'"),
    ]:
        with pytest.raises(ConnectRefused, match=re.escape(reason)):
            policy.check(url)


def test_refusals_never_show_the_password(policy: ConnectPolicy) -> None:
    with pytest.raises(ConnectRefused) as caught:
        policy.check("postgresql+psycopg://ann:Top-S3cret@evil.example.org/db")
    assert "Top-S3cret" not in str(caught.value)
    assert "ann:***@evil.example.org" in str(caught.value)


def test_sqlite_paths_must_resolve_inside_the_folder(policy: ConnectPolicy, tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    policy.check(f"sqlite:///{allowed / 'community.db'}")
    policy.check(f"sqlite:///{allowed / 'sub' / 'x.db'}")
    outside = tmp_path / "secret.db"
    outside.write_bytes(b"")
    (allowed / "link.db").symlink_to(outside)
    for url in [
        f"sqlite:///{outside}",
        f"sqlite:///{allowed}/../secret.db",  # climbing out with ..
        f"sqlite:///{allowed / 'link.db'}",  # a link inside that points outside
        f"sqlite:///{allowed}_sibling/x.db",  # a folder whose name only starts the same
    ]:
        with pytest.raises(ConnectRefused, match="must lie inside"):
            policy.check(url)
    for url in ["sqlite://", "sqlite:///:memory:", f"sqlite:///file:{allowed}/x.db?uri=true"]:
        with pytest.raises(ConnectRefused):
            policy.check(url)


def test_relative_sqlite_paths_resolve_from_the_working_directory(
    policy: ConnectPolicy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path / "allowed")
    policy.check("sqlite:///community.db")
    with pytest.raises(ConnectRefused):
        policy.check("sqlite:///../elsewhere.db")
