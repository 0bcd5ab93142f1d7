"""One chart path: every chart a page shows is drawn by a builder of dashboard.catalog, and for
the same view it is the chart ``proofboard export chart`` writes: same title, same subtitle
(period, segments, as-of time), same data."""

from __future__ import annotations

import ast
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import plotly.io as pio
import polars as pl
import pytest

from analytics.community import load_community
from analytics.io import open_source
from analytics.milestones import estimate_milestones
from dashboard import catalog
from dashboard.catalog import CHARTS, View, build
from dashboard.cli import main
from tests.dashboard.conftest import no_exceptions, plotly_spec

PAGES = [
    "app_pages/overview.py",
    "app_pages/review.py",
    "app_pages/growth.py",
    "app_pages/retention.py",
    "app_pages/engagement.py",
    "app_pages/impact.py",
]
PAGE_DIR = Path(catalog.__file__).parent / "app_pages"
#: Pages whose tabs compute only when opened: each tab is opened in turn.
TABS = {
    "app_pages/retention.py": ("Cohort matrix", "Survival", "Lifecycle", "Churn"),
    "app_pages/engagement.py": ("Activity", "Leaderboards", "Churn risk"),
}


def _same(a: Any, b: Any) -> bool:
    """Equal figure data, floats to 1e-9 (the page adjusts for the attributes in sorted order,
    the default settings in the data's order: the same model, summed in another order)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and b == pytest.approx(a)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _title(spec: dict[str, Any]) -> tuple[str, str]:
    title = spec["layout"]["title"]
    return title["text"], title.get("subtitle", {}).get("text", "")


def test_every_chart_on_every_page_is_the_catalog_chart_of_the_same_view(
    app_on,  # type: ignore[no-untyped-def]
    demo_folder: Path,
) -> None:
    at = app_on(demo_folder)
    shown: dict[str, dict[str, Any]] = {}
    for page in PAGES:
        at.switch_page(page).run()
        drawn = 0
        for tab in TABS.get(page, (None,)):
            if tab is not None:  # open it, as a click does
                at.session_state["tab"] = tab
                at.run()
            no_exceptions(at)
            specs = [plotly_spec(at, i) for i in range(len(at.get("plotly_chart")))]
            drawn += len(specs)
            for spec in specs:
                name = spec["layout"].get("meta", {}).get("chart")
                assert name in CHARTS, (page, tab, _title(spec))  # drawn by a catalog builder
                shown.setdefault(name, spec)
        assert drawn, page
    # the pages' default views cover most of the catalog
    assert len(shown) >= len(CHARTS) - 2, sorted(set(CHARTS) - set(shown))

    community = load_community(open_source(demo_folder))
    view = View.default(community)  # the sidebar's default: the last 90 days, all members
    for name, spec in shown.items():
        fig, _ = build(name, community, view)
        exported = json.loads(pio.to_json(fig))
        assert _title(spec) == _title(exported), name
        assert "data as of" in _title(spec)[1], name
        assert _same(spec["data"], exported["data"]), name


def test_a_milestone_chart_names_its_own_window_not_the_pages_period(
    demo_folder: Path,
) -> None:
    community = load_community(open_source(demo_folder))
    view = View.default(community)
    fig, daily = build("milestone-detail", community, view)
    subtitle = fig.layout.title.subtitle.text
    assert f"{view.first} to {view.last}" not in subtitle
    assert view.period.label() not in subtitle
    start, end = daily["offset"].min(), daily["offset"].max()
    assert start < 0 < end  # the weeks before and the window after the announcement
    effect = next(e for e in estimate_milestones(community).effects if e.daily is not None)
    assert effect.window_label() in subtitle  # "<first> to <last>, around the announcement on"
    assert f"around the announcement on {effect.announced_at:%Y-%m-%d}" in subtitle
    assert subtitle.count(" to ") == 1


def test_segments_and_period_of_the_view_reach_the_subtitle(demo_folder: Path) -> None:
    community = load_community(open_source(demo_folder))
    attribute = next(iter(community.attributes))
    value = community.segment_values(attribute)[0]
    default = View.default(community)
    view = View(
        community.filter_members({attribute: (value,)}),
        default.first,
        default.last,
        {attribute: (value,)},
    )
    fig, _ = build("lifecycle", community, view)
    subtitle = fig.layout.title.subtitle.text
    assert f"{attribute} = {value}" in subtitle
    assert f"joined {view.first} to {view.last}" in subtitle


def _calls(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            if isinstance(owner, ast.Name):
                names.append(f"{owner.id}.{node.func.attr}")
    return names


@pytest.mark.parametrize("page", sorted(p.name for p in PAGE_DIR.glob("*.py")))
def test_pages_show_charts_only_through_the_one_component(page: str) -> None:
    calls = _calls(PAGE_DIR / page)
    assert "st.plotly_chart" not in calls
    assert "components.chart_downloads" not in calls
    drawn_directly = [c for c in calls if c.startswith("charts.") and c.endswith("_chart")]
    assert not drawn_directly
    assert not [c for c in calls if c in {"charts.forest_plot", "charts.cohort_heatmap"}]


def test_the_cli_exports_the_view_a_page_shows(
    demo_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    community = load_community(open_source(demo_folder))
    attribute = next(iter(community.attributes))
    value = community.segment_values(attribute)[0]
    last = community.as_of.date()
    first = last - timedelta(days=59)
    out = tmp_path / "lifecycle.html"
    view_args = ["--from", str(first), "--to", str(last), "--segment", f"{attribute}={value}"]
    argv = ["export", "chart", "lifecycle", "--data", str(demo_folder), *view_args]
    assert main([*argv, "--out", str(out)]) == 0
    view = View(community.filter_members({attribute: (value,)}), first, last, {attribute: (value,)})
    fig, frame = build("lifecycle", community, view)
    subtitle = fig.layout.title.subtitle.text
    assert f"{attribute} = {value}" in subtitle
    assert f"joined {first} to {last}" in subtitle
    html = out.read_text()
    assert f"{attribute} = {value}" in html
    assert f"joined {first} to {last}" in html
    csv = tmp_path / "lifecycle.csv"
    assert main([*argv, "--out", str(csv)]) == 0
    assert pl.read_csv(csv).height == frame.height

    capsys.readouterr()
    bad = ["export", "chart", "lifecycle", "--data", str(demo_folder), "--out", str(out)]
    assert main([*bad, "--segment", "nope=1"]) == 1
    assert "write ATTRIBUTE=VALUE with one of the member attributes" in capsys.readouterr().err
    assert main([*bad, "--from", str(last), "--to", str(first)]) == 1
    assert f"--from {last} is after --to {first}: swap them." in capsys.readouterr().err
