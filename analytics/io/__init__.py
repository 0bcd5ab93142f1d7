"""The only place that reads or writes data: folders (CSV/Parquet) and SQLAlchemy URLs."""

from analytics.io.history import read_audit, record_audit
from analytics.io.source import (
    DatabaseCheck,
    FolderSource,
    FrameSource,
    Source,
    SqlSource,
    check_database,
    create_engine,
    is_url,
    mask_url,
    open_source,
    scrub_secret,
    sqlite_path,
)
from analytics.io.write import (
    read_json,
    truth_path_for,
    write_database,
    write_file,
    write_folder,
    write_json,
    write_parquet_stream,
    write_tables,
)

__all__ = [
    "DatabaseCheck",
    "FolderSource",
    "FrameSource",
    "Source",
    "SqlSource",
    "check_database",
    "create_engine",
    "is_url",
    "mask_url",
    "open_source",
    "read_audit",
    "read_json",
    "record_audit",
    "scrub_secret",
    "sqlite_path",
    "truth_path_for",
    "write_database",
    "write_file",
    "write_folder",
    "write_json",
    "write_parquet_stream",
    "write_tables",
]
