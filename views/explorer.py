"""Explorer: which elements share one mean and variance, and what the layer outputs."""

import streamlit as st

from lnorm_app import figures, ui
from lnorm_app.models.affine import same_pooling_maps, weight_and_bias
from lnorm_app.models.explorer import EQUIVALENTS_MAX_ELEMENTS, explore, same_pooling
from lnorm_app.models.refusals import refusal_for
from lnorm_app.downloads import FIRST_GROUPS, downloads, stats_columns
from lnorm_app.reproduce import module_code, numpy_code, torch_code

TABS = ["Groups", "3-D cube", "Input → output", "Weight and bias", "Same pooling", "Reproduce in PyTorch"]
STATS_FORMAT = {name: st.column_config.NumberColumn(format=fmt) for name, fmt in (
    ("mean", "%.6g"), ("var", "%.6g"), ("mean square", "%.6g"), ("rstd", "%.6g"),
    ("x_hat mean", "%.2e"), ("x_hat var", "%.10f"), ("v/(v+eps)", "%.10f"), ("x_hat mean square", "%.10f"),
    ("ms/(ms+eps)", "%.10f"))}
COVERS = "the numbers and downloads cover the whole tensor"  # a figure shows a part: what covers all

def keep_in_range(key, high, low=0):
    """Reset a widget's remembered value that a new shape has put out of range (low..high)."""
    if key in st.session_state and not low <= st.session_state[key] <= high:
        del st.session_state[key]


def same_pooling_verdict(eq):
    """An equivalent's verdict in a few words."""
    if eq.same_with_affine:
        return "the same output, with affine too"
    return "the same output without affine" if eq.same_output else "the same groups, a different output"


def two_maps(pair, key):
    """Two layers' weight maps side by side, or where the same two are drawn already.

    key: unique on the page (one layer's map may be drawn beside several others)."""
    if pair is None:
        return
    if pair.drawn_above:
        st.caption(f"Their weights are laid out as drawn {pair.drawn_above}.")
        return
    for column, m, side in zip(st.columns(2), (pair.a, pair.b), "ab"):
        with column:
            ui.chart(figures.weight_map(m, pair.kind), "the sentences cover the whole tensor", key=f"{key}-{side}")


def number(value):
    """A deviation as the check table writes it ('n/a' where the check does not apply)."""
    return "n/a" if value is None else f"{value:.3g}"


@st.fragment
def cube(config):
    """The cube and its group control: a new group reruns only this (a fragment), not the page. It is handed
    the Config, not the result: a fragment keeps its arguments for the session, and a result is for the
    bounded cache to keep."""
    e = explore(config)
    keep_in_range("highlight", e.n_groups - 1)
    selected = st.number_input(f"Group to highlight (0 to {e.n_groups - 1})", min_value=0,
                               max_value=e.n_groups - 1, value=0, step=1, key="highlight", bind="query-params")
    ui.chart(figures.group_cube(e, int(selected)), COVERS)


@st.fragment
def stages(config):
    """Input to output and its slice control: another slice reruns only this (a fragment), not the page."""
    e = explore(config)
    slices = figures.as_panels(e.x).shape[0]
    first = 1
    if slices > 3:
        keep_in_range("slice", slices, low=1)
        first = st.slider(f"First slice shown (of {slices})", 1, slices, 1, key="slice", bind="query-params",
                          help="each row of the figure is one 2-D slice of the input; three are shown")
    ui.chart(figures.stages_figure(e, first=first - 1), COVERS)


st.title("Explorer")
st.write("Pick a tensor and a normalization layer in the sidebar. The page shows which elements share one "
         "mean and one variance (a *group*), what the layer outputs, and code that gives the same numbers.")
config = ui.page_config()
ui.refusal(refusal_for(config))  # torch refuses this layer here: its words, what they mean, the fixes as buttons
with ui.user_errors():
    e = explore(config)
st.markdown(f"**{e.caption}**")
ui.warn_nonfinite(e.nonfinite_note)

groups_tab, cube_tab, stages_tab, weights_tab, same_tab, code_tab = st.tabs(TABS, key="view", bind="query-params")

if groups_tab.open:
    with groups_tab:
        st.write("Every 2-D slice of the input is one panel; cells of one colour are one group: they are "
                 "averaged together for the mean and the variance. Hover a cell for its value and its "
                 "group's statistics.")
        ui.chart(figures.group_map(e), COVERS)

if cube_tab.open:
    with cube_tab:
        st.write("The picture of the GroupNorm paper, live: the input as a cube of its first two dims and "
                 f"the rest merged (at most {figures.MAX_CUBE_POINTS:,} markers, to keep it light). The chosen "
                 "group stands out; drag to turn the cube.")
        cube(config)

if stages_tab.open:
    with stages_tab:
        formula = "(x − mean) / √(var + eps)" if e.spec.centers else "x / √(mean square + eps)"
        st.write("Each step of the layer on one colour scale: the input, its group's statistics, the "
                 f"normalized x̂ = {formula}, and the output after weight and bias.")
        stages(config)
        st.subheader("The check")
        st.write(f"{e.check_note}.")
        c1, c2 = st.columns(2)
        c1.metric("max |mean of x̂|", number(e.max_mean_deviation),
                  help="largest over all groups; 0 up to rounding (about 1e-16) is right")
        c2.metric("max |var of x̂ − v/(v+eps)|" if e.spec.centers else "max |mean square of x̂ − ms/(ms+eps)|",
                  number(e.max_var_deviation),
                  help="largest over all groups: the biased variance (RMSNorm: the mean square) of x̂ "
                       "against the one it must have")
        shown = min(FIRST_GROUPS, e.n_groups)
        st.caption(f"The first {shown} of {e.n_groups} groups (all of them in the statistics download):")
        st.dataframe(stats_columns(e, first=FIRST_GROUPS), hide_index=True, column_config=STATS_FORMAT)

if weights_tab.open:
    with weights_tab:
        w = weight_and_bias(config)
        if w.map is None:
            st.info(w.no_weight, icon=":material/info:")
        else:
            formula = "y = x̂ · weight[e] + bias[e]" if w.map.has_bias else "y = x̂ · weight[e]"
            st.write(f"Every output element is {formula} for one entry e of the layer's weight. Left: the entry "
                     "that scales each element, one colour per entry and its index on the cell. Right: the groups, "
                     "the elements that share one mean and variance. Hover a cell for its numbers.")
            st.markdown("\n".join(f"- {line}" for line in w.lines))
            left, right = st.columns(2)
            with left:
                ui.chart(figures.weight_map(w.map, e.spec.kind, e, w), COVERS)
            with right:
                ui.chart(figures.group_map(e), COVERS)
            if w.weight is None:
                initial = "ones and the bias its zeros" if w.map.has_bias else "ones"
                st.caption(f"The weight holds torch's initial {initial}, so here y = x̂. Pick 'random' under "
                           "*weight and bias* in the sidebar to see drawn values at work.")
            else:
                ui.chart(figures.affine_figure(e, w), COVERS)

if same_tab.open:
    with same_tab:
        st.write("Other layers that pool exactly the same elements on this input (or on a reshape of it), and "
                 "when their output is the same: without affine, with affine, in eval mode. The numbers are "
                 "computed on this input, with the random weight and bias the sidebar's 'random' would draw.")
        same = same_pooling(config)
        maps = same_pooling_maps(config)
        if same.note:
            st.info(same.note, icon=":material/info:")
        if same.claim:
            title, lines = same.claim
            with st.container(border=True):
                st.markdown(f"**{title}**")
                st.markdown("\n".join(f"- {line}" for line in lines))
                for pair in maps.claim:
                    two_maps(pair, "claim")
        if not same.searched:
            st.info(f"The search for other layers runs on inputs of up to {EQUIVALENTS_MAX_ELEMENTS:,} elements "
                    "and 5 dims; try a smaller shape.", icon=":material/info:")
        elif not same.equivalents:
            st.write("No other layer pools these elements the same way.")
        for i, (eq, pair) in enumerate(zip(same.equivalents, maps.equivalents)):
            st.markdown(f"**`{module_code(eq.spec, eq.shape, short=True)}` on `{eq.how}`** {eq.shape}: "
                        f"{same_pooling_verdict(eq)}")
            st.markdown("\n".join(f"- {c}" for c in eq.pair.conditions))
            two_maps(pair, f"equivalent-{i}")

if code_tab.open:
    with code_tab:
        st.write("Paste either block into a notebook: it builds the same input from the same seed (or your "
                 "paste) and prints the output shown here. Both compute in float64, as this page does.")
        with ui.user_errors():
            left, right = st.columns(2)
            left.markdown("**torch.nn**")
            left.code(torch_code(config), language="python", wrap_lines=True)
            right.markdown("**By hand, in numpy**: two passes, biased variance, eps inside the root")
            right.code(numpy_code(config), language="python", wrap_lines=True)
            st.markdown("**Download** this view as a notebook that runs both blocks and checks them against each "
                        "other, or its numbers")
            buttons = st.container(horizontal=True)
            for d in downloads(config):
                buttons.download_button(d.label, d.data, file_name=d.file_name, mime=d.mime, on_click="ignore",
                                        icon=":material/download:")
