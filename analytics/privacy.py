"""What a wider audience may see of members: keyed pseudonyms and small-cell suppression.

Pure functions on plain values and frames (no Streamlit), so that the dashboard, the CLI and the
report can apply the same rules. The dashboard applies them to the *viewer* role.

- A **keyed pseudonym** is ``Member `` followed by the first 16 hex digits of
  HMAC-SHA256(key, member id). The same key gives the same pseudonym in every session and on
  every page; without the key nobody can go back from a pseudonym to the member id, and a
  different key gives unrelated pseudonyms.
- A **small cell** is a figure about fewer than ``k`` members (default 10). It is shown as
  "fewer than 10" instead of its value, so that nobody can single out a member from an
  aggregate.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence

import polars as pl

from analytics.errors import ProofboardError

__all__ = [
    "DEFAULT_MIN_CELL",
    "MEMBER_COUNT_COLUMNS",
    "MIN_KEY_BYTES",
    "PrivacyError",
    "is_small",
    "keyed_pseudonym",
    "keyed_pseudonyms",
    "lorenz_for_viewer",
    "member_count_columns",
    "members_shown",
    "small_cell_mask",
    "small_cell_text",
    "suppress_member_counts",
    "suppress_small_cells",
]

#: the smallest number of members a figure may describe before it is hidden
DEFAULT_MIN_CELL = 10
#: a pseudonym key shorter than this is refused (it could be guessed)
MIN_KEY_BYTES = 16
#: hex digits of the HMAC kept in a pseudonym (64 bits: no collision expected below ~10^8 ids)
PSEUDONYM_DIGITS = 16


class PrivacyError(ProofboardError, ValueError):
    """A privacy setting that cannot protect anyone (a short key, k below 2)."""


def _key_bytes(key: str | bytes) -> bytes:
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < MIN_KEY_BYTES:
        raise PrivacyError(
            f"The pseudonym key has {len(raw)} bytes; at least {MIN_KEY_BYTES} are needed so that "
            "it cannot be guessed. Fix: set pseudonym_key under [proofboard.privacy] in "
            ".streamlit/secrets.toml to a long random text, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    return raw


def keyed_pseudonym(member_id: str, *, key: str | bytes) -> str:
    """The pseudonym of one member: ``Member <16 hex digits of HMAC-SHA256(key, id)>``."""
    digest = hmac.new(_key_bytes(key), str(member_id).encode("utf-8"), hashlib.sha256)
    return "Member " + digest.hexdigest()[:PSEUDONYM_DIGITS]


def keyed_pseudonyms(member_ids: Iterable[str] | pl.Series, *, key: str | bytes) -> pl.DataFrame:
    """A keyed pseudonym for each distinct member id (see :func:`keyed_pseudonym`).

    Returns
    -------
    polars.DataFrame
        ``member_id``, ``pseudonym``, one row per distinct non-null id, in id order (the order
        is not shown anywhere: pages sort by their own figures).
    """
    keyed = hmac.new(_key_bytes(key), digestmod=hashlib.sha256)
    series = member_ids if isinstance(member_ids, pl.Series) else pl.Series(list(member_ids))
    ids = series.cast(pl.String).drop_nulls().unique().sort().to_list()
    names = []
    for m in ids:  # the keyed state copied per id: the same HMAC, a third faster than hmac.new
        digest = keyed.copy()
        digest.update(m.encode("utf-8"))
        names.append("Member " + digest.hexdigest()[:PSEUDONYM_DIGITS])
    if len(set(names)) != len(names):  # pragma: no cover - 64-bit collision
        raise PrivacyError("Two members got the same pseudonym; choose another pseudonym key.")
    return pl.DataFrame(
        {"member_id": ids, "pseudonym": names},
        schema={"member_id": pl.String, "pseudonym": pl.String},
    )


def _check_k(k: int) -> None:
    if int(k) < 2:
        raise PrivacyError(
            f"min_cell_members is {k}; it must be at least 2 (a cell of one member names that "
            "member). Fix: set min_cell_members under [proofboard.privacy] to 10 or more."
        )


def is_small(members: int | None, *, k: int = DEFAULT_MIN_CELL) -> bool:
    """True when a figure about ``members`` members must be hidden (0 is not small: an empty
    cell says nothing about anyone; an unknown count is treated as small)."""
    _check_k(k)
    if members is None:
        return True
    return 0 < int(members) < k


def small_cell_text(k: int = DEFAULT_MIN_CELL) -> str:
    """What a hidden figure reads: ``fewer than 10``."""
    return f"fewer than {int(k)}"


def suppress_small_cells(
    frame: pl.DataFrame,
    *,
    counts: str | Sequence[str],
    k: int = DEFAULT_MIN_CELL,
    hide: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The frame with every row about fewer than ``k`` members hidden.

    A row is *small* when any of its ``counts`` columns (numbers of members) is between 1 and
    ``k - 1``. In a small row the ``counts`` columns and the ``hide`` columns (figures computed
    from those members; default: every other numeric column) read :func:`small_cell_text`.
    Affected columns become text; other rows keep their values (as text in those columns).

    Parameters
    ----------
    frame
        A result table, one row per cell or segment.
    counts
        The column(s) holding the number of members behind each row.
    k
        The smallest number of members a row may describe.
    hide
        The columns derived from those members; default every numeric column.
    """
    _check_k(k)
    count_columns = [counts] if isinstance(counts, str) else list(counts)
    missing = [c for c in count_columns if c not in frame.columns]
    if missing:
        raise PrivacyError(
            f"Cannot hide small cells: no column {', '.join(missing)} in the table (columns: "
            f"{', '.join(frame.columns)})."
        )
    if hide is None:
        hide = [
            n for n, dtype in frame.schema.items() if dtype.is_numeric() and n not in count_columns
        ]
    affected = list(dict.fromkeys([*count_columns, *hide]))
    small = pl.any_horizontal([(pl.col(c) > 0) & (pl.col(c) < k) for c in count_columns]).fill_null(
        False
    )
    text = small_cell_text(k)
    return frame.with_columns(
        pl.when(small).then(pl.lit(text)).otherwise(pl.col(c).cast(pl.String)).alias(c)
        for c in affected
    )


#: column names that hold numbers of members in Proofboard's result tables
MEMBER_COUNT_COLUMNS = frozenset(
    {
        "size", "retained", "n", "n_exposed", "n_control", "n_treated", "members", "joined",
        "activated", "active", "dau", "wau", "mau", "signups", "new_members", "churned",
        "at_risk", "holders", "exposed", "comparison", "cohort_size", "members_active",
    }
)  # fmt: skip


def member_count_columns(frame: pl.DataFrame) -> list[str]:
    """The frame's integer columns that hold numbers of members (:data:`MEMBER_COUNT_COLUMNS`)."""
    return [c for c in frame.columns if c in MEMBER_COUNT_COLUMNS and frame.schema[c].is_integer()]


def small_cell_mask(
    frame: pl.DataFrame, *, counts: Sequence[str], k: int = DEFAULT_MIN_CELL
) -> pl.Series:
    """For each row, True when one of its ``counts`` is between 1 and ``k - 1`` members."""
    _check_k(k)
    if not counts:
        return pl.Series("small", [False] * frame.height, dtype=pl.Boolean)
    return frame.select(
        pl.any_horizontal([(pl.col(c) > 0) & (pl.col(c) < k) for c in counts])
        .fill_null(False)
        .alias("small")
    ).to_series()


def suppress_member_counts(frame: pl.DataFrame, *, k: int = DEFAULT_MIN_CELL) -> pl.DataFrame:
    """:func:`suppress_small_cells` on the frame's member-count columns
    (:func:`member_count_columns`); a frame without one is returned as it is."""
    counts = member_count_columns(frame)
    if not counts or frame.is_empty():
        return frame
    return suppress_small_cells(frame, counts=counts, k=k)


def members_shown(frame: pl.DataFrame) -> bool:
    """True when the frame names members (a ``member_id`` column)."""
    return "member_id" in frame.columns


def lorenz_for_viewer(
    lorenz: pl.DataFrame, *, active_members: int, k: int = DEFAULT_MIN_CELL
) -> pl.DataFrame:
    """The points of a Lorenz curve (``member_share``, ``activity_share``, members from least to
    most active) that a viewer may see. A point splits the ``active_members`` into the least
    active and the rest: it is kept only when neither side is a group of 1 to k - 1 members, and
    kept points are at least k members apart, so no point or step of the curve tells the
    activity of fewer than k members (the share of the "top 1 %" of 250 members, say). The
    corners (0, 0) and (1, 1) tell nothing and stay. Empty when fewer than k members are
    active."""
    _check_k(k)
    n = int(active_members)
    if n < k or lorenz.is_empty():
        return lorenz.clear()
    below = (lorenz["member_share"] * n).round(0).cast(pl.Int64).to_list()
    keep: list[int] = []
    last = 0
    for row, i in enumerate(below):
        if i <= 0 or i >= n:
            keep.append(row)
        elif i - last >= k and n - i >= k:
            keep.append(row)
            last = i
    return lorenz[keep]
