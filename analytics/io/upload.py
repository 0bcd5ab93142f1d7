"""Reading files a user hands over (uploaded in the dashboard or named on the command line).

Each file is a CSV or Parquet file holding one table in the user's own column names; the
mapping onto the data contract happens in :mod:`analytics.mapping`. CSV columns are read as
text, so that validation can report unparseable values by row, as for a data folder.

Every problem raises :class:`~analytics.errors.DataSourceError` with a message that names the
file and says how to fix it: a file over the size limit, text that is not UTF-8 (with the byte
offset and line of the first bad byte), a file that is not CSV or Parquet, or cannot be parsed.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from analytics.errors import DataSourceError
from analytics.io.source import not_utf8_message

#: File types a user can hand over.
UPLOAD_SUFFIXES = (".csv", ".parquet")

_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class UploadedFile:
    """One file as read: its name (without folders) and its rows.

    ``frame`` has the file's own column names; CSV columns are text. ``blank_rows`` are the
    data-row numbers (row 1 is the line after the header) of the CSV rows that were left out
    because they were empty: blank lines, or lines of separators only (``,,,``).
    """

    name: str
    frame: pl.DataFrame
    blank_rows: tuple[int, ...] = ()

    def blank_note(self) -> str | None:
        """The skipped blank rows in words, or ``None`` when there were none."""
        rows = self.blank_rows
        if not rows:
            return None
        listed = ", ".join(f"{r:,}" for r in rows[:10]) + (" …" if len(rows) > 10 else "")
        trailing = _trailing(rows, self)
        return (
            f"{self.name}: skipped {len(rows):,} blank line{'s' if len(rows) > 1 else ''} "
            f"(data row{'s' if len(rows) > 1 else ''} {listed})."
            + (
                ""
                if trailing
                else " Row numbers in the data-quality report count the rows without them."
            )
        )

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.frame.columns)


def format_size(n_bytes: int) -> str:
    """A byte count for messages: ``812 bytes``, ``3.4 MB``."""
    if n_bytes < 1024 * 1024:
        return f"{n_bytes:,} bytes" if n_bytes < 1024 else f"{n_bytes / 1024:,.1f} KB"
    return f"{n_bytes / 1024 / 1024:,.1f} MB"


def check_size(name: str, n_bytes: int, max_bytes: int | None) -> None:
    """Refuse a file larger than ``max_bytes`` (``None`` = no limit), naming file and limit."""
    if max_bytes is not None and n_bytes > max_bytes:
        raise DataSourceError(
            f"{name} is {format_size(n_bytes)}, more than the upload limit of "
            f"{format_size(max_bytes)} (server.maxUploadSize in .streamlit/config.toml). Fix: "
            "raise the limit there and restart the dashboard, or load the file with "
            "`proofboard ingest FILE --map mapping.toml --to URL`, which has no limit."
        )


def _check_utf8(name: str, data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1]
        raise DataSourceError(not_utf8_message(name, exc.start, line, byte)) from exc


def _trailing(rows: tuple[int, ...], uploaded: UploadedFile) -> bool:
    """Are all blank rows at the end of the file (so no later row number moved)?"""
    total = uploaded.frame.height + len(rows)
    return rows == tuple(range(total - len(rows) + 1, total + 1))


def _drop_blank_rows(frame: pl.DataFrame) -> tuple[pl.DataFrame, tuple[int, ...]]:
    """The frame without rows whose every field is empty, and their 1-based row numbers."""
    if frame.width == 0 or frame.height == 0:
        return frame, ()
    blank = pl.all_horizontal(
        pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in frame.columns
    )
    mask = frame.select(blank.alias("blank")).to_series()
    if not mask.any():
        return frame, ()
    rows = tuple(int(i) + 1 for i in mask.arg_true().to_list())
    return frame.filter(~mask), rows


def _read_csv(name: str, data: bytes) -> tuple[pl.DataFrame, tuple[int, ...]]:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    _check_utf8(name, data)
    if not data.strip():
        raise DataSourceError(f"{name} is empty. Fix: export it again with a header row.")
    try:
        frame = pl.read_csv(io.BytesIO(data), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise DataSourceError(
            f"{name} cannot be read as CSV: {str(exc).splitlines()[0]}. Fix: save it as "
            "comma-separated UTF-8 text with one header row and the same number of fields on "
            "every line."
        ) from exc
    blank = [i + 1 for i, c in enumerate(frame.columns) if not c.strip()]
    if blank:
        raise DataSourceError(
            f"{name}: column {blank[0]} of the header row has no name. Fix: give every column "
            "a name in the first line."
        )
    # blank lines (and lines of separators only, as spreadsheets export) are skipped, counted
    return _drop_blank_rows(frame)


def _read_parquet(name: str, data: bytes) -> pl.DataFrame:
    try:
        return pl.read_parquet(io.BytesIO(data))
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataSourceError(
            f"{name} cannot be read as Parquet: {str(exc).splitlines()[0]}. Fix: write it again "
            "(e.g. with pandas or polars `write_parquet`) or upload it as CSV."
        ) from exc


def read_upload(name: str, data: bytes, *, max_bytes: int | None = None) -> UploadedFile:
    """Read one handed-over file from its bytes.

    Parameters
    ----------
    name
        The file name as the user knows it (``users.csv``); its ending decides the format.
    data
        The file's content.
    max_bytes
        Refuse files larger than this (the dashboard's upload limit); ``None`` = no limit.
    """
    name = Path(name).name
    check_size(name, len(data), max_bytes)
    suffix = Path(name).suffix.lower()
    blank_rows: tuple[int, ...] = ()
    if suffix == ".csv":
        frame, blank_rows = _read_csv(name, data)
    elif suffix == ".parquet":
        frame = _read_parquet(name, data)
    else:
        raise DataSourceError(
            f"{name} is neither a .csv nor a .parquet file. Fix: export the table as CSV "
            "(UTF-8, with a header row) or Parquet."
        )
    return UploadedFile(name=name, frame=frame, blank_rows=blank_rows)


def read_upload_file(path: Path, *, max_bytes: int | None = None) -> UploadedFile:
    """Read one file from disk (see :func:`read_upload`)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        check_size(path.name, size, max_bytes)
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise DataSourceError(f"{path} does not exist. Fix: check the file name.") from exc
    except IsADirectoryError as exc:
        raise DataSourceError(
            f"{path} is a folder. Fix: name the CSV or Parquet files themselves."
        ) from exc
    except OSError as exc:
        raise DataSourceError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    return read_upload(path.name, data)


def read_text_file(path: Path) -> str:
    """A small UTF-8 text file (such as ``mapping.toml``), with clear errors."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DataSourceError(f"{path} does not exist. Fix: check the file name.") from exc
    except UnicodeDecodeError as exc:
        raise DataSourceError(
            f"{path} is not UTF-8 text (byte {exc.start:,}). Fix: save it as UTF-8."
        ) from exc
    except OSError as exc:
        raise DataSourceError(f"Cannot read {path}: {exc.strerror or exc}") from exc


__all__ = [
    "UPLOAD_SUFFIXES",
    "UploadedFile",
    "check_size",
    "format_size",
    "read_text_file",
    "read_upload",
    "read_upload_file",
]
