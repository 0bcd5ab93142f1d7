"""Pieces every page shares: the sidebar, KPI tiles, export buttons, error display."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from analytics import privacy
from analytics.churn import DEFAULT_INACTIVE_DAYS
from analytics.community import Community
from analytics.known import NOT_KNOWN, known_from_text
from analytics.overview import Kpi, KpiName
from analytics.quality import QualityReport
from dashboard import auth, catalog, charts, exports, privacy_view, state, tables
from dashboard.data import Loaded, load, segmented
from dashboard.markup import escape


def sync_url(params: dict[str, str | list[str] | None]) -> None:
    """Set the given query parameters (``None`` / empty removes one), keep the others."""
    for key, value in params.items():
        wanted = [] if value in (None, "", []) else (value if isinstance(value, list) else [value])
        if st.query_params.get_all(key) != wanted:
            if wanted:
                st.query_params[key] = wanted
            elif key in st.query_params:
                del st.query_params[key]


def view_link() -> str:
    """The address of what is on screen: the page and every query parameter that defines it."""
    pairs = [(key, value) for key in st.query_params for value in st.query_params.get_all(key)]
    query = urlencode(pairs)
    base = st.context.url or "/"
    return f"{base}?{query}" if query else base


def share_link() -> None:
    """A sidebar control with the link to this view: opened elsewhere it shows the same page,
    dates, segments, item and windows."""
    with st.sidebar.popover("Copy link to this view", icon=":material/link:", width="stretch"):
        st.caption(
            "Anyone who can open this dashboard sees the same view with this link (the data is "
            "read again, so figures move on as new data arrives unless an as-of date is set). "
            "Copy it with the icon at the right of the box."
        )
        st.code(view_link(), language=None, wrap_lines=True)


def show_load_error(loaded: Loaded) -> None:
    """Explain why there is nothing to show, and where to look."""
    st.error(
        f"The data could not be loaded from {escape(loaded.source_label)}.", icon=":material/error:"
    )
    if loaded.report is not None and loaded.report.errors:
        for issue in loaded.report.errors[:5]:
            st.markdown(f"- {escape(issue.text())}")
        st.caption("The Data page lists every problem with the rows affected.")
    elif loaded.error:
        st.markdown(escape(loaded.error))


def sidebar() -> tuple[Loaded, state.ViewState | None]:
    """Load the data and draw the sidebar; returns the load and the chosen view."""
    latest = load()
    st.sidebar.markdown("### Data")
    st.sidebar.caption(f"Source: {escape(latest.source_label)}")
    community = latest.community
    if community is None or community.first_join is None:
        st.sidebar.warning("No data to filter yet.")
        return latest, None

    first_day = community.first_join.date()
    last_day = community.data_end.date()
    url_as_of = state.url_date(state.AS_OF)
    state.drop_invalid(
        state.AS_OF_PICKER, lambda d: isinstance(d, date) and first_day <= d <= last_day
    )
    state.seed(
        state.AS_OF_PICKER,
        min(max(url_as_of, first_day), last_day) if url_as_of else last_day,
    )
    as_of_day: date = st.sidebar.date_input(
        "As of",
        key=state.AS_OF_PICKER,
        min_value=first_day,
        max_value=last_day,
        help="Look at the data as it stood at the end of this day (UTC). "
        "Default: the latest time in the data.",
    )
    state.keep(state.AS_OF_PICKER, as_of_day)
    loaded = latest if as_of_day == last_day else load(as_of_day)
    community = loaded.community
    if community is None:
        return loaded, None
    st.sidebar.caption(f"As of {community.as_of:%Y-%m-%d %H:%M} UTC")

    st.sidebar.markdown("### Period")
    state.seed(
        state.RANGE, state.url_choice(state.RANGE, list(state.RANGE_PRESETS), state.DEFAULT_RANGE)
    )
    preset = st.sidebar.selectbox(
        "Date range",
        options=list(state.RANGE_PRESETS),
        format_func=state.RANGE_PRESETS.__getitem__,
        key=state.RANGE,
        help="The period the key figures and charts cover; changes compare with the period of "
        "the same length just before it.",
    )
    state.keep(state.RANGE, preset)
    if preset == "custom":
        default_first, default_last = state.preset_range(
            state.DEFAULT_RANGE, first=first_day, last=as_of_day
        )
        url_first = state.url_date(state.FROM) or default_first
        url_last = state.url_date(state.TO) or default_last
        clamp = lambda d: min(max(d, first_day), as_of_day)  # noqa: E731
        state.drop_invalid(
            state.DATE_PICKER,
            lambda v: all(isinstance(d, date) and first_day <= d <= as_of_day for d in v),
        )
        state.seed(state.DATE_PICKER, (clamp(url_first), clamp(url_last)))
        picked = st.sidebar.date_input(
            "From – to (UTC)",
            key=state.DATE_PICKER,
            min_value=first_day,
            max_value=as_of_day,
        )
        state.keep(state.DATE_PICKER, picked)
        dates = tuple(picked) if isinstance(picked, Sequence) else (picked,)
        first, last = (dates[0], dates[-1]) if dates else (default_first, default_last)
        first, last = clamp(min(first, last)), clamp(max(first, last))
    else:
        first, last = state.preset_range(preset, first=first_day, last=as_of_day)

    st.sidebar.markdown("### Churn")
    state.seed(
        state.INACTIVE_DAYS,
        state.url_int(state.INACTIVE_DAYS, DEFAULT_INACTIVE_DAYS, low=1, high=365),
    )
    inactive_days = int(
        st.sidebar.number_input(
            "Quiet days before silent churn",
            min_value=1,
            max_value=365,
            step=1,
            key=state.INACTIVE_DAYS,
            help="A member without any sign of life for this many days counts as churned "
            "(on the day of their last sign of life).",
        )
    )
    state.keep(state.INACTIVE_DAYS, inactive_days)

    segments: dict[str, tuple[str, ...]] = {}
    if community.attributes:
        st.sidebar.markdown("### Segments")
    for attribute in community.attributes:
        key = state.segment_key(attribute)
        options = community.segment_values(attribute)
        state.drop_invalid(key, lambda chosen: all(v in options for v in chosen))  # noqa: B023
        state.seed(key, state.url_list(key, options))
        chosen = st.sidebar.multiselect(
            attribute.replace("_", " ").capitalize(),
            options=options,
            key=key,
            placeholder="All",
        )
        segments[attribute] = tuple(state.keep(key, chosen))

    sync_url(
        {
            state.AS_OF: None if as_of_day == last_day else as_of_day.isoformat(),
            state.RANGE: None if preset == state.DEFAULT_RANGE else preset,
            state.FROM: first.isoformat() if preset == "custom" else None,
            state.TO: last.isoformat() if preset == "custom" else None,
            state.INACTIVE_DAYS: None
            if inactive_days == DEFAULT_INACTIVE_DAYS
            else str(inactive_days),
            **{state.segment_key(a): list(v) for a, v in segments.items()},
        }
    )
    view = state.ViewState(
        first_day=first,
        last_day=last,
        as_of_day=None if as_of_day == last_day else as_of_day,
        inactive_days=inactive_days,
        segments=segments,
    )
    return loaded, view


def page_community() -> tuple[Community, state.ViewState]:
    """The sidebar, and the community it selects (segments applied); stops the page with the
    reason when the data cannot be loaded."""
    loaded, view = sidebar()
    if loaded.community is None or view is None:
        show_load_error(loaded)
        st.stop()
    community = segmented(view.as_of_day, view.segments)
    assert community is not None
    k = auth.min_cell_members()
    if auth.is_viewer() and privacy.is_small(community.members.height, k=k):
        st.info(
            f"The chosen segments hold {privacy.small_cell_text(k)} members: figures about so "
            "few members are hidden for your role, so that nobody can be singled out. Choose "
            "wider segments in the sidebar.",
            icon=":material/visibility_off:",
        )
        st.stop()
    return community, view


def for_role(frame: pl.DataFrame, k: int | None) -> pl.DataFrame:
    """A table as a role may download it: for a viewer (``k``: :func:`viewer_k`), every row
    about fewer than k members reads "fewer than k" (see :mod:`analytics.privacy`); for
    analysts and admins (``None``) the table as it is."""
    if k is None:
        return frame
    return privacy.suppress_member_counts(frame, k=k)


def require_members(community: Community) -> None:
    """Stop the page with an explanation when no member matches the segments."""
    if community.members.height == 0:
        st.info(
            "No members match the chosen segments. Clear a segment filter in the sidebar to see "
            "more members."
        )
        st.stop()


def page_choice(key: str, label: str, options: dict[str, str], default: str) -> str:
    """A horizontal radio whose value lives in the URL."""
    state.seed(key, state.url_choice(key, list(options), default))
    value: str = st.radio(
        label, options=list(options), format_func=options.__getitem__, key=key, horizontal=True
    )
    state.keep(key, value)
    sync_url({key: None if value == default else value})
    return value


def step_label(what: str, step: str, fraction: float) -> str:
    """The label of a running analysis' status box: what it computes, how far it got and the
    step it reported last (an item's title among them, shown as plain text)."""
    return f"{what.rstrip('…')}: {round(fraction * 100)} % done · {escape(step)}"


def status_steps(status: Any, what: str) -> Callable[[str, float], None]:
    """For ``data.compute(progress=...)``: each step the analysis reports, in the label of the
    status box ``status`` (anything with ``update(label=...)``) after ``what``."""

    def show(step: str, fraction: float) -> None:
        status.update(label=step_label(what, step, fraction))

    return show


class ProgressBar:
    """A progress bar at this point of the page, drawn when the analysis it is handed to
    (``data.compute(progress=...)``) reports a step: a cached result draws none. As a context
    manager, the bar goes when the analysis is done."""

    def __init__(self) -> None:
        self._slot = st.empty()

    def __call__(self, step: str, fraction: float) -> None:
        self._slot.progress(fraction, text=escape(step))

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._slot.empty()


def filters_caption(community: Community, view: state.ViewState, period_label: str) -> str:
    """One line saying what the view shows: period, as-of time, segments."""
    return charts.view_caption(community.as_of, view.segments, period_label)


def chart_view(community: Community, view: state.ViewState) -> catalog.View:
    """The view the sidebar chose, as the chart builders of :mod:`dashboard.catalog` take it."""
    return catalog.View(community, view.first_day, view.last_day, view.segments, view.inactive_days)


def _format(kpi: Kpi, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.1%}" if kpi.unit == "share" else f"{value:,.0f}"


def _delta(kpi: Kpi) -> str | None:
    change = kpi.change
    if change is None:
        return None
    if kpi.unit == "share":
        return f"{change * 100:+.1f} pts"
    return f"{change:+,.0f}"


def _small_kpi(kpi: Kpi, k: int) -> bool:
    """A known figure about fewer than k members: a count below k, or a share of them."""
    if not kpi.known:
        return False
    if kpi.n is not None and privacy.is_small(kpi.n, k=k):
        return True
    return kpi.unit == "members" and kpi.value is not None and privacy.is_small(int(kpi.value), k=k)


def kpi_tiles(kpis: Sequence[Kpi]) -> None:
    """One bordered tile per KPI with its change against the previous period. A figure that is
    not known yet reads "not known yet" with the day it will be known, and no change is drawn
    against an unknown figure (the rule of :mod:`analytics.known`)."""
    if not all(k.known for k in kpis):
        # "not known yet" wraps inside a narrow tile instead of being cut to "not known …"
        st.html(
            "<style>[data-testid='stMetricValue'], [data-testid='stMetricValue'] * "
            "{white-space: normal !important; overflow: visible !important; "
            "text-overflow: clip !important;}</style>"
        )
    columns = st.columns(len(kpis))
    k = auth.min_cell_members()
    for column, kpi in zip(columns, kpis, strict=True):
        if auth.is_viewer() and _small_kpi(kpi, k):
            column.metric(
                kpi.label,
                privacy.small_cell_text(k),
                help=f"About {privacy.small_cell_text(k)} members: hidden for your role.",
                border=True,
            )
            continue
        with column:
            st.metric(
                kpi.label,
                NOT_KNOWN if not kpi.known else _format(kpi, kpi.value),
                delta=_delta(kpi),
                delta_color="inverse" if kpi.key == KpiName.CHURNED else "normal",
                help=kpi.help,
                border=True,
            )
            if not kpi.known:
                assert kpi.known_from is not None
                st.caption(f"{known_from_text(kpi.known_from).capitalize()}.")
            elif not kpi.previous_known:
                assert kpi.previous_known_from is not None
                st.caption(
                    "No change shown: the period before is not known yet "
                    f"({known_from_text(kpi.previous_known_from)})."
                )
            elif kpi.unit == "share":
                if kpi.ci is not None:
                    st.caption(f"95 % CI {kpi.ci[0]:.1%}–{kpi.ci[1]:.1%} · n = {kpi.n:,} members")
                else:
                    st.caption("No member reached this day within the period.")
            if kpi.note:
                st.caption(kpi.note[0].upper() + kpi.note[1:] + ".")


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every cell as the text a reader sees: counts with thousands separators, a dash for
    nothing (a static table would print None)."""

    def cell(value: Any) -> str:
        if value is None:
            return tables.MISSING
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value)

    return pl.DataFrame(
        {name: [cell(v) for v in frame[name].to_list()] for name in frame.columns},
        schema=dict.fromkeys(frame.columns, pl.String),
    )


@dataclass(frozen=True)
class PreparedTable:
    """A table made ready to draw (see :func:`prepare_table`): nothing in it calls Streamlit, so
    it can be built once and shared between sessions through the cache."""

    shown: pl.DataFrame  # the cells as the reader sees them (small groups hidden for a viewer)
    long_columns: tuple[str, ...]  # text columns to wrap over several lines
    longest: int  # the longest text among them


def viewer_k() -> int | None:
    """The k of the small-group rule when the current user is a viewer; ``None`` for analysts
    and admins, who see every figure (the part of a shared table's cache key that is the role)."""
    return auth.min_cell_members() if auth.is_viewer() else None


def prepare_table(
    frame: pl.DataFrame, *, keep: Sequence[str] = (), viewer_k: int | None = None
) -> PreparedTable:
    """``frame`` as a person should read it (see :mod:`dashboard.tables`): codes in words,
    labels for feature names, p < 0.001, percentages, dates without time-zone noise, a dash for
    nothing. With ``viewer_k``, every cell about fewer than k members reads "fewer than k".
    Columns in ``keep`` keep their values (a page draws them itself)."""
    shown = tables.for_display(frame, keep=keep)
    if viewer_k is not None:
        counts = privacy.member_count_columns(frame)
        small = privacy.small_cell_mask(frame, counts=counts, k=viewer_k)
        if small.any():
            affected = [
                tables.label(c)
                for c, dtype in frame.schema.items()
                if c in counts or (dtype.is_numeric() and c not in keep)
            ]
            text = privacy.small_cell_text(viewer_k)
            shown = shown.with_columns(
                pl.when(small).then(pl.lit(text)).otherwise(pl.col(c).cast(pl.String)).alias(c)
                for c in affected
            )
    long = tuple(tables.long_text_columns(shown))
    longest = max((tables.longest_text(shown, n) for n in long), default=0)
    return PreparedTable(shown, long, longest)


#: tables with at least this many rows are prepared once and kept (smaller ones cost less to
#: prepare again than to look up)
SHARED_TABLE_ROWS = 2_000


def prepared_table(
    frame: pl.DataFrame, *, keep: tuple[str, ...] = (), k: int | None = None
) -> PreparedTable:
    """:func:`prepare_table`, kept between reruns and sessions for large tables: a revisit of
    a page with a list of thousands of members does not format every cell again. The cache key
    is the table's content (its columns, types and a hash of every row), the kept columns and
    the viewer's k, so two views share an entry only when they would show the same cells."""
    if frame.height < SHARED_TABLE_ROWS:
        return prepare_table(frame, keep=keep, viewer_k=k)
    try:
        rows = frame.hash_rows(seed=0).to_numpy().tobytes()
    except pl.exceptions.PolarsError:  # a column type polars cannot hash: prepare it again
        return prepare_table(frame, keep=keep, viewer_k=k)
    digest = hashlib.sha256(str(frame.schema).encode() + rows).hexdigest()
    return _prepared_shared(frame, digest, keep, k)


@st.cache_data(max_entries=64, show_spinner=False)
def _prepared_shared(
    _frame: pl.DataFrame, digest: str, keep: tuple[str, ...], k: int | None
) -> PreparedTable:
    return prepare_table(_frame, keep=keep, viewer_k=k)


def table(
    frame: pl.DataFrame | PreparedTable,
    *,
    key: str | None = None,
    column_config: dict[str, Any] | None = None,
    wrap: bool = False,
) -> None:
    """A table as a person should read it (:func:`prepare_table`, for the current role; or a
    :class:`PreparedTable` built for it already); long text wrapped over several lines instead
    of cut.

    ``wrap``: a short table whose long sentences must be read whole (what a table holds, a
    data-quality problem and its fix) is drawn as a static table, whose cells wrap at any
    length; the interactive grid cuts a cell at its height. ``column_config`` does not apply
    then."""
    prepared = (
        frame
        if isinstance(frame, PreparedTable)
        else prepared_table(frame, keep=tuple(column_config or {}), k=viewer_k())
    )
    shown = prepared.shown
    if wrap and prepared.long_columns:
        st.table(_as_text(shown), hide_index=True)
        return
    config: dict[str, Any] = {
        name: st.column_config.TextColumn(name, width="large") for name in prepared.long_columns
    }
    lines = min(6, 1 + prepared.longest // 70) if config else 1
    config |= {tables.label(k): v for k, v in (column_config or {}).items()}
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        key=key,
        column_config=config or None,
        row_height=None if lines == 1 else 8 + 20 * lines,
        placeholder=tables.MISSING,
    )


def _image(fig: go.Figure, fmt: exports.ImageFormat) -> Callable[[], bytes]:
    return lambda: exports.figure_image(fig, fmt)


def _csv(frame: pl.DataFrame) -> Callable[[], bytes]:
    """CSV bytes made on click, through the one formatting layer (codes in words, integers)."""
    return lambda: exports.frame_csv(tables.for_csv(frame))


def _xlsx(frame: pl.DataFrame, name: str) -> Callable[[], bytes]:
    return lambda: exports.frame_xlsx(tables.for_export(frame), name)


def _markdown(frame: pl.DataFrame) -> Callable[[], bytes]:
    return lambda: exports.frame_markdown(tables.for_export(frame)).encode("utf-8")


def chart_downloads(fig: go.Figure, data: pl.DataFrame, name: str, *, key: str) -> None:
    """Download buttons for a chart: PNG and SVG images (title, filters and as-of time on them),
    a self-contained interactive HTML file, and the data behind it as CSV. Files are made when a
    button is clicked, not on every rerun."""
    data = for_role(data, viewer_k())
    file = exports.slug(name)
    drawable = exports.images_available()
    why = None if drawable else exports.NO_BROWSER
    columns = st.columns([1, 1, 1, 1.3, 3], gap="small")
    columns[0].download_button(
        "PNG", data=_image(fig, "png"), file_name=f"{file}.png", mime="image/png",
        key=f"{key}_png", icon=":material/image:", disabled=not drawable,
        help=why or "The chart as a 2400 x 1300 pixel image.",
    )  # fmt: skip
    columns[1].download_button(
        "SVG", data=_image(fig, "svg"), file_name=f"{file}.svg", mime="image/svg+xml",
        key=f"{key}_svg", icon=":material/draw:", disabled=not drawable,
        help=why or "The chart as a vector image, for print and slides.",
    )  # fmt: skip
    columns[2].download_button(
        "HTML", data=lambda: exports.figure_html(fig), file_name=f"{file}.html",
        mime="text/html", key=f"{key}_html", icon=":material/code:",
        help="A self-contained interactive chart that opens offline.",
    )  # fmt: skip
    columns[3].download_button(
        "Data (CSV)", data=_csv(data), file_name=f"{file}.csv",
        mime="text/csv", key=f"{key}_csv", icon=":material/table:",
    )  # fmt: skip


def chart(
    drawn: catalog.Drawn, caption: str | None = None, *, key: str, downloads: bool = True
) -> None:
    """The one way a page shows a chart: the figure its :mod:`dashboard.catalog` builder drew
    (the same as ``proofboard export chart`` and the report draw), the caption saying how to
    read it, and the download row (PNG, SVG, HTML, data as CSV; left out when ``downloads`` is
    false, as in presentation mode).

    For a viewer, every plotted value about fewer than k members is taken out of the figure
    and its downloads (see :mod:`dashboard.privacy_view`), and the caption says so."""
    if auth.is_viewer():
        k = auth.min_cell_members()
        shown = privacy_view.for_viewer(drawn, k)
        drawn = shown.drawn
        if shown.hidden:
            note = privacy_view.viewer_note(drawn, k)
            caption = f"{caption} {note}" if caption else note
    st.plotly_chart(drawn.figure, key=f"{key}_chart", width="stretch")
    if caption:
        st.caption(caption)
    if downloads:
        chart_downloads(drawn.figure, drawn.data, drawn.file, key=key)


def member_export(make: Callable[[], bytes], what: str) -> Callable[[], bytes]:
    """``make`` for a download of member-level data: when clicked, the role is checked again on
    the server (an analyst at least) and the export is written to the audit log."""

    def guarded() -> bytes:
        auth.ensure_role(auth.Role.ANALYST)
        auth.audit("export member-level data", what)
        _record_export(what)
        return make()

    return guarded


def _record_export(what: str) -> None:
    """The member-level download in the store's audit log (beside the server log's line)."""
    from dashboard import data

    data.record_export(what, actor=state.current_actor())


def table_download(
    frame: pl.DataFrame,
    name: str,
    *,
    key: str,
    markdown: bool = False,
    member_level: bool = False,
    for_role_already: bool = False,
) -> None:
    """Download buttons for a table: CSV, Parquet and Excel (and Markdown, for tables meant for
    a newsletter). A ``member_level`` table (one row per member, or rows naming members) is
    offered to analysts and admins only, and each download is checked and audited when made.
    ``for_role_already``: ``frame`` is :func:`for_role` of the table for the current role (built
    with :func:`viewer_k` and shared between sessions)."""
    if member_level and not auth.allowed(auth.Role.ANALYST):
        st.caption(
            "Downloads of member-level tables are for analysts and admins.",
            help="Your role sees members under pseudonyms and aggregate figures only.",
        )
        return
    if not for_role_already:
        frame = for_role(frame, viewer_k())
    file = exports.slug(name)

    def wrap(make: Callable[[], bytes], fmt: str) -> Callable[[], bytes]:
        return member_export(make, f"{file}.{fmt}") if member_level else make

    columns = st.columns([1, 1, 1, 1.2, 2.8] if markdown else [1, 1, 1, 4], gap="small")
    columns[0].download_button(
        "CSV", data=wrap(_csv(frame), "csv"), file_name=f"{file}.csv", mime="text/csv",
        key=key, icon=":material/download:",
    )  # fmt: skip
    columns[1].download_button(
        "Parquet", data=wrap(lambda: exports.frame_parquet(frame), "parquet"),
        file_name=f"{file}.parquet", mime="application/vnd.apache.parquet",
        key=f"{key}_parquet", icon=":material/download:",
    )  # fmt: skip
    columns[2].download_button(
        "Excel", data=wrap(_xlsx(frame, name), "xlsx"), file_name=f"{file}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"{key}_xlsx", icon=":material/download:",
    )  # fmt: skip
    if markdown:
        columns[3].download_button(
            "Markdown", data=wrap(_markdown(frame), "md"),
            file_name=f"{file}.md", mime="text/markdown", key=f"{key}_md",
            icon=":material/download:",
        )  # fmt: skip


def quality_report(report: QualityReport, *, key: str, what: str = "this source") -> None:
    """The data-quality verdict, every error and warning with its rows and fix, and the issues
    as a table with downloads."""
    if report.ok and not report.warnings:
        st.success("No problems found.", icon=":material/check_circle:")
    elif report.ok:
        st.success(
            f"No errors. {len(report.warnings)} warning(s): the rows named are left out.",
            icon=":material/check_circle:",
        )
    else:
        st.error(
            f"{len(report.errors)} error(s) stop {what} from loading. Fix them and load it again.",
            icon=":material/error:",
        )
    for issue in report.errors:
        st.markdown(f"- :material/error: **Error:** {escape(issue.text())}")
    for issue in report.warnings:
        st.markdown(f"- :material/warning: **Warning:** {escape(issue.text())}")
    if report.issues:
        st.caption("Row numbers count data rows: row 1 is the first row below a CSV file's header.")
        issues = report.issues_frame()
        table(issues, wrap=True)  # problems and fixes are read whole
        table_download(issues, "data quality report", key=key, member_level=True)
