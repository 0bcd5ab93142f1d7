"""The delivery configuration: the binding format reads, every error names the line and key."""

from __future__ import annotations

import pytest

from analytics.delivery.config import DeliveryConfigError, parse_config

EXAMPLE = """\
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
colour = "blue"        # extra keys are allowed

[[webhook]]
name = "community-team"
kind = "slack"         # slack | teams | mattermost
url_env = "PROOFBOARD_SLACK_WEBHOOK"   # the URL is a secret: read it from this variable
"""


def _line(text: str, needle: str, occurrence: int = 1) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def test_the_issue_example_reads() -> None:
    config = parse_config(EXAMPLE)
    assert config.store_url == "sqlite:///data/proofboard.db"
    assert config.smtp is not None
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == (
        "smtp.example.org", 587, "starttls",
    )  # fmt: skip
    assert config.smtp.sender == "Proofboard <proofboard@example.org>"
    [sub] = config.subscriptions
    assert (sub.name, sub.to, sub.format, sub.weekday) == (
        "leads", ("lead@example.org",), "pdf", "monday",
    )  # fmt: skip
    assert sub.dashboard_url == "https://proofboard.example.org"
    [hook] = config.webhooks
    assert (hook.name, hook.kind, hook.url_env) == (
        "community-team", "slack", "PROOFBOARD_SLACK_WEBHOOK",
    )  # fmt: skip
    assert config.alerts.enabled
    assert config.retry.attempts == 3


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        ('kind = "slack"', 'kind = "discord"', "discord",
         "key webhook[1].kind: unknown webhook kind 'discord'"),
        ('format = "pdf"', 'format = "docx"', "docx",
         "key subscription[1].format: unknown format 'docx'"),
        ('security = "starttls"', 'security = "tls"', 'security = "tls"',
         "key smtp.security: unknown security 'tls'"),
        ('to = ["lead@example.org"]', "", "[[subscription]]",
         "key subscription[1]: subscription 'leads' has no to"),
        ('to = ["lead@example.org"]', 'to = ["lead at example"]', "lead at example",
         "is not an e-mail address"),
        ('port = 587', 'port = "587"', 'port = "587"', "key smtp.port: port must be a number"),
        ('url_env = "PROOFBOARD_SLACK_WEBHOOK"', 'url = "https://hooks.slack.com/x"',
         "hooks.slack.com", "key webhook[1].url: url is a secret"),
        ('host = "smtp.example.org"', 'host = "smtp.example.org"\npassword = "hunter2"',
         "hunter2", "key smtp.password: password is a secret"),
    ],
)  # fmt: skip
def test_errors_name_the_line_and_key(old: str, new: str, needle: str, message: str) -> None:
    text = EXAMPLE.replace(old, new)
    with pytest.raises(DeliveryConfigError) as caught:
        parse_config(text, origin="delivery.toml")
    error = str(caught.value)
    assert f"delivery.toml, line {_line(text, needle)}" in error
    assert message in error
    assert "Fix:" in error
    assert "hunter2" not in error
    assert "hooks.slack.com" not in error


def test_malformed_toml_gives_tomllibs_line() -> None:
    text = EXAMPLE.replace("port = 587", "port = 587 587")
    with pytest.raises(DeliveryConfigError, match=r"is not valid TOML: .*line 6"):
        parse_config(text)


def test_duplicate_names_and_missing_smtp() -> None:
    twice = EXAMPLE + '\n[[webhook]]\nname = "leads"\nkind = "teams"\nurl_env = "X"\n'
    line = _line(twice, 'name = "leads"', occurrence=2)
    with pytest.raises(
        DeliveryConfigError, match=rf"line {line}, key webhook\[2\]\.name: the name"
    ):
        parse_config(twice)
    no_smtp = EXAMPLE.replace("[smtp]", "[mail]")
    with pytest.raises(DeliveryConfigError, match=r"e-mail subscriptions need an \[smtp\] table"):
        parse_config(no_smtp)


def test_defaults_for_ports_and_format() -> None:
    text = EXAMPLE.replace("port = 587\n", "").replace('security = "starttls"', 'security = "ssl"')
    text = text.replace('format = "pdf"', "")
    config = parse_config(text)
    assert config.smtp is not None
    assert config.smtp.port == 465
    assert config.subscriptions[0].format == "pdf"
    assert parse_config("to = 1\n").subscriptions == ()  # top-level extra keys are allowed
