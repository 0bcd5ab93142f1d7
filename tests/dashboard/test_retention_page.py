"""AppTest for the Retention page: the four analyses, its controls and their URL state."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.community import load_community
from analytics.io import open_source
from analytics.retention import cohort_matrix
from tests.conftest import MINIMAL, write_csvs
from tests.dashboard.conftest import no_exceptions, plotly_spec, url

PAGE = "app_pages/retention.py"


def _chart(at, key: str) -> dict:  # type: ignore[no-untyped-def]
    charts = at.get("plotly_chart")
    titles = [plotly_spec(at, i)["layout"]["title"]["text"] for i in range(len(charts))]
    matches = [i for i, t in enumerate(titles) if key in t]
    assert matches, titles
    return plotly_spec(at, matches[0])


TABS = ("Cohort matrix", "Survival", "Lifecycle", "Churn")


def _open(at, tab: str):  # type: ignore[no-untyped-def]
    """Open a tab, as a click on it does (only the open tab computes and draws)."""
    at.session_state["tab"] = tab
    return at.run()


def _all_titles(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        plotly_spec(at, i)["layout"]["title"]["text"] for i in range(len(at.get("plotly_chart")))
    ]


@pytest.fixture
def page(app_on, demo_folder: Path):  # type: ignore[no-untyped-def]
    return app_on(demo_folder, page=PAGE, range="all")


def test_page_renders_all_four_analyses_with_captions(page) -> None:  # type: ignore[no-untyped-def]
    no_exceptions(page)
    # only the open tab is drawn: the first on arrival
    assert _all_titles(page) == [
        "Retention by week after joining, per join cohort",
        "Retention curve",
    ]
    titles: list[str] = []
    for tab in TABS:
        _open(page, tab)
        no_exceptions(page)
        titles += _all_titles(page)
    assert titles == [
        "Retention by week after joining, per join cohort",
        "Retention curve",
        "Share of members who have not churned, by time since joining",
        "Who was active each week",
        "Churn per week",
    ]
    text = " ".join(m.value for m in page.markdown)
    assert "Churn, as used on this page:" in text
    assert "30 days" in text


def test_heatmap_matches_the_analysis_and_leaves_incomplete_cells_empty(
    page, demo_folder: Path
) -> None:  # type: ignore[no-untyped-def]
    heat = _chart(page, "per join cohort")["data"][0]
    matrix = cohort_matrix(load_community(open_source(demo_folder)), period="week")
    assert len(heat["y"]) == matrix.cohorts().height
    first_row = matrix.cells.filter(matrix.cells["cohort"] == matrix.cells["cohort"].min())
    assert heat["z"][0][: first_row.height] == pytest.approx(first_row["share"].to_list())
    assert heat["z"][-1][-1] is None  # the newest cohort's late periods: empty, not 0


def test_period_switch_to_month(page) -> None:  # type: ignore[no-untyped-def]
    page.radio(key="period").set_value("month").run()
    no_exceptions(page)
    assert (
        _chart(page, "per join cohort")["layout"]["xaxis"]["title"]["text"]
        == "Months since joining"
    )
    _open(page, "Churn")
    assert _chart(page, "Churn per")["layout"]["title"]["text"] == "Churn per month"
    assert url(page, "period") == ["month"]


def test_cohort_selection_draws_cohort_lines_and_goes_in_the_url(page) -> None:  # type: ignore[no-untyped-def]
    options = page.multiselect(key="cohorts").options
    page.multiselect(key="cohorts").set_value([options[0]]).run()
    no_exceptions(page)
    names = [t.get("name") for t in _chart(page, "Retention curve")["data"]]
    assert names == [
        "95 % interval of the average",
        "All cohorts (weighted by size)",
        f"Cohort {options[0]}",
    ]
    assert url(page, "cohorts") == [options[0]]


@pytest.mark.parametrize(("compare", "groups"), [("attr:channel", 5), ("cohort", 9)])
def test_survival_by_attribute_and_cohort(page, compare: str, groups: int) -> None:  # type: ignore[no-untyped-def]
    # the 2,000-member demo spans nine join quarters and five channels, each over 30 members
    _open(page, "Survival")
    page.selectbox(key="km_by").set_value(compare).run()
    no_exceptions(page)
    curves = [t for t in _chart(page, "not churned")["data"] if t.get("showlegend") is not False]
    summary = page.dataframe[0].value
    assert len(curves) == len(summary) == groups
    assert "Log-rank test" in " ".join(m.value for m in page.markdown)
    assert url(page, "km_by") == [compare]


def test_survival_by_early_exposure_explains_the_landmark(page) -> None:  # type: ignore[no-untyped-def]
    _open(page, "Survival")
    page.selectbox(key="km_by").set_value("item").run()
    item = page.selectbox(key="km_item").options[0]
    no_exceptions(page)
    groups = {t.get("name") for t in _chart(page, "not churned")["data"]} - {None}
    assert groups == {"exposed in the first 30 days", "not exposed in the first 30 days"}
    note = next(i.value for i in page.info if "Only members active" in i.value)
    # who is compared is decided from what was known at day 30, as on the Impact page
    assert "Only members active in the week before day 30 of membership" in note
    assert "the Impact page adjusts for that" in note
    assert url(page, "km_item")[0] in item or url(page, "km_item")


def test_inactive_days_changes_churn_and_its_definition(page) -> None:  # type: ignore[no-untyped-def]
    page.number_input(key="inactive_days").set_value(60).run()
    no_exceptions(page)
    assert "60 days" in " ".join(m.value for m in page.markdown)


def test_empty_states_explain_themselves(app_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = write_csvs(tmp_path, MINIMAL)  # two members, two days of data
    at = app_on(folder, page=PAGE)
    no_exceptions(at)
    infos = ""
    for tab in TABS:
        _open(at, tab)
        no_exceptions(at)
        infos += " ".join(i.value for i in at.info)
    assert "has a complete week after joining yet" in infos
    assert "Too few members to draw a survival curve" in infos


def test_link_reproduces_the_retention_view(app_on, demo_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(
        demo_folder, page=PAGE, range="all", period="month", km_by="attr:plan", tab="Survival"
    )
    no_exceptions(at)
    assert at.radio(key="period").value == "month"
    assert at.selectbox(key="km_by").value == "attr:plan"


def test_analyses_are_computed_once_per_view(
    app_on, small_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import analytics.retention

    calls: list[str] = []
    original = analytics.retention.cohort_matrix

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs["period"])
        return original(*args, **kwargs)

    monkeypatch.setattr(analytics.retention, "cohort_matrix", counting)
    at = app_on(small_folder, page=PAGE, range="all")
    assert calls == ["week"]
    _open(at, "Survival")
    at.selectbox(key="km_by").set_value("attr:channel").run()  # another control: no recompute
    _open(at, "Cohort matrix")  # back to a tab already computed
    assert calls == ["week"]
    at.radio(key="period").set_value("month").run()
    assert calls == ["week", "month"]
    at.radio(key="period").set_value("week").run()  # back to a view already computed
    assert calls == ["week", "month"]


def test_the_open_tab_is_in_the_url_so_a_shared_link_keeps_it(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder, page="app_pages/retention.py", tab="Churn")
    no_exceptions(at)
    # opened from a link with ?tab=Churn, the Churn tab is the open one
    assert at.session_state["tab"] == "Churn"
    # and it stays in the URL, from which "Copy link to this view" is built
    assert url(at, "tab") == ["Churn"]
