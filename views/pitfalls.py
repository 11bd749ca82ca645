"""Pitfalls: the usual mistakes of a hand-written normalization beside torch's answer, and BatchNorm train vs eval."""

import dataclasses
from urllib.parse import urlencode

import numpy as np
import streamlit as st

import lnorm_core as lc
from lnorm_app import figures, ui
from lnorm_app.models.explorer import explore
from lnorm_app.models.pitfalls import batch_steps, diagnose, pitfalls

EXAMPLE = "[-2.1918, 1.2574, -0.3838, 1.3870]"  # a tensor people ask about: LayerNorm(4) by hand goes wrong
MAX_STEPS = 50
SHOWN_IN_LABEL = 8  # a mistake's output this small is printed in its heading
MAX_CODE_LINES = 14  # a longer print scrolls

COVERS = "the \"off by up to\" numbers are over every element"  # a figure shows a part: what covers all

def printed(a):
    """An array as torch prints it: 4 decimals, a long one summarised with '...'."""
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


st.title("Pitfalls")
st.write("The mistakes people make when they compute a normalization by hand, each beside torch's answer, "
         "with the line of code that makes it and the line that fixes it.")
config = ui.page_config()
st.caption(f"Paste your own tensor in the sidebar (Source: paste), or open [the worked example]"
           f"(?{urlencode({'source': 'paste', 'paste': EXAMPLE, 'kind': 'LayerNorm'})}): {EXAMPLE} with "
           "LayerNorm(4).")

with ui.user_errors():
    result = pitfalls(config)
ui.warn_nonfinite(explore(config).nonfinite_note)

st.header(f"{result.spec.label()} on an input of shape {tuple(result.x.shape)}")
side_by_side([("the input", printed(result.x)), ("torch's output (the right answer)", printed(result.y_torch))])
ui.chart(figures.pitfall_differences(result.y_torch, result.rows), COVERS)
st.write("Each mistake, alone and in the combinations people make; open one for its numbers, the line of code "
         "that makes it and the fix. A mistake that changes the output by less than 0.00005 cannot show in a "
         "print with 4 decimals.")
for r in result.rows:
    label = figures.pitfall_label(r.mistakes)
    verdict = f"off by up to {r.max_abs:.4g}" if r.visible else "no change at 4 decimals here"
    numbers = f" → `{printed(r.y)}`" if r.y.size <= SHOWN_IN_LABEL else ""
    with st.expander(f"**{label}**{numbers} · {verdict}"):
        st.write(r.description[0].upper() + r.description[1:] + ".")
        side_by_side([("this mistake's output", printed(r.y)), ("torch's output", printed(result.y_torch)),
                      ("mistake − torch", printed(r.diff))])
        show_lines("the line that does it", r.wrong_lines)
        show_lines("the fix", r.fixes)

st.header("Which mistake did I make?")
st.write("Paste the output your own code printed for this input: the page looks for the mistake, or combination "
         "of up to three, that reproduces it to the decimals you pasted.")
wrong_text = st.text_area("Your output", key="wrong", bind="query-params", height=100,
                          placeholder="e.g. tensor([[-1.7049,  0.9572, -0.3095,  1.0572]])",
                          help="What your code printed for the input above; it is parsed, never run.")
if wrong_text and wrong_text.strip():
    with ui.user_errors(stop=False):
        d = diagnose(config, wrong_text)
        if d.verdict == "correct":
            st.success("Your output is **correct**: it is torch's, to the decimals you pasted.",
                       icon=":material/check_circle:")
        elif d.verdict == "none":
            st.warning("No mistake and no combination of up to three reproduces your output. Check that it "
                       "belongs to this input and to the normalization chosen in the sidebar.",
                       icon=":material/help:")
        for combo, y in zip(d.combos, d.outputs):
            st.warning(f"Your output is what **{figures.pitfall_label(combo)}** gives: "
                       + "; and ".join(lc.MISTAKES[m].description for m in combo) + ".", icon=":material/search:")
            side_by_side([(f"{figures.pitfall_label(combo)} gives", printed(y)),
                          ("torch gives (the right answer)", printed(result.y_torch))])
            show_lines("the lines that do it", [lc.MISTAKES[m].wrong for m in combo])
            show_lines("the fix", [lc.MISTAKES[m].fix for m in combo])
        ui.chart(figures.pitfall_bars(result.y_torch, d.wrong, "your output"), COVERS)

st.header("BatchNorm: train vs eval")
st.write("In training, BatchNorm normalizes with the batch's own mean and biased variance, and moves its "
         "running_mean and running_var (unbiased: divided by n − 1) a momentum step towards them; in eval it "
         "normalizes with those running statistics instead. Step through training batches and watch.")
if config.source == "paste" and result.x.ndim < 2:
    st.info(f"BatchNorm needs a batch dim and a channel dim, (N, C, ...); the pasted tensor has shape "
            f"{tuple(result.x.shape)}. Paste a 2-D tensor, or choose Source: random, to step through batches.",
            icon=":material/info:")
else:
    steps = st.slider("Training steps", 1, MAX_STEPS, 5, key="steps", bind="query-params",
                      help="each step is one forward of nn.BatchNorm in train mode on a new seeded batch")
    bn_config = dataclasses.replace(config, shape=tuple(result.x.shape)) if config.source == "paste" else config
    with ui.user_errors(stop=False):
        s = batch_steps(bn_config, steps)
        st.caption(f"Batches of shape {tuple(s.batches[0].shape)}, drawn like the sidebar's input: batch k is "
                   f"seeded with seed + 100 + k. momentum={s.spec.momentum}, eps={s.spec.eps:g}. Set the sidebar's "
                   "Offset and Scale to watch the buffers move away from torch's initial 0 and 1.")
        ui.chart(figures.running_stats_figure(s.running_mean, s.running_var), COVERS)
        st.write(f"On the last batch, the eval output differs from the train output by up to "
                 f"**{s.max_abs_diff:.4f}**: eval uses the running statistics, which after {steps} "
                 f"step{'s' if steps != 1 else ''} are not yet this batch's own.")
        side_by_side([("train output (model.train())", printed(s.y_train)),
                      ("eval output (model.eval())", printed(s.y_eval)), ("eval − train", printed(s.diff))])
        ui.chart(figures.train_eval_figure(s.diff), COVERS)
