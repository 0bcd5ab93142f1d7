"""Sign-in and roles in a real browser against a real OpenID Connect provider.

The test starts ``oidc-provider-mock`` (tests/oidc_server.py) with one user per role, and a
``streamlit run`` whose secrets.toml has an ``[auth]`` section pointing at it. Chromium signs in
through the provider's authorize page, sees the pages of its role, is refused what its role may
not do (by the server: the page is not run, whatever the URL asks), and signs out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from analytics.io import write_database
from tests.conftest import small_community_tables
from tests.e2e.conftest import _free_port, serve_app
from tests.oidc_server import Provider, oidc_provider, write_secrets

pytestmark = pytest.mark.e2e

TIMEOUT = 45_000


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with oidc_provider() as running:
        yield running


@pytest.fixture(scope="module")
def signed_app(provider: Provider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard with sign-in, on a small community; its address on ``localhost`` (the
    redirect URI's host, so the login cookie comes back)."""
    folder = tmp_path_factory.mktemp("signed_app")
    store = f"sqlite:///{folder / 'store.db'}"
    write_database(small_community_tables(), store)
    port = _free_port()
    secrets = write_secrets(folder, provider=provider, app_port=port)
    with serve_app(
        store,
        port=port,
        env={"AUTHLIB_INSECURE_TRANSPORT": "1"},
        args=["--secrets.files", str(secrets)],
    ):
        yield f"http://localhost:{port}"


def _sign_in(browser: Any, base: str, sub: str) -> tuple[Any, Any]:
    """A fresh browser context signed in as ``sub`` through the provider's page."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(base, wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").click(timeout=TIMEOUT)
    # the provider's authorize page: one button per seeded user
    page.get_by_role("button", name=sub, exact=True).click(timeout=TIMEOUT)
    page.wait_for_url(re.compile(re.escape(base) + r"/?(\?.*)?$"), timeout=TIMEOUT)
    page.get_by_text(f"Signed in as {sub}").wait_for(timeout=TIMEOUT)
    return context, page


def _pages(page: Any) -> list[str]:
    links = page.locator("[data-testid='stSidebarNav'] a")
    links.first.wait_for(timeout=TIMEOUT)
    # each link's text is its icon's name, then its title
    return [t.strip().splitlines()[-1].strip() for t in links.all_inner_texts()]


def _heading(page: Any, name: str) -> Any:
    """The page's title (an h1: the sidebar's section headings are smaller)."""
    return page.locator("h1").filter(has_text=re.compile(f"^{re.escape(name)}$"))


ALL = ["Overview", "Weekly review", "Growth", "Retention", "Engagement", "Impact"]


def test_without_signing_in_only_the_sign_in_page(signed_app: str, browser: Any) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{signed_app}/data", wait_until="domcontentloaded")
        page.get_by_role("button", name="Sign in").wait_for(timeout=TIMEOUT)
        assert not _heading(page, "Data").count()
        assert not page.get_by_text("Upload files").count()
        assert not page.get_by_text("no sign-in configured", exact=False).count()
    finally:
        context.close()


def test_viewer_sees_aggregate_pages_and_is_refused_the_data_page(
    signed_app: str, browser: Any
) -> None:
    context, page = _sign_in(browser, signed_app, "vic-viewer")
    try:
        assert "role: viewer" in page.get_by_text("Signed in as vic-viewer").inner_text()
        assert _pages(page) == ALL
        # asking for the Data page by its address: the server runs the Overview instead
        page.goto(f"{signed_app}/data", wait_until="domcontentloaded")
        _heading(page, "Overview").wait_for(timeout=TIMEOUT)
        assert not _heading(page, "Data").count()
        assert not page.get_by_text("Upload files").count()
        # members only under pseudonyms, and no member-level downloads
        page.goto(
            f"{signed_app}/engagement?range=all&tab=Leaderboards", wait_until="domcontentloaded"
        )
        page.get_by_text(
            "Downloads of member-level tables are for analysts and admins."
        ).first.wait_for(timeout=TIMEOUT)
        assert not page.get_by_text("Hide member names and ids").count()
    finally:
        context.close()


def test_analyst_sees_the_data_page_but_not_upload_or_connect(
    signed_app: str, browser: Any
) -> None:
    context, page = _sign_in(browser, signed_app, "ann-analyst")
    try:
        assert _pages(page) == [*ALL, "Data"]
        page.goto(f"{signed_app}/data", wait_until="domcontentloaded")
        _heading(page, "Data").wait_for(timeout=TIMEOUT)
        page.get_by_text(
            "Uploading files, connecting a database and the history (restore, forget, audit log) "
            "are for admins."
        ).wait_for(timeout=TIMEOUT)
        assert not page.get_by_role("tab", name=re.compile("Upload files")).count()
        assert not page.get_by_role("tab", name=re.compile("Connect a database")).count()
    finally:
        context.close()


def test_admin_gets_upload_and_connect_and_signs_out(signed_app: str, browser: Any) -> None:
    context, page = _sign_in(browser, signed_app, "ada-admin")
    try:
        assert _pages(page) == [*ALL, "Data"]
        page.goto(f"{signed_app}/data", wait_until="domcontentloaded")
        page.get_by_role("tab", name=re.compile("Upload files")).wait_for(timeout=TIMEOUT)
        page.get_by_role("tab", name=re.compile("Connect a database")).click()
        page.get_by_text("Only the kinds of database, hosts and SQLite folders").wait_for(
            timeout=TIMEOUT
        )
        # sign out: back to the sign-in page, and the Data page is out of reach again
        page.get_by_role("button", name="Sign out").click()
        # Streamlit drops its login cookie, then sends the browser to the provider's end-session
        # page (OIDC RP-initiated logout), which redirects back after confirmation
        page.get_by_role("button", name="End session").click(timeout=TIMEOUT)
        page.wait_for_url(re.compile(re.escape(signed_app)), timeout=TIMEOUT)
        page.goto(signed_app, wait_until="domcontentloaded")
        page.get_by_role("button", name="Sign in").wait_for(timeout=TIMEOUT)
        assert not page.get_by_text("Signed in as").count()
        page.goto(f"{signed_app}/data", wait_until="domcontentloaded")
        page.get_by_role("button", name="Sign in").wait_for(timeout=TIMEOUT)
        assert not _heading(page, "Data").count()
    finally:
        context.close()


def test_a_user_in_no_mapped_group_is_refused(signed_app: str, browser: Any) -> None:
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(signed_app, wait_until="domcontentloaded")
        page.get_by_role("button", name="Sign in").click(timeout=TIMEOUT)
        page.get_by_role("button", name="nora-norole", exact=True).click(timeout=TIMEOUT)
        page.get_by_text("gives a role in Proofboard").wait_for(timeout=TIMEOUT)
        page.goto(f"{signed_app}/overview", wait_until="domcontentloaded")
        page.get_by_text("gives a role in Proofboard").wait_for(timeout=TIMEOUT)
        assert not _heading(page, "Overview").count()
    finally:
        context.close()
