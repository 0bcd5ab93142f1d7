"""Growth: signups over time and what each milestone announcement did to them."""

import polars as pl
import streamlit as st

from analytics.growth import milestones_in, signup_series
from analytics.milestones import MilestoneSettings, estimate_milestones
from analytics.periods import Period
from dashboard import charts, components, data, state

st.title("Growth")
loaded, view = components.sidebar()
if loaded.community is None or view is None:
    components.show_load_error(loaded)
    st.stop()
community = data.segmented(view.as_of_day, view.segments)
assert community is not None
period = Period.from_dates(view.first_day, view.last_day, as_of=community.as_of)
subtitle = components.filters_caption(community, view, period.label())
st.caption(subtitle)

left, middle, right = st.columns(3)
with left:
    granularity = components.page_choice(
        state.GRANULARITY, "Signups per", state.GRANULARITIES, default="day"
    )
with middle:
    outcome = components.page_choice(state.OUTCOME, "Effect on", state.OUTCOMES, default="signups")
with right:
    state.seed(state.WINDOW, state.url_int(state.WINDOW, 14, low=1, high=90))
    window = int(
        st.number_input("Impact window (days)", min_value=1, max_value=90, key=state.WINDOW,
                        help="How many days after an announcement count as its effect.")
    )  # fmt: skip
    state.keep(state.WINDOW, window)
    components.sync_url({state.WINDOW: None if window == 14 else str(window)})

series = data.compute("signup_series", signup_series, view.as_of_day, view.segments,
                      period=period, granularity=granularity)  # fmt: skip
milestones = milestones_in(community, period)
growth = charts.growth_chart(series, milestones, granularity=granularity, subtitle=subtitle,
                             window_days=window)  # fmt: skip
st.plotly_chart(growth, key="growth_chart", width="stretch")
st.caption(
    "Bars: signups; line: everyone who had joined by then; diamonds: milestone announcements, "
    f"their {window}-day impact windows shaded. The table below says what each one did."
)
components.chart_downloads(growth, series, f"growth {period.label()}", key="growth")

if community.milestones is None:
    st.info(
        "This source has no milestones table. Add `milestones.csv` (columns `announced_at`, "
        "`title`, optional `channel`) to the data folder or a `milestones` table to the database "
        "to see what each announcement did. (Adding milestones here is coming next.)"
    )
    st.stop()

unit = state.OUTCOMES[outcome].lower()
with st.status("Estimating each announcement's effect…", expanded=False) as status:
    result = data.compute(
        "estimate_milestones", estimate_milestones, view.as_of_day, view.segments,
        settings=MilestoneSettings(window_days=window, outcome=outcome),  # type: ignore[arg-type]
    )  # fmt: skip
    status.update(label=f"Estimated {len(result.effects)} announcements", state="complete")

st.subheader(f"What each announcement did to {unit}")
table = result.table()
st.dataframe(
    table.select(
        "title",
        pl.col("announced_at").dt.strftime("%Y-%m-%d %H:%M").alias("announced (UTC)"),
        pl.col("verdict"),
        (pl.col("uplift") * 100).round(0).alias("uplift (%)"),
        pl.format(
            "{} to {}", (pl.col("ci_low") * 100).round(0), (pl.col("ci_high") * 100).round(0)
        ).alias("95 % CI (%)"),
        pl.col("p_value").round(3).alias("p"),
        pl.col("observed"),
        pl.col("expected").round(0),
        pl.col("reason").alias("why"),
    ),
    hide_index=True,
    width="stretch",
)
alarm = result.false_alarm_rate
st.caption(
    f"Expected = what the {MilestoneSettings().pre_days // 7} weeks before the announcement "
    "predict for its window (trend and weekday pattern, other announcements' windows left out). "
    f"p-values and intervals are calibrated on {result.placebo_count} placebo dates without an "
    "announcement"
    + (
        f"; on this data the model alone would have raised a false alarm on {alarm:.0%} of "
        "them, which is why its own p-values are not shown as the verdict."
        if alarm is not None
        else "."
    )
)
components.table_download(table, f"milestone effects on {unit}", key="ms_csv")

estimable = [e for e in result.effects if e.daily is not None]
if estimable:
    labels = {e.milestone_id: e.title for e in estimable}
    state.seed(
        state.MILESTONE, state.url_choice(state.MILESTONE, list(labels), estimable[0].milestone_id)
    )
    chosen = st.selectbox("Look closer at", options=list(labels), format_func=labels.__getitem__,
                          key=state.MILESTONE)  # fmt: skip
    state.keep(state.MILESTONE, chosen)
    components.sync_url({state.MILESTONE: chosen})
    effect = next(e for e in estimable if e.milestone_id == chosen)
    assert effect.daily is not None
    detail = charts.milestone_detail_chart(effect.daily, title=effect.title, unit=unit,
                                           subtitle=subtitle)  # fmt: skip
    st.plotly_chart(detail, key="milestone_detail", width="stretch")
    components.chart_downloads(detail, effect.daily, f"milestone {chosen}", key="ms_detail")

    study = charts.event_study_chart(result.event_study, unit=unit, subtitle=subtitle)
    st.plotly_chart(study, key="event_study", width="stretch")
    st.caption(
        "The average over all announcements of how far each day after them was above or below "
        "expected; the grey band is where the same average falls at dates without an "
        "announcement. A line inside the band is what noise alone produces."
    )
    components.chart_downloads(study, result.event_study, "event study", key="event")

if not result.round_number_placebos.is_empty():
    st.subheader("Round numbers crossed without an announcement")
    st.caption(
        "Member counts crossed round numbers on these days too, but nobody announced them. "
        "If they also show an 'uplift', announcements of round numbers ride on growth spurts "
        "rather than causing them."
    )
    st.dataframe(result.round_number_placebos, hide_index=True, width="stretch")
    components.table_download(result.round_number_placebos, "round number placebos", key="rn_csv")
