"""The Data page's database connection: test a SQLAlchemy URL, use it for this session.

A typed URL lives in ``st.session_state`` only: it is never written to disk, never shown back
(the field is a password field, emptied once the URL is in use) and every message masks its
password.
"""

from __future__ import annotations

import streamlit as st

from analytics.errors import DataSourceError
from analytics.io import DatabaseCheck, check_database, is_url, mask_url
from dashboard import auth, data, log_scrub, state
from dashboard.markup import escape

PLACEHOLDER = "postgresql+psycopg://user:password@host:5432/community"

SECRETS_EXAMPLE = """[proofboard]
data = "postgresql+psycopg://user:password@host:5432/community"
"""


def _show(check: DatabaseCheck) -> None:
    if not check.connected:
        st.error(escape(check.summary()), icon=":material/error:")
    elif not check.ok:
        st.warning(
            check.summary() + " The dashboard cannot load this database until they exist: "
            "upload files under **Upload files** once it is in use, or run "
            "`proofboard ingest SOURCE --to URL`.",
            icon=":material/warning:",
        )
    else:
        st.success(escape(check.summary()), icon=":material/check_circle:")


def refusal(url: str) -> str | None:
    """Why ``url`` may not be connected by this user (role, allowlist), or ``None``."""
    if not auth.allowed(auth.Role.ADMIN):
        return auth.refusal(auth.Role.ADMIN)
    try:
        auth.connect_policy().check(url)
    except DataSourceError as exc:  # ConnectRefused, or a URL that cannot be read
        return str(exc)
    return None


def _use_typed() -> None:
    """Button callback: test the typed URL; use it for this session when it connects. The role
    and the allowlist are checked here, on the server, before anything connects."""
    url = str(st.session_state.get(state.CONNECT_URL) or "").strip()
    if not url:
        st.session_state[state.CONNECT_FLASH] = ("error", "Type a database URL first.")
        return
    if not is_url(url):
        st.session_state[state.CONNECT_FLASH] = (
            "error",
            "That is not a SQLAlchemy URL. Fix: write dialect+driver://user:password@host:port/"
            "database, e.g. sqlite:///data/community.db.",
        )
        return
    log_scrub.remember(url)
    refused = refusal(url)
    if refused:
        st.session_state[state.CONNECT_FLASH] = ("error", refused)
        auth.audit("connect refused", mask_url(url))
        return
    check = check_database(url)
    if not check.connected:
        st.session_state[state.CONNECT_FLASH] = ("check", check)
        return
    data.use_for_session(url)
    auth.audit("connect", mask_url(url))
    st.session_state[state.CONNECT_URL] = ""  # never kept in the field once in use
    st.session_state[state.CONNECT_FLASH] = ("check", check)


def _reset() -> None:
    data.use_for_session(None)
    st.session_state[state.CONNECT_FLASH] = (
        "success",
        "Back to the configured source: " + data.source_label(data.configured_source()) + ".",
    )


def render() -> None:
    """The whole connection panel (admins only)."""
    auth.require_role(auth.Role.ADMIN)
    source = data.configured_source()
    st.markdown(
        f"The dashboard reads `{data.source_label(source)}`, {data.source_origin()}. Point it at "
        "a SQL database holding the contract tables (any SQLAlchemy URL; SQLite and PostgreSQL "
        "are tested). Only the kinds of database, hosts and SQLite folders your administrator "
        "allowed can be connected (`[proofboard.connect]` in .streamlit/secrets.toml; by "
        "default SQLite files inside `data/`)."
    )
    flash = st.session_state.pop(state.CONNECT_FLASH, None)
    if flash is not None:
        kind, payload = flash
        if kind == "check":
            _show(payload)
        elif kind == "error":
            st.error(escape(payload), icon=":material/error:")
        else:
            st.success(escape(payload), icon=":material/check_circle:")

    if data.session_source():
        st.info(
            "This browser session reads a database chosen here. It is not saved: a new session "
            "starts from the configured source again.",
            icon=":material/info:",
        )
        st.button(
            "Back to the configured source",
            icon=":material/undo:",
            key=state.CONNECT_RESET,
            on_click=_reset,
        )

    st.text_input(
        "Database URL",
        key=state.CONNECT_URL,
        type="password",
        placeholder=PLACEHOLDER,
        help="dialect+driver://user:password@host:port/database, e.g. "
        "sqlite:///data/community.db or postgresql+psycopg://analyst@db.example/community. "
        "The password is masked in every message.",
    )
    secret = data.secret_source()
    typed = str(st.session_state.get(state.CONNECT_URL) or "").strip()
    left, right, _ = st.columns([1, 1, 2])
    test = left.button("Test connection", icon=":material/network_check:", key=state.CONNECT_TEST)
    right.button(
        "Use for this session",
        type="primary",
        icon=":material/link:",
        key=state.CONNECT_USE,
        on_click=_use_typed,
    )
    if test:
        url = typed or (secret if secret and is_url(secret) else "")
        if not url:
            st.error("Type a database URL to test.", icon=":material/error:")
        else:
            log_scrub.remember(url)
            # the URL from secrets.toml was chosen by the administrator; a typed one is checked
            refused = refusal(url) if typed else None
            if not typed:
                st.caption(f"Testing the URL from .streamlit/secrets.toml: {escape(mask_url(url))}")
            if refused:
                st.error(escape(refused), icon=":material/block:")
            else:
                _show(check_database(url))

    st.markdown(
        "A URL typed here applies to **this browser session only** and is not written to disk. "
        "To make it permanent, put it into `.streamlit/secrets.toml` (git ignores that file; "
        "`.streamlit/secrets.toml.example` shows the shape) and reload:"
    )
    st.code(SECRETS_EXAMPLE, language="toml")
    if secret:
        st.caption(
            f"secrets.toml holds `{data.source_label(secret)}`; with an empty field, Test "
            "connection tests it."
        )
