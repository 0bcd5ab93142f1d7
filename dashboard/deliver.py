"""``proofboard deliver``: send the weekly review and alerts to every subscription that has not
had them yet, by e-mail and to chat webhooks, and log each attempt in the SQL store.

The CLI, the dashboard (subscribe, the Deliveries panel) and the tests call these functions.
One run:

1. checks the configuration, the credentials and the webhook URLs (nothing is sent when any is
   wrong);
2. works out the week (the last complete ISO week before now, or ``--as-of``), which
   subscriptions and webhooks have not had it, and which alerts they have not had;
3. builds the review once (``weekly_review``, the report's charts and file) and sends, each send
   tried again with backoff when it fails;
4. logs every outcome; only a ``sent`` outcome counts, so the next run sends what failed and
   nothing twice. The exit code is 1 when anything failed.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from analytics.community import Community, load_community
from analytics.delivery.alerts import Alert, milestone_alerts, range_alerts, verdict_changes
from analytics.delivery.config import (
    DeliveryConfig,
    DeliveryConfigError,
    Subscription,
    Webhook,
    parse_config,
)
from analytics.delivery.schedule import due_at, last_complete_week, week_end
from analytics.embedded import store_url_for
from analytics.errors import ProofboardError
from analytics.impact import estimate_effects
from analytics.io import mask_url, open_source
from analytics.io.delivery_store import (
    ALERT,
    FAILED,
    REVIEW,
    SENT,
    DeliveryRecord,
    DeliveryStore,
    StoredSubscription,
)
from analytics.io.milestone_store import stored_milestones
from analytics.io.send import Credentials, SendError, post_json, send_email, smtp_credentials
from analytics.io.upload import read_text_file
from analytics.milestones import MilestoneSettings, estimate_milestones
from analytics.weekly import WeeklyReview, impact_settings, week_label, weekly_review
from dashboard import digest, report

EMAIL = "email"


class DeliveryError(ProofboardError):
    """The run cannot start (stale data, a missing secret); nothing was sent."""


def load_config(path: str | Path) -> DeliveryConfig:
    """Read and check ``delivery.toml`` (:class:`DeliveryConfigError` names line and key)."""
    return parse_config(read_text_file(Path(path)), origin=str(path))


def _from_store(stored: StoredSubscription, dashboard_url: str | None) -> Subscription:
    return Subscription(
        name=stored.subscription_id,
        to=(stored.email,),
        format=stored.format,
        weekday=stored.weekday,
        hour=stored.hour,
        timezone=stored.timezone,
        dashboard_url=dashboard_url,
        alerts=stored.alerts,
        origin="dashboard",
    )


# -- one run ------------------------------------------------------------------------------------


@dataclass
class Job:
    """One thing to send to one subscription or webhook."""

    target: Subscription | Webhook
    channel: str
    kind: str  # REVIEW or ALERT
    keys: tuple[str, ...]  # the week, or the alerts' occurrence keys
    alerts: tuple[Alert, ...] = ()

    @property
    def what(self) -> str:
        if self.kind == REVIEW:
            return f"weekly review {self.keys[0]}"
        return "; ".join(a.title for a in self.alerts)

    @property
    def recipients(self) -> str:
        if isinstance(self.target, Subscription):
            return ", ".join(self.target.to)
        return f"{self.target.kind} webhook {self.target.name}"


@dataclass
class RunResult:
    """What a run did: the jobs sent, failed and skipped (with why), and the exit code."""

    week: str
    sent: list[Job] = field(default_factory=list)
    failed: list[tuple[Job, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    planned: list[Job] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def _link(target: Subscription | Webhook, week: str, as_of: datetime | None) -> str | None:
    return digest.review_link(target.dashboard_url, week, None if as_of is None else as_of.date())


def _say(stream: TextIO, text: str) -> None:
    stream.write(text + "\n")
    stream.flush()


def _webhook_urls(
    webhooks: Sequence[Webhook], environ: Mapping[str, str], *, dry_run: bool
) -> dict[str, str]:
    urls = {}
    for hook in webhooks:
        url = environ.get(hook.url_env, "").strip()
        if not url and not dry_run:
            raise DeliveryError(
                f"{hook.label} (line {hook.line}): ${hook.url_env} is not set. Fix: export "
                f"{hook.url_env} with the webhook's address (it is a secret, so it is never "
                "read from the configuration file). Nothing was sent."
            )
        urls[hook.name] = url
    return urls


def _check_fresh(community: Community, monday: date) -> None:
    end = week_end(monday)
    if community.data_end < end:
        raise DeliveryError(
            f"The data's latest time is {community.data_end:%Y-%m-%d %H:%M} UTC, before the end "
            f"of {week_label(monday)} ({end:%Y-%m-%d %H:%M} UTC), the week due now: its review "
            "would be incomplete. Fix: bring the data up to date (or pass --as-of to review an "
            "earlier week). Nothing was sent."
        )


def find_alerts(
    config: DeliveryConfig,
    community: Community,
    review: WeeklyReview,
    monday: date,
    earlier: Callable[[], Community],
) -> list[Alert]:
    """The alerts of this run (before asking which were sent already)."""
    settings = config.alerts
    out: list[Alert] = []
    if not settings.enabled:
        return out
    if settings.verdict_change and review.impact is not None and review.impact.items:
        week_before = earlier()
        if week_before.proof_items is not None and week_before.has_exposures:
            before = estimate_effects(
                week_before, impact_settings(config.inactive_days), sensitivity=False
            )
            out += verdict_changes(
                before,
                review.impact,
                week=review.week,
                before_as_of=week_before.as_of,
                after_as_of=community.as_of,
            )
    if settings.kpi_range:
        out += range_alerts(
            community, monday, inactive_days=config.inactive_days, range_weeks=settings.range_weeks
        )
    milestones = community.milestones
    if settings.milestone_estimate and milestones is not None and milestones.height:
        estimated = estimate_milestones(community, MilestoneSettings())
        out += milestone_alerts(community, estimated, since=monday)
    return out


class _Sender:
    """Sends jobs with retries and logs each outcome."""

    def __init__(
        self,
        config: DeliveryConfig,
        store: DeliveryStore,
        credentials: Credentials | None,
        urls: dict[str, str],
        *,
        out: TextIO,
        err: TextIO,
        sleep: Callable[[float], None],
    ) -> None:
        self.config, self.store, self.credentials, self.urls = config, store, credentials, urls
        self.out, self.err, self.sleep = out, err, sleep

    def scrub(self, text: str) -> str:
        if self.credentials is not None:
            text = self.credentials.scrub(text)
        for url in self.urls.values():
            if url:
                text = text.replace(url, "<webhook url>")
        return text

    def send(self, job: Job, action: Callable[[], None], result: RunResult) -> None:
        retry = self.config.retry
        attempts = 0
        error = ""
        for attempt in range(1, retry.attempts + 1):
            attempts = attempt
            try:
                action()
            except (ProofboardError, RuntimeError) as exc:
                error = self.scrub(str(exc))
                permanent = isinstance(exc, SendError) and exc.permanent
                if attempt == retry.attempts or permanent:
                    break
                wait = retry.backoff_seconds * 2 ** (attempt - 1)
                _say(
                    self.err,
                    f"proofboard deliver: attempt {attempt} of {retry.attempts} failed for "
                    f"{job.what} to {job.target.label}: {error} Retrying in {wait:g} s.",
                )
                self.sleep(wait)
            else:
                error = ""
                break
        outcome = FAILED if error else SENT
        week = result.week
        for key in job.keys:
            self.store.record(
                DeliveryRecord(
                    subscription=job.target.name,
                    channel=job.channel,
                    kind=job.kind,
                    week=week,
                    key=key,
                    what=job.what,
                    recipients=job.recipients,
                    outcome=outcome,
                    attempts=attempts,
                    detail=error,
                    sent_at=datetime.now(UTC),
                )
            )
        if error:
            result.failed.append((job, error))
            _say(
                self.err,
                f"proofboard deliver: FAILED {job.what} to {job.target.label} "
                f"({job.channel}) after {attempts} attempt(s): {error}",
            )
        else:
            result.sent.append(job)
            _say(
                self.out, f"sent {job.what} to {job.target.label} ({job.channel}: {job.recipients})"
            )


def deliver(
    config: DeliveryConfig,
    *,
    data: str,
    as_of: datetime | None = None,
    dry_run: bool = False,
    engine: str | None = None,
    environ: Mapping[str, str] | None = None,
    secrets_file: Path | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunResult:
    """Send the review of the last complete week before ``as_of`` (default: now), and the alerts,
    to every subscription and webhook that has not had them; see the module's docstring.

    Raises
    ------
    DeliveryError, DeliveryConfigError, SendError
        Before anything is sent: stale data, a webhook variable that is not set, half-set SMTP
        credentials, dashboard subscriptions without an ``[smtp]`` table.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    env = os.environ if environ is None else environ
    now = (as_of or datetime.now(UTC)).astimezone(UTC)
    monday = last_complete_week(now)
    week = week_label(monday)
    result = RunResult(week)

    urls = _webhook_urls(config.webhooks, env, dry_run=dry_run)
    store_url = config.store_url or store_url_for(data)
    store = DeliveryStore(store_url)
    try:
        addresses = [s.dashboard_url for s in config.subscriptions]
        addresses += [w.dashboard_url for w in config.webhooks]
        dashboard_url = next((a for a in addresses if a), None)
        subscriptions = list(config.subscriptions) + [
            _from_store(s, dashboard_url) for s in store.subscriptions()
        ]
        if any(s.origin == "dashboard" for s in subscriptions) and config.smtp is None:
            raise DeliveryConfigError(
                f"{config.origin}: the dashboard has subscriptions (in {mask_url(store_url)}) but "
                "the configuration has no [smtp] table. Fix: add [smtp] with host, port, from "
                "and security. Nothing was sent."
            )
        credentials = smtp_credentials(env, secrets_file) if subscriptions else None
        targets: list[tuple[Subscription | Webhook, str]] = [(s, EMAIL) for s in subscriptions]
        targets += [(w, w.kind) for w in config.webhooks]

        # What is due: the week's review where it was not sent yet.
        review_jobs: list[Job] = []
        for target, channel in targets:
            if store.delivered(target.name, channel, week):
                result.skipped.append((target.label, f"{week} was sent already"))
                continue
            if isinstance(target, Subscription) and target.origin == "dashboard":
                assert target.weekday is not None
                assert target.hour is not None
                due = due_at(monday, weekday=target.weekday, hour=target.hour,
                             timezone=target.timezone)  # fmt: skip
                if now < due:
                    result.skipped.append(
                        (target.label, f"{week} is due at {due:%Y-%m-%d %H:%M} UTC")
                    )
                    continue
            review_jobs.append(Job(target, channel, REVIEW, (week,)))
        wants_alerts = config.alerts.enabled and any(t.alerts for t, _ in targets)
        if not review_jobs and not wants_alerts:
            _report_skips(result, out)
            _say(out, f"Nothing to send for {week}.")
            return result

        source = open_source(data)
        added = stored_milestones(store_url)  # those added on the Growth page, as the page shows

        def community_as_of(moment: datetime) -> Community:
            loaded = load_community(source, as_of=moment, engine=engine)
            return loaded.with_extra_milestones(added) if added.height else loaded

        community = community_as_of(now)
        _check_fresh(community, monday)
        review = weekly_review(community, week, inactive_days=config.inactive_days)

        alert_jobs: list[Job] = []
        if wants_alerts:
            found = find_alerts(
                config, community, review, monday, lambda: community_as_of(now - timedelta(days=7))
            )
            for target, channel in targets:
                if not target.alerts:
                    continue
                new = tuple(a for a in found if not store.delivered(target.name, channel, a.key))
                if new:
                    alert_jobs.append(
                        Job(target, channel, ALERT, tuple(a.key for a in new), alerts=new)
                    )
        jobs = review_jobs + alert_jobs
        result.planned = jobs
        _report_skips(result, out)
        if dry_run:
            for job in jobs:
                _say(out, f"would send {job.what} to {job.target.label} ({job.channel}: "
                          f"{job.recipients})")  # fmt: skip
            for hook in config.webhooks:
                if not urls.get(hook.name):
                    _say(out, f"note: ${hook.url_env} is not set; {hook.label} would fail.")
            if not jobs:
                _say(out, f"Nothing to send for {week}.")
            return result

        if not jobs:
            _say(out, f"Nothing to send for {week}.")
        sender = _Sender(config, store, credentials, urls, out=out, err=err, sleep=sleep)
        built = _Built(review)
        for job in jobs:
            sender.send(job, _action(job, config, built, credentials, urls, as_of), result)
        return result
    finally:
        store.close()


class _Built:
    """What the e-mails share, built on first use: the chart images and the review files."""

    def __init__(self, review: WeeklyReview) -> None:
        self.review = review
        self._images: dict[str, tuple[bytes, str]] | None = None
        self._files: dict[str, bytes] = {}

    def images(self) -> dict[str, tuple[bytes, str]]:
        if self._images is None:
            self._images = digest.chart_images(self.review)
        return self._images

    def file(self, fmt: str) -> tuple[str, bytes]:
        if fmt not in self._files:
            self._files[fmt] = report.review_file(self.review, fmt)
        return fmt, self._files[fmt]


def _action(
    job: Job,
    config: DeliveryConfig,
    built: _Built,
    credentials: Credentials | None,
    urls: Mapping[str, str],
    as_of: datetime | None,
) -> Callable[[], None]:
    """What sends ``job`` (the message is built inside, so a build failure is logged too)."""
    target = job.target
    review = built.review
    link = _link(target, review.week, as_of)

    def post() -> None:
        assert isinstance(target, Webhook)
        payload = (
            digest.review_chat(target.kind, review, link)
            if job.kind == REVIEW
            else digest.alerts_chat(target.kind, job.alerts, link)
        )
        post_json(urls[target.name], payload, label=target.label)

    def mail() -> None:
        assert isinstance(target, Subscription)
        assert config.smtp is not None
        reason = f"You get this from Proofboard as {target.label}."
        if target.origin == "dashboard":
            reason += " Unsubscribe on the dashboard's Data page."
        envelope = digest.Envelope(config.smtp.sender, target.to, reason)
        try:
            if job.kind == REVIEW:
                message = digest.review_email(
                    review,
                    envelope,
                    images=built.images(),
                    attachment=built.file(target.format),
                    link=link,
                )
            else:
                message = digest.alerts_email(job.alerts, envelope, link=link)
        except (ProofboardError, RuntimeError) as exc:
            raise SendError(f"The e-mail could not be built: {exc}", permanent=True) from None
        send_email(config.smtp, message, credentials)

    return post if isinstance(target, Webhook) else mail


def _report_skips(result: RunResult, out: TextIO) -> None:
    for label, why in result.skipped:
        _say(out, f"skip {label}: {why}")
