"""Every page renders on real data: an import of the Stack Exchange Music meta dump."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.io import write_folder
from analytics.io.stackexchange import read_stackexchange
from tests.conftest import SHARED_DATASETS
from tests.dashboard.conftest import metrics, no_exceptions

DUMP = SHARED_DATASETS / "stackexchange-music-meta"
APP_PAGES = Path(__file__).resolve().parents[2] / "dashboard" / "app_pages"
#: Every page script there is, so that a new page is covered without editing this file.
PAGES = sorted(f"app_pages/{p.name}" for p in APP_PAGES.glob("*.py") if p.name != "__init__.py")


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (DUMP / "Users.xml").is_file():
        pytest.skip(f"the Stack Exchange sample is not at {DUMP}")
    folder = tmp_path_factory.mktemp("se-import")
    write_folder(read_stackexchange(DUMP).tables, folder)
    return folder


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_the_stackexchange_import(
    app_on: Callable[..., AppTest], imported: Path, page: str
) -> None:
    at = app_on(imported, page=page, range="all")
    no_exceptions(at)
    assert not at.error, [e.value for e in at.error]
    if page.endswith("overview.py"):
        assert metrics(at)["New members"] == "3,032"  # the whole history
    if page.endswith("data.py"):
        rows = at.table[0].value["rows read"].tolist()[:4]  # a static table: its text wraps
        assert rows == ["3,032", "1,873", "38", "5,648"]
    if page.endswith("growth.py"):
        # the dump has no milestones: the page says how to add them instead of failing
        assert any("milestones" in i.value for i in at.info)
