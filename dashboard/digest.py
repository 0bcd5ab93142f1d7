"""What a delivery says: the weekly review and alerts as an e-mail (HTML with the charts inline,
a plain-text part, the review attached) and as chat messages for Slack, Microsoft Teams and
Mattermost.

Every figure comes from the review that :func:`analytics.weekly.weekly_review` made, formatted
by the same functions as the report and the page (:func:`dashboard.report.kpi_rows`, ...), and
every chart is a chart of :func:`dashboard.report.review_charts` drawn by kaleido.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlencode

import polars as pl

from analytics.delivery.alerts import Alert
from analytics.errors import InputError
from analytics.overview import KpiName
from analytics.weekly import WeeklyReview
from dashboard import exports, report
from dashboard.exports import slug

MIME = {"pdf": ("application", "pdf"), "html": ("text", "html")}
#: Charts put into the e-mail, in this order (the social-proof forest plot stays in the file).
EMAIL_CHARTS = ("kpis", "signups")
_FONT = 'font-family: "Segoe UI", Helvetica, Arial, sans-serif; color: #1F2430;'
_CELL = "text-align: left; padding: 4px 8px; border-bottom: 1px solid #EEF1F5;"


def review_link(dashboard_url: str | None, week: str, as_of_day: date | None = None) -> str | None:
    """The Weekly review page of ``week`` on the dashboard (with the as-of day when the review
    was made for one), or ``None`` without a dashboard address."""
    if not dashboard_url:
        return None
    query = {"week": week}
    if as_of_day is not None:
        query["as_of"] = as_of_day.isoformat()
    return f"{dashboard_url.rstrip('/')}/review?{urlencode(query)}"


def key_figures(review: WeeklyReview) -> pl.DataFrame:
    """The key figures as the e-mail and chat show them: the report's formatted table."""
    return report.kpi_rows(review).select(
        "key figure", "this week", "95 % CI", "week before", "change", "4-week average", "note"
    )


def subject(review: WeeklyReview) -> str:
    new = review.kpi(KpiName.NEW_MEMBERS).kpi.value
    members = review.kpi(KpiName.MEMBERS).kpi.value
    return (
        f"Proofboard weekly review {review.week}: {new or 0:,.0f} new members, "
        f"{members or 0:,.0f} members"
    )


def file_name(review: WeeklyReview, fmt: str) -> str:
    return f"proofboard-review-{slug(review.week)}.{fmt}"


def chart_images(review: WeeklyReview) -> dict[str, tuple[bytes, str]]:
    """The e-mail's charts as PNG, with their captions (kaleido; needs Chromium)."""
    charts = {c.key: c for c in report.review_charts(review)}
    return {
        key: (
            exports.figure_image(
                charts[key].figure,
                "png",
                width=report.STATIC_WIDTH,
                height=report.static_height(charts[key]),
            ),
            charts[key].caption,
        )
        for key in EMAIL_CHARTS
        if key in charts
    }


# -- e-mail -------------------------------------------------------------------------------------


def _table(frame: pl.DataFrame) -> str:
    head = "".join(
        f'<th style="{_CELL} background: #F6F8FB;">{html.escape(c)}</th>' for c in frame.columns
    )
    rows = "".join(
        "<tr>"
        + "".join(
            f'<td style="{_CELL}">{"" if v is None else html.escape(str(v))}</td>' for v in row
        )
        + "</tr>"
        for row in frame.iter_rows()
    )
    return (
        '<table style="border-collapse: collapse; font-size: 13px; margin: 8px 0;">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def _button(link: str, text: str) -> str:
    return (
        f'<p><a href="{html.escape(link)}" style="display: inline-block; background: #2563EB; '
        f'color: #FFFFFF; padding: 8px 14px; border-radius: 4px; text-decoration: none;">'
        f"{html.escape(text)}</a></p>"
    )


def _review_html(
    review: WeeklyReview, cids: dict[str, str], captions: dict[str, str], link: str | None,
    attached: str | None, footer: str,
) -> str:  # fmt: skip
    parts = [
        f'<h1 style="font-size: 22px; margin: 0 0 4px;">Weekly review {html.escape(review.week)}'
        "</h1>",
        f'<p style="color: #5B6475; margin: 0 0 12px;">{html.escape(review.days_label)} · data '
        f"as of {review.as_of:%Y-%m-%d %H:%M} UTC</p>",
    ]
    if link:
        parts.append(_button(link, "Open this review on the dashboard"))
    parts += [
        '<h2 style="font-size: 17px;">Summary</h2>',
        '<ul class="summary">'
        + "".join(f"<li>{html.escape(s)}</li>" for s in review.summary)
        + "</ul>",
        '<h2 style="font-size: 17px;">Key figures</h2>',
        _table(key_figures(review)),
        '<p style="color: #5B6475; font-size: 12px;">Change: against the week before (retention '
        "in percentage points). 4-week average: the mean of the four weeks before for counts; "
        "for retention the pooled share of those weeks.</p>",
    ]
    for key, cid in cids.items():
        parts.append(
            f'<p><img src="cid:{cid}" width="600" alt="{html.escape(captions[key])}" '
            'style="max-width: 100%; height: auto;"><br>'
            f'<span style="color: #5B6475; font-size: 12px;">{html.escape(captions[key])}'
            "</span></p>"
        )
    findings = report.findings_rows(review)
    if review.impact is not None and not findings.is_empty():
        verdict_p = report.verdict_p_column(review.impact.settings)
        parts += [
            '<h2 style="font-size: 17px;">Social-proof findings</h2>',
            _table(findings.select("item", "verdict", "effect (pts)", "95 % CI (pts)", verdict_p)),
        ]
    milestones = report.milestone_rows(review)
    if not milestones.is_empty() and "title" in milestones.columns and milestones.width > 1:
        parts += ['<h2 style="font-size: 17px;">Milestones announced in the week</h2>']
        parts.append(_table(milestones))
    if attached:
        parts.append(
            f"<p>The full review, with the social-proof findings, the milestones and how to "
            f"read the figures, is attached ({html.escape(attached)}).</p>"
        )
    parts.append(f'<p style="color: #8A93A5; font-size: 11px;">{html.escape(footer)}</p>')
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
        f'<body style="{_FONT} font-size: 14px; line-height: 1.45; max-width: 680px;">'
        + "".join(parts)
        + "</body></html>"
    )


def _review_text(review: WeeklyReview, link: str | None, attached: str | None, footer: str) -> str:
    lines = [f"Weekly review {review.week}", f"{review.days_label} · data as of "
             f"{review.as_of:%Y-%m-%d %H:%M} UTC", ""]  # fmt: skip
    if link:
        lines += [f"On the dashboard: {link}", ""]
    lines += ["Summary", *[f"- {s}" for s in review.summary], "", "Key figures"]
    for row in key_figures(review).iter_rows(named=True):
        text = f"- {row['key figure']}: {row['this week']}"
        if row["95 % CI"]:
            text += f" (95 % CI {row['95 % CI']})"
        text += f"; week before {row['week before']} (change {row['change']})"
        text += f"; 4-week average {row['4-week average']}"
        if row["note"]:
            text += f"; {row['note']}"
        lines.append(text)
    if attached:
        lines += ["", f"The full review is attached ({attached})."]
    lines += ["", footer]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Envelope:
    """Who an e-mail goes from and to, and why they get it (said at the bottom)."""

    sender: str
    to: tuple[str, ...]
    reason: str


def _message(envelope: Envelope, subject_line: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject_line
    message["From"] = envelope.sender
    message["To"] = ", ".join(envelope.to)
    message["Date"] = formatdate(localtime=False)
    domain = envelope.sender.rsplit("@", 1)[-1].strip("> ") or "proofboard"
    message["Message-ID"] = make_msgid(domain=domain)
    return message


def review_email(
    review: WeeklyReview,
    envelope: Envelope,
    *,
    images: dict[str, tuple[bytes, str]],
    attachment: tuple[str, bytes] | None,
    link: str | None,
) -> EmailMessage:
    """The weekly review as an e-mail: a plain-text part and an HTML part with the summary, the
    key figures and the charts inline (``cid:`` PNG images), and the review file attached
    (``attachment`` = (format, bytes)); a link to the dashboard when ``link`` is set."""
    fmt = attachment[0] if attachment else None
    attached = None if fmt is None else f"{file_name(review, fmt)}, {fmt.upper()}"
    message = _message(envelope, subject(review))
    message.set_content(_review_text(review, link, attached, envelope.reason))
    cids = {key: make_msgid(domain="proofboard")[1:-1] for key in images}
    captions = {key: caption for key, (_, caption) in images.items()}
    message.add_alternative(
        _review_html(review, cids, captions, link, attached, envelope.reason), subtype="html"
    )
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    for key, (png, _) in images.items():
        html_part.add_related(
            png, maintype="image", subtype="png", cid=f"<{cids[key]}>", filename=f"{key}.png"
        )
    if attachment is not None:
        maintype, subtype = MIME[attachment[0]]
        message.add_attachment(
            attachment[1],
            maintype=maintype,
            subtype=subtype,
            filename=file_name(review, attachment[0]),
        )
    return message


def alerts_subject(alerts: Sequence[Alert]) -> str:
    if len(alerts) == 1:
        return f"Proofboard alert: {alerts[0].title}"
    return f"Proofboard: {len(alerts)} alerts ({alerts[0].title}; ...)"


def alerts_email(alerts: Sequence[Alert], envelope: Envelope, *, link: str | None) -> EmailMessage:
    """Alerts as one e-mail (plain text and HTML)."""
    message = _message(envelope, alerts_subject(alerts))
    text = ["Proofboard alerts", ""]
    text += [f"- {a.title}\n  {a.text}" for a in alerts]
    if link:
        text += ["", f"On the dashboard: {link}"]
    text += ["", envelope.reason]
    message.set_content("\n".join(text) + "\n")
    body = [f'<h1 style="font-size: 20px;">Proofboard alert{"s" if len(alerts) > 1 else ""}</h1>']
    for a in alerts:
        body.append(f'<h2 style="font-size: 16px;">{html.escape(a.title)}</h2>')
        body.append(f"<p>{html.escape(a.text)}</p>")
    if link:
        body.append(_button(link, "Open the dashboard"))
    body.append(f'<p style="color: #8A93A5; font-size: 11px;">{html.escape(envelope.reason)}</p>')
    message.add_alternative(
        f'<!DOCTYPE html><html><body style="{_FONT} font-size: 14px;">'
        + "".join(body)
        + "</body></html>",
        subtype="html",
    )
    return message


# -- chat ---------------------------------------------------------------------------------------


def _figure_lines(review: WeeklyReview) -> list[tuple[str, str]]:
    """(label, "value (change vs the week before)") per key figure."""
    out = []
    for row in key_figures(review).iter_rows(named=True):
        value = row["this week"]
        if row["change"] != "—":
            value += f" ({row['change']} vs the week before)"
        if row["note"]:
            value += f"; {row['note']}"
        out.append((row["key figure"], value))
    return out


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def review_chat(kind: str, review: WeeklyReview, link: str | None) -> dict[str, Any]:
    """The review's summary, key figures and link as a webhook payload for ``kind``
    (slack, teams or mattermost)."""
    title = f"Weekly review {review.week} ({review.days_label})"
    figures = _figure_lines(review)
    if kind == "slack":
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "\n".join(f"• {_slack_escape(s)}" for s in review.summary)[:3000],
                },
            },
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_slack_escape(k)}*\n{_slack_escape(v)}"}
                    for k, v in figures
                ][:10],
            },
        ]
        if link:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Open on the dashboard"},
                            "url": link,
                        }
                    ],
                }
            )
        return {"text": f"{title}: {review.summary[0]}", "blocks": blocks}
    if kind == "teams":
        body: list[dict[str, Any]] = [
            {
                "type": "TextBlock",
                "text": title,
                "weight": "Bolder",
                "size": "Medium",
                "wrap": True,
            },
            *[{"type": "TextBlock", "text": f"- {s}", "wrap": True} for s in review.summary],
            {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in figures]},
        ]
        return _teams_message(body, link, "Open on the dashboard")
    if kind == "mattermost":
        lines = [f"#### {title}", *[f"- {s}" for s in review.summary], "",
                 "| Key figure | This week |", "| --- | --- |"]  # fmt: skip
        lines += [f"| {k} | {v} |" for k, v in figures]
        if link:
            lines += ["", f"[Open on the dashboard]({link})"]
        return {"username": "Proofboard", "text": "\n".join(lines)}
    raise InputError(f"Unknown webhook kind {kind!r}: use slack, teams or mattermost.")


def alerts_chat(kind: str, alerts: Sequence[Alert], link: str | None) -> dict[str, Any]:
    """Alerts as a webhook payload for ``kind``."""
    head = f"Proofboard alert{'s' if len(alerts) > 1 else ''}"
    if kind == "slack":
        blocks: list[dict[str, Any]] = [
            {"type": "header", "text": {"type": "plain_text", "text": head}}
        ]
        blocks += [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": f"*{_slack_escape(a.title)}*\n{_slack_escape(a.text)}"[:3000],
                },
            }
            for a in alerts
        ]
        if link:
            blocks.append(
                {
                    "type": "context",
                    "elements": [{"type": "mrkdwn", "text": f"<{link}|Open the dashboard>"}],
                }
            )
        return {"text": f"{head}: {alerts[0].title}", "blocks": blocks}
    if kind == "teams":
        body: list[dict[str, Any]] = [
            {"type": "TextBlock", "text": head, "weight": "Bolder", "size": "Medium"}
        ]
        for a in alerts:
            body.append({"type": "TextBlock", "text": a.title, "weight": "Bolder", "wrap": True})
            body.append({"type": "TextBlock", "text": a.text, "wrap": True})
        return _teams_message(body, link, "Open the dashboard")
    if kind == "mattermost":
        lines = [f"#### {head}"] + [f"**{a.title}**\n{a.text}\n" for a in alerts]
        if link:
            lines.append(f"[Open the dashboard]({link})")
        return {"username": "Proofboard", "text": "\n".join(lines)}
    raise InputError(f"Unknown webhook kind {kind!r}: use slack, teams or mattermost.")


def _teams_message(body: list[dict[str, Any]], link: str | None, action: str) -> dict[str, Any]:
    """A Microsoft Teams message holding one Adaptive Card with ``body`` and, when there is a
    ``link``, a button titled ``action`` that opens it."""
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": action, "url": link}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }
