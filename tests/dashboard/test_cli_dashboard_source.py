"""`proofboard dashboard` resolves its source as the README says: --data, then
$PROOFBOARD_DATA, then data in secrets.toml, then the embedded database; only --data is
passed on, so the dashboard reads secrets.toml itself."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from dashboard import cli
from dashboard.cli import serve


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """Run in an empty folder with an empty home; record what would be exec'd."""
    seen: dict[str, Any] = {}

    def execve(_exe: str, command: list[str], env: dict[str, str]) -> None:
        seen["command"], seen["env"] = command, env

    monkeypatch.setattr(serve.os, "execve", execve)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv(cli.ENV_DATA, raising=False)
    (tmp_path / "embedded.db").touch()
    monkeypatch.setattr(serve, "_default_source", lambda _progress: "sqlite:///embedded.db")
    return seen


def _secrets(folder: Path, data: Path) -> None:
    (folder / ".streamlit").mkdir(parents=True)
    (folder / ".streamlit" / "secrets.toml").write_text(f'[proofboard]\ndata = "{data}"\n')


def test_data_in_secrets_toml_is_used_and_not_overridden(
    started: dict[str, Any], tmp_path: Path, small_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _secrets(tmp_path, small_folder)
    assert cli.main(["dashboard"]) == 0
    assert cli.ENV_DATA not in started["env"]  # the app reads secrets.toml itself
    assert f"Proofboard dashboard on {small_folder}" in capsys.readouterr().out


def test_the_flag_wins_over_secrets_toml(
    started: dict[str, Any], tmp_path: Path, small_folder: Path, minimal_folder: Path
) -> None:
    _secrets(tmp_path, small_folder)
    assert cli.main(["dashboard", "--data", str(minimal_folder)]) == 0
    assert started["env"][cli.ENV_DATA] == str(minimal_folder)


def test_a_bad_source_in_secrets_toml_is_refused_before_starting(
    started: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _secrets(tmp_path, tmp_path / "missing")
    assert cli.main(["dashboard"]) == 1
    assert "missing does not exist" in capsys.readouterr().err
    assert not started


def test_without_any_setting_the_embedded_database_is_used(
    started: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["dashboard"]) == 0
    assert cli.ENV_DATA not in started["env"]
    assert "Proofboard dashboard on sqlite:///embedded.db" in capsys.readouterr().out


def test_the_home_secrets_file_counts_and_the_project_one_wins(
    tmp_path: Path, small_folder: Path, minimal_folder: Path
) -> None:
    home, project = tmp_path / "home", tmp_path / "project"
    _secrets(home, small_folder)
    assert serve.secrets_data([home / ".streamlit" / "secrets.toml"]) == str(small_folder)
    _secrets(project, minimal_folder)
    files = [home / ".streamlit" / "secrets.toml", project / ".streamlit" / "secrets.toml"]
    assert serve.secrets_data(files) == str(minimal_folder)


def test_a_package_of_the_same_name_in_the_working_folder_is_not_imported(
    started: dict[str, Any], tmp_path: Path, small_folder: Path
) -> None:
    """The server's interpreter, started as the command does in a folder that holds packages
    named ``analytics`` and ``dashboard``, imports Proofboard's own."""
    assert cli.main(["dashboard", "--data", str(small_folder)]) == 0
    command = started["command"]
    flags = command[: command.index("-m")]  # the interpreter and its options
    for name in ("analytics", "dashboard"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "__init__.py").write_text("raise ImportError('the wrong package')\n")
    found = subprocess.run(
        [*flags, "-c", "import analytics.community, dashboard.server; print('imported')"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip() == "imported"
