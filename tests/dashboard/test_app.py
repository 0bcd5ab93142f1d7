"""AppTest for every page and every sidebar filter, on the hand-made community."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from analytics.community import load_community
from analytics.io import open_source
from analytics.overview import overview_kpis
from analytics.periods import Period
from tests.conftest import MINIMAL, write_csvs
from tests.dashboard.conftest import metrics, no_exceptions, plotly_spec, url

PAGES = [
    "app_pages/overview.py",
    "app_pages/review.py",
    "app_pages/growth.py",
    "app_pages/retention.py",
    "app_pages/impact.py",
    "app_pages/data.py",
]


def _expected_tiles(folder: Path, first: date, last: date, segments=None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    community = load_community(open_source(folder)).filter_members(segments or {})
    kpis = overview_kpis(community, Period.from_dates(first, last, as_of=community.as_of))
    return {
        k.label: (
            "not known yet"
            if not k.known
            else "—"
            if k.value is None
            else f"{k.value:.1%}"
            if k.unit == "share"
            else f"{k.value:,.0f}"
        )
        for k in kpis
    }


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exceptions(app_on, small_folder: Path, page: str) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder, page=page)
    no_exceptions(at)
    assert at.title[0].value in {
        "Overview",
        "Weekly review",
        "Growth",
        "Retention",
        "Impact",
        "Data",
    }


def test_overview_shows_the_kpis_of_the_default_period(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder)
    no_exceptions(at)
    as_of = load_community(open_source(small_folder)).as_of.date()
    want = _expected_tiles(small_folder, as_of - timedelta(days=89), as_of)
    assert metrics(at) == want
    assert any("95 % CI" in c.value for c in at.caption) or want["90-day retention"] == "—"


def test_growth_chart_has_signups_cumulative_and_milestones(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder, range="all")
    spec = plotly_spec(at)
    names = [trace.get("name") for trace in spec["data"]]
    assert names == ["Signups per day", "Members joined so far (cumulative)", "Milestone announced"]
    assert sum(spec["data"][0]["y"]) == 60  # every member's signup is a bar
    assert spec["data"][2]["text"] == ["20 members!", "Our first event"]
    assert spec["layout"]["yaxis"]["title"]["text"] == "Signups per day (members)"


def test_range_preset_filter_changes_kpis_and_url(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder)
    at.selectbox(key="range").set_value("all").run()
    no_exceptions(at)
    community = load_community(open_source(small_folder))
    want = _expected_tiles(small_folder, community.first_join.date(), community.as_of.date())  # type: ignore[union-attr]
    assert metrics(at) == want
    assert metrics(at)["New members"] == "60"
    assert url(at, "range") == ["all"]


def test_custom_dates_filter(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder)
    at.selectbox(key="range").set_value("custom").run()
    at.date_input(key="_date_range_picker").set_value((date(2024, 1, 1), date(2024, 1, 31))).run()
    no_exceptions(at)
    assert metrics(at)["New members"] == "31"
    assert url(at, "from") == ["2024-01-01"]
    assert url(at, "to") == ["2024-01-31"]


def test_segment_filter(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder, range="all")
    at.multiselect(key="seg_channel").set_value(["ads"]).run()
    no_exceptions(at)
    assert metrics(at)["New members"] == "30"
    assert url(at, "seg_channel") == ["ads"]
    assert sum(plotly_spec(at)["data"][0]["y"]) == 30


def test_segment_with_no_members_explains_itself(app_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    members = "member_id,joined_at,channel,plan\na,2024-01-01,ads,pro\nb,2024-01-02,organic,free\n"
    folder = write_csvs(tmp_path, {**MINIMAL, "members": members})
    at = app_on(folder)
    at.multiselect(key="seg_channel").set_value(["ads"]).run()
    at.multiselect(key="seg_plan").set_value(["free"]).run()
    no_exceptions(at)
    assert "No members match the chosen segments" in at.info[0].value


def test_inactive_days_filter_changes_churn(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    # all time ends at the as-of time, so the tile reads "not known yet" whatever the setting;
    # the churn known so far is said under it and shrinks when churn needs more quiet days
    at = app_on(small_folder, range="all")

    def known_so_far() -> tuple[int, str]:
        note = next(c.value for c in at.caption if "churned up to" in c.value)
        return int(note.split()[0].replace(",", "")), note.split("up to ")[1][:10]

    assert metrics(at)["Churned"] == "not known yet"
    before, until = known_so_far()
    at.number_input(key="inactive_days").set_value(90).run()
    no_exceptions(at)
    assert metrics(at)["Churned"] == "not known yet"
    after, later_until = known_so_far()
    assert after < before
    assert date.fromisoformat(later_until) == date.fromisoformat(until) - timedelta(days=60)
    assert url(at, "inactive_days") == ["90"]


def test_as_of_filter_reloads_the_data_as_of_that_day(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder, range="all")
    at.date_input(key="_as_of_picker").set_value(date(2024, 1, 20)).run()
    no_exceptions(at)
    assert metrics(at)["New members"] == "20"  # members joined Jan 1..20
    assert url(at, "as_of") == ["2024-01-20"]
    assert any("as of 2024-01-20 23:59" in c.value for c in at.caption)


def test_granularity_switch(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder, range="all")
    at.radio(key="granularity").set_value("week").run()
    no_exceptions(at)
    spec = plotly_spec(at)
    assert spec["data"][0]["name"] == "Signups per week"
    assert sum(spec["data"][0]["y"]) == 60
    assert url(at, "granularity") == ["week"]
    # 2024-01-01 is a Monday: the first week is whole; the last is cut at the as-of time
    assert spec["data"][0]["customdata"][0] == ""
    assert "partial week" in spec["data"][0]["customdata"][-1]


def test_a_link_reproduces_the_view(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(
        small_folder,
        range="custom",
        **{"from": "2024-01-01", "to": "2024-01-31", "seg_channel": ["organic"],
           "granularity": "week", "inactive_days": "45"},
    )  # fmt: skip
    no_exceptions(at)
    assert at.selectbox(key="range").value == "custom"
    assert at.multiselect(key="seg_channel").value == ["organic"]
    assert at.number_input(key="inactive_days").value == 45
    assert at.radio(key="granularity").value == "week"
    assert metrics(at)["New members"] == "16"  # organic = even members joined in January
    assert metrics(at) == _expected_tiles(
        small_folder, date(2024, 1, 1), date(2024, 1, 31), {"channel": ("organic",)}
    ) | {"Churned": metrics(at)["Churned"]}


def test_a_bad_link_falls_back_to_defaults(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder, range="forever", as_of="not-a-date", inactive_days="-3",
                seg_channel=["nope"])  # fmt: skip
    no_exceptions(at)
    assert at.selectbox(key="range").value == "90d"
    assert at.number_input(key="inactive_days").value == 30
    assert at.multiselect(key="seg_channel").value == []


def test_source_without_milestones_says_how_to_add_them(app_on, minimal_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(minimal_folder)
    no_exceptions(at)
    assert any("no milestones table" in i.value for i in at.info)


def test_overview_on_broken_data_shows_the_errors_not_a_trace(app_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    members = "member_id,joined_at\na,2024-01-01\na,soon\n"
    folder = write_csvs(tmp_path, {**MINIMAL, "members": members})
    at = app_on(folder)
    no_exceptions(at)
    assert "could not be loaded" in at.error[0].value
    text = " ".join(m.value for m in at.markdown)
    assert "members.csv, column member_id, rows 1, 2" in text
    assert "cannot read 'soon'" in text


def test_missing_source_is_explained(app_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(tmp_path / "nowhere")
    no_exceptions(at)
    assert "does not exist" in " ".join(m.value for m in at.markdown)


def test_data_page_lists_tables_and_every_issue(app_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    activity = MINIMAL["activity"] + "ghost,2024-01-03,post\n"
    folder = write_csvs(tmp_path, {**MINIMAL, "activity": activity})
    at = app_on(folder, page="app_pages/data.py")
    no_exceptions(at)
    tables = at.table[0].value  # a static table: "what it holds" wraps
    assert tables["table"].tolist() == [
        "members",
        "activity",
        "proof_items",
        "exposures",
        "milestones",
    ]
    assert tables["rows read"].tolist()[:2] == ["2", "3"]
    assert tables["rows used"].tolist()[:2] == ["2", "2"]
    text = " ".join(m.value for m in at.markdown)
    assert "activity.csv, column member_id, row 3" in text
    assert "1 warning(s)" in at.success[0].value
    assert any("Optional tables not in this source" in i.value for i in at.info)


def test_data_page_on_broken_data_lists_the_errors(app_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = write_csvs(tmp_path, {"members": MINIMAL["members"]})
    at = app_on(folder, page="app_pages/data.py")
    no_exceptions(at)
    assert "1 error(s) stop this source from loading" in at.error[0].value
    assert "required table activity is missing" in " ".join(m.value for m in at.markdown)


def test_first_run_creates_the_demo_database_with_progress(
    app_on, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from analytics import embedded

    db = tmp_path / "data" / "proofboard.db"
    monkeypatch.setattr(embedded, "DEFAULT_DATABASE", db)
    monkeypatch.delenv("PROOFBOARD_DATA", raising=False)
    from streamlit.testing.v1 import AppTest

    from tests.dashboard.conftest import APP, TIMEOUT

    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    no_exceptions(at)
    assert db.is_file()
    assert at.status[0].label == "Demo community created"
    assert int(metrics(at)["Members"].replace(",", "")) > 0
    assert f"sqlite:///{db}" in " ".join(c.value for c in at.sidebar.caption)


def test_filters_survive_switching_pages(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder)
    at.selectbox(key="range").set_value("all").run()
    at.multiselect(key="seg_channel").set_value(["ads"]).run()
    at.number_input(key="inactive_days").set_value(45).run()
    at.switch_page("app_pages/retention.py").run()
    no_exceptions(at)
    assert at.selectbox(key="range").value == "all"
    assert at.multiselect(key="seg_channel").value == ["ads"]
    assert at.number_input(key="inactive_days").value == 45
    at.switch_page("app_pages/overview.py").run()
    assert metrics(at)["New members"] == "30"


def test_copy_link_holds_the_view_and_reopens_it(app_on, demo_folder: Path) -> None:  # type: ignore[no-untyped-def]
    # on the Survival tab, which holds the comparison (only the open tab runs)
    at = app_on(demo_folder, page="app_pages/retention.py", range="all", tab="Survival")
    at.radio(key="period").set_value("month").run()
    at.selectbox(key="km_by").set_value("attr:plan").run()
    no_exceptions(at)
    link = at.code[-1].value
    query = dict(parse_qsl(urlsplit(link).query))
    assert query == {"range": "all", "tab": "Survival", "period": "month", "km_by": "attr:plan"}
    # opened afresh (a new session), the link shows the same view
    again = app_on(demo_folder, page="app_pages/retention.py", **query)
    no_exceptions(again)
    assert again.radio(key="period").value == "month"
    assert again.selectbox(key="km_by").value == "attr:plan"
    assert again.code[-1].value == link


def test_unknown_churn_tile_reads_not_known_yet_without_a_delta(app_on, small_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(small_folder, range="30d")
    no_exceptions(at)
    community = load_community(open_source(small_folder))
    as_of = community.as_of.date()
    kpis = {
        k.key: k
        for k in overview_kpis(
            community, Period.from_dates(as_of - timedelta(days=29), as_of, as_of=community.as_of)
        )
    }
    churned = kpis["churned"]
    assert not churned.known
    assert churned.known_from is not None
    tile = next(m for m in at.metric if m.label == "Churned")
    assert tile.value == "not known yet"
    assert tile.delta in (None, "")  # no change drawn against an unknown figure
    captions = [c.value for c in at.caption]
    assert f"Known with data as of {churned.known_from:%Y-%m-%d}." in captions
    # the members tile says it includes members whose churn is not known yet
    assert kpis["members"].note is not None
    assert kpis["members"].note[0].upper() + kpis["members"].note[1:] + "." in captions
    assert tile.value != "0"
