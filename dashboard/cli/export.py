"""``proofboard export chart``: one dashboard chart as PNG, SVG, HTML or CSV."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from analytics.churn import DEFAULT_INACTIVE_DAYS
from analytics.errors import ProofboardError
from dashboard.cli.common import (
    SOURCE_HELP,
    Progress,
    add_as_of,
    add_engine,
    add_segment,
    parse_date,
    segments,
)

EXPORT_FORMATS = ("png", "svg", "html", "csv")


def run(args: argparse.Namespace) -> int:
    from dashboard.catalog import CHARTS

    if args.list:
        width = max(len(n) for n in CHARTS)
        for chart in CHARTS.values():
            print(f"{chart.name:<{width}}  {chart.description} ({chart.page} page)")
        return 0
    if not args.name or not args.data or not args.out:
        print(
            "proofboard: error: export chart needs NAME, --data and --out (or --list to see the "
            "chart names)",
            file=sys.stderr,
        )
        return 2
    if args.name not in CHARTS:
        print(
            f"proofboard: error: no chart named {args.name!r}; `proofboard export chart --list` "
            "shows them",
            file=sys.stderr,
        )
        return 2
    out = Path(args.out)
    fmt = args.format or out.suffix.lstrip(".").lower()
    if fmt not in EXPORT_FORMATS:
        print(
            f"proofboard: error: cannot tell the format of {out.name!r}: give --format "
            f"{'|'.join(EXPORT_FORMATS)}",
            file=sys.stderr,
        )
        return 2
    if not out.parent.is_dir():
        print(f"proofboard: error: folder {out.parent} does not exist", file=sys.stderr)
        return 2

    from analytics.community import load_community
    from analytics.io import open_source, write_file
    from dashboard import exports
    from dashboard.catalog import DEFAULT_DAYS, View, build

    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    view = View.default(community)
    chosen = segments(args.segment, community)
    last = args.last or view.last
    first = args.first or max(last - timedelta(days=DEFAULT_DAYS - 1), view.first_join)
    if first > last:
        raise ProofboardError(f"--from {first} is after --to {last}: swap them.")
    view = View(community.filter_members(chosen), first, last, chosen, args.inactive_days)
    progress(f"Computing the {args.name} chart", 0.4)
    fig, frame = build(args.name, community, view)
    progress(f"Writing {fmt.upper()}", 0.8)
    if fmt == "html":
        data = exports.figure_html(fig)
    elif fmt == "csv":
        data = exports.frame_csv(frame)
    else:
        data = exports.figure_image(fig, fmt)  # type: ignore[arg-type]
    write_file(data, out)
    progress("Done", 1.0)
    print(f"Wrote {out} ({len(data):,} bytes)", file=sys.stderr)
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a dashboard chart as PNG, SVG, interactive HTML or its data as CSV",
        description=(
            "Export what the dashboard shows, outside the dashboard: "
            "`proofboard export chart NAME --data SOURCE --out FILE.png|svg|html|csv`; "
            "`proofboard export chart --list` names the charts."
        ),
    )
    kinds = p.add_subparsers(dest="kind", required=True, metavar="WHAT")
    chart = kinds.add_parser(
        "chart",
        help="one chart of the dashboard, for its default view (the 90 days up to the as-of "
        "time, all members)",
        description=(
            "Draw one of the dashboard's charts, with the same builder the page uses, for the "
            "view --from, --to, --segment and --inactive-days choose (default: the 90 days up to "
            "the as-of time, all members, default settings) and write it to --out. The image "
            "carries the chart's title, the filters and the data's as-of time. PNG and SVG "
            "need Chrome or Chromium. `--list` names the charts."
        ),
    )
    chart.add_argument("name", nargs="?", metavar="NAME", help="the chart (see --list)")
    chart.add_argument("--list", action="store_true", help="list the charts and exit")
    chart.add_argument("--data", metavar="SOURCE", help=SOURCE_HELP)
    add_engine(chart)
    add_as_of(chart)
    chart.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        help="png, svg, html (interactive, self-contained) or csv (the data behind the chart); "
        "default: from the extension of --out",
    )
    chart.add_argument("--out", metavar="FILE", help="the file to write")
    chart.add_argument(
        "--from",
        dest="first",
        type=parse_date,
        metavar="DAY",
        help="first day of the period (default: 89 days before --to), as the sidebar's dates",
    )
    chart.add_argument(
        "--to",
        dest="last",
        type=parse_date,
        metavar="DAY",
        help="last day of the period (default: the as-of day)",
    )
    add_segment(chart, "draw")
    chart.add_argument(
        "--inactive-days",
        type=int,
        default=DEFAULT_INACTIVE_DAYS,
        metavar="N",
        help=f"quiet days before churn ({DEFAULT_INACTIVE_DAYS})",
    )
    chart.set_defaults(func=run)
