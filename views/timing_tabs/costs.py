"""The tab “What would my model cost?”: every layer that fits a model's tensor, each time saying how it was got."""

import streamlit as st

from lnorm_app import figures, ui
from lnorm_app.models import timing_reports as reports
from lnorm_app.models import timing_run
from lnorm_core import timing

from . import LINK, PASSES, source_list
from .run import verdict_box

MEASURE_KEY = "costs_report"  # the session's last run of a model's own shapes


def _on_model():
    """Copy the chosen model's shape, dtype and layers into the controls."""
    p = reports.PRESETS.get(st.session_state.get("model"))
    if p is not None:
        st.session_state["cshape"] = ", ".join(map(str, p.shape))
        st.session_state["cdtype"] = p.dtype
        st.session_state["fits"] = [reports.LAYOUT_WORDS[k] for k in p.layouts]


def costs_tab(shown):
    names = list(reports.PRESETS)
    c1, c2 = st.columns([3, 2])
    model = c1.selectbox("Model", names, key="model", bind="query-params", on_change=_on_model,
                         help="a normalization tensor from a well-known model; or type any shape")
    preset = reports.PRESETS[model or names[0]]
    text = c2.text_input("Shape", value=", ".join(map(str, preset.shape)), key="cshape", bind="query-params")
    c1, c2, c3 = st.columns([5, 2, 4])
    fits = c1.pills("Layers that fit", list(reports.LAYOUT_WORDS.values()), selection_mode="multi",
                    default=[reports.LAYOUT_WORDS[k] for k in preset.layouts], key="fits", bind="query-params",
                    help="LayerNorm and RMSNorm normalize the last dim (…, D); BatchNorm, InstanceNorm and "
                         "GroupNorm take channels at dim 1 (N, C, …)")
    dtype = c2.segmented_control("dtype", list(reports.COST_DTYPES), default=preset.dtype, required=True,
                                 key="cdtype", bind="query-params") or preset.dtype
    mode = PASSES[c3.segmented_control("Pass", list(PASSES), default="forward", required=True, key="cpass",
                                       bind="query-params") or "forward"]
    if preset.note:
        st.caption(f"{model}: {preset.note}.")
    with ui.user_errors(stop=False):
        shape = reports.parse_cost_shape(text)
        c = reports.costs(shape, dtype, mode, tuple(reports.LAYOUT_OF[w] for w in fits or ()),
                          preset.num_groups if shape == preset.shape else None, recorded=shown.shipped,
                          measured_now=st.session_state.get(MEASURE_KEY), uploaded=shown.uploaded,
                          first=preset.kind)
        for note in c.notes:
            st.caption(note)
        if not c.layers:
            st.info("Pick which layers fit this shape: features in the last dim, or channels at dim 1.",
                    icon=":material/info:")
            return
        st.write(f"**{c.numel:,} elements**, {reports.bytes_text(c.bytes_moved)} moved per call by an ideal kernel "
                 f"({reports.passes_text(mode)} × elements × {timing.itemsize(dtype)} bytes of {dtype}). Each time "
                 "says how it was obtained, and they are never mixed: **filled** marker = measured at this size, "
                 "**open** = interpolated between two measured sizes of the same curve (never beyond them), "
                 "**tick** = the lower bound, bytes ÷ the GPU's datasheet bandwidth.")
        fig = figures.costs_figure(c, reports.time_text)
        st.plotly_chart(fig, width="stretch")
        source_list(fig.layout.meta["sources"])
        st.dataframe(reports.costs_table(c), hide_index=True, column_config=LINK)
        measure_now(c)


def measure_now(c):
    """A button that times these very layers on this server's CPU, and what the run found."""
    too_big = timing_run.too_big_to_measure(c)
    recording = "The CPU rows above come from the shipped recording, read at this size where it reaches it."
    if too_big:
        st.caption(f"{recording} {too_big}")
        return
    with ui.user_errors(stop=False):
        plan = timing_run.measure_plan(c)
        st.caption(f"{recording} To time these layers at exactly {c.shape} on this server now (float32, torch's "
                   f"kernel, {timing_run.MEASURE_REPEATS} repeats each, at most {timing_run.PAGE_TIME_BUDGET_S:g} s; "
                   "visitors take turns):")
        if st.button("Time these layers on this CPU now", icon=":material/timer:", key="measure"):
            bar = st.progress(0.0, text="waiting for the CPU")
            report = timing_run.measure_in_turn(
                plan, on_wait=lambda: bar.progress(0.0, text="another visitor's run first"),
                progress=lambda d, t, label: bar.progress(min(d / max(t, 1), 1.0), text=f"{d} of {t}: {label}"))
            bar.empty()
            st.session_state[MEASURE_KEY] = report
            st.rerun()
    report = st.session_state.get(MEASURE_KEY)
    if report is not None:
        verdict_box(timing_run.steadiness(report))
