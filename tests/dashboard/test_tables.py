"""The one column-formatting layer (dashboard.tables): what tables and exports show."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import openpyxl
import polars as pl
import pytest

from analytics.vocabulary import is_code, label, words
from dashboard import exports, tables


def _frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": ["t_01", "b_02"],
            "verdict": ["no_evidence", "helps"],
            "covariate": ["days_since_last", "join_years_sq"],
            "p_value": [0.0, 0.0123],
            "q_value": [None, 0.5],
            "uplift": [0.2128, -0.05],
            "count": [1230.0, 7.0],
            "effect": [float("nan"), 0.012],
            "announced_at": [datetime(2024, 3, 1, 14, 30, tzinfo=UTC), None],
            "known_from": [date(2024, 3, 12), None],
            "reason": ["x" * 120, None],
        }
    )


def test_display_says_codes_in_words_and_numbers_as_people_read_them() -> None:
    shown = tables.for_display(_frame())
    assert shown.columns == [
        "item id", "verdict", "covariate", "p", "q", "uplift", "count", "effect",
        "announced at", "known with data as of", "reason",
    ]  # fmt: skip
    assert shown["verdict"].to_list() == ["no evidence either way", "helps"]
    assert shown["covariate"].to_list() == [
        "days since last activity",
        "join time (years, squared)",
    ]
    assert shown["item id"].to_list() == ["t_01", "b_02"]  # ids stay as they are
    assert shown["p"].to_list() == ["< 0.001", "0.012"]  # never "0" or "0.000"
    assert shown["q"].to_list() == ["—", "0.500"]
    assert shown["uplift"].to_list() == ["21.3 %", "-5.0 %"]
    assert shown["count"].dtype == pl.Int64  # 1230, not 1230.0
    assert shown["effect"].to_list() == ["—", "0.012"]  # NaN is no number, not "nan"
    assert shown["announced at"].to_list() == ["2024-03-01 14:30", "—"]  # no +00:00
    assert shown["known with data as of"].to_list() == ["2024-03-12", "—"]
    assert shown["reason"][0] == "x" * 120  # long text whole, never cut
    assert tables.long_text_columns(shown) == ["reason"]
    for row in shown.iter_rows():
        for cell in row:
            text = str(cell)
            assert text not in {"None", "nan", "null"}
            assert "+00:00" not in text
            assert not is_code(text) or text in {"t_01", "b_02"}


def test_exports_hold_integers_as_integers_and_codes_in_words() -> None:
    frame = _frame()
    out = tables.for_export(frame)
    assert out["count"].dtype == pl.Int64
    assert out["verdict"].to_list() == ["no evidence either way", "helps"]
    assert out["p_value"].dtype == pl.Float64  # numbers stay numbers in files
    csv = exports.frame_csv(out).decode()
    assert "1230," in csv
    assert "1230.0" not in csv
    assert "+00:00" not in csv
    sheet = openpyxl.load_workbook(io.BytesIO(exports.frame_xlsx(out))).active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    counts = [sheet.cell(row=r, column=header.index("count") + 1).value for r in (2, 3)]
    assert counts == [1230, 7]
    assert all(isinstance(v, int) for v in counts)


def test_vocabulary() -> None:
    assert words("no_evidence") == "no evidence either way"
    assert words("not_identifiable") == "cannot be estimated"
    assert label("trend_pct") == "activity trend (% change)"
    assert label("log_activity") == "early activity (log count)"
    assert label("log_testimonial") == "early testimonial (log count)"
    assert label("some_new_column") == "some new column"
    assert words("Member 12") == "Member 12"


def test_large_tables_are_prepared_once_and_only_shared_with_identical_views(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dashboard import components

    calls: list[int] = []
    real = components.prepare_table

    def counted(frame: pl.DataFrame, **kwargs: Any) -> components.PreparedTable:
        calls.append(frame.height)
        return real(frame, **kwargs)

    monkeypatch.setattr(components, "prepare_table", counted)
    components._prepared_shared.clear()
    n = components.SHARED_TABLE_ROWS
    big = pl.DataFrame({"cohort": [f"c{i}" for i in range(n)], "members": list(range(n))})
    first = components.prepared_table(big)
    again = components.prepared_table(big.clone())  # same content, another object
    assert len(calls) == 1
    assert again.shown.equals(first.shown)
    # another cell, another order, another viewer's k: each prepared for itself
    changed = big.with_columns(
        pl.when(pl.col("members") == 5).then(6).otherwise("members").alias("members")
    )
    components.prepared_table(changed)
    components.prepared_table(big.reverse())
    viewer = components.prepared_table(big, k=10)
    assert len(calls) == 4
    assert viewer.shown["members"][1:10].to_list() == ["fewer than 10"] * 9  # 1 to 9 members
    assert first.shown["members"][1] == 1
    # small tables are prepared every time (cheaper than a lookup)
    small = big.head(5)
    components.prepared_table(small)
    components.prepared_table(small)
    assert len(calls) == 6
