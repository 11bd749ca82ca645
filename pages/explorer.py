"""Explorer: which elements share one mean and variance, and what the layer outputs."""

import streamlit as st

import lnorm_ui as ui
from lnorm_core.explore import explore

st.title("Explorer")
st.write("Which elements share one mean and one variance, and what the layer makes of them.")
config = ui.page_config()
with ui.user_errors():
    result = explore(config)
st.caption(result.caption)
