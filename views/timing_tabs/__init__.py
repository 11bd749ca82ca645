"""The Timing page's tabs, one function each, and the run on this server; views/timing.py lays them out.

    measured.py   Time, GB/s and the ceiling, GPU against CPU, All rows: lnorm's own reports
    published.py  GPU, published: other people's measurements, beside lnorm's rows, never merged
    costs.py      What would my model cost?: every layer that fits a model's tensor
    run.py        Run it on this server: a run, its verdict and its rows

Every tab takes the page's Shown: the reports chosen and the layers, implementations and dtype shown.
"""

from dataclasses import dataclass

import streamlit as st

PASSES = {"forward": "forward", "backward": "backward", "forward + backward": "full"}  # what a link says -> mode
LINK = {"address": st.column_config.LinkColumn("address", display_text=r"https://github\.com/([^/]+/[^/]+)/.*")}


@dataclass(frozen=True)
class Shown:
    """What the page shows: the reports chosen (sources), the shipped and uploaded ones, and the controls' values."""

    sources: list
    shipped: list
    uploaded: list
    kinds: list
    impls: list
    dtype: str


def how_to_read(fig):
    """The figure's own key to its colours and lines, under it."""
    meta = fig.layout.meta
    if isinstance(meta, dict) and meta.get("how_to_read"):
        st.caption(f"How to read it: {meta['how_to_read']}.")


def source_list(sources):
    """The sources of a figure, (name, address, licence) each, as a caption with links."""
    parts = [f"[{name}]({url}) ({licence})" if url else name for name, url, licence in sources]
    st.caption("Sources: " + "; ".join(parts) + ".")
