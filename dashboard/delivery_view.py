"""The weekly review by e-mail, on the dashboard: the Subscribe control of the Weekly review
page and the Deliveries panel of the Data page.

Both use the functions ``proofboard deliver`` uses (:mod:`dashboard.deliver`) on the SQL store
the dashboard keeps its milestones in (:func:`dashboard.data.store_url`), so a subscription made
here is served by the next ``proofboard deliver --data SOURCE`` run on the same source.

Subscribing is for analysts and admins; a subscription records who made it (the OIDC subject,
:func:`subscriber`). Unsubscribing: an admin any subscription, an analyst only the ones they
made (:func:`may_unsubscribe`, checked again on the server when the button is pressed).
"""

from __future__ import annotations

from zoneinfo import available_timezones

import polars as pl
import streamlit as st

from analytics.delivery.config import FORMATS, WEEKDAYS
from analytics.io.delivery_store import StoredSubscription
from dashboard import auth, components, data, state, subscriptions
from dashboard.markup import escape

_COMMON_ZONES = (
    "UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York",
    "America/Chicago", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney",
)  # fmt: skip


def time_zones() -> list[str]:
    """Common zones first, then every other IANA zone."""
    rest = sorted(z for z in available_timezones() if "/" in z and z not in _COMMON_ZONES)
    return [*_COMMON_ZONES, *rest]


def subscriber() -> str | None:
    """Who is subscribing: the signed-in user's OIDC subject; ``None`` without sign-in."""
    return auth.current_actor() if auth.signed_in() else None


def may_unsubscribe(subscription: StoredSubscription) -> bool:
    """Whether the current user may remove ``subscription``: an admin any (without sign-in
    everyone is admin), an analyst the ones they made themselves, nobody else."""
    if auth.allowed(auth.Role.ADMIN):
        return True
    return (
        auth.allowed(auth.Role.ANALYST)
        and auth.signed_in()
        and subscription.created_by is not None
        and subscription.created_by == auth.current_actor()
    )


def unsubscribe(url: str, subscription_id: str) -> bool:
    """Remove the subscription when the current user may (checked here, on the server, against
    the stored subscription, whatever the browser sent); says why not otherwise."""
    found = {s.subscription_id: s for s in subscriptions.dashboard_subscriptions(url)}
    chosen = found.get(subscription_id)
    if chosen is None:
        st.error("That subscription no longer exists.", icon=":material/error:")
        return False
    if not may_unsubscribe(chosen):
        st.error(
            "You can unsubscribe only the subscriptions you made; an admin can remove others.",
            icon=":material/lock:",
        )
        return False
    subscriptions.unsubscribe(url, subscription_id)
    auth.audit("unsubscribe", subscription_id)
    return True


def subscribe_control() -> None:
    """A "Subscribe" expander: e-mail, weekday, hour, time zone, PDF or HTML, alerts. Analysts
    and admins only: the e-mailed review is not made for a viewer (it holds figures about fewer
    members than a viewer may see, and goes to any address typed here)."""
    if not auth.allowed(auth.Role.ANALYST):
        st.caption(
            "E-mail subscriptions to this review are set up by analysts and admins.",
            help="The e-mailed review shows every figure, small groups included.",
        )
        return
    flash = st.session_state.pop(state.SUBSCRIBE_FLASH, None)
    with st.expander("Subscribe: get this review by e-mail every week", icon=":material/mail:",
                     expanded=flash is not None):  # fmt: skip
        if flash is not None:
            st.success(escape(flash), icon=":material/check_circle:")
        st.caption(
            "The review of each complete week is e-mailed from the weekday and hour you choose "
            "(in your time zone) once `proofboard deliver` runs on this data (from cron, a "
            "systemd timer or a Kubernetes CronJob: see the README), with the summary, key "
            "figures and charts in the e-mail and the full review attached. Alerts tell you "
            "when a proof item's verdict changes, new members or churn leave their usual range, "
            "or a milestone's estimate becomes available."
        )
        with st.form("subscribe_form", clear_on_submit=False, border=False):
            email = st.text_input(
                "E-mail", key=state.SUBSCRIBE_EMAIL, placeholder="you@example.org"
            )
            left, middle, right = st.columns(3)
            weekday = left.selectbox(
                "Weekday", WEEKDAYS, key=state.SUBSCRIBE_WEEKDAY, format_func=str.capitalize
            )
            hour = middle.selectbox(
                "Hour", list(range(24)), index=8, key=state.SUBSCRIBE_HOUR,
                format_func=lambda h: f"{h:02d}:00",
            )  # fmt: skip
            zone = right.selectbox("Time zone", time_zones(), key=state.SUBSCRIBE_TIMEZONE)
            fmt = st.radio(
                "Attach the review as", FORMATS, key=state.SUBSCRIBE_FORMAT, horizontal=True,
                format_func=lambda f: {"pdf": "PDF (A4)", "html": "HTML (interactive)"}[f],
            )  # fmt: skip
            alerts = st.checkbox("Also send alerts", value=True, key=state.SUBSCRIBE_ALERTS)
            submitted = st.form_submit_button(
                "Subscribe", icon=":material/mail:", key=state.SUBSCRIBE_SUBMIT
            )
        if submitted:
            auth.require_role(auth.Role.ANALYST)  # checked again when the form is sent
            try:
                stored = subscriptions.subscribe(
                    data.store_url(), email=email or "", weekday=weekday, hour=int(hour),
                    timezone=zone, format=fmt, alerts=alerts, created_by=subscriber(),
                )  # fmt: skip
            except ValueError as exc:
                st.error(escape(exc))
                return
            st.session_state[state.SUBSCRIBE_FLASH] = (
                f"Subscribed {stored.email}: each complete week's review goes out as "
                f"{fmt.upper()} with the first run of `proofboard deliver` from "
                f"{weekday.capitalize()} {int(hour):02d}:00 ({zone}) after the week ended. The "
                "Data page lists subscriptions and deliveries."
            )
            st.rerun()


def deliveries_panel() -> None:
    """The delivery log and the subscriptions made here (with unsubscribe)."""
    url = data.store_url()
    st.caption(
        "What `proofboard deliver` sent (or failed to send) from this data's store, newest "
        "first. Only a delivery marked *sent* counts: a failed one is tried again on the next "
        "run."
    )
    try:
        log = subscriptions.delivery_log(url)
        made_here = subscriptions.dashboard_subscriptions(url)
    except Exception as exc:  # a store that cannot be read should not break the Data page
        st.error(f"The delivery log could not be read: {escape(exc)}")
        return
    st.subheader("Delivery log")
    if log.is_empty():
        st.info("Nothing delivered yet. Run `proofboard deliver --data SOURCE --config "
                "delivery.toml` (see the README).")  # fmt: skip
    else:
        components.table(log, key="delivery_log")
        components.table_download(log, "delivery log", key="delivery_log_csv")
    st.subheader("Subscriptions made on the dashboard")
    if not made_here:
        st.caption("None yet: subscribe on the Weekly review page.")
        return
    components.table(
        pl.DataFrame(
            [
                {
                    "id": s.subscription_id,
                    "e-mail": s.email,
                    "when": f"{s.weekday.capitalize()} {s.hour:02d}:00 {s.timezone}",
                    "format": s.format,
                    "alerts": s.alerts,
                    "since": s.created_at,
                }
                for s in made_here
            ]
        ),
    )
    removable = [s for s in made_here if may_unsubscribe(s)]
    if not removable:
        st.caption(
            "You can unsubscribe the subscriptions you made on the Weekly review page; an admin "
            "can remove the others."
        )
        return
    labels = {s.subscription_id: f"{s.email} ({s.weekday}, {s.hour:02d}:00 {s.timezone}, "
              f"{s.format})" for s in removable}  # fmt: skip
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox(
        "Unsubscribe", list(labels), format_func=lambda i: labels.get(i, i),
        key=state.UNSUBSCRIBE_CHOICE,
        help=None if auth.allowed(auth.Role.ADMIN) else "Only the subscriptions you made.",
    )  # fmt: skip
    pressed = right.button("Unsubscribe", key=state.UNSUBSCRIBE, icon=":material/unsubscribe:")
    if pressed and chosen is not None and unsubscribe(url, str(chosen)):
        st.rerun()
