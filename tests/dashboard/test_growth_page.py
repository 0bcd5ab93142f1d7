"""AppTest for the Growth page: growth chart with impact windows, milestone effects, event study."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MINIMAL, write_csvs
from tests.dashboard.conftest import no_exceptions, plotly_spec, url

PAGE = "app_pages/growth.py"


def _titles(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        plotly_spec(at, i)["layout"]["title"]["text"] for i in range(len(at.get("plotly_chart")))
    ]


@pytest.fixture
def page(app_on, demo_folder: Path):  # type: ignore[no-untyped-def]
    return app_on(demo_folder, page=PAGE, range="all")


def test_growth_page_shows_chart_effects_and_event_study(page) -> None:  # type: ignore[no-untyped-def]
    no_exceptions(page)
    titles = _titles(page)
    assert titles[0] == "Signups and members over time"
    assert any(t.startswith("Event study:") for t in titles)
    shapes = plotly_spec(page, 0)["layout"]["shapes"]
    assert any(s.get("type") == "rect" for s in shapes)  # impact windows shaded
    effects = page.dataframe[0].value
    # verdicts in words, never as stored codes
    assert set(effects["verdict"]) <= {
        "lift",
        "drop",
        "no evidence either way",
        "cannot be estimated",
    }
    assert set(effects["p"]) - {"—", "< 0.001"} <= {
        f"{p:.3f}" for p in (i / 1000 for i in range(1001))
    }
    assert any("placebo dates" in c.value for c in page.caption)


def test_window_and_outcome_controls_in_the_url(page) -> None:  # type: ignore[no-untyped-def]
    page.number_input(key="window").set_value(7).run()
    page.radio(key="outcome").set_value("active").run()
    no_exceptions(page)
    assert url(page, "window") == ["7"]
    assert url(page, "outcome") == ["active"]
    assert any("active members" in t for t in _titles(page))


def test_without_milestones_the_page_says_how_to_add_them(app_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(write_csvs(tmp_path, MINIMAL), page=PAGE)
    no_exceptions(at)
    assert any("no milestones table" in i.value for i in at.info)


def _form_add(at, title: str, day) -> None:  # type: ignore[no-untyped-def]
    at.date_input(key="new_ms_day").set_value(day)
    at.text_input(key="new_ms_title").input(title)
    at.text_input(key="new_ms_channel").input("blog")
    at.button[0].click().run()  # the form's submit button is the first button on the page


def test_add_edit_delete_a_milestone_that_survives_restarts(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from analytics.io.milestone_store import MilestoneStore

    at = app_on(small_folder, page=PAGE, range="all")
    assert not (small_folder / "proofboard.db").exists()  # looking creates nothing
    _form_add(at, "Launch party", date(2024, 2, 10))
    no_exceptions(at)
    stored = MilestoneStore(f"sqlite:///{small_folder / 'proofboard.db'}").list()
    assert [m.title for m in stored] == ["Launch party"]
    # a new session (a restart) sees it in the effects table
    again = app_on(small_folder, page=PAGE, range="all")
    assert "Launch party" in set(again.dataframe[0].value["title"])
    again.button(key="edit_ms_delete").click().run()
    no_exceptions(again)
    assert MilestoneStore(f"sqlite:///{small_folder / 'proofboard.db'}").list() == []


def test_invalid_milestones_are_refused_with_a_message(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    at = app_on(small_folder, page=PAGE, range="all")
    _form_add(at, "   ", date(2024, 2, 10))
    assert "no title" in at.error[0].value
    _form_add(at, "Too early", date(2020, 1, 1))
    assert "outside the data's range" in at.error[0].value


def _subtitle(at, title_start: str) -> str:  # type: ignore[no-untyped-def]
    for i in range(len(at.get("plotly_chart"))):
        title = plotly_spec(at, i)["layout"]["title"]
        if title["text"].startswith(title_start) or title_start in title["text"]:
            return str(title["subtitle"]["text"])
    raise AssertionError(f"no chart titled {title_start!r}")


def test_milestone_drill_down_shows_the_milestones_own_window(app_on, demo_folder: Path) -> None:  # type: ignore[no-untyped-def]
    """The subtitle (which goes onto the PNG export too) names the days the chart shows, not
    the sidebar's period, which does not change it."""
    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.milestones import MilestoneSettings, estimate_milestones

    at = app_on(demo_folder, page=PAGE, range="30d")
    no_exceptions(at)
    chosen = at.selectbox(key="milestone").value
    result = estimate_milestones(load_community(open_source(demo_folder)), MilestoneSettings())
    effect = next(e for e in result.effects if e.milestone_id == chosen)
    window = effect.window()
    assert window is not None
    first, last = window
    assert effect.daily is not None
    assert (last - first).days + 1 == effect.daily.height
    subtitle = _subtitle(at, "per day against the counterfactual")
    assert f"{first} to {last}, around the announcement on {effect.announced_at:%Y-%m-%d}" in (
        subtitle
    )
    sidebar_period = _subtitle(at, "Signups and members over time").split(" · ")[0]
    assert sidebar_period not in subtitle
    assert "all " in _subtitle(at, "Event study")
