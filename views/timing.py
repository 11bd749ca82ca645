"""Timing: what each normalization costs on this CPU and on GPUs, against the memory-bandwidth ceiling.

The page lays out the reports chosen, the controls every tab shares and one tab per question;
each tab is one function in views/timing_tabs/, and so is the run on this server below them.
"""

import streamlit as st

from lnorm_app import ui
from lnorm_app.models import timing_reports as reports
from lnorm_core import CLASS_NAMES, timing
from views.timing_tabs import PASSES, Shown, costs, measured, published, run

TABS = {
    "Time": measured.time_tab,
    "GB/s and the ceiling": measured.gbps_tab,
    "GPU, published": published.gpu_tab,
    "What would my model cost?": costs.costs_tab,
    "GPU against CPU": measured.speedup_tab,
    "All rows": measured.rows_tab,
}
WITHOUT_REPORTS = ("GPU, published", "What would my model cost?")  # tabs that need none of lnorm's reports


def gpu_message(here, shipped):
    """Say where GPU numbers come from when this server has no GPU."""
    if any(d in reports.ACCELERATORS for d in here):
        return
    recorded = "a GPU recording shipped with the app, " if reports.has_accelerator(shipped) else ""
    st.info("**No GPU on this server**: a run here times its CPU. The GPU numbers on this page are other "
            f"people's published measurements (tab “GPU, published”), {recorded}or a report you make on a GPU "
            f"machine with `{reports.GPU_COMMAND}` and upload in the sidebar.", icon=":material/memory:")


def sidebar_upload():
    """The sidebar's upload of a report from another machine: [Source] or []."""
    sb = st.sidebar
    sb.header("Your own report")
    sb.write("On a machine with lnorm checked out (a GPU one, to see your GPU), run:")
    sb.markdown(f"`{reports.GPU_COMMAND}`")  # inline: a code block would load a 1.5 MB highlighter for one line
    sb.write("and upload the file: it is plotted beside the recording and the published GPU rows, in your "
             "session only.")
    upload = sb.file_uploader("Timing report (.json)", type=["json"], key="upload",
                              max_upload_size=max(1, timing.MAX_REPORT_BYTES // 1_000_000))
    if upload is None:
        return []
    with ui.user_errors(stop=False):
        return [reports.upload_source(upload.getvalue(), upload.name)]
    return []


def controls(all_sources, shipped, uploaded):
    """The reports chosen and the layers, implementations and dtype shown: what every tab draws."""
    names = [s.name for s in all_sources]
    sources = all_sources
    if len(all_sources) > 1:
        chosen = st.pills("Reports shown", names, selection_mode="multi", default=names)
        sources = [s for s in all_sources if s.name in chosen]
    for s in sources:
        st.caption(f"**{s.name}**: {s.label}")
    kinds_here = reports.kinds_in(sources)
    labels = [CLASS_NAMES[k] for k in kinds_here]
    if any(v not in labels for v in st.session_state.get("show") or []):
        st.session_state.pop("show", None)
    c1, c2, c3 = st.columns([3, 2, 1])
    shown = c1.multiselect("Layers shown", labels, default=labels, key="show", bind="query-params",
                           help="one chart for all of them; “What would my model cost?” picks its layers from "
                                "its shape")
    kinds = [run.KIND_OF[k] for k in shown] or kinds_here
    impl_options = reports.impls_in(sources, kinds)
    if any(v not in impl_options for v in st.session_state.get("impls_shown") or []):
        st.session_state.pop("impls_shown", None)
    impls = c2.multiselect("Implementations shown", impl_options,
                           default=[i for i in ("native",) if i in impl_options] or impl_options[:1],
                           key="impls_shown", bind="query-params", help="native is torch.nn.functional") or \
        impl_options
    dtypes = reports.dtypes_in(sources) or ["float32"]
    dtype = dtypes[0]
    if len(dtypes) > 1:
        dtype = c3.segmented_control("dtype shown", dtypes, default=dtypes[0], required=True, key="dtype",
                                     bind="query-params", help="the CPU is timed in float32 only") or dtypes[0]
    return Shown(sources, shipped, uploaded, kinds, impls, dtype)


def tabs(shown):
    """One tab per question, each drawn only when open."""
    for name, tab in zip(TABS, st.tabs(list(TABS), key="plot", bind="query-params")):
        if tab.open:
            with tab:
                if not shown.sources and name not in WITHOUT_REPORTS:
                    st.info("No report chosen: pick one above, run one below, or upload one in the sidebar.",
                            icon=":material/info:")
                    continue
                with ui.user_errors(stop=False):
                    TABS[name](shown)


st.title("Timing")
st.write("What each normalization costs: on this server's CPU (a shipped recording, or a run of your own) against "
         "the memory-bandwidth ceiling, a plain copy of the same tensor; on GPUs, from measurements other people "
         "published; and for a model's own tensor, every layer that fits it side by side. Every number says whose "
         "it is and how it was obtained.")
ui.show_problems(ui.check_link({"show": tuple(CLASS_NAMES.values()), "dtype": tuple(timing.DTYPES),
                                "plot": tuple(TABS), "impls_shown": timing.IMPLS, "pass": tuple(PASSES),
                                "cpass": tuple(PASSES), "cdtype": reports.COST_DTYPES, "model": tuple(reports.PRESETS),
                                "fits": tuple(reports.LAYOUT_WORDS.values()), "gpus": tuple(reports.gpus())}, {}))
here = timing.available_devices()
shipped = []
with ui.user_errors(stop=False):
    shipped = reports.shipped_sources()
gpu_message(here, shipped)
uploaded = sidebar_upload()
top = st.container()  # filled last, so that a run below is already in the tabs

run.run_section(here, shipped)

with top:
    mine = [reports.run_source(st.session_state[run.RUN_KEY])] if run.RUN_KEY in st.session_state else []
    shown = controls(mine + uploaded + shipped, shipped, uploaded)
    if shown.sources:
        measured.headline(shown)
    tabs(shown)
