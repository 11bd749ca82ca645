"""The Streamlit helpers every page shares: the sidebar controls, the URL mirror, error display.

This is the one module of lnorm_app that imports Streamlit (the views in views/ are the others). Every control is
bound to a query parameter of the same name (bind="query-params"), so the URL of
any view reopens it; a link with a value that does not parse opens with a message
and the default in its place.
"""

import base64
import logging
import math
from contextlib import contextmanager
from pathlib import Path

import streamlit as st

import lnorm_core as lc

from .config import DISTS, INITS, SOURCES, Config, notes
from .figures import note_of

log = logging.getLogger("lnorm")

# The tab icon, shipped with the app and given as a data URL made once a process: a Material icon name makes every
# browser fetch it from Google's font CDN, and a file path makes Streamlit read the file and register it as a media
# file on every run of every session.
ICON = "data:image/png;base64," + base64.b64encode((Path(__file__).parent / "icon.png").read_bytes()).decode()

DEFAULT = Config()
# the layouts people ask about: name -> shape text
PRESETS = {
    "(2, 3, 4): the forum question": "2, 3, 4",
    "(4, 2, 3): LayerNorm(3) or (2, 3)?": "4, 2, 3",
    "NLP (batch, seq, dim)": "2, 5, 8",
    "vision (N, C, H, W)": "2, 4, 3, 3",
    "a transformer block (8, 128, 512)": "8, 128, 512",
    "the largest (1024, 1024)": "1024, 1024",
}
KINDS_BY_LABEL = {label: kind for kind, label in lc.CLASS_NAMES.items()}  # the URL says kind=GroupNorm
# the values a link may give each control with fixed choices, and the numeric ones' ranges
LINK_CHOICES = {"source": SOURCES, "kind": tuple(KINDS_BY_LABEL), "dist": DISTS, "mode": ("train", "eval"),
                "init": INITS}
LINK_RANGES = {"seed": (0, 2**31 - 1), "offset": (-1e6, 1e6), "scale": (1e-6, 1e6), "momentum": (-math.inf, math.inf)}
EPS_CHOICES = ["1e-05", "1e-06", "0.001", "0.1", "0"]


def shape_text(shape):
    """A shape as the sidebar writes it: '2, 3, 4'."""
    return ", ".join(str(d) for d in shape)


def tuple_text(shape):
    """A shape as torch prints a tuple: '(4,)', '(3, 4)'."""
    return str(tuple(shape))


JOIN = "\u2060"  # WORD JOINER: invisible, and no part of a URL, an email address or a shortcode


def literal(text):
    """text as Markdown that shows exactly text: a stranger's paste or link can make no markup of it.

    st.error, st.warning and st.info render Markdown (Streamlit's: with math, icons, emoji
    and coloured text), so every message that quotes what a person typed goes through here.
    The message becomes one line, so no heading, list, quote, table or code block can start
    inside it, and a backslash goes before each character that could make markup there: every
    backslash, backtick, $, <, &, @, | and ~; a : that is not followed by a space (:icon:,
    :red[...], http://); the ( after a ] (a link or an image); the . of www.; * when there are
    two of them; an _ at the edge of a word; and the first character of the line. Links,
    email addresses, emoji and icons are found after the escapes are read, so an invisible
    JOIN also goes after that : and before that . and @. Torch's own words, with their single
    * and their normalized_shape, stay as they are.
    """
    text = " ".join(str(text).splitlines()).strip()
    pair_stars = text.count("*") > 1
    out = []
    for i, ch in enumerate(text):
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        joined = (ch == ":" and not after.isspace()) or ch == "@" or (
            ch == "." and text[max(i - 3, 0):i].lower() == "www")
        markup = (
            joined
            or ch in "\\`$<&|~"
            or (ch == "(" and before == "]")
            or (ch == "*" and pair_stars)
            or (ch == "_" and not (before.isalnum() and after.isalnum()))
            or (i == 0 and not ch.isalnum() and ch.isascii())
            or (ch in ".)" and text[:i].isdigit())  # "1. " or "1) " would start a list
        )
        if markup and ch.isascii() and not ch.isalnum() and not ch.isspace():
            ch = "\\" + ch
        out.append(ch + JOIN if joined and ch.endswith(":") else JOIN + ch if joined else ch)
    return "".join(out)


@contextmanager
def user_errors(stop=True):
    """Show bad input as a message on the page and stop the page there; never a traceback.

    An unexpected failure shows a short message (details only in the server log),
    and the other sessions on the server go on as before. With stop=False only the
    rest of the `with` block is skipped, and the page goes on after it.
    """
    try:
        yield
    except lc.InputError as e:
        st.error(literal(e), icon=":material/error:")
        if stop:
            st.stop()
    except Exception:  # noqa: BLE001 - one page's failure must not show a traceback to a stranger
        log.exception("unexpected failure")
        st.error("Something went wrong while computing this view. Try other settings; "
                 "the details are in the server's log.", icon=":material/error:")
        if stop:
            st.stop()


def _forget_shape_choices():
    """A new shape: its normalized_shape and num_groups choices start again from the defaults."""
    for key in ("ns", "groups"):
        st.session_state.pop(key, None)


def _forget_kind_choices():
    """A new layer: eps starts again from that layer's default (RMSNorm's is None)."""
    st.session_state.pop("eps", None)


def _on_preset():
    """Copy the chosen preset into the shape box."""
    choice = st.session_state.get("preset")
    if choice in PRESETS:
        st.session_state["shape"] = PRESETS[choice]
        st.session_state["source"] = "random"
        _forget_shape_choices()


def _parse_or_default(text, parse, default, what, problems):
    """parse(text), or default with the reason noted in problems."""
    try:
        return parse(text)
    except lc.InputError as e:
        problems.append(f"{what}: {e}")
        return default


def _float(text):
    """A number typed in a text box, or InputError."""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise lc.InputError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise lc.InputError(f"{text!r} is not a finite number")
    return value


def _on_page_paste():
    """A tensor pasted in the page's own box: Source follows it (paste, or random when the box is emptied)."""
    st.session_state["source"] = "paste" if str(st.session_state.get("paste") or "").strip() else "random"
    _forget_shape_choices()


def paste_box(label, height=150):
    """The tensor paste box drawn in the page instead of the sidebar (the Pitfalls finder).

    Bound to the same `paste` parameter as the sidebar's box, so links are alike on every page;
    pasting switches Source to paste. Call page_config(paste_in_page=True) after it.
    """
    return st.text_area(label, key="paste", height=height, bind="query-params",
                        placeholder="tensor([[-2.1918,  1.2574, -0.3838,  1.3870]])", on_change=_on_page_paste,
                        help="What print(x) showed in your notebook, or nested lists. It is parsed, never run.")


def sidebar(paste_in_page=False):
    """Draw the shared controls and return (Config, problems).

    problems lists what could not be read (a bad shape typed, a bad link value),
    each already replaced by its default in the Config; the caller shows them.
    Errors that depend on the combination (a normalized_shape torch refuses for
    this shape) are left for the core to raise, with torch's words.
    """
    problems = check_link()
    sb = st.sidebar
    sb.header("Input")
    source = sb.segmented_control("Source", list(SOURCES), default="random", key="source", bind="query-params",
                                  help="random: a seeded torch.randn draw; paste: the tensor your code printed",
                                  ) or "random"
    values = {"source": source}
    if source == "paste" and paste_in_page:  # the page drew the box (paste_box)
        sb.caption("The tensor is the one pasted at the top of the page.")
        values["paste"] = str(st.session_state.get("paste") or "")
        shape = None
    elif source == "paste":
        values["paste"] = sb.text_area(
            "Paste a tensor", key="paste", height=150, bind="query-params",
            placeholder="tensor([[-2.1918,  1.2574, -0.3838,  1.3870]])", on_change=_forget_shape_choices,
            help="What torch or numpy printed, or nested lists. It is parsed, never run as code.")
        shape = None
    else:
        sb.selectbox("Preset", list(PRESETS), index=None, key="preset", placeholder="choose a layout",
                     on_change=_on_preset)
        text = sb.text_input("Shape", value=shape_text(DEFAULT.shape), key="shape", bind="query-params",
                             on_change=_forget_shape_choices,
                             help=f"dims separated by commas, at most {lc.MAX_DIMS} dims "
                                  f"and {lc.MAX_ELEMENTS:,} elements")
        shape = _parse_or_default(text, lc.parse_shape, DEFAULT.shape, "Shape", problems)
        seed = sb.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, step=1, key="seed",
                               bind="query-params", help="x = torch.manual_seed(seed); torch.randn(*shape)")
        dist = sb.selectbox("Distribution", DISTS, key="dist", bind="query-params",
                            help="normal: torch.randn; uniform: torch.rand")
        c1, c2 = sb.columns(2)
        offset = c1.number_input("Offset", value=0.0, min_value=-1e6, max_value=1e6, key="offset",
                                 bind="query-params", help="added after the draw: a large mean shows cancellation")
        scale = c2.number_input("Scale", value=1.0, min_value=1e-6, max_value=1e6, key="scale",
                                bind="query-params")
        values.update(shape=shape, seed=int(seed), dist=dist or "normal", offset=float(offset), scale=float(scale))

    sb.header("Normalization")
    label = sb.selectbox("Layer", list(KINDS_BY_LABEL), key="kind", bind="query-params",
                         on_change=_forget_kind_choices) or "LayerNorm"
    kind = KINDS_BY_LABEL[label]
    values["kind"] = kind
    info = lc.KIND_TABLE[kind]  # what this kind takes: trailing dims or channels, centering, buffers
    shape_for_choices = shape or _pasted_shape(values.get("paste", ""))
    if info.trailing:
        choices = [tuple_text(s) for s in lc.suffixes(shape_for_choices)] if shape_for_choices else ["(4,)"]
        ns = sb.selectbox("normalized_shape", choices, key="ns", bind="query-params", accept_new_options=True,
                          help="the trailing dims to normalize over; type another to see what torch says")
        values["normalized_shape"] = _parse_or_default(ns or choices[0], lc.parse_shape, (4,),
                                                       "normalized_shape", problems)
    if info.grouped:
        c = shape_for_choices[1] if shape_for_choices and len(shape_for_choices) > 1 else 1
        choices = [str(g) for g in lc.divisors(c)]
        groups = sb.selectbox("num_groups", choices, key="groups", bind="query-params", accept_new_options=True,
                              help=f"a divisor of C = {c}; type another to see what torch says")
        values["num_groups"] = int(_parse_or_default(groups or "1", _count, 1, "num_groups", problems))
    default_eps = "1e-05" if info.centers else "None"  # RMSNorm's None: the dtype's machine epsilon
    eps_text = sb.selectbox("eps", [default_eps] + [e for e in EPS_CHOICES if e != default_eps], key="eps",
                            bind="query-params", accept_new_options=True,
                            help="added to the variance under the square root; RMSNorm's None means "
                                 "the machine epsilon of the dtype")
    if eps_text in (None, "None"):
        values["eps"] = DEFAULT.eps if info.centers else None
    else:
        values["eps"] = _parse_or_default(eps_text, _eps, DEFAULT.eps, "eps", problems)
    if info.running_stats:
        mode = sb.segmented_control("Mode", ["train", "eval"], default="train", key="mode", bind="query-params")
        values["training"] = mode != "eval"
        values["track_running_stats"] = sb.checkbox("track_running_stats", value=info.default_track, key="track",
                                                    bind="query-params")
        momentum = sb.number_input("momentum", value=0.1, step=0.05, key="momentum", bind="query-params",
                                   help="how far each training step moves the running statistics; torch takes "
                                        "any number, outside [0, 1] too")
        values["momentum"] = float(momentum)
    affine_label = "elementwise_affine" if info.trailing else "affine"
    values["affine"] = sb.checkbox(affine_label, value=info.default_affine, key="affine", bind="query-params",
                                   help="a learnable weight (and bias) after normalizing")
    if values["affine"]:
        init = sb.segmented_control("weight and bias", list(INITS), default="default", key="init",
                                    bind="query-params",
                                    help="default: torch's ones and zeros; random: seeded torch.randn")
        values["init"] = init or "default"
    return Config(**values), problems


def check_link(choices=None, ranges=None):
    """What a link asks for that no control can show, each as a problem to report.

    Streamlit drops a bound value it cannot use; this says so, so that a person who
    followed a mistyped link learns that the defaults are shown. choices and ranges
    default to the sidebar's; a page passes its own for its own controls.
    """
    problems = []
    qp = st.query_params
    choices = LINK_CHOICES if choices is None else choices
    ranges = LINK_RANGES if ranges is None else ranges
    for key, allowed in choices.items():
        for value in qp.get_all(key) if key in qp else ():  # a multiselect's link repeats its key
            if value not in allowed:
                problems.append(f"The link's {key}={value!r} is not one of {', '.join(allowed)}")
    for key, (low, high) in ranges.items():
        if key in qp:
            try:
                ok = low <= float(qp[key]) <= high
            except ValueError:
                ok = False
            if not ok:
                what = "a number" if (low, high) == (-math.inf, math.inf) else f"a number from {low:g} to {high:g}"
                problems.append(f"The link's {key}={qp[key]!r} is not {what}")
    return problems


def _whole(text):
    """A whole number typed in a box, or InputError."""
    try:
        return int(str(text).strip())
    except ValueError:
        raise lc.InputError(f"{text!r} is not a whole number") from None


def _count(text):
    """A whole number of at least 1 typed in a box (num_groups), or InputError."""
    value = _whole(text)
    if value < 1:
        raise lc.InputError(f"{text!r} is not a whole number of at least 1")
    return value


def _eps(text):
    """eps typed in a box or given by a link: a finite number, or InputError.

    A negative one is taken as torch takes it (LayerNorm, RMSNorm, InstanceNorm and GroupNorm compute
    with it, BatchNorm refuses it in torch's words); the page notes what it does (show_notes).
    """
    return _float(text)


def _pasted_shape(text):
    """The shape of a pasted tensor, or None where it does not parse (the page says why)."""
    if not text or not text.strip():
        return None
    try:
        return lc.parse_tensor(text).shape
    except lc.InputError:
        return None


def show_problems(problems):
    """Each unreadable control value as a warning: the default is used in its place."""
    for p in problems:
        st.warning(f"{literal(p)} — using the default instead.", icon=":material/warning:")


def chart(fig, whole, key=None):
    """A figure across the page; where it shows only a part of a large tensor, a note saying so.

    whole: what still covers every element, e.g. "the table's numbers are over every element".
    key: needed where a page may draw the same figure twice.
    """
    st.plotly_chart(fig, width="stretch", key=key)
    if note_of(fig):
        st.info(f"Large tensor: this figure shows {note_of(fig)}; {whole}.", icon=":material/zoom_out:")


def lazy_expander(label, key):
    """An expander whose contents the page draws only while it is open: `if box.open: with box: ...`.

    Opening or closing it reruns the script (or the fragment it sits in); the link keeps it open
    (key=true), so a shared link reopens the same view.
    """
    return st.expander(label, key=key, on_change="rerun", bind="query-params")


def warn_nonfinite(note):
    """Where the input holds NaN or inf, say how it propagates: its whole group is poisoned."""
    if note:
        st.warning(note, icon=":material/warning:")


def page_config(paste_in_page=False):
    """Sidebar controls, problems shown: the Config a page works from.

    paste_in_page: the page drew its own tensor box with paste_box; the sidebar then shows none.
    """
    config, problems = sidebar(paste_in_page)
    show_problems(problems)
    for note in notes(config):
        st.info(note, icon=":material/info:")
    return config


def refusal(r):
    """Where torch refuses the layer on this input: its words verbatim, what they mean, the fixes as buttons; then stop.

    r: a lnorm_app.models.refusals.RefusalView, or None (nothing to show). torch's message is
    shown as code (no Markdown from it, and it reads as what to search for); the meaning as
    plain text. A button sets the sidebar controls it names before they are drawn again, so
    the page reruns with the fix and the URL follows.
    """
    if r is None:
        return

    def apply(controls):
        if any(key == "shape" for key, _ in controls):
            _forget_shape_choices()
        for key, value in controls:
            st.session_state[key] = value

    runs = "".join(ch if ch == "`" else " " for ch in r.torch_message).split()  # backtick runs in the message
    fence = "`" * (1 + max((len(run) for run in runs), default=0))  # a code span no run can close
    st.error(f"{fence} {r.torch_message} {fence}", title="PyTorch refuses this layer on this input, in its own words:",
             icon=":material/block:")  # as inline code: torch's words verbatim, no Markdown from them
    if r.meaning:
        st.text(r.meaning)
    if r.choices:
        st.text("Choose one that torch accepts:")
        row = st.container(horizontal=True)
        for c in r.choices:
            row.button(c.label, key=c.key, help=c.why or None, on_click=apply, args=(c.controls,))
    for line in r.not_offered:
        st.text(f"In your own code: {line}")
    st.stop()
