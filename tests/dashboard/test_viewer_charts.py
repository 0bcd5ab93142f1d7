"""Charts as the viewer role sees them (issue 14): no plotted value rests on fewer than k members,
nothing is invented or moved, the caption says what was hidden, and analysts get the catalog's
figure untouched. The pages run as AppTests on the hand-made community of tests/conftest.py
(60 members, one signup a day, weekly cohorts of 7), where most figures are about few members."""

from __future__ import annotations

import dataclasses
import itertools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from analytics.community import load_community
from analytics.io import open_source, write_database
from dashboard import catalog, privacy_view
from tests.conftest import small_community_tables
from tests.dashboard.conftest import no_exceptions
from tests.dashboard.test_auth import SECRETS, user

K = 10
NOTE = "Figures about fewer than 10 members are hidden for your role."

#: (page, query) for every page and tab a viewer can open that draws charts
VIEWS: list[tuple[str | None, dict[str, str]]] = [
    (None, {"range": "all"}),  # Overview
    ("app_pages/review.py", {}),
    ("app_pages/growth.py", {"range": "all"}),
    ("app_pages/retention.py", {"range": "all", "tab": "Cohort matrix"}),
    ("app_pages/retention.py", {"range": "all", "tab": "Survival"}),
    ("app_pages/retention.py", {"range": "all", "tab": "Lifecycle"}),
    ("app_pages/retention.py", {"range": "all", "tab": "Churn"}),
    ("app_pages/engagement.py", {"range": "all", "tab": "Activity"}),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('viewer') / 'store.db'}"
    write_database(small_community_tables(), url)
    return url


def _charts(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def _name(spec: dict[str, Any]) -> str:
    return str(spec["layout"].get("meta", {}).get("chart", ""))


def _small(value: Any) -> bool:
    return value is not None and 0 < abs(float(value)) < K


def _values(trace: dict[str, Any]) -> list[Any]:
    return list(trace["x"] if trace.get("orientation") == "h" else trace.get("y") or [])


def _counts(chart: str, trace: dict[str, Any], i: int) -> list[Any]:
    """The member counts behind point ``i`` of the analyst's ``trace`` (read from the figure an
    analyst gets: its values and hover data), for the charts whose points are about members."""
    name = str(trace.get("name") or "")
    value = _values(trace)[i]
    data = trace.get("customdata")
    if chart in ("growth", "review-signups"):
        return [] if name == "Milestone announced" else [value]
    if chart == "lifecycle":
        return [] if trace["type"] == "scatter" else [value]  # stickiness is a share
    if chart == "active-members":
        return [] if name.startswith("Stickiness") else [value]
    if chart == "retention-curve" and name.startswith("All cohorts"):
        return [data[i][1]]  # members behind the average
    if chart == "survival" and data:
        return [data[i][2]]  # members at risk
    if chart == "churn" and trace["type"] == "bar":
        return list(data[i])  # churned, members
    if chart in ("activity-by-kind", "first-activity"):
        return [data[i]]
    if chart == "review-kpis" and trace["type"] == "bar":
        return [value] if "%{y:,.0f}" in trace.get("hovertemplate", "") else []
    if chart == "milestone-detail" and trace["type"] == "bar":
        return [value]
    if chart in ("effects", "review-effects") and data:
        return [data[i][1], data[i][2]]  # exposed, compared
    return []


def _check(viewer: dict[str, Any], analyst: dict[str, Any]) -> int:
    """Every value the viewer sees is the analyst's, and none rests on fewer than k members;
    returns how many of the analyst's values the viewer does not see."""
    chart = _name(analyst)
    assert _name(viewer) == chart
    assert [t.get("name") for t in viewer["data"]] == [t.get("name") for t in analyst["data"]]
    hidden = 0
    for seen, full in zip(viewer["data"], analyst["data"], strict=True):
        if full["type"] == "heatmap":
            continue  # the cohort heatmap blanks its own cells (test_auth)
        for i, (mine, theirs) in enumerate(zip(_values(seen), _values(full), strict=True)):
            if mine is None:
                hidden += theirs is not None
                continue
            assert mine == theirs, (chart, full.get("name"), i)
            assert not any(_small(c) for c in _counts(chart, full, i)), (chart, full.get("name"))
    return hidden


def _run(app_on: Callable[..., AppTest], store: str, role: str, page: str | None, **query: Any):
    at = app_on(store, page=page, secrets=SECRETS, user=user(role), **query)
    no_exceptions(at)
    return at


@pytest.mark.parametrize(("page", "query"), VIEWS, ids=[f"{p}-{q}" for p, q in VIEWS])
def test_no_chart_shows_a_viewer_figures_about_fewer_than_k_members(
    app_on: Callable[..., AppTest], store: str, page: str | None, query: dict[str, str]
) -> None:
    viewer = _run(app_on, store, "pb-viewers", page, **query)
    analyst = _run(app_on, store, "pb-analysts", page, **query)
    seen, full = _charts(viewer), _charts(analyst)
    assert seen, "the page draws charts"
    assert len(seen) == len(full)
    hidden = {_name(a): _check(v, a) for v, a in zip(seen, full, strict=True)}
    captions = " ".join(str(c.value) for c in viewer.caption)
    assert (NOTE in captions) is any(hidden.values())
    assert NOTE not in " ".join(str(c.value) for c in analyst.caption)
    # the hand-made community is small: each of these charts loses points for a viewer
    for chart in ("growth", "retention-curve", "survival", "lifecycle", "churn", "active-members"):
        if chart in hidden:
            assert hidden[chart] > 0, chart


def test_recent_cohort_lines_of_fewer_than_k_members_are_gone(
    app_on: Callable[..., AppTest], store: str
) -> None:
    viewer = _run(app_on, store, "pb-viewers", "app_pages/retention.py", range="all")
    (curve,) = [s for s in _charts(viewer) if _name(s) == "retention-curve"]
    cohorts = [t for t in curve["data"] if str(t.get("name", "")).startswith("Cohort ")]
    assert cohorts  # cohorts of 7 members: the lines are drawn empty
    assert all(y is None for t in cohorts for y in t["y"])


def test_analysts_get_the_catalogs_figure_untouched(
    app_on: Callable[..., AppTest], store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an analyst's chart went through the viewer's rule")

    monkeypatch.setattr(privacy_view, "for_viewer", refuse)
    for page, query in VIEWS:
        at = _run(app_on, store, "pb-analysts", page, **query)
        assert at.get("plotly_chart")


def test_the_viewers_copy_leaves_the_catalogs_figure_byte_identical(store: str) -> None:
    community = load_community(open_source(store))
    assert community.first_join is not None
    view = dataclasses.replace(catalog.View.default(community), first=community.first_join.date())
    hidden = 0
    for name in ("growth", "retention-curve", "survival", "lifecycle", "churn", "review-kpis"):
        drawn = catalog.CHARTS[name].draw(view)
        before = drawn.figure.to_json()
        shown = privacy_view.for_viewer(drawn, K)
        assert drawn.figure.to_json() == before, name
        hidden += shown.hidden
        assert (shown.drawn.figure is drawn.figure) is (shown.hidden == 0)
    assert hidden


def test_forest_plot_items_with_few_exposed_members_are_hidden(
    app_on: Callable[..., AppTest], demo_folder: Path
) -> None:
    page = "app_pages/impact.py"
    analyst = app_on(demo_folder, page=page, secrets=SECRETS, user=user("pb-analysts"))
    no_exceptions(analyst)
    forest = _charts(analyst)[0]
    assert _name(forest) == "effects"
    exposed = sorted(d[1] for t in forest["data"] if t.get("customdata") for d in t["customdata"])
    assert len(exposed) >= 2
    k = exposed[len(exposed) // 2] + 1  # half the items rest on fewer members than this k
    secrets = {**SECRETS, "proofboard": {**SECRETS["proofboard"], "privacy": {
        "pseudonym_key": SECRETS["proofboard"]["privacy"]["pseudonym_key"],
        "min_cell_members": k}}}  # fmt: skip
    viewer = app_on(demo_folder, page=page, secrets=secrets, user=user("pb-viewers"))
    no_exceptions(viewer)
    shown = _charts(viewer)[0]
    kept = [
        (d[1], d[2])
        for t in shown["data"]
        if t.get("customdata")
        for x, d in zip(t["x"], t["customdata"], strict=True)
        if x is not None
    ]
    assert kept
    assert all(n_exposed >= k and n_control >= k for n_exposed, n_control in kept)
    assert len(kept) < len(exposed)
    assert f"Figures about fewer than {k} members are hidden for your role." in " ".join(
        str(c.value) for c in viewer.caption
    )
    # behind one estimate: an item with fewer than k exposed or compared members shows no
    # curves or balance to a viewer; an item with enough members does
    every = analyst.dataframe[0].value
    small = [
        0 < e < k or 0 < c < k
        for e, c in zip(every["exposed"], every["compared with"], strict=True)
    ]
    assert any(small)
    assert not all(small)
    for index in (small.index(True), small.index(False)):
        (choice,) = [s for s in viewer.selectbox if s.label == "Item"]
        choice.select_index(index).run()
        no_exceptions(viewer)
        names = [_name(c) for c in _charts(viewer)]
        hidden_here = "comparison rests on fewer than" in " ".join(
            str(i.value) for i in viewer.info
        )
        assert hidden_here is small[index]
        assert ("item-survival" in names) is not small[index] or "No comparison" in " ".join(
            str(i.value) for i in viewer.info
        )
        if small[index]:
            assert "item-balance" not in names


def test_viewers_get_no_download_of_the_unsuppressed_review(
    app_on: Callable[..., AppTest], store: str
) -> None:
    """The HTML review is the analysts' review (small groups shown): a viewer is not offered it."""
    page = "app_pages/review.py"
    viewer = _run(app_on, store, "pb-viewers", page)
    assert not [b for b in viewer.get("download_button") if "review (HTML)" in b.proto.label]
    assert "The downloadable review is for analysts and admins" in " ".join(
        str(c.value) for c in viewer.caption
    )
    analyst = _run(app_on, store, "pb-analysts", page)
    assert [b for b in analyst.get("download_button") if "review (HTML)" in b.proto.label]


def test_the_reviews_averages_of_hidden_weeks_are_gone(store: str) -> None:
    """The dashed line of a key figure is the average of the weeks before: a panel whose bars
    lost values loses it too."""
    community = load_community(open_source(store))
    drawn = catalog.CHARTS["review-kpis"].draw(catalog.View.default(community))
    shown = privacy_view.for_viewer(drawn, K).drawn.figure

    def lines(figure: Any, axis: str) -> int:
        return sum(
            1
            for s in figure.layout.shapes
            if str(s.yref).split(" ")[0] == axis and s.y0 is not None and s.y0 == s.y1
        )

    dropped = 0
    for before, after in zip(drawn.figure.data, shown.data, strict=True):
        if before.type != "bar":
            continue
        lost = any(a is None and b is not None for a, b in zip(after.y, before.y, strict=True))
        axis = str(before.yaxis or "y")
        if lost:
            dropped += lines(drawn.figure, axis)
            assert lines(shown, axis) == 0, before.name
        else:
            assert lines(shown, axis) == lines(drawn.figure, axis), before.name
    assert dropped  # the hand-made community's member counts are small: some line went


def test_milestone_markers_do_not_tell_the_height_of_hidden_bars(tmp_path: Path) -> None:
    """The markers sit a little above the tallest bar: for a viewer, the tallest bar shown."""
    import polars as pl

    tables = small_community_tables()
    members = tables["members"]
    extra = members.head(7).with_columns(
        pl.format("x{}", pl.col("member_id")).alias("member_id"),
        pl.col("joined_at").first(),  # 8 signups on the first day, 1 on the others
        pl.lit(None, dtype=members.schema["left_at"]).alias("left_at"),
    )
    tables["members"] = pl.concat([members, extra])
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    write_database(tables, url)
    community = load_community(open_source(url))
    assert community.first_join is not None
    view = dataclasses.replace(catalog.View.default(community), first=community.first_join.date())
    drawn = catalog.CHARTS["growth"].draw(view)
    (marker,) = [t for t in drawn.figure.data if t.name == "Milestone announced"]
    assert marker.y[0] == pytest.approx(8 * 1.08)  # tells the busiest day: 8 signups
    shown = privacy_view.for_viewer(drawn, K).drawn.figure
    (bars,) = [t for t in shown.data if t.type == "bar"]
    assert all(y in (None, 0) for y in bars.y)  # no day had 10 signups
    (marker,) = [t for t in shown.data if t.name == "Milestone announced"]
    assert marker.y[0] == pytest.approx(1.08)


# -- concentration (Lorenz), event study, item survival ------------------------------------------


def _lorenz_by_hand(counts: list[int]) -> Any:
    """A Concentration computed here from activity counts per member (the oracle)."""
    import math

    import polars as pl

    from analytics.engagement import Concentration

    ordered = sorted(counts)
    n, total = len(ordered), sum(ordered)
    cumulative = [sum(ordered[: i + 1]) / total for i in range(n)]

    def top(share: float) -> float:
        return sum(sorted(ordered, reverse=True)[: max(1, math.ceil(n * share))]) / total

    lorenz = pl.DataFrame(
        {
            "member_share": [0.0] + [(i + 1) / n for i in range(n)],
            "activity_share": [0.0, *cumulative],
        }
    )
    return Concentration(n, total, top(0.01), top(0.10), 0.5, lorenz)


@pytest.mark.parametrize(
    ("n", "top_1_shown", "top_10_shown"),
    [(60, False, False), (250, False, True), (1200, True, True)],
)
def test_the_concentration_note_hides_the_share_of_a_top_group_of_fewer_than_k(
    store: str, n: int, top_1_shown: bool, top_10_shown: bool
) -> None:
    """The top 1 % of 250 active members is 3 members: a viewer does not see their share, in
    the note or in the curve (no point leaves fewer than k members on either side of it, and
    no step between points is about fewer than k members)."""
    conc = _lorenz_by_hand([1 + (i * 7) % 23 + (i // 50) for i in range(n)])
    community = load_community(open_source(store))
    drawn = catalog.lorenz(catalog.View.default(community), conc)
    note = drawn.figure.layout.annotations[0].text
    assert f"{conc.top_1:.0%}" in note
    assert f"{conc.top_10:.0%}" in note
    shown = privacy_view.for_viewer(drawn, K)
    assert shown.hidden > 0
    seen = shown.drawn.figure.layout.annotations[0].text
    assert (f"top 1 %: {conc.top_1:.0%}" in seen) is top_1_shown
    assert (f"top 10 % of members: {conc.top_10:.0%}" in seen) is top_10_shown
    assert seen.count("hidden (fewer than 10 members)") == (not top_1_shown) + (not top_10_shown)
    if not top_10_shown:  # the arrow pointed at the top 10 %'s share on the curve
        assert not shown.drawn.figure.layout.annotations[0].showarrow
    (curve,) = [
        t for t in shown.drawn.figure.data if t.name == "Actual (members from least to most active)"
    ]
    points = [(x, y) for x, y in zip(curve.x, curve.y, strict=True) if y is not None]
    assert len(points) < len(curve.x)
    assert curve.connectgaps  # the line goes through the points kept
    below = [round(x * n) for x, _ in points]
    assert below[0] == 0
    assert below[-1] == n
    inner = below[1:-1]
    assert all(K <= b <= n - K for b in inner)
    assert all(b - a >= K for a, b in itertools.pairwise(below))
    # every point shown is the analyst's point
    full = dict(zip(drawn.data["member_share"], drawn.data["activity_share"], strict=True))
    assert all(full[x] == y for x, y in points)
    # the CSV behind the viewer's chart holds the same points, no more
    assert shown.drawn.data["member_share"].to_list() == [x for x, _ in points]
    assert drawn.figure.layout.annotations[0].text == note  # the catalog's figure untouched


def test_the_engagement_tiles_hide_a_top_group_of_fewer_than_k_from_viewers(
    app_on: Callable[..., AppTest], store: str
) -> None:
    """The hand-made community has up to 60 active members: the top 1 % is one member and the
    top 10 % six; a viewer sees neither share, an analyst both."""
    query = {"range": "all", "tab": "Activity"}
    page = "app_pages/engagement.py"
    viewer = _run(app_on, store, "pb-viewers", page, **query)
    analyst = _run(app_on, store, "pb-analysts", page, **query)

    def tiles(at: AppTest) -> dict[str, str]:
        return {m.label: m.value for m in at.metric if m.label.startswith("Activity from the top")}

    assert set(tiles(viewer).values()) == {"hidden"}
    assert len(tiles(viewer)) == 2
    assert all(v.endswith("%") for v in tiles(analyst).values())
    (lorenz,) = [s for s in _charts(viewer) if _name(s) == "concentration"]
    note = lorenz["layout"]["annotations"][0]["text"]
    assert "%: hidden (fewer than 10 members)" in note
    (full,) = [s for s in _charts(analyst) if _name(s) == "concentration"]
    shares = [a for a in full["layout"]["annotations"][0]["text"].split() if a.endswith("%")]
    assert shares
    assert not any(s in note for s in shares if s not in ("%",))


def test_event_study_days_resting_on_fewer_than_k_members_are_hidden(demo_folder: Path) -> None:
    community = load_community(open_source(demo_folder))
    assert community.first_join is not None
    view = dataclasses.replace(catalog.View.default(community), first=community.first_join.date())
    drawn = catalog.CHARTS["event-study"].draw(view)
    members = dict(zip(drawn.data["day"], drawn.data["members"], strict=True))
    assert all(m is not None for m in members.values())
    k = sorted(members.values())[len(members) // 2] + 1  # about half the days rest on fewer
    shown = privacy_view.for_viewer(drawn, k)
    (average,) = [t for t in shown.drawn.figure.data if t.name == "Average over announcements"]
    (full,) = [t for t in drawn.figure.data if t.name == "Average over announcements"]
    assert shown.hidden == sum(0 < m < k for m in members.values()) > 0
    for day, y, y_full in zip(average.x, average.y, full.y, strict=True):
        assert (y is None) is (0 < members[day] < k), day
        assert y is None or y == y_full
    # the placebo band is not about the announcements' members: left as drawn
    band = [t for t in shown.drawn.figure.data if t.name.startswith("95 % band")]
    assert band
    assert band[0].y == next(t for t in drawn.figure.data if t.name == band[0].name).y


def _item_survival(demo_folder: Path) -> tuple[catalog.Drawn, int]:
    """The Impact page's default drill-down curves, and a k that cuts the exposed members'
    curve half way (the small demo's curves end with 20 or more members at risk)."""
    community = load_community(open_source(demo_folder))
    drawn = catalog.CHARTS["item-survival"].draw(catalog.View.default(community))
    exposed = drawn.data.filter(drawn.data["group"].str.starts_with("exposed"))["at_risk"]
    return drawn, int(exposed[exposed.len() // 2]) + 1


def _with_k(k: int) -> dict[str, Any]:
    privacy = {**SECRETS["proofboard"]["privacy"], "min_cell_members": k}
    return {**SECRETS, "proofboard": {**SECRETS["proofboard"], "privacy": privacy}}


def test_item_survival_curves_end_where_fewer_than_k_members_are_at_risk(
    demo_folder: Path,
) -> None:
    drawn, k = _item_survival(demo_folder)
    curves = drawn.data
    # at risk is the number of members whose time reaches the point: never rising
    for group in curves["group"].unique().to_list():
        risk = curves.filter(curves["group"] == group)["at_risk"].to_list()
        assert risk == sorted(risk, reverse=True)
    shown = privacy_view.for_viewer(drawn, k)
    assert shown.hidden > 0
    for trace in shown.drawn.figure.data:
        rows = curves.filter(curves["group"] == trace.name)
        kept = [y is not None for y in trace.y]
        # a prefix is kept: the curve is cut where fewer than k members are at risk
        assert kept == [r >= k for r in rows["at_risk"]], trace.name
        assert kept[0]
    assert not all(y is not None for t in shown.drawn.figure.data for y in t.y)
    note = privacy_view.viewer_note(shown.drawn, k)
    assert f"Figures about fewer than {k} members are hidden for your role." in note
    assert f"Each curve ends where fewer than {k} members are still at risk." in note
    # the CSV behind it: the rows a viewer may see (components.for_role's rule)
    from analytics.privacy import suppress_member_counts

    csv = suppress_member_counts(curves, k=k)
    assert (csv["survival"] == f"fewer than {k}").sum() == shown.hidden


def test_the_impact_page_tells_a_viewer_where_the_item_curves_end(
    app_on: Callable[..., AppTest], demo_folder: Path
) -> None:
    _, k = _item_survival(demo_folder)
    page = "app_pages/impact.py"
    viewer = app_on(demo_folder, page=page, secrets=_with_k(k), user=user("pb-viewers"))
    no_exceptions(viewer)
    analyst = app_on(demo_folder, page=page, secrets=_with_k(k), user=user("pb-analysts"))
    no_exceptions(analyst)
    end = f"Each curve ends where fewer than {k} members are still at risk."
    assert "item-survival" in [_name(c) for c in _charts(viewer)]
    assert end in " ".join(str(c.value) for c in viewer.caption)
    assert end not in " ".join(str(c.value) for c in analyst.caption)
    (seen,) = [c for c in _charts(viewer) if _name(c) == "item-survival"]
    (full,) = [c for c in _charts(analyst) if _name(c) == "item-survival"]
    cut = 0
    for mine, theirs in zip(seen["data"], full["data"], strict=True):
        shown = [y for y in mine["y"] if y is not None]
        assert shown
        assert shown == theirs["y"][: len(shown)]  # the same curve, cut
        cut += len(theirs["y"]) - len(shown)
    assert cut > 0
