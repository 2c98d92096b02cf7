"""The workbench in the browser: `streamlit run streamlit_app.py`. Navigation only; pages live in workbench/ui/."""

from pathlib import Path

import streamlit as st

from workbench.ui.login import current_identity
from workbench.ui.pages import navigation

ICON = Path(__file__).parent / "workbench" / "ui" / "static" / "icon.png"  # a file: an icon name is fetched online

st.set_page_config(page_title="Clinical rules workbench", page_icon=str(ICON), layout="wide")
if current_identity() is None:  # the sign-in form is showing: no page until someone signs in
    st.stop()
navigation().run()
