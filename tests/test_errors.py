"""Every problem Proofboard reports to a person is a ProofboardError, so the CLI and the pages
catch one class instead of matching exception names or messages."""

from __future__ import annotations

import ast
import builtins
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import analytics
import dashboard
from analytics.errors import InputError, ProofboardError
from dashboard import exports
from dashboard.cli import main

REPO = Path(__file__).resolve().parents[1]
#: Streamlit scripts: importing them would run a page.
SCRIPTS = ("dashboard.app", "dashboard.app_pages")
#: Built-in exceptions raised on purpose for a programming mistake, not a user's problem:
#: (module path or package prefix, exception) with why.
INTERNAL = {
    # DemoBlocks.truth read before every block was drawn: a caller's bug
    ("analytics/demo/generate.py", "RuntimeError"),
    # CoxResult.term(name): a mapping lookup, KeyError as a dict gives
    ("analytics/cox", "KeyError"),
}
ALWAYS_ALLOWED = {"NotImplementedError", "AssertionError", "StopIteration"}


def _modules() -> list[str]:
    names = []
    for package in (analytics, dashboard):
        for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
            if not info.name.startswith(SCRIPTS) and not info.name.endswith(".__main__"):
                names.append(info.name)
    return names


def test_every_exception_class_of_proofboard_is_a_proofboard_error() -> None:
    found = []
    for name in _modules():
        try:
            module = importlib.import_module(name)
        except ImportError:  # an optional extra (spark) that is not installed
            continue
        for _, value in inspect.getmembers(module, inspect.isclass):
            if value.__module__ == name and issubclass(value, BaseException):
                found.append(value)
                assert issubclass(value, ProofboardError), f"{name}.{value.__name__}"
    assert len(found) >= 10  # DataSourceError, MappingError, ExportError, ReportError, ...


def _raised_builtins(path: Path) -> list[tuple[str, int]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and isinstance(getattr(builtins, exc.id, None), type):
                out.append((exc.id, node.lineno))
    return out


def test_no_module_raises_a_bare_builtin_exception_for_a_users_problem() -> None:
    offenders = []
    for folder in ("analytics", "dashboard"):
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = str(path.relative_to(REPO))
            for name, line in _raised_builtins(path):
                internal = any(rel.startswith(p) and name == n for p, n in INTERNAL)
                if name not in ALWAYS_ALLOWED and not internal:
                    offenders.append(f"{rel}:{line} raises {name}")
    assert not offenders


def test_the_cli_matches_no_exception_by_name_or_message() -> None:
    source = (REPO / "dashboard" / "cli" / "entry.py").read_text()
    assert "__name__ ==" not in source
    assert '"Error" in' not in source


def test_a_settings_error_reaches_the_cli_as_one_line(
    small_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert issubclass(InputError, ValueError)  # callers that catch ValueError keep working
    code = main(["effects", "--data", str(small_folder), "--landmark-days", "0"])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1
    assert "landmark_days and horizon_days must be at least 1 day" in err
    assert "unexpected" not in err


def test_an_image_that_cannot_be_drawn_is_one_clear_line_in_the_cli(
    small_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """ExportError (no browser to draw with) is a ProofboardError: the CLI reports it like any
    other, without looking at its name. (Drawing without a browser for real makes kaleido's
    background server hang, so the drawing step is replaced by what it raises.)"""

    def no_browser(_fig: object, fmt: str, **_: object) -> bytes:
        raise exports.ExportError(f"The chart could not be drawn as {fmt.upper()}: no browser.")

    monkeypatch.setattr(exports, "figure_image", no_browser)
    out = tmp_path / "growth.png"
    code = main(["export", "chart", "growth", "--data", str(small_folder), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "unexpected" not in err
    assert err.strip().splitlines()[-1] == (
        "proofboard: error: The chart could not be drawn as PNG: no browser."
    )
    assert not out.exists()
