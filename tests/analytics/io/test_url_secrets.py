"""Database URLs with awkward passwords: parsed sensibly, and no part of a password ever shows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from analytics.errors import DataSourceError
from analytics.io import check_database, mask_url, scrub_secret
from analytics.io.source import normalise_url, parse_url

SECRET_PIECES = ("Top", "Secret", "Tail")
AWKWARD = [
    "postgresql://u:Top@Secret:Tail@127.0.0.1:55432/db",
    "postgresql+psycopg://u:Top@Secret:Tail@127.0.0.1:55432/db",
    "postgresql://u:Top:Secret:Tail@127.0.0.1:55432/db",
    "postgresql://u:Top@Secret@Tail@127.0.0.1/db?sslmode=disable",
    "postgresql://u:Top@Secret:Tail@127.0.0.1:notaport/db",
    "postgresql://u:Top@Secret:Tail@[::1:55432/db",
    "nodialect://u:Top@Secret:Tail@127.0.0.1/db",
    "postgresql://u:Top/Secret@Tail@127.0.0.1/db",
]


def _no_piece(text: str) -> None:
    for piece in SECRET_PIECES:
        assert piece not in text, text


def test_an_unencoded_at_sign_belongs_to_the_password() -> None:
    parsed = parse_url("postgresql://u:Top@Secret:Tail@127.0.0.1:55432/db")
    assert (parsed.username, parsed.password) == ("u", "Top@Secret:Tail")
    assert (parsed.host, parsed.port, parsed.database) == ("127.0.0.1", 55432, "db")


def test_urls_without_awkward_characters_are_left_as_they_are() -> None:
    for url in ("sqlite:///data/proofboard.db", "postgresql://u:p%40ss@h/db", "sqlite://"):
        assert normalise_url(url) == url


@pytest.mark.parametrize("url", AWKWARD)
def test_mask_url_never_shows_a_piece_of_the_password(url: str) -> None:
    masked = mask_url(url)
    _no_piece(masked)
    assert "u:***@" in masked


@pytest.mark.parametrize("url", AWKWARD)
def test_scrub_secret_removes_every_piece_from_a_message(url: str) -> None:
    try:
        sa.make_url(url)
        message = f"failed: {url}"
    except Exception as exc:  # what the parser itself says quotes part of the password
        message = f"{exc} in {url}"
    message += " password=Top@Secret:Tail Top%40Secret%3ATail"
    _no_piece(scrub_secret(message, url))


def test_a_port_that_is_not_a_number_is_refused_with_the_fix() -> None:
    with pytest.raises(DataSourceError) as raised:
        parse_url("postgresql://u:Top@Secret:Tail@127.0.0.1:notaport/db")
    text = str(raised.value)
    assert "port is not a number" in text
    assert "percent-encode" in text
    _no_piece(text)


@pytest.mark.parametrize("url", AWKWARD)
def test_check_database_never_raises_nor_leaks(url: str) -> None:
    check = check_database(url.replace("55432", "1"))
    assert not check.connected
    _no_piece(check.summary())
