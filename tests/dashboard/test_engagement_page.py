"""AppTest for the Engagement page: activity, leaderboards, churn risk, pseudonyms, exports."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from analytics.activity_windows import STICKINESS_LABEL
from analytics.community import load_community
from analytics.engagement import leaderboard
from analytics.io import open_source
from dashboard.engagement_view import MemberView
from dashboard.exports import PASTE_ROWS, frame_csv, frame_markdown, frame_xlsx
from tests.conftest import MINIMAL, write_csvs
from tests.dashboard.conftest import no_exceptions, plotly_spec, url

PAGE = "app_pages/engagement.py"
KEY = "a pseudonym key of enough bytes"


def _titles(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        plotly_spec(at, i)["layout"]["title"]["text"] for i in range(len(at.get("plotly_chart")))
    ]


def _rendered_text(at) -> str:  # type: ignore[no-untyped-def]
    """Everything the page shows as text: tables, markdown, captions, code, metrics, alerts."""
    parts = [df.value.to_csv() for df in at.dataframe]
    parts += [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [c.value for c in at.code] + [m.value for m in at.metric]
    parts += [i.value for i in at.info] + [w.value for w in at.warning]
    parts += [s.value for s in at.success]
    return "\n".join(parts)


def _open(at, tab: str):  # type: ignore[no-untyped-def]
    """Open a tab of the page, as a click on it does (the tabs are bound to ``?tab=``)."""
    at.session_state["tab"] = tab
    return at.run()


TABS = ("Activity", "Leaderboards", "Churn risk")


@pytest.fixture
def page(app_on, demo_folder: Path):  # type: ignore[no-untyped-def]
    return app_on(demo_folder, page=PAGE, range="all")


def test_page_renders_activity_leaderboards_and_risk_on_the_demo(page) -> None:  # type: ignore[no-untyped-def]
    no_exceptions(page)
    # only the open tab (the first) is drawn
    assert _titles(page) == [
        "Active members",
        "Activity by kind",
        "How concentrated activity is",
        "New members' time to first activity",
    ]
    labels = {m.label for m in page.metric}
    tiles = {"Daily active", "Weekly active", "Monthly active", STICKINESS_LABEL}
    assert tiles <= labels
    assert {"Activity from the top 1 %", "Activity from the top 10 %"} <= labels
    assert not page.dataframe  # the leaderboards wait for their tab
    _open(page, "Churn risk")
    no_exceptions(page)
    assert _titles(page) == ["Calibration on the held-out cutoff", "What the model relies on"]
    labels = {m.label for m in page.metric}
    assert {"ROC AUC (held out)", "PR AUC (held out)"} <= labels
    # the demo's model beats the recency baseline (checked in tests/analytics/test_risk.py too)
    assert any("ranks members better than days since last activity" in s.value
               for s in page.success)  # fmt: skip
    text = _rendered_text(page)
    assert "Churn risk, as used here:" in text
    assert "m0000" in text  # member ids are shown while pseudonyms are off


def test_every_chart_and_table_offers_exports(page) -> None:  # type: ignore[no-untyped-def]
    labels: list[str] = []
    charts = 0
    newsletter = []
    captions: list[str] = []
    for tab in TABS:
        _open(page, tab)
        labels += [b.proto.label for b in page.get("download_button")]
        charts += len(page.get("plotly_chart"))
        newsletter += [c for c in page.code if c.language == "markdown"]
        captions += [c.value for c in page.caption]
    for label in ("PNG", "SVG", "HTML", "Data (CSV)"):
        assert labels.count(label) == charts
    # top contributors, rising, badges earned: also Markdown; badge summary and at-risk: not
    assert labels.count("Markdown") == 3
    assert labels.count("CSV") == labels.count("Parquet") == labels.count("Excel") == 5
    # the Markdown for a newsletter, ready to copy, for the short lists; the badges earned in
    # the period (thousands of rows on the demo) only as the download: a code block that long
    # takes the browser many seconds to draw
    assert len(newsletter) == 2
    assert all(len(c.value.splitlines()) <= PASTE_ROWS + 2 for c in newsletter)
    assert any("too long to paste from the page" in c for c in captions)


def test_pseudonym_switch_hides_every_member_id_and_goes_in_the_url(
    page, demo_folder: Path
) -> None:  # type: ignore[no-untyped-def]
    _open(page, "Leaderboards")
    page.toggle(key="anon").set_value(True).run()
    no_exceptions(page)
    assert url(page, "anon") == ["1"]
    ids = load_community(open_source(demo_folder)).members["member_id"].to_list()
    text = _rendered_text(page)
    assert "Member " in text
    shown = [m for m in ids if m in text]
    assert shown == []
    # the same member keeps the same pseudonym across reruns of the view
    first_board = page.dataframe[0].value["member"].tolist()
    _open(page, "Churn risk")
    assert "Member " in _rendered_text(page)
    assert [m for m in ids if m in _rendered_text(page)] == []
    _open(page, "Leaderboards")
    assert page.dataframe[0].value["member"].tolist() == first_board


def test_pseudonyms_are_made_once_per_view_and_key(
    app_on, demo_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import streamlit as st

    from dashboard import engagement_view

    made: list[int] = []
    real = engagement_view.keyed_pseudonyms

    def counted(ids: pl.Series, *, key: str) -> pl.DataFrame:
        made.append(len(ids))
        return real(ids, key=key)

    monkeypatch.setattr(engagement_view, "keyed_pseudonyms", counted)
    st.cache_resource.clear()
    secrets = {"proofboard": {"privacy": {"pseudonym_key": KEY}}}
    at = app_on(demo_folder, page=PAGE, range="all", anon="1", secrets=secrets)
    no_exceptions(at)
    assert made == [load_community(open_source(demo_folder)).members.height]
    board = _open(at, "Leaderboards").dataframe[0].value["member"].tolist()
    _open(at, "Activity")
    assert _open(at, "Leaderboards").dataframe[0].value["member"].tolist() == board
    assert len(made) == 1  # reruns and tabs reuse the table
    at.toggle(key="anon").set_value(False).run()
    at.toggle(key="anon").set_value(True).run()
    assert len(made) == 1
    at.secrets = {"proofboard": {"privacy": {"pseudonym_key": KEY + " but another"}}}
    _open(at, "Leaderboards")
    no_exceptions(at)
    assert len(made) == 2  # another key: other pseudonyms
    assert at.dataframe[0].value["member"].tolist() != board


def test_link_with_anon_starts_hidden(app_on, demo_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(
        demo_folder,
        page=PAGE,
        range="all",
        anon="1",
        board_kind="post",
        top="5",
        tab="Leaderboards",
    )
    no_exceptions(at)
    assert at.toggle(key="anon").value is True
    assert at.selectbox(key="board_kind").value == "post"
    assert len(at.dataframe[0].value) <= 5
    assert "m0000" not in _rendered_text(at)


def test_exports_hide_names_and_ids_when_pseudonyms_are_on(demo_folder: Path) -> None:
    community = load_community(open_source(demo_folder))
    # give members a name column, as real communities often have
    named = community.members.with_columns(("Name of " + pl.col("member_id")).alias("name"))
    from dataclasses import replace

    community = replace(community, members=named)
    last = community.as_of.date()
    board = leaderboard(community, first=last.replace(day=1), last=last, top=10)
    assert "name" in board.columns
    hidden = MemberView.build(community, anonymous=True, key=KEY).show(board)
    csv_text, markdown = frame_csv(hidden).decode(), frame_markdown(hidden)
    xlsx = frame_xlsx(hidden)
    for member in board["member_id"].to_list():
        assert member not in csv_text
        assert member not in markdown
        assert member.encode() not in xlsx
    assert "Name of" not in csv_text
    assert "Name of" not in markdown
    assert markdown.splitlines()[0].startswith("| rank | member | activities")
    shown = MemberView.build(community, anonymous=False, key=KEY).show(board)
    assert board["member_id"][0] in frame_markdown(shown)


def test_empty_segment_explains_itself(app_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = write_csvs(
        tmp_path,
        {
            "members": "member_id,joined_at,channel,country\n"
            "a,2024-01-01,ads,US\nb,2024-01-02,organic,GB\n",
            "activity": "member_id,occurred_at,kind\na,2024-01-03,post\nb,2024-01-04,comment\n",
        },
    )
    at = app_on(folder, page=PAGE, range="all", seg_channel="ads", seg_country="GB")
    no_exceptions(at)
    assert any("No members match the chosen segments" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_too_little_data_explains_itself(app_on, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(write_csvs(tmp_path, MINIMAL), page=PAGE, range="all")
    no_exceptions(at)
    infos = ""
    for tab in TABS:
        _open(at, tab)
        no_exceptions(at)
        infos += " ".join(i.value for i in at.info)
    assert "The data covers too little time" in infos
    assert "No badges in the data" in infos
