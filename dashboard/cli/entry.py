"""The ``proofboard`` parser, built from one module per command, and the entry point that turns
every failure into one clear line on stderr."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from analytics.errors import DataContractError, ProofboardError
from dashboard.cli import (
    deliver,
    demo,
    effects,
    export,
    forget,
    import_stackexchange,
    ingest,
    milestones,
    overview,
    report,
    restore,
    retention,
    risk,
    serve,
    validate,
)

# The commands in the order ``proofboard --help`` lists them. A command is a module with
# ``add_parser(subparsers)`` (which sets ``func=run``) and ``run(args) -> int``; adding one
# is one line here.
COMMANDS: tuple[ModuleType, ...] = (
    serve,
    demo,
    ingest,
    validate,
    import_stackexchange,
    export,
    risk,
    report,
    overview,
    milestones,
    retention,
    effects,
    deliver,
    restore,
    forget,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="proofboard",
        description=(
            "Proofboard: which of a community's social proof actually works. Reads signup, "
            "activity and churn data (a folder of CSV/Parquet files or a SQL database) and "
            "answers with honest statistics."
        ),
        epilog="Run `proofboard COMMAND --help` for the options of each command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for command in COMMANDS:
        command.add_parser(sub)
    return parser


#: Exceptions of the libraries underneath whose message already says what is wrong with an
#: input (a number too large for a date, a value polars cannot convert); shown as they are.
LIBRARY_ERRORS: tuple[type[Exception], ...] = (ValueError, OverflowError)


def _scrub(text: str, args: argparse.Namespace) -> str:
    """``text`` with the password of every URL given on the command line masked."""
    from analytics.io import is_url, scrub_secret

    values = [v for v in vars(args).values() if isinstance(v, str | Path)]
    values += [x for v in vars(args).values() if isinstance(v, list) for x in v]
    for value in values:
        if is_url(str(value)):
            text = scrub_secret(text, str(value))
    return text


def _fail(message: str, args: argparse.Namespace) -> None:
    print(f"proofboard: error: {_scrub(message, args)}", file=sys.stderr)


def _quiet_broken_pipe() -> int:
    """A reader such as ``head`` closed stdout: stop quietly, as Unix tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141  # 128 + SIGPIPE, what a shell reports for a tool killed by the broken pipe


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``proofboard`` console script.

    Every failure ends in one line on stderr, with the password of any URL given masked, and
    a non-zero exit; ``PROOFBOARD_DEBUG=1`` shows the traceback of an unexpected one.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except DataContractError as exc:
        print(_scrub(exc.report.to_text(), args), file=sys.stderr)
        _fail(str(exc), args)
        return 1
    except ProofboardError as exc:  # every problem Proofboard reports on purpose
        _fail(str(exc), args)
        return 1
    except LIBRARY_ERRORS as exc:
        _fail(str(exc), args)
        return 1
    except KeyboardInterrupt:
        print("proofboard: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("PROOFBOARD_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0]
        _fail(
            f"unexpected {type(exc).__name__}: {first}. This is a bug in Proofboard or an input "
            "it does not check yet; run again with PROOFBOARD_DEBUG=1 for the traceback.",
            args,
        )
        return 1
    return code
