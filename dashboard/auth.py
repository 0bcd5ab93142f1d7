"""Who is using the dashboard, and what they may do: sign-in, roles, the audit line.

Sign-in is Streamlit's own OpenID Connect (``st.login`` / ``st.user`` / ``st.logout``) with the
``[auth]`` section of ``.streamlit/secrets.toml``. OIDC has no roles: a claim of the signed-in
user (``groups`` by default) is mapped to a role by ``[proofboard.roles]``::

    [proofboard.roles]
    claim = "groups"                 # the claim holding the user's groups (a list or one text)
    default = ""                     # role of a signed-in user in none of the groups ("": none)
    [proofboard.roles.map]
    "proofboard-admins" = "admin"
    "proofboard-analysts" = "analyst"
    "stakeholders" = "viewer"

Roles, from least to most:

- **viewer**: aggregate pages; members only under keyed pseudonyms; figures about fewer than
  ``min_cell_members`` members hidden; no member-level export.
- **analyst**: everything a viewer sees with member ids, plus member-level exports and the Data
  page's current data.
- **admin**: everything, plus upload and Save, milestone edits, Connect a database.

Without an ``[auth]`` section there is no sign-in: the single local user is admin and the
sidebar says so. Every check here runs on the server (:func:`require_role` stops the script run;
:func:`ensure_role` raises before a download's bytes are made): hiding a control is never the
only guard.

This module is the one place that reads ``st.user`` and the role and privacy settings.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import streamlit as st

from analytics.errors import ProofboardError
from analytics.io.connect_policy import ConnectPolicy
from analytics.privacy import DEFAULT_MIN_CELL, MIN_KEY_BYTES, PrivacyError
from dashboard import log_scrub
from dashboard.markup import escape

#: the actor written into the audit line when nobody signed in (no [auth] section)
LOCAL_ACTOR = "local"
NO_SIGN_IN = "no sign-in configured: everyone who can reach this address is admin"
AUDIT_LOGGER = "proofboard.audit"
#: session-only key: the random pseudonym key of a session without a configured key
_SESSION_KEY = "_pseudonym_session_key"


class Role(StrEnum):
    """What a user may do; a higher role may do everything a lower one may."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        """True when this role may do what ``needed`` may."""
        return self.rank >= needed.rank


class AccessDenied(ProofboardError, PermissionError):
    """The current user's role does not allow the action."""


class RoleConfigError(ProofboardError, ValueError):
    """``[proofboard.roles]`` in secrets.toml cannot be read."""


@dataclass(frozen=True)
class RoleMapping:
    """Which claim holds the groups, which group gives which role, and the role of a signed-in
    user in none of them (``None``: no access)."""

    claim: str = "groups"
    groups: Mapping[str, Role] = field(default_factory=dict)
    default: Role | None = None

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> RoleMapping:
        """The mapping from the ``[proofboard.roles]`` section (a missing section: nobody has a
        role, so a misconfigured sign-in refuses everyone rather than admitting everyone)."""
        settings = dict(settings or {})
        claim = str(settings.get("claim") or "groups")
        groups_raw = settings.get("map") or {}
        if not isinstance(groups_raw, Mapping):
            raise RoleConfigError(
                "[proofboard.roles] map must be a table of group = role, e.g. "
                '"proofboard-admins" = "admin".'
            )
        groups = {str(g): _role(r, f"map.{g}") for g, r in groups_raw.items()}
        default_raw = settings.get("default")
        default = _role(default_raw, "default") if default_raw else None
        return cls(claim=claim, groups=groups, default=default)

    def role_for(self, claims: Mapping[str, Any]) -> Role | None:
        """The highest role any of the user's groups gives (``default`` when none does)."""
        value = claims.get(self.claim)
        if value is None:
            values: list[str] = []
        elif isinstance(value, str):
            values = [v for v in value.replace(",", " ").split() if v]
        elif isinstance(value, list | tuple | set | frozenset):
            values = [str(v) for v in value]
        else:
            values = [str(value)]
        found = [self.groups[v] for v in values if v in self.groups]
        if not found:
            return self.default
        return max(found, key=lambda r: r.rank)


def _role(value: Any, where: str) -> Role:
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise RoleConfigError(
            f"[proofboard.roles] {where} = {value!r} is not a role. Fix: use one of "
            + ", ".join(r.value for r in Role)
            + "."
        ) from None


# -- settings (the only reads of secrets.toml for sign-in and privacy) ------------------------


def _section(*path: str) -> Mapping[str, Any]:
    try:
        node: Any = st.secrets
        for name in path:
            node = node.get(name, {}) if hasattr(node, "get") else {}
        return node if isinstance(node, Mapping) else {}
    except Exception:  # no secrets.toml, or one that cannot be parsed: nothing configured
        return {}


def sign_in_configured() -> bool:
    """True when secrets.toml has an ``[auth]`` section: users must sign in."""
    return bool(_section("auth"))


def role_mapping() -> RoleMapping:
    return RoleMapping.from_settings(_section("proofboard", "roles"))


def connect_policy() -> ConnectPolicy:
    """What "Connect a database" may reach: ``[proofboard.connect]`` (default: SQLite files
    inside ``data/`` only)."""
    return ConnectPolicy.from_settings(_section("proofboard", "connect"))


def min_cell_members() -> int:
    """k: a figure about fewer members is hidden from viewers (``min_cell_members`` under
    ``[proofboard.privacy]``, default 10, never below 2)."""
    value = _section("proofboard", "privacy").get("min_cell_members", DEFAULT_MIN_CELL)
    try:
        k = int(value)
    except (TypeError, ValueError):
        k = DEFAULT_MIN_CELL
    return max(k, 2)


def pseudonym_key() -> str:
    """The key of the members' pseudonyms: ``pseudonym_key`` under ``[proofboard.privacy]``;
    else, with sign-in, one derived from ``[auth] cookie_secret`` (stable across sessions, as
    secret as the cookie secret); else a random key for this browser session only."""
    configured = _section("proofboard", "privacy").get("pseudonym_key")
    if configured:
        key = str(configured)
        if len(key.encode("utf-8")) < MIN_KEY_BYTES:
            raise PrivacyError(
                f"[proofboard.privacy] pseudonym_key is shorter than {MIN_KEY_BYTES} bytes. Fix: "
                "use a long random text (python -c 'import secrets; "
                "print(secrets.token_hex(32))')."
            )
        return key
    cookie = _section("auth").get("cookie_secret")
    if cookie:
        return hmac.new(
            str(cookie).encode("utf-8"), b"proofboard pseudonyms", hashlib.sha256
        ).hexdigest()
    if _SESSION_KEY not in st.session_state:
        st.session_state[_SESSION_KEY] = secrets.token_hex(32)
    return str(st.session_state[_SESSION_KEY])


# -- the current user -------------------------------------------------------------------------


def _claims() -> dict[str, Any]:
    try:
        return dict(st.user.to_dict())
    except Exception:
        return {}


def signed_in() -> bool:
    """True when a user signed in through OIDC (always false without an ``[auth]`` section)."""
    return sign_in_configured() and bool(_claims().get("is_logged_in"))


def current_role() -> Role | None:
    """The role of whoever runs this session: admin without sign-in; ``None`` for a visitor who
    has not signed in or whose groups give no role."""
    if not sign_in_configured():
        return Role.ADMIN
    if not signed_in():
        return None
    return role_mapping().role_for(_claims())


def current_actor() -> str:
    """Who acts, for the audit line: the OIDC subject (``sub``), or ``local`` without sign-in."""
    if not signed_in():
        return LOCAL_ACTOR
    claims = _claims()
    return str(claims.get("sub") or claims.get("email") or "unknown")


def display_name() -> str:
    claims = _claims()
    return str(claims.get("name") or claims.get("email") or claims.get("sub") or "signed in")


def allowed(role: Role) -> bool:
    """True when the current user may do what ``role`` may."""
    current = current_role()
    return current is not None and current.allows(role)


def refusal(role: Role) -> str:
    current = current_role()
    who = "You are not signed in" if current is None else f"Your role is {current.value}"
    return f"{who}: this needs the {role.value} role. Ask an admin of Proofboard for access."


def ensure_role(role: Role) -> None:
    """Raise :class:`AccessDenied` unless the current user may do what ``role`` may (for
    callbacks and download builders, where the script cannot be stopped)."""
    if not allowed(role):
        raise AccessDenied(refusal(role))


def require_role(role: Role) -> None:
    """Stop this script run with a message unless the current user may do what ``role`` may.
    Call it at the top of a page or right before an action: it runs on the server."""
    if not allowed(role):
        st.error(refusal(role), icon=":material/lock:")
        st.stop()


def is_viewer() -> bool:
    """True when what is shown must follow the viewer's privacy rules."""
    return current_role() == Role.VIEWER


# -- audit -------------------------------------------------------------------------------------


class _AuditHandler(logging.StreamHandler):
    """The audit lines' own handler on stderr (next to Streamlit's log), scrubbed."""


def _audit_logger() -> logging.Logger:
    logger = logging.getLogger(AUDIT_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # written once, by our handler, whatever the root logger does
    if not any(isinstance(h, _AuditHandler) for h in logger.handlers):
        handler = _AuditHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        handler.addFilter(log_scrub.SecretFilter())
        logger.addHandler(handler)
    return logger


def audit(action: str, detail: str) -> None:
    """Record that the current user did ``action`` (save, milestone add/edit/delete, connect,
    member-level export), as one scrubbed log line: ``detail`` never holds a password (it goes
    through :func:`dashboard.log_scrub.scrub`) and callers never put member ids into it."""
    logger = _audit_logger()
    role = current_role()
    logger.info(
        "actor=%s role=%s action=%s detail=%s",
        log_scrub.scrub(current_actor()),
        role.value if role else "none",
        log_scrub.scrub(action),
        log_scrub.scrub(detail),
    )


# -- the sidebar and the sign-in page --------------------------------------------------------


def sidebar_identity() -> None:
    """Who is signed in with which role, and Sign out; or the warning that nobody signs in."""
    if not sign_in_configured():
        st.sidebar.warning(NO_SIGN_IN.capitalize() + ".", icon=":material/lock_open:")
        return
    if not signed_in():
        return
    role = current_role()
    st.sidebar.caption(
        f"Signed in as {escape(display_name())} · role: {role.value if role else 'none'}"
    )
    st.sidebar.button(
        "Sign out", icon=":material/logout:", key="_sign_out", on_click=st.logout, width="stretch"
    )


def sign_in_page() -> None:
    """The only page for a visitor who has not signed in, or whose groups give no role."""
    st.title("Proofboard")
    if not signed_in():
        st.markdown("Sign in with your organisation's account to see the community dashboard.")
        st.button("Sign in", type="primary", icon=":material/login:", key="_sign_in",
                  on_click=st.login)  # fmt: skip
        return
    mapping = role_mapping()
    st.error(
        f"You are signed in as {escape(display_name())}, but none of your "
        f"'{escape(mapping.claim)}' gives a role in Proofboard. Ask an admin to add you to "
        "one of its groups.",
        icon=":material/lock:",
    )
    st.button("Sign out", icon=":material/logout:", key="_sign_out_norole", on_click=st.logout)
