"""Session-state and query-parameter keys, and the view state they define.

Every filter that defines what a page shows lives in the URL query string, so a copied link
reproduces the view. On a session's first run the widgets' state is seeded from the URL; after
the widgets have run, the URL is rewritten from their state.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

import streamlit as st


class Param(StrEnum):
    """Query-parameter keys, which are also the keys of the widgets they set: what defines a
    view and travels in a shared link."""

    AS_OF = "as_of"
    RANGE = "range"
    FROM = "from"
    TO = "to"
    INACTIVE_DAYS = "inactive_days"
    GRANULARITY = "granularity"
    RETENTION_PERIOD = "period"
    COHORTS = "cohorts"
    KM_BY = "km_by"
    KM_ITEM = "km_item"
    LANDMARK = "landmark"
    HORIZON = "horizon"
    FIXED = "fixed"
    ITEM = "item"
    RECENCY = "recency"
    ERROR_CONTROL = "errors"
    OUTCOME = "outcome"
    WINDOW = "window"
    MILESTONE = "milestone"
    ANONYMOUS = "anon"
    BOARD_KIND = "board_kind"
    BOARD_TOP = "top"
    RISK_HORIZON = "risk_horizon"
    WEEK = "week"
    TAB = "tab"
    PRESENT = "present"


class Session(StrEnum):
    """Session-state keys that are never in the URL (widgets and flags of one session)."""

    SEEDED = "_seeded_from_url"
    DATE_PICKER = "_date_range_picker"
    AS_OF_PICKER = "_as_of_picker"
    SUBSCRIBE_EMAIL = "_subscribe_email"
    SUBSCRIBE_WEEKDAY = "_subscribe_weekday"
    SUBSCRIBE_HOUR = "_subscribe_hour"
    SUBSCRIBE_TIMEZONE = "_subscribe_timezone"
    SUBSCRIBE_FORMAT = "_subscribe_format"
    SUBSCRIBE_ALERTS = "_subscribe_alerts"
    SUBSCRIBE_SUBMIT = "_subscribe_submit"
    SUBSCRIBE_FLASH = "_subscribe_flash"
    UNSUBSCRIBE_CHOICE = "_unsubscribe_choice"
    UNSUBSCRIBE = "_unsubscribe"
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
    UPLOAD_USE = "_upload_use"
    UPLOAD_STOP_USING = "_upload_stop_using"
    SESSION_UPLOAD = "_session_upload"
    MAPPING_DOWNLOAD = "_mapping_toml"
    # Growth page: the milestone editor
    NEW_MILESTONE_DAY = "new_ms_day"
    NEW_MILESTONE_TIME = "new_ms_time"
    NEW_MILESTONE_TITLE = "new_ms_title"
    NEW_MILESTONE_CHANNEL = "new_ms_channel"
    EDIT_MILESTONE = "edit_ms_id"
    EDIT_MILESTONE_TITLE = "edit_title"
    EDIT_MILESTONE_DAY = "edit_day"
    EDIT_MILESTONE_SAVE = "edit_ms_save"
    EDIT_MILESTONE_DELETE = "edit_ms_delete"

    RESTORE_CHOICE = "_restore_choice"
    RESTORE_CONFIRM = "_restore_confirm"
    RESTORE_GO = "_restore_go"
    HISTORY_FLASH = "_history_flash"
    FORGET_IDS = "_forget_ids"
    FORGET_CONFIRM = "_forget_confirm"
    FORGET_GO = "_forget_go"


# The names below are the members of Param and Session under their old module-level names, so
# that pages read ``state.AS_OF``; the enums above are where a key is defined.

# Query-parameter (and widget) keys.
AS_OF = Param.AS_OF
RANGE = Param.RANGE
FROM = Param.FROM
TO = Param.TO
INACTIVE_DAYS = Param.INACTIVE_DAYS
GRANULARITY = Param.GRANULARITY
SEGMENT_PREFIX = "seg_"

# Session-only keys (not in the URL).
SEEDED = Session.SEEDED
DATE_PICKER = Session.DATE_PICKER
AS_OF_PICKER = Session.AS_OF_PICKER

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
RETENTION_PERIOD = Param.RETENTION_PERIOD
COHORTS = Param.COHORTS
KM_BY = Param.KM_BY
KM_ITEM = Param.KM_ITEM
RETENTION_PERIODS: dict[str, str] = {"week": "Week (7 days)", "month": "Month (30 days)"}

# Impact page
LANDMARK = Param.LANDMARK
HORIZON = Param.HORIZON
FIXED = Param.FIXED
ITEM = Param.ITEM
RECENCY = Param.RECENCY
ERROR_CONTROL = Param.ERROR_CONTROL
ERROR_CONTROLS: dict[str, str] = {
    "per_item": "Per item (Holm): each flagged item alone has a 1-in-20 chance of a false alarm",
    "fdr": "Across items (Benjamini–Hochberg): fewer than 1 in 20 flagged items are false alarms",
}

# Growth page
OUTCOME = Param.OUTCOME
WINDOW = Param.WINDOW
MILESTONE = Param.MILESTONE
OUTCOMES: dict[str, str] = {"signups": "Signups", "active": "Active members"}

# Engagement page
ANONYMOUS = Param.ANONYMOUS
BOARD_KIND = Param.BOARD_KIND
BOARD_TOP = Param.BOARD_TOP
RISK_HORIZON = Param.RISK_HORIZON

# Weekly review page
WEEK = Param.WEEK
#: the open tab of a page with tabs (its label), bound to the URL so a shared link keeps it
TAB = Param.TAB
#: ``?present=1``: the Weekly review for a meeting screen (no sidebar, status or downloads)
PRESENT = Param.PRESENT
# the Subscribe control (session only, never in the URL)
SUBSCRIBE_EMAIL = Session.SUBSCRIBE_EMAIL
SUBSCRIBE_WEEKDAY = Session.SUBSCRIBE_WEEKDAY
SUBSCRIBE_HOUR = Session.SUBSCRIBE_HOUR
SUBSCRIBE_TIMEZONE = Session.SUBSCRIBE_TIMEZONE
SUBSCRIBE_FORMAT = Session.SUBSCRIBE_FORMAT
SUBSCRIBE_ALERTS = Session.SUBSCRIBE_ALERTS
SUBSCRIBE_SUBMIT = Session.SUBSCRIBE_SUBMIT
SUBSCRIBE_FLASH = Session.SUBSCRIBE_FLASH
# Data page: the Deliveries panel
UNSUBSCRIBE_CHOICE = Session.UNSUBSCRIBE_CHOICE
UNSUBSCRIBE = Session.UNSUBSCRIBE

# Data page: uploads and the database connection (session only, never in the URL).
SESSION_SOURCE = Session.SESSION_SOURCE
CONNECT_URL = Session.CONNECT_URL
CONNECT_TEST = Session.CONNECT_TEST
CONNECT_USE = Session.CONNECT_USE
CONNECT_RESET = Session.CONNECT_RESET
CONNECT_FLASH = Session.CONNECT_FLASH
UPLOAD_ROUND = Session.UPLOAD_ROUND
UPLOAD_FLASH = Session.UPLOAD_FLASH
UPLOAD_CONFIRM = Session.UPLOAD_CONFIRM
UPLOAD_SAVE = Session.UPLOAD_SAVE
UPLOAD_DISCARD = Session.UPLOAD_DISCARD
UPLOAD_USE = Session.UPLOAD_USE
UPLOAD_STOP_USING = Session.UPLOAD_STOP_USING
#: the files the session's upload came from, while "Use for this session" is on
SESSION_UPLOAD = Session.SESSION_UPLOAD
MAPPING_DOWNLOAD = Session.MAPPING_DOWNLOAD


def upload_key() -> str:
    """The file uploader's key: a new key empties it (after a save or a discard)."""
    return f"_upload_files_{st.session_state.get(UPLOAD_ROUND, 0)}"


def map_table_key(file_name: str) -> str:
    return f"_map_table::{st.session_state.get(UPLOAD_ROUND, 0)}::{file_name}"


def map_date_key(file_name: str, table: str) -> str:
    return f"_map_dates::{st.session_state.get(UPLOAD_ROUND, 0)}::{file_name}::{table}"


def map_column_key(file_name: str, table: str, column: str) -> str:
    return f"_map_column::{st.session_state.get(UPLOAD_ROUND, 0)}::{file_name}::{table}::{column}"


# Data page: history (snapshots, restore, audit log, forget).
RESTORE_CHOICE = Session.RESTORE_CHOICE
RESTORE_CONFIRM = Session.RESTORE_CONFIRM
RESTORE_GO = Session.RESTORE_GO
HISTORY_FLASH = Session.HISTORY_FLASH
FORGET_IDS = Session.FORGET_IDS
FORGET_CONFIRM = Session.FORGET_CONFIRM
FORGET_GO = Session.FORGET_GO

#: Who acts in this session when nobody signed in.


def current_actor() -> str:
    """Who is acting in this browser session, for the audit log: the signed-in user's subject
    once sign-in is configured; ``"local"`` for a dashboard without sign-in (everyone who can
    reach it acts as the same local user)."""
    from dashboard import auth

    return auth.current_actor()
