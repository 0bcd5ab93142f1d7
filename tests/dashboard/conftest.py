"""AppTest helpers: run the app on a chosen data source."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
TIMEOUT = 60


@pytest.fixture
def app_on(monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """``app_on(source, page=None, *, secrets=None, user=None, **query)`` runs the app on
    ``source`` and returns it; ``secrets`` stand for .streamlit/secrets.toml, ``user`` for the
    signed-in user's claims (``st.user``)."""

    def run(
        source: str | Path,
        page: str | None = None,
        *,
        secrets: dict[str, Any] | None = None,
        user: dict[str, Any] | None = None,
        **query: str | list[str],
    ) -> AppTest:
        monkeypatch.setenv("PROOFBOARD_DATA", str(source))
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        if secrets is not None:
            at.secrets = secrets
        if user is not None:
            at.user = user
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
        if page is not None:
            at.switch_page(page).run()
        return at

    return run


def plotly_spec(at: AppTest, index: int = 0) -> dict[str, Any]:
    """The figure JSON of the ``index``-th plotly chart (AppTest has no plotly accessor)."""
    spec: dict[str, Any] = json.loads(at.get("plotly_chart")[index].proto.spec)
    return spec


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def url(at: AppTest, key: str) -> list[str]:
    """A query parameter as a list (AppTest gives one value as a plain string)."""
    value = at.query_params.get(key, [])
    return [value] if isinstance(value, str) else list(value)
