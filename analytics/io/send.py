"""Sending what was built elsewhere: e-mail over SMTP and JSON to chat webhooks.

Secrets (the SMTP user and password, a webhook's URL) are used here and nowhere else, and never
appear in an error message: messages name the server (host and port) or the webhook, not the
credentials or the URL.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import tomllib
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from analytics.errors import ProofboardError

SECURITY_MODES = ("starttls", "ssl", "none")
ENV_SMTP_USER = "PROOFBOARD_SMTP_USER"
ENV_SMTP_PASSWORD = "PROOFBOARD_SMTP_PASSWORD"
SECRETS_FILE = Path(".streamlit") / "secrets.toml"
WEBHOOK_TIMEOUT_S = 30


class SendError(ProofboardError):
    """Something could not be sent. ``permanent`` errors (credentials refused, a recipient
    refused, a 4xx webhook answer) are not worth retrying."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SmtpServer:
    """Where e-mail goes (no credentials: see :func:`smtp_credentials`)."""

    host: str
    port: int
    sender: str
    security: str = "starttls"
    timeout_s: float = 30.0
    #: A CA bundle to trust besides the system's (a company's own certificate authority).
    ca_file: str | None = None

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"


@dataclass(frozen=True)
class Credentials:
    """An SMTP login. ``repr`` hides the password."""

    user: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(user={self.user!r}, password='***')"

    def scrub(self, text: str) -> str:
        """``text`` with the user and password replaced by ``***``."""
        for secret in (self.password, self.user):
            if secret:
                text = text.replace(secret, "***")
        return text


def smtp_credentials(
    environ: Mapping[str, str] | None = None, secrets_file: Path | None = None
) -> Credentials | None:
    """The SMTP login: ``$PROOFBOARD_SMTP_USER`` and ``$PROOFBOARD_SMTP_PASSWORD``, else ``user``
    and ``password`` of the ``[proofboard.smtp]`` table of ``.streamlit/secrets.toml``; ``None``
    when neither is set (the server takes mail without a login).

    Raises
    ------
    SendError
        When only one of user and password is set, or the secrets file is unreadable.
    """
    env = os.environ if environ is None else environ
    user, password = env.get(ENV_SMTP_USER), env.get(ENV_SMTP_PASSWORD)
    origin = f"${ENV_SMTP_USER} / ${ENV_SMTP_PASSWORD}"
    if not user and not password:
        path = SECRETS_FILE if secrets_file is None else secrets_file
        if path.is_file():
            try:
                secrets = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise SendError(
                    f"Cannot read {path}: {type(exc).__name__}. Fix: check that it is valid TOML.",
                    permanent=True,
                ) from None
            section = secrets.get("proofboard", {}).get("smtp", {})
            if isinstance(section, dict):
                user, password = section.get("user"), section.get("password")
                origin = f"user / password of [proofboard.smtp] in {path}"
    if not user and not password:
        return None
    if not user or not password:
        raise SendError(
            f"Only one of the SMTP user and password is set ({origin}). Fix: set both, or "
            "neither for a server that takes mail without a login.",
            permanent=True,
        )
    return Credentials(str(user), str(password))


def send_email(
    server: SmtpServer, message: EmailMessage, credentials: Credentials | None = None
) -> None:
    """Send ``message`` through ``server`` (STARTTLS, SSL or plain), logging in when
    ``credentials`` are given.

    Raises
    ------
    SendError
        With the server named and no secret in the message; ``permanent`` when the login or a
        recipient was refused.
    """
    try:
        context = ssl.create_default_context(cafile=server.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise SendError(
            f"Cannot read the CA bundle {server.ca_file}: {exc}. Fix: check ca_file in [smtp].",
            permanent=True,
        ) from None
    try:
        client: smtplib.SMTP
        if server.security == "ssl":
            client = smtplib.SMTP_SSL(
                server.host, server.port, timeout=server.timeout_s, context=context
            )
        else:
            client = smtplib.SMTP(server.host, server.port, timeout=server.timeout_s)
        with client:
            client.ehlo()
            if server.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if credentials is not None:
                _login(client, credentials)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise SendError(
            f"The SMTP server {server.label} refused the login ({exc.smtp_code}). Fix: check "
            "PROOFBOARD_SMTP_USER and PROOFBOARD_SMTP_PASSWORD.",
            permanent=True,
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        raise SendError(
            f"The SMTP server {server.label} does not support what was asked: "
            f"{_scrub(str(exc), credentials).rstrip('.')}. Fix: check security (starttls, ssl "
            "or none) and whether the server wants a login.",
            permanent=True,
        ) from None
    except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
        raise SendError(
            f"The SMTP server {server.label} refused the sender or a recipient: "
            f"{_scrub(str(exc), credentials)}. Fix: check from and to.",
            permanent=True,
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise SendError(
            f"Could not send through the SMTP server {server.label}: {type(exc).__name__}: "
            f"{_scrub(str(exc), credentials) or 'no answer'}."
        ) from None


def _login(client: smtplib.SMTP, credentials: Credentials) -> None:
    """Log in once, with the best mechanism the server offers (``SMTP.login`` would try the
    next one after a refusal, which some servers answer by hanging up)."""
    if not client.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError(
            "the server offers no login (AUTH) though credentials are set"
        )
    offered = client.esmtp_features["auth"].upper().split()
    client.user, client.password = credentials.user, credentials.password
    methods = (
        ("CRAM-MD5", client.auth_cram_md5),
        ("PLAIN", client.auth_plain),
        ("LOGIN", client.auth_login),
    )
    for mechanism, method in methods:
        if mechanism in offered:
            client.auth(mechanism, method)
            return
    raise smtplib.SMTPNotSupportedError(
        f"the server offers no login mechanism Proofboard knows ({' '.join(offered)})"
    )


def _scrub(text: str, credentials: Credentials | None) -> str:
    return text if credentials is None else credentials.scrub(text)


def post_json(url: str, payload: dict[str, Any], *, label: str) -> None:
    """POST ``payload`` as JSON to a webhook. ``label`` names it in errors (never the URL,
    which is a secret).

    Raises
    ------
    SendError
        ``permanent`` for a 4xx answer other than 408 and 429.
    """
    if not url.startswith(("https://", "http://")):
        raise SendError(
            f"The URL of {label} is not an http(s) address. Fix: set the variable its url_env "
            "names to the webhook's address.",
            permanent=True,
        )
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "proofboard"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        permanent = 400 <= exc.code < 500 and exc.code not in (408, 429)
        raise SendError(
            f"{label} answered HTTP {exc.code} {exc.reason}.", permanent=permanent
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SendError(
            f"Could not reach {label}: {type(reason).__name__}: "
            f"{str(reason).replace(url, '<url>')}."
        ) from None
