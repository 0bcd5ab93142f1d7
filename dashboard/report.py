"""The weekly review as a file: one self-contained HTML page or an A4 PDF.

The HTML embeds plotly.js once, in the page's head before any chart, so it opens offline with
every chart interactive. The PDF is the same page with static SVG charts (made by
kaleido) printed to A4 by headless Chromium, which lays text, tables and page breaks out the
way a browser does.
"""

from __future__ import annotations

import base64
import html
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go
import polars as pl

from analytics.errors import ProofboardError
from analytics.impact import ImpactSettings, adjusted_p_name, error_control_words, threshold_words
from analytics.io import write_file
from analytics.known import known_from_text, not_known_text
from analytics.weekly import WeeklyReview
from dashboard import catalog, charts, exports, tables

Progress = Callable[[str, float], None]
FORMATS = (".html", ".pdf")
#: Static charts are drawn at this size (CSS pixels) and scaled to the page width (A4 minus
#: 15 mm margins is about 680 px).
STATIC_WIDTH = 900
PDF_TIMEOUT_S = 120


class ReportError(ProofboardError):
    """The report cannot be written (unknown file type, no browser to print the PDF)."""


@dataclass(frozen=True)
class ReviewChart:
    """A chart of the review as its catalog builder drew it, with its caption."""

    key: str
    drawn: catalog.Drawn
    caption: str

    @property
    def figure(self) -> go.Figure:
        return self.drawn.figure

    @property
    def data(self) -> pl.DataFrame:
        return self.drawn.data


def subtitle(review: WeeklyReview) -> str:
    return catalog.review_subtitle(review)


def review_charts(review: WeeklyReview) -> list[ReviewChart]:
    """The review's charts, in page order, each drawn by its :mod:`dashboard.catalog` builder
    (the page, the report, the e-mail and ``proofboard export chart`` draw the same)."""
    signups, kpis = catalog.review_signups(review), catalog.review_kpis(review)
    out = [
        ReviewChart(
            "signups",
            signups,
            "Bars: members who signed up each day, the reviewed week shaded; line: everyone "
            "who had joined by then (right axis); diamonds: milestone announcements.",
        ),
        ReviewChart(
            "kpis",
            kpis,
            "Each key figure in the reviewed week (blue) and the four weeks before (grey); "
            "dashed: the average of the four weeks before, drawn only when all four are known. "
            f"Churn is known only {review.inactive_days} quiet days after a week ends: a week "
            "whose churn is not known yet has no bar and reads 'not known yet'.",
        ),
    ]
    impact = review.impact
    if impact is not None and impact.population_size > 0 and not impact.table().is_empty():
        s = impact.settings
        findings = catalog.review_effects(review)
        out.append(
            ReviewChart(
                "findings",
                findings,
                f"Each dot: how much more (or less) likely members who saw or earned the item in "
                f"their first {s.landmark_days} days were to still be members {s.horizon_days} "
                "days later than comparable members, with its 95 % interval. Green helps, red "
                f"hurts ({error_control_words(s)}); grey could be chance; open circles: the "
                "naive ever-vs-never difference.",
            )
        )
    return out


# -- formatting ---------------------------------------------------------------------------------


def _fmt(value: float | None, unit: str, *, signed: bool = False) -> str:
    if value is None:
        return "—"
    if unit == "share":
        return f"{value * 100:+.1f} pts" if signed else f"{value:.1%}"
    return f"{value:+,.0f}" if signed else f"{value:,.1f}" if value % 1 else f"{value:,.0f}"


def _interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return f"{low:.1%} to {high:.1%}"


def kpi_rows(review: WeeklyReview) -> pl.DataFrame:
    """The key-figure table as shown (formatted text): a figure not known yet reads "not known
    yet" and no change is computed against it."""
    rows = []
    for c in review.kpis:
        kpi, unit = c.kpi, c.kpi.unit
        unknown = not_known_text(None)
        note = kpi.note or ""
        if not kpi.known:
            assert kpi.known_from is not None
            note = known_from_text(kpi.known_from)
        rows.append(
            {
                "key figure": kpi.label,
                "this week": _fmt(kpi.value, unit) if kpi.known else unknown,
                "95 % CI": _interval(*(kpi.ci or (None, None))),
                "week before": _fmt(kpi.previous, unit) if kpi.previous_known else unknown,
                "change": _fmt(c.change_vs_previous, unit, signed=True),
                "4-week average": _fmt(c.average, unit)
                if c.average_known_from is None
                else unknown,
                "4-week 95 % CI": _interval(*(c.average_ci or (None, None))),
                "vs 4-week average": _fmt(c.change_vs_average, unit, signed=True),
                "note": note,
            }
        )
    return pl.DataFrame(rows)


def verdict_p_column(settings: ImpactSettings) -> str:
    """The findings column holding the adjusted p-value the verdict used, named by the error
    control: "Holm-adjusted p (verdict)" or "q (verdict)"."""
    return f"{adjusted_p_name(settings)} (verdict)"


def no_findings_text(review: WeeklyReview) -> str:
    """What the findings section says when no item stands out, naming the threshold used."""
    assert review.impact is not None
    return (
        "No proof item shows an effect that stands out from chance "
        f"at {threshold_words(review.impact.settings)} among the "
        f"{len(review.impact.items)} analysed."
    )


def findings_rows(review: WeeklyReview) -> pl.DataFrame:
    """The notable findings as shown."""
    table = review.notable_table()
    if table.is_empty() or review.impact is None:
        return pl.DataFrame(schema={"item": pl.String})
    return table.select(
        pl.col("title").alias("item"),
        "kind",
        pl.col("verdict"),
        (pl.col("effect") * 100).round(1).alias("effect (pts)"),
        pl.format(
            "{} to {}", (pl.col("ci_low") * 100).round(1), (pl.col("ci_high") * 100).round(1)
        ).alias("95 % CI (pts)"),
        pl.col("adjusted_p").alias(verdict_p_column(review.impact.settings)),
        pl.col("n_exposed").alias("exposed"),
        pl.col("sentence").alias("what it means"),
    )


def milestone_rows(review: WeeklyReview) -> pl.DataFrame:
    """The week's milestones as shown."""
    table = review.milestone_table()
    if table.is_empty():
        return pl.DataFrame(schema={"title": pl.String})
    return table.select(
        *charts.milestone_columns(),
        pl.col("available_on").cast(pl.String).alias("estimate available with data as of"),
    )


# -- HTML ---------------------------------------------------------------------------------------

_CSS = """
@page { size: A4; margin: 15mm; }
* { box-sizing: border-box; }
body { font-family: Inter, "Segoe UI", Helvetica, Arial, sans-serif; color: #1F2430;
       max-width: 1100px; margin: 0 auto; padding: 24px; font-size: 14px; line-height: 1.45; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #E3E7EE; padding-bottom: 4px; }
.meta { color: #5B6475; margin: 0 0 16px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 4px; font-size: 12.5px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #EEF1F5;
         vertical-align: top; }
th { background: #F6F8FB; font-weight: 600; }
figure { margin: 12px 0 20px; break-inside: avoid; page-break-inside: avoid; }
figure img { width: 100%; height: auto; }
figcaption, .caption { color: #5B6475; font-size: 12.5px; }
ul.summary li { margin: 4px 0; }
.notes li { color: #3A4252; font-size: 12.5px; margin: 3px 0; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  table { font-size: 9.5px; }
  h2 { break-after: avoid; page-break-after: avoid; }
  tr { break-inside: avoid; }
}
"""


def _table_html(frame: pl.DataFrame) -> str:
    if frame.is_empty():
        return ""
    frame = tables.for_display(frame)  # the same words and formats as the page's tables
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{'' if v is None else html.escape(str(v))}</td>" for v in row)
        + "</tr>"
        for row in frame.iter_rows()
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _list_html(items: list[str], css: str) -> str:
    return f'<ul class="{css}">' + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>"


_STATIC_HEIGHTS = {"signups": 480, "kpis": 400}


def static_height(chart: ReviewChart) -> int:
    """The height (CSS pixels, at :data:`STATIC_WIDTH`) a chart is drawn at as an image."""
    return _STATIC_HEIGHTS.get(chart.key) or int(chart.figure.layout.height or 480)


def _figure_html(chart: ReviewChart, *, static: bool) -> str:
    if static:
        height = static_height(chart)
        svg = exports.figure_image(chart.figure, "svg", width=STATIC_WIDTH, height=height)
        body = (
            '<img alt="" src="data:image/svg+xml;base64,'
            + base64.b64encode(svg).decode("ascii")
            + '">'
        )
    else:
        body = chart.figure.to_html(
            full_html=False,
            include_plotlyjs=False,  # once, in the page's head (see review_html)
            div_id=f"chart-{chart.key}",
            config={"responsive": True, "displaylogo": False},
        )
    return f"<figure>{body}<figcaption>{html.escape(chart.caption)}</figcaption></figure>"


def review_html(
    review: WeeklyReview, *, static: bool = False, progress: Progress | None = None
) -> str:
    """The review as one HTML page: interactive charts with plotly.js embedded once, or
    (``static``) SVG images for printing."""
    report = progress or (lambda _s, _f: None)
    chart_list = review_charts(review)
    figures: dict[str, str] = {}
    for i, chart in enumerate(chart_list):
        report(f"Drawing chart {i + 1} of {len(chart_list)}", 0.1 + 0.6 * i / len(chart_list))
        figures[chart.key] = _figure_html(chart, static=static)
    findings = findings_rows(review)
    milestones = milestone_rows(review)
    parts = [
        f"<h1>Weekly review {html.escape(review.week)}</h1>",
        f'<p class="meta">{html.escape(review.days_label)} · data as of '
        f"{review.as_of:%Y-%m-%d %H:%M} UTC · churn after {review.inactive_days} quiet days</p>",
        "<h2>Summary</h2>",
        _list_html(review.summary, "summary"),
        "<h2>Key figures</h2>",
        _table_html(kpi_rows(review)),
        '<p class="caption">Change: against the week before (retention in percentage points). '
        "4-week average: the mean of the four weeks before for counts; for retention, the "
        "pooled share of those weeks.</p>",
        figures["kpis"],
        figures["signups"],
        "<h2>Social-proof findings</h2>",
    ]
    if review.impact is None:
        parts.append(f"<p>{html.escape(review.impact_note or '')}</p>")
    else:
        if findings.is_empty():
            parts.append(f"<p>{html.escape(no_findings_text(review))}</p>")
        else:
            parts.append(_table_html(findings))
        if "findings" in figures:
            parts.append(figures["findings"])
    parts.append("<h2>Milestones announced in the week</h2>")
    if review.milestones_note:
        parts.append(f"<p>{html.escape(review.milestones_note)}</p>")
    elif milestones.is_empty():
        parts.append("<p>No milestone was announced in the week.</p>")
    else:
        parts.append(_table_html(milestones))
    parts += ["<h2>How to read these figures</h2>", _list_html(review.method_notes, "notes")]
    title = html.escape(f"Proofboard weekly review {review.week}")
    # plotly.js once, before any chart (each chart's script calls Plotly as the page parses,
    # so a library embedded with a later chart leaves the earlier ones blank).
    script = "" if static else f'<script type="text/javascript">{plotly_js()}</script>'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}'
        f"</title><style>{_CSS}</style>{script}</head><body>{''.join(parts)}</body></html>\n"
    )


def plotly_js() -> str:
    """The plotly.js library as shipped with the plotly package (no network needed)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


# -- static images and PDF ----------------------------------------------------------------------


def find_browser() -> str:
    """The Chromium used to print the PDF: ``$BROWSER_PATH``, else chromium on the PATH."""
    found = exports.browser_path()
    if found:
        return found
    raise ReportError(
        "Writing a PDF needs Chromium, which was not found. Fix: install it "
        "(apt-get install chromium) or set BROWSER_PATH, or write an .html report instead."
    )


def print_pdf(page: str) -> bytes:
    """An HTML page printed to an A4 PDF with headless Chromium, as bytes."""
    browser = find_browser()
    with tempfile.TemporaryDirectory(prefix="proofboard-report-") as tmp:
        source = Path(tmp) / "review.html"
        source.write_text(page, encoding="utf-8")
        target = Path(tmp) / "review.pdf"
        command = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
            "--disable-background-networking", "--disable-component-update", "--no-first-run",
            f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={target}",
            source.as_uri(),
        ]  # fmt: skip
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=PDF_TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise ReportError(
                f"Chromium did not finish printing the PDF within {PDF_TIMEOUT_S} s."
            ) from None
        if not target.is_file() or target.stat().st_size == 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ReportError(f"Chromium could not print the PDF (exit {done.returncode}): {last}")
        return target.read_bytes()


def html_to_pdf(page: str, out: Path) -> None:
    """Print an HTML page to an A4 PDF with headless Chromium."""
    write_file(print_pdf(page), out)


def review_file(review: WeeklyReview, fmt: str, *, progress: Progress | None = None) -> bytes:
    """The review as the bytes of a file: ``"html"`` (interactive, self-contained) or
    ``"pdf"`` (A4, static charts). The same as :func:`write_report` writes."""
    report = progress or (lambda _s, _f: None)
    if fmt == "html":
        data = review_html(review, progress=report).encode("utf-8")
    elif fmt == "pdf":
        report("Starting the chart renderer", 0.05)
        page = review_html(review, static=True, progress=report)
        report("Printing the PDF", 0.8)
        data = print_pdf(page)
    else:
        raise ReportError(f"Cannot write a report as {fmt!r}: choose html or pdf.")
    return data


def check_output_path(path: str | Path) -> Path:
    """The output path, if its extension is one the report can be written as."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise ReportError(
            f"Cannot write a report as {out.name!r}: the file name must end in .html or .pdf."
        )
    return out


def write_report(
    review: WeeklyReview, path: str | Path, *, progress: Progress | None = None
) -> Path:
    """Write the review to ``path`` (``.html``: interactive, self-contained; ``.pdf``: A4)."""
    report = progress or (lambda _s, _f: None)
    out = check_output_path(path)
    if out.parent and not out.parent.is_dir():
        raise ReportError(f"The folder {out.parent} does not exist. Fix: create it first.")
    data = review_file(review, out.suffix.lower().lstrip("."), progress=report)
    if out.suffix.lower() == ".html":
        report("Writing the HTML file", 0.9)
    write_file(data, out)
    report("Done", 1.0)
    return out
