"""The layers stay honest: dashboard -> analytics -> analytics.io, no UI in analytics."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold() -> None:
    linter = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(linter)], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_contracts_cover_the_rules_of_the_handbook() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    forbidden = {
        c["source_modules"][0]: set(c["forbidden_modules"])
        for c in config["contracts"]
        if c["type"] == "forbidden"
    }
    assert {"streamlit", "plotly", "dashboard"} <= forbidden["analytics"]
    # every analytics module or package except io and the leaf modules it may use is forbidden
    # to io
    packages = {p.parent.name for p in (REPO / "analytics").glob("*/__init__.py")} - {"io"}
    modules = {p.stem for p in (REPO / "analytics").glob("*.py")} - {
        "__init__",
        "errors",
        "contract",
    }
    modules |= packages
    assert {f"analytics.{m}" for m in modules} == forbidden["analytics.io"]
