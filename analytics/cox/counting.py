"""The counting-process table: one row per member and interval, exposures lagged."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from analytics.cox.checks import _check_lag, _flag_column, _float_column, _names, _require_columns
from analytics.cox.common import RESERVED_COLUMNS, FloatArray, IntArray
from analytics.errors import InputError


def counting_process(
    members: pl.DataFrame,
    exposures: pl.DataFrame,
    *,
    items: Sequence[str],
    lag_days: float = 1.0,
    fixed: Sequence[str] = (),
) -> pl.DataFrame:
    """Split each member's follow-up into (start, stop] intervals at their lagged exposures.

    An exposure on tenure day ``d`` counts from day ``d + lag_days`` on: the interval ending
    there is unexposed, the next one exposed. Exposures that would count only at or after the
    end of follow-up (churn or now) change nothing, so an exposure on the visit a member churned
    on is never counted as "before churn". An exposure before joining (negative day) counts
    from ``max(0, d + lag_days)``.

    Parameters
    ----------
    members : polars.DataFrame
        One row per member: ``member_id``, ``tenure_days`` (days from joining to churn, or to
        now when still a member; >= 0), ``churned`` (1 churned, 0 still a member) and the
        numeric columns named in ``fixed``. Members with zero tenure are at risk for no time
        and are left out.
    exposures : polars.DataFrame
        ``member_id``, ``item_id`` and ``day`` (tenure day of the member's first exposure to
        the item), one row per member and item; if an item is listed twice for a member the
        earliest day counts. Rows of items not in ``items`` and of members not in ``members``
        are ignored.
    items : sequence of str
        Proof items to turn into 0/1 columns (named by item id), even if nobody saw them.
    lag_days : float
        Days between an exposure and the day it starts to count (at least 1).
    fixed : sequence of str
        Columns of ``members`` copied to every interval (covariates that do not change).

    Returns
    -------
    polars.DataFrame
        ``member_id``, ``start``, ``stop``, ``event`` (1 only on the last interval of a member
        who churned), one Int8 0/1 column per item, then the fixed columns. Members keep their
        order in ``members``; each member's intervals are in time order and tile (0, tenure].

    Raises
    ------
    ValueError
        On missing or mistyped columns, missing values, negative tenure, churn flags other than
        0/1, repeated member ids, item names that clash with other columns, or a lag below one
        day; the message says how to fix it.
    """
    items = _names(items, "items")
    fixed = _names(fixed, "fixed")
    _check_lag(lag_days)
    clash = sorted(set(items) & (set(fixed) | set(RESERVED_COLUMNS)))
    if clash:
        raise InputError(
            f"Item name(s) {', '.join(map(repr, clash))} clash with "
            f"{'fixed covariates' if set(clash) & set(fixed) else 'columns of the result'}: "
            f"rename the item(s) or the fixed column(s); {', '.join(RESERVED_COLUMNS)} are "
            "reserved."
        )
    reserved_fixed = sorted(set(fixed) & set(RESERVED_COLUMNS))
    if reserved_fixed:
        raise InputError(
            f"Fixed covariate(s) {', '.join(map(repr, reserved_fixed))} use a reserved name "
            f"({', '.join(RESERVED_COLUMNS)}): rename the column(s) in members first."
        )
    _require_columns(members, ("member_id", "tenure_days", "churned", *fixed), "members")
    _require_columns(exposures, ("member_id", "item_id", "day"), "exposures")
    if members.height == 0:
        raise InputError("members is empty: pass at least one member.")
    ids = members["member_id"]
    if ids.null_count():
        raise InputError(
            f"members has {ids.null_count():,} missing member_id value(s): fill them in or drop "
            "those rows."
        )
    if ids.n_unique() != ids.len():
        repeated = ids.filter(ids.is_duplicated()).unique().head(3).to_list()
        raise InputError(
            f"members must have one row per member, but member_id repeats (e.g. {repeated}): "
            "keep one row per member."
        )
    tenure = _float_column(members, "tenure_days", "members", "tenure in days")
    bad = ~np.isfinite(tenure)
    if bad.any():
        raise InputError(
            f"members.tenure_days has {int(bad.sum()):,} missing or infinite value(s) (first at "
            f"row {int(np.argmax(bad))}): fill in the tenure in days or drop those members."
        )
    negative = tenure < 0
    if negative.any():
        first = int(np.argmax(negative))
        raise InputError(
            f"members.tenure_days must be at least 0 days, but {int(negative.sum()):,} value(s) "
            f"are negative (first at row {first}: {tenure[first]!r}). Check that the end date is "
            "after the join date."
        )
    churned = _flag_column(members, "churned", "members")
    for name in fixed:
        values = _float_column(members, name, "members", "a number per member")
        if not np.isfinite(values).all():
            raise InputError(
                f"Fixed covariate members.{name} has missing or infinite values: fill them in "
                "(or add a 0/1 'missing' indicator) before fitting."
            )

    n, k = members.height, len(items)
    switch = np.full((n, k), np.inf)  # day each item starts to count, per member
    if k and exposures.height:
        switch_rows, switch_cols, days = _exposure_days(members, exposures, items)
        np.minimum.at(switch, (switch_rows, switch_cols), days + float(lag_days))

    present = tenure > 0
    cut_rows, cut_cols = np.nonzero((switch > 0.0) & (switch < tenure[:, None]))
    rows = np.concatenate([np.flatnonzero(present), cut_rows]).astype(np.int64)
    starts = np.concatenate([np.zeros(int(present.sum())), switch[cut_rows, cut_cols]])
    order = np.lexsort((starts, rows))
    rows, starts = rows[order], starts[order]
    distinct = np.ones(rows.size, dtype=bool)
    distinct[1:] = (rows[1:] != rows[:-1]) | (starts[1:] != starts[:-1])
    rows, starts = rows[distinct], starts[distinct]
    last = np.ones(rows.size, dtype=bool)
    last[:-1] = rows[1:] != rows[:-1]
    stops = np.where(last, tenure[rows], np.append(starts[1:], 0.0))
    events = np.where(last, churned[rows], 0).astype(np.int8)
    exposed = switch[rows] <= starts[:, None]

    columns: list[pl.Series] = [
        ids.gather(rows).alias("member_id"),
        pl.Series("start", starts + 0.0, dtype=pl.Float64),
        pl.Series("stop", stops, dtype=pl.Float64),
        pl.Series("event", events, dtype=pl.Int8),
    ]
    columns += [pl.Series(item, exposed[:, j].astype(np.int8)) for j, item in enumerate(items)]
    columns += [members[name].gather(rows) for name in fixed]
    return pl.DataFrame(columns)


def _exposure_days(
    members: pl.DataFrame, exposures: pl.DataFrame, items: Sequence[str]
) -> tuple[IntArray, IntArray, FloatArray]:
    """Member row, item column and exposure day of every usable exposure row."""
    if not (exposures["day"].dtype.is_numeric()):
        raise InputError(
            f"exposures.day must be numbers (tenure day of the first exposure), got "
            f"{exposures['day'].dtype}. Convert dates to days since joining first."
        )
    item_ids = exposures["item_id"]
    if not (item_ids.dtype == pl.String or item_ids.dtype.is_integer()):
        raise InputError(
            f"exposures.item_id must be text or whole numbers naming the item, got "
            f"{item_ids.dtype}."
        )
    index = members.select("member_id").with_row_index("__row")
    table = exposures.select(
        "member_id", pl.col("item_id").cast(pl.String), pl.col("day").cast(pl.Float64)
    ).filter(pl.col("item_id").is_in(list(items)))
    try:
        table = table.join(index, on="member_id", how="inner")
    except pl.exceptions.PolarsError as exc:
        raise InputError(
            f"exposures.member_id ({exposures['member_id'].dtype}) cannot be matched with "
            f"members.member_id ({members['member_id'].dtype}): cast both to the same type."
        ) from exc
    days = table["day"].to_numpy().astype(np.float64)
    bad = ~np.isfinite(days)
    if bad.any():
        raise InputError(
            f"exposures.day has {int(bad.sum()):,} missing or infinite value(s): drop those "
            "rows (a member who never saw an item simply has no row for it)."
        )
    rows = table["__row"].to_numpy().astype(np.int64)
    cols = (
        table["item_id"]
        .replace_strict(list(items), list(range(len(items))), return_dtype=pl.Int64)
        .to_numpy()
        .astype(np.int64)
    )
    return rows, cols, days


# --------------------------------------------------------------------------------------------
# Cox model
