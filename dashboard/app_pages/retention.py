"""Retention: cohort matrix, survival curves, weekly lifecycle and churn per period."""

from dataclasses import replace

import polars as pl
import streamlit as st

from analytics import privacy
from analytics.churn import churn_by_period, churn_definition
from analytics.lifecycle import lifecycle
from analytics.retention import cohort_matrix, recent_cohorts, retention_definition
from analytics.survival import compare_groups
from analytics.survival_groups import (
    DEFAULT_LANDMARK_DAYS,
    exposure_landmark_table,
    survival_table,
)
from dashboard import auth, catalog, components, data, state
from dashboard.markup import escape
from dashboard.survival_view import comparison_summary

st.title("Retention")
community, view = components.page_community()
components.require_members(community)
first, last = view.first_day, view.last_day
subtitle = components.filters_caption(community, view, f"joined {first} to {last}")
st.caption(escape(subtitle))
chart_view = components.chart_view(community, view)
st.markdown(f"**Churn, as used on this page:** {churn_definition(view.inactive_days)}")

period = components.page_choice(
    state.RETENTION_PERIOD, "Count retention in", state.RETENTION_PERIODS, default="week"
)
matrix_tab, survival_tab, lifecycle_tab, churn_tab = st.tabs(
    ["Cohort matrix", "Survival", "Lifecycle", "Churn"], key=state.TAB, bind="query-params"
)


def show_matrix() -> None:
    """The cohort matrix and retention curves."""
    st.caption(retention_definition(period))
    with st.spinner("Computing the cohort matrix…"):
        matrix = data.compute(
            "cohort_matrix", cohort_matrix, view.as_of_day, view.segments,
            period=period, first_cohort=first, last_cohort=last,
        )  # fmt: skip
    if matrix.cells.is_empty():
        st.info(
            f"No member who joined between {first} and {last} has a complete {period} after "
            "joining yet. Choose a longer or earlier date range in the sidebar."
        )
    else:
        shown = matrix
        if auth.is_viewer():  # cells about fewer than k members are left blank for viewers
            k = auth.min_cell_members()
            cells = matrix.cells
            small = privacy.small_cell_mask(cells, counts=["size", "retained"], k=k)
            hidden = f"about {privacy.small_cell_text(k)} members: hidden for your role"
            shown = replace(
                matrix,
                cells=cells.with_columns(
                    pl.when(small).then(None).otherwise(pl.col("share")).alias("share"),
                    pl.when(small).then(pl.lit(hidden)).otherwise(None).alias("hidden"),
                ),
            )
            if small.any():
                st.caption(
                    f"Cells about {privacy.small_cell_text(k)} members are left blank for your "
                    "role, so that nobody can be singled out."
                )
        components.chart(
            catalog.cohort_heatmap(chart_view, shown, period=period),
            f"Each row is the members who joined in one {period}; each cell the share of them "
            f"active in that {period} after joining. Empty cells are not complete yet (some "
            "members of the cohort have not lived through them), not zero.",
            key="heat",
        )
        if not auth.is_viewer():  # the wide table holds every cell's share
            components.table_download(
                matrix.wide(), f"cohort matrix by {period} (wide)", key="wide"
            )

        options = [c.isoformat() for c in matrix.cohorts()["cohort"].to_list()]
        default = [c.isoformat() for c in recent_cohorts(matrix)]
        state.seed(state.COHORTS, state.url_list(state.COHORTS, options) or default)
        chosen = st.multiselect(
            "Cohorts to draw beside the average", options=options, key=state.COHORTS
        )
        state.keep(state.COHORTS, chosen)
        components.sync_url({state.COHORTS: None if chosen == default else chosen})
        by_label = {c.isoformat(): c for c in matrix.cohorts()["cohort"].to_list()}
        components.chart(
            catalog.retention_curve(chart_view, shown, [by_label[c] for c in chosen],
                                    period=period),
            "The thick line is the share of all members retained in each period after joining, "
            "each cohort weighted by its size, with its 95 % interval. Later periods rest on the "
            "older cohorts only.",
            key="curve",
        )  # fmt: skip


def show_survival() -> None:
    """Kaplan-Meier survival curves, compared across groups."""
    choices: dict[str, str] = {"all": "Everyone", "cohort": "Join cohort (quarter)"}
    choices |= {f"attr:{a}": a.replace("_", " ").capitalize() for a in community.attributes}
    if community.proof_items is not None and community.has_exposures:
        choices["item"] = "Early exposure to a proof item"
    state.seed(state.KM_BY, state.url_choice(state.KM_BY, list(choices), "all"))
    compare_by = st.selectbox(
        "Compare", options=list(choices), format_func=choices.__getitem__, key=state.KM_BY
    )
    state.keep(state.KM_BY, compare_by)
    url_params: dict[str, str | list[str] | None] = {
        state.KM_BY: None if compare_by == "all" else compare_by,
        state.KM_ITEM: None,
    }
    table = data.compute(
        "survival_table", survival_table, view.as_of_day, view.segments,
        inactive_days=view.inactive_days, first_join=first, last_join=last,
    )  # fmt: skip
    x_title = "Days since joining"
    note = ""
    group_column = "group"
    if compare_by == "item":
        assert community.proof_items is not None
        items = community.proof_items.sort("kind", "title")
        labels = {
            r["item_id"]: f"{r['title']} ({r['kind'].replace('_', ' ')})"
            for r in items.iter_rows(named=True)
        }
        state.seed(state.KM_ITEM, state.url_choice(state.KM_ITEM, list(labels), next(iter(labels))))
        item_id = st.selectbox(
            "Proof item", options=list(labels), format_func=labels.__getitem__, key=state.KM_ITEM
        )
        state.keep(state.KM_ITEM, item_id)
        url_params[state.KM_ITEM] = item_id
        landmark = data.compute(
            "exposure_landmark_table",
            exposure_landmark_table,
            view.as_of_day,
            view.segments,
            item_id=item_id,
            landmark_days=DEFAULT_LANDMARK_DAYS,
            inactive_days=view.inactive_days,
            first_join=first,
            last_join=last,
        )
        table = landmark.table
        x_title = f"Days after day {DEFAULT_LANDMARK_DAYS} of membership"
        note = (
            landmark.explanation()
            + " This is a comparison, not an effect: members who see an item may differ from "
            "those who do not (the Impact page adjusts for that)."
        )
    elif compare_by == "cohort":
        table = table.with_columns(pl.col("cohort").alias("group"))
    elif compare_by.startswith("attr:"):
        table = table.with_columns(pl.col(compare_by[5:]).fill_null("(missing)").alias("group"))
    else:
        table = table.with_columns(pl.lit("Everyone").alias("group"))
    components.sync_url(url_params)

    with st.spinner("Fitting survival curves…"):
        comparison = compare_groups(
            table, duration="tenure_days", event="churned", group=group_column
        )
    if not comparison.curves:
        st.info(
            "Too few members to draw a survival curve (at least 30 per group). Widen the date "
            "range or clear segment filters."
        )
    else:
        components.chart(
            catalog.survival(chart_view, comparison, x_title=x_title),
            "Kaplan–Meier curves: of the members who joined, the share not yet churned after "
            "each number of days, counting members who have not churned yet only as long as we "
            "have seen them. Shaded: 95 % intervals. The median is the day the curve crosses 50 %.",
            key="km",
        )
        if note:
            st.info(escape(note))
        summary = comparison_summary(comparison)
        components.table(summary)
        if comparison.logrank is not None:
            test = comparison.logrank
            st.markdown(
                f"**Log-rank test** across {len(test.groups)} groups: χ² = {test.statistic:.2f} "
                f"with {test.degrees_of_freedom} degree(s) of freedom, p = {test.p_value:.3g}. "
                + (
                    "The curves differ by more than chance would explain."
                    if test.p_value < 0.05
                    else "The difference between the curves could be chance."
                )
            )
        if comparison.too_small:
            st.caption(
                "Left out as too few members (under 30): "
                + ", ".join(f"{g} ({n})" for g, n in comparison.too_small)
            )
        components.table_download(comparison.summary(), "survival summary", key="km_summary")


def show_lifecycle() -> None:
    """Each week's active members: new, returning, resurrected and lost."""
    with st.spinner("Counting weekly activity…"):
        weekly = data.compute(
            "lifecycle", lifecycle, view.as_of_day, view.segments,
            first_week=first, last_week=last,
        )  # fmt: skip
    if weekly.is_empty():
        st.info("No activity in the chosen date range.")
    else:
        components.chart(
            catalog.lifecycle_weeks(chart_view, weekly),
            "Each week's active members split into new (first active week), returning (active "
            "the week before too) and resurrected (back after a break); below zero, members "
            "who were active the week before but not this one. The line is stickiness: the "
            "average day's active members as a share of those active in the last 28 days. "
            "The last week may be cut short by the as-of time.",
            key="life",
        )


def show_churn() -> None:
    """The share of members who churned each period."""
    churn = data.compute(
        "churn_by_period",
        lambda c, **p: churn_by_period(c.members, c.last_activity(), as_of=c.as_of, **p),
        view.as_of_day,
        view.segments,
        period=period,
        inactive_days=view.inactive_days,
    )
    churn = catalog.churn_in_view(chart_view, churn, period=period)
    if churn.is_empty():
        st.info("No members in the chosen date range.")
    else:
        components.chart(
            catalog.churn(chart_view, churn, period=period),
            f"The share of members who churned each {period}, split into those who left "
            "explicitly and those who went silent, with the 95 % interval of the total. The "
            f"last {view.inactive_days} days are not known yet: a member counts as churned only "
            f"after {view.inactive_days} quiet days.",
            key="churn",
        )


# Only the open tab computes: tabs bound to the URL know which one is open, and a hidden
# tab's analyses (the churn-risk model above all) wait until it is opened.
for tab, show in (
    (matrix_tab, show_matrix),
    (survival_tab, show_survival),
    (lifecycle_tab, show_lifecycle),
    (churn_tab, show_churn),
):
    if tab.open:
        with tab:
            show()
