"""The workbench in the browser: `streamlit run streamlit_app.py`. Navigation only; pages live in workbench/ui/."""

import streamlit as st

from workbench.ui.login import current_identity
from workbench.ui.pages import navigation

st.set_page_config(page_title="Clinical rules workbench", page_icon=":material/stethoscope:", layout="wide")
if current_identity() is None:  # the sign-in form is showing: no page until someone signs in
    st.stop()
navigation().run()
