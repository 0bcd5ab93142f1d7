"""Passwords never reach the server log.

Streamlit logs an uncaught page error with its traceback; a driver's message in it can quote a
database URL, or (for a URL with an unencoded ``@`` in its password) part of the password. A
filter on every log handler rewrites each record before it is written: every URL-looking text
is masked (:func:`analytics.io.mask_url`), and the password of every URL this process was given
(the configured source, URLs typed on the Data page) is removed wherever it appears, plain,
encoded or in pieces (:func:`analytics.io.scrub_secret`).
"""

from __future__ import annotations

import logging
import re
import threading

from analytics.io import mask_url, scrub_secret

_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")
_known: set[str] = set()
_lock = threading.Lock()


def remember(url: str | None) -> None:
    """Scrub ``url``'s password from every later log record."""
    if url and "://" in url:
        with _lock:
            _known.add(url)


def scrub(text: str) -> str:
    """``text`` without any password this process knows of, and with every URL masked."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for url in known:
        text = scrub_secret(text, url)
    return _URL.sub(lambda m: mask_url(m.group(0)), text)


class SecretFilter(logging.Filter):
    """Rewrites a record's message and traceback through :func:`scrub` (never drops one)."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg = scrub(record.getMessage())
            record.args = ()
            if record.exc_info:
                record.exc_text = self._formatter.formatException(record.exc_info)
                record.exc_info = None
            if record.exc_text:
                record.exc_text = scrub(record.exc_text)
        except Exception:  # a log record is never lost to the filter itself
            record.msg, record.args = "<log message hidden: it could not be checked>", ()
        return True


_FILTER = SecretFilter()


def install() -> None:
    """Put the filter on every handler of every logger there is now (Streamlit's own loggers
    each have a console handler). Cheap and idempotent: call it on every run of the app."""
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger)
    ]
    for logger in loggers:
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
