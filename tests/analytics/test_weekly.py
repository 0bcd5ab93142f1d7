"""The weekly review: week parsing and bounds, figures equal to the analyses they come from,
comparisons known by construction, and a summary whose words follow the numbers."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics.community import Community, load_community
from analytics.impact import ImpactSettings, estimate_effects
from analytics.io import open_source
from analytics.milestones import MilestoneSettings, estimate_milestones
from analytics.overview import overview_kpis
from analytics.periods import Period
from analytics.weekly import (
    WeekError,
    available_weeks,
    default_week,
    parse_week,
    summary_sentences,
    week_period,
    weekly_review,
)
from tests.conftest import write_csvs

MONDAY = date(2024, 1, 1)  # 2024-W01 starts on this Monday


def _community(tmp_path: Path, per_week: list[int], *, as_of: datetime | None = None) -> Community:
    """Week k (from 2024-W01) has ``per_week[k]`` signups, on its Tuesday at noon. Every member
    is also active on the last Sunday, so nobody churns: members at a week's end are the
    signups so far."""
    last_sunday = MONDAY + timedelta(weeks=len(per_week)) - timedelta(days=1)
    members, activity = ["member_id,joined_at"], ["member_id,occurred_at,kind"]
    for week, count in enumerate(per_week):
        joined = MONDAY + timedelta(weeks=week, days=1)
        for i in range(count):
            member = f"w{week}m{i}"
            members.append(f"{member},{joined}T12:00:00")
            activity.append(f"{member},{joined}T13:00:00,post")
            activity.append(f"{member},{last_sunday}T12:00:00,login")
    folder = write_csvs(
        tmp_path / "weeks",
        {"members": "\n".join(members) + "\n", "activity": "\n".join(activity) + "\n"},
    )
    end = datetime.combine(last_sunday + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return load_community(open_source(folder), as_of=as_of or end)


@pytest.fixture
def growing(tmp_path: Path) -> Community:
    return _community(tmp_path, [3, 5, 2, 4, 6, 7])


@pytest.fixture
def shrinking(tmp_path: Path) -> Community:
    return _community(tmp_path, [7, 6, 4, 2, 5, 3])


@pytest.fixture(scope="module")
def demo(demo_folder: Path) -> Community:
    return load_community(open_source(demo_folder))


# -- weeks --------------------------------------------------------------------------------------


def test_parse_week_gives_the_monday() -> None:
    assert parse_week("2026-W46") == date(2026, 11, 9)
    assert parse_week("2026w46") == date(2026, 11, 9)
    assert parse_week("2020-W53") == date(2020, 12, 28)  # 2020 has 53 ISO weeks


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-46", "e.g. 2026-W46"),
        ("banana", "is not an ISO week"),
        ("2025-W53", "2025 has weeks 1 to 52"),
        ("2025-W00", "2025 has weeks 1 to 52"),
    ],
)
def test_malformed_weeks_are_refused_with_the_fix(text: str, message: str) -> None:
    with pytest.raises(WeekError, match=message):
        parse_week(text)


def test_valid_weeks_run_from_the_first_signup_to_the_last_complete_week(growing) -> None:  # type: ignore[no-untyped-def]
    assert available_weeks(growing) == (date(2024, 1, 1), date(2024, 2, 5))
    assert default_week(growing) == "2024-W06"
    with pytest.raises(WeekError, match="complete weeks run from 2024-W01 to 2024-W06"):
        weekly_review(growing, "2024-W07")
    with pytest.raises(WeekError, match="outside the data"):
        weekly_review(growing, "2023-W52")


def test_an_as_of_time_inside_a_week_leaves_it_out(tmp_path: Path) -> None:
    sunday_noon = datetime(2024, 2, 11, 12, tzinfo=UTC)
    community = _community(tmp_path, [3, 5, 2, 4, 6, 7], as_of=sunday_noon)
    assert default_week(community) == "2024-W05"
    end_of_sunday = datetime(2024, 2, 12, tzinfo=UTC) - timedelta(microseconds=1)
    community = _community(tmp_path / "b", [3, 5, 2, 4, 6, 7], as_of=end_of_sunday)
    assert default_week(community) == "2024-W06"  # the dashboard's "as of that day"


def test_a_day_selects_its_week(growing) -> None:  # type: ignore[no-untyped-def]
    assert weekly_review(growing, date(2024, 2, 8)).week == "2024-W06"


# -- numbers ------------------------------------------------------------------------------------


def test_previous_week_and_four_week_average_known_by_construction(growing) -> None:  # type: ignore[no-untyped-def]
    review = weekly_review(growing, "2024-W06")
    new = review.kpi("new_members")
    assert (new.kpi.value, new.kpi.previous) == (7, 6)
    assert new.history == (5, 2, 4, 6)
    assert new.average == pytest.approx(4.25)
    assert new.change_vs_average == pytest.approx(2.75)
    members = review.kpi("members")  # nobody churns: everyone who joined so far
    assert (members.kpi.value, members.kpi.previous) == (27, 20)
    assert members.history == (8, 10, 14, 20)
    assert members.average == pytest.approx(13.0)
    # churn of these weeks is not known yet (data end 11 Feb, 30 quiet days): never 0
    churned = review.kpi("churned")
    assert churned.kpi.value is None
    assert churned.kpi.known_from == review.churn_known_on() == date(2024, 3, 12)
    assert churned.history == (None, None, None, None)
    assert churned.history_known_from == tuple(
        date(2024, 3, 12) - timedelta(weeks=w) for w in (4, 3, 2, 1)
    )
    assert churned.average is None
    assert churned.average_known_from == date(2024, 3, 5)
    assert churned.change_vs_previous is None
    assert churned.change_vs_average is None
    history = review.kpi_history().filter(pl.col("key") == "churned")
    assert history["value"].null_count() == 5
    assert history["known_from"].null_count() == 0
    # signups per day over the five weeks, all of them in the series
    assert review.signups.height == 35
    assert review.signups["signups"].sum() == 5 + 2 + 4 + 6 + 7


def test_kpis_equal_overview_kpis_for_the_same_week(demo: Community) -> None:
    week = default_week(demo)
    assert week is not None
    review = weekly_review(demo, week)
    monday = parse_week(week)
    assert [c.kpi for c in review.kpis] == overview_kpis(demo, week_period(monday))
    for k, comparison in enumerate(review.kpis):
        before = [
            overview_kpis(demo, week_period(monday - timedelta(weeks=w)))[k].value
            for w in (4, 3, 2, 1)
        ]
        assert comparison.history == tuple(before)


def test_pooled_four_week_retention_equals_the_overview_over_those_four_weeks(
    demo: Community,
) -> None:
    week = "2026-W20"
    review = weekly_review(demo, week)
    start = datetime.combine(parse_week(week), datetime.min.time(), tzinfo=UTC)
    four_weeks = overview_kpis(demo, Period(start - timedelta(weeks=4), start))
    pooled = next(k for k in four_weeks if k.key == "retention_90d")
    retention = review.kpi("retention_90d")
    assert retention.average_n == pooled.n
    assert retention.average == pytest.approx(pooled.value, abs=1e-12)
    assert retention.average_ci == pytest.approx(pooled.ci, abs=1e-12)


def test_findings_are_the_impact_analysis_rows(demo: Community) -> None:
    review = weekly_review(demo, "2026-W20")
    impact = estimate_effects(demo, ImpactSettings())
    by_id = {e.item_id: e for e in impact.items}
    clear = {e.item_id for e in impact.items if e.verdict in ("helps", "hurts")}
    assert {e.item_id for e in review.notable} == clear
    for effect in review.notable:
        same = by_id[effect.item_id]
        assert (effect.effect, effect.ci_low, effect.ci_high, effect.q_value, effect.verdict) == (
            same.effect,
            same.ci_low,
            same.ci_high,
            same.q_value,
            same.verdict,
        )
    assert review.impact is not None
    table = review.notable_table()
    assert table["item_id"].to_list() == [e.item_id for e in review.notable]
    qs = [e.q_value for e in review.notable]
    assert qs == sorted(qs)  # the clearest first


def _milestone_week(community: Community) -> tuple[str, dict[str, object]]:
    assert community.milestones is not None
    weeks = available_weeks(community)
    assert weeks is not None
    for row in community.milestones.iter_rows(named=True):
        monday = row["announced_at"].date() - timedelta(days=row["announced_at"].weekday())
        if monday <= weeks[1] - timedelta(weeks=3):
            return f"{monday.isocalendar()[0]}-W{monday.isocalendar()[1]:02d}", row
    raise AssertionError("the demo has no milestone in a complete week")


def test_milestone_effect_equals_the_growth_analysis(demo: Community) -> None:
    week, row = _milestone_week(demo)
    review = weekly_review(demo, week)
    ids = [m.effect.milestone_id for m in review.milestones]
    assert row["milestone_id"] in ids
    growth = {e.milestone_id: e for e in estimate_milestones(demo, MilestoneSettings()).effects}
    for m in review.milestones:
        same = growth[m.effect.milestone_id]
        assert (m.effect.uplift, m.effect.ci_low, m.effect.ci_high, m.effect.p_value) == (
            same.uplift,
            same.ci_low,
            same.ci_high,
            same.p_value,
        )
        assert m.available_on is None
        if m.effect.uplift is not None:
            assert any(
                m.effect.title in s and f"{abs(m.effect.uplift) * 100:.0f} %" in s
                for s in review.summary
            )


def test_a_milestone_whose_window_has_not_ended_says_when(demo_folder: Path) -> None:
    community = load_community(open_source(demo_folder))
    week, row = _milestone_week(community)
    monday = parse_week(week)
    end_of_week = datetime.combine(monday + timedelta(weeks=1), datetime.min.time(), tzinfo=UTC)
    early = load_community(open_source(demo_folder), as_of=end_of_week)
    review = weekly_review(early, week)
    assert default_week(early) == week
    (m,) = [m for m in review.milestones if m.effect.milestone_id == row["milestone_id"]]
    announced = row["announced_at"].date()  # type: ignore[attr-defined]
    assert m.available_on == announced + timedelta(days=13)
    assert m.effect.verdict == "not_estimable"
    assert any(f"with data as of {m.available_on:%Y-%m-%d}" in s for s in review.summary)


# -- summary ------------------------------------------------------------------------------------


def test_summary_words_follow_the_signs_up(growing) -> None:  # type: ignore[no-untyped-def]
    summary = weekly_review(growing, "2024-W06").summary
    assert summary[0] == (
        "In 2024-W06 (Mon 05 Feb 2024 to Sun 11 Feb 2024) 7 members joined, 1 more than the "
        "week before (6) and 65 % above the average of the 4 weeks before (4.2 per week)."
    )
    # the data ends inside the week and nobody has been quiet 30 days: all 27 members may yet
    # turn out to have churned by the week's end, and the sentence says so
    assert summary[1] == (
        "The week ended with 27 members (includes 27 whose churn is not known yet), 7 more "
        "than a week earlier."
    )


def test_summary_words_follow_the_signs_down(shrinking) -> None:  # type: ignore[no-untyped-def]
    summary = weekly_review(shrinking, "2024-W06").summary
    # 3 joined; 5 the week before; (6 + 4 + 2 + 5) / 4 = 4.25 on average: 29 % below
    assert summary[0].endswith(
        "3 members joined, 2 fewer than the week before (5) and 29 % below the average of "
        "the 4 weeks before (4.2 per week)."
    )


def test_churn_not_known_yet_is_said_with_the_day_it_will_be(growing) -> None:  # type: ignore[no-untyped-def]
    review = weekly_review(growing, "2024-W06")
    assert review.churn_week() is not None
    assert not review.churn_week()["known"]  # type: ignore[index]
    # the week ends on Monday 12 February 00:00; 30 quiet days later is 13 March 00:00 (2024 is
    # a leap year), reached by the data as of the end of 12 March (an as-of day ends at its
    # last microsecond, as on the dashboard)
    assert any("will be known with data as of 2024-03-12" in s for s in review.summary)
    assert not any("members churned during the week" in s for s in review.summary)


def test_known_churn_and_retention_sentences_carry_their_intervals(demo: Community) -> None:
    review = weekly_review(demo, "2026-W20")
    row = review.churn_week()
    assert row is not None
    assert row["known"]
    churn = next(s for s in review.summary if "churned during the week" in s)
    assert f"{row['rate'] * 100:.1f} %" in churn  # type: ignore[operator]
    assert f"95 % CI {row['ci_low'] * 100:.1f} to {row['ci_high'] * 100:.1f} %" in churn  # type: ignore[operator]
    retention = review.kpi("retention_90d")
    assert retention.kpi.value is not None
    assert retention.kpi.ci is not None
    sentence = next(s for s in review.summary if "whose day 90 fell in the week" in s)
    assert f"{retention.kpi.value * 100:.1f} %" in sentence
    assert f"95 % CI {retention.kpi.ci[0] * 100:.1f}" in sentence
    assert retention.kpi.previous is not None
    word = "higher" if retention.kpi.value > retention.kpi.previous else "lower"
    assert f"points {word} than the week before" in sentence


def test_without_proof_items_or_milestones_the_review_says_so(growing) -> None:  # type: ignore[no-untyped-def]
    review = weekly_review(growing, "2024-W06")
    assert review.impact is None
    assert review.notable == ()
    assert any("no proof_items and exposures tables" in s for s in review.summary)
    assert any("no milestones table" in s for s in review.summary)
    assert any(s.startswith("Churn: A member has churned") for s in review.method_notes)


def test_progress_reports_steps_up_to_done(demo: Community) -> None:
    steps: list[tuple[str, float]] = []
    weekly_review(demo, "2026-W20", progress=lambda s, f: steps.append((s, f)))
    fractions = [f for _, f in steps]
    assert fractions == sorted(fractions)
    assert steps[-1] == ("Done", 1.0)
    assert any(s.startswith("Social-proof effects:") for s, _ in steps)


def test_the_method_note_says_who_the_social_proof_findings_compare(demo: Community) -> None:
    review = weekly_review(demo, "2026-W20")
    note = next(s for s in review.method_notes if s.startswith("Social-proof findings"))
    # the estimate's own population (known at day 30), not "members still present" then
    assert "among members active in the week before day 30 (no departure before it)" in note
    assert "still members 90 days later" in note
    assert "still present" not in note


def test_kpi_table_has_one_row_per_figure(growing) -> None:  # type: ignore[no-untyped-def]
    table = weekly_review(growing, "2024-W06").kpi_table()
    assert table["kpi"].to_list()[:2] == ["Members", "New members"]
    row = table.filter(pl.col("kpi") == "New members").row(0, named=True)
    assert (row["week"], row["previous_week"], row["average_4_weeks"]) == (7, 6, 4.25)
    assert not math.isnan(row["change_vs_average"])


def test_precomputed_analyses_give_the_same_review_and_must_match_its_settings(
    demo: Community,
) -> None:
    impact = estimate_effects(demo, ImpactSettings(), sensitivity=False)
    milestones = estimate_milestones(demo, MilestoneSettings())
    given = weekly_review(demo, "2026-W20", impact=impact, milestones=milestones)
    assert given.summary == weekly_review(demo, "2026-W20").summary
    with pytest.raises(ValueError, match="default settings"):
        weekly_review(
            demo, "2026-W20", impact=estimate_effects(demo, ImpactSettings(horizon_days=60))
        )
    with pytest.raises(ValueError, match="default settings"):
        weekly_review(
            demo, "2026-W20", milestones=estimate_milestones(demo, MilestoneSettings(window_days=7))
        )


def test_summary_names_the_hurting_items_as_it_names_the_helping_ones(demo: Community) -> None:
    from analytics.weekly import MAX_NOTABLE, summary_sentences

    review = weekly_review(demo, "2026-W20")
    assert review.impact is not None
    base = review.impact.items[0]
    helping = [
        replace(base, item_id=f"h{k}", title=f"Helper {k}", verdict="helps", effect=0.05,
                ci_low=0.01, ci_high=0.09, q_value=0.0001, adjusted_p=0.0001)
        for k in range(MAX_NOTABLE + 1)
    ]  # fmt: skip
    hurting = replace(base, item_id="x", title="Harmful one", verdict="hurts", effect=-0.05,
                      ci_low=-0.09, ci_high=-0.01, q_value=0.04, adjusted_p=0.04)  # fmt: skip
    # the hurting item is the least clear: it would fall off a list of the clearest five
    sentences = summary_sentences(replace(review, notable=(*helping, hurting), summary=[]))
    text = " ".join(sentences)
    assert f"{MAX_NOTABLE + 1} go with members staying and 1 with members leaving" in text
    assert any("'Harmful one'" in s and "less likely" in s for s in sentences)
    assert sum("'Helper" in s for s in sentences) == MAX_NOTABLE
    # the adjusted p the verdict used, named by the error control (Holm by default)
    assert "(Holm-adjusted p < 0.001)" in text  # never "= 0.000"
    assert "(Holm-adjusted p = 0.040)" in text


def test_review_verdicts_control_the_chosen_error(demo: Community) -> None:
    review = weekly_review(demo, "2026-W20", error_control="fdr")
    assert review.impact is not None
    assert review.impact.settings.error_control == "fdr"
    for effect in review.impact.items:
        if effect.effect is not None:
            assert effect.adjusted_p == effect.q_value
    with pytest.raises(ValueError, match="default settings"):
        weekly_review(demo, "2026-W20", impact=review.impact)  # computed for fdr, asked per item


@pytest.mark.parametrize(
    ("control", "said", "not_said"),
    [
        ("per_item", "Holm-adjusted p ≤ 0.05", "q ≤"),
        ("fdr", "q ≤ 0.05 (false discovery rate)", "Holm-adjusted p ≤"),
    ],
)
def test_summary_names_the_error_control_actually_used(
    demo: Community, control: str, said: str, not_said: str
) -> None:
    review = weekly_review(demo, "2026-W20", error_control=control)  # type: ignore[arg-type]
    assert review.impact is not None
    clear = replace(review.impact.items[0], verdict="helps", effect=0.05, adjusted_p=0.01)
    for notable in ((clear,), ()):  # with a finding and without any
        text = " ".join(summary_sentences(replace(review, notable=notable, summary=[])))
        assert said in text
        assert not_said not in text
