"""Proofboard's Streamlit entry point: it only sets up the page and routes."""

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).parent / "app_pages"

st.set_page_config(page_title="Proofboard", page_icon="📊", layout="wide")
navigation = st.navigation(
    [
        st.Page(
            PAGES / "overview.py", title="Overview", icon="🏠", url_path="overview", default=True
        ),
        st.Page(PAGES / "data.py", title="Data", icon="🗂️", url_path="data"),
    ]
)
navigation.run()
