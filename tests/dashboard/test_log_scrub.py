"""The server log never holds a password, whatever the exception says."""

from __future__ import annotations

import io
import logging

from dashboard import log_scrub

URL = "postgresql+psycopg://ann:Top@Secret:Tail@127.0.0.1:notaport/db"


def _logged(message: str, *args: object, exc: BaseException | None = None) -> str:
    stream = io.StringIO()
    logger = logging.getLogger("proofboard.test.scrub")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    try:
        log_scrub.install()
        if exc is None:
            logger.error(message, *args)
        else:
            try:
                raise exc
            except type(exc):
                logger.exception(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_traceback_quoting_a_piece_of_a_known_password_is_scrubbed() -> None:
    log_scrub.remember(URL)
    text = _logged(
        "Uncaught app execution",
        exc=ValueError("invalid literal for int() with base 10: 'Secret:Tail@127.0.0.1:notaport'"),
    )
    assert "ValueError" in text  # the traceback is kept...
    for piece in ("Top", "Secret", "Tail"):
        assert piece not in text  # ...without the password


def test_any_url_in_a_message_is_masked() -> None:
    text = _logged("could not reach %s", "postgresql://bob:hunter22@db.example/x")
    assert "hunter22" not in text
    assert "postgresql://bob:***@db.example/x" in text


def test_streamlit_loggers_get_the_filter() -> None:
    from streamlit.logger import get_logger

    logger = get_logger("streamlit.error_util")
    log_scrub.install()
    assert all(log_scrub._FILTER in h.filters for h in logger.handlers)
