"""Compare: torch in a chosen dtype and on a chosen device against the float64 hand computation."""

import streamlit as st

import lnorm_core as lc
from lnorm_app import figures, ui
from lnorm_app.models.compare import (
    breakdown_offset,
    compare_with_torch,
    variance_sweep,
)
from lnorm_app.models.explorer import explore

OFFSETS = ["1e1", "1e2", "1e3", "1e4", "1e5", "1e6"]  # the largest offset of the variance sweep
THRESHOLD = 0.1  # a variance more than 10% off is called broken (bfloat16 alone rounds at ~1%)
COVERS = "the table's numbers are over every element"  # a figure shows a part: what covers all
TOPICS = ["torch against the hand computation", "Three ways to compute a variance"]  # the page's tabs (topic=)


def against(config, dtype, device):
    """torch in dtype on device against lnorm's float64: the verdict, the table, where the error sits."""
    with ui.user_errors(stop=False):
        result = compare_with_torch(config, dtype, device)
        ui.warn_nonfinite(explore(config).nonfinite_note)
        tol = lc.TOLERANCES[dtype]
        bound = f"|torch − lnorm| ≤ {tol.atol:g} + {tol.rtol:g}·|lnorm| for every element"
        if result.passed:
            st.success(f"**pass**: torch in {dtype} on {device} agrees with lnorm's float64 computation, output and "
                       f"gradients: {bound}.", icon=":material/check_circle:")
        else:
            st.warning(f"**fail**: torch in {dtype} on {device} is further from lnorm's float64 computation than "
                       f"{bound}; the table shows which part. Often it is the weight and bias gradients: they are "
                       "sums over every other dim, and in a low-precision dtype the rounding of a long sum grows with "
                       "its length.", icon=":material/cancel:")
        st.caption(f"Why this tolerance for {dtype}: {tol.why}.")
        # a Markdown table: four rows need no data grid, whose code (and Arrow's) is 1.2 MB the browser would load first
        head = ["part", "shape", "max abs error", "max rel error", "max ULPs", "result"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---:|" * 3]
        lines += [f"| {name} | {tuple(c.abs_err.shape)} | {c.max_abs:.2e} | {c.max_rel:.2e} | {c.max_ulps:.1f} | "
                  f"{'pass' if c.passed else '**FAIL**'} |" for name, c in result.parts]
        st.markdown("\n".join(lines))
        st.caption("The gradients are those of sum(grad_out · y), with grad_out = torch.manual_seed(seed + 3); "
                   "torch.randn(*x.shape). ULPs: the error in units of the last place of the dtype at lnorm's value.")
        st.write("Where the error sits, element by element (a log colour scale: each step is ten times the last):")
        tabs = st.tabs([name for name, _ in result.parts], key="part", bind="query-params")
        for tab, (name, c) in zip(tabs, result.parts):
            if tab.open:  # only the open tab is drawn
                with tab:
                    ui.chart(figures.error_heatmap(c.abs_err, f"{name}: |torch in {dtype} − lnorm in float64|"), COVERS)


@st.fragment
def variance(dtype):
    """The variance of randn(512) + offset by three algorithms, against the offset (a fragment: a new largest
    offset reruns only this)."""
    st.write("The variance of randn(512) + offset, computed in the dtype above by three algorithms and compared with "
             "a float64 reference, as the mean of the data is pushed away from zero.")
    max_offset = st.select_slider("Largest offset", OFFSETS, value="1e6", key="max_offset", bind="query-params",
                                  help="the sweep runs from offset 1 to this, on a log scale")
    with ui.user_errors(stop=False):
        sweep = variance_sweep(float(max_offset), dtype)
        where = breakdown_offset(sweep, "one_pass", THRESHOLD)
        ui.chart(figures.variance_sweep_figure(sweep, dtype, THRESHOLD, where, float(lc.ulp(1.0, dtype))), COVERS)
        if where is None:
            st.write(f"In {dtype}, one-pass stays within {THRESHOLD:.0%} up to an offset of {max_offset}: "
                     "pick a lower-precision dtype, or a larger offset, to watch it break down.")
        else:
            st.write(f"In {dtype}, one-pass is more than {THRESHOLD:.0%} off from an offset of about "
                     f"**{figures.offset_text(where)}** on.")
        st.write("Why: one-pass computes E[x²] − E[x]², two numbers near offset² whose difference, the variance "
                 "(about 1 here), is all that is left once they cancel. Each is rounded at about ε·offset², so the "
                 "variance comes out off by about ε·offset²/σ², which reaches 100% near offset ≈ σ/√ε (ε: the "
                 "machine epsilon). Two-pass subtracts the mean before squaring and Welford keeps a running mean, so "
                 "the offset cancels before anything is squared; what is left is the rounding of the mean itself, "
                 "about (ε·offset/σ)², far smaller.")
        if dtype in ("float16", "bfloat16"):
            st.caption("✕ marks NaN or inf: in float16 a sum of 512 values overflows past 65504, its largest number; "
                       "in bfloat16 (8 bits) a large offset rounds all 512 values to one number, so the reference "
                       "variance is 0 and the relative error 0/0.")


st.title("Compare")
st.write("torch in the dtype and on the device you pick, against the float64 hand computation of lnorm: "
         "the output and every gradient, and how far each one is off.")
config = ui.page_config()
devices = lc.available_devices()
ui.show_problems(ui.check_link({"dtype": tuple(lc.DTYPES), "device": tuple(devices), "max_offset": tuple(OFFSETS),
                                "topic": tuple(TOPICS)}, {}))

c1, c2 = st.columns(2)
dtype = c1.segmented_control("dtype", list(lc.DTYPES), default="float32", required=True, key="dtype",
                             bind="query-params", help="the dtype torch computes in; lnorm always computes in float64")
dtype = dtype or "float32"
device = c2.segmented_control("device", devices, default="cpu", required=True, key="device", bind="query-params",
                              help="cuda is offered where torch sees a GPU") or "cpu"

# only the open tab is computed and drawn
against_tab, variance_tab = st.tabs(TOPICS, key="topic", bind="query-params")
if against_tab.open:
    with against_tab:
        against(config, dtype, device)
if variance_tab.open:
    with variance_tab:
        variance(dtype)
