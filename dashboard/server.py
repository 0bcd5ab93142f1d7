"""The dashboard's server process (``proofboard dashboard`` starts it): Streamlit's own command
line, after importing the analysis modules every page needs.

Streamlit imports a page's modules when a session first runs it. The analyses bring in
scikit-learn, SciPy and Plotly: about 2.5 s on a 2-core machine, which the first visitor would
wait for on top of loading the data. Imported here, before the server listens, they cost that
once at start-up instead. Only modules that do not touch Streamlit are imported here (Streamlit
binds its caches to the running server when a module using them is imported)."""

from __future__ import annotations

import importlib
import sys

#: imported before the server starts (none of them imports Streamlit)
PRELOADED = (
    "analytics.impact",
    "analytics.risk",
    "analytics.milestones",
    "analytics.weekly",
    "plotly.graph_objects",
)


def main() -> None:
    for name in PRELOADED:
        importlib.import_module(name)
    from streamlit.web.cli import main as streamlit

    sys.exit(streamlit(prog_name="streamlit"))


if __name__ == "__main__":
    main()
