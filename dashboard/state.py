"""Session-state and query-parameter keys, and the view state they define.

Every filter that defines what a page shows lives in the URL query string, so a copied link
reproduces the view. On a session's first run the widgets' state is seeded from the URL; after
the widgets have run, the URL is rewritten from their state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import streamlit as st

# Query-parameter (and widget) keys.
AS_OF = "as_of"
RANGE = "range"
FROM = "from"
TO = "to"
INACTIVE_DAYS = "inactive_days"
GRANULARITY = "granularity"
SEGMENT_PREFIX = "seg_"

# Session-only keys (not in the URL).
SEEDED = "_seeded_from_url"
DATE_PICKER = "_date_range_picker"
AS_OF_PICKER = "_as_of_picker"

RANGE_PRESETS: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "365d": "Last 12 months",
    "all": "All time",
    "custom": "Custom dates",
}
DEFAULT_RANGE = "90d"
GRANULARITIES: dict[str, str] = {"day": "Day", "week": "Week"}


@dataclass(frozen=True)
class ViewState:
    """What the sidebar and page controls say the user wants to see."""

    first_day: date
    last_day: date
    as_of_day: date | None
    inactive_days: int
    segments: dict[str, tuple[str, ...]] = field(default_factory=dict)


def segment_key(attribute: str) -> str:
    return f"{SEGMENT_PREFIX}{attribute}"


def _parse_date(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def url_date(key: str) -> date | None:
    """A date from the URL, or ``None`` when absent or unreadable (bad links fall back to the
    defaults instead of failing)."""
    return _parse_date(st.query_params.get(key))


def url_choice(key: str, choices: Sequence[str], default: str) -> str:
    value = st.query_params.get(key)
    return value if value is not None and value in choices else default


def url_int(key: str, default: int, *, low: int, high: int) -> int:
    try:
        value = int(st.query_params.get(key, default))
    except ValueError:
        return default
    return value if low <= value <= high else default


def url_list(key: str, allowed: Sequence[str]) -> list[str]:
    return [v for v in st.query_params.get_all(key) if v in allowed]


def _kept(key: str) -> str:
    return f"_kept_{key}"


def seed(key: str, value: Any) -> None:
    """Set a widget's state before it is drawn: the value the user chose earlier in this session
    (kept across pages, whose switch drops widget state), else ``value`` (from the URL)."""
    if key in st.session_state:
        # Re-assigning marks the value as set by the app, so a widget of the same key on
        # another page takes it over instead of starting from its default (Streamlit's advice
        # for multipage apps).
        st.session_state[key] = st.session_state[key]
    else:
        st.session_state[key] = st.session_state.get(_kept(key), value)


def drop_invalid(key: str, valid: Callable[[Any], bool]) -> None:
    """Forget a widget's remembered value when it no longer fits the data (another source was
    loaded: a date past its end, a segment value it does not have), so that the widget falls
    back to its default instead of failing."""
    for name in (key, _kept(key)):
        if name in st.session_state and not valid(st.session_state[name]):
            del st.session_state[name]


def keep(key: str, value: Any) -> Any:
    """Remember a widget's value for this session beyond the current page; returns it."""
    st.session_state[_kept(key)] = value
    return value


def forget_unless(key: str, allowed: Sequence[str]) -> None:
    """Drop a widget's state (and its kept copy) when its value is no longer an option, e.g. a
    week chosen under another as-of time."""
    for name in (key, _kept(key)):
        if name in st.session_state and st.session_state[name] not in allowed:
            del st.session_state[name]


def preset_days(preset: str) -> int | None:
    return {"7d": 7, "30d": 30, "90d": 90, "365d": 365}.get(preset)


def preset_range(preset: str, *, first: date, last: date) -> tuple[date, date]:
    days = preset_days(preset)
    if days is None:
        return first, last
    return max(first, last - timedelta(days=days - 1)), last


# Retention page
RETENTION_PERIOD = "period"
COHORTS = "cohorts"
KM_BY = "km_by"
KM_ITEM = "km_item"
RETENTION_PERIODS: dict[str, str] = {"week": "Week (7 days)", "month": "Month (30 days)"}

# Impact page
LANDMARK = "landmark"
HORIZON = "horizon"
FIXED = "fixed"
ITEM = "item"
RECENCY = "recency"
ERROR_CONTROL = "errors"
ERROR_CONTROLS: dict[str, str] = {
    "per_item": "Per item (Holm): each flagged item alone has a 1-in-20 chance of a false alarm",
    "fdr": "Across items (Benjamini–Hochberg): fewer than 1 in 20 flagged items are false alarms",
}

# Growth page
OUTCOME = "outcome"
WINDOW = "window"
MILESTONE = "milestone"
OUTCOMES: dict[str, str] = {"signups": "Signups", "active": "Active members"}

# Engagement page
ANONYMOUS = "anon"
BOARD_KIND = "board_kind"
BOARD_TOP = "top"
RISK_HORIZON = "risk_horizon"
PSEUDONYM_SALT = "_pseudonym_salt"  # session only: pseudonyms are stable within a session

# Weekly review page
WEEK = "week"
#: the open tab of a page with tabs (its label), bound to the URL so a shared link keeps it
TAB = "tab"
#: ``?present=1``: the Weekly review for a meeting screen (no sidebar, status or downloads)
PRESENT = "present"
# the Subscribe control (session only, never in the URL)
SUBSCRIBE_EMAIL = "_subscribe_email"
SUBSCRIBE_WEEKDAY = "_subscribe_weekday"
SUBSCRIBE_HOUR = "_subscribe_hour"
SUBSCRIBE_TIMEZONE = "_subscribe_timezone"
SUBSCRIBE_FORMAT = "_subscribe_format"
SUBSCRIBE_ALERTS = "_subscribe_alerts"
SUBSCRIBE_SUBMIT = "_subscribe_submit"
SUBSCRIBE_FLASH = "_subscribe_flash"
# Data page: the Deliveries panel
UNSUBSCRIBE_CHOICE = "_unsubscribe_choice"
UNSUBSCRIBE = "_unsubscribe"

# Data page: uploads and the database connection (session only, never in the URL).
SESSION_SOURCE = "_session_source"
CONNECT_URL = "_connect_url"
CONNECT_TEST = "_connect_test"
CONNECT_USE = "_connect_use"
CONNECT_RESET = "_connect_reset"
CONNECT_FLASH = "_connect_flash"
UPLOAD_ROUND = "_upload_round"
UPLOAD_FLASH = "_upload_flash"
UPLOAD_CONFIRM = "_upload_confirm"
UPLOAD_SAVE = "_upload_save"
UPLOAD_DISCARD = "_upload_discard"
MAPPING_DOWNLOAD = "_mapping_toml"


def upload_key() -> str:
    """The file uploader's key: a new key empties it (after a save or a discard)."""
    return f"_upload_files_{st.session_state.get(UPLOAD_ROUND, 0)}"


def map_table_key(file_name: str) -> str:
    return f"_map_table::{st.session_state.get(UPLOAD_ROUND, 0)}::{file_name}"


def map_column_key(file_name: str, table: str, column: str) -> str:
    return f"_map_column::{st.session_state.get(UPLOAD_ROUND, 0)}::{file_name}::{table}::{column}"
