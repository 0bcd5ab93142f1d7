"""AppTest for the Weekly review page: renders on the demo, week in the URL, bad weeks explained."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from analytics.community import load_community
from analytics.io import open_source
from analytics.overview import overview_kpis
from analytics.weekly import available_weeks, parse_week, week_label, week_period
from tests.dashboard.conftest import metrics, no_exceptions, plotly_spec, url

PAGE = "app_pages/review.py"


@pytest.fixture(scope="module")
def weeks(demo_folder: Path) -> tuple[str, str]:
    """(the default week, a week ten weeks earlier) of the demo community."""
    found = available_weeks(load_community(open_source(demo_folder)))
    assert found is not None
    return week_label(found[1]), week_label(found[1] - timedelta(weeks=10))


def _titles(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        plotly_spec(at, i)["layout"]["title"]["text"] for i in range(len(at.get("plotly_chart")))
    ]


def test_review_renders_the_last_complete_week(app_on, demo_folder: Path, weeks) -> None:  # type: ignore[no-untyped-def]
    at = app_on(demo_folder, page=PAGE)
    no_exceptions(at)
    assert at.title[0].value == "Weekly review"
    assert at.selectbox(key="week").value == weeks[0]
    assert url(at, "week") == [weeks[0]]
    titles = _titles(at)
    assert titles[0] == "Key figures by week (blue: the reviewed week)"
    assert titles[1] == f"Signups per day: {weeks[0]} and the weeks before"
    assert titles[2].startswith("Effect of early exposure")
    assert any("members joined" in m.value for m in at.markdown)
    assert at.status[0].proto.label == f"Review of {weeks[0]} ready"  # type: ignore[attr-defined]
    assert not at.error


def test_the_week_comes_from_the_url_and_matches_the_overview(  # type: ignore[no-untyped-def]
    app_on, demo_folder: Path, weeks
) -> None:
    at = app_on(demo_folder, page=PAGE, week=weeks[1])
    no_exceptions(at)
    assert at.selectbox(key="week").value == weeks[1]
    community = load_community(open_source(demo_folder))
    kpis = overview_kpis(community, week_period(parse_week(weeks[1])))
    new = next(k for k in kpis if k.key == "new_members")
    assert metrics(at)["New members"] == f"{new.value:,.0f}"
    at.selectbox(key="week").set_value(weeks[0]).run()
    no_exceptions(at)
    assert url(at, "week") == [weeks[0]]


@pytest.mark.parametrize(
    ("asked", "message"),
    [("2019-W01", "is outside the data"), ("banana", "is not an ISO week")],
)
def test_a_bad_week_in_the_url_is_explained_not_raised(  # type: ignore[no-untyped-def]
    app_on, demo_folder: Path, weeks, asked: str, message: str
) -> None:
    at = app_on(demo_folder, page=PAGE, week=asked)
    no_exceptions(at)
    assert message in at.error[0].value
    assert f"Showing {weeks[0]}" in at.error[0].value
    assert at.selectbox(key="week").value == weeks[0]


def test_without_proof_items_the_findings_say_so(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder, page=PAGE)
    no_exceptions(at)
    assert any("no proof_items and exposures tables" in i.value for i in at.info)


def test_unknown_churn_reads_not_known_yet_on_tiles_table_and_chart(  # type: ignore[no-untyped-def]
    app_on, demo_folder: Path, weeks
) -> None:
    at = app_on(demo_folder, page=PAGE)
    no_exceptions(at)
    community = load_community(open_source(demo_folder))
    kpis = {k.key: k for k in overview_kpis(community, week_period(parse_week(weeks[0])))}
    churned = kpis["churned"]
    # the last complete week ended less than 30 quiet days before the as-of time
    assert churned.value is None
    assert churned.known_from is not None
    tile = next(m for m in at.metric if m.label == "Churned")
    assert tile.value == "not known yet"
    assert tile.delta in (None, "")
    table = at.dataframe[0].value
    row = table[table["key figure"] == "Churned"].iloc[0]
    assert row["this week"] == "not known yet"
    assert row["change"] == "—"
    assert row["vs 4-week average"] == "—"
    assert f"{churned.known_from:%Y-%m-%d}" in row["note"]
    # the churn panel of the weekly chart has no bar for unknown weeks, never a 0
    spec = plotly_spec(at, 0)
    bars = [t for t in spec["data"] if t["type"] == "bar" and t.get("name") == "Churned"]
    assert bars
    assert bars[0]["y"][-1] is None
    texts = [t for t in spec["data"] if t.get("mode") == "text"]
    assert any("not known" in " ".join(t["text"]) for t in texts)
    summary = " ".join(m.value for m in at.markdown)
    assert "Churn in the week is not known yet" in summary


def test_presentation_mode_has_tiles_and_summary_first_and_no_status_or_downloads(  # type: ignore[no-untyped-def]
    app_on, demo_folder: Path, weeks
) -> None:
    normal = app_on(demo_folder, page=PAGE)
    no_exceptions(normal)
    assert normal.status  # the normal page shows how the review was prepared
    assert normal.get("download_button")
    at = app_on(demo_folder, page=PAGE, present="1", week=weeks[1])
    no_exceptions(at)
    assert not at.status
    assert not at.get("download_button")
    assert not at.main.selectbox  # the week comes from the link
    # the heading names the week; the key-figure tiles come before the summary, and both
    # before any table or chart
    assert any(m.value == f"## Weekly review {weeks[1]}" for m in at.markdown)
    order = [e for e in at.main if type(e).__name__ in {"Metric", "Markdown", "Dataframe"}]
    first_table = next(i for i, e in enumerate(order) if type(e).__name__ == "Dataframe")
    tiles = [i for i, e in enumerate(order) if type(e).__name__ == "Metric"]
    summary = next(i for i, e in enumerate(order) if "members joined" in getattr(e, "value", ""))
    assert max(tiles) < summary < first_table
    assert len(tiles) == 5


def test_the_review_tables_are_built_once_per_role_and_shared_between_sessions(  # type: ignore[no-untyped-def]
    app_on, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second session on the same week reuses the tables the first one built (through the
    cache the review's estimate uses); a viewer gets tables built for viewers, with the
    figures about fewer than k members hidden, never the analyst's."""
    from analytics.io import write_database
    from dashboard import review_tables
    from tests.conftest import small_community_tables
    from tests.dashboard.test_auth import SECRETS, user

    store = f"sqlite:///{tmp_path / 'store.db'}"  # a source of its own: nothing cached yet
    write_database(small_community_tables(), store)
    built: list[int | None] = []
    real = review_tables.build

    def counting(community, **params):  # type: ignore[no-untyped-def]
        built.append(params["viewer_k"])
        return real(community, **params)

    monkeypatch.setattr(review_tables, "build", counting)

    def session(group: str, sub: str):  # type: ignore[no-untyped-def]
        at = app_on(store, page=PAGE, secrets=SECRETS, user=user(group, sub=sub))
        no_exceptions(at)
        return at.dataframe[0].value  # the key-figure table as drawn

    analyst = session("pb-analysts", "analyst-1")
    assert built == [None]
    assert session("pb-analysts", "analyst-2").equals(analyst)  # a second visitor
    assert session("pb-admins", "admin-1").equals(analyst)  # admins see what analysts see
    assert built == [None]  # built once for all three
    viewer = session("pb-viewers", "viewer-1")
    assert built == [None, 10]  # the viewer's own entry, not the analyst's
    assert session("pb-viewers", "viewer-2").equals(viewer)
    assert built == [None, 10]
    # what the viewer got is the analyst's table with the small figures hidden, nothing else
    hidden = 0
    assert list(viewer.columns) == list(analyst.columns)
    for column in analyst.columns:
        for seen, full in zip(viewer[column], analyst[column], strict=True):
            if seen != full:
                assert seen == "fewer than 10", (column, seen, full)
                hidden += 1
    assert hidden > 0  # seven signups a week: the hand-made community has small figures
    assert "fewer than 10" not in analyst.to_string()


def test_a_viewers_review_downloads_hide_what_the_table_hides(small_folder: Path) -> None:
    """The key-figure download a viewer gets hides the same figures as the table on the page
    (the table is text already, so the tiles' rule is applied per figure)."""
    from analytics.weekly import default_week, weekly_review
    from dashboard import review_tables

    community = load_community(open_source(small_folder))
    week = default_week(community)
    assert week is not None
    review = weekly_review(community, week)
    params = {"review": review, "week": review.week, "inactive_days": review.inactive_days}
    analyst = review_tables.build(community, viewer_k=None, **params)
    viewer = review_tables.build(community, viewer_k=10, **params)
    full, seen = analyst.kpi_download, viewer.kpi_download
    assert full.height == seen.height == len(review.kpis)
    for row, c in enumerate(review.kpis):
        small = review_tables.small_figures(c, 10)
        this_week = seen["week"][row]
        if small["this"]:
            assert this_week == "fewer than 10"
            assert seen["change_vs_previous"][row] == "fewer than 10"
        elif full["week"][row] is not None:
            assert float(this_week) == full["week"][row]
        if c.kpi.unit == "members" and c.kpi.known and c.kpi.value is not None:
            assert small["this"] == (0 < c.kpi.value < 10)
    assert any(any(review_tables.small_figures(c, 10).values()) for c in review.kpis)
    assert "fewer than 10" not in str(full.rows())
