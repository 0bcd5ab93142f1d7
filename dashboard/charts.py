"""Chart builders: each takes an analysis result and returns a plotly Figure.

Every chart has a title, axis titles with units, hover text, and the shared template.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly.subplots import make_subplots

from analytics.vocabulary import label as feature_label
from analytics.vocabulary import words

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


def milestone_columns() -> list[pl.Expr]:
    """How a milestone-effects table is shown (Growth page, weekly review): percent uplift with
    its interval, rounded p and expected count."""
    return [
        pl.col("title"),
        pl.col("announced_at").dt.strftime("%Y-%m-%d %H:%M").alias("announced (UTC)"),
        pl.col("verdict"),
        (pl.col("uplift") * 100).round(0).alias("uplift (%)"),
        pl.format(
            "{} to {}", (pl.col("ci_low") * 100).round(0), (pl.col("ci_high") * 100).round(0)
        ).alias("95 % CI (%)"),
        pl.col("p_value").alias("p"),
        pl.col("observed"),
        pl.col("expected").round(0),
    ]


def _title(title: str, subtitle: str) -> dict[str, object]:
    return {
        "text": title,
        "subtitle": {"text": subtitle, "font": {"size": 12, "color": COLORS["muted"]}},
        "x": 0,
        "xanchor": "left",
    }


def growth_chart(
    series: pl.DataFrame,
    milestones: pl.DataFrame,
    *,
    granularity: str,
    subtitle: str,
    window_days: int | None = None,
) -> go.Figure:
    """Signups per day or week (bars), cumulative members (line, right axis) and each
    milestone announcement as a labelled marker, its impact window shaded when given."""
    unit = "day" if granularity == "day" else "week"
    x = series["period_start"].to_list()
    fig = go.Figure()
    complete = series["complete"].to_list()
    fig.add_bar(
        x=x,
        y=series["signups"].to_list(),
        name=f"Signups per {unit}",
        marker_color=[COLORS["primary"] if c else COLORS["muted"] for c in complete],
        customdata=[
            "" if c else f" (partial {unit}: only the part inside the period)" for c in complete
        ],
        hovertemplate="%{y:,} signups%{customdata}<extra></extra>",
    )
    fig.add_scatter(
        x=x,
        y=series["cumulative_members"].to_list(),
        name="Members joined so far (cumulative)",
        yaxis="y2",
        mode="lines",
        line={"color": COLORS["secondary"], "width": 2},
        hovertemplate="%{y:,} joined so far<extra></extra>",
    )
    top = float(series.select(pl.col("signups").max()).item() or 0) or 1.0
    if milestones.height:
        times = milestones["announced_at"].to_list()
        titles = milestones["title"].to_list()
        for moment in times:
            if window_days:
                fig.add_vrect(
                    x0=moment, x1=moment + timedelta(days=window_days), line_width=0,
                    fillcolor=COLORS["secondary"], opacity=0.12,
                )  # fmt: skip
            fig.add_shape(
                type="line",
                x0=moment,
                x1=moment,
                y0=0,
                y1=1,
                yref="paper",
                line={"color": COLORS["muted"], "width": 1, "dash": "dot"},
            )
        fig.add_scatter(
            x=times,
            y=[top * 1.08] * len(times),
            name="Milestone announced",
            mode="markers+text",
            marker={"symbol": "diamond", "size": 11, "color": COLORS["bad"]},
            text=[t if len(t) <= 28 else t[:27] + "…" for t in titles],
            textposition="top center",
            textfont={"size": 11},
            customdata=[
                [t, m.strftime("%Y-%m-%d %H:%M UTC")] for t, m in zip(titles, times, strict=True)
            ],
            hovertemplate="<b>%{customdata[0]}</b><br>announced %{customdata[1]}<extra></extra>",
        )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Signups and members over time", subtitle),
        xaxis_title="Date (UTC)" if granularity == "day" else "Week starting (Monday, UTC)",
        yaxis={"title": f"Signups per {unit} (members)", "range": [0, top * 1.25]},
        yaxis2={
            "title": "Members joined so far",
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
            "rangemode": "tozero",
        },
        bargap=0.15,
    )
    return fig


def _pct_axis(title: str) -> dict[str, object]:
    return {"title": title, "tickformat": ".0%", "rangemode": "tozero"}


def cohort_heatmap(cells: pl.DataFrame, *, period: str, subtitle: str) -> go.Figure:
    """The cohort matrix: one row per join cohort, one column per period after joining."""
    cohorts = sorted(set(cells["cohort"].to_list()))
    width = int(cells.select(pl.col("k").max()).item() or 0) + 1 if cells.height else 0
    index = {c: i for i, c in enumerate(cohorts)}
    z: list[list[float | None]] = [[None] * width for _ in cohorts]
    hover: list[list[str]] = [[""] * width for _ in cohorts]
    for row in cells.iter_rows(named=True):
        i, k = index[row["cohort"]], row["k"]
        if row["complete"]:
            z[i][k] = row["share"]
            hover[i][k] = f"{row['retained']:,} of {row['size']:,} members"
        else:
            hover[i][k] = "not complete yet"
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"{period.capitalize()} {k}" for k in range(width)],
            y=[c.isoformat() for c in cohorts],
            customdata=hover,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": "Retained", "tickformat": ".0%"},
            hovertemplate=(
                "Cohort %{y}<br>%{x}: %{z:.1%} retained<br>%{customdata}<extra></extra>"
            ),
            texttemplate="%{z:.0%}" if len(cohorts) * width <= 600 else None,
            textfont={"size": 10},
            hoverongaps=False,
        )
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(f"Retention by {period} after joining, per join cohort", subtitle),
        xaxis={"title": f"{period.capitalize()}s since joining", "showgrid": False},
        yaxis={
            "title": f"Join cohort ({period} starting)",
            "autorange": "reversed",
            "type": "category",
        },
        hovermode="closest",
        height=max(380, 22 * len(cohorts) + 160),
    )
    return fig


def retention_curves(
    average: pl.DataFrame, cells: pl.DataFrame, cohorts: list[object], *, period: str, subtitle: str
) -> go.Figure:
    """The size-weighted average retention curve with its 95 % band, and chosen cohorts."""
    fig = go.Figure()
    k = average["k"].to_list()
    fig.add_scatter(
        x=k + k[::-1],
        y=average["ci_high"].to_list() + average["ci_low"].to_list()[::-1],
        fill="toself",
        fillcolor="rgba(45, 91, 255, 0.15)",
        line={"width": 0},
        hoverinfo="skip",
        name="95 % interval of the average",
    )
    fig.add_scatter(
        x=k,
        y=average["share"].to_list(),
        name="All cohorts (weighted by size)",
        mode="lines+markers",
        line={"color": COLORS["primary"], "width": 3},
        customdata=list(zip(average["cohorts"], average["members"], strict=True)),
        hovertemplate=(
            "%{y:.1%} retained (%{customdata[1]:,} members in %{customdata[0]} cohorts)"
            "<extra>average</extra>"
        ),
    )
    for cohort in cohorts:
        rows = cells.filter((pl.col("cohort") == cohort) & pl.col("complete"))
        fig.add_scatter(
            x=rows["k"].to_list(),
            y=rows["share"].to_list(),
            name=f"Cohort {cohort}",
            mode="lines+markers",
            line={"width": 1.5},
            hovertemplate="%{y:.1%} retained<extra>cohort " + str(cohort) + "</extra>",
        )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Retention curve", subtitle),
        xaxis={
            "title": f"{period.capitalize()}s since joining",
            "dtick": 1 if len(k) <= 30 else None,
        },
        yaxis=_pct_axis("Share of the cohort active in that period") | {"range": [0, 1]},
    )
    return fig


def survival_chart(curves: pl.DataFrame, *, title: str, subtitle: str, x_title: str) -> go.Figure:
    """Kaplan–Meier curves (steps) with 95 % bands; ``curves`` has group, days, survival,
    ci_low, ci_high, at_risk."""
    fig = go.Figure()
    palette = [COLORS["primary"], COLORS["secondary"], COLORS["good"], COLORS["bad"], "#7B61FF",
               "#E7298A", "#66A61E", "#A6761D"]  # fmt: skip
    for i, (group, rows) in enumerate(curves.group_by("group", maintain_order=True)):
        color = palette[i % len(palette)]
        name = str(group[0])
        days = rows["days"].to_list()
        fig.add_scatter(
            x=days + days[::-1],
            y=rows["ci_high"].to_list() + rows["ci_low"].to_list()[::-1],
            fill="toself",
            fillcolor=_rgba(color, 0.15),
            line={"width": 0, "shape": "hv"},
            hoverinfo="skip",
            showlegend=False,
            legendgroup=name,
        )
        fig.add_scatter(
            x=days,
            y=rows["survival"].to_list(),
            name=name,
            legendgroup=name,
            mode="lines",
            line={"color": color, "width": 2, "shape": "hv"},
            customdata=list(
                zip(
                    rows["ci_low"].to_list(),
                    rows["ci_high"].to_list(),
                    rows["at_risk"].to_list(),
                    strict=True,
                )
            ),
            hovertemplate=(
                "day %{x:.0f}: %{y:.1%} still members (95 % CI %{customdata[0]:.1%}–"
                "%{customdata[1]:.1%}; %{customdata[2]:,} at risk)<extra>" + name + "</extra>"
            ),
        )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(title, subtitle),
        xaxis={"title": x_title, "rangemode": "tozero"},
        yaxis=_pct_axis("Share not yet churned") | {"range": [0, 1.02]},
        hovermode="closest",
    )
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def lifecycle_chart(frame: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """New, returning and resurrected members (up) and dormant members (down) per week, with
    stickiness on the right axis."""
    weeks = frame["week"].to_list()
    fig = go.Figure()
    for column, label, color in (
        ("returning", "Returning (active last week too)", COLORS["primary"]),
        ("new", "New (first active week)", COLORS["good"]),
        ("resurrected", "Resurrected (back after a break)", COLORS["secondary"]),
    ):
        fig.add_bar(x=weeks, y=frame[column].to_list(), name=label, marker_color=color,
                    hovertemplate="%{y:,} members<extra>" + label + "</extra>")  # fmt: skip
    fig.add_bar(
        x=weeks,
        y=[-v for v in frame["dormant"].to_list()],
        name="Dormant (active last week, not this week)",
        marker_color=COLORS["muted"],
        customdata=frame["dormant"].to_list(),
        hovertemplate="%{customdata:,} members<extra>dormant</extra>",
    )
    fig.add_scatter(
        x=weeks,
        y=frame["stickiness"].to_list(),
        name="Stickiness (daily ÷ 28-day active)",
        yaxis="y2",
        mode="lines",
        line={"color": COLORS["bad"], "width": 2},
        hovertemplate="stickiness %{y:.1%}<extra></extra>",
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Who was active each week", subtitle),
        barmode="relative",
        xaxis_title="Week starting (Monday, UTC)",
        yaxis={"title": "Members (dormant below zero)"},
        yaxis2={
            "title": "Stickiness",
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )
    return fig


def churn_chart(frame: pl.DataFrame, *, period: str, subtitle: str) -> go.Figure:
    """Churn rate per period, explicit departures and silent churn stacked, with the 95 %
    interval of the total; periods not known yet are marked, not drawn as zero."""
    known = frame.filter(pl.col("known"))
    starts = known["period_start"].to_list()
    members = known["members"].to_list()
    fig = go.Figure()
    for column, label, color in (
        ("explicit", "Left explicitly", COLORS["bad"]),
        ("silent", "Went silent", COLORS["secondary"]),
    ):
        fig.add_bar(
            x=starts,
            y=[c / n if n else None for c, n in zip(known[column].to_list(), members, strict=True)],
            name=label,
            marker_color=color,
            customdata=list(zip(known[column].to_list(), members, strict=True)),
            hovertemplate="%{y:.1%} (%{customdata[0]:,} of %{customdata[1]:,} members)<extra>"
            + label + "</extra>",
        )  # fmt: skip
    fig.add_scatter(
        x=starts,
        y=known["rate"].to_list(),
        mode="markers",
        marker={"color": "#1F2430", "size": 5},
        name="Total with 95 % interval",
        error_y={
            "type": "data",
            "symmetric": False,
            "array": (known["ci_high"] - known["rate"]).to_list(),
            "arrayminus": (known["rate"] - known["ci_low"]).to_list(),
            "color": "#1F2430",
            "thickness": 1,
        },
        hovertemplate="total %{y:.1%}<extra></extra>",
    )
    unknown = frame.filter(~pl.col("known"))["period_start"].to_list()
    if unknown:
        half = timedelta(days=3.5 if period == "week" else 15.5)  # half a bar's width
        fig.add_vrect(
            x0=unknown[0] - half, x1=unknown[-1] + half, fillcolor=COLORS["muted"], opacity=0.2,
            line_width=0, annotation_text="not known yet", annotation_position="top left",
        )  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(f"Churn per {period}", subtitle),
        barmode="stack",
        xaxis_title=f"{period.capitalize()} starting (UTC)",
        yaxis=_pct_axis(f"Share of members who churned that {period}"),
    )
    return fig


VERDICT_COLORS = {
    "helps": COLORS["good"],
    "hurts": COLORS["bad"],
    "no_evidence": COLORS["muted"],
    "not_identifiable": "#C8CED8",
}
VERDICT_LABELS = {
    "helps": "Helps (q ≤ 0.05)",
    "hurts": "Hurts (q ≤ 0.05)",
    "no_evidence": "No evidence",
    "not_identifiable": "Not identifiable",
}


def forest_plot(table: pl.DataFrame, *, landmark: int, horizon: int, subtitle: str) -> go.Figure:
    """Ranked effects with 95 % intervals, coloured by verdict, the naive difference as a faded
    marker beside each; items without an estimate are listed at the bottom, unplotted."""
    rows = table.to_dicts()[::-1]  # plotly draws the first category at the bottom
    labels = [
        (r["title"] if len(r["title"]) <= 45 else r["title"][:44] + "…") + f"  ({words(r['kind'])})"
        for r in rows
    ]
    fig = go.Figure()
    fig.add_scatter(
        x=[None if r["naive_effect"] is None else r["naive_effect"] * 100 for r in rows],
        y=labels,
        mode="markers",
        marker={"symbol": "circle-open", "size": 9, "color": COLORS["muted"], "opacity": 0.6},
        name="Naive: ever exposed vs never (association only)",
        hovertemplate="naive %{x:+.1f} points<extra></extra>",
    )
    for verdict, color in VERDICT_COLORS.items():
        picked = [(r, lab) for r, lab in zip(rows, labels, strict=True) if r["verdict"] == verdict]
        if not picked or verdict == "not_identifiable":
            continue
        fig.add_scatter(
            x=[r["effect"] * 100 for r, _ in picked],
            y=[lab for _, lab in picked],
            mode="markers",
            marker={"size": 10, "color": color},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [(r["ci_high"] - r["effect"]) * 100 for r, _ in picked],
                "arrayminus": [(r["effect"] - r["ci_low"]) * 100 for r, _ in picked],
                "color": color,
                "thickness": 2,
            },
            name=VERDICT_LABELS[verdict],
            customdata=[
                [r.get("adjusted_p", r["q_value"]), r["n_exposed"], r["n_control"]]
                for r, _ in picked
            ],
            hovertemplate=(
                "%{x:+.1f} points, adjusted p = %{customdata[0]:.3f}<br>"
                "%{customdata[1]:,} exposed, %{customdata[2]:,} compared<extra></extra>"
            ),
        )
    missing = [
        lab for r, lab in zip(rows, labels, strict=True) if r["verdict"] == "not_identifiable"
    ]
    if missing:
        fig.add_scatter(
            x=[0] * len(missing),
            y=missing,
            mode="text",
            text=["not identifiable"] * len(missing),
            textfont={"color": COLORS["muted"], "size": 11},
            name=VERDICT_LABELS["not_identifiable"],
            hoverinfo="skip",
        )
    fig.add_vline(x=0, line={"color": "#1F2430", "width": 1})
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(
            f"Effect of early exposure on still being a member {horizon} days later", subtitle
        ),
        xaxis={
            "title": f"Difference in retention, percentage points (exposed in the first {landmark} "
            "days vs comparable members)",
            "zeroline": False,
        },
        yaxis={"title": "", "automargin": True},
        hovermode="closest",
        height=max(420, 34 * len(rows) + 200),
    )
    return fig


def weighted_curves_chart(curves: pl.DataFrame, *, landmark: int, subtitle: str) -> go.Figure:
    """Survival after the landmark: exposed, weighted comparable unexposed, all unexposed."""
    fig = go.Figure()
    styles = [
        (COLORS["primary"], "solid", 2.5),
        (COLORS["secondary"], "solid", 2.5),
        (COLORS["muted"], "dot", 1.5),
    ]
    for (group, rows), (color, dash, width) in zip(
        curves.group_by("group", maintain_order=True), styles, strict=False
    ):
        fig.add_scatter(
            x=rows["days"].to_list(),
            y=rows["survival"].to_list(),
            name=str(group[0]),
            mode="lines",
            line={"color": color, "dash": dash, "width": width, "shape": "hv"},
            hovertemplate="day %{x:.0f}: %{y:.1%}<extra>" + str(group[0]) + "</extra>",
        )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Still members after the landmark: exposed vs comparable members", subtitle),
        xaxis={"title": f"Days after day {landmark} of membership", "rangemode": "tozero"},
        yaxis=_pct_axis("Share not yet churned") | {"range": [0, 1.02]},
        hovermode="closest",
    )
    return fig


def balance_chart(balance: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Standardized mean differences of each covariate before and after weighting."""
    names = [feature_label(n) for n in balance["covariate"].to_list()]
    fig = go.Figure()
    for column, color, label in (
        ("smd_before", COLORS["muted"], "Before weighting"),
        ("smd_after", COLORS["primary"], "After weighting"),
    ):
        fig.add_scatter(
            x=balance[column].to_list(),
            y=names,
            mode="markers",
            marker={"color": color, "size": 9},
            name=label,
        )
    for edge in (-0.1, 0.1):
        fig.add_vline(x=edge, line={"color": COLORS["muted"], "dash": "dot", "width": 1})
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Are the compared members alike? Covariate balance", subtitle),
        xaxis={"title": "Standardized mean difference, exposed minus unexposed (|d| < 0.1: alike)"},
        yaxis={"title": "", "automargin": True, "autorange": "reversed"},
        hovermode="closest",
        height=max(360, 24 * len(names) + 180),
    )
    return fig


def timing_chart(timing: pl.DataFrame, *, landmark: int, subtitle: str) -> go.Figure:
    """When members first saw or earned the item, by day of membership."""
    fig = go.Figure(
        go.Bar(
            x=timing["day"].to_list(),
            y=timing["members"].to_list(),
            marker_color=[
                COLORS["primary"] if d < landmark else COLORS["muted"] for d in timing["day"]
            ],
            hovertemplate="day %{x}: %{y:,} members<extra></extra>",
            name="First exposure",
        )
    )
    fig.add_vline(x=landmark - 0.5, line={"color": "#1F2430", "dash": "dash", "width": 1},
                  annotation_text=f"landmark (day {landmark})")  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("When members first saw or earned it", subtitle),
        xaxis={"title": "Day of membership (0 = joining day)"},
        yaxis={"title": "Members (first exposure)"},
        bargap=0.05,
    )
    return fig


def milestone_detail_chart(
    daily: pl.DataFrame, *, title: str, unit: str, subtitle: str
) -> go.Figure:
    """Observed counts around one announcement against the counterfactual expected without it."""
    days = daily["offset"].to_list()
    fig = go.Figure()
    fig.add_bar(x=days, y=daily["observed"].to_list(), name=f"Observed {unit}",
                marker_color=[COLORS["primary"] if d >= 0 else COLORS["muted"] for d in days],
                hovertemplate="day %{x}: %{y:,.0f} observed<extra></extra>")  # fmt: skip
    fig.add_scatter(x=days, y=daily["expected"].to_list(), name="Expected without it (model)",
                    mode="lines", line={"color": COLORS["secondary"], "width": 2},
                    hovertemplate="day %{x}: %{y:,.1f} expected<extra></extra>")  # fmt: skip
    fig.add_vline(x=-0.5, line={"color": "#1F2430", "dash": "dash", "width": 1},
                  annotation_text="announced")  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(f"{title}: {unit} per day against the counterfactual", subtitle),
        xaxis={"title": "Days since the announcement (grey: the period the model learns from)"},
        yaxis={"title": f"{unit.capitalize()} per day", "rangemode": "tozero"},
        bargap=0.1,
    )
    return fig


def event_study_chart(frame: pl.DataFrame, *, unit: str, subtitle: str) -> go.Figure:
    """Average relative uplift by day since announcement, with the placebo band."""
    days = frame["day"].to_list()
    fig = go.Figure()
    fig.add_scatter(
        x=days + days[::-1],
        y=frame["band_high"].to_list() + frame["band_low"].to_list()[::-1],
        fill="toself", fillcolor="rgba(138, 148, 166, 0.25)", line={"width": 0},
        hoverinfo="skip", name="95 % band of the same average at placebo dates",
    )  # fmt: skip
    fig.add_scatter(x=days, y=frame["uplift"].to_list(), mode="lines+markers",
                    line={"color": COLORS["primary"], "width": 2.5},
                    name="Average over announcements",
                    hovertemplate="day %{x}: %{y:+.0%}<extra></extra>")  # fmt: skip
    fig.add_hline(y=0, line={"color": "#1F2430", "width": 1})
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title(f"Event study: {unit} above or below expected, by day", subtitle),
        xaxis={"title": "Days since the announcement", "dtick": 1},
        yaxis={"title": "Relative to expected", "tickformat": "+.0%"},
        hovermode="closest",
    )
    return fig


# -- engagement and churn risk ------------------------------------------------------------------


def active_members_chart(frame: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Daily, weekly and monthly active members per day, with stickiness on the right axis."""
    days = frame["day"].to_list()
    fig = go.Figure()
    for column, label, color in (
        ("mau", "Monthly active (30 days ending that day)", COLORS["muted"]),
        ("wau", "Weekly active (7 days ending that day)", COLORS["secondary"]),
        ("dau", "Daily active", COLORS["primary"]),
    ):
        fig.add_scatter(
            x=days, y=frame[column].to_list(), name=label, mode="lines",
            line={"color": color, "width": 2},
            hovertemplate="%{y:,} members<extra>" + label + "</extra>",
        )  # fmt: skip
    fig.add_scatter(
        x=days,
        y=frame["stickiness"].to_list(),
        name="Stickiness (daily ÷ monthly active)",
        yaxis="y2",
        mode="lines",
        line={"color": COLORS["bad"], "width": 1.5, "dash": "dot"},
        hovertemplate="stickiness %{y:.1%}<extra></extra>",
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Active members", subtitle),
        xaxis_title="Day (UTC)",
        yaxis={"title": "Members with any activity", "rangemode": "tozero"},
        yaxis2={
            "title": "Stickiness",
            "overlaying": "y",
            "side": "right",
            "tickformat": ".0%",
            "rangemode": "tozero",
            "showgrid": False,
        },
    )
    return fig


def activity_kind_chart(frame: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Activity rows per kind and week, stacked."""
    fig = go.Figure()
    palette = [COLORS["primary"], COLORS["secondary"], COLORS["good"], COLORS["bad"], "#7B61FF",
               "#E7298A", "#66A61E", "#A6761D"]  # fmt: skip
    kinds = frame.group_by("kind").agg(pl.col("rows").sum()).sort("rows", descending=True)["kind"]
    for i, kind in enumerate(kinds.to_list()):
        rows = frame.filter(pl.col("kind") == kind)
        fig.add_bar(
            x=rows["period_start"].to_list(), y=rows["rows"].to_list(), name=str(kind),
            marker_color=palette[i % len(palette)], customdata=rows["members"].to_list(),
            hovertemplate="%{y:,} rows by %{customdata:,} members<extra>" + str(kind) + "</extra>",
        )  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Activity by kind", subtitle),
        barmode="stack",
        xaxis_title="Week starting (Monday, UTC)",
        yaxis={"title": "Activity rows per week"},
    )
    return fig


def lorenz_chart(lorenz: pl.DataFrame, *, top_1: float, top_10: float, subtitle: str) -> go.Figure:
    """The Lorenz curve of activity over active members, with the line of perfect equality."""
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="Everyone equally active",
        line={"color": COLORS["muted"], "dash": "dash", "width": 1}, hoverinfo="skip",
    )  # fmt: skip
    fig.add_scatter(
        x=lorenz["member_share"].to_list(),
        y=lorenz["activity_share"].to_list(),
        mode="lines",
        name="Actual (members from least to most active)",
        line={"color": COLORS["primary"], "width": 3},
        fill="tonexty",
        fillcolor="rgba(45, 91, 255, 0.10)",
        hovertemplate="the least active %{x:.0%} of members: %{y:.1%} of activity<extra></extra>",
    )
    fig.add_annotation(
        x=0.99, y=1 - top_10, xref="x", yref="y", showarrow=True, ax=-120, ay=-30,
        text=f"top 10 % of members: {top_10:.0%} of activity<br>top 1 %: {top_1:.0%}",
    )  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("How concentrated activity is", subtitle),
        xaxis={"title": "Share of active members (least active first)", "tickformat": ".0%",
               "range": [0, 1]},
        yaxis={"title": "Share of all activity rows", "tickformat": ".0%", "range": [0, 1]},
        hovermode="closest",
    )  # fmt: skip
    return fig


def activation_chart(curve: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Share of new members active within d days of joining."""
    fig = go.Figure()
    fig.add_scatter(
        x=curve["days"].to_list(),
        y=curve["activated"].to_list(),
        mode="lines+markers",
        name="Active within that many days",
        line={"color": COLORS["good"], "width": 3, "shape": "hv"},
        customdata=curve["eligible"].to_list(),
        hovertemplate="day %{x}: %{y:.1%} of %{customdata:,} members<extra></extra>",
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("New members' time to first activity", subtitle),
        xaxis_title="Days since joining",
        yaxis=_pct_axis("Share with a first activity by then") | {"range": [0, 1]},
    )
    return fig


def calibration_chart(calibration: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Predicted against observed churn on the held-out cutoff, model and baseline."""
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 1], y=[0, 1], mode="lines", name="Perfectly calibrated",
        line={"color": COLORS["muted"], "dash": "dash", "width": 1}, hoverinfo="skip",
    )  # fmt: skip
    for model, label, color in (
        ("model", "Model", COLORS["primary"]),
        ("baseline", "Recency-only baseline", COLORS["secondary"]),
    ):
        rows = calibration.filter(pl.col("model") == model)
        fig.add_scatter(
            x=rows["predicted"].to_list(), y=rows["observed"].to_list(), name=label,
            mode="lines+markers", line={"color": color, "width": 2},
            customdata=rows["members"].to_list(),
            hovertemplate="predicted %{x:.1%}, observed %{y:.1%} (%{customdata:,} members)"
            "<extra>" + label + "</extra>",
        )  # fmt: skip
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Calibration on the held-out cutoff", subtitle),
        xaxis={"title": "Predicted churn risk (mean of a tenth of members)", "tickformat": ".0%",
               "range": [0, 1]},
        yaxis={"title": "Share who actually churned", "tickformat": ".0%", "range": [0, 1]},
        hovermode="closest",
    )  # fmt: skip
    return fig


def importance_chart(importance: pl.DataFrame, *, subtitle: str) -> go.Figure:
    """Permutation importance per feature group with the spread over repeats."""
    rows = importance.sort("importance")
    fig = go.Figure(
        go.Bar(
            x=rows["importance"].to_list(),
            y=rows["group"].to_list(),
            orientation="h",
            marker_color=COLORS["primary"],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (rows["ci_high"] - rows["importance"]).to_list(),
                "arrayminus": (rows["importance"] - rows["ci_low"]).to_list(),
                "color": "#1F2430",
            },
            customdata=rows["help"].to_list(),
            hovertemplate="%{y}: ROC AUC falls by %{x:.3f} when shuffled<br>%{customdata}"
            "<extra></extra>",
            name="Drop in ROC AUC",
        )
    )
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("What the model relies on", subtitle),
        xaxis={"title": "Drop in ROC AUC when the group is shuffled (held-out cutoff)"},
        yaxis={"title": "Feature group"},
        hovermode="closest",
        showlegend=False,
    )
    return fig


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
            # not known yet: no bar (never 0), the words and the day it will be known instead
            fig.add_scatter(
                x=unknown["week"].to_list(),
                y=[0] * unknown.height,
                mode="text",
                text=["not known<br>yet"] * unknown.height,
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
        fig.update_xaxes(tickangle=-45, row=1, col=i)
    fig.update_layout(
        template=TEMPLATE_NAME,
        title=_title("Key figures by week (blue: the reviewed week)", subtitle),
        hovermode="closest",
        height=380,
        margin={"t": 110, "b": 90},
    )
    fig.update_annotations(font_size=12)
    return fig
