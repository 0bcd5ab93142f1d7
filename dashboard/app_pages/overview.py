"""Overview: the key figures of the period and the growth chart with milestones."""

import streamlit as st

from analytics.growth import milestones_in, signup_series
from analytics.overview import kpi_frame, overview_kpis
from analytics.periods import Period
from dashboard import catalog, components, data, state
from dashboard.markup import escape

st.title("Overview")
community, view = components.page_community()
period = Period.from_dates(view.first_day, view.last_day, as_of=community.as_of)
st.caption(escape(components.filters_caption(community, view, period.label())))
components.require_members(community)

kpis = data.compute(
    "overview_kpis", overview_kpis, view.as_of_day, view.segments,
    period=period, inactive_days=view.inactive_days,
)  # fmt: skip
components.kpi_tiles(kpis)
st.caption(
    f"Arrows show the change against {period.previous().label()}, the period of the same "
    "length just before (retention in percentage points). Each tile's ? gives its exact "
    "definition."
)
components.table_download(kpi_frame(kpis), f"key figures {period.label()}", key="kpi_csv")

st.subheader("Growth")
granularity = components.page_choice(
    state.GRANULARITY, "Signups per", state.GRANULARITIES, default="day"
)
series = data.compute(
    "signup_series", signup_series, view.as_of_day, view.segments,
    period=period, granularity=granularity,
)  # fmt: skip
milestones = milestones_in(community, period)
components.chart(
    catalog.growth(components.chart_view(community, view), series, milestones,
                   granularity=granularity, file=f"signups {period.label()}"),
    "Bars: members who signed up each "
    f"{granularity} (grey bars: a {granularity} cut by the period's edge, so only partly "
    "counted). Line: everyone who had joined by then (right axis). Diamonds mark "
    "milestone announcements; whether an announcement changed signups is estimated on the "
    "Growth page, not read off this chart.",
    key="growth",
)  # fmt: skip

if community.milestones is None:
    st.info(
        "This source has no milestones table, so no announcements are marked. Add "
        "`milestones.csv` (columns `announced_at`, `title`, optional `channel`) to the data "
        "folder or a `milestones` table to the database."
    )
elif milestones.height:
    st.markdown("**Milestones announced in this period**")
    shown = milestones.select("announced_at", "title", "channel")
    components.table(shown)
    components.table_download(shown, f"milestones {period.label()}", key="milestones_csv")
else:
    st.caption("No milestone was announced in this period.")
