"""``proofboard dashboard``: start the Streamlit dashboard on a data source."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from analytics.errors import ProofboardError
from dashboard.cli.common import ENV_DATA, ENV_ENGINE, SOURCE_HELP, Progress, add_engine

APP_PATH = Path(__file__).resolve().parent.parent / "app.py"


def _default_source(progress: Callable[[str, float], None]) -> str:
    from analytics.embedded import default_database, default_url, ensure_default_database

    if ensure_default_database(progress=progress):
        print(f"Created the demo community in {default_database()}", file=sys.stderr)
    return default_url()


def secrets_files() -> tuple[Path, ...]:
    """The secrets.toml files Streamlit reads, in its order (a later one wins): the user's
    ``~/.streamlit/secrets.toml``, then ``.streamlit/secrets.toml`` where the dashboard runs."""
    return (Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml")


def secrets_data(files: Sequence[Path] | None = None) -> str | None:
    """``data`` of the ``[proofboard]`` section of the secrets.toml files, as the dashboard
    will read it (``None`` when none sets it)."""
    import tomllib

    from analytics.io.upload import read_text_file

    found = None
    for path in secrets_files() if files is None else files:
        if not path.is_file():
            continue
        try:
            section = tomllib.loads(read_text_file(path)).get("proofboard", {})
        except tomllib.TOMLDecodeError as exc:
            raise ProofboardError(
                f"{path} is not valid TOML ({exc}). Fix: compare it with "
                ".streamlit/secrets.toml.example."
            ) from None
        value = section.get("data") if isinstance(section, dict) else None
        found = str(value) if value else found
    return found


def run(args: argparse.Namespace) -> int:
    """Start Streamlit. The source is ``--data``, else ``$PROOFBOARD_DATA``, else ``data`` in
    secrets.toml, else the embedded database (created here on first run); only ``--data`` is
    passed on in the environment, so the dashboard resolves the rest itself, as the README
    says (and as a browser session's "Connect a database" can override)."""
    from analytics.io import mask_url, open_source

    source = args.data or os.environ.get(ENV_DATA) or secrets_data()
    if not source:
        source = _default_source(Progress())
    open_source(source)  # fail here, with a clear message, rather than inside the app
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    if args.data:
        env[ENV_DATA] = args.data
    if args.engine:
        env[ENV_ENGINE] = args.engine
    command = [
        # Streamlit's command line, after the analysis modules are imported (dashboard.server);
        # -P: the working folder (where .streamlit/ is read) is not put before the installed
        # packages, so a folder of its own named analytics or dashboard is not imported instead
        sys.executable, "-P", "-m", "dashboard.server", "run", str(APP_PATH),
        "--server.headless", "true",
        "--server.port", str(args.port),
        "--server.address", args.host,
    ]  # fmt: skip
    shown = mask_url(source) if "://" in source else source
    print(f"Proofboard dashboard on {shown}")
    print(f"Open http://{'localhost' if args.host == '0.0.0.0' else args.host}:{args.port}")
    sys.stdout.flush()
    os.execve(sys.executable, command, env)
    return 0  # pragma: no cover - execve does not return


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dashboard",
        help="start the dashboard (default: the embedded demo database under data/)",
        description=(
            "Start the Streamlit dashboard on a data source. Without --data it uses "
            f"${ENV_DATA} when set, else the embedded SQLite database data/proofboard.db, "
            "creating it with the demo community on first run."
        ),
    )
    p.add_argument("--data", metavar="SOURCE", help=SOURCE_HELP)
    add_engine(p)
    p.add_argument("--port", type=int, default=8501, help="port to serve on (default 8501)")
    p.add_argument("--host", default="localhost", help="address to listen on (default localhost)")
    p.set_defaults(func=run)
