"""``proofboard deliver`` against a real SMTP server (aiosmtpd) and a local webhook server: the
e-mail's parts, numbers and images, the chat payloads, idempotency, the failure paths, secrets.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest

from analytics.community import load_community
from analytics.delivery.schedule import due_at, last_complete_week
from analytics.io import open_source
from analytics.io.delivery_store import DeliveryStore
from analytics.vocabulary import quoted
from analytics.weekly import WeeklyReview, week_label, weekly_review
from dashboard.cli import main
from dashboard.deliver import deliver, load_config
from dashboard.subscriptions import subscribe
from tests.mail_servers import free_port, self_signed_cert, smtp_server, webhook_server

pytestmark = pytest.mark.skipif(
    shutil.which("chromium") is None, reason="charts and the PDF need Debian's chromium"
)

USER, PASSWORD = "bot-user-7", "s3cr3t-Pa55word!"
HOOK_TOKEN = "T0KEN-b7d1e9-secret-path"
SECRETS = (USER, PASSWORD, HOOK_TOKEN)


@pytest.fixture(scope="module")
def as_of(demo_folder: Path) -> datetime:
    """The demo data's as-of time, standing in for now."""
    return load_community(open_source(demo_folder)).as_of


@pytest.fixture(scope="module")
def review(demo_folder: Path, as_of: datetime) -> WeeklyReview:
    """The review computed independently of ``deliver`` (the oracle for the e-mail's figures)."""
    community = load_community(open_source(demo_folder), as_of=as_of)
    return weekly_review(community, week_label(last_complete_week(as_of)))


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROOFBOARD_SMTP_USER", USER)
    monkeypatch.setenv("PROOFBOARD_SMTP_PASSWORD", PASSWORD)
    monkeypatch.chdir(Path(__file__).parent)  # no .streamlit/secrets.toml here


def write_config(
    folder: Path,
    *,
    smtp_port: int,
    security: str = "none",
    fmt: str = "pdf",
    webhooks: tuple[str, ...] = (),
    extra: str = "",
    alerts: bool = False,
) -> Path:
    text = f"""
[store]
url = "sqlite:///{folder / "store.db"}"

[smtp]
host = "127.0.0.1"
port = {smtp_port}
from = "Proofboard <proofboard@example.org>"
security = "{security}"
timeout = 120
{extra}

[[subscription]]
name = "leads"
to = ["lead@example.org", "head@example.org"]
format = "{fmt}"
weekday = "monday"
dashboard_url = "https://proofboard.example.org"

[alerts]
enabled = {"true" if alerts else "false"}

[delivery]
attempts = 3
backoff_seconds = 0.01
"""
    for kind in webhooks:
        text += f"""
[[webhook]]
name = "{kind}-channel"
kind = "{kind}"
url_env = "HOOK_{kind.upper()}"
dashboard_url = "https://proofboard.example.org"
"""
    path = folder / "delivery.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class _Tables(HTMLParser):
    """The rows of every table in an HTML page, and every image source."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self.links: list[str] = []
        self.items: list[str] = []
        self._cell: list[str] | None = None
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.images.append(dict(attrs)["src"] or "")
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        elif tag == "li":
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "li" and self._item is not None:
            self.items.append("".join(self._item).strip())
            self._item = None
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._item is not None:
            self._item.append(data)


def _number(text: str) -> float:
    return float(text.replace(",", "").replace("%", "").strip())


def _check_figures(html_text: str, review: WeeklyReview) -> None:
    """Every key figure of the HTML body equals ``review``'s (as shown: shares to 0.1 point)."""
    parser = _Tables()
    parser.feed(html_text)
    head, *rows = parser.tables[0]
    assert head[:2] == ["key figure", "this week"]
    shown = {row[0]: row for row in rows}
    table = review.kpi_table()
    assert sorted(shown) == sorted(table["kpi"].to_list())
    before = head.index("week before")
    for row in table.iter_rows(named=True):
        cells = shown[row["kpi"]]
        for column, value, known_from in (
            (1, row["week"], row["known_from"]),
            (before, row["previous_week"], row["previous_known_from"]),
        ):
            if value is None:
                # a figure not known yet says so (never 0); one with no members is a dash
                assert cells[column] == ("—" if known_from is None else "not known yet")
            elif row["unit"] == "share":
                assert _number(cells[column]) == pytest.approx(value * 100, abs=0.051)
            else:
                assert _number(cells[column]) == pytest.approx(value, abs=0.051)


def _no_secrets(*texts: str | bytes) -> None:
    for text in texts:
        data = text if isinstance(text, bytes) else text.encode()
        for secret in SECRETS:
            assert secret.encode() not in data


def test_the_review_arrives_by_email_and_chat_once(
    demo_folder: Path,
    tmp_path: Path,
    as_of: datetime,
    review: WeeklyReview,
    secrets_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    kinds = ("slack", "teams", "mattermost")
    with smtp_server(login=(USER, PASSWORD)) as box, webhook_server() as hooks:
        for kind in kinds:
            monkeypatch.setenv(f"HOOK_{kind.upper()}", hooks.url(f"{kind}/{HOOK_TOKEN}"))
        config = write_config(tmp_path, smtp_port=box.port, webhooks=kinds)
        argv = ["deliver", "--data", str(demo_folder), "--config", str(config),
                "--as-of", as_of.isoformat()]  # fmt: skip
        code, out, err = run_cli(argv, capsys)
        assert code == 0, err
        assert box.logins == [(USER, PASSWORD)]
        assert box.recipients == [["lead@example.org", "head@example.org"]]
        [message] = box.messages()
        assert message["Subject"].startswith(f"Proofboard weekly review {review.week}")
        assert message["From"] == "Proofboard <proofboard@example.org>"

        # parts: text, HTML with inline images, the PDF
        plain = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        assert plain is not None
        assert html_part is not None
        text, page = plain.get_content(), html_part.get_content()
        for sentence in review.summary:
            assert sentence in text
        link = f"https://proofboard.example.org/review?week={review.week}&as_of={as_of.date()}"
        assert link in text
        _check_figures(page, review)
        parser = _Tables()
        parser.feed(page)
        assert link in parser.links
        assert parser.items == review.summary  # the summary, sentence by sentence
        cids = [src.removeprefix("cid:") for src in parser.images]
        assert len(cids) == 2
        assert all(src.startswith("cid:") for src in parser.images)
        images = {
            str(part["Content-ID"]).strip("<>"): part.get_content()
            for part in message.walk()
            if part.get_content_type() == "image/png"
        }
        for cid in cids:
            assert images[cid].startswith(b"\x89PNG\r\n\x1a\n")
            assert len(images[cid]) > 10_000
        [pdf] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert pdf.get_filename() == f"proofboard-review-{review.week.lower()}.pdf"
        data = pdf.get_content()
        assert data.startswith(b"%PDF")
        reader = pypdf.PdfReader(io.BytesIO(data))
        pdf_text = "".join(p.extract_text() for p in reader.pages)
        assert f"Weekly review {review.week}" in pdf_text

        # chat: summary, key figures and the link, formatted for each
        [slack] = hooks.bodies(f"slack/{HOOK_TOKEN}")
        [teams] = hooks.bodies(f"teams/{HOOK_TOKEN}")
        [mattermost] = hooks.bodies(f"mattermost/{HOOK_TOKEN}")
        new = f"{review.kpi('new_members').kpi.value:,.0f}"
        assert review.summary[1] in slack["blocks"][1]["text"]["text"]
        assert any(
            f["text"].startswith("*New members*\n" + new) for f in slack["blocks"][2]["fields"]
        )
        assert slack["blocks"][-1]["elements"][0]["url"] == link
        card = teams["attachments"][0]["content"]
        assert card["type"] == "AdaptiveCard"
        facts = {f["title"]: f["value"] for f in card["body"][-1]["facts"]}
        assert facts["New members"].startswith(new)
        assert card["actions"][0]["url"] == link
        assert f"| New members | {new}" in mattermost["text"]
        assert review.summary[0] in mattermost["text"]

        # the log, and a second run sends nothing
        log = DeliveryStore(f"sqlite:///{tmp_path / 'store.db'}").log()
        assert sorted(zip(log["subscription"], log["channel"], log["outcome"], strict=True)) == [
            ("leads", "email", "sent"),
            ("mattermost-channel", "mattermost", "sent"),
            ("slack-channel", "slack", "sent"),
            ("teams-channel", "teams", "sent"),
        ]
        assert set(log["week"]) == {review.week}
        code2, out2, err2 = run_cli(argv, capsys)
        assert code2 == 0, err2
        assert len(box.raw) == 1
        assert len(hooks.requests) == 3
        assert f"{review.week} was sent already" in out2
        assert DeliveryStore(f"sqlite:///{tmp_path / 'store.db'}").log().height == 4

    _no_secrets(out, err, out2, err2, caplog.text, *box.raw, (tmp_path / "store.db").read_bytes())
    assert HOOK_TOKEN not in str(hooks.requests[0][1])


def test_dry_run_prints_and_sends_nothing(
    demo_folder: Path, tmp_path: Path, as_of: datetime, review: WeeklyReview,
    secrets_env: None, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with smtp_server(login=(USER, PASSWORD)) as box:
        config = write_config(tmp_path, smtp_port=box.port, webhooks=("slack",))
        code, out, err = run_cli(
            ["deliver", "--data", str(demo_folder), "--config", str(config), "--as-of",
             as_of.isoformat(), "--dry-run"],
            capsys,
        )  # fmt: skip
    assert code == 0, err
    assert f"would send weekly review {review.week} to subscription 'leads'" in out
    assert "lead@example.org, head@example.org" in out
    assert "$HOOK_SLACK is not set" in out
    assert box.raw == []
    assert DeliveryStore(f"sqlite:///{tmp_path / 'store.db'}").log().is_empty()


def test_smtp_down_retries_exits_1_and_marks_nothing(
    demo_folder: Path, tmp_path: Path, as_of: datetime, review: WeeklyReview,
    secrets_env: None, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    port = free_port()  # nothing listens here
    config = write_config(tmp_path, smtp_port=port, fmt="html")
    argv = ["deliver", "--data", str(demo_folder), "--config", str(config),
            "--as-of", as_of.isoformat()]  # fmt: skip
    code, out, err = run_cli(argv, capsys)
    assert code == 1
    assert err.count("attempt 1 of 3 failed") == 1
    assert err.count("attempt 2 of 3 failed") == 1
    assert f"FAILED weekly review {review.week} to subscription 'leads'" in err
    assert "after 3 attempt(s)" in err
    assert f"127.0.0.1:{port}" in err
    store = DeliveryStore(f"sqlite:///{tmp_path / 'store.db'}")
    assert not store.delivered("leads", "email", review.week)
    assert store.log()["outcome"].to_list() == ["failed"]
    _no_secrets(out, err)

    # once the server is back, the next run sends what failed
    with smtp_server(login=(USER, PASSWORD)) as box:
        config = write_config(tmp_path, smtp_port=box.port, fmt="html")
        code, _, err = run_cli(argv, capsys)
        assert code == 0, err
        [message] = box.messages()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/html"
    page = attachment.get_content()
    assert f"Weekly review {review.week}" in page
    assert not re.search(r"<script[^>]*\ssrc=", page)  # the self-contained report
    assert store.delivered("leads", "email", review.week)


def test_auth_refused_is_not_retried_and_not_marked(
    demo_folder: Path, tmp_path: Path, as_of: datetime, review: WeeklyReview,
    secrets_env: None, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with smtp_server(login=(USER, "another password")) as box:
        config = write_config(tmp_path, smtp_port=box.port)
        code, out, err = run_cli(
            ["deliver", "--data", str(demo_folder), "--config", str(config), "--as-of",
             as_of.isoformat()],
            capsys,
        )  # fmt: skip
        assert box.raw == []
        assert box.logins  # it tried
    assert code == 1
    assert "refused the login (535)" in err
    assert "after 1 attempt(s)" in err  # a refused login is not worth retrying
    assert "Retrying" not in err
    assert not DeliveryStore(f"sqlite:///{tmp_path / 'store.db'}").delivered(
        "leads", "email", review.week
    )
    _no_secrets(out, err)


@pytest.mark.parametrize(("status", "attempts"), [(500, 3), (404, 1)])
def test_webhook_errors_retry_when_worth_it_and_mark_nothing(
    demo_folder: Path, tmp_path: Path, as_of: datetime, review: WeeklyReview,
    secrets_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    status: int, attempts: int,
) -> None:  # fmt: skip
    with smtp_server(login=(USER, PASSWORD)) as box, webhook_server(status) as hooks:
        monkeypatch.setenv("HOOK_SLACK", hooks.url(f"slack/{HOOK_TOKEN}"))
        config = write_config(tmp_path, smtp_port=box.port, fmt="html", webhooks=("slack",))
        code, out, err = run_cli(
            ["deliver", "--data", str(demo_folder), "--config", str(config), "--as-of",
             as_of.isoformat()],
            capsys,
        )  # fmt: skip
        assert len(hooks.requests) == attempts
        assert len(box.raw) == 1  # the e-mail went out all the same
    assert code == 1
    assert f"webhook 'slack-channel' (slack) answered HTTP {status}" in err
    store = DeliveryStore(f"sqlite:///{tmp_path / 'store.db'}")
    assert not store.delivered("slack-channel", "slack", review.week)
    assert store.delivered("leads", "email", review.week)
    _no_secrets(out, err)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_starttls_and_ssl(
    demo_folder: Path, tmp_path: Path, as_of: datetime, secrets_env: None, security: str
) -> None:
    cert = self_signed_cert(tmp_path)
    if cert is None:
        pytest.skip("openssl is not installed")
    with smtp_server(login=(USER, PASSWORD), security=security, cert=cert) as box:
        config = load_config(
            write_config(
                tmp_path, smtp_port=box.port, fmt="html", security=security,
                extra=f'ca_file = "{cert[0]}"',
            )
        )  # fmt: skip
        out, err = io.StringIO(), io.StringIO()
        result = deliver(config, data=str(demo_folder), as_of=as_of, out=out, err=err)
        assert result.exit_code == 0, err.getvalue()
        assert box.logins == [(USER, PASSWORD)]
        assert len(box.raw) == 1


def test_a_dashboard_subscription_is_sent_from_its_hour_on(
    demo_folder: Path, tmp_path: Path, as_of: datetime, review: WeeklyReview, secrets_env: None
) -> None:
    monday = last_complete_week(as_of)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    stored = subscribe(
        store_url, email="cm@example.org", weekday="monday", hour=9, timezone="Europe/Berlin",
        format="html",
    )  # fmt: skip
    due = due_at(monday, weekday="monday", hour=9, timezone="Europe/Berlin")
    with smtp_server(login=(USER, PASSWORD)) as box:
        config = load_config(write_config(tmp_path, smtp_port=box.port, fmt="html"))
        early, late = due - timedelta(hours=1), due + timedelta(minutes=5)
        out = io.StringIO()
        first = deliver(config, data=str(demo_folder), as_of=early, out=out, err=io.StringIO())
        assert first.exit_code == 0
        assert [m["To"] for m in box.messages()] == ["lead@example.org, head@example.org"]
        assert f"{review.week} is due at {due:%Y-%m-%d %H:%M} UTC" in out.getvalue()
        second = deliver(config, data=str(demo_folder), as_of=late, out=io.StringIO(),
                         err=io.StringIO())  # fmt: skip
        assert second.exit_code == 0
        assert [m["To"] for m in box.messages()][1:] == ["cm@example.org"]
    assert DeliveryStore(store_url).delivered(stored.subscription_id, "email", review.week)
    assert due.astimezone(UTC).hour == 8  # 09:00 in Berlin in winter


def test_a_milestone_estimate_becoming_available_is_alerted_once(
    demo_folder: Path, tmp_path: Path, secrets_env: None
) -> None:
    from analytics.milestones import MilestoneSettings, estimate_milestones

    community = load_community(open_source(demo_folder))
    result = estimate_milestones(community, MilestoneSettings())
    effect = next(e for e in reversed(result.effects) if e.uplift is not None)
    ready = effect.announced_at.date() + timedelta(days=MilestoneSettings().window_days - 1)
    now = datetime.combine(ready + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    now += timedelta(hours=12)
    with smtp_server(login=(USER, PASSWORD)) as box:
        config = load_config(write_config(tmp_path, smtp_port=box.port, fmt="html", alerts=True))
        for _ in range(2):
            run = deliver(config, data=str(demo_folder), as_of=now, out=io.StringIO(),
                          err=io.StringIO())  # fmt: skip
            assert run.exit_code == 0
        messages = box.messages()
    reviews = [m for m in messages if "weekly review" in m["Subject"]]
    alerts = [m for m in messages if "alert" in m["Subject"]]
    assert len(reviews) == 1
    assert len(alerts) == 1  # the second run sent neither again
    body = alerts[0].get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert f"Milestone {quoted(effect.title)}: estimate available" in text
    assert f"{effect.observed:,} members signed up" in text
    store = DeliveryStore(f"sqlite:///{tmp_path / 'store.db'}")
    assert store.delivered("leads", "email", f"milestone:{effect.milestone_id}")


def test_stale_data_sends_nothing_and_exits_1(
    demo_folder: Path, tmp_path: Path, as_of: datetime, secrets_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with smtp_server(login=(USER, PASSWORD)) as box:
        config = write_config(tmp_path, smtp_port=box.port)
        later = as_of + timedelta(days=21)
        code, _, err = run_cli(
            ["deliver", "--data", str(demo_folder), "--config", str(config), "--as-of",
             later.isoformat()],
            capsys,
        )  # fmt: skip
        assert box.raw == []
    assert code == 1
    assert "before the end of" in err
    assert "Nothing was sent" in err


def test_a_bad_config_is_refused_before_anything_is_sent(
    demo_folder: Path, tmp_path: Path, as_of: datetime, secrets_env: None,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with smtp_server(login=(USER, PASSWORD)) as box:
        config = write_config(tmp_path, smtp_port=box.port, webhooks=("slack",))
        config.write_text(config.read_text().replace('kind = "slack"', 'kind = "discord"'))
        code, _, err = run_cli(
            ["deliver", "--data", str(demo_folder), "--config", str(config), "--as-of",
             as_of.isoformat()],
            capsys,
        )  # fmt: skip
        assert box.raw == []
    assert code == 1
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if "discord" in text)
    assert f"line {line}, key webhook[1].kind: unknown webhook kind 'discord'" in err


def test_milestones_added_on_the_dashboard_are_in_the_review(
    demo_folder: Path, tmp_path: Path, as_of: datetime, secrets_env: None
) -> None:
    from analytics.io.milestone_store import MilestoneStore

    monday = last_complete_week(as_of)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    moment = datetime.combine(monday + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    MilestoneStore(store_url).add(announced_at=moment + timedelta(hours=10), title="Podcast launch")
    with smtp_server(login=(USER, PASSWORD)) as box:
        config = load_config(write_config(tmp_path, smtp_port=box.port, fmt="html"))
        run = deliver(config, data=str(demo_folder), as_of=as_of, out=io.StringIO(),
                      err=io.StringIO())  # fmt: skip
        assert run.exit_code == 0
        [message] = box.messages()
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert f"'Podcast launch' was announced on {moment:%Y-%m-%d}" in body.get_content()
