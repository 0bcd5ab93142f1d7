"""Engagement: who is active, who leads, who is about to leave and why."""

import polars as pl
import streamlit as st

from analytics import privacy
from analytics.activity_windows import STICKINESS_LABEL, stickiness_definition
from analytics.engagement import (
    MAX_ACTIVATION_DAYS,
    active_members,
    activity_by_kind,
    badge_holders,
    badge_summary,
    concentration,
    leaderboard,
    rising_members,
    time_to_first_activity,
)
from analytics.privacy import PrivacyError
from analytics.risk import GROUP_HELP, RiskSettings, at_risk_export, churn_risk, risk_definition
from dashboard import auth, catalog, components, data, exports, state
from dashboard.engagement_view import MemberView
from dashboard.markup import escape

st.title("Engagement")
community, view = components.page_community()
components.require_members(community)

first, last = view.first_day, view.last_day
subtitle = components.filters_caption(community, view, f"{first} to {last}")
st.caption(escape(subtitle))
chart_view = components.chart_view(community, view)

member_ids_allowed = auth.allowed(auth.Role.ANALYST)
if member_ids_allowed:
    state.seed(state.ANONYMOUS, st.query_params.get(state.ANONYMOUS) == "1")
    anonymous = st.toggle(
        "Hide member names and ids (pseudonyms)",
        key=state.ANONYMOUS,
        help="For screens shown to a wider audience: every table and export on this page shows "
        "members as 'Member' and a code instead of their id and name. A member keeps the same "
        "code on every page and in every session, and the code says nothing about who it is.",
    )
    state.keep(state.ANONYMOUS, anonymous)
    components.sync_url({state.ANONYMOUS: "1" if anonymous else None})
else:  # a viewer sees members under pseudonyms only, whatever the URL says
    anonymous = True
    st.caption(
        "Members are shown under pseudonyms ('Member' and a code that stays the same for a "
        "member); figures about fewer than "
        f"{auth.min_cell_members()} members are hidden.",
    )
try:
    key = auth.pseudonym_key()
    names = data.pseudonyms(view.as_of_day, view.segments, key) if anonymous else None
    members_view = MemberView.build(community, anonymous=anonymous, key=key, names=names)
except PrivacyError as exc:  # a pseudonym key too short to protect anyone
    st.error(escape(exc), icon=":material/error:")
    st.stop()

activity_tab, boards_tab, risk_tab = st.tabs(
    ["Activity", "Leaderboards", "Churn risk"], key=state.TAB, bind="query-params"
)


def show_activity() -> None:
    """Daily, weekly and monthly active members, activity by kind and concentration, and new
    members' first activity."""
    daily = data.compute(
        "active_members", active_members, view.as_of_day, view.segments, first=first, last=last
    )
    if int(daily["mau"].max() or 0) == 0:
        st.info(
            f"No member was active between {first} and {last}. Choose a longer or earlier date "
            "range in the sidebar."
        )
    else:
        end = daily.filter(pl.col("complete")).tail(1)
        end = end if end.height else daily.tail(1)
        row = end.row(0, named=True)
        tiles = st.columns(4)
        for tile, column, label, window in (
            (tiles[0], "dau", "Daily active", f"on {row['day']} (UTC)"),
            (tiles[1], "wau", "Weekly active", f"in the 7 days ending {row['day']}"),
            (tiles[2], "mau", "Monthly active", f"in the 30 days ending {row['day']}"),
        ):
            tile.metric(
                label, f"{row[column]:,}", border=True, help=f"Members with any activity {window}."
            )
        stick = row["stickiness"]
        tiles[3].metric(
            STICKINESS_LABEL,
            "—" if stick is None else f"{stick:.1%}",
            border=True,
            help=stickiness_definition(),
        )
        st.caption(f"On {row['day']}, the last complete day of the period.")
        components.chart(
            catalog.active(chart_view, daily),
            "Members with at least one activity row on each day, in the 7 days and in the 30 "
            "days ending with it (a member counts once per window). Stickiness (dotted, right "
            "axis) is daily ÷ 28-day active. The last day may be cut short by the as-of time.",
            key="active",
        )

        kinds = data.compute(
            "activity_by_kind",
            activity_by_kind,
            view.as_of_day,
            view.segments,
            first=first,
            last=last,
            every="1w",
        )
        components.chart(
            catalog.kinds(chart_view, kinds),
            "Activity rows per week and kind. The first and last weeks may be only partly inside "
            "the period.",
            key="kinds",
        )

        conc = data.compute(
            "concentration", concentration, view.as_of_day, view.segments, first=first, last=last
        )
        if conc.top_1 is not None and conc.top_10 is not None:
            st.subheader("Who does the work")
            left, right = st.columns(2)
            # a viewer does not see the share of a top group of fewer than k members
            k = auth.min_cell_members() if auth.is_viewer() else None

            def top_share(share: float, value: float) -> tuple[str, str]:
                members, top = conc.top_members(share), f"{share * 100:.0f} %"
                said = f"{members:,} member{'' if members == 1 else 's'}"
                if k is not None and members < k:
                    return "hidden", (
                        f"The most active {top} are {privacy.small_cell_text(k)} members: "
                        "their share is hidden for your role."
                    )
                return f"{value:.0%}", (
                    f"Of {conc.activity_rows:,} activity rows by {conc.active_members:,} active "
                    f"members, the share from the most active {top} of them ({said})."
                )

            for tile, share, value in ((left, 0.01, conc.top_1), (right, 0.10, conc.top_10)):
                shown, why = top_share(share, value)
                tile.metric(
                    f"Activity from the top {share * 100:.0f} %", shown, border=True, help=why
                )
            components.chart(
                catalog.lorenz(chart_view, conc),
                "Members active in the period sorted from least to most active: the curve shows "
                "the share of all activity the least active x % of them account for. The further "
                "it sags below the diagonal, the more a few members carry the community (Gini "
                + (
                    "hidden: fewer active members than your role may see figures about"
                    if k is not None and conc.active_members < k
                    else f"{conc.gini:.2f}"
                )
                + "; 0 = everyone equally active, 1 = one member does everything).",
                key="lorenz",
            )

        activation = data.compute(
            "time_to_first_activity",
            time_to_first_activity,
            view.as_of_day,
            view.segments,
            first=first,
            last=last,
        )
        st.subheader("New members' first activity")
        if activation.joined == 0:
            st.info(f"Nobody joined between {first} and {last}.")
        else:
            median = activation.median_days
            never = activation.never_share
            st.markdown(
                f"Of **{activation.joined:,}** members who joined in the period, "
                f"**{activation.activated:,}** have been active so far"
                + (f"; half of them within **{median:.1f} days** of joining" if median else "")
                + (
                    f". {never:.0%} of those who joined at least {MAX_ACTIVATION_DAYS} days ago "
                    f"had no activity in their first {MAX_ACTIVATION_DAYS} days."
                    if never is not None
                    else "."
                )
            )
            components.chart(
                catalog.activation(chart_view, activation),
                "The share of new members with a first activity within each number of days of "
                "joining. Day d counts only members who joined at least d days before the as-of "
                "time, so recent members are not counted as inactive before they had the chance.",
                key="activation",
            )


def show_boards() -> None:
    """Top contributors, rising members and badge holders, with exports for a newsletter."""
    kinds_available = community.activity_kinds()
    kind_options = {"all": "All activity", **{k: k.replace("_", " ") for k in kinds_available}}
    left, right = st.columns([2, 1])
    with left:
        state.seed(state.BOARD_KIND, state.url_choice(state.BOARD_KIND, list(kind_options), "all"))
        board_kind = st.selectbox(
            "Count",
            options=list(kind_options),
            format_func=kind_options.__getitem__,
            key=state.BOARD_KIND,
        )
        state.keep(state.BOARD_KIND, board_kind)
    with right:
        state.seed(state.BOARD_TOP, state.url_int(state.BOARD_TOP, 20, low=3, high=200))
        top = int(
            st.number_input("Members per list", min_value=3, max_value=200, key=state.BOARD_TOP)
        )
        state.keep(state.BOARD_TOP, top)
    components.sync_url(
        {
            state.BOARD_KIND: None if board_kind == "all" else board_kind,
            state.BOARD_TOP: None if top == 20 else str(top),
        }
    )
    kind = None if board_kind == "all" else board_kind
    what = kind_options[board_kind].lower()
    length = (last - first).days + 1

    def offer(frame: pl.DataFrame, title: str, key: str) -> None:
        """The table and its exports: CSV and Markdown for a newsletter."""
        components.table(frame, key=f"{key}_table")
        components.table_download(frame, title, key=f"{key}_csv", markdown=True, member_level=True)
        if not member_ids_allowed:
            return
        if frame.height > exports.PASTE_ROWS:
            # tens of thousands of highlighted lines take the browser many seconds to draw
            st.caption(
                f"The Markdown of these {frame.height:,} rows is in the download above (too long "
                f"to paste from the page: at most {exports.PASTE_ROWS} rows are shown for pasting)."
            )
            return
        with st.expander("Markdown to paste into a newsletter"):
            st.code(exports.frame_markdown(frame), language="markdown")

    st.subheader("Top contributors")
    board = data.compute(
        "leaderboard",
        leaderboard,
        view.as_of_day,
        view.segments,
        first=first,
        last=last,
        kind=kind,
        top=top,
    )
    if board.is_empty():
        st.info(f"No {escape(what)} between {first} and {last}. Choose another kind or date range.")
    else:
        st.caption(f"Most {escape(what)} rows between {first} and {last}; ties share a rank.")
        offer(members_view.show(board), f"top contributors {first} to {last}", "top")

    st.subheader("Rising members")
    rising = data.compute(
        "rising_members",
        rising_members,
        view.as_of_day,
        view.segments,
        first=first,
        last=last,
        kind=kind,
        top=top,
    )
    if rising.is_empty():
        st.info(
            f"Nobody had more {what} rows in {first} to {last} than in the {length} days before."
        )
    else:
        st.caption(
            f"Largest increase in {what} rows against the {length} days just before the period "
            "(members new to the community count from zero)."
        )
        offer(members_view.show(rising), f"rising members {first} to {last}", "rising")

    st.subheader("Badge holders")
    holders = data.compute(
        "badge_holders", badge_holders, view.as_of_day, view.segments, first=first, last=last
    )
    all_holders = data.compute("badge_holders_all", badge_holders, view.as_of_day, view.segments)
    if community.proof_items is None or all_holders.is_empty():
        st.info(
            "No badges in the data: badges are proof items of kind 'badge' in proof_items, "
            "earned through rows in exposures."
        )
    else:
        summary = badge_summary(all_holders)
        st.caption("Members holding each badge (first time earned), up to the as-of time.")
        components.table(summary, key="badge_summary_table")
        components.table_download(summary, "badge holders per badge", key="badge_summary_csv")
        if holders.is_empty():
            st.info(f"No badge was earned between {first} and {last}.")
        else:
            st.caption(f"Badges earned between {first} and {last}, per badge.")
            offer(members_view.show(holders), f"badges earned {first} to {last}", "badges")


def show_risk() -> None:
    """The churn-risk model: how well it ranks, what it relies on, and who is at risk now."""
    state.seed(state.RISK_HORIZON, state.url_int(state.RISK_HORIZON, 30, low=7, high=180))
    horizon = int(
        st.number_input(
            "Horizon (days ahead)",
            min_value=7,
            max_value=180,
            key=state.RISK_HORIZON,
            help="The risk is of churning within this many days.",
        )
    )
    state.keep(state.RISK_HORIZON, horizon)
    components.sync_url({state.RISK_HORIZON: None if horizon == 30 else str(horizon)})
    settings = RiskSettings(horizon_days=horizon, inactive_days=view.inactive_days)
    st.markdown(f"**Churn risk, as used here:** {risk_definition(settings)}")
    training = (
        "Training the churn-risk model: features at seven cutoffs, gradient-boosted trees and "
        "a recency-only baseline, a check on a later held-out cutoff, permutation importance, "
        "then scoring today's members…"
    )
    with st.status(training, expanded=False) as status:
        try:
            result = data.compute(
                "churn_risk", churn_risk, view.as_of_day, view.segments, settings=settings,
                progress=components.status_steps(status, "Training the churn-risk model…"),
            )  # fmt: skip
        except ValueError as exc:
            status.update(label="No model", state="error")
            st.error(escape(exc))
            st.stop()
        status.update(label="Churn-risk model trained and checked", state="complete")
    evaluation = result.evaluation
    if evaluation is None:
        st.info(escape(result.reason or "No model could be trained on this data."))
    else:
        cols = st.columns(3)
        cols[0].metric(
            "ROC AUC (held out)",
            f"{evaluation.auc:.3f}",
            border=True,
            delta=f"{evaluation.auc - evaluation.baseline_auc:+.3f} vs recency only",
            help="The chance that a member who churned was ranked above one who stayed, at the "
            "held-out cutoff (0.5 = guessing). Baseline: days since last activity only.",
        )
        cols[1].metric(
            "PR AUC (held out)",
            f"{evaluation.pr_auc:.3f}",
            border=True,
            delta=f"{evaluation.pr_auc - evaluation.baseline_pr_auc:+.3f} vs recency only",
            help=f"Average precision: how pure the top of the ranking is. Guessing scores the "
            f"churn rate, {evaluation.churn_rate_eval:.1%}.",
        )
        cols[2].metric(
            "Brier score (held out)",
            f"{evaluation.brier:.3f}",
            border=True,
            delta=f"{evaluation.brier - evaluation.baseline_brier:+.3f} vs recency only",
            delta_color="inverse",
            help="Mean squared error of the predicted probabilities (lower is better).",
        )
        if evaluation.beats_baseline:
            st.success(evaluation.summary(), icon=":material/check_circle:")
        else:
            st.warning(
                evaluation.summary() + " The ranking below therefore uses days since last "
                "activity only; the model's extra features are not shown as useful.",
                icon=":material/warning:",
            )
        components.chart(
            catalog.risk_calibration(chart_view, result),
            "Members at the held-out cutoff in ten equal groups by predicted risk: the mean "
            "prediction against the share who actually churned. On the diagonal, a risk of 30 % "
            "means that 3 in 10 such members churn.",
            key="calibration",
        )
        if evaluation.beats_baseline:
            components.chart(
                catalog.risk_importance(chart_view, result),
                "How much the held-out ROC AUC falls when one group of features is shuffled "
                "across members (breaking its link with churn), averaged over "
                f"{settings.repeats} shuffles; the bars span 95 % of them. Near zero: the model "
                "does not need that group (it may still matter through a related group).",
                key="importance",
            )

        st.subheader("Members at risk now")
        ranked = result.at_risk
        if ranked.is_empty():
            st.info("No member is still active at the as-of time.")
        else:
            shown = members_view.show(at_risk_export(result, top=200)).select(
                pl.exclude("baseline_risk")
            )
            st.caption(
                f"The {min(200, ranked.height):,} of {ranked.height:,} current members most at "
                f"risk of churning within {horizon} days"
                + (
                    ", with their top risk factors: the feature groups whose values, replaced by "
                    "the typical active member's, would lower their predicted risk most."
                    if result.ranked_by == "model"
                    else ", ranked by days since last activity."
                )
                + (
                    " Turn off pseudonyms for an outreach list with member ids."
                    if anonymous and member_ids_allowed
                    else ""
                )
            )
            components.table(
                shown,
                key="at_risk_table",
                column_config={
                    "risk": st.column_config.ProgressColumn(
                        "risk", format="percent", min_value=0.0, max_value=1.0
                    )
                },
            )
            components.table_download(
                members_view.show(at_risk_export(result)).select(pl.exclude("baseline_risk")),
                f"members at risk within {horizon} days",
                key="at_risk_csv",
                member_level=True,
            )
    with st.expander("How the churn-risk model works", icon=":material/info:"):
        st.markdown(
            "- **Only what was known at the time.** Each member's features at a cutoff come "
            "from activity, exposures and departures up to that cutoff; the code refuses rows "
            "from after it. `last_seen_at` is never used as a feature.\n"
            "- **Checked on the future.** The model learns from cutoffs whose outcomes were "
            f"known {horizon} + {view.inactive_days} days before a later, held-out cutoff, and "
            "is scored on that later cutoff, against a model that only knows the days since "
            "the last activity. It counts as useful only when the 95 % bootstrap interval of "
            "the difference in ROC AUC lies above zero.\n"
            "- **Feature groups:** "
            + "; ".join(f"*{g}*: {h}" for g, h in GROUP_HELP.items())
            + ".\n- **Today's risk** comes from the same model refitted on the latest cutoffs "
            "whose outcomes are known now.\n"
            "- **Risk factors** compare a member with the typical (median) active member: a "
            "factor is named when putting the typical value in its place lowers the member's "
            "predicted risk by at least one percentage point."
        )


# Only the open tab computes: tabs bound to the URL know which one is open, and a hidden
# tab's analyses (the churn-risk model above all) wait until it is opened.
for tab, show in ((activity_tab, show_activity), (boards_tab, show_boards), (risk_tab, show_risk)):
    if tab.open:
        with tab:
            show()
