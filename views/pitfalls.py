"""Pitfalls: the finder for a row computed by hand (verdict, where it sits, its group step by step, what was
pooled), the usual mistakes beside torch's answer, and BatchNorm train vs eval."""

import dataclasses
from urllib.parse import urlencode

import numpy as np
import streamlit as st

import lnorm_core as lc
from lnorm_app import figures, ui
from lnorm_app.cache import derived
from lnorm_app.models import code as code_model
from lnorm_app.models.explorer import explore
from lnorm_app.figures.pitfalls import pooling_figure, steps_table
from lnorm_app.models.batch_steps import batch_steps
from lnorm_app.models.finder import finder
from lnorm_app.models.pitfalls import pitfall_output, pitfalls
from lnorm_app.models.pooling import WHOLE_SAMPLE, against_choices, pooling

# the forum question: x = torch.manual_seed(0); torch.randn(2, 3, 4) as torch prints it, and the row x[0, 1]
# normalized by hand with statistics.stdev under the square root (from x itself, then printed with 4 decimals)
EXAMPLE_X = """tensor([[[-1.1258, -1.1524, -0.2506, -0.4339],
         [ 0.8487,  0.6920, -0.3160, -2.1152],
         [ 0.4681, -0.1577,  1.4437,  0.2660]],

        [[ 0.1665,  0.8744, -0.1435, -0.1116],
         [ 0.9318,  1.2590,  2.0050,  0.0537],
         [ 0.6181, -0.4128, -0.8411, -2.3160]]])"""
EXAMPLE_ROW = "[0.9176, 0.7834, -0.0800, -1.6210]"
MAX_STEPS = 50
SHOWN_IN_LABEL = 8  # a mistake's output this small is printed in its heading
MAX_CODE_LINES = 14  # a longer print scrolls
PARTS = ["Your row", "Your code", "Every mistake", "BatchNorm: train vs eval"]  # the page's tabs (link: part=...)

COVERS = "the \"off by up to\" numbers are over every element"  # a figure shows a part: what covers all

@derived
def printed(a):
    """An array as torch prints it: 4 decimals, a long one summarised with '...' (kept with a cached array)."""
    return np.array2string(np.asarray(a), precision=4, floatmode="fixed", suppress_small=True, separator=", ",
                           threshold=48, edgeitems=3, max_line_width=96)


def show_lines(label, lines):
    """A caption and the lines of code under it (a long print scrolls in a box of MAX_CODE_LINES)."""
    text = "\n".join(lines)
    st.caption(label)
    st.code(text, language="python", height=22 * MAX_CODE_LINES if text.count("\n") >= MAX_CODE_LINES else "content")


def side_by_side(blocks):
    """(caption, text) blocks in columns where their lines fit, one under the other where they do not."""
    widest = max(len(line) for _, text in blocks for line in text.splitlines())
    fits = widest <= {2: 44, 3: 28}.get(len(blocks), 0)
    for column, (label, text) in zip(st.columns(len(blocks)) if fits else [st.container()] * len(blocks), blocks):
        with column:
            show_lines(label, [text])


def aligned(blocks):
    """(label, text) blocks one under the other in one code box when each is one line, else side by side."""
    if any("\n" in text for _, text in blocks):
        side_by_side(blocks)
        return
    width = max(len(label) for label, _ in blocks)
    st.code("\n".join(f"{label:<{width}}  {text}" for label, text in blocks), language=None)


def plain(mistakes):
    """A mistake combination in plain words: 'n−1 in the variance (statistics.stdev, torch.std) + std under ...'."""
    return " + ".join(lc.MISTAKES[m].title for m in mistakes)


def show_verdict(f, spec):
    """The finder's verdict in words: right or which mistake, its lines and fix, where the row sits."""
    d = f.diagnosis
    if d is None:
        st.info("Paste the row you computed above, and the verdict appears here. Below: the arithmetic of the "
                f"first row, {f.block_label}, beside the commonest mistake, {plain(f.mistakes)}.",
                icon=":material/edit:")
        return
    where = f"row {f.block_label}" if len(d.block_shape) == 1 else f"block {f.block_label}"
    if f.block_label == "y":
        where = "the whole output y"
    others = [d.label(p) for p in d.positions[1:]]
    also = f" The same numbers also sit at {', '.join(others)}: the output repeats itself there." if others else ""
    layer = layer_words(spec, d.output_shape)
    if d.verdict == "correct":
        st.success(f"**Your numbers are right**: they are {where} of the output of {layer}, to the "
                   f"{f.printed_as} you pasted.{also}", icon=":material/check_circle:")
    elif d.verdict == "match":
        these = "these mistakes" if len(f.mistakes) > 1 else "this mistake"
        st.error(f"**{plain(f.mistakes)}.** Your numbers are {where} of the output computed with {these}, to the "
                 f"{f.printed_as} you pasted.{also}",
                 icon=":material/search:")
        for m in f.mistakes:
            st.markdown(f"- **{lc.MISTAKES[m].title}**: {lc.MISTAKES[m].description}.")
        st.code("\n".join(["# the line that does it"] + [lc.MISTAKES[m].wrong for m in f.mistakes]
                          + ["# the fix"] + [lc.MISTAKES[m].fix for m in f.mistakes]), language="python")
        if d.closer:
            best, d_best, other, d_other = d.closer
            st.caption(f"{plain(best)} fits more closely: off by at most {d_best:.2g}, against {d_other:.2g} for "
                       f"{plain(other)}.")
        if len(d.mistakes) > 1:
            st.caption("Other combinations give the same digits: "
                       + "; ".join(plain(c) for c in d.mistakes[1:]) + ".")
    else:
        st.warning(f"**No mistake, and no combination of up to three, gives your numbers** anywhere in the output "
                   f"of {layer}. The closest {where} of the right output is off by up to "
                   f"{d.nearest_distance:.4g}. Check that the numbers belong to this tensor and to the layer "
                   "chosen in the sidebar.", icon=":material/help:")
    blocks = [("your numbers, as read", printed(f.wrong))]
    if d.verdict == "match":
        blocks.append((f"{f.block_label} with the mistake", printed(f.mistake_block)))
    blocks.append((f"{f.block_label} of torch's output (right)", printed(f.right_block)))
    aligned(blocks)
    if f.input_note:
        st.caption(f.input_note)


def layer_words(spec, shape):
    """The layer as torch prints it, in backticks: `LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)`."""
    return f"`{spec.torch_name(shape)}`"


def show_steps(f):
    """One group's arithmetic: the layer's beside the mistake's, the first differing step highlighted."""
    st.subheader(f"Step by step: the group of {f.block_label}")
    verdict = f.diagnosis.verdict if f.diagnosis else None
    why = {"correct": "Your numbers are right; to see where the usual mistake would part from them, ",
           "none": f"Your numbers match no mistake; for the closest row, {f.block_label}, "}.get(verdict, "")
    where = "" if f.block_groups == 1 else (f" (your block touches {f.block_groups} of the layer's groups: this is "
                                            "the one of its first element)")
    st.write(f"{why}{'t' if why else 'T'}he layer pools **{f.group_label}**, {f.group_size} values{where}. Each "
             f"line below is one result of the layer's arithmetic, beside the same result as **{plain(f.mistakes)}** "
             "computes it; both come from the same code. The first line whose numbers part is red.")
    title, table = steps_table(f.table, figures.pitfall_label(f.mistakes))
    st.markdown(f"**{title}**")
    st.markdown(table)


@st.fragment
def show_pooling(config, wrong_text):
    """What the mistake (or another layer) pools beside what the layer pools, on the same tensor (a fragment:
    another choice to set against reruns only this; like every fragment here it is handed small keys, not
    results: a fragment keeps its arguments for the session, and a result is for the bounded cache to keep)."""
    f = finder(config, wrong_text)
    st.subheader("What you pooled vs what the layer pools")
    against = st.selectbox("Set the layer's groups against", against_choices(config), key="against",
                           bind="query-params", help="the whole sample is what the pooled-the-whole-sample mistake "
                                                     "takes; or choose another layer") or WHOLE_SAMPLE
    p = pooling(config, against, f.steps.element)
    if against != WHOLE_SAMPLE:
        lead = f"Beside {p.other_name}."
    elif "whole_sample" in f.mistakes:
        lead = "You pooled the whole sample."
    else:
        lead = "You pooled the layer's own groups (no pooling mistake); here is what pooling the whole sample takes."
    st.write(f"{lead} For {f.block_label}, {p.layer_name} pools the {p.layer_size} values **{p.layer_group}**; "
             f"{p.other_name} pools the {p.other_size} values **{p.other_group}**. Blue cells are in both groups, "
             f"red ones only in the layer's, orange ones only in {p.other_name}'s: the red and orange cells are "
             "where the two differ.")
    if p.same:
        st.success(f"{p.layer_name} and {p.other_name} pool the same groups: no cell differs.",
                   icon=":material/join_inner:")
    if p.also:
        name = "Pooling the whole sample" if against == WHOLE_SAMPLE else p.other_name
        st.write(f"{name} of {tuple(p.membership.shape)} is " + " or ".join(f"**{a}**" for a in p.also)
                 + ": the same groups.")
    ui.chart(pooling_figure(p), "the group sizes above count every element")


def mistake_details(config, result, r):
    """One mistake's numbers beside torch's, the line that makes it and the fix."""
    st.write(r.description[0].upper() + r.description[1:] + ".")
    y, diff = pitfall_output(config, r.mistakes)
    side_by_side([("this mistake's output", printed(y)), ("torch's output", printed(result.y_torch)),
                  ("mistake − torch", printed(diff))])
    show_lines("the line that does it", r.wrong_lines)
    show_lines("the fix", r.fixes)


@st.fragment
def mistake_list(config):
    """Every mistake as an expander; only an open one is drawn, and opening one reruns only this list."""
    result = pitfalls(config)
    for r in result.rows:
        label = plain(r.mistakes)
        verdict = f"off by up to {r.max_abs:.4g}" if r.visible else "no change at 4 decimals here"
        numbers = f" → `{printed(r.whole)}`" if r.size <= SHOWN_IN_LABEL else ""
        box = ui.lazy_expander(f"**{label}**{numbers} · {verdict}", open_key(r.mistakes))
        if box.open:
            with box, ui.user_errors(stop=False):
                mistake_details(config, result, r)


def open_key(mistakes):
    """The key (and link parameter) of one mistake's expander: 'open_unbiased-eps_outside_sqrt'."""
    return "open_" + "-".join(mistakes)


def every_mistake(config, result):
    shape = tuple(result.x.shape)
    st.header(f"Every mistake: {result.spec.torch_name(shape)} on an input of shape {shape}")
    side_by_side([("the input", printed(result.x)), ("torch's output (the right answer)", printed(result.y_torch))])
    ui.chart(figures.pitfall_differences(result.y_torch, result.rows), COVERS)
    st.write("Each mistake, alone and in the combinations people make; open one for its numbers, the line of code "
             "that makes it and the fix. A mistake that changes the output by less than 0.00005 cannot show in a "
             "print with 4 decimals.")
    mistake_list(config)


@st.fragment
def batch_section(config):
    """BatchNorm's train and eval side by side over training steps (a fragment: another step count reruns only
    this)."""
    x = explore(config).x
    st.header("BatchNorm: train vs eval")
    st.write("In training, BatchNorm normalizes with the batch's own mean and biased variance, and moves its "
             "running_mean and running_var (unbiased: divided by n − 1) a momentum step towards them; in eval it "
             "normalizes with those running statistics instead. Step through training batches and watch.")
    if config.source == "paste" and x.ndim < 2:
        st.info(f"BatchNorm needs a batch dim and a channel dim, (N, C, ...); the pasted tensor has shape "
                f"{tuple(x.shape)}. Paste a 2-D tensor, or choose Source: random, to step through batches.",
                icon=":material/info:")
        return
    steps = st.slider("Training steps", 1, MAX_STEPS, 5, key="steps", bind="query-params",
                      help="each step is one forward of nn.BatchNorm in train mode on a new seeded batch")
    bn_config = dataclasses.replace(config, shape=tuple(x.shape)) if config.source == "paste" else config
    with ui.user_errors(stop=False):
        s = batch_steps(bn_config, steps)
        st.caption(f"Batches of shape {s.shape}, drawn like the sidebar's input: batch k is "
                   f"seeded with seed + 100 + k. momentum={s.spec.momentum}, eps={s.spec.eps:g}. Set the sidebar's "
                   "Offset and Scale to watch the buffers move away from torch's initial 0 and 1.")
        ui.chart(figures.running_stats_figure(s.running_mean, s.running_var), COVERS)
        st.write(f"On the last batch, the eval output differs from the train output by up to "
                 f"**{s.max_abs_diff:.4f}**: eval uses the running statistics, which after {steps} "
                 f"step{'s' if steps != 1 else ''} are not yet this batch's own.")
        side_by_side([("train output (model.train())", printed(s.y_train)),
                      ("eval output (model.eval())", printed(s.y_eval)), ("eval − train", printed(s.diff))])
        ui.chart(figures.train_eval_figure(s.diff), COVERS)


def code_section(config):
    """The pasted code read (never run): each line with what lnorm read there, the mistakes marked with their fix,
    what it computes beside torch's answer, and one group step by step as the code takes it."""
    text = st.text_area("The code you wrote", key="code", bind="query-params", height=230,
                        placeholder="import torch\nmean = x.mean(-1, keepdim=True)\n...",
                        help="Python with torch, numpy, statistics or math. lnorm reads it with its own evaluator; "
                             "it never runs it.")
    example = urlencode({"part": "Your code", "code": code_model.EXAMPLE_CODE})
    st.caption(f"For example, [a row typed in and normalized with statistics.stdev under math.sqrt](?{example}). "
               "The code's input is the sidebar's tensor (or the tensor the code makes); a row typed in is matched "
               "to the row of that tensor it equals.")
    with ui.user_errors(stop=False):
        v = code_model.read(config, text)
        if v is None:
            st.info("Paste the code you wrote above: lnorm says which line parts from torch, why, and what that "
                    "line computes.", icon=":material/code:")
            return
        show_reading(v)


def show_reading(v):
    """A CodeView: the verdict, the code with its notes, the mistakes' fixes, the numbers and the steps."""
    r = v.reading
    if v.layer_note:
        st.info(v.layer_note, icon=":material/compare_arrows:")
    if r.verdict == "correct":
        st.success(f"**Your code computes {layer_words(r.spec, r.x.shape)}** on {r.where or 'x'}: no step parts from torch.",
                   icon=":material/check_circle:")
    elif r.verdict == "mistakes":
        against = f", against {layer_words(r.spec, r.x.shape)}" if r.spec is not None else ""
        st.error("**" + " + ".join(f"line {r.line(m)}: {code_model.ALL_MISTAKES[m].title}" for m in r.mistakes)
                 + f"**{against}.", icon=":material/search:")
    else:
        st.warning("**lnorm cannot read this code**, so it offers no answer. " + " ".join(
            ui.literal(f"Line {n}: {what}." if n else f"{what}.") for n, what in r.problems),
            icon=":material/help:")
    if r.error:
        st.caption(ui.literal(f"Your run stops on line {r.error[0]} with {r.error[1]}"))
    numbered = []
    for line in v.lines:
        mark = "✗" if line.mistakes else " "
        numbered.append(f"{mark}{line.number:>3}  {line.text}")
        numbered += [f"       # ✗ {title}" for _, title, _ in line.mistakes]
        numbered += [f"       #   {note}" for note in line.notes]
    st.caption("Your code, with what lnorm read under each line (✗: a line that parts from torch)")
    st.code("\n".join(numbered), language="python")
    for line in v.lines:
        for name, title, fix in line.mistakes:
            st.markdown(f"**Line {line.number}: {title}** · `{name}` · "
                        f"{code_model.ALL_MISTAKES[name].description}.")
            st.code(f"# your line {line.number}\n{line.text.strip()}\n# the fix\n{fix}", language="python")
    if r.verdict == "unreadable":
        with st.expander("What lnorm reads"):
            st.code("\n".join(f"{family}: {names}" for family, names in v.vocabulary), language=None)
        return
    if v.value is not None:
        side_by_side([(f"what your code computes ({r.where})", printed(v.value)),
                      ("torch's output there (right)", printed(v.right))])
    if v.table:
        st.subheader(f"Step by step: {v.table_title}")
        title, table = steps_table(v.table, v.wrong_label)
        st.markdown(f"**{title}**")
        st.markdown(table)


st.title("Pitfalls")
st.write("You computed a normalization by hand and your numbers are not torch's? Paste the tensor and the row "
         "you computed: the page says whether the row is right, which mistake gives it, the line that does it and "
         "the fix, and walks through the arithmetic of that row's group beside yours.")

st.header("Paste your tensor, paste the row you computed")
left, right = st.columns(2)
with left:
    ui.paste_box("Your tensor (what print(x) showed)")
with right:
    wrong_text = st.text_area("The row you computed (or one sample, or the whole output)", key="wrong",
                              bind="query-params", height=150, placeholder="e.g. [0.9176, 0.7834, -0.0800, -1.6210]",
                              help="The numbers your own code gave for one row y[i, j, :] (any block y[i], or the "
                                   "whole output, works too). They are parsed, never run.")
config = ui.page_config(paste_in_page=True)
example = urlencode({"source": "paste", "paste": EXAMPLE_X, "wrong": EXAMPLE_ROW, "kind": "LayerNorm"})
st.caption(f"For example, [a torch.randn(2, 3, 4) and one row computed with statistics.stdev](?{example}) under the "
           "square root, as in the forum question. The layer is the one chosen in the sidebar.")

with ui.user_errors():
    e = explore(config)
ui.warn_nonfinite(e.nonfinite_note)
if config.source == "random":
    st.caption(f"No tensor pasted: the sidebar's seeded draw of shape {tuple(e.x.shape)} stands in for yours.")
ui.show_problems(ui.check_link({"part": PARTS}, {}))

# only the open tab is computed and drawn: the page opens on the finder
row_tab, code_tab, every_tab, batch_tab = st.tabs(PARTS, key="part", bind="query-params")
if row_tab.open:
    with row_tab:
        found = None
        with ui.user_errors(stop=False):
            found = finder(config, wrong_text)
        if found is not None:
            show_verdict(found, e.spec)
            show_steps(found)
            show_pooling(config, wrong_text)
if code_tab.open:
    with code_tab:
        code_section(config)
if every_tab.open:
    with every_tab, ui.user_errors():
        every_mistake(config, pitfalls(config))
if batch_tab.open:
    with batch_tab:
        batch_section(config)
