"""Keyed pseudonyms and small-cell suppression (analytics.privacy)."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl
import pytest

from analytics.privacy import (
    DEFAULT_MIN_CELL,
    PrivacyError,
    is_small,
    keyed_pseudonym,
    keyed_pseudonyms,
    small_cell_text,
    suppress_member_counts,
    suppress_small_cells,
)

KEY = "k" * 32
IDS = [f"m{i:04d}" for i in range(500)]


def test_pseudonyms_are_hmac_sha256_of_the_id_under_the_key() -> None:
    expected = hmac.new(KEY.encode(), b"m0001", hashlib.sha256).hexdigest()[:16]
    assert keyed_pseudonym("m0001", key=KEY) == f"Member {expected}"


def test_pseudonyms_are_stable_unique_and_differ_with_the_key() -> None:
    names = keyed_pseudonyms(IDS, key=KEY)
    assert names["pseudonym"].n_unique() == len(IDS)
    # stable: another call (another session) in another order gives the same names
    again = keyed_pseudonyms(list(reversed(IDS)), key=KEY)
    assert names.equals(again)
    assert dict(names.iter_rows())["m0042"] == keyed_pseudonym("m0042", key=KEY)
    # keyed: another key gives unrelated names
    other = keyed_pseudonyms(IDS, key="another key of 32 bytes length!!")
    assert not set(names["pseudonym"]) & set(other["pseudonym"])
    # no member id appears in a pseudonym
    assert not any(m in p for m, p in names.iter_rows())


def test_a_short_key_is_refused() -> None:
    with pytest.raises(PrivacyError, match="at least 16"):
        keyed_pseudonyms(IDS, key="short")


def test_small_means_one_to_k_minus_one_members() -> None:
    assert DEFAULT_MIN_CELL == 10
    assert [is_small(n) for n in (0, 1, 9, 10, 11)] == [False, True, True, False, False]
    assert is_small(None)  # an unknown count is hidden
    assert is_small(4, k=5)
    assert not is_small(5, k=5)
    with pytest.raises(PrivacyError, match="at least 2"):
        is_small(3, k=1)
    assert small_cell_text(10) == "fewer than 10"


def test_rows_about_fewer_than_k_members_are_hidden() -> None:
    frame = pl.DataFrame(
        {
            "cohort": ["2024-01", "2024-02", "2024-03", "2024-04"],
            "size": [120, 9, 10, 0],
            "retained": [60, 4, 3, 0],
            "share": [0.5, 0.44, 0.3, None],
        }
    )
    out = suppress_small_cells(frame, counts=["size", "retained"])
    rows = {r["cohort"]: r for r in out.iter_rows(named=True)}
    assert rows["2024-01"] == {"cohort": "2024-01", "size": "120", "retained": "60", "share": "0.5"}
    # 9 members in the cohort: every figure of the row hidden
    assert rows["2024-02"]["size"] == rows["2024-02"]["share"] == "fewer than 10"
    # 10 in the cohort but 3 retained: the retained count (and the share of it) is a small cell
    assert rows["2024-03"]["retained"] == rows["2024-03"]["share"] == "fewer than 10"
    assert rows["2024-04"]["size"] == "0"  # an empty cell names nobody
    assert out["cohort"].to_list() == frame["cohort"].to_list()


def test_member_counts_are_found_by_name_and_k_is_a_setting() -> None:
    frame = pl.DataFrame({"day": ["a", "b"], "signups": [3, 30], "rate": [0.1, 0.2]})
    assert suppress_member_counts(frame)["signups"].to_list() == ["fewer than 10", "30"]
    assert suppress_member_counts(frame, k=2)["signups"].to_list() == ["3", "30"]
    assert suppress_member_counts(frame, k=50)["rate"].to_list() == ["fewer than 50"] * 2
    plain = pl.DataFrame({"x": [1, 2]})
    assert suppress_member_counts(plain).equals(plain)  # no member counts: unchanged
    with pytest.raises(PrivacyError, match="no column size"):
        suppress_small_cells(plain, counts="size")
