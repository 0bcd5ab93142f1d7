"""Impact: which proof items go with members staying, estimated honestly."""

from dataclasses import replace

import polars as pl
import streamlit as st

from analytics import privacy
from analytics.impact import (
    SENSITIVITY_INACTIVE_DAYS,
    TRIAL_COLUMNS,
    ImpactSettings,
    error_control_words,
    estimate_effects,
    item_detail,
    time_varying_effects,
    with_trials,
)
from dashboard import auth, catalog, charts, components, data, state
from dashboard.markup import escape

st.title("Impact")
community, view = components.page_community()
if community.proof_items is None or not community.has_exposures:
    st.info(
        "This page needs the **proof_items** table (item_id, kind, title, published_at) and the "
        "**exposures** table (member_id, item_id, occurred_at: when a member saw or earned an "
        "item). Add them to the data folder or database; the Data page lists their columns."
    )
    st.stop()

st.sidebar.markdown("### Impact windows")
state.seed(state.LANDMARK, state.url_int(state.LANDMARK, 30, low=1, high=365))
landmark = int(
    st.sidebar.number_input(
        "Exposure window (days after joining)", min_value=1, max_value=365, key=state.LANDMARK,
        help="Members are compared by whether they saw or earned an item in this many days "
        "after joining; who is compared is set below (members active shortly before its end).",
    )
)  # fmt: skip
state.keep(state.LANDMARK, landmark)
state.seed(state.HORIZON, state.url_int(state.HORIZON, 90, low=1, high=730))
horizon = int(
    st.sidebar.number_input(
        "Outcome horizon (days after the window)", min_value=1, max_value=730, key=state.HORIZON,
        help="Retention is whether a member is still a member this many days after the window.",
    )
)  # fmt: skip
state.keep(state.HORIZON, horizon)
state.seed(state.RECENCY, state.url_int(state.RECENCY, min(7, landmark), low=1, high=landmark))
recency = int(
    st.sidebar.number_input(
        "Active in the last days before the window ends", min_value=1, max_value=landmark,
        key=state.RECENCY,
        help="Who is compared: members with some activity in this many days before the end of "
        "the exposure window (and no departure before it), decided only from what was known "
        "then. 7 = members active in the week before day 30.",
    )
)  # fmt: skip
state.keep(state.RECENCY, recency)
state.seed(
    state.ERROR_CONTROL,
    state.url_choice(state.ERROR_CONTROL, list(state.ERROR_CONTROLS), "per_item"),
)
error_control = st.sidebar.radio(
    "What a 'helps' or 'hurts' verdict controls",
    options=list(state.ERROR_CONTROLS),
    format_func=state.ERROR_CONTROLS.__getitem__,
    key=state.ERROR_CONTROL,
    help="Per item suits a decision about one item; across items suits screening many items "
    "for follow-up.",
)
state.keep(state.ERROR_CONTROL, error_control)
attributes = list(community.attributes)
state.seed(state.FIXED, state.url_list(state.FIXED, attributes) or attributes)
fixed = st.sidebar.multiselect(
    "Attributes fixed at signup (adjusted for)",
    options=attributes,
    key=state.FIXED,
    help="Only attributes known when members joined may be adjusted for; never pick something "
    "measured later (final reputation, total posts).",
)
state.keep(state.FIXED, fixed)
components.sync_url(
    {
        state.LANDMARK: None if landmark == 30 else str(landmark),
        state.HORIZON: None if horizon == 90 else str(horizon),
        state.RECENCY: None if recency == 7 else str(recency),
        state.ERROR_CONTROL: None if error_control == "per_item" else error_control,
        state.FIXED: None if sorted(fixed) == sorted(attributes) else fixed,
    }
)
settings = ImpactSettings(
    landmark_days=landmark,
    horizon_days=horizon,
    recency_days=recency,
    inactive_days=view.inactive_days,
    # every attribute is the default (None): the same settings, so the same cached estimate, as
    # the weekly review's
    fixed_attributes=None if sorted(fixed) == sorted(attributes) else tuple(sorted(fixed)),
    error_control="fdr" if error_control == "fdr" else "per_item",
)
subtitle = components.filters_caption(
    community, view, f"whole history, window {landmark} d, horizon {horizon} d"
)
st.caption(escape(subtitle))
st.info(
    f"**This page uses the whole history up to the as-of time, not the sidebar's date range.** "
    f"Each member is followed from joining for {landmark} + {horizon} days; cutting the history "
    "at a date range would cut that follow-up short and leave too few members to compare. The "
    "as-of time and the segment filters do apply.",
    icon=":material/info:",
)

estimating = f"Estimating the effect of {community.proof_items.height} proof items…"
with st.status(estimating, expanded=False) as status:
    try:
        # the landmark view without the sensitivity analyses (they wait for their expander
        # below) and without the sequential trials (added in their section below): the same
        # computation as the weekly review's, so the two share one cached result
        result = data.compute("estimate_effects", estimate_effects, view.as_of_day, view.segments,
                              settings=replace(settings, trials=False), sensitivity=False,
                              progress=components.status_steps(status, estimating))  # fmt: skip
    except ValueError as exc:
        status.update(label="No estimate", state="error")
        st.error(escape(exc))
        st.stop()
    status.update(
        label=f"Estimated {len(result.items)} items on {result.population_size:,} members",
        state="complete",
    )

st.markdown(f"**Who is compared:** {escape(result.estimand)}.")
table = result.table()
if result.population_size == 0:
    st.info(
        f"No member has been followed for {landmark} + {horizon} days plus "
        f"{view.inactive_days} quiet days yet, so no outcome is known. Choose shorter windows "
        "or an earlier as-of date range."
    )
    st.stop()
chart_view = components.chart_view(community, view)
components.chart(
    catalog.effects(chart_view, result),
    f"Each dot: how much more (or less) likely members who saw or earned the item in their first "
    f"{landmark} days were to still be members {horizon} days later than comparable members who "
    f"did not, with its 95 % interval. Green helps, red hurts — {error_control_words(settings)}; "
    "grey could be chance. Open circles: the naive 'ever vs never' difference that "
    "correlation dashboards show, inflated by members who stayed long enough to be exposed.",
    key="forest",
)

st.subheader("Every item")
shown = table.select(
    pl.col("title").alias("item"),
    "kind",
    pl.col("verdict").replace_strict(charts.verdict_labels(settings)).alias("verdict"),
    pl.col("sentence").alias("what it means"),
    pl.col("n_exposed").alias("exposed"),
    pl.col("n_control").alias("compared with"),
    (pl.col("effect") * 100).round(1).alias("effect (pts)"),
    pl.format(
        "{} to {}", (pl.col("ci_low") * 100).round(1), (pl.col("ci_high") * 100).round(1)
    ).alias("95 % CI (pts)"),
    pl.col("adjusted_p").alias(
        "q (verdict)" if settings.error_control == "fdr" else "Holm-adjusted p (verdict)"
    ),
    pl.col("q_value").alias("q"),
    (pl.col("naive_effect") * 100).round(1).alias("naive (pts)"),
    pl.col("phi").round(2).alias("correlation (phi, association only)"),
    pl.col("e_value").round(2).alias("E-value"),
)
components.table(shown)
# the sensitivity columns are empty until their expander computes them, and the trial view has
# its own table and export below: neither is in this export
not_computed = [f"effect_inactive_{d}d" for d in SENSITIVITY_INACTIVE_DAYS] + list(TRIAL_COLUMNS)
components.table_download(table.drop(not_computed), "social proof effects table", key="effects_csv")

with st.expander(
    "Does it depend on the churn definition? (computed when opened)",
    key="impact_sensitivity",
    on_change="rerun",
    icon=":material/tune:",
) as sensitivity_box:
    if sensitivity_box.open:
        with st.spinner("Estimating every item again with churn after 14 and 60 quiet days…"):
            checked = data.compute("estimate_effects_sensitivity", estimate_effects,
                                   view.as_of_day, view.segments,
                                   settings=replace(settings, trials=False),
                                   sensitivity=True)  # fmt: skip
        again = checked.table()
        components.table(
            again.select(
                pl.col("title").alias("item"),
                (pl.col("effect") * 100)
                .round(1)
                .alias(f"effect (pts), churn = {view.inactive_days} quiet days"),
                (pl.col("effect_inactive_14d") * 100).round(1).alias("if churn = 14 quiet days"),
                (pl.col("effect_inactive_60d") * 100).round(1).alias("if churn = 60 quiet days"),
            ),
        )
        st.caption(
            "The same estimate with churn defined by 14 and by 60 quiet days. When the sign or "
            "size changes much, the result depends on how churn is defined."
        )
        components.table_download(again, "social proof effects with sensitivity", key="sens_csv")

st.subheader("All items of a kind together")
kinds = result.table(kinds=True)
components.table(
    kinds.select(
        pl.col("title").alias("items"),
        pl.col("verdict").replace_strict(charts.verdict_labels(settings)).alias("verdict"),
        pl.col("sentence").alias("what it means"),
        pl.col("n_exposed").alias("exposed"),
        (pl.col("effect") * 100).round(1).alias("effect (pts)"),
        pl.col("q_value").alias("q"),
    ),
)
components.table_download(kinds, "social proof effects by kind", key="kinds_csv")

st.subheader("Exposure on any active day (sequential trials)")
st.caption(
    "A second estimate beside the landmark one: for every day, members whose first visit of "
    "the day came with the item (their first exposure at or before their first activity that "
    "day) are compared with members active that day who had not been exposed by their first "
    "activity, weighted to resemble them in their history up to that day (activity, active "
    "days, tenure, other proof seen, join time, attributes) and in the calendar (two-week "
    f"periods). The outcome is still being a member {horizon} days after the day, counted only "
    "where churn is known. Members take part in many daily trials, so its 95 % interval is "
    "computed per member (cluster-robust). It covers items met late in membership; where it "
    "disagrees with the landmark estimate, the last column says how."
)
with (
    st.spinner("Comparing members newly exposed on each day with members not exposed…"),
    components.ProgressBar() as bar,
):
    trialled = data.compute(
        "estimate_trials", with_trials, view.as_of_day, view.segments, settings=settings,
        inputs={"landmark": result}, progress=bar,
    )  # fmt: skip
table = trialled.table()
trial_shown = table.filter(pl.col("effect").is_not_null() | pl.col("trial_effect").is_not_null())
components.table(
    trial_shown.select(
        pl.col("title").alias("item"),
        (pl.col("effect") * 100).round(1).alias(f"first {landmark} days: effect (pts)"),
        pl.format(
            "{} to {}", (pl.col("ci_low") * 100).round(1), (pl.col("ci_high") * 100).round(1)
        ).alias("95 % CI (pts)"),
        (pl.col("trial_effect") * 100).round(1).alias("any active day: effect (pts)"),
        pl.format(
            "{} to {}",
            (pl.col("trial_ci_low") * 100).round(1),
            (pl.col("trial_ci_high") * 100).round(1),
        ).alias("trial 95 % CI (pts)"),
        pl.col("trial_n_exposed").alias("member-days newly exposed"),
        pl.col("views").alias("the two views"),
    ),
)
components.table_download(trial_shown, "landmark and trial effects", key="trial_csv")

st.subheader("Exposure at any time (Cox view)")
st.caption(
    "Items can also be seen or earned later in membership. This view compares, on every day "
    "someone churned, members who had already been exposed (at least a day before) with those "
    "who had not: a Cox model with time since joining as the clock, adjusted for join time and "
    "the attributes fixed at signup. A hazard ratio below 1 goes with members staying longer. "
    "It cannot adjust for engagement measured along the way, so it leans towards items that "
    "engaged members see: read it as a check on the main estimate, not as an effect on its own."
)
with st.expander(
    "Fit the any-time model (computed when opened)",
    key="impact_cox",
    on_change="rerun",
    icon=":material/timeline:",
) as cox_box:
    if cox_box.open:
        with st.spinner("Fitting the any-time model…"):
            cox = data.compute("time_varying_effects", time_varying_effects, view.as_of_day,
                               view.segments, settings=settings)  # fmt: skip
        titles = dict(zip(table["item_id"], table["title"], strict=True))
        cox_table = (
            cox.frame()
            .filter(pl.col("name").is_in(list(titles)))
            .with_columns(pl.col("name").replace_strict(titles).alias("item"))
        )
        components.table(
            cox_table.select(
                "item",
                pl.col("hazard_ratio").round(2).alias("hazard ratio of churn"),
                pl.format("{} to {}", pl.col("ci_low").round(2), pl.col("ci_high").round(2)).alias(
                    "95 % CI"
                ),
                pl.col("p_value").alias("p"),
                pl.when(pl.col("estimable"))
                .then(pl.lit(""))
                .otherwise(pl.col("reason"))
                .alias("not estimable because"),
            ),
        )
        components.table_download(cox_table, "any-time exposure hazard ratios", key="cox_csv")

st.subheader("Behind one estimate")
labels = {r["item_id"]: f"{r['title']} ({r['kind']})" for r in table.iter_rows(named=True)}
labels |= {r["item_id"]: f"All: {r['title']}" for r in kinds.iter_rows(named=True)}
state.seed(state.ITEM, state.url_choice(state.ITEM, list(labels), next(iter(labels))))
item_id = st.selectbox("Item", options=list(labels), format_func=labels.__getitem__, key=state.ITEM)
state.keep(state.ITEM, item_id)
components.sync_url({state.ITEM: item_id})
detail = data.compute("item_detail", item_detail, view.as_of_day, view.segments,
                      item_id=item_id, settings=settings)  # fmt: skip
# A viewer does not see the comparison of an item with fewer than k exposed or compared
# members: its curves and balance describe those few members (the timing bars hide their own
# small days, see dashboard/privacy_view.py).
k = auth.min_cell_members()
counts = [
    r.get(c)
    for r in (*table.iter_rows(named=True), *kinds.iter_rows(named=True))
    if r["item_id"] == item_id
    for c in ("n_exposed", "n_control")
]
few = auth.is_viewer() and any(privacy.is_small(n, k=k) for n in counts)
if few:
    st.info(
        f"This item's comparison rests on {privacy.small_cell_text(k)} exposed or compared "
        "members: its curves and balance are hidden for your role.",
        icon=":material/visibility_off:",
    )
elif detail.curves.is_empty():
    st.info(f"No comparison for this item: {escape(detail.reason)}.")
else:
    components.chart(
        catalog.item_survival(chart_view, detail, settings, labels[item_id]),
        "Blue: members exposed in the window. Orange: the unexposed, weighted to resemble them "
        "in early activity, join time and attributes. Dotted: all unexposed as they are — the "
        "gap between dotted and orange is what comparing like with like removes.",
        key="dcurves",
    )
if detail.balance is not None and not few:
    components.chart(
        catalog.item_balance(chart_view, detail, settings, labels[item_id]),
        "Each covariate's difference between exposed and unexposed members, in standard "
        "deviations, before and after weighting. After weighting all should lie within ±0.1.",
        key="dbal",
    )
components.chart(
    catalog.item_timing(chart_view, detail, settings, labels[item_id]),
    "When members first saw or earned it. Only exposure before the landmark (blue) counts as "
    "exposure here; an item mostly seen later cannot be judged by this comparison.",
    key="dtime",
)

with st.expander("How to read this"):
    st.markdown(
        f"""
**The question.** Among {escape(result.estimand.split(" (")[0])} who could have seen an item by
then: are those who saw (or earned) it in those {landmark} days more likely to still
be members {horizon} days later than *comparable* members who did not?

**Why not simply compare badge holders with everyone else?** Two traps. Members who stay longer
have more time to see an item or earn a badge, so "holders retain better" is true of every badge
— even one for simply being around a year (survivorship or immortal-time bias). And engaged
members both see more and stay longer (confounding). The open circles show that naive number.

**What is done instead.** Exposure is fixed at day {landmark} and retention measured after it.
Exposed and unexposed members are made comparable on what was known by day {landmark} —
activity by kind, active days, days since last activity, join time and the attributes chosen as
fixed at signup — by a propensity model, with an outcome model on top (doubly robust).
Intervals are 95 %. A verdict corrects for testing many items at once, in one of two ways (the
sidebar's choice): *per item* (Holm-adjusted p-values, the default) — each flagged item alone has
at most a 1-in-20 chance of being a false alarm; *across items* (Benjamini–Hochberg q-values) —
fewer than 1 in 20 of the flagged items are false alarms, which suits screening many items but
is no promise about any one of them. The table shows the value the verdict used.

**When there is no number.** If exposure is (almost) decided by early activity (a badge for a
first post) or happens only later (a badge for a year of membership), no comparable members
exist and the item is *not identifiable*. Fewer than {settings.min_group_size} exposed or
comparable members also give no number.

**Limits.** This is an estimate from observational data: anything that drives both exposure and
retention but is not in the data can still bias it. The E-value says how strong such a hidden
factor would have to be (as a risk ratio with both) to explain the estimate away. The columns
check with 14 and 60 quiet days (above) shows whether the result depends on the churn
definition. A member active shortly before day {landmark} may have left, unseen, between
that last visit and day {landmark}: no data can tell. An item that kept members from leaving in
those few days counts it as part of its effect, so the estimate of an item that truly helps
leans a little high (in the simulation study, by about half a point for the strongest of them;
see docs/impact.md).
"""
    )
