"""Proofboard's Streamlit entry point: it sets up the page, routes, and offers a link to the view
that was drawn."""

from pathlib import Path

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from analytics.errors import ProofboardError
from dashboard import auth, log_scrub
from dashboard.components import share_link
from dashboard.markup import escape

PAGES = Path(__file__).parent / "app_pages"
#: the browser tab's icon, a file of ours: nothing is fetched from the internet
ICON = Path(__file__).parent / "assets" / "icon.png"


def pages(role: auth.Role | None) -> list[StreamlitPage]:
    """The pages ``role`` may open; a page left out cannot be reached by its URL either (the
    Data page also checks the role itself, and every admin action checks it again)."""
    if role is None:  # not signed in, or signed in without a role
        return [st.Page(auth.sign_in_page, title="Sign in", icon=":material/login:", default=True)]
    shown = [
        st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page(
            PAGES / "review.py",
            title="Weekly review",
            icon=":material/summarize:",
            url_path="review",
        ),
        st.Page(
            PAGES / "growth.py", title="Growth", icon=":material/trending_up:", url_path="growth"
        ),
        st.Page(
            PAGES / "retention.py", title="Retention", icon=":material/group:", url_path="retention"
        ),
        st.Page(
            PAGES / "engagement.py",
            title="Engagement",
            icon=":material/leaderboard:",
            url_path="engagement",
        ),
        st.Page(PAGES / "impact.py", title="Impact", icon=":material/verified:", url_path="impact"),
    ]
    if role.allows(auth.Role.ANALYST):
        shown.append(
            st.Page(PAGES / "data.py", title="Data", icon=":material/database:", url_path="data")
        )
    return shown


log_scrub.install()  # the server log never holds a password (see dashboard/log_scrub.py)
st.set_page_config(page_title="Proofboard", page_icon=str(ICON), layout="wide")
try:
    role = auth.current_role()
except ProofboardError as exc:  # [proofboard.roles] cannot be read: nobody gets in
    st.error(escape(exc), icon=":material/error:")
    st.stop()
navigation = st.navigation(pages(role))
auth.sidebar_identity()
try:
    navigation.run()
finally:
    if role is not None:
        share_link()  # after the page, so the link has its choices (not drawn if it stopped early)
