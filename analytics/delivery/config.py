"""The delivery configuration (``delivery.toml``): where the log lives, the SMTP server, the
e-mail subscriptions, the chat webhooks and the alerts.

The format is binding (extra keys are allowed and ignored)::

    [store]                # optional: where the delivery log and UI subscriptions live
    url = "sqlite:///data/proofboard.db"

    [smtp]
    host = "smtp.example.org"
    port = 587
    from = "Proofboard <proofboard@example.org>"
    security = "starttls"  # starttls | ssl | none

    [[subscription]]
    name = "leads"
    to = ["lead@example.org"]
    format = "pdf"         # pdf | html
    weekday = "monday"     # informational for the schedule
    dashboard_url = "https://proofboard.example.org"   # optional

    [[webhook]]
    name = "community-team"
    kind = "slack"         # slack | teams | mattermost
    url_env = "PROOFBOARD_SLACK_WEBHOOK"

Secrets never come from this file: SMTP credentials come from the environment or
``.streamlit/secrets.toml``, a webhook's URL from the environment variable ``url_env`` names.
Every error names the file, the line and the key, and is raised before anything is sent.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analytics.errors import InputError, ProofboardError
from analytics.io.send import SECURITY_MODES, SmtpServer

FORMATS = ("pdf", "html")
WEBHOOK_KINDS = ("slack", "teams", "mattermost")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_PORTS = {"starttls": 587, "ssl": 465, "none": 25}
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_KEYS = ("user", "username", "password", "login")


class DeliveryConfigError(ProofboardError, ValueError):
    """The delivery configuration cannot be used; the message names the line, the key and the
    fix. Nothing was sent."""


@dataclass(frozen=True)
class Subscription:
    """Who gets the weekly review by e-mail, and how.

    ``weekday``, ``hour`` and ``timezone`` say when it should arrive. For subscriptions of the
    configuration file they are informational (the schedule is cron's); subscriptions made on
    the dashboard (``origin == "dashboard"``) are sent from that moment on after the week ended.
    """

    name: str
    to: tuple[str, ...]
    format: str = "pdf"
    weekday: str | None = None
    hour: int | None = None
    timezone: str = "UTC"
    dashboard_url: str | None = None
    alerts: bool = True
    origin: str = "config"
    line: int | None = None

    @property
    def label(self) -> str:
        where = "dashboard subscription" if self.origin == "dashboard" else "subscription"
        return f"{where} {self.name!r}"


@dataclass(frozen=True)
class Webhook:
    """A chat channel's incoming webhook; its URL is read from ``$url_env``."""

    name: str
    kind: str
    url_env: str
    dashboard_url: str | None = None
    alerts: bool = True
    line: int | None = None

    @property
    def label(self) -> str:
        return f"webhook {self.name!r} ({self.kind})"


@dataclass(frozen=True)
class AlertSettings:
    """Which alerts are sent (all by default) and the range they are checked against."""

    enabled: bool = True
    verdict_change: bool = True
    kpi_range: bool = True
    milestone_estimate: bool = True
    range_weeks: int = 8


@dataclass(frozen=True)
class RetrySettings:
    """A failed send is tried ``attempts`` times in all, waiting ``backoff_seconds``, then
    twice that, and so on, in between."""

    attempts: int = 3
    backoff_seconds: float = 2.0


@dataclass(frozen=True)
class DeliveryConfig:
    """A checked delivery configuration."""

    origin: str
    store_url: str | None = None
    smtp: SmtpServer | None = None
    subscriptions: tuple[Subscription, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    alerts: AlertSettings = field(default_factory=AlertSettings)
    retry: RetrySettings = field(default_factory=RetrySettings)
    inactive_days: int = 30


# -- locating keys ----------------------------------------------------------------------------


class _Lines:
    """Finds the line of a table or key in the TOML text, for messages (tomllib gives none)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def _header(self, line: str) -> str | None:
        stripped = line.split("#", 1)[0].strip()
        match = re.match(r"^\[\[\s*([^\]]+?)\s*\]\]$|^\[\s*([^\]]+?)\s*\]$", stripped)
        if match is None:
            return None
        return match.group(1) or match.group(2)

    def table(self, name: str, index: int | None = None) -> int | None:
        """The line (1-based) of ``[name]`` or of the ``index``-th ``[[name]]``."""
        seen = -1
        for number, line in enumerate(self.lines, start=1):
            if self._header(line) == name:
                seen += 1
                if index is None or seen == index:
                    return number
        return None

    def key(self, table: str | None, key: str, index: int | None = None) -> int | None:
        """The line of ``key = ...`` inside a table (``None``: the top level); else the table's
        own line."""
        header = None if table is None else self.table(table, index)
        if table is not None and header is None:
            return None
        pattern = re.compile(rf"^\s*(\"{re.escape(key)}\"|'{re.escape(key)}'|{re.escape(key)})\s*=")
        for number in range(header or 0, len(self.lines)):
            line = self.lines[number]
            if self._header(line) is not None:
                break
            if pattern.match(line):
                return number + 1
        return header


# -- reading ----------------------------------------------------------------------------------


class _Reader:
    def __init__(self, text: str, origin: str) -> None:
        self.origin = origin
        self.lines = _Lines(text)

    def fail(
        self, table: str | None, key: str | None, index: int | None, problem: str, fix: str
    ) -> DeliveryConfigError:
        if key is None:
            line = None if table is None else self.lines.table(table, index)
        else:
            line = self.lines.key(table, key, index)
        where = f"{self.origin}, line {line}" if line else self.origin
        name = table or ""
        if index is not None:
            name += f"[{index + 1}]"
        if key:
            name = f"{name}.{key}" if name else key
        return DeliveryConfigError(f"{where}, key {name}: {problem} Fix: {fix}")

    def text(
        self, values: dict[str, Any], table: str, key: str, index: int | None, *, required: bool
    ) -> str | None:
        value = values.get(key)
        if value is None:
            if required:
                raise self.fail(
                    table, None, index, f"{key} is missing.", f"add {key} = ... to the table."
                )
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(
                table, key, index, f"{key} must be non-empty text, not {value!r}.", "quote it."
            )
        return value.strip()

    def flag(self, values: dict[str, Any], table: str, key: str, index: int | None) -> bool:
        value = values.get(key, True)
        if not isinstance(value, bool):
            raise self.fail(
                table, key, index, f"{key} must be true or false, not {value!r}.", "write true."
            )
        return value

    def no_secrets(self, values: dict[str, Any], table: str, index: int | None) -> None:
        for key in (*_SECRET_KEYS, "url", "webhook_url"):
            if key in values and not (table == "store" and key == "url"):
                raise self.fail(
                    table,
                    key,
                    index,
                    f"{key} is a secret and is never read from this file.",
                    "remove it; SMTP credentials come from PROOFBOARD_SMTP_USER and "
                    "PROOFBOARD_SMTP_PASSWORD (or .streamlit/secrets.toml), a webhook's URL "
                    "from the environment variable its url_env names.",
                )

    def dashboard_url(self, values: dict[str, Any], table: str, index: int | None) -> str | None:
        url = self.text(values, table, "dashboard_url", index, required=False)
        if url is not None and not re.match(r"^https?://[^\s/]+", url):
            raise self.fail(
                table,
                "dashboard_url",
                index,
                f"{url!r} is not an http(s) address.",
                'write the address the dashboard is reached at, e.g. "https://proofboard.example.org".',
            )
        return None if url is None else url.rstrip("/")

    def tables(self, data: dict[str, Any], name: str) -> list[dict[str, Any]]:
        value = data.get(name, [])
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(
                None, name, None, f"{name} must be tables.", f"write each as [[{name}]]."
            )
        return value

    def smtp(self, values: dict[str, Any]) -> SmtpServer:
        self.no_secrets(values, "smtp", None)
        host = self.text(values, "smtp", "host", None, required=True)
        security = values.get("security", "starttls")
        if security not in SECURITY_MODES:
            raise self.fail(
                "smtp",
                "security",
                None,
                f"unknown security {security!r}.",
                "use starttls, ssl or none.",
            )
        port = values.get("port", DEFAULT_PORTS[security])
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise self.fail(
                "smtp", "port", None, f"port must be a number from 1 to 65535, not {port!r}.",
                "write e.g. port = 587.",
            )  # fmt: skip
        sender = self.text(values, "smtp", "from", None, required=True)
        assert sender is not None
        assert host is not None
        if "@" not in parseaddr(sender)[1]:
            raise self.fail(
                "smtp",
                "from",
                None,
                f"{sender!r} is not an e-mail address.",
                'write e.g. from = "Proofboard <proofboard@example.org>".',
            )
        timeout = values.get("timeout", 30)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise self.fail(
                "smtp", "timeout", None, f"timeout must be seconds, not {timeout!r}.",
                "write e.g. timeout = 30.",
            )  # fmt: skip
        ca_file = self.text(values, "smtp", "ca_file", None, required=False)
        return SmtpServer(
            host=host,
            port=port,
            sender=sender,
            security=security,
            timeout_s=float(timeout),
            ca_file=ca_file,
        )

    def subscription(self, values: dict[str, Any], index: int) -> Subscription:
        table = "subscription"
        self.no_secrets(values, table, index)
        name = self.text(values, table, "name", index, required=True)
        to = values.get("to")
        if to is None:
            raise self.fail(
                table, None, index, f"subscription {name!r} has no to.",
                'add to = ["lead@example.org"]: who gets the review.',
            )  # fmt: skip
        if isinstance(to, str):
            to = [to]
        if not isinstance(to, list) or not to or not all(isinstance(a, str) for a in to):
            raise self.fail(
                table, "to", index, f"to must be a list of e-mail addresses, not {to!r}.",
                'write to = ["lead@example.org"].',
            )  # fmt: skip
        for address in to:
            if "@" not in parseaddr(address)[1]:
                raise self.fail(
                    table, "to", index, f"{address!r} is not an e-mail address.",
                    'write addresses like "lead@example.org".',
                )  # fmt: skip
        fmt = values.get("format", "pdf")
        if fmt not in FORMATS:
            raise self.fail(
                table, "format", index, f"unknown format {fmt!r}.",
                "use pdf (A4, static charts) or html (interactive, opens offline).",
            )  # fmt: skip
        weekday = values.get("weekday")
        if weekday is not None and (
            not isinstance(weekday, str) or weekday.lower() not in WEEKDAYS
        ):
            raise self.fail(
                table, "weekday", index, f"unknown weekday {weekday!r}.",
                "use monday, tuesday, ... or sunday.",
            )  # fmt: skip
        assert name is not None
        return Subscription(
            name=name,
            to=tuple(a.strip() for a in to),
            format=fmt,
            weekday=None if weekday is None else weekday.lower(),
            dashboard_url=self.dashboard_url(values, table, index),
            alerts=self.flag(values, table, "alerts", index),
            line=self.lines.table(table, index),
        )

    def webhook(self, values: dict[str, Any], index: int) -> Webhook:
        table = "webhook"
        self.no_secrets(values, table, index)
        name = self.text(values, table, "name", index, required=True)
        kind = values.get("kind")
        if kind not in WEBHOOK_KINDS:
            raise self.fail(
                table, "kind" if "kind" in values else None, index,
                f"unknown webhook kind {kind!r}.", "use slack, teams or mattermost.",
            )  # fmt: skip
        url_env = self.text(values, table, "url_env", index, required=True)
        assert url_env is not None
        assert name is not None
        if not _ENV_NAME.match(url_env):
            raise self.fail(
                table, "url_env", index, f"{url_env!r} is not an environment variable name.",
                'name the variable that holds the URL, e.g. url_env = "PROOFBOARD_SLACK_WEBHOOK".',
            )  # fmt: skip
        return Webhook(
            name=name,
            kind=kind,
            url_env=url_env,
            dashboard_url=self.dashboard_url(values, table, index),
            alerts=self.flag(values, table, "alerts", index),
            line=self.lines.table(table, index),
        )

    def alerts(self, values: dict[str, Any]) -> AlertSettings:
        keys = ("enabled", "verdict_change", "kpi_range", "milestone_estimate")
        flags = {k: self.flag(values, "alerts", k, None) for k in keys}
        weeks = values.get("range_weeks", 8)
        if isinstance(weeks, bool) or not isinstance(weeks, int) or weeks < 2:
            raise self.fail(
                "alerts", "range_weeks", None, f"range_weeks must be 2 or more, not {weeks!r}.",
                "write e.g. range_weeks = 8.",
            )  # fmt: skip
        return AlertSettings(**flags, range_weeks=weeks)

    def retry(self, values: dict[str, Any]) -> RetrySettings:
        attempts = values.get("attempts", 3)
        backoff = values.get("backoff_seconds", 2.0)
        if isinstance(attempts, bool) or not isinstance(attempts, int) or not 1 <= attempts <= 10:
            raise self.fail(
                "delivery", "attempts", None, f"attempts must be 1 to 10, not {attempts!r}.",
                "write e.g. attempts = 3.",
            )  # fmt: skip
        if isinstance(backoff, bool) or not isinstance(backoff, int | float) or backoff < 0:
            raise self.fail(
                "delivery", "backoff_seconds", None, f"backoff_seconds must be 0 or more, not "
                f"{backoff!r}.", "write e.g. backoff_seconds = 2.",
            )  # fmt: skip
        return RetrySettings(attempts=attempts, backoff_seconds=float(backoff))


def _section(reader: _Reader, data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise reader.fail(None, name, None, f"{name} must be a table.", f"write it as [{name}].")
    return value


def parse_config(text: str, *, origin: str = "delivery.toml") -> DeliveryConfig:
    """Read and check a delivery configuration.

    Raises
    ------
    DeliveryConfigError
        For malformed TOML (with tomllib's line and column), an unknown ``kind``, ``format`` or
        ``security``, a subscription without ``to``, a secret written into the file, duplicate
        names, or subscriptions without an ``[smtp]`` table; the message names the line and key.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DeliveryConfigError(
            f"{origin} is not valid TOML: {exc}. Fix: correct the file at that line."
        ) from None
    reader = _Reader(text, origin)
    store = _section(reader, data, "store")
    store_url = reader.text(store, "store", "url", None, required=False) if store else None
    smtp_values = _section(reader, data, "smtp")
    smtp = reader.smtp(smtp_values) if "smtp" in data else None
    subscriptions = tuple(
        reader.subscription(v, i) for i, v in enumerate(reader.tables(data, "subscription"))
    )
    webhooks = tuple(reader.webhook(v, i) for i, v in enumerate(reader.tables(data, "webhook")))
    seen: set[str] = set()
    named = [("subscription", i, s.name) for i, s in enumerate(subscriptions)]
    named += [("webhook", i, w.name) for i, w in enumerate(webhooks)]
    for kind, i, name in named:
        if name in seen:
            raise reader.fail(
                kind, "name", i, f"the name {name!r} is used twice.",
                "give every subscription and webhook its own name: the delivery log knows "
                "them by it.",
            )  # fmt: skip
        seen.add(name)
    if subscriptions and smtp is None:
        raise reader.fail(
            "subscription", None, 0, "e-mail subscriptions need an [smtp] table.",
            'add [smtp] with host, port, from and security.',
        )  # fmt: skip
    inactive = data.get("inactive_days", 30)
    if isinstance(inactive, bool) or not isinstance(inactive, int) or inactive < 1:
        raise reader.fail(
            None, "inactive_days", None, f"inactive_days must be a positive number, not "
            f"{inactive!r}.", "write e.g. inactive_days = 30.",
        )  # fmt: skip
    return DeliveryConfig(
        origin=origin,
        store_url=store_url,
        smtp=smtp,
        subscriptions=subscriptions,
        webhooks=webhooks,
        alerts=reader.alerts(_section(reader, data, "alerts")),
        retry=reader.retry(_section(reader, data, "delivery")),
        inactive_days=inactive,
    )


def check_timezone(name: str) -> str:
    """``name`` if it is an IANA time zone (``Europe/Berlin``), else :class:`ValueError`."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"{name!r} is not a time zone. Fix: pick one such as UTC or Europe/Berlin."
        ) from None
    return name
