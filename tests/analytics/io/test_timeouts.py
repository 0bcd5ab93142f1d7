"""A database that accepts TCP and never answers: every path gives up with a message."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from analytics.community import check_source
from analytics.errors import DataSourceError
from analytics.io import check_database, open_source
from analytics.io import source as source_module
from analytics.io.backends import sql as sql_module
from analytics.io.source import default_connect_args, parse_url

TIMEOUT_S = 2  # the smallest connect timeout libpq and psycopg accept


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A listener on 127.0.0.1 that accepts connections and never sends a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    listener.close()


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(source_module, "CONNECT_TIMEOUT_S", TIMEOUT_S)
    monkeypatch.setattr(sql_module, "CONNECT_TIMEOUT_S", TIMEOUT_S)


def test_every_postgres_engine_gets_connect_and_statement_timeouts() -> None:
    args = default_connect_args(parse_url("postgresql+psycopg://u@h/db"))
    assert args == {"connect_timeout": 10, "options": "-c statement_timeout=120000"}
    # a timeout written into the URL wins
    assert "connect_timeout" not in default_connect_args(
        parse_url("postgresql+psycopg://u@h/db?connect_timeout=30")
    )
    # SQLite: a writer waits for another one's lock as long as a statement may run
    assert default_connect_args(parse_url("sqlite:///x.db")) == {"timeout": 120.0}
    assert default_connect_args(parse_url("sqlite:///x.db?timeout=5")) == {}


@pytest.mark.usefixtures("short_timeout")
def test_test_connection_gives_up_with_a_message(silent_server: int) -> None:
    started = time.monotonic()
    check = check_database(f"postgresql+psycopg://u:pw@127.0.0.1:{silent_server}/db")
    assert time.monotonic() - started < 30
    assert not check.connected
    assert "no answer within 2 s" in check.summary()
    assert "pw" not in check.summary()


@pytest.mark.usefixtures("short_timeout")
@pytest.mark.parametrize("engine", [None, "polars-eager"])
def test_reading_gives_up_with_a_message(silent_server: int, engine: str | None) -> None:
    url = f"postgresql+psycopg://u:pw@127.0.0.1:{silent_server}/db"
    started = time.monotonic()
    with pytest.raises(DataSourceError, match="no answer within 2 s"):
        check_source(open_source(url), engine=engine)
    assert time.monotonic() - started < 30
