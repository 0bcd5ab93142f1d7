"""Session-state and query-parameter keys and KPI names are typed enums, not string literals
scattered over the pages."""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from analytics.community import load_community
from analytics.io import open_source
from analytics.overview import Kpi, KpiName, overview_kpis
from analytics.periods import Period
from dashboard import state

DASHBOARD = Path(state.__file__).parent
NOT_KEYS = {"DEFAULT_RANGE", "SEGMENT_PREFIX"}  # a preset's name and a key prefix


def test_every_key_of_the_state_module_is_an_enum_member() -> None:
    names = [n for n in vars(state) if n.isupper() and isinstance(getattr(state, n), str)]
    keys = [n for n in names if n not in NOT_KEYS]
    assert len(keys) > 40
    for name in keys:
        assert isinstance(getattr(state, name), state.Param | state.Session), name
    assert not {p.value for p in state.Param} & {s.value for s in state.Session}
    assert all(not p.value.startswith("_") for p in state.Param)  # URL keys are readable


def _literal_keys(tree: ast.AST) -> list[str]:
    """String literals used as session-state or query-parameter keys."""
    found = []
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Subscript):
            target, key = node.value, node.slice
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"get", "get_all", "pop", "setdefault"}
            and node.args
        ):
            target, key = node.func.value, node.args[0]
        if (
            isinstance(target, ast.Attribute)
            and target.attr in {"session_state", "query_params"}
            and isinstance(key, ast.Constant)
            and isinstance(key.value, str)
        ):
            found.append(key.value)
    return found


def _literal_kpi_names(tree: ast.AST) -> list[str]:
    """KPI names written as strings: ``review.kpi("members")``, ``kpi.key == "churned"``."""
    names = {k.value for k in KpiName}
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "kpi"
            and any(isinstance(a, ast.Constant) for a in node.args)
        ):
            found.append(ast.unparse(node))
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Attribute)
            and node.left.attr == "key"
            and any(isinstance(c, ast.Constant) and c.value in names for c in node.comparators)
        ):
            found.append(ast.unparse(node))
    return found


def test_no_page_or_module_uses_a_string_literal_as_a_key_or_kpi_name() -> None:
    offenders = {}
    for path in [*DASHBOARD.rglob("*.py"), *(DASHBOARD.parent / "analytics").rglob("*.py")]:
        tree = ast.parse(path.read_text())
        found = _literal_keys(tree) + _literal_kpi_names(tree)
        if found:
            offenders[str(path.relative_to(DASHBOARD.parent))] = found
    assert not offenders


def test_the_key_figures_are_named_by_the_enum(small_folder: Path) -> None:
    community = load_community(open_source(small_folder))
    last = community.as_of.date()
    period = Period.from_dates(last - timedelta(days=29), last, as_of=community.as_of)
    kpis: list[Kpi] = overview_kpis(community, period)
    assert [k.key for k in kpis] == list(KpiName)
    assert all(isinstance(k.key, KpiName) for k in kpis)
