"""Weekly review: one ISO week for stakeholders, its figures against the weeks before, the
notable findings and milestones, a written summary and the method notes."""

from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from analytics.growth import milestones_in
from analytics.impact import estimate_effects
from analytics.milestones import MilestoneSettings, estimate_milestones
from analytics.weekly import (
    WeekError,
    available_weeks,
    impact_settings,
    parse_week,
    resolve_week,
    week_label,
    week_period,
    weekly_review,
)
from dashboard import auth, components, data, delivery_view, report, review_tables, state
from dashboard.exports import slug
from dashboard.markup import escape


def _plain(text: str) -> str:
    """Text shown as Markdown without being read as Markdown (titles may hold * _ $ ...)."""
    for char in "\\`*_[]$#<>|~":
        text = text.replace(char, "\\" + char)
    return text


present = st.query_params.get(state.PRESENT) == "1"
if present:
    # for a meeting screen: no sidebar (the view still comes from the URL), no status boxes, no
    # download rows, and the tiles and summary at the top
    st.html(
        "<style>[data-testid='stSidebar'], [data-testid='stSidebarCollapsedControl'], "
        "[data-testid='stSidebarNav'], header[data-testid='stHeader'] {display: none;} "
        ".block-container, [data-testid='stMainBlockContainer'] {padding-top: 1.2rem;}"
        "</style>"
    )
else:
    st.title("Weekly review")
community, view = components.page_community()
components.require_members(community)
weeks = available_weeks(community)
if weeks is None:
    st.info(
        f"The data (as of {community.as_of:%Y-%m-%d %H:%M} UTC) does not cover a complete ISO "
        "week yet, so there is no week to review. Choose a later as-of day in the sidebar."
    )
    st.stop()

first, last = weeks
options = [week_label(last - timedelta(weeks=k)) for k in range((last - first).days // 7 + 1)]
default = options[0]
asked = st.query_params.get(state.WEEK)
from_url = default
if asked:
    try:
        from_url = week_label(resolve_week(community, asked))
    except WeekError as exc:
        st.error(f"{escape(exc)} Showing {default}, the last complete week, instead.")
state.forget_unless(state.WEEK, options)
state.seed(state.WEEK, from_url)
if present:
    week = from_url
else:
    week = st.selectbox(
        "Week (ISO, Monday to Sunday, UTC)",
        options=options,
        key=state.WEEK,
        help="Complete weeks only: from the week of the first signup to the last week that ended "
        "by the as-of time (set in the sidebar). Default: the last complete week.",
    )
    state.keep(state.WEEK, week)
components.sync_url({state.WEEK: week})


class _Quiet:
    """Stands in for ``st.status`` in presentation mode: a spinner while computing, then
    nothing left on screen."""

    def update(self, **_: object) -> None:
        pass


def _preparing() -> AbstractContextManager[Any]:
    if present:
        return st.spinner(f"Preparing the review of {week}…")
    return st.status(f"Preparing the review of {week}…", expanded=False)


def _say(text: str) -> None:
    if not present:
        st.write(text)


with _preparing() as shown_status:
    status = shown_status if not present else _Quiet()
    inputs: dict[str, Any] = {}
    if community.proof_items is not None and community.has_exposures:
        what = f"Preparing the review of {week}: social-proof effects"
        status.update(label=what)
        _say("Estimating the social-proof effects (the longest step)…")
        inputs["impact"] = data.compute(
            "estimate_effects", estimate_effects, view.as_of_day, view.segments,
            settings=impact_settings(view.inactive_days), sensitivity=False,
            progress=components.status_steps(status, what),
        )  # fmt: skip
    if milestones_in(community, week_period(parse_week(week))).height:
        what = f"Preparing the review of {week}: milestone effects"
        status.update(label=what)
        _say("Estimating the effects of the milestones announced in the week…")
        inputs["milestones"] = data.compute(
            "estimate_milestones", estimate_milestones, view.as_of_day, view.segments,
            settings=MilestoneSettings(), progress=components.status_steps(status, what),
        )  # fmt: skip
    what = f"Preparing the review of {week}: key figures and summary"
    status.update(label=what)
    _say("Comparing the key figures with the weeks before and writing the summary…")
    try:
        review = data.compute(
            "weekly_review", weekly_review, view.as_of_day, view.segments, inputs=inputs,
            week=week, inactive_days=view.inactive_days,
            progress=components.status_steps(status, what),
        )  # fmt: skip
    except WeekError as exc:
        status.update(label="No review", state="error")
        st.error(escape(exc))
        st.stop()
    status.update(label=f"Review of {week} ready", state="complete")

# the tables drawn and offered for download: built once per review and role, shared by every
# session like the review itself (a viewer's with the small groups hidden inside the cache)
shared = data.compute(
    "weekly_review_tables", review_tables.build, view.as_of_day, view.segments,
    inputs={"review": review}, week=week, inactive_days=view.inactive_days,
    viewer_k=components.viewer_k(),
)  # fmt: skip

segments = [f"{a} = {', '.join(v)}" for a, v in view.segments.items() if v]
context = (
    f"{review.days_label} · {'; '.join(segments) or 'all members'} · data as of "
    f"{review.as_of:%Y-%m-%d %H:%M} UTC"
)
if present:
    st.markdown(f"## Weekly review {review.week}")
    st.caption(context)
    components.kpi_tiles([c.kpi for c in review.kpis])
    st.markdown("\n".join(f"- {_plain(sentence)}" for sentence in review.summary))
else:
    st.caption(context)
    left, right = st.columns([3, 1], vertical_alignment="center")
    with left:
        if auth.is_viewer():
            # the file holds the review as an analyst sees it (small groups included)
            st.caption(
                "The downloadable review is for analysts and admins: it shows figures about "
                "small groups, which your role does not see."
            )
        else:
            st.download_button(
                "Download this review (HTML)",
                data=lambda: report.review_html(review).encode("utf-8"),
                file_name=f"proofboard-review-{slug(review.week)}.html",
                mime="text/html",
                key="review_html",
                icon=":material/download:",
                on_click="ignore",
                help="One self-contained file with interactive charts that opens offline. For a "
                "PDF, run `proofboard report --week ... --out review.pdf`.",
            )
    link = urlencode(
        [(k, v) for k in st.query_params for v in st.query_params.get_all(k)]
        + [(state.PRESENT, "1")]
    )
    right.markdown(
        f"[:material/slideshow: Presentation mode](?{link})",
        help="The review for a meeting screen: no sidebar, no downloads, key figures and "
        "summary at the top.",
    )
    delivery_view.subscribe_control()
    st.subheader("Summary")
    st.markdown("\n".join(f"- {_plain(sentence)}" for sentence in review.summary))

st.subheader("Key figures")
if not present:
    components.kpi_tiles([c.kpi for c in review.kpis])
components.table(shared.kpis)
st.caption(
    "Arrows and 'change': against the week before (retention in percentage points). 4-week "
    "average: the mean of the four weeks before for counts; for retention the pooled share of "
    "those weeks with its 95 % interval. A figure not known yet has no change and no average."
)
if not present:
    components.table_download(
        shared.kpi_download, f"key figures {review.week}", key="kpi_csv", for_role_already=True
    )

charts = {c.key: c for c in report.review_charts(review)}
for key in ("kpis", "signups"):
    chart = charts[key]
    components.chart(chart.drawn, escape(chart.caption), key=key, downloads=not present)

st.subheader("Social-proof findings")
if review.impact is None:
    st.info(escape(review.impact_note or "No social-proof findings."))
else:
    if shared.findings is None or shared.findings_download is None:
        st.markdown(escape(report.no_findings_text(review)))
    else:
        components.table(shared.findings)
        if not present:
            components.table_download(
                shared.findings_download,
                f"notable findings {review.week}",
                key="findings_csv",
                for_role_already=True,
            )
    if "findings" in charts:
        chart = charts["findings"]
        components.chart(
            chart.drawn,
            escape(chart.caption) + " Details on the Impact page.",
            key="forest",
            downloads=not present,
        )

st.subheader("Milestones announced in the week")
if review.milestones_note:
    st.info(escape(review.milestones_note))
elif shared.milestones is None or shared.milestones_download is None:  # none in the week
    st.markdown("No milestone was announced in the week.")
else:
    components.table(shared.milestones)
    if not present:
        components.table_download(
            shared.milestones_download,
            f"milestones {review.week}",
            key="milestones_csv",
            for_role_already=True,
        )

st.subheader("How to read these figures")
st.markdown("\n".join(f"- {_plain(note)}" for note in review.method_notes))
