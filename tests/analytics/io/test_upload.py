"""Reading handed-over files: size limit, encodings, formats, each error naming the file."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from analytics.errors import DataSourceError
from analytics.io.upload import read_text_file, read_upload, read_upload_file


def test_csv_columns_are_read_as_text_and_a_bom_is_dropped() -> None:
    data = "\ufeffuser_id,created_at\n007,2024-01-01\n".encode()
    uploaded = read_upload("folder/users.csv", data)
    assert uploaded.name == "users.csv"
    assert uploaded.columns == ("user_id", "created_at")
    assert uploaded.frame["user_id"].to_list() == ["007"]  # ids keep their leading zeros
    assert uploaded.frame.schema == {"user_id": pl.String, "created_at": pl.String}


def test_parquet_keeps_its_types() -> None:
    buffer = io.BytesIO()
    pl.DataFrame({"uid": [1, 2], "score": [0.5, 1.5]}).write_parquet(buffer)
    uploaded = read_upload("users.parquet", buffer.getvalue())
    assert uploaded.frame.schema == {"uid": pl.Int64, "score": pl.Float64}


def test_a_file_over_the_limit_is_refused_naming_file_and_limit() -> None:
    data = b"user_id,created_at\n" + b"a,2024-01-01\n" * 200
    with pytest.raises(DataSourceError) as caught:
        read_upload("big.csv", data, max_bytes=1024)
    message = str(caught.value)
    assert message.startswith("big.csv is 2.6 KB, more than the upload limit of 1.0 KB")
    assert "server.maxUploadSize" in message
    assert read_upload("big.csv", data, max_bytes=len(data)).frame.height == 200


def test_latin1_text_names_the_byte_offset_and_line() -> None:
    data = "user_id,city\na,Zurich\nb,Zürich\n".encode("latin-1")
    offset = data.index(b"\xfc")
    with pytest.raises(DataSourceError) as caught:
        read_upload("users.csv", data)
    message = str(caught.value)
    assert f"users.csv is not UTF-8 text: byte {offset} (line 3) is 0xFC" in message
    assert "save it again as UTF-8" in message


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("users.xlsx", b"PK\x03\x04", r"users\.xlsx is neither a \.csv nor a \.parquet file"),
        ("users.csv", b"", r"users\.csv is empty"),
        ("users.csv", b"a,,c\n1,2,3\n", r"users\.csv: column 2 of the header row has no name"),
        ("users.csv", b'a,b\n"1,2\n', r"users\.csv cannot be read as CSV"),
        ("users.parquet", b"not parquet", r"users\.parquet cannot be read as Parquet"),
    ],
)
def test_unreadable_files_are_named(name: str, data: bytes, expected: str) -> None:
    with pytest.raises(DataSourceError, match=expected):
        read_upload(name, data)


def test_reading_from_disk(tmp_path: Path) -> None:
    file = tmp_path / "events.csv"
    file.write_text("user_id,timestamp,action\na,2024-01-02,post\n", encoding="utf-8")
    assert read_upload_file(file).frame.height == 1
    with pytest.raises(DataSourceError, match=r"nope\.csv does not exist"):
        read_upload_file(tmp_path / "nope.csv")
    with pytest.raises(DataSourceError, match="is a folder"):
        read_upload_file(tmp_path)
    (tmp_path / "mapping.toml").write_bytes(b'[members]\nfile = "caf\xe9.csv"\n')
    with pytest.raises(DataSourceError, match=r"mapping\.toml is not UTF-8 text \(byte 21\)"):
        read_text_file(tmp_path / "mapping.toml")


def test_blank_lines_and_separator_only_lines_are_skipped_and_counted() -> None:
    from analytics.io.upload import read_upload

    uploaded = read_upload("users.csv", b"id,plan\n1,free\n\n2,pro\n , \n,\n3,free\n\n")
    assert uploaded.frame["id"].to_list() == ["1", "2", "3"]
    assert uploaded.blank_rows == (2, 4, 5, 7)
    note = uploaded.blank_note()
    assert note is not None
    assert note.startswith("users.csv: skipped 4 blank lines (data rows 2, 4, 5, 7).")
    assert "count the rows without them" in note  # rows after them moved up
    trailing = read_upload("users.csv", b"id,plan\n1,free\n2,pro\n\n\n")
    assert trailing.blank_rows == (3, 4)
    assert "count the rows without them" not in (trailing.blank_note() or "")
    assert read_upload("users.csv", b"id,plan\n1,free\n").blank_note() is None
