"""The bytes behind every download button (kept apart from Streamlit so tests can check them)."""

from __future__ import annotations

import io
from datetime import date, datetime

import plotly.graph_objects as go
import polars as pl


def figure_html(fig: go.Figure) -> bytes:
    """A self-contained interactive HTML file: plotly.js is embedded, so it opens offline."""
    return fig.to_html(include_plotlyjs=True, full_html=True).encode("utf-8")


def frame_csv(frame: pl.DataFrame) -> bytes:
    """CSV with ISO 8601 UTC timestamps and a header row."""
    buffer = io.BytesIO()
    frame.write_csv(buffer, datetime_format="%Y-%m-%dT%H:%M:%SZ")
    return buffer.getvalue()


def slug(text: str) -> str:
    """A file-name-safe version of a title."""
    keep = [c.lower() if c.isalnum() else "-" for c in text]
    return "-".join(filter(None, "".join(keep).split("-")))


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
