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
