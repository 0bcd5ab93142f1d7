"""The one column-formatting layer for every table a person reads on the dashboard and every
table export: codes in words, feature names as labels, p/q-values as "< 0.001", shares as
percentages, dates without time-zone noise, whole numbers as integers, nulls as a dash.

:func:`for_display` turns a result frame into what ``st.dataframe`` shows; :func:`for_export`
into what CSV and Excel downloads hold (column names and types stay machine-readable there:
numbers stay numbers, but codes are words and whole numbers are integers).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import time
from typing import Any

import polars as pl

from analytics.stats import p_text
from analytics.vocabulary import label, words

__all__ = [
    "MISSING",
    "for_csv",
    "for_display",
    "for_export",
    "label",
    "long_text_columns",
    "longest_text",
]

#: shown instead of an empty cell
MISSING = "—"
#: columns holding p- or q-values
P_COLUMNS = frozenset(
    {"p_value", "q_value", "p", "q", "logrank_p", "p_logrank", "holm_p", "adjusted_p"}
)
#: columns holding a share (0..1), shown as a percentage
SHARE_COLUMNS = frozenset(
    {
        "uplift", "rate", "retention", "share", "risk", "baseline_risk", "stickiness",
        "churn_rate", "active_day_share", "ci_low", "ci_high", "uplift_ci_low",
        "uplift_ci_high",
    }
)  # fmt: skip
#: text longer than this is wrapped over several lines rather than cut
LONG_TEXT = 60


def _integral(frame: pl.DataFrame, name: str) -> bool:
    column = frame[name].drop_nulls().drop_nans()
    return (
        column.len() > 0
        and bool((column == column.round(0)).all())
        and bool((column.abs() < 2**53).all())
    )


def _whole_numbers(frame: pl.DataFrame) -> pl.DataFrame:
    """Float columns whose values are all whole numbers as integers (1230, not 1230.0)."""
    names = [
        n
        for n, dtype in frame.schema.items()
        if dtype.is_float()
        and n not in SHARE_COLUMNS
        and n not in P_COLUMNS
        and _integral(frame, n)
    ]
    return frame.with_columns(pl.col(n).cast(pl.Int64) for n in names)


def _each(series: pl.Series, text: Callable[[Any], str]) -> pl.Series:
    """``text`` of every value that is not null, as text, computed in the calling thread. A
    polars ``map_elements`` would call back into Python from polars' worker threads, each call
    queueing for the interpreter lock behind every other session's thread: with four sessions
    at once the weekly review's tables took minutes."""
    return pl.Series(
        series.name,
        [None if v is None else text(v) for v in series.to_list()],
        dtype=pl.String,
    )


def _code_words(frame: pl.DataFrame) -> pl.DataFrame:
    """String columns: stored codes and feature names in words."""
    strings = [n for n, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(_each(frame[n], words) for n in strings)


def for_export(frame: pl.DataFrame) -> pl.DataFrame:
    """What a CSV or Excel download holds: codes in words, whole numbers as integers (column
    names and timestamps as they are: the CSV writer gives ISO 8601 UTC, Excel plain UTC)."""
    return _code_words(_whole_numbers(frame))


def _plain_number(value: float) -> str:
    if value != value:  # NaN: no number
        return ""
    return str(int(value)) if value.is_integer() else repr(value)


def for_csv(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`for_export`, and float columns that mix whole numbers with fractions (a key-figure
    table holds counts and shares in one column) written per value: 1230, not 1230.0."""
    out = for_export(frame)
    return out.with_columns(
        _each(out[n], _plain_number) for n, dtype in out.schema.items() if dtype.is_float()
    )


def for_display(frame: pl.DataFrame, *, keep: Collection[str] = ()) -> pl.DataFrame:
    """What a table on a page shows: every rule of this module, columns named in words.
    Columns in ``keep`` keep their values (a page draws them itself, e.g. as a progress bar)."""
    out = _whole_numbers(frame)
    # NaN means "no number" in our results: shown like a null
    out = out.with_columns(pl.col(n).fill_nan(None) for n, d in out.schema.items() if d.is_float())
    exprs: list[pl.Expr | pl.Series] = []
    for name, dtype in out.schema.items():
        column = pl.col(name)
        if name in keep:
            continue
        if name in P_COLUMNS and dtype.is_float():
            exprs.append(_each(out[name], p_text).fill_null(MISSING))
        elif name in SHARE_COLUMNS and dtype.is_float():
            exprs.append(_each(out[name], lambda v: f"{v * 100:.1f} %").fill_null(MISSING))
        elif isinstance(dtype, pl.Datetime):
            values = out[name].drop_nulls()
            if dtype.time_zone is not None:
                values = values.dt.convert_time_zone("UTC")
            midnight = values.len() == 0 or bool((values.dt.time() == time(0)).all())
            exprs.append(
                (column.dt.convert_time_zone("UTC") if dtype.time_zone else column)
                .dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M")
                .fill_null(MISSING)
            )
        elif isinstance(dtype, pl.Date):
            exprs.append(column.dt.strftime("%Y-%m-%d").fill_null(MISSING))
        elif dtype == pl.String:
            exprs.append(_each(out[name], words).fill_null(MISSING))
        elif dtype.is_float():
            exprs.append(
                _each(out[name], lambda v: f"{v:,.3g}" if abs(v) < 1 else f"{v:,.1f}").fill_null(
                    MISSING
                )
            )
        elif dtype == pl.Boolean:
            exprs.append(column.replace_strict({True: "yes", False: "no"}, default=MISSING))
        else:
            exprs.append(column)
    shown = out.with_columns(exprs) if exprs else out
    return shown.rename({n: label(n) for n in shown.columns})


def longest_text(frame: pl.DataFrame, name: str) -> int:
    """The length of the longest text in a column (0 when there is none)."""
    found = frame[name].str.len_chars().max()
    return int(found) if isinstance(found, int) else 0


def long_text_columns(frame: pl.DataFrame) -> list[str]:
    """Text columns with a value longer than :data:`LONG_TEXT` characters (to be wrapped)."""
    return [
        n
        for n, dtype in frame.schema.items()
        if dtype == pl.String and longest_text(frame, n) > LONG_TEXT
    ]
