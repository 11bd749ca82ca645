"""The tab “GPU, published”: other people's GPU measurements, each with its source, beside lnorm's own rows."""

import streamlit as st

from lnorm_app import figures, ui
from lnorm_app.models import timing_reports as reports

from . import LINK, PASSES, source_list


def gpu_tab(shown):
    known = reports.gpus()
    c1, c2 = st.columns([2, 1])
    chosen = c1.multiselect("GPUs shown", list(known), default=["NVIDIA H100 80GB HBM3"], key="gpus",
                            bind="query-params", help="datasheet bandwidth: " + ", ".join(
                                f"{reports.short_device(g)} {peak:g} GB/s" for g, peak in known.items()))
    mode = PASSES[c2.segmented_control("Pass", list(PASSES), default="forward", required=True, key="pass",
                                       bind="query-params") or "forward"]
    st.write("Other people's measurements of PyTorch's own kernels and of fast ones (Liger, QuACK, cuDNN, "
             "torch.compile), with GB/s and % of peak recomputed by lnorm the same way for every source (bytes of "
             "x read and y written, over the median time), beside lnorm's CPU recording on the same axes. lnorm did "
             "not measure the GPU rows and does not divide them by its own.")
    ours = mode == "forward"  # lnorm's reports time the forward pass only
    quotes = (reports.torch_quotes(shown.kinds, mode, chosen or None)
              + (reports.cpu_quotes(shown.sources, shown.kinds) if ours else []))
    if quotes:
        st.write(f"**At the largest size each curve measured**: PyTorch's own module (torch.nn) on the first GPU "
                 f"chosen, and torch's kernel in lnorm's CPU recording ({reports.MODE_WORDS[mode]}).")
        st.dataframe(reports.quote_rows(quotes), hide_index=True, column_config=LINK)
    curves = (reports.published_curves(shown.kinds, mode, chosen)
              + (reports.report_curves(shown.sources, shown.kinds) if ours else []))
    if not curves:
        st.info("No published measurements of the layers shown on these GPUs.", icon=":material/info:")
        return
    bw = figures.gpu_bandwidth_figure(curves)
    st.plotly_chart(bw, width="stretch")
    st.caption("Colour: the device (black: a CPU); line style: solid PyTorch eager, dashed torch.compile, dotted a "
               "fast kernel; thick lines with open markers: lnorm's own reports; marker: the layer. The published "
               "GPU curves start at 2 million elements: nobody published smaller.")
    source_list(bw.layout.meta["sources"])
    st.plotly_chart(figures.gpu_peak_figure(curves), width="stretch")
    st.caption("A GPU's share is of its datasheet bandwidth; a CPU has no datasheet number in the reports, so its "
               "share is of a plain copy it measured at the same size. The two denominators differ: read each "
               "curve against its own.")
    box = ui.lazy_expander("Where the published numbers come from", "sources_open")
    if box.open:
        box.dataframe(reports.source_rows(), hide_index=True, column_config=LINK)
        box.caption("The file and its licences: lnorm_core/timing/gpu_data/README.md. lnorm reads only the time (and size, dtype, "
                    "GPU, pass) of each row and recomputes bytes, GB/s and % of peak itself.")
