"""The bare page bench/load.py measures lnorm against: Streamlit's own cost for a page of lnorm's shape.

    python -m streamlit run bench/bare_app.py --runner.postScriptGC=false   # from the repo root

The same router as app.py (four pages at lnorm's paths, one hidden default), and on each page
what lnorm's pages hold with none of their computing: a sidebar with lnorm's controls under the
same keys, each bound to the URL, a preset that fills the shape; a title and a line of text;
five lazy tabs; one plotly heatmap given as a dict (a 50 x 50 seeded draw: what lnorm sends for a
small tensor). Run from the repo root, it reads the same .streamlit/config.toml (post-script
garbage collection off).
"""

import numpy as np
import streamlit as st

PAGES = {"explorer": "Explorer", "compare": "Compare", "pitfalls": "Pitfalls", "timing": "Timing"}
PRESETS = {"(2, 3, 4)": "2, 3, 4", "(4, 2, 3)": "4, 2, 3", "(2, 5, 8)": "2, 5, 8", "(2, 4, 3, 3)": "2, 4, 3, 3",
           "(8, 128, 512)": "8, 128, 512", "the largest (1024, 1024)": "1024, 1024"}
KINDS = ["LayerNorm", "RMSNorm", "BatchNorm", "InstanceNorm", "GroupNorm"]
TABS = ["Groups", "3-D cube", "Input → output", "Same pooling", "Reproduce in PyTorch"]
CELLS = 50


def on_preset():
    st.session_state["shape"] = PRESETS.get(st.session_state.get("preset"), "2, 3, 4")


def sidebar():
    """lnorm's sidebar controls, under its keys, bound to the URL; the seed."""
    sb = st.sidebar
    sb.header("Input")
    source = sb.segmented_control("Source", ["random", "paste"], default="random", key="source", bind="query-params")
    if source == "paste":
        sb.text_area("Paste a tensor", key="paste", height=150, bind="query-params")
    else:
        sb.selectbox("Preset", list(PRESETS), index=None, key="preset", on_change=on_preset)
        sb.text_input("Shape", value="2, 3, 4", key="shape", bind="query-params")
    seed = sb.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed", bind="query-params")
    sb.selectbox("Distribution", ["normal", "uniform"], key="dist", bind="query-params")
    c1, c2 = sb.columns(2)
    c1.number_input("Offset", value=0.0, min_value=-1e6, max_value=1e6, key="offset", bind="query-params")
    c2.number_input("Scale", value=1.0, min_value=1e-6, max_value=1e6, key="scale", bind="query-params")
    sb.header("Normalization")
    sb.selectbox("Layer", KINDS, key="kind", bind="query-params")
    sb.selectbox("normalized_shape", ["(4,)", "(3, 4)", "(2, 3, 4)"], key="ns", bind="query-params",
                 accept_new_options=True)
    sb.selectbox("eps", ["1e-05", "1e-06", "0.001", "0.1", "0"], key="eps", bind="query-params",
                 accept_new_options=True)
    if sb.checkbox("elementwise_affine", value=True, key="affine", bind="query-params"):
        sb.segmented_control("weight and bias", ["default", "random"], default="default", key="init",
                             bind="query-params")
    return int(seed)


def heatmap(seed):
    """One plotly heatmap as a dict, as lnorm's figure builders give theirs."""
    z = np.random.default_rng(seed).standard_normal((CELLS, CELLS))
    return {"data": [{"type": "heatmap", "z": z, "colorscale": "RdBu", "zmid": 0}],
            "layout": {"height": 420, "margin": {"l": 40, "r": 20, "t": 30, "b": 30}}}


def page(title):
    def body():
        st.title(title)
        st.write("A bare page of lnorm's shape: the controls, the tabs and one chart, and nothing computed.")
        seed = sidebar()
        tabs = st.tabs(TABS, key="view", bind="query-params")
        for tab in tabs:
            if tab.open:
                with tab:
                    st.plotly_chart(heatmap(seed), width="stretch")
    body.__name__ = f"bare_{title.lower()}"
    return body


def home():
    st.switch_page(pages[0], query_params=st.query_params.to_dict())


st.set_page_config(page_title="bare", layout="wide")
pages = [st.Page(page(title), title=title, url_path=path) for path, title in PAGES.items()]
st.navigation([st.Page(home, title="bare", url_path="home", default=True, visibility="hidden"), *pages]).run()
