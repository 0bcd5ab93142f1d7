"""Sign-in and roles: the claim-to-role mapping, and AppTests per role showing the page lists and
actions refused on the server (the signed-in user is AppTest's ``user``, the [auth] section its
``secrets``). The real sign-in flow runs in tests/e2e/test_sign_in_browser.py."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics.io import write_database
from analytics.privacy import keyed_pseudonym
from dashboard import auth
from dashboard.auth import NO_SIGN_IN, AccessDenied, Role, RoleConfigError, RoleMapping
from dashboard.markup import shown
from tests.analytics.io.test_timeouts import silent_server  # noqa: F401 - a fixture
from tests.conftest import small_community_tables
from tests.dashboard.conftest import no_exceptions

KEY = "pseudonym-key-for-tests-0123456789abcdef"
GROUPS = {"pb-admins": "admin", "pb-analysts": "analyst", "pb-viewers": "viewer"}
SECRETS: dict[str, Any] = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "cookie-secret-for-tests-0123456789",
        "client_id": "proofboard",
        "client_secret": "client-secret",
        "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    },
    "proofboard": {
        "roles": {"claim": "groups", "map": GROUPS},
        "privacy": {"pseudonym_key": KEY, "min_cell_members": 10},
    },
}
ALL_PAGES = ["Overview", "Weekly review", "Growth", "Retention", "Engagement", "Impact"]
DATA_PAGE = "app_pages/data.py"


def user(*groups: str, sub: str = "user-1") -> dict[str, Any]:
    return {"is_logged_in": True, "sub": sub, "email": f"{sub}@example.org", "groups": list(groups)}


# -- the mapping ------------------------------------------------------------------------------


def test_the_highest_role_of_any_group_wins() -> None:
    mapping = RoleMapping.from_settings({"claim": "groups", "map": GROUPS})
    assert mapping.role_for({"groups": ["pb-viewers"]}) is Role.VIEWER
    assert mapping.role_for({"groups": ["pb-viewers", "pb-admins"]}) is Role.ADMIN
    assert mapping.role_for({"groups": ["pb-analysts", "other"]}) is Role.ANALYST
    assert mapping.role_for({"groups": "pb-analysts pb-viewers"}) is Role.ANALYST  # one text
    assert mapping.role_for({"groups": ["other"]}) is None  # no group: no access
    assert mapping.role_for({}) is None
    # another claim, and a default role for everyone signed in
    roles = RoleMapping.from_settings(
        {"claim": "roles", "map": {"pb": "Admin"}, "default": "viewer"}
    )
    assert roles.role_for({"roles": ["pb"], "groups": []}) is Role.ADMIN
    assert roles.role_for({"groups": ["pb-admins"]}) is Role.VIEWER


def test_no_roles_section_gives_nobody_a_role() -> None:
    assert RoleMapping.from_settings(None).role_for({"groups": ["pb-admins"]}) is None


def test_a_wrong_role_name_is_refused_with_the_fix() -> None:
    with pytest.raises(RoleConfigError, match=r"'boss' is not a role\. Fix: use one of viewer"):
        RoleMapping.from_settings({"map": {"x": "boss"}})


def test_roles_are_ordered() -> None:
    assert Role.ADMIN.allows(Role.ANALYST)
    assert Role.ANALYST.allows(Role.VIEWER)
    assert not Role.VIEWER.allows(Role.ANALYST)
    assert not Role.ANALYST.allows(Role.ADMIN)


def test_member_exports_are_checked_and_audited_when_made(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from dashboard import components

    made: list[str] = []

    def make() -> bytes:
        made.append("made")
        return b"member_id\nm1\n"

    export = components.member_export(make, "members-at-risk.csv")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(auth.AUDIT_LOGGER)
    logger.addHandler(handler)
    try:
        monkeypatch.setattr(auth, "current_role", lambda: Role.VIEWER)
        with pytest.raises(AccessDenied, match="Your role is viewer: this needs the analyst"):
            export()
        assert made == []  # refused before the bytes were made
        assert records == []
        monkeypatch.setattr(auth, "current_role", lambda: Role.ANALYST)
        monkeypatch.setattr(auth, "current_actor", lambda: "sub-42")
        assert export() == b"member_id\nm1\n"
    finally:
        logger.removeHandler(handler)
    (line,) = [r.getMessage() for r in records]
    assert line == (
        "actor=sub-42 role=analyst action=export member-level data detail=members-at-risk.csv"
    )


# -- AppTests per role ------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    write_database(small_community_tables(), url)
    return url


@pytest.fixture
def as_role(app_on: Callable[..., AppTest], store: str) -> Callable[..., AppTest]:
    def run(groups: tuple[str, ...] | None, page: str | None = None, **query: Any) -> AppTest:
        who = {"is_logged_in": False} if groups is None else user(*groups)
        return app_on(store, page=page, secrets=SECRETS, user=who, **query)

    return run


def _pages(at: AppTest) -> list[str]:
    """The titles of the pages the navigation offers (the pages AppTest can switch to)."""
    known: list[str] = []
    for title, script in [
        ("Overview", "overview"),
        ("Weekly review", "review"),
        ("Growth", "growth"),
        ("Retention", "retention"),
        ("Engagement", "engagement"),
        ("Impact", "impact"),
        ("Data", "data"),
    ]:
        try:
            at._resolve_page_hash(str(Path(at._script_path).parent / "app_pages" / f"{script}.py"))
        except ValueError:
            continue
        known.append(title)
    return known


def _texts(at: AppTest, kind: str) -> str:
    return " ".join(shown(str(e.value)) for e in at.get(kind))


def test_without_auth_the_local_user_is_admin_and_is_told(
    app_on: Callable[..., AppTest], store: str
) -> None:
    at = app_on(store, secrets={})
    no_exceptions(at)
    assert _pages(at) == [*ALL_PAGES, "Data"]
    assert NO_SIGN_IN.capitalize() + "." in [w.value for w in at.sidebar.warning]
    at.switch_page(DATA_PAGE).run()
    assert "Upload files" in " ".join(t.label for t in at.tabs)


def test_a_visitor_who_has_not_signed_in_sees_only_sign_in(as_role: Callable[..., AppTest]) -> None:
    at = as_role(None)
    no_exceptions(at)
    assert _pages(at) == []
    assert [t.value for t in at.title] == ["Proofboard"]
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe
    assert not at.metric  # no figure at all


def test_a_user_without_a_role_is_refused(app_on: Callable[..., AppTest], store: str) -> None:
    at = app_on(store, secrets=SECRETS, user=user("marketing"))
    no_exceptions(at)
    assert _pages(at) == []
    assert "none of your 'groups' gives a role" in _texts(at, "error")
    assert not at.metric


def test_viewer_pages_and_no_data_page(as_role: Callable[..., AppTest]) -> None:
    at = as_role(("pb-viewers",))
    no_exceptions(at)
    assert _pages(at) == ALL_PAGES
    assert "Signed in as user-1@example.org · role: viewer" in _texts(at.sidebar, "caption")
    assert not at.sidebar.warning  # the no-sign-in warning is gone


def test_a_viewer_asking_for_the_data_page_gets_the_overview(
    as_role: Callable[..., AppTest],
) -> None:
    """An admin's session on the Data page, ready to save, turns into a viewer's (a downgraded
    account, or a viewer's request for the page): the server runs the Overview instead, and the
    save never happens."""
    at = as_role(("pb-admins",), page=DATA_PAGE)
    assert [t.value for t in at.title] == ["Data"]
    at.user = user("pb-viewers")
    at.run()
    no_exceptions(at)
    assert [t.value for t in at.title] == ["Overview"]
    assert not at.get("file_uploader")
    assert not [b for b in at.button if b.key == "_upload_save"]


def test_the_data_page_refuses_a_viewer_itself(store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Defence in depth: were the page reachable (run on its own here), its own check would
    stop it before anything is read or drawn."""
    monkeypatch.setenv("PROOFBOARD_DATA", store)
    page = AppTest.from_file(
        str(Path(__file__).resolve().parents[2] / "dashboard" / "app_pages" / "data.py"),
        default_timeout=60,
    )
    page.secrets = SECRETS
    page.user = user("pb-viewers")
    page.run()
    assert "Your role is viewer: this needs the analyst role" in _texts(page, "error")
    assert not page.tabs
    assert not page.dataframe
    assert not page.table
    page.user = user("pb-analysts")
    page.run()
    assert [t.value for t in page.title] == ["Data"]
    assert page.table  # the tables of the source (static, so their text wraps)


def test_analysts_see_the_data_page_without_admin_actions(as_role: Callable[..., AppTest]) -> None:
    at = as_role(("pb-analysts",), page=DATA_PAGE)
    no_exceptions(at)
    assert _pages(at) == [*ALL_PAGES, "Data"]
    assert [t.label for t in at.tabs] == [
        ":material/table_view: Current data",
        ":material/outgoing_mail: Deliveries",
    ]
    assert not at.get("file_uploader")
    assert not [t for t in at.text_input if t.key == "_connect_url"]
    assert (
        "Uploading files, connecting a database and the history (restore, forget, audit log) "
        "are for admins." in _texts(at, "caption")
    )


def test_only_admins_edit_milestones(as_role: Callable[..., AppTest]) -> None:
    growth = "app_pages/growth.py"
    for groups, can_edit in [
        (("pb-viewers",), False),
        (("pb-analysts",), False),
        (("pb-admins",), True),
    ]:
        at = as_role(groups, page=growth)
        no_exceptions(at)
        labels = [e.label for e in at.expander]
        assert ("Add, edit or delete milestones" in labels) is can_edit, groups
        assert bool([b for b in at.get("form") if "add_milestone" in str(b.proto)]) is can_edit


def test_admins_connect_within_the_allowlist_only(
    as_role: Callable[..., AppTest], tmp_path: Path
) -> None:
    at = as_role(("pb-admins",), page=DATA_PAGE)
    outside = tmp_path / "elsewhere.db"
    write_database(small_community_tables(), f"sqlite:///{outside}")
    for url, reason in [
        (f"sqlite:///{outside}", "SQLite files must lie inside"),
        ("postgresql+psycopg://u:Pw-S3cret@10.1.2.3/db", "the database kind 'postgresql+psycopg'"),
    ]:
        at.text_input(key="_connect_url").input(url).run()
        at.button(key="_connect_use").click().run()
        no_exceptions(at)
        assert reason in _texts(at, "error")
        assert "Pw-S3cret" not in _texts(at, "error")
        assert "_session_source" not in at.session_state  # nothing connected


def test_viewers_see_keyed_pseudonyms_and_no_member_downloads(
    as_role: Callable[..., AppTest], store: str
) -> None:
    page = "app_pages/engagement.py"
    viewer = as_role(("pb-viewers",), page=page, range="all", anon="0", tab="Leaderboards")
    no_exceptions(viewer)
    assert not [t for t in viewer.toggle if t.key == "anon"]  # no switch back to ids
    board = viewer.dataframe[0].value
    assert "member_id" not in board.columns
    names = list(board["member"])
    assert names
    every_id = small_community_tables()["members"]["member_id"].to_list()
    expected = {keyed_pseudonym(m, key=KEY) for m in every_id}
    assert set(names) <= expected  # HMAC of the member id under the configured key
    assert not set(every_id) & {str(v) for v in board.to_numpy().ravel()}
    downloads = [b.proto.label for b in viewer.get("download_button")]
    assert "Markdown" not in downloads  # the member lists' downloads are not offered
    assert "Downloads of member-level tables are for analysts and admins." in _texts(
        viewer, "caption"
    )
    # the same member has the same pseudonym in another session
    again = as_role(("pb-viewers",), page=page, range="all", tab="Leaderboards")
    assert list(again.dataframe[0].value["member"]) == names
    # an analyst sees member ids and gets the downloads
    analyst = as_role(("pb-analysts",), page=page, range="all", tab="Leaderboards")
    no_exceptions(analyst)
    assert set(analyst.dataframe[0].value["member"]) <= set(every_id)
    assert "Markdown" in [b.proto.label for b in analyst.get("download_button")]


def test_viewers_do_not_see_small_segments(app_on: Callable[..., AppTest], tmp_path: Path) -> None:
    tables = small_community_tables()
    members = tables["members"]
    plans = ["rare" if i < 4 else "common" for i in range(members.height)]
    tables["members"] = members.with_columns(pl.Series("plan", plans))
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    write_database(tables, url)
    viewer = app_on(url, secrets=SECRETS, user=user("pb-viewers"), seg_plan="rare")
    no_exceptions(viewer)
    assert "The chosen segments hold fewer than 10 members" in _texts(viewer, "info")
    assert not viewer.metric
    analyst = app_on(url, secrets=SECRETS, user=user("pb-analysts"), seg_plan="rare")
    no_exceptions(analyst)
    assert analyst.metric  # analysts see small segments
    wide = app_on(url, secrets=SECRETS, user=user("pb-viewers"), seg_plan="common")
    assert wide.metric


def test_connect_gives_up_on_a_database_that_never_answers(
    app_on: Callable[..., AppTest],
    store: str,
    monkeypatch: pytest.MonkeyPatch,
    silent_server: int,  # noqa: F811 - the fixture imported above
) -> None:
    """The Connect view's engines carry the connect timeout (10 s by default, 2 s here)."""
    from analytics.io import source as source_module
    from analytics.io.backends import sql as sql_module

    monkeypatch.setattr(source_module, "CONNECT_TIMEOUT_S", 2)
    monkeypatch.setattr(sql_module, "CONNECT_TIMEOUT_S", 2)
    secrets = {
        **SECRETS,
        "proofboard": {
            **SECRETS["proofboard"],
            "connect": {"allowed_schemes": ["postgresql"], "allowed_hosts": ["127.0.0.1"]},
        },
    }
    at = app_on(store, page=DATA_PAGE, secrets=secrets, user=user("pb-admins"))
    url = f"postgresql+psycopg://u:Pw-S3cret@127.0.0.1:{silent_server}/db"
    at.text_input(key="_connect_url").input(url).run()
    started = time.monotonic()
    at.button(key="_connect_use").click().run()
    elapsed = time.monotonic() - started
    no_exceptions(at)
    assert "no answer within 2 s" in _texts(at, "error")
    assert elapsed < 30
    assert "_session_source" not in at.session_state


def test_viewers_see_small_cohort_cells_blank(as_role: Callable[..., AppTest], store: str) -> None:
    from analytics.community import load_community
    from analytics.io import open_source
    from analytics.retention import cohort_matrix
    from tests.dashboard.conftest import plotly_spec

    community = load_community(open_source(store))
    first = community.first_join.date() if community.first_join else None
    cells = cohort_matrix(
        community, period="week", first_cohort=first, last_cohort=community.as_of.date()
    ).cells
    small = cells.filter(
        pl.col("complete")
        & (((pl.col("size") > 0) & (pl.col("size") < 10)) | pl.col("retained").is_between(1, 9))
    )
    assert small.height  # the hand-made community has small weekly cohorts
    views = {}
    for groups in (("pb-viewers",), ("pb-analysts",)):
        at = as_role(groups, page="app_pages/retention.py", range="all")
        no_exceptions(at)
        spec = plotly_spec(at)
        (trace,) = spec["data"]
        views[groups[0]] = trace
    hidden_hover = [h for row in views["pb-viewers"]["customdata"] for h in row if "hidden" in h]
    assert len(hidden_hover) >= small.height
    assert "fewer than 10 members: hidden for your role" in hidden_hover[0]
    viewer_values = sum(v is not None for row in views["pb-viewers"]["z"] for v in row)
    analyst_values = sum(v is not None for row in views["pb-analysts"]["z"] for v in row)
    assert viewer_values < analyst_values
    assert not any("hidden" in h for row in views["pb-analysts"]["customdata"] for h in row)


def test_settings_that_cannot_protect_anyone_stop_with_the_fix(
    app_on: Callable[..., AppTest], store: str
) -> None:
    wrong_role = {**SECRETS, "proofboard": {"roles": {"map": {"pb-admins": "boss"}}}}
    at = app_on(store, secrets=wrong_role, user=user("pb-admins"))
    no_exceptions(at)
    assert "'boss' is not a role. Fix: use one of viewer, analyst, admin" in _texts(at, "error")
    assert not at.metric
    short_key = {
        **SECRETS,
        "proofboard": {**SECRETS["proofboard"], "privacy": {"pseudonym_key": "short"}},
    }
    at = app_on(store, page="app_pages/engagement.py", secrets=short_key, user=user("pb-viewers"))
    no_exceptions(at)
    assert "pseudonym_key is shorter than 16 bytes" in _texts(at, "error")
    assert not at.dataframe


def test_an_admin_save_is_audited_with_the_subject(as_role: Callable[..., AppTest]) -> None:
    from tests.dashboard.test_data_page import _files, _upload

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger(auth.AUDIT_LOGGER)
    logger.addHandler(handler)
    try:
        at = _upload(as_role(("pb-admins",), page=DATA_PAGE), _files())
        at.checkbox(key="_upload_confirm").check().run()
        at.button(key="_upload_save").click().run()
        no_exceptions(at)
    finally:
        logger.removeHandler(handler)
    (line,) = [r.getMessage() for r in records]
    assert line.startswith("actor=user-1 role=admin action=save upload detail=to sqlite:///")
    assert line.endswith("members 3, activity 4")


def test_only_analysts_and_admins_subscribe_to_the_review(as_role: Callable[..., AppTest]) -> None:
    viewer = as_role(("pb-viewers",), page="app_pages/review.py")
    no_exceptions(viewer)
    assert not [t for t in viewer.text_input if t.key == "_subscribe_email"]
    assert "E-mail subscriptions to this review are set up by analysts and admins." in _texts(
        viewer, "caption"
    )
    analyst = as_role(("pb-analysts",), page="app_pages/review.py")
    no_exceptions(analyst)
    assert [t for t in analyst.text_input if t.key == "_subscribe_email"]
