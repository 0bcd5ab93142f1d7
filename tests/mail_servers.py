"""Real servers for the delivery tests, on loopback: an SMTP server (aiosmtpd) that keeps what it
receives, optionally with a login, STARTTLS or SSL; and an HTTP server that plays the chat
webhooks and answers with a chosen status."""

from __future__ import annotations

import email
import json
import shutil
import socket
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received: raw bytes, envelope recipients and logins tried."""

    port: int
    raw: list[bytes] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(r, policy=policy.default)  # type: ignore[misc]
            for r in self.raw
        ]

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.raw.append(bytes(envelope.original_content or envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@contextmanager
def smtp_server(
    *,
    login: tuple[str, str] | None = None,
    security: str = "none",
    cert: tuple[Path, Path] | None = None,
) -> Iterator[Mailbox]:
    """An aiosmtpd server on a free loopback port. With ``login``, it wants that user and
    password (any other is refused with 535); ``security`` starttls or ssl needs ``cert``
    (certificate, key)."""
    port = free_port()
    box = Mailbox(port)
    kwargs: dict[str, Any] = {}

    if login is not None:

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> AuthResult:
            assert isinstance(auth_data, LoginPassword)
            user, password = auth_data.login.decode(), auth_data.password.decode()
            box.logins.append((user, password))
            return AuthResult(success=(user, password) == login, handled=False)

        kwargs.update(
            authenticator=authenticator,
            auth_required=True,
            # implicit TLS (ssl) is not seen by aiosmtpd as TLS; STARTTLS is
            auth_require_tls=security == "starttls",
        )
    if security != "none":
        assert cert is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        if security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Requiring AUTH while not requiring TLS": a test
        controller = Controller(box, hostname="127.0.0.1", port=port, **kwargs)
        controller.start()
    try:
        yield box
    finally:
        controller.stop()


def self_signed_cert(folder: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1 and its key (``openssl``), or ``None`` without openssl."""
    if shutil.which("openssl") is None:
        return None
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Hooks:
    """What the webhook server received: (path, JSON body) per request."""

    port: int
    status: int = 200
    requests: list[tuple[str, Any]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def bodies(self, path: str) -> list[Any]:
        return [body for p, body in self.requests if p == "/" + path.lstrip("/")]


@contextmanager
def webhook_server(status: int = 200) -> Iterator[Hooks]:
    """An HTTP server on a free loopback port that records every POST and answers ``status``
    (changeable while it runs: ``hooks.status = 500``)."""
    hooks = Hooks(free_port(), status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            hooks.requests.append((self.path, json.loads(body)))
            self.send_response(hooks.status)
            self.end_headers()
            self.wfile.write(b"ok" if hooks.status < 400 else b"error")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", hooks.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hooks
    finally:
        server.shutdown()
        server.server_close()
