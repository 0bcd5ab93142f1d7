"""Growth: signups over time and what each milestone announcement did to them."""

from datetime import UTC, datetime, time

import polars as pl
import streamlit as st

from analytics.errors import ProofboardError
from analytics.growth import milestones_in, signup_series
from analytics.milestones import DEFAULT_KNOT_DAYS, MilestoneSettings, estimate_milestones
from analytics.periods import Period
from analytics.vocabulary import quoted
from dashboard import auth, catalog, charts, components, data, state
from dashboard.markup import escape

st.title("Growth")
community, view = components.page_community()
period = Period.from_dates(view.first_day, view.last_day, as_of=community.as_of)
subtitle = components.filters_caption(community, view, period.label())
st.caption(escape(subtitle))

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
chart_view = components.chart_view(community, view)
components.chart(
    catalog.growth(chart_view, series, milestones, granularity=granularity, window_days=window),
    "Bars: signups; line: everyone who had joined by then; diamonds: milestone announcements, "
    f"their {window}-day impact windows shaded. The table below says what each one did.",
    key="growth",
)


def edit_milestones() -> None:
    """Add, edit or delete the milestones kept in the store (admins; each action checks the role
    again on the server and is audited)."""
    first_join = community.first_join
    bounds = (first_join, community.as_of) if first_join is not None else None
    st.caption(
        f"Milestones added here are kept in {data.store_url().split('?')[0].rsplit('/', 1)[-1]} "
        "and survive restarts; those that came with the data are read-only. Dates are UTC."
    )
    with st.form("add_milestone", clear_on_submit=True):
        c1, c2, c3, c4 = st.columns([2, 1, 3, 2])
        day = c1.date_input(
            "Date", value=community.as_of.date(), key=state.Session.NEW_MILESTONE_DAY
        )
        clock = c2.time_input("Time (UTC)", value=time(12, 0), key=state.Session.NEW_MILESTONE_TIME)
        title = c3.text_input(
            "Title", key=state.Session.NEW_MILESTONE_TITLE, placeholder="e.g. 10,000 members!"
        )
        channel = c4.text_input(
            "Channel", key=state.Session.NEW_MILESTONE_CHANNEL, placeholder="blog, newsletter…"
        )
        if st.form_submit_button("Add milestone"):
            auth.require_role(auth.Role.ADMIN)
            try:
                added = data.milestone_store().add(
                    announced_at=datetime.combine(day, clock, tzinfo=UTC),
                    title=title,
                    channel=channel or None,
                    valid_range=bounds,
                    actor=state.current_actor(),
                )
                auth.audit("milestone add", added.milestone_id)
                st.success(f"Added {escape(quoted(title.strip()))}.")
                data.milestones_changed()
                st.rerun()
            except ProofboardError as exc:  # MilestoneValidationError included
                st.error(escape(exc))
    has_added = (
        community.milestones is not None
        and "editable" in community.milestones.columns
        and bool(community.milestones["editable"].any())
    )
    stored = data.milestone_store().list() if has_added else []
    editable = {m.milestone_id: m for m in stored}
    if editable:
        chosen_id = st.selectbox(
            "Edit or delete",
            options=list(editable),
            format_func=lambda i: (
                f"{editable[i].announced_at:%Y-%m-%d %H:%M} — {editable[i].title}"
            ),
            key=state.Session.EDIT_MILESTONE,
        )
        current = editable[chosen_id]
        e1, e2, e3 = st.columns([3, 2, 2])
        new_title = e1.text_input(
            "New title",
            value=current.title,
            key=f"{state.Session.EDIT_MILESTONE_TITLE}_{chosen_id}",
        )
        new_day = e2.date_input("New date", value=current.announced_at.date(),
                                key=f"{state.Session.EDIT_MILESTONE_DAY}_{chosen_id}")  # fmt: skip
        with e3:
            save, remove = st.columns(2)
            if save.button("Save", key=state.Session.EDIT_MILESTONE_SAVE):
                auth.require_role(auth.Role.ADMIN)
                try:
                    data.milestone_store().update(
                        chosen_id,
                        title=new_title,
                        announced_at=datetime.combine(
                            new_day, current.announced_at.time(), tzinfo=UTC
                        ),
                        valid_range=bounds,
                        actor=state.current_actor(),
                    )
                    auth.audit("milestone edit", chosen_id)
                    data.milestones_changed()
                    st.rerun()
                except ProofboardError as exc:  # MilestoneValidationError included
                    st.error(escape(exc))
            if remove.button("Delete", key=state.Session.EDIT_MILESTONE_DELETE):
                auth.require_role(auth.Role.ADMIN)
                try:
                    data.milestone_store().delete(chosen_id, actor=state.current_actor())
                    auth.audit("milestone delete", chosen_id)
                    data.milestones_changed()
                    st.rerun()
                except ProofboardError as exc:
                    st.error(escape(exc))


if auth.allowed(auth.Role.ADMIN):
    with st.expander("Add, edit or delete milestones", expanded=community.milestones is None):
        edit_milestones()

if community.milestones is None:
    st.info(
        "This source has no milestones table and none were added yet. Add one above, or add "
        "`milestones.csv` (columns `announced_at`, `title`, optional `channel`) to the data "
        "folder or a `milestones` table to the database, to see what each announcement did."
    )
    st.stop()

unit = state.OUTCOMES[outcome].lower()
estimating = "Estimating each announcement's effect…"
with st.status(estimating, expanded=False) as status:
    result = data.compute(
        "estimate_milestones", estimate_milestones, view.as_of_day, view.segments,
        settings=MilestoneSettings(window_days=window, outcome=outcome),  # type: ignore[arg-type]
        progress=components.status_steps(status, estimating),
    )  # fmt: skip
    status.update(label=f"Estimated {len(result.effects)} announcements", state="complete")

st.subheader(f"What each announcement did to {unit}")
table = result.table()
components.table(
    table.select(*charts.milestone_columns(), pl.col("reason").alias("why")),
)
alarm = result.false_alarm_rate
st.caption(
    f"Expected = what the {MilestoneSettings().pre_days // 7} weeks before the announcement "
    "predict for its window (weekday pattern and a trend that may bend "
    f"{DEFAULT_KNOT_DAYS // 7} weeks before, so a growth spurt already under way is "
    "carried forward rather than credited to the announcement; other announcements' windows are "
    "left out). "
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
    components.chart(catalog.milestone_detail(chart_view, effect, unit=unit), key="ms_detail")
    components.chart(
        catalog.event_study(chart_view, result, unit=unit),
        "The average over all announcements of how far each day after them was above or below "
        "expected; the grey band is where the same average falls at dates without an "
        "announcement. A line inside the band is what noise alone produces.",
        key="event",
    )

if not result.round_number_placebos.is_empty():
    st.subheader("Round numbers crossed without an announcement")
    st.caption(
        "Member counts crossed round numbers on these days too, but nobody announced them. "
        "If they also show an 'uplift', announcements of round numbers ride on growth spurts "
        "rather than causing them."
    )
    components.table(result.round_number_placebos)
    components.table_download(result.round_number_placebos, "round number placebos", key="rn_csv")
