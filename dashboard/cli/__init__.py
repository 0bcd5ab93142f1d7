"""The ``proofboard`` command line.

Every subcommand takes a data source as a folder of CSV/Parquet files or a SQLAlchemy URL and
calls the same analytics functions as the dashboard. Errors print one clear line and exit 1.

One module per command (``add_parser(subparsers)`` and ``run(args) -> int``); the parser is
built in :mod:`dashboard.cli.entry` from its list ``COMMANDS``.
"""

from __future__ import annotations

from dashboard.cli.common import ENV_DATA, ENV_ENGINE, SOURCE_HELP, Progress, parse_timestamp
from dashboard.cli.entry import COMMANDS, build_parser, main

__all__ = [
    "COMMANDS",
    "ENV_DATA",
    "ENV_ENGINE",
    "SOURCE_HELP",
    "Progress",
    "build_parser",
    "main",
    "parse_timestamp",
]
