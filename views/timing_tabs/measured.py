"""The tabs over lnorm's own reports: Time, GB/s and the ceiling, GPU against CPU, All rows; and the headline."""

import streamlit as st

from lnorm_app import figures
from lnorm_app.models import timing_reports as reports
from lnorm_core import CLASS_NAMES

from . import how_to_read

TABLE_FORMAT = {"median µs": st.column_config.NumberColumn(format="%.1f"),
                "spread %": st.column_config.NumberColumn(format="%.1f"),
                "GB/s": st.column_config.NumberColumn(format="%.2f"),
                "% of copy": st.column_config.NumberColumn(format="%.0f"),
                "elements": st.column_config.NumberColumn(format="%d")}


def headline(shown):
    """Each layer shown at the largest size (of a GPU where a report has one): its GB/s and share of the copy."""
    found = [h for h in (reports.first_headline(shown.sources, k) for k in shown.kinds) if h is not None]
    if not found:
        return
    h0 = found[0]
    st.write(f"**At the largest size**, {reports.size_text(h0.size)} elements, {h0.device.upper()}, from "
             f"“{h0.source}”: torch's own kernel (native) in GB/s, and its share of a plain copy of the same "
             "tensor.")
    cells = [(f"{CLASS_NAMES[h.kind]} {h.shape}", f"{h.gbps:.3g} GB/s",
              None if h.fraction is None else f"{h.fraction:.0%} of the copy",
              "2 · bytes of x / median time: x read once, y written once") for h in found]
    if h0.copy_gbps is not None:
        cells.append(("a plain copy of the same tensor", f"{h0.copy_gbps:.3g} GB/s", None,
                      "y.copy_(x) moves the same bytes as a normalization: the ceiling it cannot beat"))
    for i in range(0, len(cells), 3):
        for col, (label, value, delta, hint) in zip(st.columns(3), cells[i:i + 3]):
            col.metric(label, value, delta=delta, delta_color="off", delta_arrow="off", help=hint)


def time_tab(shown):
    st.write("Median time of one call against the size of the tensor, both on log scales; the grey line is a "
             "plain copy of the same tensor, the least any normalization can cost.")
    fig = figures.timing_time_figure(reports.series(shown.sources, shown.kinds, shown.dtype, "median_s", shown.impls))
    st.plotly_chart(fig, width="stretch")
    how_to_read(fig)


def gbps_tab(shown):
    st.write("Effective bandwidth: the bytes a normalization must move (read x once, write y once) over its time. "
             "The dashed line is each device's ceiling, a plain copy at the largest size; small tensors sit in the "
             "caches, where the copy itself runs faster than that.")
    lines = reports.series(shown.sources, shown.kinds, shown.dtype, "gbps", shown.impls)
    fig = figures.timing_bandwidth_figure(lines, reports.ceilings(shown.sources, shown.dtype))
    st.plotly_chart(fig, width="stretch")
    how_to_read(fig)


def speedup_tab(shown):
    ups = [u for k in shown.kinds for u in reports.speedups(shown.sources, k, shown.dtype)]
    st.caption("A speedup here divides two times from one report made on one machine (or, where the report has "
               "no CPU rows, from another of lnorm's reports, and the line says so). Published GPU figures are "
               "never divided by this CPU's times: they come from other machines and other people; see them "
               "side by side in “GPU, published” and “What would my model cost?”.")
    if not ups:
        st.info("No GPU rows in lnorm's reports shown, so there is no speedup to draw. Upload a report made on a "
                f"GPU machine (`{reports.GPU_COMMAND}`) in the sidebar.", icon=":material/info:")
        return
    st.write("CPU time over GPU time at each size: above 1 the GPU is faster. A star marks the crossover, the size "
             "from which the GPU stays ahead.")
    st.plotly_chart(figures.timing_speedup_figure(ups), width="stretch")
    for s in ups:
        st.markdown(f"- {reports.crossover_text(s)}")


def rows_tab(shown):
    st.dataframe(reports.table(shown.sources, kinds=shown.kinds), hide_index=True, column_config=TABLE_FORMAT)
