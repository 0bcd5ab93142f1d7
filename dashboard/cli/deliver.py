"""``proofboard deliver``: the weekly review and alerts by e-mail and chat, for cron, a systemd
timer or a Kubernetes CronJob (see :mod:`dashboard.deliver`)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dashboard.cli.common import SOURCE_HELP, add_as_of, add_engine


def add_parser(subparsers: Any) -> None:
    """Add ``deliver`` to the ``proofboard`` parser."""
    p = subparsers.add_parser(
        "deliver",
        help="send the weekly review and alerts by e-mail and to chat webhooks (run from cron)",
        description=(
            "Send the weekly review of the last complete ISO week before now (--as-of stands "
            "in for now) to every subscription of delivery.toml and of the dashboard that has "
            "not had it yet: by e-mail (HTML with the summary, key figures and charts inline, a "
            "plain-text part and the review attached as PDF or HTML) and to Slack, Microsoft "
            "Teams or Mattermost webhooks. Alerts (a proof item's verdict changed, new members "
            "or churn outside the range of the 8 weeks before, a milestone's estimate became "
            "available) go to the same channels, each once. Every attempt is logged in the SQL "
            "store; running it twice sends nothing the second time. A failed send is retried "
            "with backoff and not marked as sent; the exit code is 1 when anything failed. "
            "SMTP credentials come from PROOFBOARD_SMTP_USER and PROOFBOARD_SMTP_PASSWORD (or "
            "[proofboard.smtp] in .streamlit/secrets.toml), a webhook's URL from the variable "
            "its url_env names."
        ),
    )
    p.add_argument("--data", required=True, metavar="SOURCE", help=SOURCE_HELP)
    add_engine(p)
    p.add_argument(
        "--config",
        required=True,
        metavar="DELIVERY_TOML",
        help="the delivery configuration: [store], [smtp], [[subscription]], [[webhook]] "
        "(see the README)",
    )
    add_as_of(p)
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be sent, and to whom; send and log nothing",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dashboard.deliver import deliver, load_config

    config = load_config(args.config)
    result = deliver(
        config, data=args.data, as_of=args.as_of, dry_run=args.dry_run, engine=args.engine
    )
    if not args.dry_run and (result.sent or result.failed):
        print(
            f"{result.week}: {len(result.sent)} sent, {len(result.failed)} failed",
            file=sys.stderr if result.failed else sys.stdout,
        )
    return result.exit_code
