"""Weekly-review charts: the week's signups and the key figures of the last weeks."""

from __future__ import annotations

from datetime import datetime, timedelta

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from dashboard.charts.growth import growth_chart
from dashboard.charts.style import COLORS, TEMPLATE_NAME, _title


def week_signups_chart(
    series: pl.DataFrame,
    milestones: pl.DataFrame,
    *,
    week_start: datetime,
    week_end: datetime,
    week: str,
    subtitle: str,
) -> go.Figure:
    """Signups per day over a reviewed week and the weeks before (the growth chart), the
    reviewed week shaded."""
    fig = growth_chart(series, milestones, granularity="day", subtitle=subtitle)
    fig.add_vrect(
        x0=week_start - timedelta(hours=12), x1=week_end - timedelta(hours=12), line_width=0,
        fillcolor=COLORS["primary"], opacity=0.08, annotation_text=week,
        annotation_position="top left",
    )  # fmt: skip
    fig.update_layout(title=_title(f"Signups per day: {week} and the weeks before", subtitle))
    return fig


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """``[first, last]`` index of each run of true values."""
    runs: list[tuple[int, int]] = []
    for i, flag in enumerate(flags):
        if not flag:
            continue
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs


def kpi_weeks_chart(history: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Each key figure in the reviewed week (blue) and the weeks before (grey), one panel per
    figure; the dashed line is the average of the weeks before."""
    keys = history["key"].unique(maintain_order=True).to_list()
    labels = history["kpi"].unique(maintain_order=True).to_list()
    fig = make_subplots(rows=1, cols=len(keys), subplot_titles=labels, horizontal_spacing=0.06)
    for i, key in enumerate(keys, start=1):
        rows = history.filter(pl.col("key") == key)
        share = rows["unit"][0] == "share"
        values = rows["value"].to_list()
        fig.add_bar(
            x=rows["week"].to_list(),
            y=values,
            marker_color=[COLORS["primary"] if r else COLORS["muted"] for r in rows["reviewed"]],
            name=labels[i - 1],
            showlegend=False,
            hovertemplate=("%{x}: %{y:.1%}" if share else "%{x}: %{y:,.0f}") + "<extra></extra>",
            row=1,
            col=i,
        )
        unknown = rows.filter(pl.col("known_from").is_not_null())
        if unknown.height:
            # not known yet: no bar (never 0), the words and the day it will be known instead;
            # the words once per run of unknown weeks (side by side they would overlap)
            weeks = rows["week"].to_list()
            flags = rows["known_from"].is_not_null().to_list()
            shown = {
                weeks[start + (end - start) // 2]
                for start, end in _runs(flags)  # [start, end] of each run of unknown weeks
            }
            fig.add_scatter(
                x=unknown["week"].to_list(),
                y=[0] * unknown.height,
                mode="text",
                text=["not known<br>yet" if w in shown else "" for w in unknown["week"]],
                textposition="top center",
                textfont={"color": COLORS["secondary"], "size": 10},
                customdata=[f"{d:%Y-%m-%d}" for d in unknown["known_from"]],
                hovertemplate="%{x}: not known yet, known with data as of %{customdata}"
                "<extra></extra>",
                showlegend=False,
                row=1,
                col=i,
            )
        before = [v for v, r in zip(values, rows["reviewed"], strict=True) if not r]
        known_before = [v for v in before if v is not None]
        if before and len(known_before) == len(before) and not share:
            fig.add_hline(
                y=sum(known_before) / len(known_before),
                line={"color": COLORS["secondary"], "dash": "dash", "width": 1.5},
                row=1,
                col=i,
            )
        fig.update_yaxes(tickformat=".0%" if share else ",.0f", rangemode="tozero", row=1, col=i)
        # the week's number under each bar, level, under the title "ISO week": the year is in
        # the subtitle, and five full ISO labels side by side in a narrow panel ran together
        weeks = rows["week"].to_list()
        fig.update_xaxes(
            tickmode="array",
            tickvals=weeks,
            ticktext=[w.rsplit("-W", 1)[-1] for w in weeks],
            tickangle=0,
            tickfont={"size": 11},
            title={"text": "ISO week", "font": {"size": 11}},
            row=1,
            col=i,
        )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Key figures by week (blue: the reviewed week)", subtitle),
        hovermode="closest",
        height=380,
        margin={"t": 110, "b": 90},
    )
    fig.update_annotations(font_size=12)
    return fig
