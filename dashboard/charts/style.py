"""Shared look of every chart: the plotly template, colours, the title with its subtitle and
the one-line view caption."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import plotly.graph_objects as go
import plotly.io as pio

TEMPLATE_NAME = "proofboard"


COLORS = {
    "primary": "#2D5BFF",
    "secondary": "#F28C28",
    "muted": "#8A94A6",
    "good": "#1B9E77",
    "bad": "#D95F02",
}


pio.templates[TEMPLATE_NAME] = go.layout.Template(
    layout=go.Layout(
        font={"family": "Inter, Segoe UI, Helvetica, Arial, sans-serif", "size": 13},
        colorway=[COLORS["primary"], COLORS["secondary"], COLORS["good"], COLORS["bad"]],
        plot_bgcolor="white",
        paper_bgcolor="white",
        hovermode="x unified",
        margin={"l": 60, "r": 60, "t": 80, "b": 110},
        legend={"orientation": "h", "yanchor": "top", "y": -0.33, "xanchor": "left", "x": 0},
        xaxis={"showgrid": False, "linecolor": "#C8CED8", "ticks": "outside"},
        yaxis={"gridcolor": "#EEF1F5", "zeroline": False},
    )
)


def view_caption(as_of: datetime, segments: Mapping[str, Sequence[str]], period_label: str) -> str:
    """One line saying what a chart shows: period, segments, as-of time (every chart's subtitle,
    so that exported images carry it)."""
    chosen = [f"{a} = {', '.join(v)}" for a, v in segments.items() if v]
    segment_text = "; ".join(chosen) if chosen else "all members"
    return f"{period_label} · {segment_text} · data as of {as_of:%Y-%m-%d %H:%M} UTC"


def _title(title: str, subtitle: str) -> dict[str, object]:
    return {
        "text": title,
        "subtitle": {"text": subtitle, "font": {"size": 12, "color": COLORS["muted"]}},
        "x": 0,
        "xanchor": "left",
    }


def _pct_axis(title: str) -> dict[str, object]:
    return {"title": title, "tickformat": ".0%", "rangemode": "tozero"}


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"
