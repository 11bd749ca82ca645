"""Timing: what each normalization costs on CPU and GPU, against the memory-bandwidth ceiling (a plain copy)."""

import streamlit as st

from lnorm_app import figures, ui
from lnorm_app.models import timing as tv
from lnorm_core import CLASS_NAMES, timing

KIND_OF = {label: kind for kind, label in CLASS_NAMES.items()}
RUN_KEY = "timing_report"  # the session's last run, kept across reruns
TABS = ["Time", "GB/s and the ceiling", "GPU against CPU", "All rows"]
TABLE_FORMAT = {"median µs": st.column_config.NumberColumn(format="%.1f"),
                "spread %": st.column_config.NumberColumn(format="%.1f"),
                "GB/s": st.column_config.NumberColumn(format="%.2f"),
                "% of copy": st.column_config.NumberColumn(format="%.0f"),
                "elements": st.column_config.NumberColumn(format="%d")}


def gpu_message(here, shipped):
    """Say where the GPU lines come from when this server has no GPU."""
    if any(d in tv.ACCELERATORS for d in here):
        return
    if tv.has_accelerator(shipped):
        st.info("**No GPU on this server**: a run here times the CPU. The GPU lines below come from the "
                "recording shipped with the app (its device, torch version and date are named above the plots).",
                icon=":material/memory:")
        return
    st.info("**No GPU on this server**, so a run here times the CPU only, and **no GPU recording is shipped "
            "with the app yet**: the plots show a CPU recording made on this server. To see the GPU beside it, "
            f"run `{tv.GPU_COMMAND}` in a checkout of lnorm on a machine with a CUDA GPU (it times that "
            "machine's CPU too) and upload gpu.json at the bottom of this page.", icon=":material/memory:")


def run(kinds, impls, devices, sizes):
    """Run the benchmark with a progress bar (after any other visitor's run) and keep its report in the session."""
    waiting = st.empty()
    bar = st.progress(0.0, text="starting")

    def on_wait():
        waiting.info("Another visitor's benchmark is running; yours starts when it ends.",
                     icon=":material/hourglass_top:")

    def progress(done, total, label):
        waiting.empty()
        bar.progress(min(done / max(total, 1), 1.0), text=f"{done} of {total}: {label}")

    report = tv.run_in_turn(on_wait=on_wait, kinds=kinds, impls=impls, devices=devices, dtypes=("float32",),
                            sizes=sizes, progress=progress)
    bar.empty()
    st.session_state[RUN_KEY] = report
    st.session_state["show"] = CLASS_NAMES[kinds[0]]  # plot the layer just timed


def run_summary(report):
    """What the session's last run did: its size, time, and anything cut or skipped."""
    settings = report.get("settings", {})
    st.success(f"Your run: {len(report['results'])} measurements in {settings.get('elapsed_s', 0):.1f} s, "
               "plotted above as “your run”.", icon=":material/check_circle:")
    if report.get("truncated"):
        st.warning(f"The time budget of {settings.get('time_budget_s', tv.PAGE_TIME_BUDGET_S):g} s ran out before "
                   "every measurement: the largest sizes are missing. Pick fewer layers, implementations or sizes.",
                   icon=":material/timer_off:")
    for s in report.get("skipped", []):
        st.warning(f"{s['impl']} on {s['device']} did not run: {s['reason']}", icon=":material/warning:")
    with st.expander("The rows of your run"):
        st.dataframe(tv.table([tv.run_source(report)]), hide_index=True, column_config=TABLE_FORMAT)


def source_captions(sources):
    """Each report's device, torch version, threads and date."""
    for s in sources:
        st.caption(f"**{s.name}**: {s.label}")


def headline(sources):
    """Native LayerNorm at the largest size (of a GPU where a report has one): its GB/s and the copy's."""
    h = tv.first_headline(sources)
    if h is None:
        return
    st.write(f"**At the largest size**, {h.shape} = {tv.size_text(h.size)} elements, {h.device.upper()}, "
             f"from “{h.source}”:")
    c1, c2, c3 = st.columns(3)
    c1.metric("LayerNorm (torch native)", f"{h.gbps:.2f} GB/s",
              help="2 · bytes of x / median time: x read once, y written once")
    if h.copy_gbps is not None:
        c2.metric("a plain copy of the same tensor", f"{h.copy_gbps:.2f} GB/s",
                  help="y.copy_(x) moves the same bytes as a normalization: the ceiling it cannot beat")
    if h.fraction is not None:
        c3.metric("LayerNorm's share of the copy", f"{h.fraction:.0%}", help="the first number over the second")


def plots(sources):
    """The figures for the chosen reports, layer and dtype."""
    kinds = tv.kinds_in(sources)
    if not kinds:
        st.info("The reports shown have no normalization rows.", icon=":material/info:")
        return
    labels = [CLASS_NAMES[k] for k in kinds]
    if st.session_state.get("show") not in labels:
        st.session_state.pop("show", None)
    c1, c2 = st.columns(2)
    kind = KIND_OF[c1.selectbox("Layer shown", labels, key="show", bind="query-params") or labels[0]]
    dtypes = tv.dtypes_in(sources)
    dtype = dtypes[0]
    if len(dtypes) > 1:
        dtype = c2.segmented_control("dtype shown", dtypes, default=dtypes[0], required=True, key="dtype",
                                     bind="query-params", help="the CPU is timed in float32 only") or dtypes[0]
    time_tab, gbps_tab, gpu_tab, rows_tab = st.tabs(TABS, key="plot", bind="query-params")
    if time_tab.open:
        with time_tab:
            st.write("Median time of one call against the size of the tensor, both on log scales. Solid, dashed "
                     "and dotted lines tell the reports and devices apart; the grey line is a plain copy of the "
                     "same tensor, the least any normalization can cost.")
            st.plotly_chart(figures.timing_time_figure(tv.series(sources, kind, dtype, "median_s")), width="stretch")
    if gbps_tab.open:
        with gbps_tab:
            st.write("Effective bandwidth: the bytes a normalization must move (read x once, write y once) over its "
                     "time. The dashed horizontal line is each device's ceiling: a plain copy at the largest size. "
                     "Small tensors sit in the caches, where the copy itself runs faster than that.")
            st.plotly_chart(figures.timing_bandwidth_figure(tv.series(sources, kind, dtype, "gbps"),
                                                            tv.ceilings(sources, dtype)), width="stretch")
    if gpu_tab.open:
        with gpu_tab:
            ups = tv.speedups(sources, kind, dtype)
            if not ups:
                st.info("No GPU rows in the reports shown, so there is no speedup to draw yet. Upload a report "
                        f"made on a GPU machine (`{tv.GPU_COMMAND}`) at the bottom of this page.",
                        icon=":material/info:")
            else:
                st.write("CPU time over GPU time at each size: above 1 the GPU is faster. A star marks the "
                         "crossover, the size from which the GPU stays ahead.")
                st.plotly_chart(figures.timing_speedup_figure(ups), width="stretch")
                for s in ups:
                    st.markdown(f"- {tv.crossover_text(s)}")
    if rows_tab.open:
        with rows_tab:
            st.dataframe(tv.table(sources, kinds=(kind,)), hide_index=True, column_config=TABLE_FORMAT)


st.title("Timing")
st.write("What each normalization costs, and how close it runs to the memory-bandwidth ceiling: a plain copy of "
         "the same tensor, which reads and writes exactly the bytes a normalization must. The plots start from a "
         "recording; run your own on this server below, or upload a report from a GPU machine.")
ui.show_problems(ui.check_link({"show": tuple(CLASS_NAMES.values()), "dtype": tuple(timing.DTYPES),
                                "plot": tuple(TABS)}, {}))
here = timing.available_devices()
shipped = []
with ui.user_errors(stop=False):
    shipped = tv.shipped_sources()
gpu_message(here, shipped)
results = st.container()  # filled last, so that a run or an upload below is already in the plots

st.header("Run it on this server")
st.write(f"Visitors take turns: one run at a time, each at most {tv.PAGE_TIME_BUDGET_S:g} s and "
         f"{tv.size_text(tv.PAGE_MAX_ELEMENTS)} elements, in float32, at the {tv.threads()} "
         "threads torch already uses.")
c1, c2, c3 = st.columns([2, 2, 1])
kind_labels = c1.multiselect("Layers", list(KIND_OF), default=["LayerNorm"], key="kinds", bind="query-params")
impls = c2.multiselect("Implementations", list(tv.PAGE_IMPLS), default=list(tv.PAGE_DEFAULT_IMPLS), key="impls",
                       bind="query-params", help="what each one is: see the list under the sizes")
devices = c3.multiselect("Devices", here, default=here, key="devices", bind="query-params")
low, high = st.select_slider("Sizes: elements per tensor, each 4 times the last", options=list(tv.PAGE_SIZES),
                             value=tv.PAGE_DEFAULT_SIZES, format_func=tv.power_text, key="sizes", bind="query-params")
kinds = [KIND_OF[k] for k in kind_labels]
with ui.user_errors(stop=False):
    sizes = tv.page_sweep(low, high)
    count = tv.measurement_count(kinds, impls, devices, sizes)
    st.caption(f"{len(sizes)} sizes from {tv.size_text(sizes[0])} to {tv.size_text(sizes[-1])} elements: "
               f"{count} measurements, a copy and each layer with each implementation at every size.")
    with st.expander("The shapes timed, and what each implementation is"):
        if kinds:
            st.dataframe(tv.shapes_table(kinds, sizes), hide_index=True)
        st.markdown("\n".join(f"- **{i}**: {timing.IMPL_DESCRIPTIONS[i]}" for i in tv.PAGE_IMPLS + ("copy",)))
        st.caption("torch.compile is timed only from the command line (`python -m lnorm_core.timing --impls "
                   "compiled`): its compile takes seconds and memory per shape.")
    ready = bool(kinds and impls and devices)
    if st.button("Run", type="primary", icon=":material/play_arrow:", disabled=not ready,
                 help=None if ready else "pick at least one layer, implementation and device"):
        run(kinds, impls, devices, sizes)
if RUN_KEY in st.session_state:
    run_summary(st.session_state[RUN_KEY])

st.header("Plot a report from another machine")
st.write("On any machine with lnorm checked out (a GPU one to see the GPU), run the command below; it writes "
         "a JSON report with that machine's device, torch version and date. Upload it here to plot it beside "
         "the runs above; it stays in your session only.")
st.code(tv.GPU_COMMAND, language="bash")
upload = st.file_uploader("Timing report (.json)", type=["json"], key="upload",
                          max_upload_size=max(1, timing.MAX_REPORT_BYTES // 1_000_000))
uploaded = []
if upload is not None:
    with ui.user_errors(stop=False):
        uploaded = [tv.upload_source(upload.getvalue(), upload.name)]

with results:
    st.header("Results")
    sources = ([tv.run_source(st.session_state[RUN_KEY])] if RUN_KEY in st.session_state else []) + uploaded + shipped
    names = [s.name for s in sources]
    if len(sources) > 1:
        chosen = st.pills("Reports shown", names, selection_mode="multi", default=names)
        sources = [s for s in sources if s.name in chosen]
    if not sources:
        st.info("No report to plot: run one below, or upload one.", icon=":material/info:")
    else:
        source_captions(sources)
        headline(sources)
        plots(sources)
