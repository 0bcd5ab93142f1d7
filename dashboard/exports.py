"""The bytes behind every download button and ``proofboard export`` (kept apart from Streamlit so
tests and the CLI can use them).

Static images (PNG, SVG) are drawn by kaleido in Debian's chromium. Starting a browser takes
several seconds, so one kaleido server is started on first use and kept for the life of the
process (it is stopped at exit); later images take a fraction of a second.
"""

from __future__ import annotations

import atexit
import io
import os
import re
import shutil
import threading
import warnings
from datetime import date, datetime
from typing import Literal

import plotly.graph_objects as go
import polars as pl

from analytics.errors import InputError, ProofboardError

ImageFormat = Literal["png", "svg"]
IMAGE_FORMATS: tuple[ImageFormat, ...] = ("png", "svg")
IMAGE_WIDTH, IMAGE_HEIGHT, PNG_SCALE = 1200, 650, 2

_server_lock = threading.Lock()
_server_started = False


NO_BROWSER = (
    "PNG and SVG need Chrome or Chromium to draw the chart, and none was found (on Debian: "
    "apt-get install chromium, or set BROWSER_PATH). The HTML and CSV downloads work without it."
)
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def browser_path() -> str | None:
    """The Chrome/Chromium that draws images and prints PDFs: ``$BROWSER_PATH`` when set, else
    the first one on the PATH; ``None`` when there is none."""
    path = os.environ.get("BROWSER_PATH")
    if path:
        return path if os.path.isfile(path) else None
    return next((found for name in _BROWSERS if (found := shutil.which(name))), None)


def images_available() -> bool:
    """Whether a Chrome/Chromium is there for kaleido to draw PNG and SVG with."""
    return browser_path() is not None


class ExportError(ProofboardError, RuntimeError):
    """A chart could not be drawn as an image (usually: no Chrome/Chromium to draw it with)."""


def _ensure_server() -> None:
    global _server_started
    if _server_started:
        return
    import kaleido

    kaleido.start_sync_server(silence_warnings=True)
    atexit.register(kaleido.stop_sync_server, silence_warnings=True)
    _server_started = True


def figure_image(
    fig: go.Figure, fmt: ImageFormat, *, width: int = IMAGE_WIDTH, height: int = IMAGE_HEIGHT
) -> bytes:
    """The chart as a PNG (at twice the size: 2400 x 1300 pixels by default) or SVG, with the
    figure's own title and subtitle (every dashboard chart's subtitle names the period, the
    filters and the data's as-of time). Raises ExportError when no browser can draw it."""
    if fmt not in IMAGE_FORMATS:
        raise InputError(f"Unknown image format {fmt!r}: choose one of {', '.join(IMAGE_FORMATS)}.")
    static = go.Figure(fig)
    static.update_layout(width=width, height=height, paper_bgcolor="white", plot_bgcolor="white")
    with _server_lock:  # one request at a time: the server is shared by all sessions
        try:
            _ensure_server()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "kopts ignored when using a server"
                data = static.to_image(
                    format=fmt, width=width, height=height, scale=PNG_SCALE if fmt == "png" else 1
                )
        except Exception as exc:  # kaleido/choreographer raise many kinds
            raise ExportError(
                f"The chart could not be drawn as {fmt.upper()}: {exc}. Static images need "
                "Chrome or Chromium (on Debian: apt-get install chromium); the HTML and CSV "
                "downloads work without it."
            ) from exc
    return bytes(data)


def figure_html(fig: go.Figure) -> bytes:
    """A self-contained interactive HTML file: plotly.js is embedded, so it opens offline."""
    return fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP, "CSV
#: Injection"): ``=``, ``+``, ``-``, ``@``, tab and carriage return.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(text: str) -> str:
    """``text`` with a single quote in front when a spreadsheet would run it as a formula
    (``=HYPERLINK(...)`` becomes ``'=HYPERLINK(...)``); other text is returned as it is."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """Nested columns as text, for formats without them: lists become "a, b, c", structs JSON."""
    return frame.with_columns(
        pl.col(name).cast(pl.List(dtype.inner)).list.eval(pl.element().cast(pl.String))
        .list.join(", ")
        if isinstance(dtype, pl.List | pl.Array)
        else pl.col(name).struct.json_encode()
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.List | pl.Array | pl.Struct)
    )  # fmt: skip


def safe_csv_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` ready for a CSV a person may open in a spreadsheet: nested columns flattened,
    and every text cell and column name that starts like a formula neutralised (see
    :func:`neutralise_formula`). Number, boolean and timestamp columns are left as they are, so
    numbers stay numbers (a negative number is not text)."""
    flat = _flat(frame)
    texts = [
        name for name, dtype in flat.schema.items()
        if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)
    ]  # fmt: skip
    pattern = "^[" + "".join(re.escape(c) for c in FORMULA_STARTS) + "]"
    safe = flat.with_columns(
        pl.when(pl.col(c).cast(pl.String).str.contains(pattern))
        .then(pl.lit("'") + pl.col(c).cast(pl.String))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in texts
    )
    return safe.rename({c: neutralise_formula(c) for c in safe.columns})


def frame_csv(frame: pl.DataFrame) -> bytes:
    """CSV with ISO 8601 UTC timestamps and a header row; text that a spreadsheet would run as
    a formula is neutralised (:func:`safe_csv_frame`). Every CSV Proofboard hands to a person
    (dashboard downloads, ``proofboard export ... --format csv``) is written here."""
    buffer = io.BytesIO()
    safe_csv_frame(frame).write_csv(buffer, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return buffer.getvalue()


def frame_parquet(frame: pl.DataFrame) -> bytes:
    """Parquet, types kept (timestamps stay timestamps in UTC)."""
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def frame_xlsx(frame: pl.DataFrame, sheet: str = "data") -> bytes:
    """An Excel workbook with one sheet. Excel has no time zones: timestamps are written as
    UTC without an offset, and the column header says so."""
    timestamps = [
        name for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    ]  # fmt: skip
    plain = frame.with_columns(pl.col(c).dt.replace_time_zone(None) for c in timestamps).rename(
        {c: f"{c} (UTC)" for c in timestamps}
    )
    # Nested columns have no cell type. Text is written as text (xlsxwriter's write_string:
    # a cell starting with "=" is not a formula), so no formula neutralising is needed here.
    plain = _flat(plain)
    buffer = io.BytesIO()
    plain.write_excel(buffer, worksheet=_sheet_name(sheet), autofit=True)
    return buffer.getvalue()


def _sheet_name(text: str) -> str:
    cleaned = "".join(c for c in text if c not in "[]:*?/\\")
    return (cleaned or "data")[:31]


def slug(text: str) -> str:
    """A file-name-safe version of a title."""
    keep = [c.lower() if c.isalnum() else "-" for c in text]
    return "-".join(filter(None, "".join(keep).split("-")))


#: a table longer than this is offered for pasting into a newsletter as a download only, not as
#: a code block on the page (thousands of highlighted lines take the browser seconds to draw)
PASTE_ROWS = 200


def frame_markdown(frame: pl.DataFrame) -> str:
    """A Markdown table (for a newsletter): timestamps as UTC dates and times, numbers as is."""

    def cell(value: object) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return value.strftime("%Y-%m-%d %H:%M UTC")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list):
            return "; ".join(cell(v) for v in value)
        if isinstance(value, float):
            return f"{value:,.3g}" if abs(value) < 1 else f"{value:,.1f}"
        return str(value).replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return "\n".join([head, rule, *body]) + "\n"
