"""“Run it on this server”: a run from the page (visitors take turns), its verdict, its own chart and rows."""

import streamlit as st

from lnorm_app import figures, ui
from lnorm_app.models import timing_reports as reports
from lnorm_app.models import timing_run
from lnorm_core import CLASS_NAMES, timing

from . import how_to_read
from .measured import TABLE_FORMAT

RUN_KEY = "timing_report"  # the session's last run, kept across reruns
KIND_OF = {label: kind for kind, label in CLASS_NAMES.items()}


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

    report = timing_run.run_in_turn(on_wait=on_wait, kinds=kinds, impls=impls, devices=devices, dtypes=("float32",),
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
                   f"turn; no repeat more than {timing_run.OUTLIER_FACTOR:g}× off its median, blocks within "
                   f"{timing_run.MAX_SPREAD:.0%}.", icon=":material/check_circle:")
        return
    st.warning("**These numbers are noisy: run again when the server is quieter**, or trust the shipped recording "
               "(made on an idle machine) over this run.\n\n" + "\n".join(f"- {f.text}" for f in v.findings),
               icon=":material/warning:")


def run_results(report, recorded):
    """What the session's last run found, right under the Run button: its verdict, its own chart, its rows."""
    settings = report.get("settings", {})
    verdict = timing_run.steadiness(report, recorded)
    st.subheader("Your run")
    verdict_box(verdict)
    st.caption(f"{len(report['results'])} measurements in {settings.get('elapsed_s', 0):.1f} s, at the "
               f"{verdict.threads} threads torch uses here; each point is the median of {verdict.repeats} repeats and "
               "its bar runs from the fastest repeat to the slowest. The run is also drawn in the tabs above as "
               "“your run”.")
    if report.get("truncated"):
        st.warning(f"The time budget of {settings.get('time_budget_s', timing_run.PAGE_TIME_BUDGET_S):g} s ran out "
                   "before every measurement: the largest sizes are missing. Pick fewer layers, implementations or "
                   "sizes.", icon=":material/timer_off:")
    for s in report.get("skipped", []):
        st.warning(f"{s['impl']} on {s['device']} did not run: {s['reason']}", icon=":material/warning:")
    source = reports.run_source(report)
    kinds = reports.kinds_in([source])
    if kinds:
        fig = figures.timing_time_figure(reports.series([source], kinds, "float32", "median_s"),
                                         title="Your run: time per call", flagged=timing_run.flagged(verdict))
        st.plotly_chart(fig, width="stretch")
        how_to_read(fig)
    with st.expander("The rows of your run"):
        st.dataframe(reports.table([source]), hide_index=True, column_config=TABLE_FORMAT)


def run_section(here, shipped):
    """The controls of a run, its button, and the session's last run under it."""
    st.header("Run it on this server")
    load = timing_run.load_now()
    st.write(f"Visitors take turns: one run at a time, each at most {timing_run.PAGE_TIME_BUDGET_S:g} s and "
             f"{reports.size_text(timing_run.PAGE_MAX_ELEMENTS)} elements, in float32, at the "
             f"**{timing_run.threads()} threads** torch uses here" + ("" if load is None else
                                                                      f" (load average now {load:g})")
             + f". Each measurement is taken {timing_run.PAGE_REPEATS} times, in turn with the others, and the run "
             "says whether its repeats agree.")
    c1, c2, c3 = st.columns([2, 2, 1])
    kind_labels = c1.multiselect("Layers", list(KIND_OF), default=["LayerNorm"], key="kinds", bind="query-params")
    impls = c2.multiselect("Implementations", list(timing_run.PAGE_IMPLS), default=list(timing_run.PAGE_DEFAULT_IMPLS),
                           key="impls", bind="query-params", help="what each one is: see the list under the sizes")
    devices = c3.multiselect("Devices", here, default=here, key="devices", bind="query-params")
    low, high = st.select_slider("Sizes: elements per tensor, each 4 times the last",
                                 options=list(timing_run.PAGE_SIZES), value=timing_run.PAGE_DEFAULT_SIZES,
                                 format_func=reports.power_text, key="sizes", bind="query-params")
    kinds = [KIND_OF[k] for k in kind_labels]
    with ui.user_errors(stop=False):
        sizes = timing_run.page_sweep(low, high)
        count = timing_run.measurement_count(kinds, impls, devices, sizes)
        st.caption(f"{len(sizes)} sizes from {reports.size_text(sizes[0])} to {reports.size_text(sizes[-1])} "
                   f"elements: {count} measurements × {timing_run.PAGE_REPEATS} repeats, a copy and each layer with "
                   "each implementation at every size.")
        box = ui.lazy_expander("The shapes timed, and what each implementation is", "shapes_open")
        if box.open:  # a closed one draws nothing: no data grid to load on opening the page
            with box:
                if kinds:
                    st.dataframe(timing_run.shapes_table(kinds, sizes), hide_index=True)
                st.markdown("\n".join(f"- **{i}**: {timing.IMPL_DESCRIPTIONS[i]}"
                                      for i in timing_run.PAGE_IMPLS + ("copy",)))
                st.caption("torch.compile is timed only from the command line (`python -m lnorm_core.timing "
                           "--impls compiled`): its compile takes seconds and memory per shape.")
        ready = bool(kinds and impls and devices)
        if st.button("Run", type="primary", icon=":material/play_arrow:", disabled=not ready, key="run",
                     help=None if ready else "pick at least one layer, implementation and device"):
            run(kinds, impls, devices, sizes)
    if RUN_KEY in st.session_state:
        run_results(st.session_state[RUN_KEY], shipped[0].report if shipped else None)
