"""lnorm: an explorer for the normalization layers of PyTorch. This file is only the router.

The pages live in views/, not pages/: a folder named pages/ switches on Streamlit's
older multipage mode, in which a deep link can run a page without this router.
"""

import streamlit as st

from lnorm_app.ui import ICON

st.set_page_config(page_title="lnorm", page_icon=ICON, layout="wide")

explorer = st.Page("views/explorer.py", title="Explorer", icon=":material/grid_on:", url_path="explorer")


def home():
    """The root URL opens the Explorer, keeping the link's settings (the default page has no path of its own)."""
    st.switch_page(explorer, query_params=st.query_params.to_dict())


pages = [
    st.Page(home, title="lnorm", url_path="home", default=True, visibility="hidden"),
    explorer,
    st.Page("views/compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page("views/pitfalls.py", title="Pitfalls", icon=":material/report:", url_path="pitfalls"),
    st.Page("views/practice.py", title="Practice", icon=":material/school:", url_path="practice"),
    st.Page("views/timing.py", title="Timing", icon=":material/speed:", url_path="timing"),
]
st.navigation(pages).run()
