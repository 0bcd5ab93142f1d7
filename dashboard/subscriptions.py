"""Subscriptions made on the dashboard and the delivery log, for the Weekly review page's
Subscribe control, the Data page's Deliveries panel and ``proofboard deliver`` alike (the store
is :class:`analytics.io.delivery_store.DeliveryStore`)."""

from __future__ import annotations

import polars as pl

from analytics.delivery.config import FORMATS, WEEKDAYS, check_timezone
from analytics.errors import InputError
from analytics.io.delivery_store import LOG_SCHEMA, DeliveryStore, StoredSubscription


def check_email(address: str) -> str:
    """A plausible e-mail address, stripped, else :class:`ValueError` with the fix."""
    address = address.strip()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in address) or "," in address:
        raise InputError(
            f"{address!r} is not an e-mail address. Fix: write one address, e.g. lead@example.org."
        )
    return address


def subscribe(
    store_url: str,
    *,
    email: str,
    weekday: str,
    hour: int,
    timezone: str,
    format: str,
    alerts: bool = True,
    created_by: str | None = None,
) -> StoredSubscription:
    """Check and store a subscription made on the dashboard; ``proofboard deliver`` serves it
    from the first ``weekday`` ``hour``:00 in ``timezone`` after each week ended.

    Raises
    ------
    ValueError
        For an address, weekday, hour, time zone or format that cannot be used (the message
        says how to fix it); nothing is stored.
    """
    email = check_email(email)
    if weekday not in WEEKDAYS:
        raise InputError(f"Unknown weekday {weekday!r}. Fix: pick one of {', '.join(WEEKDAYS)}.")
    if not 0 <= hour <= 23:
        raise InputError(f"The hour must be 0 to 23, not {hour}.")
    check_timezone(timezone)
    if format not in FORMATS:
        raise InputError(f"Unknown format {format!r}. Fix: pick pdf or html.")
    store = DeliveryStore(store_url)
    try:
        return store.add_subscription(
            email=email,
            weekday=weekday,
            hour=hour,
            timezone=timezone,
            format=format,
            alerts=alerts,
            created_by=created_by,
        )
    finally:
        store.close()


def delivery_log(store_url: str, limit: int = 500) -> pl.DataFrame:
    """The latest delivery log rows of the store at ``store_url`` (newest first); empty when
    nothing was delivered there yet (nothing is created to find out)."""
    if not DeliveryStore.exists(store_url):
        return pl.DataFrame(schema=LOG_SCHEMA)
    store = DeliveryStore(store_url)
    try:
        return store.log(limit)
    finally:
        store.close()


def dashboard_subscriptions(store_url: str) -> list[StoredSubscription]:
    """The subscriptions made on the dashboard (none when the store has no delivery tables)."""
    if not DeliveryStore.exists(store_url):
        return []
    store = DeliveryStore(store_url)
    try:
        return store.subscriptions()
    finally:
        store.close()


def unsubscribe(store_url: str, subscription_id: str) -> bool:
    """Remove a subscription made on the dashboard; returns whether there was one."""
    store = DeliveryStore(store_url)
    try:
        return store.remove_subscription(subscription_id)
    finally:
        store.close()
