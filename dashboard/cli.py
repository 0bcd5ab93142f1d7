"""The ``proofboard`` command line.

Every subcommand takes a data source as a folder of CSV/Parquet files or a SQLAlchemy URL and
calls the same analytics functions as the dashboard. Errors print one clear line and exit 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from analytics.contract import EARLIEST_YEAR, LATEST_YEAR, RANGE_HELP
from analytics.errors import DataContractError, ProofboardError
from dashboard import cli_deliver

if TYPE_CHECKING:
    import polars as pl

    from analytics.quality import QualityReport

APP_PATH = Path(__file__).resolve().parent / "app.py"
ENV_DATA = "PROOFBOARD_DATA"
ENV_ENGINE = "PROOFBOARD_ENGINE"

SOURCE_HELP = (
    "a data folder holding members.csv, activity.csv, ... (or .parquet), or a SQLAlchemy URL "
    "such as sqlite:///data/proofboard.db or postgresql+psycopg://user@host/db"
)


class Progress:
    """Progress on stderr: a redrawn bar on a terminal, one line per step otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.last_step = ""

    def __call__(self, step: str, fraction: float) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self.tty:
            filled = int(fraction * 30)
            bar = "#" * filled + "." * (30 - filled)
            self.stream.write(f"\r[{bar}] {fraction:4.0%} {step[:60]:<60}")
            if fraction >= 1.0:
                self.stream.write("\n")
        elif step != self.last_step:
            self.stream.write(f"{fraction:4.0%} {step}\n")
        self.stream.flush()
        self.last_step = step


def parse_timestamp(text: str) -> datetime:
    """An ``--as-of`` value: ISO 8601 date or date-time; without an offset it is UTC."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 timestamp (e.g. 2025-06-30 or 2025-06-30T12:00:00Z)"
        ) from exc
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if not EARLIEST_YEAR <= value.year < LATEST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{text!r} is outside {EARLIEST_YEAR}-{LATEST_YEAR - 1}: {RANGE_HELP}"
        )
    return value


def _default_source(progress: Callable[[str, float], None]) -> str:
    from analytics.embedded import default_database, default_url, ensure_default_database

    if ensure_default_database(progress=progress):
        print(f"Created the demo community in {default_database()}", file=sys.stderr)
    return default_url()


def secrets_files() -> tuple[Path, ...]:
    """The secrets.toml files Streamlit reads, in its order (a later one wins): the user's
    ``~/.streamlit/secrets.toml``, then ``.streamlit/secrets.toml`` where the dashboard runs."""
    return (Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml")


def secrets_data(files: Sequence[Path] | None = None) -> str | None:
    """``data`` of the ``[proofboard]`` section of the secrets.toml files, as the dashboard
    will read it (``None`` when none sets it)."""
    import tomllib

    from analytics.io.upload import read_text_file

    found = None
    for path in secrets_files() if files is None else files:
        if not path.is_file():
            continue
        try:
            section = tomllib.loads(read_text_file(path)).get("proofboard", {})
        except tomllib.TOMLDecodeError as exc:
            raise ProofboardError(
                f"{path} is not valid TOML ({exc}). Fix: compare it with "
                ".streamlit/secrets.toml.example."
            ) from None
        value = section.get("data") if isinstance(section, dict) else None
        found = str(value) if value else found
    return found


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Start Streamlit. The source is ``--data``, else ``$PROOFBOARD_DATA``, else ``data`` in
    secrets.toml, else the embedded database (created here on first run); only ``--data`` is
    passed on in the environment, so the dashboard resolves the rest itself, as the README
    says (and as a browser session's "Connect a database" can override)."""
    from analytics.io import mask_url, open_source

    source = args.data or os.environ.get(ENV_DATA) or secrets_data()
    if not source:
        source = _default_source(Progress())
    open_source(source)  # fail here, with a clear message, rather than inside the app
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    if args.data:
        env[ENV_DATA] = args.data
    if args.engine:
        env[ENV_ENGINE] = args.engine
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP_PATH),
        "--server.headless", "true",
        "--server.port", str(args.port),
        "--server.address", args.host,
    ]  # fmt: skip
    shown = mask_url(source) if "://" in source else source
    print(f"Proofboard dashboard on {shown}")
    print(f"Open http://{'localhost' if args.host == '0.0.0.0' else args.host}:{args.port}")
    sys.stdout.flush()
    os.execve(sys.executable, command, env)
    return 0  # pragma: no cover - execve does not return


def cmd_demo(args: argparse.Namespace) -> int:
    from analytics.embedded import write_demo

    written, truth = write_demo(
        args.out,
        members=args.members,
        seed=args.seed,
        file_format=args.format,
        activity_scale=args.activity_scale,
        progress=Progress(),
    )
    rows = ", ".join(f"{name} {count:,}" for name, count in written.items())
    print(f"Wrote the demo community to {args.out}: {rows}")
    print(f"What was planted (for checking analyses): {truth}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from analytics.community import check_source
    from analytics.io import open_source

    report = check_source(open_source(args.data), as_of=args.as_of, engine=args.engine)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.to_text())
    return 0 if report.ok else 1


def _ingest_mapped(args: argparse.Namespace) -> tuple[dict[str, pl.DataFrame], QualityReport]:
    """Read FILES, apply the mapping of --map and check the result (nothing is written)."""
    from analytics.io.upload import read_text_file, read_upload_file
    from analytics.mapping import mapping_from_toml, prepare

    mapping = mapping_from_toml(read_text_file(Path(args.map)), origin=str(args.map))
    files: dict[str, pl.DataFrame] = {}
    for path in args.source:
        uploaded = read_upload_file(Path(path))
        if uploaded.name in files:
            raise ProofboardError(
                f"Two files are named {uploaded.name}. Fix: rename one; the mapping names "
                "files by their name alone."
            )
        files[uploaded.name] = uploaded.frame
    prepared = prepare(files, mapping, label=", ".join(sorted(files)))
    if prepared.community is None:
        raise DataContractError(prepared.report)
    return prepared.clean_tables(), prepared.community.report


def cmd_ingest(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.io import is_url, mask_url, open_source, write_database

    if not is_url(args.to):
        raise ProofboardError(
            f"--to must be a SQLAlchemy URL, got {args.to!r}. Fix: e.g. "
            "--to sqlite:///data/community.db or --to postgresql+psycopg://user@host/db"
        )
    progress = Progress()
    progress("Reading and checking the source", 0.0)
    if args.map:
        tables, report = _ingest_mapped(args)
    else:
        if len(args.source) != 1:
            raise ProofboardError(
                f"Without --map, ingest copies one SOURCE (a folder or URL); got "
                f"{len(args.source)}. Fix: pass one source, or files with --map mapping.toml."
            )
        community = load_community(open_source(args.source[0]))
        report = community.report
        tables = {
            name: frame
            for name, frame in {
                "members": community.members,
                "activity": community.activity,
                "proof_items": community.proof_items,
                "exposures": community.exposures,
                "milestones": community.milestones,
            }.items()
            if frame is not None
        }
    write_database(tables, args.to, progress=progress)
    for issue in report.warnings:
        print(f"warning: {issue.text()}", file=sys.stderr)
    rows = ", ".join(f"{name} {frame.height:,}" for name, frame in tables.items())
    print(f"Copied into {mask_url(args.to)}: {rows}")
    return 0


def format_matrix(payload: dict[str, object]) -> str:
    """The cohort matrix as a readable table: shares in %, ``·`` for incomplete cells."""
    cohorts = payload["cohorts"]
    assert isinstance(cohorts, list)
    width = max((len(c["retention"]) for c in cohorts), default=0)
    period = str(payload["period"])
    head = f"{'cohort':<10} {'size':>7} " + " ".join(
        f"{f'{period[0]}{k}':>6}" for k in range(width)
    )
    lines = [
        f"Retention by {period} after joining, as of {payload['as_of']}",
        "(share of each join cohort with any activity in that period; · = not complete yet)",
        head,
    ]
    for cohort in cohorts:
        cells = " ".join(
            f"{'·':>6}" if share is None else f"{share:>6.1%}" for share in cohort["retention"]
        )
        lines.append(f"{cohort['cohort']:<10} {cohort['size']:>7,} {cells}")
    if not cohorts:
        lines.append("(no cohort has a complete period yet)")
    return "\n".join(lines)


def cmd_retention(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.retention import cohort_matrix

    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    progress("Computing the cohort matrix", 0.6)
    matrix = cohort_matrix(community, period=args.period)
    progress("Done", 1.0)
    payload = matrix.to_json()
    print(json.dumps(payload) if args.json else format_matrix(payload))
    return 0


def cmd_overview(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.known import not_known_text
    from analytics.overview import kpi_frame, kpi_json, overview_kpis
    from analytics.periods import Period
    from dashboard.exports import frame_csv
    from dashboard.tables import for_csv

    if args.days < 1:
        raise ProofboardError(f"--days must be at least 1, got {args.days}.")
    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    last = community.as_of.date()
    period = Period.from_dates(last - timedelta(days=args.days - 1), last, as_of=community.as_of)
    progress("Computing the key figures", 0.6)
    kpis = overview_kpis(community, period, inactive_days=args.inactive_days)
    progress("Done", 1.0)
    if args.json:
        print(json.dumps({"period": period.label(), "as_of": community.as_of.isoformat(),
                          "kpis": kpi_json(kpis)}))  # fmt: skip
    elif args.csv:
        sys.stdout.write(frame_csv(for_csv(kpi_frame(kpis))).decode("utf-8"))
    else:
        print(f"Key figures {period.label()} (data as of {community.as_of:%Y-%m-%d %H:%M} UTC)")
        for k in kpis:
            if k.value is None:
                shown = not_known_text(k.known_from) if not k.known else "—"
            else:
                shown = f"{k.value:.1%}" if k.unit == "share" else f"{k.value:,.0f}"
            note = f"  ({k.note})" if k.note else ""
            print(f"  {k.label:<22}{shown}{note}")
    return 0


def format_effects(rows: list[dict[str, object]], *, landmark: int, horizon: int) -> str:
    """The effects as a readable ranked table (``adj. p``: the q-value or Holm-adjusted p-value
    the verdict used, as the rows' ``error_control`` says)."""

    def points(value: object) -> str:
        return "" if value is None else f"{float(value) * 100:+.1f}"  # type: ignore[arg-type]

    lines = [
        f"Retention effect of early exposure (first {landmark} days) on still being a member "
        f"{horizon} days later, in percentage points; naive = ever exposed vs never; trial = "
        "newly exposed on an active day vs active members not yet exposed (sequential trials, "
        "per-member 95 % CI).",
        f"{'verdict':<17}{'effect':>8}{'95 % CI':>17}{'adj. p':>8}{'naive':>8}{'trial':>8}"
        f"{'trial 95 % CI':>17}{'exposed':>9}  item",
    ]
    controls = {str(r.get("error_control")) for r in rows if r.get("error_control")}
    if controls == {"fdr"}:
        lines.insert(1, "adj. p = Benjamini–Hochberg q: fewer than 1 in 20 items flagged this way "
                        "is a false alarm.")  # fmt: skip
    elif controls == {"per_item"}:
        lines.insert(1, "adj. p = Holm-adjusted p: this item alone: a 1-in-20 chance of a false "
                        "alarm.")  # fmt: skip
    for row in rows:
        ci = (
            f"{points(row['ci_low'])} to {points(row['ci_high'])}"
            if row["ci_low"] is not None
            else ""
        )
        used = row.get("adjusted_p", row["q_value"])
        q = "" if used is None else f"{float(used):.3f}"  # type: ignore[arg-type]
        trial_ci = (
            f"{points(row.get('trial_ci_low'))} to {points(row.get('trial_ci_high'))}"
            if row.get("trial_ci_low") is not None
            else ""
        )
        lines.append(
            f"{row['verdict']!s:<17}{points(row['effect']):>8}{ci:>17}{q:>8}"
            f"{points(row['naive_effect']):>8}{points(row.get('trial_effect')):>8}{trial_ci:>17}"
            f"{row['n_exposed']!s:>9}  {row['title']}"
        )
        if row["verdict"] == "not_identifiable":
            lines.append(f"{'':<17}why: {row['reason']}")
    return "\n".join(lines)


def cmd_effects(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.impact import ImpactSettings, estimate_effects
    from analytics.io import open_source

    settings = ImpactSettings(
        landmark_days=args.landmark_days,
        horizon_days=args.horizon_days,
        recency_days=args.recency_days,
        inactive_days=args.inactive_days,
        bootstrap=args.bootstrap,
        error_control=args.error_control,
    )
    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    if args.segment:
        chosen: dict[str, list[str]] = {}
        for spec in args.segment:
            attribute, _, value = spec.partition("=")
            if attribute not in community.attributes or not value:
                known = ", ".join(community.attributes) or "none"
                raise ProofboardError(
                    f"--segment {spec!r}: write ATTRIBUTE=VALUE with one of the member attributes "
                    f"({known})."
                )
            chosen.setdefault(attribute, []).append(value)
        community = community.filter_members({a: tuple(v) for a, v in chosen.items()})
    result = estimate_effects(community, settings, progress=progress)
    rows = result.to_json()
    if args.json:
        print(json.dumps(rows))
    else:
        print(f"Who is compared: {result.estimand}.")
        print(format_effects(rows, landmark=settings.landmark_days, horizon=settings.horizon_days))
    return 0


def cmd_import_stackexchange(args: argparse.Namespace) -> int:
    from analytics.io import is_url, write_tables
    from analytics.io.stackexchange import read_stackexchange
    from analytics.io.write import check_replaceable_database, check_replaceable_folder

    progress = Progress()
    imported = read_stackexchange(Path(args.path), progress=progress)
    if is_url(str(args.out)):
        check_replaceable_database(str(args.out), imported.tables)
    else:
        check_replaceable_folder(Path(args.out), imported.tables)
    write_tables(imported.tables, args.out, progress=progress)
    print(imported.summary())
    print(f"Wrote the community to {args.out}")
    return 0


def cmd_milestones(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.milestones import MilestoneSettings, estimate_milestones

    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    result = estimate_milestones(
        community, MilestoneSettings(window_days=args.window_days), progress=progress
    )
    rows = result.to_json()
    if args.json:
        print(json.dumps(rows))
        return 0
    print(
        f"Signups in the {args.window_days} days after each announcement against a counterfactual "
        f"(trend + weekday, 8 weeks before); p and interval calibrated on {result.placebo_count} "
        f"placebo dates. The model alone would raise false alarms on "
        f"{(result.false_alarm_rate or 0):.0%} of them."
    )
    head = f"{'verdict':<14}{'uplift':>8}{'95 % CI':>18}{'p':>7}{'observed':>10}{'expected':>10}"
    print(head + "  title")
    for row in rows:
        ci = f"{row['ci_low']:+.0%} to {row['ci_high']:+.0%}" if row["ci_low"] is not None else ""
        uplift = "" if row["uplift"] is None else f"{row['uplift']:+.0%}"
        p = "" if row["p_value"] is None else f"{row['p_value']:.3f}"
        observed = "" if row["observed_signups"] is None else f"{row['observed_signups']:,}"
        expected = "" if row["expected_signups"] is None else f"{row['expected_signups']:,.0f}"
        print(f"{row['verdict']:<14}{uplift:>8}{ci:>18}{p:>7}{observed:>10}{expected:>10}  "
              f"{row['title']}")  # fmt: skip
    return 0


def format_risk(payload: dict[str, object], *, limit: int) -> str:
    """The risk ranking as a readable table, with the model's check against the baseline."""
    members = payload["members"]
    assert isinstance(members, list)
    lines = [
        f"Churn risk within {payload['horizon_days']} days, as of {payload['as_of']}.",
    ]
    if payload["auc"] is None:
        lines.append(f"No model: {payload['reason']}")
        return "\n".join(lines)
    verdict = (
        "beats the recency-only baseline"
        if payload["beats_baseline"]
        else "does NOT beat the recency-only baseline; members are ranked by days since last "
        "activity"
    )
    lines.append(
        f"Held-out ROC AUC {payload['auc']:.3f} vs baseline {payload['baseline_auc']:.3f}; "
        f"PR AUC {payload['pr_auc']:.3f} vs {payload['baseline_pr_auc']:.3f}: the model {verdict}."
    )
    lines.append(f"{'rank':>5}  {'risk':>6}  {'member_id':<20}factors")
    for rank, row in enumerate(members[:limit], start=1):
        factors = "-" if row["factors"] is None else "; ".join(row["factors"]) or "-"
        lines.append(f"{rank:>5}  {row['risk']:>6.1%}  {row['member_id']!s:<20}{factors}")
    if len(members) > limit:
        lines.append(f"... and {len(members) - limit:,} more (--top N, or --json for all)")
    return "\n".join(lines)


def cmd_risk(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.risk import RiskSettings, churn_risk

    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    settings = RiskSettings(horizon_days=args.horizon_days, inactive_days=args.inactive_days)
    result = churn_risk(community, settings, progress=progress)
    payload = result.to_json()
    if args.json:
        print(json.dumps(payload))
    else:
        print(format_risk(payload, limit=args.top))
    return 0


EXPORT_FORMATS = ("png", "svg", "html", "csv")


def cmd_export_chart(args: argparse.Namespace) -> int:
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
    from dashboard.catalog import build

    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    progress(f"Computing the {args.name} chart", 0.4)
    fig, frame = build(args.name, community)
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


def _week_argument(text: str) -> str:
    from analytics.weekly import WeekError, parse_week, week_label

    try:
        return week_label(parse_week(text))
    except WeekError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _report_path(text: str) -> Path:
    from dashboard.report import ReportError, check_output_path

    try:
        return check_output_path(text)
    except ReportError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_report(args: argparse.Namespace) -> int:
    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.weekly import WeekError, default_week, weekly_review
    from dashboard.report import write_report

    progress = Progress()
    progress("Reading and checking the data", 0.0)
    community = load_community(open_source(args.data), as_of=args.as_of, engine=args.engine)
    week = args.week or default_week(community)
    try:
        if week is None:
            raise WeekError(
                f"The data (as of {community.as_of:%Y-%m-%d %H:%M} UTC) does not cover a "
                "complete ISO week yet, so there is no week to review."
            )
        review = weekly_review(
            community,
            week,
            inactive_days=args.inactive_days,
            progress=lambda step, f: progress(f"Review: {step}", 0.05 + 0.6 * f),
            error_control=args.error_control,
        )
    except WeekError as exc:
        print(f"proofboard report: error: {exc}", file=sys.stderr)
        return 2
    out = write_report(
        review, args.out, progress=lambda step, f: progress(f"Report: {step}", 0.65 + 0.35 * f)
    )
    print(f"Wrote the weekly review of {review.week} to {out}")
    return 0


ENGINE_CHOICES = ("polars", "polars-eager", "duckdb", "spark", "sql")


def _add_data(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, metavar="SOURCE", help=SOURCE_HELP)
    _add_engine(parser)


def _add_engine(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        help="where the event-level queries run: polars (streaming; the default for folders), "
        "polars-eager (in memory), duckdb (folders; the duckdb extra), spark (folders; the "
        "spark extra, master from $PROOFBOARD_SPARK_MASTER, default local[2]) or sql (inside "
        "the database; the default for database URLs other than SQLite)",
    )


def _add_as_of(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--as-of",
        type=parse_timestamp,
        metavar="TIMESTAMP",
        help="analyse the data as of this time (default: the latest timestamp in the data)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="proofboard",
        description=(
            "Proofboard: which of a community's social proof actually works. Reads signup, "
            "activity and churn data (a folder of CSV/Parquet files or a SQL database) and "
            "answers with honest statistics."
        ),
        epilog="Run `proofboard COMMAND --help` for the options of each command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "dashboard",
        help="start the dashboard (default: the embedded demo database under data/)",
        description=(
            "Start the Streamlit dashboard on a data source. Without --data it uses "
            f"${ENV_DATA} when set, else the embedded SQLite database data/proofboard.db, "
            "creating it with the demo community on first run."
        ),
    )
    p.add_argument("--data", metavar="SOURCE", help=SOURCE_HELP)
    _add_engine(p)
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    p.add_argument("--host", default="localhost", help="address to listen on (default localhost)")
    p.set_defaults(func=cmd_dashboard)

    p = sub.add_parser(
        "demo",
        help="write the seeded demo community with planted effects",
        description=(
            "Generate a realistic synthetic community (two years of signups, activity, churn, "
            "proof items, badges, milestones) with planted, known effects, and write it with a "
            "truth.json beside it that records what was planted."
        ),
    )
    p.add_argument("--members", type=int, default=10_000, help="number of members (default 10000)")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--out", required=True, metavar="DIR_OR_URL", help="a folder or SQLAlchemy URL")
    p.add_argument(
        "--format",
        choices=["parquet", "csv"],
        default="parquet",
        help="file format when --out is a folder (default parquet)",
    )
    p.add_argument(
        "--activity-scale",
        type=float,
        default=1.0,
        metavar="FACTOR",
        help="multiply every member's activity rate, for denser benchmark data (default 1.0; "
        "2.158 gives about 48.6 activity rows per member)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "ingest",
        help="check a source (or files with a column mapping) and copy it into a SQL database",
        description=(
            "Read SOURCE, check it against the data contract and copy its tables into the "
            "database at --to in one transaction: on any error the target stays as it was. "
            "Tables of the same names in the target are replaced; other tables are left alone. "
            "With --map, SOURCE is one or more CSV/Parquet files in your own column names and "
            "mapping.toml says which file holds which table and which column is which (the "
            "Data page of the dashboard offers the guessed mapping as a download)."
        ),
    )
    p.add_argument(
        "source",
        metavar="SOURCE",
        nargs="+",
        help=SOURCE_HELP + "; with --map: the CSV/Parquet files the mapping names",
    )
    p.add_argument(
        "--map",
        metavar="MAPPING_TOML",
        help='a column mapping (see the README): [members] file = "users.csv", '
        '[members.columns] member_id = "user_id", ...',
    )
    p.add_argument("--to", required=True, metavar="URL", help="SQLAlchemy URL of the target")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser(
        "validate",
        help="print the data-quality report of a source",
        description=(
            "Check a source against the data contract and print every error (which stops a "
            "load) and warning (rows left out, members without activity, ...). Exit code 1 "
            "when there are errors."
        ),
    )
    _add_data(p)
    _add_as_of(p)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser(
        "import",
        help="import real community data (Stack Exchange data dumps)",
        description=(
            "Convert a community's own export into the data contract and write it to a folder "
            "or database (--out DIR_OR_URL). Run `proofboard import FORMAT --help` for a format."
        ),
    )
    formats = p.add_subparsers(dest="format", required=True, metavar="FORMAT")
    se = formats.add_parser(
        "stackexchange",
        help="a Stack Exchange data dump: the site's .7z archive or its extracted folder",
        description=(
            "Read Users.xml, Posts.xml, Comments.xml (when present) and Badges.xml of a "
            "Stack Exchange data dump (the site's .7z archive, extracted to a temporary folder "
            "that is removed afterwards, or the extracted folder) and write members, activity "
            "(questions, answers, comments), proof_items (one per badge) and exposures (each "
            "award). Rows of the bot account, without an owner or of unknown accounts are "
            "counted and left out. Only what is known at signup becomes a member attribute "
            "(nothing: reputation and votes are measured at dump time)."
        ),
    )
    se.add_argument(
        "path", metavar="PATH", help="the site's .7z archive or the extracted dump folder"
    )
    se.add_argument("--out", required=True, metavar="DIR_OR_URL", help="a folder or SQLAlchemy URL")
    se.set_defaults(func=cmd_import_stackexchange)

    p = sub.add_parser(
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
            "Draw one of the dashboard's charts for its default view (the 90 days up to the "
            "as-of time, all members, default settings) and write it to --out. The image "
            "carries the chart's title, the filters and the data's as-of time. PNG and SVG "
            "need Chrome or Chromium. `--list` names the charts."
        ),
    )
    chart.add_argument("name", nargs="?", metavar="NAME", help="the chart (see --list)")
    chart.add_argument("--list", action="store_true", help="list the charts and exit")
    chart.add_argument("--data", metavar="SOURCE", help=SOURCE_HELP)
    _add_engine(chart)
    _add_as_of(chart)
    chart.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        help="png, svg, html (interactive, self-contained) or csv (the data behind the chart); "
        "default: from the extension of --out",
    )
    chart.add_argument("--out", metavar="FILE", help="the file to write")
    chart.set_defaults(func=cmd_export_chart)

    p = sub.add_parser(
        "risk",
        help="rank current members by their risk of churning soon, with the reasons",
        description=(
            "Train a gradient-boosted model on what was known at earlier cutoffs, check it on a "
            "later held-out cutoff against a recency-only baseline (days since last activity), "
            "and rank the members still present at the as-of time by their risk of churning "
            "within --horizon-days, with their top risk factors in words. With --json: "
            '{"auc", "baseline_auc", "members": [{"member_id", "risk", "factors"}, ...]} '
            "ranked by risk (and a few more keys). When the model does not beat the baseline, "
            "the risk is the baseline's."
        ),
    )
    _add_data(p)
    p.add_argument("--horizon-days", type=int, default=30, metavar="N", help="default 30")
    p.add_argument(
        "--inactive-days", type=int, default=30, metavar="N", help="quiet days before churn (30)"
    )
    _add_as_of(p)
    p.add_argument("--top", type=int, default=25, metavar="N", help="rows in the table (25)")
    p.add_argument("--json", action="store_true", help="print one JSON object with every member")
    p.set_defaults(func=cmd_risk)

    p = sub.add_parser(
        "report",
        help="write the weekly review of an ISO week as one HTML or PDF file",
        description=(
            "Write the Weekly review page for one ISO week as a file: the week's key figures "
            "against the week before and the average of the four weeks before, the notable "
            "social-proof findings, the milestones announced that week with their effect, a "
            "written summary and the method notes. FILE.html is self-contained (plotly.js "
            "embedded, opens offline, interactive charts); FILE.pdf is A4 with static charts "
            "(needs Chromium). Exit code 2 for a malformed week, a week outside the data or "
            "an unknown file type."
        ),
    )
    _add_data(p)
    p.add_argument(
        "--week",
        type=_week_argument,
        metavar="YYYY-Www",
        help="the ISO week, e.g. 2026-W46 (default: the last complete week before the as-of time)",
    )
    p.add_argument(
        "--out", required=True, type=_report_path, metavar="FILE", help="FILE.html or FILE.pdf"
    )
    p.add_argument(
        "--inactive-days", type=int, default=30, metavar="N", help="quiet days before churn (30)"
    )
    p.add_argument(
        "--error-control",
        choices=["per_item", "fdr"],
        default="per_item",
        help="which error a social-proof helps/hurts verdict controls: per_item (default, Holm) "
        "or fdr (Benjamini–Hochberg)",
    )
    _add_as_of(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "overview",
        help="print the Overview's key figures for the last N days",
        description=(
            "Members, new members, active members, churned members and 90-day retention for the "
            "last --days days up to the as-of time, each against the period before, as on the "
            "Overview page. A figure not known yet (churn within the quiet-day window) is "
            "'not known yet' with the day it will be known: null with known_from in JSON and "
            "CSV, never 0."
        ),
    )
    _add_data(p)
    p.add_argument("--days", type=int, default=30, metavar="N", help="the period's length (30)")
    p.add_argument(
        "--inactive-days", type=int, default=30, metavar="N", help="quiet days before churn (30)"
    )
    _add_as_of(p)
    shape = p.add_mutually_exclusive_group()
    shape.add_argument("--json", action="store_true", help="print one JSON object")
    shape.add_argument("--csv", action="store_true", help="print the key figures as CSV")
    p.set_defaults(func=cmd_overview)

    p = sub.add_parser(
        "milestones",
        help="estimate what each milestone announcement did to signups",
        description=(
            "For each milestone: signups in --window-days after the announcement against a "
            "counterfactual from the 8 weeks before (Poisson regression with trend and weekday), "
            "relative uplift with a 95 % interval and p-value calibrated on placebo dates, and a "
            "verdict (lift, drop, no_evidence, not_estimable)."
        ),
    )
    _add_data(p)
    p.add_argument("--window-days", type=int, default=14, metavar="N", help="default 14")
    _add_as_of(p)
    p.add_argument(
        "--json", action="store_true", help="print a JSON array, one object per milestone"
    )
    p.set_defaults(func=cmd_milestones)

    p = sub.add_parser(
        "retention",
        help="print the cohort retention matrix",
        description=(
            "Print the share of each join cohort (calendar week or month of joining) that was "
            "active in each week (7 days) or month (30 days) after joining. Cells not complete "
            "yet at the as-of time are null, never 0."
        ),
    )
    _add_data(p)
    p.add_argument("--period", choices=["week", "month"], required=True, help="week or month")
    p.add_argument(
        "--inactive-days",
        type=int,
        default=30,
        metavar="N",
        help="quiet days before silent churn (default 30; the matrix itself counts activity)",
    )
    _add_as_of(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_retention)

    p = sub.add_parser(
        "effects",
        help="estimate which proof items go with members staying",
        description=(
            "For each proof item: among members active in the week before day 30 (by default: "
            "some activity in the --recency-days before --landmark-days after joining, and no "
            "departure before it; decided only from what was known then) who could have seen "
            "it by then, the difference in the probability of still being a "
            "member --horizon-days later between those exposed in their first --landmark-days "
            "and comparable members who were not (adjusted for early activity, join time and "
            "member attributes; doubly robust). Items whose exposure is decided by activity or "
            "tenure are reported as not_identifiable. The naive ever-vs-never difference is "
            "printed beside it."
        ),
    )
    _add_data(p)
    p.add_argument("--landmark-days", type=int, default=30, metavar="N", help="default 30")
    p.add_argument("--horizon-days", type=int, default=90, metavar="N", help="default 90")
    p.add_argument(
        "--recency-days",
        type=int,
        default=7,
        metavar="N",
        help="who is compared: members with activity in the N days before the landmark "
        "(default 7: members active in the week before day 30)",
    )
    p.add_argument(
        "--inactive-days", type=int, default=30, metavar="N", help="quiet days before churn (30)"
    )
    p.add_argument(
        "--error-control",
        choices=["per_item", "fdr"],
        default="per_item",
        help="which error a helps/hurts verdict controls: per_item (default, Holm: this item "
        "alone has a 1-in-20 chance of a false alarm) or fdr (Benjamini–Hochberg: fewer than "
        "1 in 20 items flagged this way is a false alarm; for screening many items)",
    )
    p.add_argument(
        "--bootstrap",
        type=int,
        default=0,
        metavar="B",
        help="refitting bootstrap with B resamples for the intervals (default 0: influence-"
        "function intervals, much faster)",
    )
    _add_as_of(p)
    p.add_argument(
        "--segment",
        action="append",
        metavar="ATTRIBUTE=VALUE",
        help="analyse only members with this attribute value (repeatable; values of the same "
        "attribute are alternatives), e.g. --segment channel=ads",
    )
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per item")
    p.set_defaults(func=cmd_effects)

    cli_deliver.add_parser(
        sub, source_help=SOURCE_HELP, add_engine=_add_engine, add_as_of=_add_as_of
    )
    return parser


def _scrub(text: str, args: argparse.Namespace) -> str:
    """``text`` with the password of every URL given on the command line masked."""
    from analytics.io import is_url, scrub_secret

    values = [v for v in vars(args).values() if isinstance(v, str | Path)]
    values += [x for v in vars(args).values() if isinstance(v, list) for x in v]
    for value in values:
        if is_url(str(value)):
            text = scrub_secret(text, str(value))
    return text


def _fail(message: str, args: argparse.Namespace) -> None:
    print(f"proofboard: error: {_scrub(message, args)}", file=sys.stderr)


def _quiet_broken_pipe() -> int:
    """A reader such as ``head`` closed stdout: stop quietly, as Unix tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the broken pipe


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``proofboard`` console script.

    Every failure ends in one line on stderr, with the password of any URL given masked, and
    a non-zero exit; ``PROOFBOARD_DEBUG=1`` shows the traceback of an unexpected one.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except DataContractError as exc:
        print(_scrub(exc.report.to_text(), args), file=sys.stderr)
        _fail(str(exc), args)
        return 1
    except (ProofboardError, ValueError, OverflowError) as exc:
        _fail(str(exc), args)
        return 1
    except KeyboardInterrupt:
        print("proofboard: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if type(exc).__name__ == "ExportError":  # no browser to draw an image
            _fail(str(exc), args)
            return 1
        if os.environ.get("PROOFBOARD_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        _fail(
            f"unexpected {type(exc).__name__}: {first}. This is a bug in Proofboard or an input "
            "it does not check yet; run again with PROOFBOARD_DEBUG=1 for the traceback.",
            args,
        )
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
