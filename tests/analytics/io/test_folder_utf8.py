"""Folder CSVs are strict UTF-8: a Latin-1 byte is refused with the file, byte and line,
never read as a replacement character (which would turn two ids into a false duplicate)."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.community import check_source
from analytics.errors import DataSourceError
from analytics.io import open_source
from analytics.io.source import check_utf8_file
from tests.conftest import MINIMAL, write_csvs


def test_latin1_in_a_folder_csv_is_refused_with_byte_and_line(tmp_path: Path) -> None:
    folder = write_csvs(tmp_path / "f", MINIMAL)
    with (folder / "members.csv").open("ab") as f:
        f.write("José,2024-01-03,ads\nJosé2,2024-01-03,ads\n".encode("latin-1"))
    offset = len(MINIMAL["members"].encode()) + len("Jos")
    with pytest.raises(DataSourceError) as raised:
        check_source(open_source(folder))
    assert str(raised.value).startswith(
        f"members.csv is not UTF-8 text: byte {offset} (line 4) is 0xE9"
    )
    assert "save it again as UTF-8" in str(raised.value)


def test_utf8_text_reads_as_written(tmp_path: Path) -> None:
    members = MINIMAL["members"] + "José,2024-01-03,ads\nJosé😀,2024-01-03,ads\n"
    folder = write_csvs(tmp_path / "f", {**MINIMAL, "members": members})
    report = check_source(open_source(folder))
    assert not report.errors  # two distinct ids, no false duplicate


def test_the_check_finds_a_bad_byte_after_a_block_boundary(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    block = 1 << 20
    head = b"a" * (block - 1) + "é".encode()  # a character split over two blocks is fine
    body = b"x\n" * 10 + b"\xff"
    path.write_bytes(head + body)
    with pytest.raises(DataSourceError, match=rf"byte {block + 1 + 20:,} \(line 11\) is 0xFF"):
        check_utf8_file(path)


def test_a_file_cut_inside_a_character_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.csv"
    path.write_bytes(b"id\n" + "é".encode()[:1])
    with pytest.raises(DataSourceError, match=r"byte 3 \(line 2\) is 0xC3"):
        check_utf8_file(path)
