"""The dashboard's server process (dashboard/server.py): the analyses are imported before
Streamlit's command line runs, none of them imports Streamlit, and the command line gets the
arguments unchanged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_analyses_are_imported_before_streamlit_runs_and_without_it() -> None:
    probe = (
        "import sys\n"
        "import streamlit.web.cli as cli\n"
        "seen = {}\n"
        "def fake(prog_name):\n"
        "    seen['argv'] = sys.argv[1:]\n"
        "    names = ('sklearn', 'scipy.stats', 'plotly.graph_objects',\n"
        "             'analytics.impact', 'analytics.risk')\n"
        "    seen['loaded'] = [m for m in names if m in sys.modules]\n"
        "    return 0\n"
        "cli.main = fake\n"
        "from dashboard import server\n"
        "sys.argv = ['server', 'run', 'dashboard/app.py', '--server.port', '9']\n"
        "try:\n"
        "    server.main()\n"
        "except SystemExit as stop:\n"
        "    print(stop.code, seen['argv'], seen['loaded'])\n"
    )
    assert _printed(probe) == (
        "0 ['run', 'dashboard/app.py', '--server.port', '9'] "
        "['sklearn', 'scipy.stats', 'plotly.graph_objects', 'analytics.impact', 'analytics.risk']"
    )


def test_the_preloaded_modules_do_not_import_streamlit() -> None:
    probe = (
        "import sys\n"
        "from dashboard.server import PRELOADED\n"
        "import importlib\n"
        "for name in PRELOADED:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.')))\n"
    )
    assert _printed(probe) == "[]"


def _printed(probe: str) -> str:
    """What ``probe`` prints, run by this Python in a process of its own at the repository."""
    return subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
