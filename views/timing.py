"""Timing: what each normalization costs on this CPU and on GPUs, against the memory-bandwidth ceiling.

Over 400 lines on purpose: six tabs and a live run, each only laid out here (no statistic is computed),
and a page may not import another page.
"""

import streamlit as st

from lnorm_app import figures, ui
from lnorm_app.models import costs as cm
from lnorm_app.models import timing as tv
from lnorm_app.models import timing_gpu as tg
from lnorm_app.models import timing_run as tr
from lnorm_core import CLASS_NAMES, timing

KIND_OF = {label: kind for kind, label in CLASS_NAMES.items()}
RUN_KEY = "timing_report"  # the session's last run, kept across reruns
MEASURE_KEY = "costs_report"  # the session's last run of a model's own shapes
TABS = ["Time", "GB/s and the ceiling", "GPU, published", "What would my model cost?", "GPU against CPU", "All rows"]
PASSES = {"forward": "forward", "backward": "backward", "forward + backward": "full"}  # what a link says -> mode
TABLE_FORMAT = {"median µs": st.column_config.NumberColumn(format="%.1f"),
                "spread %": st.column_config.NumberColumn(format="%.1f"),
                "GB/s": st.column_config.NumberColumn(format="%.2f"),
                "% of copy": st.column_config.NumberColumn(format="%.0f"),
                "elements": st.column_config.NumberColumn(format="%d")}
LINK = {"address": st.column_config.LinkColumn("address", display_text=r"https://github\.com/([^/]+/[^/]+)/.*")}


def gpu_message(here, shipped):
    """Say where GPU numbers come from when this server has no GPU."""
    if any(d in tv.ACCELERATORS for d in here):
        return
    recorded = "a GPU recording shipped with the app, " if tv.has_accelerator(shipped) else ""
    st.info("**No GPU on this server**: a run here times its CPU. The GPU numbers on this page are other "
            f"people's published measurements (tab “GPU, published”), {recorded}or a report you make on a GPU "
            f"machine with `{tv.GPU_COMMAND}` and upload in the sidebar.", icon=":material/memory:")


def sidebar_upload():
    """The sidebar's upload of a report from another machine: [Source] or []."""
    sb = st.sidebar
    sb.header("Your own report")
    sb.write("On a machine with lnorm checked out (a GPU one, to see your GPU), run:")
    sb.markdown(f"`{tv.GPU_COMMAND}`")  # inline: a code block would load a 1.5 MB highlighter for one line
    sb.write("and upload the file: it is plotted beside the recording and the published GPU rows, in your "
             "session only.")
    upload = sb.file_uploader("Timing report (.json)", type=["json"], key="upload",
                              max_upload_size=max(1, timing.MAX_REPORT_BYTES // 1_000_000))
    if upload is None:
        return []
    with ui.user_errors(stop=False):
        return [tv.upload_source(upload.getvalue(), upload.name)]
    return []


# ---- lnorm's own reports ----------------------------------------------------------------------


def headline(sources, kinds):
    """Each layer shown at the largest size (of a GPU where a report has one): its GB/s and share of the copy."""
    found = [h for h in (tv.first_headline(sources, k) for k in kinds) if h is not None]
    if not found:
        return
    h0 = found[0]
    st.write(f"**At the largest size**, {tv.size_text(h0.size)} elements, {h0.device.upper()}, from “{h0.source}”: "
             "torch's own kernel (native) in GB/s, and its share of a plain copy of the same tensor.")
    cells = [(f"{CLASS_NAMES[h.kind]} {h.shape}", f"{h.gbps:.3g} GB/s",
              None if h.fraction is None else f"{h.fraction:.0%} of the copy",
              "2 · bytes of x / median time: x read once, y written once") for h in found]
    if h0.copy_gbps is not None:
        cells.append(("a plain copy of the same tensor", f"{h0.copy_gbps:.3g} GB/s", None,
                      "y.copy_(x) moves the same bytes as a normalization: the ceiling it cannot beat"))
    for i in range(0, len(cells), 3):
        for col, (label, value, delta, hint) in zip(st.columns(3), cells[i:i + 3]):
            col.metric(label, value, delta=delta, delta_color="off", delta_arrow="off", help=hint)


def how_to_read(fig):
    """The figure's own key to its colours and lines, under it."""
    meta = fig.layout.meta
    if isinstance(meta, dict) and meta.get("how_to_read"):
        st.caption(f"How to read it: {meta['how_to_read']}.")


def time_tab(sources, kinds, impls, dtype):
    st.write("Median time of one call against the size of the tensor, both on log scales; the grey line is a "
             "plain copy of the same tensor, the least any normalization can cost.")
    fig = figures.timing_time_figure(tv.series(sources, kinds, dtype, "median_s", impls))
    st.plotly_chart(fig, width="stretch")
    how_to_read(fig)


def gbps_tab(sources, kinds, impls, dtype):
    st.write("Effective bandwidth: the bytes a normalization must move (read x once, write y once) over its time. "
             "The dashed line is each device's ceiling, a plain copy at the largest size; small tensors sit in the "
             "caches, where the copy itself runs faster than that.")
    fig = figures.timing_bandwidth_figure(tv.series(sources, kinds, dtype, "gbps", impls), tv.ceilings(sources, dtype))
    st.plotly_chart(fig, width="stretch")
    how_to_read(fig)


def speedup_tab(sources, kinds, dtype):
    ups = [u for k in kinds for u in tv.speedups(sources, k, dtype)]
    st.caption("A speedup here divides two times from one report made on one machine (or, where the report has "
               "no CPU rows, from another of lnorm's reports, and the line says so). Published GPU figures are "
               "never divided by this CPU's times: they come from other machines and other people; see them "
               "side by side in “GPU, published” and “What would my model cost?”.")
    if not ups:
        st.info("No GPU rows in lnorm's reports shown, so there is no speedup to draw. Upload a report made on a "
                f"GPU machine (`{tv.GPU_COMMAND}`) in the sidebar.", icon=":material/info:")
        return
    st.write("CPU time over GPU time at each size: above 1 the GPU is faster. A star marks the crossover, the size "
             "from which the GPU stays ahead.")
    st.plotly_chart(figures.timing_speedup_figure(ups), width="stretch")
    for s in ups:
        st.markdown(f"- {tv.crossover_text(s)}")


# ---- other people's GPU numbers ----------------------------------------------------------------


def source_list(sources):
    """The sources of a figure as a caption with links."""
    parts = []
    for name, url, licence in sources:
        parts.append(f"[{name}]({url}) ({licence})" if url else name)
    st.caption("Sources: " + "; ".join(parts) + ".")


def gpu_tab(sources, kinds):
    known = tg.gpus()
    c1, c2 = st.columns([2, 1])
    chosen = c1.multiselect("GPUs shown", list(known), default=["NVIDIA H100 80GB HBM3"], key="gpus",
                            bind="query-params", help="datasheet bandwidth: " + ", ".join(
                                f"{g.replace('NVIDIA ', '')} {peak:g} GB/s" for g, peak in known.items()))
    mode = PASSES[c2.segmented_control("Pass", list(PASSES), default="forward", required=True, key="pass",
                                       bind="query-params") or "forward"]
    st.write("Other people's measurements of PyTorch's own kernels and of fast ones (Liger, QuACK, cuDNN, "
             "torch.compile), with GB/s and % of peak recomputed by lnorm the same way for every source (bytes of "
             "x read and y written, over the median time), beside lnorm's CPU recording on the same axes. lnorm did "
             "not measure the GPU rows and does not divide them by its own.")
    quotes = tg.torch_quotes(kinds, mode, chosen or None) + (tg.cpu_quotes(sources, kinds) if mode == "forward"
                                                              else [])
    if quotes:
        st.write(f"**At the largest size each curve measured**: PyTorch's own module (torch.nn) on the first GPU "
                 f"chosen, and torch's kernel in lnorm's CPU recording ({cm.MODE_WORDS[mode]}).")
        st.dataframe(tg.quote_rows(quotes), hide_index=True, column_config=LINK)
    curves = tg.published_curves(kinds, mode, chosen) + (tg.report_curves(sources, kinds) if mode == "forward" else [])
    if not curves:
        st.info("No published measurements of the layers shown on these GPUs.", icon=":material/info:")
        return
    bw = figures.gpu_bandwidth_figure(curves)
    st.plotly_chart(bw, width="stretch")
    st.caption("Colour: the device (black: a CPU); line style: solid PyTorch eager, dashed torch.compile, dotted a "
               "fast kernel; thick lines with open markers: lnorm's own reports; marker: the layer. The published "
               "GPU curves start at 2 million elements: nobody published smaller.")
    source_list(bw.layout.meta["sources"])
    pk = figures.gpu_peak_figure(curves)
    st.plotly_chart(pk, width="stretch")
    st.caption("A GPU's share is of its datasheet bandwidth; a CPU has no datasheet number in the reports, so its "
               "share is of a plain copy it measured at the same size. The two denominators differ: read each "
               "curve against its own.")
    box = ui.lazy_expander("Where the published numbers come from", "sources_open")
    if box.open:
        box.dataframe(tg.source_rows(), hide_index=True, column_config=LINK)
        box.caption("The file and its licences: data/gpu/README.md. lnorm reads only the time (and size, dtype, "
                   "GPU, pass) of each row and recomputes bytes, GB/s and % of peak itself.")


# ---- what would my model cost? -------------------------------------------------------------------


def _on_model():
    """Copy the chosen model's shape, dtype and layers into the controls."""
    p = cm.PRESETS.get(st.session_state.get("model"))
    if p is not None:
        st.session_state["cshape"] = ", ".join(map(str, p.shape))
        st.session_state["cdtype"] = p.dtype
        st.session_state["fits"] = [cm.LAYOUT_WORDS[k] for k in p.layouts]


def costs_tab(recorded, uploaded):
    names = list(cm.PRESETS)
    c1, c2 = st.columns([3, 2])
    model = c1.selectbox("Model", names, key="model", bind="query-params", on_change=_on_model,
                         help="a normalization tensor from a well-known model; or type any shape")
    preset = cm.PRESETS[model or names[0]]
    text = c2.text_input("Shape", value=", ".join(map(str, preset.shape)), key="cshape", bind="query-params")
    c1, c2, c3 = st.columns([5, 2, 4])
    fits = c1.pills("Layers that fit", list(cm.LAYOUT_WORDS.values()), selection_mode="multi",
                    default=[cm.LAYOUT_WORDS[k] for k in preset.layouts], key="fits", bind="query-params",
                    help="LayerNorm and RMSNorm normalize the last dim (…, D); BatchNorm, InstanceNorm and "
                         "GroupNorm take channels at dim 1 (N, C, …)")
    dtype = c2.segmented_control("dtype", list(cm.DTYPES), default=preset.dtype, required=True, key="cdtype",
                                 bind="query-params") or preset.dtype
    mode = PASSES[c3.segmented_control("Pass", list(PASSES), default="forward", required=True, key="cpass",
                                       bind="query-params") or "forward"]
    if preset.note:
        st.caption(f"{model}: {preset.note}.")
    with ui.user_errors(stop=False):
        shape = cm.parse_cost_shape(text)
        measured = st.session_state.get(MEASURE_KEY)
        c = cm.costs(shape, dtype, mode, tuple(cm.LAYOUT_OF[w] for w in fits or ()), preset.num_groups if shape == preset.shape else None,
                     recorded=recorded, measured_now=measured, uploaded=uploaded, first=preset.kind)
        for note in c.notes:
            st.caption(note)
        if not c.layers:
            st.info("Pick which layers fit this shape: features in the last dim, or channels at dim 1.",
                    icon=":material/info:")
            return
        st.write(f"**{c.numel:,} elements**, {cm.bytes_text(c.bytes_moved)} moved per call by an ideal kernel "
                 f"({cm.passes_text(mode)} × elements × {timing.itemsize(dtype)} bytes of {dtype}). Each time says "
                 "how it was obtained, and they are never mixed: **filled** marker = measured at this size, **open** "
                 "= interpolated between two measured sizes of the same curve (never beyond them), **tick** = the "
                 "lower bound, bytes ÷ the GPU's datasheet bandwidth.")
        fig = figures.costs_figure(c, cm.time_text)
        st.plotly_chart(fig, width="stretch")
        source_list(fig.layout.meta["sources"])
        st.dataframe(cm.table(c), hide_index=True, column_config=LINK)
        measure_now(c)


def measure_now(c):
    """A button that times these very layers on this server's CPU, and what the run found."""
    too_big = cm.too_big_to_measure(c)
    if too_big:
        st.caption(f"The CPU rows above come from the shipped recording, read at this size where it reaches it. "
                   f"{too_big}")
    with ui.user_errors(stop=False):
        if too_big:
            return
        plan = cm.measure_plan(c)
        st.caption(f"The CPU rows above come from the shipped recording, read at this size where it reaches it. To "
                   f"time these layers at exactly {c.shape} on this server now (float32, torch's kernel, "
                   f"{tr.MEASURE_REPEATS} repeats each, at most {tr.PAGE_TIME_BUDGET_S:g} s; visitors take turns):")
        if st.button("Time these layers on this CPU now", icon=":material/timer:", key="measure"):
            bar = st.progress(0.0, text="waiting for the CPU")
            report = tr.measure_in_turn(plan, on_wait=lambda: bar.progress(0.0, text="another visitor's run first"),
                                        progress=lambda d, t, label: bar.progress(min(d / max(t, 1), 1.0),
                                                                                  text=f"{d} of {t}: {label}"))
            bar.empty()
            st.session_state[MEASURE_KEY] = report
            st.rerun()
    report = st.session_state.get(MEASURE_KEY)
    if report is not None:
        verdict_box(tr.steadiness(report))


# ---- a run on this server -----------------------------------------------------------------------


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

    report = tr.run_in_turn(on_wait=on_wait, kinds=kinds, impls=impls, devices=devices, dtypes=("float32",),
                            sizes=sizes, progress=progress)
    bar.empty()
    st.session_state[RUN_KEY] = report
    st.session_state["show"] = [CLASS_NAMES[k] for k in kinds]  # plot what was just timed
    st.session_state["impls_shown"] = list(dict.fromkeys(list(st.session_state.get("impls_shown") or ["native"])
                                                         + list(impls)))


def verdict_box(v):
    """Steady, or what disagreed and what to do about it."""
    if v.steady:
        st.success(f"**Steady**: {v.measurements} measurements, each the median of {v.repeats} repeats taken in "
                   f"turn; no repeat more than {tr.OUTLIER_FACTOR:g}× off its median, blocks within "
                   f"{tr.MAX_SPREAD:.0%}.", icon=":material/check_circle:")
        return
    st.warning("**These numbers are noisy: run again when the server is quieter**, or trust the shipped recording "
               "(made on an idle machine) over this run.\n\n" + "\n".join(f"- {f.text}" for f in v.findings),
               icon=":material/warning:")


def run_results(report, recorded):
    """What the session's last run found, right under the Run button: its verdict, its own chart, its rows."""
    settings = report.get("settings", {})
    verdict = tr.steadiness(report, recorded)
    st.subheader("Your run")
    verdict_box(verdict)
    st.caption(f"{len(report['results'])} measurements in {settings.get('elapsed_s', 0):.1f} s, at the "
               f"{verdict.threads} threads torch uses here; each point is the median of {verdict.repeats} repeats and "
               "its bar runs from the fastest repeat to the slowest. The run is also drawn in the tabs above as "
               "“your run”.")
    if report.get("truncated"):
        st.warning(f"The time budget of {settings.get('time_budget_s', tr.PAGE_TIME_BUDGET_S):g} s ran out before "
                   "every measurement: the largest sizes are missing. Pick fewer layers, implementations or sizes.",
                   icon=":material/timer_off:")
    for s in report.get("skipped", []):
        st.warning(f"{s['impl']} on {s['device']} did not run: {s['reason']}", icon=":material/warning:")
    source = tv.run_source(report)
    kinds = tv.kinds_in([source])
    if kinds:
        fig = figures.timing_time_figure(tv.series([source], kinds, "float32", "median_s"),
                                         title="Your run: time per call", flagged=tr.flagged(verdict))
        st.plotly_chart(fig, width="stretch")
        how_to_read(fig)
    with st.expander("The rows of your run"):
        st.dataframe(tv.table([source]), hide_index=True, column_config=TABLE_FORMAT)


def run_section(here, recorded):
    st.header("Run it on this server")
    load = tr.load_now()
    st.write(f"Visitors take turns: one run at a time, each at most {tr.PAGE_TIME_BUDGET_S:g} s and "
             f"{tv.size_text(tr.PAGE_MAX_ELEMENTS)} elements, in float32, at the **{tr.threads()} threads** torch "
             f"uses here" + ("" if load is None else f" (load average now {load:g})") + ". Each measurement is taken "
             f"{tr.PAGE_REPEATS} times, in turn with the others, and the run says whether its repeats agree.")
    c1, c2, c3 = st.columns([2, 2, 1])
    kind_labels = c1.multiselect("Layers", list(KIND_OF), default=["LayerNorm"], key="kinds", bind="query-params")
    impls = c2.multiselect("Implementations", list(tr.PAGE_IMPLS), default=list(tr.PAGE_DEFAULT_IMPLS), key="impls",
                           bind="query-params", help="what each one is: see the list under the sizes")
    devices = c3.multiselect("Devices", here, default=here, key="devices", bind="query-params")
    low, high = st.select_slider("Sizes: elements per tensor, each 4 times the last", options=list(tr.PAGE_SIZES),
                                 value=tr.PAGE_DEFAULT_SIZES, format_func=tr.power_text, key="sizes",
                                 bind="query-params")
    kinds = [KIND_OF[k] for k in kind_labels]
    with ui.user_errors(stop=False):
        sizes = tr.page_sweep(low, high)
        count = tr.measurement_count(kinds, impls, devices, sizes)
        st.caption(f"{len(sizes)} sizes from {tv.size_text(sizes[0])} to {tv.size_text(sizes[-1])} elements: "
                   f"{count} measurements × {tr.PAGE_REPEATS} repeats, a copy and each layer with each "
                   "implementation at every size.")
        box = ui.lazy_expander("The shapes timed, and what each implementation is", "shapes_open")
        if box.open:  # a closed one draws nothing: no data grid to load on opening the page
            with box:
                if kinds:
                    st.dataframe(tr.shapes_table(kinds, sizes), hide_index=True)
                st.markdown("\n".join(f"- **{i}**: {timing.IMPL_DESCRIPTIONS[i]}" for i in tr.PAGE_IMPLS + ("copy",)))
                st.caption("torch.compile is timed only from the command line (`python -m lnorm_core.timing "
                           "--impls compiled`): its compile takes seconds and memory per shape.")
        ready = bool(kinds and impls and devices)
        if st.button("Run", type="primary", icon=":material/play_arrow:", disabled=not ready, key="run",
                     help=None if ready else "pick at least one layer, implementation and device"):
            run(kinds, impls, devices, sizes)
    if RUN_KEY in st.session_state:
        run_results(st.session_state[RUN_KEY], recorded[0].report if recorded else None)


# ---- the page ------------------------------------------------------------------------------------


def results(all_sources, shipped, uploaded):
    """The shared controls and the tabs, over every report chosen."""
    names = [s.name for s in all_sources]
    sources = all_sources
    if len(all_sources) > 1:
        chosen = st.pills("Reports shown", names, selection_mode="multi", default=names)
        sources = [s for s in all_sources if s.name in chosen]
    for s in sources:
        st.caption(f"**{s.name}**: {s.label}")
    kinds_here = tv.kinds_in(sources)
    labels = [CLASS_NAMES[k] for k in kinds_here]
    if any(v not in labels for v in st.session_state.get("show") or []):
        st.session_state.pop("show", None)
    c1, c2, c3 = st.columns([3, 2, 1])
    shown = c1.multiselect("Layers shown", labels, default=labels, key="show", bind="query-params",
                           help="one chart for all of them; “What would my model cost?” picks its layers from "
                                "its shape")
    kinds = [KIND_OF[k] for k in shown] or kinds_here
    impl_options = tv.impls_in(sources, kinds)
    if any(v not in impl_options for v in st.session_state.get("impls_shown") or []):
        st.session_state.pop("impls_shown", None)
    impls = c2.multiselect("Implementations shown", impl_options,
                           default=[i for i in ("native",) if i in impl_options] or impl_options[:1],
                           key="impls_shown", bind="query-params", help="native is torch.nn.functional") or \
        impl_options
    dtypes = tv.dtypes_in(sources) or ["float32"]
    dtype = dtypes[0]
    if len(dtypes) > 1:
        dtype = c3.segmented_control("dtype shown", dtypes, default=dtypes[0], required=True, key="dtype",
                                     bind="query-params", help="the CPU is timed in float32 only") or dtypes[0]
    if sources:
        headline(sources, kinds)
    tabs = st.tabs(TABS, key="plot", bind="query-params")
    bodies = {
        "Time": lambda: time_tab(sources, kinds, impls, dtype),
        "GB/s and the ceiling": lambda: gbps_tab(sources, kinds, impls, dtype),
        "GPU, published": lambda: gpu_tab(sources, kinds),
        "What would my model cost?": lambda: costs_tab(shipped, uploaded),
        "GPU against CPU": lambda: speedup_tab(sources, kinds, dtype),
        "All rows": lambda: st.dataframe(tv.table(sources, kinds=kinds), hide_index=True,
                                         column_config=TABLE_FORMAT),
    }
    for name, tab in zip(TABS, tabs):
        if tab.open:
            with tab:
                if not sources and name not in ("GPU, published", "What would my model cost?"):
                    st.info("No report chosen: pick one above, run one below, or upload one in the sidebar.",
                            icon=":material/info:")
                    continue
                with ui.user_errors(stop=False):
                    bodies[name]()


st.title("Timing")
st.write("What each normalization costs: on this server's CPU (a shipped recording, or a run of your own) against "
         "the memory-bandwidth ceiling, a plain copy of the same tensor; on GPUs, from measurements other people "
         "published; and for a model's own tensor, every layer that fits it side by side. Every number says whose "
         "it is and how it was obtained.")
ui.show_problems(ui.check_link({"show": tuple(CLASS_NAMES.values()), "dtype": tuple(timing.DTYPES),
                                "plot": tuple(TABS), "impls_shown": timing.IMPLS, "pass": tuple(PASSES),
                                "cpass": tuple(PASSES), "cdtype": cm.DTYPES, "model": tuple(cm.PRESETS),
                                "fits": tuple(cm.LAYOUT_WORDS.values()), "gpus": tuple(tg.gpus())}, {}))
here = timing.available_devices()
shipped = []
with ui.user_errors(stop=False):
    shipped = tv.shipped_sources()
gpu_message(here, shipped)
uploaded = sidebar_upload()
top = st.container()  # filled last, so that a run below is already in the tabs

run_section(here, shipped)

with top:
    mine = [tv.run_source(st.session_state[RUN_KEY])] if RUN_KEY in st.session_state else []
    results(mine + uploaded + shipped, shipped, uploaded)
