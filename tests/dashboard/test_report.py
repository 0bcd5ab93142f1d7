"""``proofboard report``: a self-contained HTML file, an A4 PDF, clear errors, progress."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pypdf
import pytest

from analytics.community import load_community
from analytics.io import open_source
from analytics.weekly import default_week, weekly_review
from dashboard import digest, report
from dashboard.cli import main
from dashboard.report import review_html

WEEK = "2026-W20"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_html_report_is_self_contained_with_the_figures(
    demo_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "review.html"
    code, stdout, stderr = _run(
        ["report", "--data", str(demo_folder), "--week", WEEK, "--out", str(out)], capsys
    )
    assert code == 0, stderr
    assert f"Wrote the weekly review of {WEEK}" in stdout
    page = out.read_text(encoding="utf-8")
    # no external script or stylesheet: opens offline
    assert not re.search(r"<script[^>]*\ssrc=", page)
    assert not re.search(r"<link[^>]*stylesheet", page)
    assert page.count("plotly.js v") == 1  # plotly.js embedded once for every chart
    # the figures' data is in the page
    assert page.count("Plotly.newPlot(") == 3
    review = weekly_review(load_community(open_source(demo_folder)), WEEK)
    signups = review.signups["signups"].to_list()
    assert json.dumps(signups).replace(" ", "") in page.replace(" ", "")
    for sentence in review.summary[:3]:
        assert sentence.replace("'", "&#x27;") in page
    assert "How to read these figures" in page
    # progress: one line per step on stderr
    assert "Review: Key figures of the week" in stderr
    assert "Report: Done" in stderr
    assert "Traceback" not in stderr


def test_week_defaults_to_the_last_complete_week(
    demo_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "review.html"
    code, stdout, _ = _run(["report", "--data", str(demo_folder), "--out", str(out)], capsys)
    assert code == 0
    week = default_week(load_community(open_source(demo_folder)))
    assert f"Wrote the weekly review of {week}" in stdout
    assert f"<h1>Weekly review {week}</h1>" in out.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_pdf_report_has_a4_pages(
    demo_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "review.pdf"
    code, _, stderr = _run(
        ["report", "--data", str(demo_folder), "--week", WEEK, "--out", str(out)], capsys
    )
    assert code == 0, stderr
    assert out.read_bytes().startswith(b"%PDF")
    reader = pypdf.PdfReader(out)
    assert len(reader.pages) >= 1
    for page in reader.pages:
        box = page.mediabox
        assert float(box.width) == pytest.approx(595.3, abs=1.5)  # A4: 210 mm
        assert float(box.height) == pytest.approx(841.9, abs=1.5)  # 297 mm
    text = "".join(page.extract_text() for page in reader.pages)
    assert f"Weekly review {WEEK}" in text
    assert "Report: Printing the PDF" in stderr


def test_a_week_outside_the_data_exits_2_with_the_valid_range(
    demo_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "review.html"
    code, _, stderr = _run(
        ["report", "--data", str(demo_folder), "--week", "2019-W01", "--out", str(out)], capsys
    )
    assert code == 2
    assert "Week 2019-W01 is outside the data: complete weeks run from" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--week", "2026-46", "--out", "r.html"], "is not an ISO week"),
        (["--week", "2026-W60", "--out", "r.html"], "2026 has weeks 1 to 53"),
        (["--out", "review.docx"], "must end in .html or .pdf"),
    ],
)
def test_malformed_week_or_unknown_extension_exit_2(
    demo_folder: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["report", "--data", str(demo_folder), *argv])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_the_page_download_is_the_same_html(demo_folder: Path) -> None:
    review = weekly_review(load_community(open_source(demo_folder)), WEEK)
    page = review_html(review)
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("plotly.js v") == 1
    assert f"Weekly review {WEEK}" in page


def test_report_html_says_not_known_yet_for_unknown_churn(demo_folder: Path) -> None:
    community = load_community(open_source(demo_folder))
    week = default_week(community)
    assert week is not None
    review = weekly_review(community, week)
    churned = review.kpi("churned").kpi
    assert churned.value is None  # the last complete week: its churn is not known yet
    assert churned.known_from is not None
    page = review_html(review)
    row = re.search(r"<tr><td>Churned</td>(.*?)</tr>", page)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(1))
    assert cells[0] == "not known yet"  # this week
    assert cells[3] == "—"  # no change against an unknown figure
    assert f"known with data as of {churned.known_from:%Y-%m-%d}" in row.group(1)
    assert "Churn in the week is not known yet" in page
    members = review.kpi("members").kpi
    assert members.note is not None
    assert members.note in page


def test_review_csv_export_leaves_unknown_churn_empty_with_known_from(demo_folder: Path) -> None:
    import csv
    import io

    from dashboard import exports, tables

    community = load_community(open_source(demo_folder))
    week = default_week(community)
    assert week is not None
    review = weekly_review(community, week)
    text = exports.frame_csv(tables.for_csv(review.kpi_table())).decode()
    rows = {r["kpi"]: r for r in csv.DictReader(io.StringIO(text))}
    churned = rows["Churned"]
    assert churned["week"] == ""  # null, never 0
    assert churned["change_vs_previous"] == ""
    assert churned["known_from"] == f"{review.churn_known_on():%Y-%m-%d}"
    members = review.kpi("members").kpi
    assert members.value is not None
    assert rows["Members"]["week"] == str(int(members.value))  # 677, not 677.0
    retention = review.kpi("retention_90d").kpi
    assert retention.value is not None
    assert float(rows["90-day retention"]["week"]) == retention.value  # shares keep precision


@pytest.mark.parametrize(
    ("control", "said", "column"),
    [
        ("per_item", "Holm-adjusted p ≤ 0.05", "Holm-adjusted p (verdict)"),
        ("fdr", "q ≤ 0.05 (false discovery rate)", "q (verdict)"),
    ],
)
def test_report_chart_and_email_name_the_error_control_used(
    demo_folder: Path, control: str, said: str, column: str
) -> None:
    community = load_community(open_source(demo_folder))
    review = weekly_review(community, WEEK, error_control=control)  # type: ignore[arg-type]
    assert review.impact is not None
    # a review with one clear finding and one without any: both name the threshold used
    clear = replace(review.impact.items[0], verdict="helps", effect=0.05, adjusted_p=0.01)
    with_finding = replace(review, notable=(clear,))
    without = replace(review, notable=())
    for case in (with_finding, without):
        page = review_html(case)
        assert said in page
        if control == "per_item":
            assert "q ≤" not in page
    assert report.no_findings_text(without).startswith(
        f"No proof item shows an effect that stands out from chance at {said} among"
    )
    # the forest plot's legend, with one item made clear
    import polars as pl

    from dashboard import charts

    table = (
        review.impact.table()
        .with_row_index()
        .with_columns(
            pl.when(pl.col("index") == 0)
            .then(pl.lit("helps"))
            .otherwise(pl.col("verdict"))
            .alias("verdict"),
            pl.col("effect").fill_null(0.05),
            pl.col("ci_low").fill_null(0.01),
            pl.col("ci_high").fill_null(0.09),
        )
    )
    figure = charts.forest_plot(table, settings=review.impact.settings, subtitle="test")
    legend = {t.name for t in figure.data}
    assert f"Helps: {said}" in legend
    assert control == "fdr" or not any("q ≤" in str(n) for n in legend)
    # the e-mail's findings table names the adjusted p the verdict used
    message = digest.review_email(
        with_finding,
        digest.Envelope("proofboard@example.org", ("lead@example.org",), "a test"),
        images={},
        attachment=None,
        link=None,
    )
    body = message.get_body(("html",))
    assert body is not None
    text = body.get_content()
    assert f"<th>{column}</th>" in text or column in text
    assert said in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
