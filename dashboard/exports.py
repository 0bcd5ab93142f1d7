"""The bytes behind every download button (kept apart from Streamlit so tests can check them)."""

from __future__ import annotations

import io

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
