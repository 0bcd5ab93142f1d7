"""AppTest for the Impact page: forest plot, tables, drill-down, windows in the URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MINIMAL, write_csvs
from tests.dashboard.conftest import no_exceptions, plotly_spec, url

PAGE = "app_pages/impact.py"


def _titles(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        plotly_spec(at, i)["layout"]["title"]["text"] for i in range(len(at.get("plotly_chart")))
    ]


@pytest.fixture
def page(app_on, demo_folder: Path):  # type: ignore[no-untyped-def]
    return app_on(demo_folder, page=PAGE)


def test_page_shows_forest_plot_tables_and_drill_down(page) -> None:  # type: ignore[no-untyped-def]
    no_exceptions(page)
    titles = _titles(page)
    assert titles[0] == "Effect of early exposure on still being a member 90 days later"
    assert "Still members after the landmark: exposed vs comparable members" in titles
    assert "When members first saw or earned it" in titles
    table = page.dataframe[0].value
    assert "Not identifiable" in set(table["verdict"])
    yearling = table[table["item"] == "Yearling"].iloc[0]
    assert yearling["verdict"] == "Not identifiable"
    assert "awarded at a fixed time of membership" in yearling["what it means"]
    sentences = [s for s in table["what it means"] if s.startswith("Members who saw")]
    assert sentences
    assert "days later than similar members who did not" in sentences[0]


def test_forest_plot_has_naive_markers_and_intervals(page) -> None:  # type: ignore[no-untyped-def]
    data = plotly_spec(page, 0)["data"]
    names = [t["name"] for t in data]
    assert names[0] == "Naive: ever exposed vs never (association only)"
    estimated = [t for t in data if "error_x" in t]
    assert estimated
    assert all(len(t["error_x"]["array"]) == len(t["x"]) for t in estimated)
    # item kinds in words beside the titles: "(case study)", never the stored "(case_study)"
    labels = {y for t in data for y in t["y"]}
    assert any(y.endswith("(case study)") for y in labels)
    assert not any("_" in y.rsplit("(", 1)[-1] for y in labels)


def test_windows_change_the_analysis_and_the_url(page) -> None:  # type: ignore[no-untyped-def]
    page.number_input(key="landmark").set_value(14).run()
    page.number_input(key="horizon").set_value(60).run()
    no_exceptions(page)
    assert _titles(page)[0] == "Effect of early exposure on still being a member 60 days later"
    assert url(page, "landmark") == ["14"]
    assert url(page, "horizon") == ["60"]


def test_drill_down_item_is_in_the_url(page) -> None:  # type: ignore[no-untyped-def]
    page.selectbox(key="item").set_value("b004").run()  # the tenure badge
    no_exceptions(page)
    assert url(page, "item") == ["b004"]
    assert page.selectbox(key="item").value == "b004"
    # nobody earns it in the first 30 days: no comparison, said in words
    assert any("No comparison for this item" in i.value for i in page.info)


def test_fixed_attributes_are_chosen_in_the_sidebar(page) -> None:  # type: ignore[no-untyped-def]
    page.multiselect(key="fixed").set_value(["channel"]).run()
    no_exceptions(page)
    assert url(page, "fixed") == ["channel"]


def test_without_proof_tables_the_page_says_what_to_add(app_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(write_csvs(tmp_path, MINIMAL), page=PAGE)
    no_exceptions(at)
    assert "needs the **proof_items** table" in at.info[0].value


def test_any_time_view_table_explains_non_estimable_items(page) -> None:  # type: ignore[no-untyped-def]
    page.session_state["impact_cox"] = True  # its expander opened: the model is fitted then
    page.run()
    no_exceptions(page)
    cox = next(df.value for df in page.dataframe if "hazard ratio of churn" in df.value.columns)
    yearling = cox[cox["item"] == "Yearling"].iloc[0]
    assert yearling["not estimable because"]
    assert yearling["hazard ratio of churn"] == "—"  # no number, and no "nan" or "None" either


def test_page_states_the_estimand_shows_both_views_and_the_error_control(page) -> None:  # type: ignore[no-untyped-def]
    no_exceptions(page)
    markdown = " ".join(m.value for m in page.markdown)
    assert "members active in the week before day 30" in markdown
    # and what it cannot see: a member who left unseen before day 30
    words = " ".join(markdown.split())
    assert "may have left, unseen, between that last visit and day 30" in words
    assert "counts it as part of its effect" in words
    captions = " ".join(c.value for c in page.caption)
    assert "this item alone: a 1-in-20 chance of a false alarm" in captions
    headers = [h.value for h in page.subheader]
    assert "Exposure on any active day (sequential trials)" in headers
    both = next(
        d.value for d in page.dataframe if "any active day: effect (pts)" in d.value.columns
    )
    assert "first 30 days: effect (pts)" in both.columns
    assert both["any active day: effect (pts)"].notna().any()
    assert set(both["the two views"].dropna()) & {
        "the views agree",
        "only one view is clear of chance, but their intervals overlap: they do not "
        "contradict each other",
    }
    table = page.dataframe[0].value
    assert "Holm-adjusted p (verdict)" in table.columns
    # across items: BH q-values decide, and the words say what that controls
    page.radio(key="errors").set_value("fdr").run()
    no_exceptions(page)
    assert url(page, "errors") == ["fdr"]
    captions = " ".join(c.value for c in page.caption)
    assert "fewer than 1 in 20 items flagged this way is a false alarm" in captions
    assert "q (verdict)" in page.dataframe[0].value.columns


def test_recency_window_is_a_setting_in_the_url(page) -> None:  # type: ignore[no-untyped-def]
    page.number_input(key="recency").set_value(14).run()
    no_exceptions(page)
    assert url(page, "recency") == ["14"]
    markdown = " ".join(m.value for m in page.markdown)
    assert "members active in the 14 days before day 30" in markdown
