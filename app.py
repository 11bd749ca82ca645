"""lnorm: an explorer for the normalization layers of PyTorch. This file is only the router."""

import streamlit as st

st.set_page_config(page_title="lnorm", page_icon=":material/stacked_bar_chart:", layout="wide")

pages = [
    st.Page("pages/explorer.py", title="Explorer", icon=":material/grid_on:", url_path="explorer", default=True),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("pages/pitfalls.py", title="Pitfalls", icon=":material/report:", url_path="pitfalls"),
    st.Page("pages/timing.py", title="Timing", icon=":material/speed:", url_path="timing"),
]
st.navigation(pages).run()
