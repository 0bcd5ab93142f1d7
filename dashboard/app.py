"""Proofboard's Streamlit entry point: it only sets up the page and routes."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "app_pages"

st.set_page_config(page_title="Proofboard", page_icon=":material/insights:", layout="wide")
navigation = st.navigation(
    [
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
        st.Page(PAGES / "impact.py", title="Impact", icon=":material/verified:", url_path="impact"),
        st.Page(PAGES / "data.py", title="Data", icon=":material/database:", url_path="data"),
    ]
)
navigation.run()
